"""The screening UI's default keys and the keys it keeps for itself, as plain data.

Shared by the protocol checks (a protocol's `keys:` must not clash with them) and the
terminal UI (which binds them), so neither needs the other. Standard library only.
"""

from __future__ import annotations

import string
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


def reserved_name(key: str) -> str | None:
    """The `RESERVED_KEYS` name `key` stands for, whatever its case ('Escape', 'ctrl+C'),
    or None when it is not one of them."""
    name = binding_key(key).lower()
    return name if name in RESERVED_KEYS else None


_NAMED_KEYS = frozenset({binding_key(c) for c in string.punctuation} | {"space"}
                        | {f"f{n}" for n in range(1, 13)})
"""Key names a binding may give instead of one character: a sign's name ('slash'),
'space', and the function keys f1 to f12."""
_CTRL_ALIASES = {"ctrl+i": "tab", "ctrl+m": "enter", "ctrl+j": "enter",
                 "ctrl+h": "backspace"}
"""Control keys a terminal sends as another key: a binding on them would never fire."""


def key_problem(key: str) -> str | None:
    """Why `key` cannot be bound to an action in the screening UI, or None when it can:
    one visible character ('i', 'M', '/'), a sign's name ('slash'), 'space', f1 to f12, or
    ctrl+ and a lower-case letter (not one the terminal sends as another key)."""
    if len(key) == 1:
        if key.isspace() or unicodedata.category(key).startswith("C"):
            return (f"key {key!r} is a blank or invisible character; write space for the "
                    "space bar, or choose a letter, digit or sign")
        return None
    if key in _NAMED_KEYS:
        return None
    low = key.lower()
    if low.startswith("ctrl+") and len(low) == 6 and low[5] in string.ascii_lowercase:
        if low in _CTRL_ALIASES:
            return (f"key {key!r} reaches the screening UI as {_CTRL_ALIASES[low]} (the "
                    "terminal sends it so), so it could never fire; choose another key")
        if key != low:
            return f"write the key in lower case: {low!r}"
        return None
    return (f"key {key!r} is not a key screener can bind: write one character (a letter, "
            "digit or sign such as /), space, a function key (f1 to f12), or ctrl+ and a "
            "letter (e.g. ctrl+s)")
