"""`python -m screener` and the `screener` command: run the command-line interface, with
Ctrl-C, SIGTERM and SIGHUP handled once for every command.

An interrupt can arrive while the command's modules are still being imported (click,
SQLAlchemy, scikit-learn: the first second of a command), before click runs; `run` catches
it around that import too. SIGTERM (kill, systemd) and SIGHUP (a closed terminal or SSH
session) raise `Terminated`, a KeyboardInterrupt, so they unwind the command as Ctrl-C
does. What a command writes is one transaction per action and files go through a
temporary file and a rename, so the step cut short left nothing behind.
Imports nothing but the standard library before `screener.cli`.
"""

from __future__ import annotations

import codecs
import signal
import sys
from types import FrameType
from typing import Any, NoReturn

INTERRUPTED = "interrupted: nothing was written by the unfinished step"
TERMINATING = (signal.SIGTERM, signal.SIGHUP)
"""Signals that stop a command as Ctrl-C does (the screening UI quits on them itself)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the command is, so that it unwinds as Ctrl-C does:
    its transaction is rolled back, an export's temporary file removed."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminated(signum: int, _frame: FrameType | None) -> None:
    raise Terminated(signum)


def stop_on_termination() -> None:
    """SIGTERM and SIGHUP raise `Terminated` from now on (unless they are ignored, as
    under nohup: then they stay ignored)."""
    for signum in TERMINATING:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _terminated)


def interrupted(exc: BaseException | None = None) -> NoReturn:
    """Ctrl-C (or `Terminated`): one line on stderr and exit code 128 + the signal's
    number (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP), never a traceback. The line
    starts on a line of its own after the "^C" a terminal echoes for Ctrl-C; written to a
    file or pipe, or for a signal from kill, it has no blank line before it."""
    signum = int(getattr(exc, "signum", signal.SIGINT))
    try:
        echoed = signum == signal.SIGINT and sys.stderr.isatty()
        sys.stderr.write(("\n" if echoed else "") + INTERRUPTED + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed or gone with the terminal
        pass
    # (by its attribute: under `python -m screener` this file is also imported as
    # screener.__main__, whose Terminated is another class)
    raise SystemExit(128 + signum)


STDOUT_CLOSED = 128 + int(getattr(signal, "SIGPIPE", 13))
"""Exit code when whatever reads stdout went away (`screener log events | head -1`): 141,
what the shell reports for a Unix tool that SIGPIPE stopped (cat, grep, git)."""


def stdout_closed() -> NoReturn:
    """Stop quietly once stdout's reader has gone: no traceback, no "Exception ignored"
    line as Python flushes the closed stream on the way out (stdout is pointed at the null
    device for that), exit code `STDOUT_CLOSED`. Nothing half-written: a command writes
    its files and transactions before or apart from what it prints."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file behind stdout
        pass
    raise SystemExit(STDOUT_CLOSED)


def skip_final_collection() -> None:
    """Leave the objects still alive when the command has finished to the operating system:
    the interpreter's last garbage collections walk every one of them, which kept the shell
    waiting about 2 s after the screening UI had closed on a review of 40,000 records
    (benchmarks/quit_latency.py). Called once the command is over: its transactions are
    committed or rolled back, its files and the review closed, so nothing is left to write.
    Objects that are freed as they go still are (gc.freeze only stops the collector from
    walking them)."""
    import gc

    gc.freeze()


UNICODE_PROBE = "\u4e2d\u2014\U0001f9ea"
"""A CJK character, a dash and an emoji: an output encoding that can write these three
writes every character screener prints."""


def writes_unicode(stream: Any) -> bool:
    """Whether `stream`'s encoding can write every character screener prints (a stream
    with no encoding is taken as UTF-8)."""
    try:
        UNICODE_PROBE.encode(getattr(stream, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


ESCAPE_ERRORS = "screener-escape"
"""The codec error handler `tolerate_narrow_output` gives stdout and stderr."""


def _escape(exc: UnicodeError) -> tuple[str, int]:
    """What cannot be written, in backslash escapes: a byte of a file name that is not UTF-8
    (its stand-in U+DCE9) as '\\xe9', as `core.paths.not_utf8` names it; another character
    as 'backslashreplace' writes it ('\\u4e2d')."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    from screener.core.paths import escaped_bytes  # (standard library only)

    part = escaped_bytes(exc.object[exc.start:exc.end])
    return part.encode("ascii", "backslashreplace").decode("ascii"), exc.end


def tolerate_narrow_output() -> None:
    """stdout and stderr write what their encoding cannot as backslash escapes (`_escape`)
    instead of failing with UnicodeEncodeError halfway through a command: characters a
    title, source or name may hold on an encoding that lacks them (Latin-1 terminals,
    Windows cp1252 when output is redirected), and the bytes of a file name that is not
    UTF-8, which a message naming the file (`wrote o_r\\xe9sum\\xe9.csv`) shows as the refusal
    of such a name does, not as raw bytes or a '\\udce9'. Files screener writes are UTF-8
    whatever this says."""
    codecs.register_error(ESCAPE_ERRORS, _escape)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors=ESCAPE_ERRORS)


def run() -> None:
    """The entry point ([project.scripts] and `python -m screener`)."""
    try:
        stop_on_termination()
        tolerate_narrow_output()
        from screener.cli import main

        main()
    except KeyboardInterrupt as exc:
        interrupted(exc)
    except BrokenPipeError:
        stdout_closed()
    finally:
        skip_final_collection()


if __name__ == "__main__":
    run()
