"""The screening UI's default keys and the keys it keeps for itself, as plain data.

Shared by the protocol checks (a protocol's `keys:` must not clash with them) and the
terminal UI (which binds them), so neither needs the other. Standard library only.
"""

from __future__ import annotations

import unicodedata

DEFAULT_KEYS: dict[str, str] = {
    "include": "i", "exclude": "e", "maybe": "m", "note": "n", "undo": "u", "search": "/",
    "browse": "b", "help": "?", "quit": "q", "fulltext_not_retrieved": "r", "theme": "t",
    "conflicts": "c", "panel": "p",
}
"""action -> key the UI binds it to unless remapped."""

RESERVED_KEYS: dict[str, str] = {
    "escape": "back to the queue, cancel a dialog",
    "enter": "open, confirm",
    "tab": "move to the next field",
    "shift+tab": "move to the previous field",
    "up": "move in lists, scroll the record",
    "down": "move in lists, scroll the record",
    "ctrl+c": "copy, quit",
    "ctrl+q": "quit",
}
"""Keys (as `binding_key` names them) the UI uses for fixed purposes: never remappable
onto an action, with what they do there."""

_REPLACEMENTS = {"solidus": "slash", "reverse_solidus": "backslash", "commercial_at": "at",
                 "hyphen_minus": "minus", "plus_sign": "plus", "low_line": "underscore"}


def binding_key(key: str) -> str:
    """The key name a terminal UI binding uses: '/' -> 'slash', '?' -> 'question_mark'.

    Letters, digits and names such as 'f2' or 'ctrl+s' are returned unchanged.
    """
    if len(key) != 1 or key.isalnum():
        return key
    try:
        name = unicodedata.name(key).lower().replace("-", "_").replace(" ", "_")
    except ValueError:
        return key
    return _REPLACEMENTS.get(name, name)
