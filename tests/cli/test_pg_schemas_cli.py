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


def two_reviews(pg_url: str, tmp_path: Path) -> dict[str, str]:
    """Reviews 'ketamine' and 'lithium', each in a schema of that name of one database; the
    URL of each."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA ketamine")
        conn.execute("CREATE SCHEMA lithium")
    url = {name: f"{pg_url}?options=-csearch_path%3D{name}" for name in ("ketamine", "lithium")}
    for name in url:
        run("init", str(tmp_path / name), "--protocol", MINIMAL, "--db", url[name])
    return url


@pytest.mark.postgres
def test_one_review_per_schema_in_one_database(pg_url: str, tmp_path: Path) -> None:
    import psycopg

    url = two_reviews(pg_url, tmp_path)
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


def dumped_schemas(url: str, tmp_path: Path) -> set[str]:
    """The schemas whose review tables the pg_dump that `screener backup --db url` names
    (run as given) puts in its dump."""
    import re
    import shlex
    import shutil
    import subprocess

    refused = CliRunner().invoke(main, ["backup", str(tmp_path / "bk"), "--db", url])
    assert refused.exit_code == 2, refused.output
    said = " ".join(refused.output.split())
    command = re.search(r"`(pg_dump [^`]*)`", said)
    assert command is not None, said
    assert "pg_restore" in said, said
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    dump = tmp_path / "review.dump"
    dump.unlink(missing_ok=True)
    argv = [url if word == "URL" else word for word in shlex.split(command[1])]
    subprocess.run(argv, cwd=tmp_path, check=True)
    listing = subprocess.run(["pg_restore", "-l", str(dump)], check=True, capture_output=True,
                             text=True).stdout
    return set(re.findall(r"TABLE (\w+) decisions ", listing))


@pytest.mark.postgres
def test_backup_of_a_review_in_its_own_schema_names_the_pg_dump_of_that_schema(
        pg_url: str, tmp_path: Path) -> None:
    # a plain `pg_dump URL` dumps every schema of the database: the other reviews too
    url = two_reviews(pg_url, tmp_path)
    assert dumped_schemas(url["ketamine"], tmp_path) == {"ketamine"}
    # a review in public of a database that also holds other reviews in their own schemas:
    # the plain pg_dump it was advised put them into this review's backup
    run("init", str(tmp_path / "public"), "--protocol", MINIMAL, "--db", pg_url)
    assert dumped_schemas(pg_url, tmp_path) == {"public"}


@pytest.mark.postgres
def test_backup_of_the_only_review_of_a_database_names_the_plain_pg_dump(
        pg_url: str, tmp_path: Path) -> None:
    run("init", str(tmp_path / "public"), "--protocol", MINIMAL, "--db", pg_url)
    plain = CliRunner().invoke(main, ["backup", str(tmp_path / "bk"), "--db", pg_url])
    assert plain.exit_code == 2 and "`pg_dump -Fc -f review.dump URL`" in plain.output, (
        plain.output)


def restore_from_a_whole_dump(pg_url: str, tmp_path: Path, url: dict[str, str], name: str,
                              lose: tuple[str, ...], remake: tuple[str, ...]) -> str:
    """Dump the whole database, import into lithium after it, lose review `name` (SQL
    `lose`), then run the `pg_restore -n` that `screener restore` names for it (after SQL
    `remake`); check that it restored the review and left lithium's as it is; what restore
    said."""
    import re
    import shlex
    import subprocess

    import psycopg

    (tmp_path / "k.ris").write_text(RIS, encoding="utf-8")
    run("import", str(tmp_path / "k.ris"), "--db", url[name])
    subprocess.run(["pg_dump", "-Fc", "-f", "review.dump", pg_url], cwd=tmp_path, check=True)
    run("import", str(tmp_path / "k.ris"), "--db", url["lithium"])  # after the dump
    with psycopg.connect(pg_url, autocommit=True) as conn:  # the review is lost
        for sql in lose:
            conn.execute(sql)
    refused = CliRunner().invoke(main, ["restore", str(tmp_path / "review.dump"), "--review",
                                        str(tmp_path / name), "--db", url[name]])
    assert refused.exit_code == 2, refused.output
    said = " ".join(refused.output.split())
    assert "nothing was restored" in said, said
    command = re.search(r"`(pg_restore -n [^`]*)`", said)
    assert command is not None, said
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for sql in remake:
            conn.execute(sql)
    argv = [pg_url if word == "URL" else word for word in shlex.split(command[1])]
    subprocess.run(argv, cwd=tmp_path, check=True)  # (a plain pg_restore: lithium exists)
    assert "records: 1 identified" in run("status", "--db", url[name])
    assert "records: 1 identified" in run("status", "--db", url["lithium"])  # not rolled back
    for each in url.values():
        assert "OK" in run("log", "verify", "--db", each)
    return said


@pytest.mark.postgres
def test_restore_of_a_review_in_its_own_schema_names_the_pg_restore_of_that_schema(
        pg_url: str, tmp_path: Path) -> None:
    # restore's refusal said `pg_restore -d URL review.dump` "into an empty database": from
    # a dump of the whole database that puts back every schema, the other reviews too
    import shutil

    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    said = restore_from_a_whole_dump(pg_url, tmp_path, two_reviews(pg_url, tmp_path),
                                     "ketamine", ("DROP SCHEMA ketamine CASCADE",),
                                     ("CREATE SCHEMA ketamine",))
    assert "`CREATE SCHEMA ketamine`" in said, said


@pytest.mark.postgres
def test_restore_of_a_review_in_public_of_a_shared_database_names_the_pg_restore_of_public(
        pg_url: str, tmp_path: Path) -> None:
    # backup names `pg_dump -n public` for a review in public of a database that also holds
    # reviews in schemas of their own; restore said a plain `pg_restore -d URL review.dump`
    # "into an empty database", which from a dump of the whole database puts back (or, into
    # this database, collides with) every schema the dump holds, the other reviews too
    import shutil

    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    url = two_reviews(pg_url, tmp_path)
    run("init", str(tmp_path / "public"), "--protocol", MINIMAL, "--db", pg_url)
    restore_from_a_whole_dump(pg_url, tmp_path, {**url, "public": pg_url}, "public",
                              ("DROP SCHEMA public CASCADE", "CREATE SCHEMA public"), ())
