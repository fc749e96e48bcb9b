"""CLI: bad input a user types gets one clear message and exit code 2, never a traceback,
and nothing is written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from screener.cli import main
from screener.core.records import Record
from screener.storage import INT_MAX, repo
from screener.workflow.review import open_review

REPO = Path(__file__).resolve().parents[2]
MINIMAL = str(REPO / "protocols" / "minimal.yaml")
HUGE = "99999999999999999999999"


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.output


@pytest.fixture
def loc(tmp_path: Path, db_url: str | None) -> list[str]:
    where = ["--db", db_url] if db_url else ["--review", str(tmp_path / "rev")]
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL, *(["--db", db_url] if db_url
                                                                else []))
    with open_review(tmp_path / "rev", db_url) as review, review.transaction() as s:
        source = repo.add_source(s, name="PubMed", kind="database")
        repo.add_records(s, source, [Record(title=f"Trial {i}", abstract="a") for i in range(3)])
    return where


def counts(tmp_path: Path, db_url: str | None) -> tuple[int, int]:
    with open_review(tmp_path / "rev", db_url) as review, review.read() as s:
        return repo.count_decisions(s), len(repo.event_log(s))


@pytest.mark.parametrize(("args", "where"), [
    (["decide", HUGE, "--reviewer", "ann", "--label", "include"], "'RECORD_ID'"),
    (["decide", "1", "--reviewer", "ann", "--label", "include", "--ranking-id", HUGE],
     "'--ranking-id'"),
    (["decide", "1", "--reviewer", "ann", "--label", "include", "--rank-position", HUGE],
     "'--rank-position'"),
    (["resolve", HUGE, "--reviewer", "ann", "--label", "include"], "'RECORD_ID'"),
    (["not-retrieved", HUGE], "'RECORD_ID'"),
    (["not-retrieved", HUGE, "--undo"], "'RECORD_ID'"),
    (["dedup", "--undo", HUGE], "'--undo'"),
    (["dedup", "--redo", HUGE], "'--redo'"),
    (["allocate", "--reviewers", "a,b", "--seed", HUGE], "'--seed'"),
    (["allocate", "--reviewers", "a,b", "--seed", "-1"], "'--seed'"),
    (["decide", "0", "--reviewer", "ann", "--label", "include"], "'RECORD_ID'"),
    (["decide", str(INT_MAX + 1), "--reviewer", "ann", "--label", "include"], "'RECORD_ID'"),
])
def test_numbers_the_database_cannot_hold_are_refused(tmp_path: Path, db_url: str | None,
                                                      loc: list[str], args: list[str],
                                                      where: str) -> None:
    before = counts(tmp_path, db_url)
    out = run(*args, *loc, code=2)
    assert where in out and f"to {INT_MAX}" in out, out
    assert counts(tmp_path, db_url) == before


def test_the_largest_id_is_looked_up_not_refused(tmp_path: Path, db_url: str | None,
                                                 loc: list[str]) -> None:
    out = run("decide", str(INT_MAX), "--reviewer", "ann", "--label", "include", *loc, code=2)
    assert f"no record with id {INT_MAX}" in out
    assert "allocated" in run("allocate", "--reviewers", "a,b", "--seed", str(INT_MAX), *loc)


def test_a_protocol_seed_too_large_to_store_is_refused_by_init(tmp_path: Path) -> None:
    # it passed init and rank, and only allocate refused it (it cannot be stored)
    protocol = tmp_path / "p.yaml"
    protocol.write_text(Path(MINIMAL).read_text(encoding="utf-8")
                        + f"ranking:\n  seed: {HUGE}\n", encoding="utf-8")
    out = run("init", str(tmp_path / "rev"), "--protocol", str(protocol), code=2)
    assert out.count("error:") == 1 and "ranking.seed" in out and "2147483647" in out
    assert not (tmp_path / "rev").exists()


def test_simulate_refuses_a_seed_out_of_range() -> None:
    out = run("simulate", "whatever.csv", "--seed", HUGE, code=2)
    assert "'--seed'" in out and "is not a seed" in out


@pytest.mark.parametrize("url", [
    "postgresql://u@[::1",
    "postgresql://u:secret@[::1",
    "postgresql://u:secret@host:notaport/db",
    "postgresql://u:se@cret@[::1/db",
])
def test_a_malformed_postgresql_url_is_one_message_without_the_password(tmp_path: Path,
                                                                        url: str) -> None:
    for args in (["status", "--db", url],
                 ["init", str(tmp_path / "r"), "--protocol", MINIMAL, "--db", url]):
        out = run(*args, code=2)
        assert "cannot read the database URL" in out and "secret" not in out
        assert "cret" not in out
    assert not (tmp_path / "r").exists()
    assert "closing bracket" in run("status", "--db", "postgresql://u@[::1", code=2)


@pytest.mark.parametrize("args", [
    ["init", "", "--protocol", MINIMAL],
    ["init", "  ", "--protocol", MINIMAL],
    ["init", "{tmp}/r", "--protocol", ""],
    ["status", "--review", ""],
    ["demo", "", "--no-ui"],
    ["export-reviewer", "", "--reviewer", "ann", "--review", "{tmp}/r"],
    ["merge", "", "--review", "{tmp}/r"],
    ["import", "", "--review", "{tmp}/r"],
    ["export", "log", "--out", "", "--review", "{tmp}/r"],
])
def test_an_empty_path_is_not_the_current_folder(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 args: list[str]) -> None:
    # `screener init ""` (a script's unset variable) created the review in the current folder
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    out = run(*[a.replace("{tmp}", str(tmp_path)) for a in args], code=2)
    assert "an empty path was given" in out
    assert list(here.iterdir()) == [] and not (tmp_path / "r").exists()


@pytest.mark.parametrize("args", [
    ["export", "log", "--out", "-"],
    ["export", "records", "--format", "csv", "--out", "-"],
    ["report", "--out", "-"],
])
def test_out_dash_is_refused_not_written_as_a_file_named_dash(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    # `export log --out -` (stdout, as many tools read it) wrote a file named '-'
    run("init", str(tmp_path / "r"), "--protocol", MINIMAL)
    monkeypatch.chdir(tmp_path)
    out = run(*args, "--review", str(tmp_path / "r"), code=2)
    assert "--out - would write a file named '-'" in out and "give a file name" in out
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize("command", [
    ["decide", "1", "--reviewer", "ann", "--label", "include"],
    ["protocol", "amend", str(REPO / "protocols" / "dual-screening.yaml"), "--reason", "r"],
])
def test_a_review_another_program_keeps_locked_gets_a_message(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    """A writer holding review.db (a long import in another shell, a database browser with
    an open transaction) makes a command wait, then fail with a message, not a traceback;
    opening the review only reads, so the message comes from the action itself."""
    import sqlite3

    from screener.storage import engine

    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    with open_review(tmp_path / "rev") as review, review.transaction() as s:
        source = repo.add_source(s, name="PubMed", kind="database")
        repo.add_records(s, source, [Record(title="Trial", abstract="a")])
    monkeypatch.setattr(engine, "SQLITE_BUSY_TIMEOUT_MS", 50)
    holder = sqlite3.connect(tmp_path / "rev" / "review.db", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        out = run(*command, "--review", str(tmp_path / "rev"), code=2)
    finally:
        holder.rollback()
        holder.close()
    assert "stayed busy for too long" in out and "nothing was written" in out, out
    monkeypatch.undo()
    with open_review(tmp_path / "rev") as review, review.read() as s:
        assert repo.count_decisions(s) == 0 and review.protocol_version == 1


@pytest.mark.parametrize("command", [
    ["status"], ["export", "prisma", "--format", "csv"], ["export", "log"],
    ["export", "records", "--format", "csv"], ["report"],
])
def test_reading_commands_answer_while_another_program_writes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    """`status`, the exports and the report only read: while another shell holds the write
    lock (a long import, a decision being saved) they answer at once instead of waiting for
    it and then failing with "stayed busy"."""
    import sqlite3

    from screener.storage import engine

    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    with open_review(tmp_path / "rev") as review, review.transaction() as s:
        source = repo.add_source(s, name="PubMed", kind="database")
        repo.add_records(s, source, [Record(title="Trial", abstract="a")])
    run("decide", "1", "--reviewer", "ann", "--label", "include", "--new-reviewer",
        "--review", str(tmp_path / "rev"))
    monkeypatch.setattr(engine, "SQLITE_BUSY_TIMEOUT_MS", 50)
    holder = sqlite3.connect(tmp_path / "rev" / "review.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("UPDATE records SET title = title")    # a write in progress
        out = run(*command, "--review", str(tmp_path / "rev"), "--out",
                  str(tmp_path / "out.txt")) if command[0] != "status" else run(
            *command, "--review", str(tmp_path / "rev"))
    finally:
        holder.rollback()
        holder.close()
    assert "busy" not in out


@pytest.mark.parametrize("failure", [KeyboardInterrupt, OSError(28, "No space left on device")])
def test_an_init_that_fails_in_a_folder_made_beforehand_leaves_it_as_it_was(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException) -> None:
    """`mkdir rev; cd rev; screener init . ...` interrupted (Ctrl-C) or failing while it
    writes: the folder keeps only what it held, so the same command can be run again."""
    folder = tmp_path / "rev"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine", encoding="utf-8")

    def fail(*args: object, **kwargs: object) -> None:
        raise failure

    monkeypatch.setattr(repo, "add_protocol_version", fail)
    result = CliRunner().invoke(main, ["init", str(folder), "--protocol", MINIMAL])
    assert result.exit_code != 0
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    if isinstance(failure, OSError):   # one message, exit 2
        assert result.exit_code == 2 and "No space left on device" in result.output
        assert "nothing was left there" in result.output and "Traceback" not in result.output
    monkeypatch.undo()
    assert "created review" in run("init", str(folder), "--protocol", MINIMAL)
    assert "0 unique" in run("status", "--review", str(folder))


def test_a_review_db_left_without_a_review_is_named_with_what_to_do(tmp_path: Path) -> None:
    """A review.db an unfinished init left (killed, power lost) holds no review: `init`
    and the other commands say so and that deleting it lets init run again."""
    folder = tmp_path / "rev"
    folder.mkdir()
    (folder / "review.db").write_bytes(b"")
    for command in (["init", str(folder), "--protocol", MINIMAL], ["status", "--review",
                                                                    str(folder)]):
        out = run(*command, code=2)
        assert "is empty (0 bytes)" in out and "can be deleted" in out, out
        assert (folder / "review.db").read_bytes() == b"", "the empty file was written to"
    (folder / "review.db").unlink()
    assert "created review" in run("init", str(folder), "--protocol", MINIMAL)


@pytest.mark.parametrize("made_beforehand", [False, True])
def test_an_offline_copy_cut_short_leaves_no_folder_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, made_beforehand: bool) -> None:
    """export-reviewer interrupted (Ctrl-C, full disk) while it writes the copy: no
    half-made copy that the next export-reviewer refuses as 'already exists'."""
    loc = ["--review", str(tmp_path / "rev")]
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    copy = tmp_path / "copy"
    if made_beforehand:
        copy.mkdir()

    def fail(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(repo, "load_review_tables", fail)
    result = CliRunner().invoke(main, ["export-reviewer", str(copy), "--reviewer", "ann", *loc])
    assert result.exit_code != 0
    assert (list(copy.iterdir()) == []) if made_beforehand else not copy.exists()
    monkeypatch.undo()
    assert f"wrote {copy}" in run("export-reviewer", str(copy), "--reviewer", "ann", *loc)
    assert "merged 0 new decisions" in run("merge", str(copy), *loc)


@pytest.mark.parametrize("undo", [[], ["--undo"]])
def test_not_retrieved_names_a_record_id_the_review_does_not_have(
        tmp_path: Path, db_url: str | None, loc: list[str], undo: list[str]) -> None:
    """A mistyped id is named as such, not as a record that 'did not pass title/abstract
    screening' or 'is not marked not retrieved'."""
    before = counts(tmp_path, db_url)
    out = run("not-retrieved", "999", *undo, *loc, code=2)
    assert "no record with id 999 in this review" in out, out
    assert counts(tmp_path, db_url) == before


def test_review_given_as_its_database_file_names_the_folder(tmp_path: Path) -> None:
    """`--review rev/review.db` (the file, not its folder) says which folder to give; it
    said 'no such folder: rev/review.db', of a file that is there."""
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    for given in ("review.db", "protocol.yaml"):
        out = run("status", "--review", str(tmp_path / "rev" / given), code=2)
        assert "is a file, not a review folder" in out and "no such folder" not in out, out
        assert f"(--review {tmp_path / 'rev'})" in out
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    out = run("status", "--review", str(tmp_path / "notes.txt"), code=2)
    assert "is a file, not a review folder" in out and "(--review" not in out, out


def test_init_with_a_sqlite_url_in_a_missing_folder_says_the_folder_is_missing(
        tmp_path: Path) -> None:
    """It said the folder was read-only."""
    url = f"sqlite:///{tmp_path}/missing/dir/x.db"
    out = run("init", str(tmp_path / "rev"), "--protocol", MINIMAL, "--db", url, code=2)
    assert f"no such folder: {tmp_path}/missing/dir" in out and "read-only" not in out, out
    assert not (tmp_path / "rev").exists()


@pytest.mark.parametrize(("url", "code"), [
    ("postgresql://ann:hun@ter2@127.0.0.1:9/db", 2),        # an '@' in the password, not encoded
    ("postgresql://ann@127.0.0.1:9/db?password=hunter2", 75),  # libpq's; no server there
])
def test_a_password_in_any_part_of_the_url_is_never_printed(tmp_path: Path, url: str,
                                                            code: int) -> None:
    # 'hun@ter2' was split at its '@': 'ter2@127.0.0.1' became the host and was printed
    # (by screener and in the driver's 'failed to resolve host'); ?password= was printed whole
    for args in (["status", "--db", url],
                 ["init", str(tmp_path / "r"), "--protocol", MINIMAL, "--db", url]):
        out = run(*args, code=code)
        assert "ter2" not in out and "***" in out
    assert not (tmp_path / "r").exists()


def test_an_at_sign_in_a_url_password_is_explained() -> None:
    out = run("status", "--db", "postgresql://ann:hun@ter2@127.0.0.1:9/db", code=2)
    assert "cannot read the database URL" in out and "%40" in out


@pytest.mark.parametrize("url", [
    "postgresql://ann:p@ss/w@rd@127.0.0.1:9/db",   # read as host 'ss', database 'w@rd@127...'
    "postgresql://ann:p@ss:w@rd@127.0.0.1:9/db",   # not read at all: the generic message
])
def test_two_at_signs_with_a_slash_or_colon_in_a_password_are_explained(url: str) -> None:
    # the first one tried to connect to the host 'ss' and printed 'ss/w%40rd%40127.0.0.1'
    out = run("status", "--db", url, code=2)
    assert "it holds more than one '@'" in out and "%40" in out
    assert "'/' as %2F" in out and "':' as %3A" in out and "'%' as %25" in out
    assert "'postgresql://ann:***@127.0.0.1:9/db'" in out      # the password hidden, whole
    assert not any(part in out for part in ("ss/", "ss:", "w@rd", "w%40rd"))


@pytest.mark.postgres
def test_a_postgresql_database_not_created_yet_is_named_with_how_to_create_it(
        tmp_path: Path, pg_url: str) -> None:
    # the README's `init --db` does not create the database; the message only said "check
    # the host, port, user and database name", as if the name were wrong
    missing = pg_url.rsplit("/", 1)[0] + "/ketamine_review"
    for args in (["init", str(tmp_path / "r"), "--protocol", MINIMAL, "--db", missing],
                 ["status", "--db", missing]):
        out = run(*args, code=2)
        assert 'database "ketamine_review" does not exist' in out
        assert "createdb" in out and "ketamine_review" in out.split("createdb", 1)[1]
        # and that a review may have a schema of its own instead (README: PostgreSQL)
        assert "CREATE SCHEMA" in out and "options=-csearch_path%3D" in out, out
    assert not (tmp_path / "r").exists()


@pytest.mark.postgres
def test_another_applications_database_is_named_as_such_and_left_as_it_was(
        tmp_path: Path, pg_url: str) -> None:
    """A database holding a table `records` said 'holds no review; create one with init',
    and init then failed on 'relation records already exists'; one holding only `users`
    took screener's tables beside it without a word."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE records (id int); CREATE TABLE users (id int)")
    for args in (["status", "--db", pg_url],
                 ["init", str(tmp_path / "r"), "--protocol", MINIMAL, "--db", pg_url]):
        out = run(*args, code=2)
        assert "holds no review but another application's tables (records, users)" in out
        assert "a database of its own" in out
    assert not (tmp_path / "r").exists()
    with psycopg.connect(pg_url) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert tables == {"records", "users"}


def test_a_database_url_without_a_database_or_empty_is_refused() -> None:
    out = run("status", "--db", "postgresql://ann@127.0.0.1:9/", code=2)
    assert "names no database: end it with /DBNAME" in out and "createdb" not in out
    out = run("status", "--db", "", code=2)  # it fell back to the current folder
    assert "an empty database URL was given" in out


def test_a_bad_url_from_screener_db_names_screener_db(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    # SCREENER_DB=" " said "Invalid value for '--db'" to a user who typed no --db
    monkeypatch.setenv("SCREENER_DB", " ")
    out = run("status", code=2)
    assert "Invalid value for SCREENER_DB" in out and "'--db'" not in out
    assert "unset SCREENER_DB" in out
    monkeypatch.setenv("SCREENER_DB", "not a url")
    for args in (["status"], ["init", str(tmp_path / "rev"), "--protocol", MINIMAL]):
        out = run(*args, code=2)
        assert "cannot read the database URL 'not a url'" in out
        assert "the URL is the SCREENER_DB environment variable's" in out
    monkeypatch.delenv("SCREENER_DB")
    out = run("status", "--db", "not a url", code=2)  # typed: no word of the variable
    assert "cannot read the database URL" in out and "SCREENER_DB" not in out


def test_a_server_that_refuses_the_connection_is_not_running_exit_75(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # it exited 2 (bad input) with "Check the host, port, user and database name"
    out = run("status", "--db", "postgresql://ann:secret@127.0.0.1:9/db", code=75)
    assert ("cannot connect to postgresql://ann:***@127.0.0.1:9/db: the PostgreSQL server at "
            "127.0.0.1:9 refused the connection") in out and "secret" not in out
    assert "start it" in out and "check the host and port" in out
    assert "user and database name" not in out
    monkeypatch.setenv("SCREENER_DB", "postgresql://ann@127.0.0.1:9/db")
    out = run("status", code=75)                      # no fault of the URL's: not "unset it"
    assert "refused the connection" in out and "SCREENER_DB" not in out
    out = run("init", str(tmp_path / "r"), "--protocol", MINIMAL, code=75)
    assert "refused the connection" in out and not (tmp_path / "r").exists()


@pytest.mark.postgres
def test_a_role_out_of_connections_is_told_to_close_sessions_exit_75(pg_url: str) -> None:
    import uuid

    import psycopg

    role = "lim_" + uuid.uuid4().hex[:8]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0")
    try:
        out = run("status", "--db", f"postgresql://{role}@{pg_url.split('@', 1)[1]}", code=75)
        assert "has no connection left for this account" in out
        assert "Close other sessions" in out and "CONNECTION LIMIT" in out
        assert "user and database name" not in out
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"DROP ROLE {role}")


@pytest.mark.postgres
@pytest.mark.parametrize(("sslmode", "said"), [
    ("bogus", "sslmode in the URL must be one of disable, allow, prefer, require"),
    ("require", "Check sslmode in the URL: require, verify-ca and verify-full need a server "
                "with SSL on"),                      # (the test server has no SSL)
])
def test_an_sslmode_the_server_cannot_meet_is_named(pg_url: str, sslmode: str,
                                                    said: str) -> None:
    out = run("status", "--db", f"{pg_url}?sslmode={sslmode}", code=2)
    assert said in out and "user and database name" not in out


@pytest.mark.parametrize("value", ["abc", "0", "-5", "2.5"])
def test_a_connect_timeout_that_is_no_number_of_seconds_is_named(
        monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    # SCREENER_PG_CONNECT_TIMEOUT=abc ended in a ValueError traceback
    monkeypatch.setenv("SCREENER_PG_CONNECT_TIMEOUT", value)
    out = run("status", "--db", "postgresql://ann@127.0.0.1:9/db", code=2)
    assert f"SCREENER_PG_CONNECT_TIMEOUT={value!r} is not a number of seconds" in out
    assert "cannot connect" not in out


def test_a_wrong_postgresql_password_points_at_the_password() -> None:
    # the test server trusts every local connection, so the server's words are given here
    from screener.storage import connection_hint

    said = 'connection failed: FATAL:  password authentication failed for user "ann"'
    assert "~/.pgpass" in connection_hint(said, "postgresql://ann@127.0.0.1:9/db")
    # 'pa%41ss' in a URL is sent as 'paAss': the hint says how to write a '%'
    assert "a '%' as %25" in connection_hint(said, "postgresql://ann@127.0.0.1:9/db")


@pytest.mark.postgres
def test_a_postgresql_review_is_named_by_the_url_a_user_writes(tmp_path: Path,
                                                               pg_url: str) -> None:
    # init and status printed postgresql+psycopg://..., which psql and createdb refuse
    out = run("init", str(tmp_path / "r"), "--protocol", MINIMAL, "--db", pg_url)
    assert f"created review 'My systematic review' at {pg_url}" in out
    assert f"review: {pg_url} " in run("status", "--db", pg_url)
    out = run("status", "--db", pg_url.rsplit("/", 1)[0] + "/not_made", code=2)
    assert "postgresql+psycopg" not in out


@pytest.mark.parametrize("threshold", ["0.05", "0.001", "0", "-1", "1.5"])
def test_a_dedup_threshold_out_of_range_is_one_message(tmp_path: Path, db_url: str | None,
                                                       loc: list[str], threshold: str) -> None:
    """0.05 crashed in rapidfuzz (a negative cut-off) with a traceback."""
    before = counts(tmp_path, db_url)
    out = run("dedup", *loc, "--threshold", threshold, code=2)
    assert f"--threshold must be from 0.5 to 1 (got {float(threshold)})" in out, out
    assert "default is 0.85" in out
    assert counts(tmp_path, db_url) == before
    run("dedup", *loc, "--threshold", "0.5")  # the lowest it takes runs


LATIN1 = "J\udce9"
""""Jé" typed in a Latin-1 terminal: the byte 0xe9, not UTF-8, as Python hands it over."""


def _refused_as_not_utf8(out: str, where: str, shown: str = "J\\xe9") -> bool:
    return (f"{where} '{shown}' is not UTF-8" in out and "LANG=C.UTF-8" in out
            and "nothing was written" in out)


@pytest.mark.parametrize(("args", "where"), [
    (["next", "--reviewer", LATIN1, "--new-reviewer"], "--reviewer"),
    (["decide", "1", "--reviewer", LATIN1, "--label", "include", "--new-reviewer"],
     "--reviewer"),
    (["decide", "1", "--reviewer", "ann", "--label", "include", "--new-reviewer",
      "--note", LATIN1], "--note"),
    (["allocate", "--reviewers", f"ann,{LATIN1}", "--new-reviewer"], "--reviewers"),
    (["reassign", "--from", "ann", "--to", LATIN1], "--to"),
    (["withdraw-import", "1", "--reason", LATIN1], "--reason"),
    (["correct-import", "1", "--reason", LATIN1, "--source", "Embase"], "--reason"),
    (["protocol", "amend", MINIMAL, "--reason", LATIN1], "--reason"),
])
def test_text_that_is_not_utf8_is_refused_and_nothing_is_stored(
        tmp_path: Path, db_url: str | None, loc: list[str], args: list[str], where: str) -> None:
    # it reached the database and failed there: a UnicodeEncodeError traceback, exit 1
    before = counts(tmp_path, db_url)
    out = run(*args, *loc, code=2)
    shown = "ann,J\\xe9" if where == "--reviewers" else "J\\xe9"
    assert _refused_as_not_utf8(out, where, shown), out
    assert counts(tmp_path, db_url) == before
    with open_review(tmp_path / "rev", db_url) as review, review.read() as s:
        assert repo.reviewers(s) == []


def test_an_import_source_that_is_not_utf8_is_refused(tmp_path: Path, db_url: str | None,
                                                      loc: list[str]) -> None:
    ris = REPO / "tests" / "data" / "formats" / "ris" / "asreview_baseline_tag-notes_labels.ris"
    with open_review(tmp_path / "rev", db_url) as review, review.read() as s:
        records = repo.count_records(s)
    out = run("import", str(ris), "--source", f"Emb{LATIN1[1:]}se", *loc, code=2)
    assert _refused_as_not_utf8(out, "--source", "Emb\\xe9se"), out
    out = run("import", str(ris), "--source", "Embase", "--query", f"caf{LATIN1[1:]}", *loc,
              code=2)
    assert _refused_as_not_utf8(out, "--query", "caf\\xe9"), out
    with open_review(tmp_path / "rev", db_url) as review, review.read() as s:
        assert repo.count_records(s) == records


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[
        tuple[tuple[str, ...], click.Command]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def _is_text(param: click.Parameter) -> bool:
    return isinstance(param.type, click.types.StringParamType) and not getattr(
        param, "is_flag", False)


def _filled(param: click.Parameter, value: str) -> list[str]:
    """The command line that gives `param` the value."""
    return [param.opts[0], value] if isinstance(param, click.Option) else [value]


def _valid(param: click.Parameter, existing: Path) -> str:
    if isinstance(param.type, click.Path):
        return str(existing)
    if isinstance(param.type, click.Choice):
        return str(param.type.choices[0])
    if isinstance(param.type, click.types.IntParamType):
        return "1"
    return "ann"


TEXT_PARAMS = [(path, param.name) for path, command in _commands(main)
               for param in command.params if _is_text(param)]


@pytest.mark.parametrize(("path", "name"), TEXT_PARAMS,
                         ids=[f"{' '.join(path)}-{name}" for path, name in TEXT_PARAMS])
def test_every_text_option_of_every_command_refuses_text_that_is_not_utf8(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: tuple[str, ...],
        name: str) -> None:
    monkeypatch.chdir(tmp_path)
    existing = tmp_path / "file.txt"
    existing.write_text("x", encoding="utf-8")
    command = main
    for part in path:
        command = command.commands[part]  # type: ignore[attr-defined]
    args: list[str] = list(path)
    for param in command.params:
        if param.name == name:
            args += _filled(param, f"a{LATIN1[1:]}")
            where = ("/".join(param.opts) if isinstance(param, click.Option)
                     else param.human_readable_name)
        elif param.required:
            args += _filled(param, _valid(param, existing))
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert _refused_as_not_utf8(result.output, where, "a\\xe9"), result.output
