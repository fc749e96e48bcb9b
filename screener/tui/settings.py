"""The reviewer's own UI settings, kept between sessions: the colour theme, and whether the
side panel (progress, stopping figures, criteria) is shown.

Stored as JSON in `$XDG_CONFIG_HOME/screener/ui.json` (else `~/.config/screener/ui.json`),
beside keys.yaml: a personal preference, never part of the review or its log. A missing,
unreadable or damaged file means "no saved setting"; it never stops the UI.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from screener.core.paths import replace_durably
from screener.tui.keys import user_keys_path

THEMES = {"dark": "textual-dark", "light": "textual-light"}
"""Theme names the CLI accepts, and Textual's names for them."""


def ui_settings_path(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_CONFIG_HOME/screener/ui.json`, else `~/.config/screener/ui.json`."""
    return user_keys_path(environ).with_name("ui.json")


def _saved(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def saved_theme(path: Path) -> str | None:
    """The theme saved by the last session ('dark' or 'light'), or None."""
    theme = _saved(path).get("theme")
    return theme if isinstance(theme, str) and theme in THEMES else None


def saved_side_panel(path: Path) -> bool:
    """Whether the last session showed the side panel (yes unless it hid it)."""
    return _saved(path).get("side_panel") is not False


def save_setting(path: Path, name: str, value: object, what: str) -> str | None:
    """Keep `name: value` for the next session; returns a message (about `what`) if the
    file cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {**_saved(path), name: value}
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ui-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2)
        replace_durably(tmp, path)
    except OSError as exc:
        return f"{what} not saved for next time: cannot write {path} ({exc.strerror})"
    return None
