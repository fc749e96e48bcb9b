"""File importers: bibliographic export files in, `Record`s out.

    result = read_file(Path("search.ris"))
    result.format, len(result.records), result.warnings, result.encoding

The format is detected from the content, never from the file suffix (`detect_format`).
Every failure, including a parser crash, surfaces as `ImportFailed`, whose `str()` says what
went wrong, where, and how to fix it. Parser libraries (rispy, Bio, bibtexparser, openpyxl,
defusedxml) are used inside the format modules only; their types never leave this package.

Imports screener.core and the parser libraries only; must not import sqlalchemy, textual,
click, sklearn, or other screener packages.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from screener.core.records import Record
from screener.importers import _decode, _text, tabular
from screener.importers.errors import ImportFailed
from screener.importers.labels import (
    decision_from_raw,
    full_text_decision,
    label_reason_and_note,
    labels_from_raw,
    rayyan_votes,
    unreadable_label,
)
from screener.importers.registry import (
    BY_NAME,
    FORMAT_NAMES,
    FORMATS,
    Format,
    detect_format,
    detect_text,
    not_a_bibliography,
)

__all__ = [
    "FORMATS",
    "FORMAT_NAMES",
    "Format",
    "ImportFailed",
    "ImportResult",
    "detect_format",
    "decision_from_raw",
    "full_text_decision",
    "label_reason_and_note",
    "labels_from_raw",
    "rayyan_votes",
    "unreadable_label",
    "read_bytes",
    "read_file",
]

PROGRESS_EVERY = 1000
"""`progress` is called after every this many records, and once at the end."""


@dataclass(frozen=True)
class ImportResult:
    """What one file yielded."""

    format: str
    """Detected format name (see `FORMAT_NAMES`)."""
    records: list[Record]
    """Records in file order."""
    warnings: list[str] = field(default_factory=list)
    """Problems that did not stop the import (encoding fallback, records without title...)."""
    encoding: str = "utf-8"
    """Text encoding used to decode the file ('binary' for .xlsx)."""
    decoding: list[str] = field(default_factory=list)
    """The warnings about how the bytes were read as text (a Windows-1252 fallback, bytes
    replaced), also in `warnings`: a review keeps them with the import."""


def read_file(path: Path | str, *, progress: Callable[[int], None] | None = None) -> ImportResult:
    """Import one bibliographic file; the format is detected from its content.

    `progress`, if given, is called with the number of records read so far. Raises
    `ImportFailed` (and nothing else) when the file cannot be imported.
    """
    path = Path(path)
    box: list[bytes] = []  # read_file keeps no reference: the bytes are freed once decoded
    try:
        box.append(path.read_bytes())
    except IsADirectoryError as exc:
        raise ImportFailed("this is a folder, not a file", file=path,
                           hint="give the path of an exported file") from exc
    except OSError as exc:
        raise ImportFailed(f"the file cannot be read ({exc.strerror or exc})", file=path,
                           hint="check the path and the file permissions") from exc
    return _guarded(box, path, progress)


def read_bytes(
    data: bytes, path: Path | None = None, *, progress: Callable[[int], None] | None = None
) -> ImportResult:
    """Like `read_file`, for content already in memory (`path` is used in messages only)."""
    return _guarded([data], path, progress)


def _guarded(
    box: list[bytes], path: Path | None, progress: Callable[[int], None] | None
) -> ImportResult:
    # Records hold no reference cycles; pausing the cyclic garbage collector while
    # thousands of small dicts and lists are built saves about a tenth of the time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _read(box, path, progress)
    except ImportFailed as exc:
        if path is not None:
            exc.with_file(path)
        raise
    except RecursionError as exc:
        raise ImportFailed("the file is nested too deeply to read", file=path,
                           hint="the file is damaged or not a bibliography") from exc
    except MemoryError as exc:
        raise ImportFailed("the file is too large to read into memory", file=path,
                           hint="split the export into smaller files") from exc
    except Exception as exc:  # a parser crash must never escape as anything else
        raise ImportFailed(
            f"the importer failed unexpectedly ({type(exc).__name__}: {exc})", file=path,
            hint="the file may be damaged: export it again, and report the problem if it "
            "persists",
        ) from exc
    finally:
        if collecting:
            gc.enable()


def _read(
    box: list[bytes], path: Path | None, progress: Callable[[int], None] | None
) -> ImportResult:
    data = box.pop()
    warnings = _text.WarningLog()
    if not data or data.isspace():  # data.strip() would copy it
        raise not_a_bibliography("an empty file", path)
    if data.startswith(_decode.GZIP_MAGIC):
        try:
            data = _decode.gunzip(data)
        except Exception as exc:
            raise ImportFailed(f"the gzip file is damaged ({exc})", file=path,
                               hint="download or compress the file again") from exc
        warnings("The file was gzip-compressed; it was decompressed before reading.")
        if not data or data.isspace():  # data.strip() would copy it
            raise not_a_bibliography("an empty file (after decompression)", path)
    if tabular.is_xlsx(data):
        records = _collect(tabular.iter_xlsx(data, path, warnings), progress)
        return _result("xlsx", records, warnings, "binary", path)
    kind = _decode.binary_kind(data)
    if kind:
        raise not_a_bibliography(kind, path)
    text, encoding, notes = _decode.decode(data)
    del data  # keep only the text in memory while parsing
    for note in notes:
        warnings(note)
    name = detect_text(text, path)
    if name not in ("csv", "tsv") and (joined := _decode.joined_files(text)):
        # (a table refuses its repeated header instead; MEDLINE ends a record there)
        warnings(_joined_note(joined))
        if name != "medline":  # the mark is not text: '\ufeffTY  - ' is a start line
            text = text.replace("\n" + _decode.FILE_START, "\n")
    text = _text.composed(text)
    fmt = BY_NAME[name]
    records = _collect(fmt.iter_records(text, path, warnings), progress)
    return replace(_result(name, records, warnings, encoding, path), decoding=notes)


def _joined_note(lines: list[int]) -> str:
    where = ", ".join(map(str, lines[:5])) + (", ..." if len(lines) > 5 else "")
    starts = "Another file starts" if len(lines) == 1 else f"{len(lines) + 1} files start"
    return (f"{starts} (a byte-order mark) at line{'' if len(lines) == 1 else 's'} {where}: "
            "were files joined? Their records were all read; if they are separate searches, "
            "import each file on its own (one import command takes several files) so each keeps "
            "its own source in the PRISMA-S table.")


def _collect(records: Iterator[Record], progress: Callable[[int], None] | None) -> list[Record]:
    out: list[Record] = []
    for record in records:
        out.append(record)
        if progress is not None and len(out) % PROGRESS_EVERY == 0:
            progress(len(out))
    if progress is not None:
        progress(len(out))
    return out


def _result(
    name: str, records: list[Record], warnings: _text.WarningLog, encoding: str,
    path: Path | None,
) -> ImportResult:
    if not records:
        label = BY_NAME[name].description if name in BY_NAME else "an Excel workbook"
        raise ImportFailed(
            f"the file looks like {label} but contains no records", file=path,
            hint="check that the export included the records (not only a header)",
        )
    return ImportResult(format=name, records=records, warnings=warnings.result(),
                        encoding=encoding)
