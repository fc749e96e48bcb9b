"""Line-numbered tag parsing on top of rispy's parsers, shared by `ris` and `wos`.

rispy supplies the line grammar (`RisParser.parse_line`, `WokParser.parse_line`) and the
record loop; this mixin keeps every tag exactly as the source wrote it (the record's `raw`),
tracks line numbers, and refuses records that are not closed (truncated files) or that run
into the next record. Continuation lines are gathered in lists and joined once, so a 1 MB
multi-line abstract or 100,000 author lines stay linear.

Imports rispy and screener.core only; must not import sqlalchemy, textual, click, sklearn.
rispy's own types never leave this module: callers get plain dicts of lists of strings.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import rispy

from screener.importers.errors import ImportFailed

Tags = dict[str, list[str]]
"""A record as the source wrote it: tag -> values (continuation lines joined by newlines)."""


class _LineTracking:
    """Mixin for a rispy parser class: line numbers, strict record boundaries, raw tags."""

    START_TAG: str
    END_TAG: str
    ignore: list[str]
    lineno: int
    open_line: int | None
    starts: list[int]
    path: Path | None

    if TYPE_CHECKING:  # supplied by the rispy parser class this is mixed into

        def parse_line(self, line: str) -> tuple[str | None, str]: ...

        def parse_lines(self, lines: Any) -> list[dict[str, Any]]: ...

    def numbered(self, text: str) -> Iterator[str]:
        for lineno, line in enumerate(text.split("\n"), start=1):
            self.lineno = lineno
            yield line.rstrip("\r")

    def _iter_till_start(self, lines: Iterator[str]) -> dict[str, Any]:
        if self.open_line is not None:  # called after END_TAG: the open record was closed
            self.starts.append(self.open_line)
            self.open_line = None
        while True:
            line = next(lines)
            if line.startswith(self.START_TAG):
                self.open_line = self.lineno
                return {self.START_TAG: [[self.parse_line(line)[1]]]}

    def _add_tag(
        self, record: dict[str, Any], tag: str | None, content: str, extend_multiline: bool = False
    ) -> None:
        if tag is None:  # continuation before any tag: belongs to the start tag
            tag = self.START_TAG
        values = record.get(tag)
        if extend_multiline and values:
            values[-1].append(content)
            return
        if tag == self.START_TAG and not extend_multiline:
            raise ImportFailed(
                f"a new record starts before the record that began at line {self.open_line} "
                f"was closed by an '{self.END_TAG}' line",
                file=self.path,
                line=self.lineno,
                record=len(self.starts) + 2,
                field=tag,
                hint=f"add the missing '{self.END_TAG}' line or export the file again",
            )
        if values is None:
            record[tag] = [[content]]
        else:
            values.append([content])

    def records(self, text: str) -> list[Tags]:
        """Parse `text` into records of raw tags; raise ImportFailed on an unclosed record."""
        parsed = self.parse_lines(self.numbered(text))
        if self.open_line is not None:
            raise ImportFailed(
                f"the record that starts here is not closed by an '{self.END_TAG}' line, "
                "so the file looks truncated",
                file=self.path,
                line=self.open_line,
                record=len(parsed) + 1,
                hint="export the file again, or add the missing line if the record is complete",
            )
        return [finish(record) for record in parsed]


def finish(record: dict[str, Any]) -> Tags:
    """Join each value's lines with newlines (blank lines become paragraph breaks)."""
    out: Tags = {}
    for tag, values in record.items():
        joined = ["\n".join(pieces).strip() for pieces in values]
        out[str(tag)] = joined
    return out


class RisTagParser(_LineTracking, rispy.RisParser):  # type: ignore[misc]
    """rispy's RIS grammar ('TY  - ', 'XX  - value', 'ER  - ') with raw tags kept."""

    def __init__(self, path: Path | None = None) -> None:
        rispy.RisParser.__init__(self, mapping={}, list_tags=[], ignore=[])
        self.path = path
        self.lineno = 0
        self.open_line = None
        self.starts = []


class WosTagParser(_LineTracking, rispy.WokParser):  # type: ignore[misc]
    """rispy's Web of Science grammar ('PT J', 'XX value', 3-space continuations, 'ER')."""

    def __init__(self, path: Path | None = None) -> None:
        rispy.WokParser.__init__(self, mapping={}, list_tags=[])
        self.path = path
        self.lineno = 0
        self.open_line = None
        self.starts = []

    def parse_line(self, line: str) -> tuple[str | None, str]:
        if line[:2] == "  " or not line.strip():
            return (None, line.strip())
        return (line[0:2], line[3:].strip())


def first(tags: Tags, *names: str) -> str:
    """The first non-empty value among the tags `names`, in that order."""
    for name in names:
        for value in tags.get(name, ()):
            if value:
                return value
    return ""


def every(tags: Tags, *names: str) -> list[str]:
    """All values of the tags `names`, in that order."""
    out: list[str] = []
    for name in names:
        out.extend(tags.get(name, ()))
    return out
