"""The reviewer's own UI settings, kept between sessions: at present the colour theme.

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

from screener.tui.keys import user_keys_path

THEMES = {"dark": "textual-dark", "light": "textual-light"}
"""Theme names the CLI accepts, and Textual's names for them."""


def ui_settings_path(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_CONFIG_HOME/screener/ui.json`, else `~/.config/screener/ui.json`."""
    return user_keys_path(environ).with_name("ui.json")


def saved_theme(path: Path) -> str | None:
    """The theme saved by the last session ('dark' or 'light'), or None."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    theme = data.get("theme") if isinstance(data, dict) else None
    return theme if theme in THEMES else None


def save_theme(path: Path, theme: str) -> str | None:
    """Keep `theme` for the next session; returns a message if the file cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        data = {**(data if isinstance(data, dict) else {}), "theme": theme}
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ui-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2)
        os.replace(tmp, path)
    except OSError as exc:
        return f"theme not saved for next time: cannot write {path} ({exc.strerror})"
    return None
