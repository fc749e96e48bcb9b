"""Parameter types shared by the commands: whole numbers the database can store, and paths
that may not be empty nor longer than the file system allows. A bad value is refused by
click before any command opens a review, with click's usage message and exit code 2.
`ChecksText`, the class of every command, refuses text that is not UTF-8 in any of them.

Registers no command. Imports click and screener.core only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from screener.core.paths import escaped_bytes, not_utf8, too_long

DB_INT_MAX = 2**31 - 1
"""The largest id, seed or count the review's columns hold: they are INTEGER, 32 bits on
PostgreSQL (SQLite stores up to 2**63 - 1, but a review must move between the two)."""


class _DbInt(click.IntRange):
    """A whole number from `low` to DB_INT_MAX, refused with what it is for."""

    def __init__(self, low: int, what: str) -> None:
        super().__init__(min=low, max=DB_INT_MAX)
        self.what = what

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            self.fail(f"{str(value)!r} is not {self.what}: give a whole number from "
                      f"{self.min} to {DB_INT_MAX}", param, ctx)


DB_ID = _DbInt(1, "an id")
"""A record, ranking or cluster id (ids start at 1)."""

SEED = _DbInt(0, "a seed")
"""A random seed (stored with what it produced)."""

POSITION = _DbInt(1, "a position")
"""A rank position (the first is 1)."""

COUNT = _DbInt(0, "a count")
"""A number of things, e.g. the studies a previous version of the review included."""


class NonEmptyPath(click.Path):
    """click.Path that refuses "": Path("") is the current folder, which a script passing an
    unset variable never meant. It also refuses a name longer than the file system allows
    (the first call that touched it raised "File name too long"), and one whose bytes are
    not UTF-8 (`core.paths.not_utf8`: it was a traceback where the name was stored)."""

    utf8_only = True
    """Refuse a name that is not UTF-8 (a review folder, a file imported: screener keeps
    their names)."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("an empty path was given; name the folder or file (`.` for the "
                      "current folder)", param, ctx)
        path = super().convert(value, param, ctx)
        if isinstance(path, Path) and (problem := too_long(path)):
            self.fail(problem, param, ctx)
        if self.utf8_only and isinstance(path, Path) and (problem := not_utf8(path)):
            raise PathError(problem)
        return path


PATH = NonEmptyPath(path_type=Path)
"""A file or folder argument (a pathlib.Path)."""


class Refused(click.ClickException):
    """A refusal for what was given, not for how the command was typed, where raising
    the workflow's `ReviewError` would load what the command avoids (`protocol check`
    loads no database code): printed as "error: ..." with exit code 2, as `ReviewError`
    is, not with click's "Usage: ... Try --help" lines."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {escaped_bytes(self.format_message())}", err=True, file=file)


class PathError(Refused):
    """A path option refused for what the path is (`Refused`)."""


def _undecoded_excerpt(text: str) -> str | None:
    """`text` with its bytes that are not UTF-8 escaped ('J\\xe9'; a long text cut to the
    part around the first of them), or None when it is all UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        if len(text) > 60:
            start, end = max(exc.start - 25, 0), exc.start + 25
            text = ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
        return escaped_bytes(text)
    return None


def refuse_undecoded_text(ctx: click.Context) -> None:
    """Refuse (`Refused`, exit code 2) a text value of the command whose bytes are not UTF-8:
    a name or note typed in a terminal set to another encoding ("José" in Latin-1 arrives as
    'Jos\\xe9'), which the database cannot store (it failed there with a traceback).
    Paths are not text here: their own type decides (`NonEmptyPath`)."""
    if ctx.resilient_parsing:  # (shell completion)
        return
    for param in ctx.command.params:
        value = ctx.params.get(param.name) if param.name else None
        for text in value if isinstance(value, tuple | list) else (value,):
            if not isinstance(text, str) or (shown_value := _undecoded_excerpt(text)) is None:
                continue
            where = ("/".join(param.opts) if isinstance(param, click.Option)
                     else param.human_readable_name)
            again = "type it again"
            if ctx.get_parameter_source(param.name or "") == click.core.ParameterSource.ENVIRONMENT:
                where, again = f"{where} (the environment variable {param.envvar})", "set it again"
            raise Refused(
                f"{where} '{shown_value}' is not UTF-8: its bytes shown as \\x.. are in "
                "another encoding (the terminal's, such as Latin-1), which screener cannot "
                f"keep as text; {again} in a terminal that uses UTF-8 (e.g. after `export "
                "LANG=C.UTF-8`), or leave those characters out; nothing was written")


class ChecksText(click.Command):
    """A command that refuses text that is not UTF-8 in any of its arguments and options
    (`refuse_undecoded_text`) before it runs: the class of every screener command (the
    command_class of `screener.cli.ScreenerGroup`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        refuse_undecoded_text(ctx)
        return rest


class OutputPath(NonEmptyPath):
    """A file to write: a value ending in a slash names a folder, which pathlib drops
    (`--out newdir/` wrote a file named newdir). Refused unless the folder exists (the
    command then says it is a folder)."""

    instead = "give a file name, or leave {option} out for the default"
    """What to do instead of `-` (standard output)."""

    utf8_only = False  # (an export's name is not kept: written as the file system takes it)

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        option = param.opts[0] if param is not None and param.opts else "the path"
        if value == "-":
            raise PathError(f"{option} - would write a file named '-': screener writes "
                            "exports to files, not to standard output; "
                            + self.instead.format(option=option))
        path = super().convert(value, param, ctx)
        if isinstance(value, str) and value.endswith(("/", os.sep)) and isinstance(path, Path):
            if path.is_file():
                raise PathError(f"{path} is a file, not a folder; {option} names a file: "
                                "leave out the final slash, or give a file path in a folder")
            if not path.is_dir():
                raise PathError(f"{path}: no such folder, and {option} names a file, not a "
                                "folder: create the folder, then give a file path in it")
        return path


OUT_PATH = OutputPath(path_type=Path)
"""A file to write (a pathlib.Path); see OutputPath."""


class RunOutputPath(OutputPath):
    """A file to write that has no default (simulate's --out and --plot: without it
    nothing is written)."""

    instead = "give a file name (--json prints the results on standard output)"


RUN_OUT_PATH = RunOutputPath(path_type=Path)
"""A file to write with no default file (a pathlib.Path); see RunOutputPath."""


class _DbUrl(click.types.StringParamType):
    """--db URL: refuses "" (it fell back to the current folder, as if not given)."""

    name = "url"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            from click.core import ParameterSource

            if (ctx is not None and param is not None and param.name
                    and ctx.get_parameter_source(param.name) == ParameterSource.ENVIRONMENT):
                raise click.BadParameter(
                    f"it is set to {value!r}, which names no database; set it to "
                    "postgresql://user@host:port/db or sqlite:///path/to/review.db, or unset "
                    "it (unset SCREENER_DB) to use the review folder", ctx, param,
                    param_hint="SCREENER_DB (the environment variable --db reads)")
            self.fail("an empty database URL was given; write postgresql://user@host:port/db "
                      "or sqlite:///path/to/review.db, or leave --db out to use the review "
                      "folder", param, ctx)
        return value


DB_URL = _DbUrl()
"""A database URL option (checked further when the review is opened)."""
