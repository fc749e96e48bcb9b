"""The UI reaches the database through screener.workflow only."""

from __future__ import annotations

import ast
from pathlib import Path

import screener.tui

TUI = Path(screener.tui.__file__).parent


def test_tui_never_imports_storage_or_sqlalchemy() -> None:
    for path in sorted(TUI.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), f"{path.name} has no module docstring"
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(("screener.storage", "sqlalchemy")), (
                    f"{path.name} imports {name}")
