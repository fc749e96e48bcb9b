"""The example protocols bundled with screener (`init --protocol minimal`).

They are copies of the repository's protocols/*.yaml, which the tests reuse and keep
identical to these (tests/protocol/test_protocol.py), installed as package data so that a
wheel install can start a review without a clone.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from screener.protocol.loader import Problem, ProtocolError

_FOLDER = "examples"


def bundled_protocols() -> dict[str, Path]:
    """Example name (the file name without .yaml) -> its file, sorted by name."""
    folder = resources.files("screener.protocol") / _FOLDER
    return {Path(entry.name).stem: Path(str(entry))
            for entry in sorted(folder.iterdir(), key=lambda e: e.name)
            if entry.name.endswith(".yaml")}


def example_named(path: Path) -> str | None:
    """The name of the bundled example `path` names (`minimal` or `minimal.yaml`), when it
    is a bare name with nothing of that name here (a file in the current folder comes first);
    else None."""
    if path.exists() or path.is_symlink() or len(path.parts) != 1:
        return None
    name = str(path).removesuffix(".yaml")
    return name if name in bundled_protocols() else None


def protocol_or_example(path: Path) -> Path:
    """`path` when it names a file (or anything else there) or has a folder part (reading
    it says what is wrong), else the bundled example of that name (`example_named`);
    neither: ProtocolError naming the examples."""
    if path.exists() or path.is_symlink() or len(path.parts) != 1:
        return path
    examples = bundled_protocols()
    name = example_named(path)
    if name is not None:
        return examples[name]
    names = ", ".join(examples)
    raise ProtocolError(str(path), [Problem("", None, "file not found")],
                        f"{path}: no such protocol file and no bundled example of that name: "
                        f"check the path, or name an example ({names})")
