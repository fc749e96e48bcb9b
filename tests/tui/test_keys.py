"""The key map: defaults, protocol remapping, the user's keys.yaml (which wins)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from screener.tui.dialogs import HelpScreen, reason_keys
from screener.tui.keys import (
    DEFAULT_KEYS,
    KeyMapError,
    binding_key,
    build_keymap,
    load_keymap,
    parse_keys_text,
    user_keys_path,
)


def test_defaults() -> None:
    keymap = load_keymap((), Path("/nonexistent/keys.yaml"))
    assert keymap.keys == DEFAULT_KEYS and keymap.problems == ()
    assert [keymap.key(a) for a in ("include", "exclude", "maybe", "note", "undo", "search",
                                    "browse", "help", "quit")] == list("iemnu/b?q")


def test_user_file_wins_over_protocol(tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text("# mine\ninclude: 'j'\nexclude: \"x\"   # comment\n\nconflicts: c\n")
    keymap = load_keymap((("include", "y"), ("maybe", "k")), path)
    assert keymap.keys["include"] == "j" and keymap.keys["exclude"] == "x"
    assert keymap.keys["maybe"] == "k" and keymap.problems == ()


def test_swapping_keys_in_one_layer_is_allowed() -> None:
    keymap = build_keymap([("protocol", {"include": "e", "exclude": "i"})])
    assert keymap.keys["include"] == "e" and keymap.keys["exclude"] == "i"
    assert keymap.problems == ()


def test_clash_is_refused_and_reported() -> None:
    keymap = build_keymap([("protocol", {"include": "y", "exclude": "n"})])
    assert keymap.keys["include"] == "y"
    assert keymap.keys["exclude"] == "e" and keymap.keys["note"] == "n"
    assert keymap.problems and "also the key for note" in keymap.problems[0]


def test_bad_user_file_is_reported_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text("fly: f\n")
    keymap = load_keymap((), path)
    assert keymap.keys == DEFAULT_KEYS
    assert "line 1: unknown action 'fly'" in keymap.problems[0]


@pytest.mark.parametrize("text", ["include j", "include:", "bogus: x"])
def test_parse_errors_name_the_line(text: str) -> None:
    with pytest.raises(KeyMapError, match="line 1"):
        parse_keys_text(text)


def test_user_keys_path_follows_xdg() -> None:
    assert user_keys_path({"XDG_CONFIG_HOME": "/x"}) == Path("/x/screener/keys.yaml")
    assert user_keys_path({"HOME": "/h"}) == Path("/h/.config/screener/keys.yaml")


def test_binding_key_names() -> None:
    assert [binding_key(k) for k in ("/", "?", "i", "f2", "ctrl+s", "-")] == [
        "slash", "question_mark", "i", "f2", "ctrl+s", "minus"]


def test_a_key_the_ui_keeps_for_itself_is_refused(tmp_path: Path) -> None:
    # the protocol checks refuse it; a user's keys.yaml is read here, so it is refused here
    path = tmp_path / "keys.yaml"
    path.write_text("include: escape\nmaybe: k\n")
    keymap = load_keymap((), path)
    assert keymap.keys["include"] == "i" and keymap.keys["maybe"] == "k"
    assert len(keymap.problems) == 1 and "key 'escape' for include is kept by the UI" in (
        keymap.problems[0])


def test_a_key_no_press_can_reach_is_refused_in_the_user_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text("include: esc\nmaybe: k\nsearch: slash\nnote: /\n")
    keymap = load_keymap((), path)
    assert keymap.keys["include"] == "i" and keymap.keys["maybe"] == "k"
    # '/' and 'slash' are one key: both asked for it, so neither moves
    assert keymap.keys["note"] == "n" and keymap.keys["search"] == "/"
    assert "key 'esc' is not a key screener can bind" in keymap.problems[0]
    assert "key 'slash' for search is also the key for note" in keymap.problems[1]


@pytest.mark.parametrize(("keys", "shown"), [
    ("12345678", "1-8"), ("1", "1"), ("12349", "1-4, 9"), ("123", "1-3"),
    ("13", "1, 3"), ("12ab", "1, 2, a, b"), ("", "")])
def test_the_help_names_the_exclusion_reason_keys_the_protocol_uses(keys: str,
                                                                   shown: str) -> None:
    """The help said "1-9" whatever keys the protocol's reasons have."""
    assert reason_keys(list(keys)) == shown


async def test_help_lists_the_reason_keys_of_the_protocol(make_app: Any) -> None:
    app, _, _, _ = make_app()  # minimal.yaml: reasons on 1, 2, 3, 4 and 9
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = str(app.screen.query_one("#help-keys").render())
        assert "1-4, 9  Exclusion reason" in keys and "1-9" not in keys
