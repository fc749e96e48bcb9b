"""Characters that garble what a terminal shows around them, one set for every check that
refuses or removes them (names, notes, the protocol's text, the UI). Standard library only."""

from __future__ import annotations

import re

BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                          "\u2066\u2067\u2068\u2069")
"""Characters that reorder the text around them on a terminal (a name could hide another;
a title could read as other words): refused in names, notes and the protocol's text, and
never shown by the UI (`screener.tui.terminal`)."""

BIDI_PATTERN = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")
"""Any one of `BIDI_CONTROLS`."""
