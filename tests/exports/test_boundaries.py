"""Exports and the new core modules load no UI, database, CLI or ML library."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("sqlalchemy", "textual", "click", "sklearn", "alembic", "numpy", "scipy")


def _loaded(modules: str) -> set[str]:
    """Top-level modules that importing `modules` loads in a fresh interpreter."""
    code = ("import sys\nbefore = set(sys.modules)\n"
            f"import {modules}\n"
            "print('\\n'.join(sorted({m.split('.')[0] for m in set(sys.modules) - before})))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    return set(out.split())


def test_exports_load_no_ui_database_cli_or_ml() -> None:
    loaded = _loaded("screener.exports.prisma, screener.exports.log, "
                     "screener.exports.records, screener.exports.report")
    assert not loaded & set(FORBIDDEN), loaded & set(FORBIDDEN)
    assert "matplotlib" not in loaded  # only prisma_pdf/prisma_png import it


def test_core_prisma_and_audit_use_the_standard_library_only() -> None:
    loaded = _loaded("screener.core.prisma, screener.core.audit")
    third_party = loaded - set(sys.stdlib_module_names) - {"screener"}
    assert not third_party, third_party
