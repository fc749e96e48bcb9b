"""The key map: default keys per action, remapped by the protocol and by a user config file.

Precedence (lowest to highest): the defaults (`screener.core.keys`, shared with the
protocol checks), the protocol's `keys:` section, then the user's file
`$XDG_CONFIG_HOME/screener/keys.yaml` (else `~/.config/screener/keys.yaml`).
The user file wins because keys are a personal matter (keyboard layout, habits) and never
change what is stored; the protocol sets the team's common keys.

The user file is a flat YAML mapping, one `action: key` per line (comments with `#`,
values may be quoted); it is read here with a tiny parser so the UI does not need PyYAML.
A mapping that would give one key two actions is refused with a message naming both, and
the earlier binding stays; so is a key the UI keeps for itself (`RESERVED_KEYS`: escape,
enter, ...). Standard library only; must not import textual or the database.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from screener.core.keys import (
    DEFAULT_KEYS,
    RESERVED_KEYS,
    binding_key,
    key_problem,
    reserved_name,
)

__all__ = ["ACTIONS", "DEFAULT_KEYS", "DESCRIPTIONS", "KeyMap", "KeyMapError", "binding_key",
           "build_keymap", "load_keymap", "parse_keys_text", "user_keys_path"]

ACTIONS: tuple[str, ...] = (
    "include", "exclude", "maybe", "note", "undo", "search", "browse", "help", "quit",
    "fulltext_not_retrieved", "theme", "conflicts", "panel",
)
"""Actions that can be remapped (the protocol schema's list plus `theme` and `panel`)."""

DESCRIPTIONS: dict[str, str] = {
    "include": "Include", "exclude": "Exclude", "maybe": "Maybe", "note": "Note",
    "undo": "Undo", "search": "Search", "browse": "Browse", "help": "Help", "quit": "Quit",
    "fulltext_not_retrieved": "Not retrieved", "theme": "Theme",
    "conflicts": "Conflicts", "panel": "Side panel",
}

IGNORED_ACTIONS: frozenset[str] = frozenset()
"""Actions a protocol or keys.yaml may name that this UI does not bind (none at present)."""


class KeyMapError(ValueError):
    """A key map file that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class KeyMap:
    """Which key triggers which action, and any problems met while building it."""

    keys: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_KEYS))
    """action -> key (a single character or a Textual key name such as 'f2')."""
    problems: tuple[str, ...] = ()
    """Remappings that were refused, for a notification."""

    def key(self, action: str) -> str:
        return self.keys[action]


def user_keys_path(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_CONFIG_HOME/screener/keys.yaml`, else `~/.config/screener/keys.yaml`."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "screener" / "keys.yaml"


def parse_keys_text(text: str, origin: str = "keys.yaml") -> dict[str, str]:
    """Parse a flat `action: key` mapping; raises KeyMapError naming the line."""
    result: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line or line == "---":
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise KeyMapError(f"{origin}, line {number}: expected 'action: key', got {raw.strip()!r}")
        name, value = name.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if name not in ACTIONS and name not in IGNORED_ACTIONS:
            raise KeyMapError(f"{origin}, line {number}: unknown action {name!r}; actions are "
                              f"{', '.join(ACTIONS)}")
        if not value:
            raise KeyMapError(f"{origin}, line {number}: no key given for {name!r}")
        result[name] = value
    return result


def build_keymap(layers: Iterable[tuple[str, Mapping[str, str]]]) -> KeyMap:
    """Apply remapping layers (name, action -> key) over the defaults, in order.

    A remapping that would bind a key already used by another action is refused (the
    problem is reported), unless that other action is moved away in the same layer; so is
    one of the keys the UI keeps for itself (`RESERVED_KEYS`).
    """
    keys = dict(DEFAULT_KEYS)
    problems: list[str] = []
    for origin, layer in layers:
        wanted = {a: k for a, k in layer.items() if a in ACTIONS}
        proposal = {**keys, **wanted}
        for action, key in wanted.items():
            if (reserved := reserved_name(key)) is not None:
                problems.append(f"{origin}: key {key!r} for {action} is kept by the UI for "
                                f"{RESERVED_KEYS[reserved]}. Kept {action} on "
                                f"{keys[action]!r}")
                proposal[action] = keys[action]
                continue
            problem = key_problem(key)
            if problem is not None:
                problems.append(f"{origin}: {action}: {problem}. Kept {action} on "
                                f"{keys[action]!r}")
                proposal[action] = keys[action]
                continue
            clash = [other for other, k in proposal.items()
                     if binding_key(k) == binding_key(key) and other != action]
            if clash:
                problems.append(f"{origin}: key {key!r} for {action} is also the key for "
                                f"{', '.join(clash)}; remap that too. Kept {action} on "
                                f"{keys[action]!r}")
                proposal[action] = keys[action]
        keys = proposal
    return KeyMap(keys, tuple(problems))


def load_keymap(protocol_keys: Iterable[tuple[str, str]],
                user_file: Path | None = None) -> KeyMap:
    """Defaults, then the protocol's keys, then the user's file (if it exists)."""
    layers: list[tuple[str, Mapping[str, str]]] = [("protocol", dict(protocol_keys))]
    problems: list[str] = []
    path = user_file if user_file is not None else user_keys_path()
    if path.is_file():
        try:
            layers.append((str(path), parse_keys_text(path.read_text(encoding="utf-8"),
                                                      str(path))))
        except (KeyMapError, OSError, UnicodeDecodeError) as exc:
            problems.append(str(exc))
    keymap = build_keymap(layers)
    return KeyMap(keymap.keys, (*problems, *keymap.problems))
