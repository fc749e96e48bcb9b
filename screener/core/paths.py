"""What a file system can hold in a path a user gives: a name (one part of the path) of at
most NAME_MAX bytes (255 on Linux and macOS), a whole path shorter than PATH_MAX. Checked
before anything is written, so a path too long is one message, not an OSError from the
first call that touches it. Standard library only.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

NAME_MAX = 255
"""The longest name, in bytes, when the file system does not say (os.pathconf)."""

PATH_MAX = 4096
"""The longest path, in bytes with its terminating NUL, when the file system does not say."""


def _limits(path: Path) -> tuple[int, int]:
    """(NAME_MAX, PATH_MAX) of the file system holding the nearest folder of `path` that
    exists."""
    folder = path.absolute()
    while not os.path.isdir(folder) and folder != folder.parent:  # (False on an OSError)
        folder = folder.parent
    try:
        return (os.pathconf(folder, "PC_NAME_MAX"), os.pathconf(folder, "PC_PATH_MAX"))
    except (OSError, ValueError, AttributeError):  # (no pathconf on Windows)
        return NAME_MAX, PATH_MAX


def shown(name: str, width: int = 40) -> str:
    """A long name cut in the middle for a message: 'aaaaaaaaaa…aaaa.ris'."""
    return name if len(name) <= width else f"{name[:width - 14]}…{name[-12:]}"


def too_long(path: Path) -> str:
    """Why the file system cannot hold `path`, in words ("" when it can): a name longer
    than the file system allows, or a whole path too long."""
    name_max, path_max = _limits(path)
    for part in path.parts:
        size = len(os.fsencode(part))
        if size > name_max and part != path.anchor:
            return (f"the name '{shown(part)}' is {size} bytes long; a file or folder name "
                    f"may be at most {name_max} bytes here: give a shorter name")
    size = len(os.fsencode(str(path)))
    if size >= path_max:
        return (f"the path is {size} bytes long; a path may be at most {path_max - 1} bytes "
                "here: give a shorter one")
    return ""


def not_utf8(path: Path | str) -> str:
    """Why screener cannot keep `path` as text (a review stores the names of its files and
    folders, and opens its database through a URL): a name whose bytes are not UTF-8, such
    as a Latin-1 `r\xe9sum\xe9` from an old archive or a Windows share. In words, with the
    bytes escaped ("" when every name is UTF-8)."""
    for part in Path(path).parts:
        try:
            part.encode("utf-8")
        except UnicodeEncodeError:
            name, whole = escaped_bytes(part), escaped_bytes(str(path))
            where = f" (in {whole})" if whole != name else ""
            return (f"the name '{name}'{where} is not UTF-8: its bytes shown as \\x.. are in "
                    "another encoding, which screener cannot keep as text; rename it (e.g. "
                    "with your file manager) and give the new name; nothing was written")
    return ""


_UNDECODED = re.compile("[\udc80-\udcff]")
"""The stand-ins Python gives bytes of a file name that are not UTF-8 (U+DC80-U+DCFF, for
bytes 0x80-0xFF: os.fsdecode's surrogateescape)."""


_UNDECODED_REPR = re.compile(r"\\udc([89a-f][0-9a-f])")
"""The same stand-ins as repr() writes them out, '\\udce9': in a message that quotes a value
with repr (click's usage errors: "'o_r\\udce9sum\\udce9.svg' is not one of ...")."""


def escaped_bytes(text: str) -> str:
    """`text` (a message naming a path) with the bytes of a name that is not UTF-8 written
    as `not_utf8` writes them, 'r\\xe9sum\\xe9', not as their stand-ins 'r\\udce9sum\\udce9'
    (or, on a terminal, a replacement character), whether the stand-ins are in it as
    characters or written out by repr()."""
    if "\\udc" in text:
        text = _UNDECODED_REPR.sub(r"\\x\1", text)
    if not _UNDECODED.search(text):
        return text
    return _UNDECODED.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", text)


def sync_file(path: Path | str) -> None:
    """Flush the file's bytes to the disk (fsync), so that a rename that puts it in place
    after a power cut or system crash cannot show an empty or half-written file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_folder(folder: Path | str) -> None:
    """Flush the folder's entries (a rename into it, a file created in it) to the disk. File
    systems and systems that cannot sync a folder (Windows, some network shares) are left
    as they are: the rename is still atomic there, only its durability is theirs."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def replace_durably(source: Path | str, target: Path | str) -> None:
    """Rename the finished file `source` onto `target` (atomic, in one folder) so that it
    survives a power cut: the file is synced before the rename, the folder after."""
    sync_file(source)
    os.replace(source, target)
    sync_folder(os.path.dirname(os.path.abspath(target)))


def write_durably(target: Path | str, data: bytes, mode: int | None = None) -> None:
    """Write `data` as the file `target` through a temporary file of its own in the same
    folder, renamed onto it with `replace_durably`: a reader sees the old file or the new
    one, whole; nothing is left behind on failure. `mode` sets the file's permissions (the
    temporary file's own are 0600)."""
    import tempfile

    fd, name = tempfile.mkstemp(prefix=".screener-", suffix=".tmp",
                                dir=os.path.dirname(os.path.abspath(target)))
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        replace_durably(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def sync_tree(folder: Path) -> None:
    """`sync_file` every file under `folder` and `sync_folder` every folder in it (a copy
    made in a staging folder, before it is renamed into place)."""
    for root, _dirs, files in os.walk(folder):
        for name in files:
            if not os.path.islink(os.path.join(root, name)):
                sync_file(os.path.join(root, name))
        sync_folder(root)
