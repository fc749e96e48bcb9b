"""Where the benchmark scripts find the shared data (the screening datasets, the ASReview
anchors): the folder named by the environment variable SCREENER_SHARED_DATA, else
../shared/data beside the repository (for /work/main: /work/shared/data).

    from shared_data import shared_data
    DATA = shared_data()                 # ends the script (exit 2) when the folder is missing
    SCREENING = shared_data("screening")

Scripts with a `--data` option default it to None and read it through `data_option`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

VARIABLE = "SCREENER_SHARED_DATA"
DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data"
"""../shared/data beside the repository."""


def data_root() -> Path:
    """$SCREENER_SHARED_DATA, else ../shared/data beside the repository (not checked)."""
    return Path(os.environ.get(VARIABLE) or DEFAULT)


def require(path: Path, given_as: str = "") -> Path:
    """`path` if it exists; else one message on stderr (what is missing, where the folder
    came from: `given_as`, such as "--data", else the variable or the default, and how to
    point at another) and exit code 2, not a traceback later."""
    if path.exists():
        return path
    given = os.environ.get(VARIABLE)
    if given_as:
        print(f"{given_as} {path}: no such folder; give an existing one (see --help)",
              file=sys.stderr)
        raise SystemExit(2)
    source = (f"{VARIABLE} is {given}" if given else
              f"{VARIABLE} is not set, so ../shared/data beside the repository")
    print(f"{path}: not found ({source}); set {VARIABLE} to the shared data folder, the one "
          "that holds screening/ and anchors/", file=sys.stderr)
    raise SystemExit(2)


def data_option(given: Path | None, *parts: str) -> Path:
    """A script's `--data` (None when not given: `parts` under the shared data folder),
    checked by `require`."""
    if given is not None:
        return require(given, "--data")
    return shared_data(*parts)


def shared_data(*parts: str) -> Path:
    """The shared data folder, or `parts` under it, checked by `require`."""
    return require(data_root().joinpath(*parts))
