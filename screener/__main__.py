"""`python -m screener` and the `screener` command: run the command-line interface, with
Ctrl-C handled once for every command.

An interrupt can arrive while the command's modules are still being imported (click,
SQLAlchemy, scikit-learn: the first second of a command), before click runs; `run` catches
it around that import too. What a command writes is one transaction per action and files
go through a temporary file and a rename, so the step cut short left nothing behind.
Imports nothing but the standard library before `screener.cli`.
"""

from __future__ import annotations

import sys
from typing import NoReturn

INTERRUPTED = "interrupted: nothing was written by the unfinished step"


def interrupted() -> NoReturn:
    """Ctrl-C: one line on stderr and exit code 130 (128 + SIGINT), never a traceback."""
    try:
        sys.stderr.write(f"\n{INTERRUPTED}\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed or gone with the terminal
        pass
    raise SystemExit(130)


def run() -> None:
    """The entry point ([project.scripts] and `python -m screener`)."""
    try:
        from screener.cli import main

        main()
    except KeyboardInterrupt:
        interrupted()


if __name__ == "__main__":
    run()
