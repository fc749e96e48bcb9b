"""The headless core runs without the UI: importing it does not load textual."""

from __future__ import annotations

import subprocess
import sys


def test_core_workflow_storage_do_not_load_textual() -> None:
    code = (
        "import sys\n"
        "import screener.core.records, screener.core.decisions, screener.core.protocol\n"
        "import screener.workflow.review, screener.workflow.screening, screener.workflow.status\n"
        "import screener.storage, screener.storage.repo\n"
        "import screener.cli\n"
        "loaded = [m for m in sys.modules if m == 'textual' or m.startswith('textual.')]\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"textual was loaded: {out.stdout}"
