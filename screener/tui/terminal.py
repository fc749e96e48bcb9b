"""What reaches the terminal: filters applied to every line the app draws.

`BidiControlFilter` removes the bidirectional controls (`BIDI_CONTROLS`) from every line,
wherever the text comes from (a record's title, abstract or authors on the card, in
browse, in the conflicts list, a notification quoting a title): a terminal that applies
them would show the text after a RIGHT-TO-LEFT OVERRIDE reversed, so a title could read
as other words. The text stored is unchanged; the controls take no cell on screen, so the
lines keep their width. Must not import screener.storage or sqlalchemy.
"""

from __future__ import annotations

import sys

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

from screener.core.controls import BIDI_PATTERN as _BIDI


class BidiControlFilter(LineFilter):
    """Drops bidirectional controls from the segments of a line (the rest as it was)."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        search, sub = _BIDI.search, _BIDI.sub
        return [Segment(sub("", segment.text), segment.style, segment.control)
                if search(segment.text) else segment for segment in segments]


def terminal_gone(fileno: int | None = None) -> bool:
    """Whether the terminal the UI reads (`fileno`, by default standard input) has hung up
    (the terminal or SSH session closed): its settings can no longer be read (EIO). With
    SIGHUP ignored (nohup, a shell's `trap '' HUP`) nothing else says so: Textual's input
    thread then reads the end of its input over and over, a core busy for good. False when
    the input is not a terminal."""
    import termios

    if fileno is None:
        try:
            fileno = sys.__stdin__.fileno() if sys.__stdin__ is not None else -1
        except (OSError, ValueError):  # (replaced or closed: not ours to judge)
            return False
    try:
        termios.tcgetattr(fileno)
    except termios.error as exc:
        return bool(exc.args) and exc.args[0] in (5, 6)  # EIO, ENXIO: hung up
    except (OSError, ValueError):
        return False
    return False
