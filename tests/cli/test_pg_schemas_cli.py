"""Two reviews in one PostgreSQL database, one per schema, chosen by a URL that sets the
search path (README: "PostgreSQL for teams"): each is created, imported into, decided on
and verified apart from the other."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from screener.cli import main

REPO = Path(__file__).resolve().parents[2]
MINIMAL = str(REPO / "protocols" / "minimal.yaml")
RIS = "TY  - JOUR\nTI  - Ketamine for depression: a trial\nAB  - Adults.\nER  - \n"


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.postgres
def test_one_review_per_schema_in_one_database(pg_url: str, tmp_path: Path) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA ketamine")
        conn.execute("CREATE SCHEMA lithium")
    url = {name: f"{pg_url}?options=-csearch_path%3D{name}" for name in ("ketamine", "lithium")}
    for name in url:
        run("init", str(tmp_path / name), "--protocol", MINIMAL, "--db", url[name])
    (tmp_path / "k.ris").write_text(RIS, encoding="utf-8")
    run("import", str(tmp_path / "k.ris"), "--db", url["ketamine"])
    run("decide", "1", "--reviewer", "ann", "--new-reviewer", "--label", "include",
        "--db", url["ketamine"])
    assert "records: 1 identified" in run("status", "--db", url["ketamine"])
    assert "records: 0 identified" in run("status", "--db", url["lithium"])
    for name in url:
        assert "OK" in run("log", "verify", "--db", url[name])
    with psycopg.connect(pg_url, autocommit=True) as conn:
        tables = dict(conn.execute("SELECT schemaname, count(*) FROM pg_tables WHERE "
                                   "tablename = 'decisions' GROUP BY 1").fetchall())
    assert tables == {"ketamine": 1, "lithium": 1}        # nothing in public
