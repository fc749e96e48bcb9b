"""The one exception an importer raises: `ImportFailed`.

It says what went wrong, where (file, line or record, field) and how to fix it, in one
sentence. Standard library only; must not import any parser library, sqlalchemy, textual,
click or sklearn.
"""

from __future__ import annotations

from pathlib import Path


class ImportFailed(Exception):
    """A file could not be imported; `str()` is one sentence a user can act on."""

    def __init__(
        self,
        message: str,
        *,
        file: Path | str | None = None,
        line: int | None = None,
        record: int | None = None,
        field: str | None = None,
        hint: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        """What went wrong, without location."""
        self.file = Path(file) if file is not None else None
        """The file being imported (None when only text was given)."""
        self.line = line
        """1-based line number in the decoded text, when known."""
        self.record = record
        """1-based record number within the file, when known."""
        self.field = field
        """The source's own field name (tag or column), when known."""
        self.hint = hint
        """How to fix it."""

    def where(self) -> str:
        """Location as text, e.g. 'refs.ris, line 12 (record 3, field PY)'."""
        head = str(self.file) if self.file is not None else "the input"
        details: list[str] = []
        if self.record is not None:
            details.append(f"record {self.record}")
        if self.field:
            details.append(f"field {self.field}")
        place = head
        if self.line is not None:
            place += f", line {self.line}"
        if details:
            place += f" ({', '.join(details)})"
        return place

    def __str__(self) -> str:
        text = f"Cannot import {self.where()}: {self.message.rstrip('.')}"
        if self.hint:
            text += f"; {self.hint.rstrip('.')}"
        return text + "."

    def __repr__(self) -> str:
        return (
            f"ImportFailed({self.message!r}, file={self.file!r}, line={self.line!r}, "
            f"record={self.record!r}, field={self.field!r}, hint={self.hint!r})"
        )

    def with_file(self, file: Path | str) -> ImportFailed:
        """Return this error with `file` filled in when it was missing."""
        if self.file is None:
            self.file = Path(file)
        return self
