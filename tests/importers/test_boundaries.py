"""The importers load only their own libraries: never the UI, the CLI, storage or ranking."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("sqlalchemy", "textual", "click", "sklearn", "alembic", "screener.storage",
             "screener.tui", "screener.workflow", "screener.ranking", "screener.cli")


def test_importers_do_not_load_other_layers() -> None:
    code = (
        "import sys\n"
        "import screener.importers as imp\n"
        "from screener.importers import bibtex, endnote_xml, medline, pubmed_xml, ris, tabular, wos\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} or "
        f"any(m == f or m.startswith(f + '.') for f in {FORBIDDEN!r})]\n"
        "print(','.join(sorted(bad)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == ""
