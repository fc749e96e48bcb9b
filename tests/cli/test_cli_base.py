"""CLI: init, status, protocol, db, next and decide, asserting on the database; bad input."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from screener.cli import main
from screener.core.decisions import Label, Stage
from screener.core.records import Record
from screener.storage import repo
from screener.workflow.review import open_review

REPO = Path(__file__).resolve().parents[2]
MINIMAL = str(REPO / "protocols" / "minimal.yaml")


def run(*args: str, ok: bool = True) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result.exit_code, result.output


def where(tmp_path: Path, db_url: str | None) -> list[str]:
    return ["--db", db_url] if db_url else ["--review", str(tmp_path / "rev")]


def seed(tmp_path: Path, db_url: str | None, n: int = 3) -> list[int]:
    """n records imported as a PubMed search (through the workflow: with its event)."""
    from screener.workflow.importing import import_records

    with open_review(tmp_path / "rev", db_url) as review:
        summary = import_records(review, [Record(title=f"Trial {i}", abstract="a")
                                          for i in range(n)], source="PubMed", kind="database")
        with review.read() as s:
            return sorted(i for i, src in repo.record_sources(s).items()
                          if src == summary.source_id)


def two_trials_imported(tmp_path: Path) -> str:
    """A review folder holding two records imported from a CSV file with the CLI (so the
    import has its event): its path."""
    rev = str(tmp_path / "rev")
    run("init", rev, "--protocol", MINIMAL)
    (tmp_path / "a.csv").write_text("title,abstract\nOne trial,x\nTwo trial,y\n",
                                    encoding="utf-8")
    run("import", str(tmp_path / "a.csv"), "--review", rev)
    return rev


def test_init_then_status_json(tmp_path: Path, db_url: str | None) -> None:
    args = ["init", str(tmp_path / "rev"), "--protocol", MINIMAL]
    run(*args, *(["--db", db_url] if db_url else []))
    assert (tmp_path / "rev" / "protocol.yaml").read_text() == Path(MINIMAL).read_text()
    seed(tmp_path, db_url)
    _, out = run("status", "--json", *where(tmp_path, db_url))
    data = json.loads(out)
    assert data["records_total"] == 3 and data["duplicates_removed"] == 0
    assert data["records_unique"] == 3
    assert data["sources"][0] | {} == data["sources"][0]
    assert [(s["name"], s["kind"], s["records"]) for s in data["sources"]] == [("PubMed", "database", 3)]
    assert data["decisions"] == []


def test_next_and_decide(tmp_path: Path, db_url: str | None) -> None:
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL, *(["--db", db_url] if db_url else []))
    ids = seed(tmp_path, db_url, 2)
    loc = where(tmp_path, db_url)
    _, out = run("next", "--reviewer", "ann", "--json", *loc)
    first = json.loads(out)
    assert first["record_id"] == ids[0] and first["title"] == "Trial 0" and first["abstract"] == "a"
    run("decide", str(ids[0]), "--reviewer", "ann", "--label", "exclude", "--reason",
        "population", "--note", "kids", *loc)
    _, out = run("next", "--reviewer", "ann", "--json", *loc)
    assert json.loads(out)["record_id"] == ids[1]
    run("decide", str(ids[1]), "--reviewer", "ann", "--label", "include", *loc)
    _, out = run("next", "--reviewer", "ann", "--json", *loc)
    assert out.strip() == "null"
    with open_review(tmp_path / "rev", db_url) as review, review.transaction() as s:
        got = [(d.record_id, d.label, d.reason_id, d.note) for d in repo.current_decisions(s)]
    assert got == [(ids[0], Label.EXCLUDE, "population", "kids"), (ids[1], Label.INCLUDE, None, "")]
    _, out = run("status", "--json", *loc)
    assert {(d["label"], d["count"]) for d in json.loads(out)["decisions"]} == {
        ("exclude", 1), ("include", 1)}


def test_next_prints_record_text_without_bidi_controls(tmp_path: Path) -> None:
    """The UI never draws a RIGHT-TO-LEFT OVERRIDE in a title (the text after it would
    show reversed), but `next` printed it raw, and an empty title as nothing. The JSON
    keeps the stored text."""
    from screener.workflow.importing import import_records

    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    with open_review(tmp_path / "rev", None) as review:
        import_records(review, [Record(title="Left \u202eoverride\u202c text",
                                       abstract="An \u2067isolate\u2069 here"),
                                Record(title="", abstract="No title at all")],
                       source="PubMed", kind="database")
    loc = where(tmp_path, None)
    _, out = run("next", "--reviewer", "ann", *loc)
    assert "Left override text" in out and "An isolate here" in out
    assert not set(out) & set("\u202e\u202c\u2067\u2069")
    _, data = run("next", "--reviewer", "ann", "--json", *loc)
    first = json.loads(data)
    assert first["title"] == "Left \u202eoverride\u202c text"
    run("decide", str(first["record_id"]), "--reviewer", "ann", "--label", "include", *loc)
    _, out = run("next", "--reviewer", "ann", *loc)
    assert "(no title)" in out.splitlines()[0]


def test_a_full_text_not_retrieved_from_the_command_line(tmp_path: Path) -> None:
    # scripted reviews need the PRISMA box "reports not retrieved" too (the UI has r)
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    ids = seed(tmp_path, None, 3)
    loc = where(tmp_path, None)
    for rid in ids:
        run("decide", str(rid), "--reviewer", "ann", "--label", "include", *loc)
    run("not-retrieved", str(ids[0]), *loc)
    run("decide", str(ids[1]), "--reviewer", "ann", "--label", "include", "--stage",
        "full_text", *loc)
    prisma = json.loads(run("status", "--json", *loc)[1])["prisma"]
    assert (prisma["reports_sought"], prisma["reports_not_retrieved"],
            prisma["reports_assessed"]) == (3, 1, 1)
    code, out = run("not-retrieved", str(ids[1]), *loc, ok=False)
    assert code == 2 and "has been assessed" in out
    # the full-text list says which report was not retrieved (it looked unassessed)
    run("export", "records", "--label", "all", "--stage", "full_text", "--format", "csv",
        "--out", str(tmp_path / "ft.csv"), *loc)
    with (tmp_path / "ft.csv").open(encoding="utf-8", newline="") as handle:
        rows = {int(r["id"]): (r["decision"], r["reason"]) for r in csv.DictReader(handle)}
    assert rows == {ids[0]: ("", "report not retrieved"), ids[1]: ("include", ""),
                    ids[2]: ("", "")}
    code, out = run("decide", str(ids[0]), "--reviewer", "ann", "--label", "include",
                    "--stage", "full_text", *loc, ok=False)
    assert code == 2  # a report not retrieved has no full-text stage
    run("not-retrieved", str(ids[0]), "--undo", *loc)
    assert json.loads(run("status", "--json", *loc)[1])["prisma"]["reports_not_retrieved"] == 0


def test_decide_records_the_ranking_that_next_printed(tmp_path: Path) -> None:
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    ids = seed(tmp_path, None, 3)
    loc = where(tmp_path, None)
    run("rank", "--reviewer", "ann", *loc)
    _, out = run("next", "--reviewer", "ann", "--json", *loc)
    shown = json.loads(out)
    assert shown["ranking_id"] is not None and shown["rank_position"] == 1
    code, out = run("decide", str(shown["record_id"]), "--reviewer", "ann", "--label",
                    "include", "--ranking-id", "9999", *loc, ok=False)
    assert code == 2 and "no ranking with id 9999" in out
    run("decide", str(shown["record_id"]), "--reviewer", "ann", "--label", "include",
        "--ranking-id", str(shown["ranking_id"]), "--rank-position", "1", *loc)
    with open_review(tmp_path / "rev") as review, review.transaction() as s:
        (d,) = repo.current_decisions(s)
    assert (d.record_id, d.ranking_id, d.rank_position) == (
        shown["record_id"], shown["ranking_id"], 1)
    assert d.record_id in ids


@pytest.mark.parametrize(("position", "ranking", "fragment"), [
    # 3 records ranked: a fifth place (or the 5000th of 882) is not one it gave
    ("5", "shown", "--rank-position 5 is not a place in ranking"),
    ("5000", "shown", "it put 3 records in order"),
    # a position without the ranking it is a place in
    ("1", None, "--rank-position needs --ranking-id"),
])
def test_decide_refuses_a_rank_position_the_ranking_never_gave(
        tmp_path: Path, position: str, ranking: str | None, fragment: str) -> None:
    # the log (rank_shown) and the methods text would credit the ranking with it
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    seed(tmp_path, None, 3)
    loc = where(tmp_path, None)
    run("rank", "--reviewer", "ann", *loc)
    shown = json.loads(run("next", "--reviewer", "ann", "--json", *loc)[1])
    with_ranking = ["--ranking-id", str(shown["ranking_id"])] if ranking else []
    code, out = run("decide", str(shown["record_id"]), "--reviewer", "ann", "--label",
                    "include", *with_ranking, "--rank-position", position, *loc, ok=False)
    assert code == 2 and fragment in out and out.count("\n") == 1, out
    with open_review(tmp_path / "rev") as review, review.transaction() as s:
        assert repo.current_decisions(s) == []


@pytest.mark.parametrize("position", ["1", "5000"])
def test_decide_refuses_another_reviewers_ranking_in_blind_screening(
        tmp_path: Path, position: str) -> None:
    # bob could cite ann's ranking: the log credited it with his decision, and a place
    # beyond it was refused with how many records ann still had to screen
    run("init", str(tmp_path / "rev"), "--protocol", str(REPO / "protocols" /
                                                         "dual-screening.yaml"))
    seed(tmp_path, None, 3)
    loc = where(tmp_path, None)
    run("rank", "--reviewer", "ann", *loc)
    run("rank", "--reviewer", "bob", "--new-reviewer", *loc)
    anns = json.loads(run("next", "--reviewer", "ann", "--json", *loc)[1])
    bobs = json.loads(run("next", "--reviewer", "bob", "--json", *loc)[1])
    assert anns["ranking_id"] != bobs["ranking_id"]
    code, out = run("decide", str(bobs["record_id"]), "--reviewer", "bob", "--label",
                    "include", "--ranking-id", str(anns["ranking_id"]), "--rank-position",
                    position, *loc, ok=False)
    assert code == 2 and out.count("\n") == 1, out
    assert f"ranking {anns['ranking_id']} is not bob's" in out and "in order" not in out
    assert "`screener next --reviewer bob --json`" in out
    with open_review(tmp_path / "rev") as review, review.transaction() as s:
        assert repo.current_decisions(s) == []
    run("decide", str(bobs["record_id"]), "--reviewer", "bob", "--label", "include",
        "--ranking-id", str(bobs["ranking_id"]), "--rank-position", "1", *loc)


def test_decide_refuses_a_ranking_of_another_stage(tmp_path: Path) -> None:
    # a title/abstract ranking did not show the report at full text
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    seed(tmp_path, None, 3)
    loc = where(tmp_path, None)
    run("rank", "--reviewer", "ann", *loc)
    shown = json.loads(run("next", "--reviewer", "ann", "--json", *loc)[1])
    rid, ranking = str(shown["record_id"]), str(shown["ranking_id"])
    run("decide", rid, "--reviewer", "ann", "--label", "include", "--ranking-id", ranking,
        "--rank-position", "1", *loc)
    code, out = run("decide", rid, "--reviewer", "ann", "--label", "include", "--stage",
                    "full_text", "--ranking-id", ranking, *loc, ok=False)
    assert code == 2 and "ordered the records for title_abstract, not full_text" in out, out
    with open_review(tmp_path / "rev") as review, review.transaction() as s:
        assert repo.current_decisions(s, Stage.FULL_TEXT) == []


def test_protocol_amend_adds_version(tmp_path: Path) -> None:
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    amended = tmp_path / "p2.yaml"
    amended.write_text(Path(MINIMAL).read_text() + "  - {id: lang, label: Not English, key: \"8\"}\n")
    code, out = run("protocol", "amend", str(amended), "--review", str(tmp_path / "rev"), ok=False)
    assert code == 2 and "--reason" in out
    run("protocol", "amend", str(amended), "--reason", "add language reason", "--review",
        str(tmp_path / "rev"))
    with open_review(tmp_path / "rev") as review, review.transaction() as s:
        versions = repo.protocol_versions(s)
        assert [(v, reason) for v, _, reason, _ in versions] == [
            (1, "initial protocol"), (2, "add language reason")]
        assert review.protocol.reason("lang") is not None


def test_protocol_show_writes_any_version_as_it_was_hashed(tmp_path: Path) -> None:
    """An earlier protocol version could not be published: the review kept only the
    current protocol.yaml, and no command wrote a stored version. `protocol show --version
    N` writes it byte for byte as hashed, so its sha256 is the one printed for it (here a
    protocol saved with a BOM and CRLF, stored without them)."""
    import hashlib

    rev = str(tmp_path / "rev")
    windows = tmp_path / "p1.yaml"
    windows.write_bytes(b"\xef\xbb\xbf" + Path(MINIMAL).read_bytes().replace(b"\n", b"\r\n"))
    first = run("init", rev, "--protocol", str(windows))[1]
    amended = tmp_path / "p2.yaml"
    amended.write_text(Path(MINIMAL).read_text() + "  - {id: lang, label: Not English, key: \"8\"}\n")
    run("protocol", "amend", str(amended), "--reason", "add language reason", "--review", rev)
    current = json.loads(run("status", "--json", "--review", rev)[1])["protocol_sha256"]

    def shown(*version: str) -> bytes:
        result = CliRunner().invoke(main, ["protocol", "show", *version, "--review", rev])
        assert result.exit_code == 0, result.output
        return result.stdout_bytes

    assert f"sha256 {hashlib.sha256(shown('--version', '1')).hexdigest()}" in first
    assert shown("--version", "1") == Path(MINIMAL).read_bytes()
    assert hashlib.sha256(shown("--version", "2")).hexdigest() == current
    assert shown() == shown("--version", "2") == amended.read_bytes()
    code, out = run("protocol", "show", "--version", "3", "--review", rev, ok=False)
    assert code == 2 and "the review has protocol versions 1-2" in out


def test_amending_the_reviews_own_protocol_copy_edited_in_place(tmp_path: Path) -> None:
    rev = tmp_path / "rev"
    run("init", str(rev), "--protocol", MINIMAL)
    copy = rev / "protocol.yaml"
    copy.write_text(copy.read_text() + "  - {id: lang, label: Not English, key: \"8\"}\n")
    code, out = run("protocol", "amend", str(copy), "--reason", "add language reason",
                    "--review", str(rev), ok=False)
    assert code == 0 and "Traceback" not in out, out          # was shutil.SameFileError
    with open_review(rev) as review, review.transaction() as s:
        assert [v for v, *_ in repo.protocol_versions(s)] == [1, 2]   # one version, not two
    assert "lang" in copy.read_text()


def _amend_killed_before_the_copy(tmp_path: Path) -> tuple[Path, bytes, bytes]:
    """A review whose `protocol amend` to version 2 was killed between its two steps: v2
    recorded and staged beside protocol.yaml, v1 still there. (The folder, then v1's and
    v2's bytes.)"""
    rev = tmp_path / "rev"
    run("init", str(rev), "--protocol", MINIMAL)
    copy = rev / "protocol.yaml"
    first = copy.read_bytes()
    amended = tmp_path / "p2.yaml"
    amended.write_text(copy.read_text() + "  - {id: lang, label: Not English, key: \"8\"}\n")
    run("protocol", "amend", str(amended), "--reason", "add language reason", "--review",
        str(rev))
    second = copy.read_bytes()
    (rev / ".protocol.yaml.amending").write_bytes(second)
    copy.write_bytes(first)
    return rev, first, second


def test_a_protocol_copy_a_killed_amend_left_behind_is_put_right_by_the_next_command(
        tmp_path: Path) -> None:
    """A `protocol amend` killed after it recorded the new version and before it renamed it
    onto the folder's protocol.yaml left the earlier version there: status and report said
    nothing, `sha256sum protocol.yaml` no longer gave the hash the report prints, and a
    team member editing that copy for the next amendment would undo the last one. The next
    command that opens the review puts the version in force there, with a note; a copy the
    review never stored (the next amendment being written) is left alone."""
    import hashlib

    rev, first, second = _amend_killed_before_the_copy(tmp_path)
    copy = rev / "protocol.yaml"
    _, out = run("status", "--review", str(rev))
    assert (f"note: {copy} was protocol version 1, not version 2, the one in force (left by "
            "a `protocol amend` stopped before it replaced the copy): it is version 2 "
            "again") in out, out
    assert copy.read_bytes() == second
    _, out = run("report", "--review", str(rev), "--out", str(tmp_path / "report.md"))
    assert "protocol version 1" not in out
    assert hashlib.sha256(second).hexdigest()[:12] in (tmp_path / "report.md").read_text()
    # the next amendment being written in place: not a stored version, left as it is
    copy.write_bytes(first + b"# to amend: a new reason\n")
    _, out = run("status", "--review", str(rev))
    assert "protocol.yaml was" not in out and copy.read_bytes().endswith(b"new reason\n")


def test_an_earlier_version_written_onto_the_copy_is_amended_back_not_put_right(
        tmp_path: Path) -> None:
    """Going back to version 1 in place (`protocol show --version 1 > protocol.yaml`, then
    `protocol amend protocol.yaml`) with version 2 in force: the repair of a killed amend's
    copy ran first, said the file "was left by a `protocol amend` stopped before it
    replaced the copy", overwrote it with version 2, and amend then refused it as the
    protocol already in force, exit 2. amend reads the file as given, and a copy written
    after the version in force was recorded is left alone by every command; one older
    than it, with no staged copy left (a power cut), is still put right."""
    import os
    import time

    from screener.workflow.review import protocol_version_text

    rev, first, second = _amend_killed_before_the_copy(tmp_path)
    copy = rev / "protocol.yaml"
    (rev / ".protocol.yaml.amending").unlink()   # the user's doing, not a killed amend
    copy.write_bytes(first)   # as `protocol show --version 1 > protocol.yaml` writes it
    later = time.time() + 60   # written after version 2 was recorded (the file system's
    os.utime(copy, (later, later))  # clock may lag by a tick: set, not left to it)
    _, out = run("status", "--review", str(rev))
    assert copy.read_bytes() == first and "stopped before it replaced" not in out
    assert (f"note: {copy} is protocol version 1, not version 2, the one in force: to go "
            f"back to version 1, `screener protocol amend --review {rev} {copy} --reason "
            "...`") in out
    code, out = run("protocol", "amend", str(copy), "--reason", "revert to v1", "--review",
                    str(rev), ok=False)
    assert code == 0 and "protocol version 3 recorded" in out, out
    assert "stopped before it replaced" not in out
    assert "warning: this version takes back what version 2 changed from version 1" in out
    with open_review(rev) as review:
        assert protocol_version_text(review, 3)[1].encode("utf-8") == first
    assert copy.read_bytes() == first
    # version 2 there, older than version 3, without a staged copy (a power cut): put right
    copy.write_bytes(second)
    os.utime(copy, (0, 0))
    _, out = run("status", "--review", str(rev))
    assert "was protocol version 2, not version 3" in out and copy.read_bytes() == first


@pytest.mark.parametrize("mode", [0o644, 0o640])
def test_a_protocol_copy_put_right_keeps_its_permissions(tmp_path: Path, mode: int) -> None:
    """The copy a killed amend left behind was put right as a file only its owner could
    read (0600, the temporary file's), so teammates sharing the folder lost the protocol.
    It keeps the permissions it had."""
    import stat

    rev, _, second = _amend_killed_before_the_copy(tmp_path)
    copy = rev / "protocol.yaml"
    copy.chmod(mode)
    _, out = run("status", "--review", str(rev))
    assert "it is version 2 again" in out and copy.read_bytes() == second
    assert stat.S_IMODE(copy.stat().st_mode) == mode


def test_a_protocol_copy_edited_by_hand_or_deleted_is_told_by_status_and_report(
        tmp_path: Path) -> None:
    """The folder's protocol.yaml changed with sed (a reason relabelled) or deleted: status,
    its JSON and the report went on with the stored version and said nothing, so the
    copy a reader opens (and `sha256sum protocol.yaml`) no longer matched the protocol in
    force. They say so now, and what to do either way; the copy is left as it is."""
    rev = tmp_path / "rev"
    run("init", str(rev), "--protocol", MINIMAL)
    copy = rev / "protocol.yaml"
    _, out = run("status", "--review", str(rev))
    assert "note:" not in out
    edited = copy.read_text().replace("Wrong population", "Wrong patients", 1)
    assert edited != copy.read_text()
    copy.write_text(edited)
    _, out = run("status", "--review", str(rev))
    said = (f"note: {copy} differs from protocol version 1, the one in force (edited by "
            f"hand?): to make it the protocol, `screener protocol amend --review {rev} {copy} "
            f"--reason ...`; to restore it, `screener protocol show --review {rev} > {copy}`")
    assert said in out, out
    _, out = run("status", "--review", str(rev), "--json")
    assert json.loads(out)["protocol_copy_note"] == said.removeprefix("note: ")
    run("report", "--review", str(rev), "--out", str(tmp_path / "report.md"))
    assert said.removeprefix("note: ") in (tmp_path / "report.md").read_text()
    assert copy.read_text() == edited
    copy.unlink()
    _, out = run("status", "--review", str(rev))
    assert (f"note: {copy} is missing from the review folder (protocol version 1 is in "
            f"force): to restore it, `screener protocol show --review {rev} > {copy}`") in out
    # restored as the note says: nothing to tell
    _, shown = run("protocol", "show", "--review", str(rev))
    copy.write_text(shown, encoding="utf-8", newline="")
    _, out = run("status", "--review", str(rev), "--json")
    assert json.loads(out)["protocol_copy_note"] == ""


def test_amending_an_old_copy_warns_of_what_it_takes_back_and_prints_the_sha256(
        tmp_path: Path) -> None:
    """A copy of version 1 kept aside, edited and amended after version 2 recorded version 3
    without version 2's reason, and no word: the amendment silently undid the one before.
    It now warns, naming what it takes back; and amend prints the new version's sha256 as
    init does, so `sha256sum protocol.yaml` can be checked against it."""
    import hashlib

    rev = tmp_path / "rev"
    run("init", str(rev), "--protocol", MINIMAL)
    copy = rev / "protocol.yaml"
    old_copy = tmp_path / "mine.yaml"
    old_copy.write_bytes(copy.read_bytes())
    amended = tmp_path / "p2.yaml"
    amended.write_text(copy.read_text().replace("Wrong population", "Wrong patients", 1)
                       + "  - {id: lang, label: Not English, key: \"8\"}\n")
    result = CliRunner().invoke(main, ["protocol", "amend", str(amended), "--reason", "lang",
                                       "--review", str(rev)])
    assert result.exit_code == 0 and "takes back" not in result.stderr, result.output
    assert (f"protocol v2 sha256 {hashlib.sha256(copy.read_bytes()).hexdigest()}"
            in result.stdout)
    # a team member's copy of version 1, its title edited
    old_copy.write_text(old_copy.read_text().replace("title: \"", "title: \"Updated - ", 1))
    result = CliRunner().invoke(main, ["protocol", "amend", str(old_copy), "--reason", "title",
                                       "--review", str(rev)])
    assert result.exit_code == 0, result.output
    assert ("warning: this version takes back what version 2 changed from version 1: it "
            "puts exclusion reason population back as it was; drops exclusion reason lang, "
            "which it added") in result.stderr, result.stderr
    assert (f"protocol v3 sha256 {hashlib.sha256(copy.read_bytes()).hexdigest()}"
            in result.stdout)
    # an amendment that keeps what version 3 changed: no warning
    copy.write_text(copy.read_text().replace("Updated - ", "Updated again - ", 1))
    result = CliRunner().invoke(main, ["protocol", "amend", str(copy), "--reason", "title",
                                       "--review", str(rev)])
    assert result.exit_code == 0 and "takes back" not in result.stderr, result.output


def test_protocol_check_and_schema(tmp_path: Path) -> None:
    _, out = run("protocol", "check", MINIMAL)
    assert "OK (2 criteria, 5 exclusion reasons, 1 reviewer per record)" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: x\ncriteria: []\nexclusion_reasons: []\nfoo: 1\n")
    code, out = run("protocol", "check", str(bad), ok=False)
    assert code == 2
    assert "line 4, foo" in out and "line 2, criteria" in out and "Traceback" not in out
    _, out = run("protocol", "schema")
    assert json.loads(out)["title"] == "screener review protocol"


@pytest.mark.parametrize(("ranking", "expected"), [
    ("ranking: {model: nonexistent-model}\n",
     ["line 18, ranking.model: unknown model 'nonexistent-model'; choose one of default, "
      "screener-lr, elas-u4"]),
    ("ranking:\n  params: {bogus_param: 1}\n",
     ["line 19, ranking.params.bogus_param: unknown model parameter 'bogus_param'; the "
      "parameters are C, "]),
    ("ranking:\n  params:\n    C: abc\n    max_iter: -5\n",
     ["line 20, ranking.params.C: model parameter 'C' must be a number, not 'abc'",
      "line 21, ranking.params.max_iter: unknown model parameter 'max_iter'"]),
    ("ranking:\n  params:\n    C: -1\n",
     ["line 20, ranking.params.C: C and include_weight must be positive"]),
])
def test_protocol_check_refuses_the_ranking_settings_rank_would_refuse(
        tmp_path: Path, ranking: str, expected: list[str]) -> None:
    protocol = tmp_path / "p.yaml"
    protocol.write_text(Path(MINIMAL).read_text() + ranking)
    for command in (["protocol", "check", str(protocol)],
                    ["init", str(tmp_path / "rev"), "--protocol", str(protocol)]):
        code, out = run(*command, ok=False)
        assert code == 2 and "Traceback" not in out
        assert f"{len(expected)} problem{'' if len(expected) == 1 else 's'}" in out
        for line in expected:
            assert f"{protocol}: {line}" in out, out
    assert not (tmp_path / "rev").exists()


def test_protocol_check_lists_every_problem_of_a_testers_file(tmp_path: Path) -> None:
    protocol = tmp_path / "p.yaml"
    protocol.write_text(Path(MINIMAL).read_text().replace("title:", "title: First\ntitle:")
                        + "keys:\n  include: e\nsearches:\n  - {source: PubMed, date: "
                        "2026-99-99}\nranking: {model: nonexistent-model}\n")
    code, out = run("protocol", "check", str(protocol), ok=False)
    assert code == 2 and "4 problems" in out and "Traceback" not in out
    assert "line 3, title: 'title' is written twice in this mapping (lines 2 and 3)" in out
    assert "line 20, keys.include: key 'e' is already the key of exclude" in out
    assert "line 22, searches[0].date: '2026-99-99' is not a date" in out
    assert "line 23, ranking.model: unknown model 'nonexistent-model'" in out


def test_protocol_check_strict_fails_on_warnings_for_ci(tmp_path: Path) -> None:
    """A pipeline that checks the protocol could not fail on a warning (exit 0 whatever
    it said); with --strict a warning fails the check (exit 2), as export prisma --strict
    refuses what it would otherwise only warn of; a protocol without warnings passes."""
    protocol = tmp_path / "p.yaml"
    protocol.write_text(Path(MINIMAL).read_text() + "stopping:\n  recall_target: 0.01\n")
    code, out = run("protocol", "check", "--strict", str(protocol), ok=False)
    assert code == 2 and "Traceback" not in out
    assert f"warning: {protocol}: line 19, stopping.recall_target: 0.01 asks for 1% " in out
    assert "--strict: 1 warning fails the check" in out
    assert f"{protocol}: OK" not in out
    _, out = run("protocol", "check", "--strict", MINIMAL)
    assert f"{MINIMAL}: OK" in out and "warning" not in out


def test_protocol_check_warns_of_stopping_settings_no_review_means(tmp_path: Path) -> None:
    """recall_target 0.01, confidence 0.01 and a run of 99999999999999 irrelevant records
    passed without a word. They stay valid (exit 0), each with a warning naming its line,
    field and why; the usual settings get none."""
    protocol = tmp_path / "p.yaml"
    protocol.write_text(Path(MINIMAL).read_text() + "stopping:\n  recall_target: 0.01\n"
                        "  confidence: 0.01\n  consecutive_irrelevant: 99999999999999\n")
    _, out = run("protocol", "check", str(protocol))
    assert f"{protocol}: OK" in out and "Traceback" not in out
    assert f"warning: {protocol}: line 19, stopping.recall_target: 0.01 asks for 1% " in out
    assert f"warning: {protocol}: line 20, stopping.confidence: 0.01 " in out
    assert f"warning: {protocol}: line 21, stopping.consecutive_irrelevant: " in out
    assert out.count("warning:") == 3
    usual = tmp_path / "usual.yaml"
    usual.write_text(Path(MINIMAL).read_text() + "stopping:\n  recall_target: 0.8\n"
                     "  confidence: 0.8\n  consecutive_irrelevant: 10000\n")
    _, out = run("protocol", "check", str(usual))
    assert "warning" not in out
    # init and protocol amend store such a protocol with the same warnings (they said nothing)
    _, out = run("init", str(tmp_path / "rev"), "--protocol", str(protocol))
    assert "created review" in out and out.count("warning:") == 3
    assert "line 19, stopping.recall_target: 0.01 asks for 1% " in out
    _, out = run("protocol", "amend", str(usual), "--reason", "usual rule", "--review",
                 str(tmp_path / "rev"))
    assert "recorded" in out and "warning" not in out
    _, out = run("protocol", "amend", str(protocol), "--reason", "back", "--review",
                 str(tmp_path / "rev"))
    # (and, as it returns to version 1's rule, that it takes back what version 2 changed)
    assert "recorded" in out and out.count("warning:") == 4
    assert ("warning: this version takes back what version 2 changed from version 1: it puts "
            "stopping recall target back as it was;") in out


def test_protocol_check_of_an_alias_bomb_is_quick_and_clear(tmp_path: Path) -> None:
    protocol = tmp_path / "bomb.yaml"
    lines = [Path(MINIMAL).read_text(), "x0: &a0 [z,z,z,z,z,z,z,z,z,z]"]
    lines += [f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    protocol.write_text("\n".join(lines) + "\n")
    for command in (["protocol", "check", str(protocol)],
                    ["init", str(tmp_path / "rev"), "--protocol", str(protocol)]):
        code, out = run(*command, ok=False)
        assert code == 2 and "1 problem in" in out and "Traceback" not in out
        assert "line 28, column 10" in out and "alias bomb" in out


def test_amend_refuses_to_drop_a_reason_or_criterion_that_decisions_cite(tmp_path: Path) -> None:
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    ids = seed(tmp_path, None, 3)
    loc = ["--review", str(tmp_path / "rev")]
    for rid in ids[:2]:
        run("decide", str(rid), "--reviewer", "a", "--label", "exclude", "--reason",
            "population", "--criterion", "E1", *loc)
    run("decide", str(ids[2]), "--reviewer", "a", "--label", "exclude", "--reason", "design",
        *loc)
    # a decision changed since no longer cites what it cited
    run("decide", str(ids[1]), "--reviewer", "a", "--label", "exclude", "--reason", "other",
        *loc)
    amended = tmp_path / "p2.yaml"
    amended.write_text(Path(MINIMAL).read_text()
                       .replace('  - {id: population, label: "Wrong population", key: "1"}\n',
                                "")
                       .replace("  - id: E1\n", "  - id: E2\n"))
    code, out = run("protocol", "amend", str(amended), "--reason", "tidy", *loc, ok=False)
    assert code == 2 and "Traceback" not in out
    assert ("drops what existing decisions cite: exclusion reason 'population' (1 decision); "
            "criterion 'E1' (1 decision)") in out
    assert "--drop-used" in out
    with open_review(tmp_path / "rev") as review, review.transaction() as s:
        assert len(repo.protocol_versions(s)) == 1
    # keeping the ids (a new label is fine) is an ordinary amendment
    relabelled = tmp_path / "p3.yaml"
    relabelled.write_text(Path(MINIMAL).read_text().replace('"Wrong population"',
                                                            '"Wrong population (adults)"'))
    run("protocol", "amend", str(relabelled), "--reason", "clearer label", *loc)
    code, out = run("protocol", "amend", str(amended), "--reason", "tidy", "--drop-used", *loc)
    assert "protocol version 3 recorded" in out
    assert ("warning: decisions still cite what this version dropped: exclusion reason "
            "'population' (1 decision); criterion 'E1' (1 decision)") in out
    with open_review(tmp_path / "rev") as review:
        assert review.protocol_version == 3 and review.protocol.reason("population") is None
    _, out = run("log", "events", *loc)        # the event log keeps what --drop-used allowed
    assert ("protocol version 3 stored" in out and "dropped although decisions cite them "
            "(--drop-used): exclusion reason 'population' (1 decision)") in out


def test_an_amendment_after_one_that_dropped_ids_is_not_refused_for_them(tmp_path: Path) -> None:
    """Once `--drop-used` let version 2 drop a cited reason, version 3 (which changes only
    the stopping rule) is an ordinary amendment: not refused, no warning, and its event does
    not claim it dropped what version 2 did."""
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    ids = seed(tmp_path, None, 2)
    loc = ["--review", str(tmp_path / "rev")]
    run("decide", str(ids[0]), "--reviewer", "a", "--label", "exclude", "--reason",
        "population", *loc)
    second = tmp_path / "p2.yaml"
    second.write_text(Path(MINIMAL).read_text().replace(
        '  - {id: population, label: "Wrong population", key: "1"}\n', ""))
    run("protocol", "amend", str(second), "--reason", "no population", "--drop-used", *loc)
    third = tmp_path / "p3.yaml"
    third.write_text(second.read_text() + "stopping:\n  consecutive_irrelevant: 30\n")
    code, out = run("protocol", "amend", str(third), "--reason", "shorter run", *loc)
    assert code == 0 and "protocol version 3 recorded" in out and "warning" not in out, out
    _, out = run("log", "events", *loc)
    assert [line for line in out.splitlines() if "dropped although" in line] == [
        line for line in out.splitlines() if "protocol version 2 stored" in line], out
    # the methods text names what version 2 removed while decisions cited it, once
    run("report", "--out", str(tmp_path / "report.md"), *loc)
    table = [line for line in (tmp_path / "report.md").read_text().splitlines()
             if line.startswith("| 2 |") or line.startswith("| 3 |")]
    assert len(table) == 2, table
    assert ("decisions kept that cite what it removed (--drop-used): exclusion reason "
            "'population' (1 decision)") in table[0]
    assert "--drop-used" not in table[1]


def test_amend_refuses_to_drop_a_stage_that_has_decisions(tmp_path: Path) -> None:
    """A version without `full_text` while full-text decisions stand would make them vanish
    from status, exports and the report: refused like a cited id, allowed with --drop-used."""
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    ids = seed(tmp_path, None, 2)
    loc = ["--review", str(tmp_path / "rev")]
    run("decide", str(ids[0]), "--reviewer", "a", "--label", "include", *loc)
    run("decide", str(ids[0]), "--reviewer", "a", "--label", "include", "--stage",
        "full_text", *loc)
    no_full_text = tmp_path / "p2.yaml"
    no_full_text.write_text(Path(MINIMAL).read_text() + "stages: [title_abstract]\n")
    code, out = run("protocol", "amend", str(no_full_text), "--reason", "TA only", *loc,
                    ok=False)
    assert code == 2 and "stage 'full_text' (1 decision)" in out and "--drop-used" in out, out
    with open_review(tmp_path / "rev") as review:
        assert review.protocol_version == 1
    code, out = run("protocol", "amend", str(no_full_text), "--reason", "TA only",
                    "--drop-used", *loc)
    assert "protocol version 2 recorded" in out and "stage 'full_text' (1 decision)" in out
    # a stage without decisions may go
    run("init", str(tmp_path / "rev2"), "--protocol", MINIMAL)
    code, out = run("protocol", "amend", str(no_full_text), "--reason", "TA only",
                    "--review", str(tmp_path / "rev2"))
    assert "protocol version 2 recorded" in out and "warning" not in out


def test_amend_that_cannot_write_the_folder_copy_records_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk (or a folder without write access) while the amended protocol is copied
    into the review folder: refused with a message before the version is recorded, so the
    folder's protocol.yaml and the version in force never disagree; it was a traceback
    after the version had been recorded."""
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    loc = ["--review", str(tmp_path / "rev")]
    amended = tmp_path / "p2.yaml"
    amended.write_text(Path(MINIMAL).read_text() + "stopping:\n  consecutive_irrelevant: 30\n")

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)  # (the copy is written from the text stored)
    code, out = run("protocol", "amend", str(amended), "--reason", "r", *loc, ok=False)
    monkeypatch.undo()
    assert code == 2 and "Traceback" not in out and "nothing was recorded" in out, out
    assert "No space left on device" in out
    with open_review(tmp_path / "rev") as review:
        assert review.protocol_version == 1
    assert (tmp_path / "rev" / "protocol.yaml").read_text() == Path(MINIMAL).read_text()
    assert not [p for p in (tmp_path / "rev").iterdir() if p.name.startswith(".protocol")]
    run("protocol", "amend", str(amended), "--reason", "r", *loc)
    assert (tmp_path / "rev" / "protocol.yaml").read_text() == amended.read_text()


def test_init_takes_a_bundled_example_protocol_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README's walk-through used protocols/ketamine-depression.yaml, a file a wheel install
    does not have: the examples ship inside the package and init takes their names."""
    from screener.protocol import bundled_protocols

    monkeypatch.chdir(tmp_path)  # no protocols/ folder here
    names = list(bundled_protocols())
    assert {"minimal", "ketamine-depression", "dual-screening"} <= set(names)
    _, help_text = run("init", "--help")
    listed = help_text.split("Bundled example protocols", 1)[1].split("\n\n")[0]
    assert listed.split()[2:] == names  # init --help lists them
    run("init", "my-review", "--protocol", "ketamine-depression")
    copy = tmp_path / "my-review" / "protocol.yaml"
    assert copy.read_bytes() == (REPO / "protocols" / "ketamine-depression.yaml").read_bytes()
    run("init", "other", "--protocol", "minimal.yaml")  # the file name works too
    assert "My systematic review" in run("status", "--review", "other")[1]
    # a file of that name in the current folder comes first
    (tmp_path / "minimal").write_text(Path(MINIMAL).read_text().replace(
        "My systematic review", "Mine"))
    run("init", "mine", "--protocol", "minimal")
    assert "Mine" in run("status", "--review", "mine")[1]
    code, out = run("init", "r", "--protocol", "ketamine", ok=False)
    assert code == 2 and "Traceback" not in out and not (tmp_path / "r").exists()
    assert f"ketamine: no such protocol file and no bundled example of that name: check the " \
           f"path, or name an example ({', '.join(names)})" in " ".join(out.split())


def test_protocol_check_and_simulate_take_a_bundled_example_by_name_amend_says_why_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`protocol check minimal` said 'no such protocol file' of the name init takes: the
    commands that read a protocol take the bundled examples' names as init does; amend, which
    replaces the review's protocol, says the name is an example's and what to give."""
    monkeypatch.chdir(tmp_path)  # no file named like an example here
    _, out = run("protocol", "check", "dual-screening")
    assert out.startswith("dual-screening: OK") and "2 reviewers per record" in out
    run("init", "rev", "--protocol", "minimal")
    code, out = run("protocol", "amend", "dual-screening", "--reason", "x", "--review", "rev",
                    ok=False)
    assert code == 2 and "Traceback" not in out
    assert ("dual-screening is the name of a bundled example protocol, not a file here"
            in " ".join(out.split()))
    assert "screener init DIR --protocol dual-screening" in " ".join(out.split())
    data = REPO / "tests" / "data" / "ranking" / "CLEF2017_CD008760.csv.gz"
    out = CliRunner().invoke(main, ["simulate", str(data), "--protocol", "minimal", "--json",
                                    "--stop-after", "5"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["protocol_file"].endswith("minimal.yaml")


def test_db_upgrade_reports_revision(tmp_path: Path) -> None:
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    from screener.storage import Database

    _, out = run("db", "upgrade", "--review", str(tmp_path / "rev"))
    assert f"database at revision {Database.head()}" in out


@pytest.mark.parametrize(("args", "fragment"), [
    (["status", "--review", "{tmp}/nowhere"], "no such folder"),
    (["status", "--review", "{tmp}"], "is not a review"),
    (["status", "--db", "mysql://u:secret@h/db"], "unsupported database 'mysql'"),
    (["init", "{tmp}/r", "--protocol", "{tmp}/missing.yaml"], "no such protocol file"),
    # it said "1 problem in the protocol ... Fix the file" of a file that is not there
    (["protocol", "check", "{tmp}/missing.yaml"], "missing.yaml: no such protocol file: "
                                                   "check the path"),
    (["protocol", "check", "{tmp}"], "cannot read the protocol file"),
    # (a PostgreSQL server that refuses the connection: exit 75, test_bad_input_cli.py)
    (["decide", "5", "--review", "{tmp}/nowhere", "--reviewer", "a", "--label", "include"],
     "no such folder"),
])
def test_bad_input_is_one_clear_message(tmp_path: Path, args: list[str], fragment: str) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert fragment in result.output
    assert "secret" not in result.output and "Traceback" not in result.output
    assert "Fix the file" not in result.output
    assert not (tmp_path / "r").exists()


def test_init_refuses_existing_review_and_writes_nothing(tmp_path: Path) -> None:
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    before = (tmp_path / "rev" / "review.db").stat().st_size
    code, out = run("init", str(tmp_path / "rev"), "--protocol", MINIMAL, ok=False)
    assert code == 2 and "already holds a review" in out
    assert (tmp_path / "rev" / "review.db").stat().st_size == before


def test_init_on_a_file_is_refused_and_the_file_kept(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("mine", encoding="utf-8")
    code, out = run("init", str(tmp_path / "afile"), "--protocol", MINIMAL, ok=False)
    assert code == 2 and "is a file, not a folder" in out and "Traceback" not in out
    assert (tmp_path / "afile").read_text(encoding="utf-8") == "mine"


def test_decide_without_a_reviewer_name_exit_2(tmp_path: Path) -> None:
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    (rid, *_) = seed(tmp_path, None, 1)
    for name in ("", "   "):
        code, out = run("decide", str(rid), "--reviewer", name, "--label", "include",
                        "--review", str(tmp_path / "rev"), ok=False)
        assert code == 2 and "a reviewer name is needed" in out
    code, out = run("rank", "--reviewer", "", "--review", str(tmp_path / "rev"), ok=False)
    assert code == 2 and "a reviewer name is needed" in out
    with open_review(tmp_path / "rev") as review, review.transaction() as s:
        assert repo.count_decisions(s) == 0 and repo.reviewers(s) == []


def test_decide_bad_reason_exit_2(tmp_path: Path) -> None:
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    (rid, *_) = seed(tmp_path, None, 1)
    code, out = run("decide", str(rid), "--reviewer", "a", "--label", "exclude", "--reason",
                    "nope", "--review", str(tmp_path / "rev"), ok=False)
    assert code == 2 and "unknown exclusion reason 'nope'" in out
    with open_review(tmp_path / "rev") as review, review.transaction() as s:
        assert repo.count_decisions(s) == 0


def test_maybe_at_full_text_is_refused(tmp_path: Path) -> None:
    # the UI offers no maybe at full text; the command line must not either: beside another
    # reviewer's include it passed as an include nobody adjudicated
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    (rid, *_) = seed(tmp_path, None, 1)
    loc = ["--review", str(tmp_path / "rev")]
    run("decide", str(rid), "--reviewer", "a", "--label", "include", *loc)
    code, out = run("decide", str(rid), "--reviewer", "a", "--label", "maybe", "--stage",
                    "full_text", *loc, ok=False)
    assert code == 2 and "maybe is a title/abstract label" in out


def test_python_dash_m_works() -> None:
    out = subprocess.run([sys.executable, "-m", "screener", "--version"], capture_output=True,
                         text=True, check=True)
    assert "screener" in out.stdout


@pytest.mark.parametrize("args", [["log", "events", "--review", "{rev}"],
                                  ["status", "--json", "--review", "{rev}"], ["--help"],
                                  ["decide", "--help"]])
def test_a_closed_stdout_ends_the_command_quietly_as_unix_tools_do(
        tmp_path: Path, args: list[str]) -> None:
    """`screener log events | head -1` ended in a silent exit 1 once head had gone (click's
    answer to a broken pipe), which a script reads as a failure of its own; it now ends as
    cat or git do there: no message, exit code 141 (128 + SIGPIPE)."""
    import os

    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    reader, writer = os.pipe()
    os.close(reader)  # whatever read stdout has gone before the command writes
    try:
        done = subprocess.run(
            [sys.executable, "-m", "screener",
             *(a.replace("{rev}", str(tmp_path / "rev")) for a in args)],
            stdout=writer, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(writer)
    assert (done.returncode, done.stderr) == (141, "")


def test_every_command_has_help_and_is_in_readme() -> None:
    import click

    readme = (REPO / "README.md").read_text(encoding="utf-8")

    def walk(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
        found = []
        for name, cmd in group.commands.items():
            found.append((f"{prefix}{name}", cmd))
            if isinstance(cmd, click.Group):
                found += walk(cmd, f"{prefix}{name} ")
        return found

    missing = []
    for name, cmd in walk(main, ""):
        assert (cmd.help or "").strip(), f"`screener {name}` has no help"
        assert f"screener {name}" in readme, f"`screener {name}` is missing from README.md"
        # every option a user can see says what it does (`decide --note` said nothing)
        missing += [f"screener {name} {param.opts[0]}" for param in cmd.params
                    if isinstance(param, click.Option) and not param.hidden
                    and not (param.help or "").strip()]
    assert not missing, "options without help: " + ", ".join(missing)


def test_demo_without_a_folder_makes_demo_review_here_and_reopens_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # README and --help name the default folder (neither did)
    monkeypatch.chdir(tmp_path)
    assert "DIRECTORY defaults to demo-review" in run("demo", "--help")[1]
    assert "demo review created at demo-review" in run("demo", "--no-ui")[1]
    assert (tmp_path / "demo-review" / "review.db").is_file()
    again = run("demo", "--no-ui")[1]  # --no-ui opens nothing: it does not say it does
    assert "the demo review is at demo-review (made before)" in again and "open" not in again


def test_rank_with_an_embedding_model_is_refused_clearly(tmp_path: Path) -> None:
    protocol = tmp_path / "p.yaml"
    text = Path(MINIMAL).read_text() + "ranking:\n  model: screener-lr-minilm\n"
    protocol.write_text(text)
    # init refuses it as `rank` would, with the same words
    code, out = run("init", str(tmp_path / "rev"), "--protocol", str(protocol), ok=False)
    assert code == 2 and "ranking.model" in out and "sentence embeddings" in out
    assert not (tmp_path / "rev").exists()
    # a review whose protocol version was stored before that check still opens; rank refuses
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    with open_review(tmp_path / "rev") as review, review.transaction() as s:
        repo.add_protocol_version(s, text, "ab" * 32, "stored by an older screener")
    seed(tmp_path, None, 3)
    code, out = run("rank", "--reviewer", "a", "--review", str(tmp_path / "rev"), ok=False)
    assert code == 2 and "sentence embeddings" in out and "model: default" in out
    assert "Traceback" not in out
    with open_review(tmp_path / "rev") as review, review.transaction() as s:
        assert repo.latest_ranking(s, Stage.TITLE_ABSTRACT, None) is None


def test_log_verify_of_a_file_cut_short_needs_the_review(tmp_path: Path) -> None:
    rev = str(tmp_path / "rev")
    run("init", rev, "--protocol", MINIMAL)
    ids = seed(tmp_path, None, 4)
    for rid in ids:
        run("decide", str(rid), "--reviewer", "ann", "--label", "exclude", "--review", rev)
    run("export", "log", "--format", "jsonl", "--out", str(tmp_path / "log.jsonl"),
        "--review", rev)
    lines = (tmp_path / "log.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "cut.jsonl").write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    runner = CliRunner()
    whole = runner.invoke(main, ["log", "verify", "--file", str(tmp_path / "log.jsonl"),
                                 "--review", rev])
    assert whole.exit_code == 0 and "4 decisions" in whole.output
    assert "matches the review's log" in whole.output
    alone = runner.invoke(main, ["log", "verify", "--file", str(tmp_path / "cut.jsonl")])
    # the chain of the first two rows is intact; the file alone cannot tell it was cut
    assert alone.exit_code == 0 and "2 decisions" in alone.output
    assert "cannot be seen from the file alone" in alone.output
    for name, fragment in (("cut", "the exported log has 2 rows but the review records 4: "
                                   "rows cut off the end of the file"),
                           ("empty", "the exported log has 0 rows but the review records 4")):
        result = runner.invoke(main, ["log", "verify", "--file", str(tmp_path / f"{name}.jsonl"),
                                      "--review", rev])
        assert result.exit_code == 1 and fragment in result.output, result.output
    (tmp_path / "blank.jsonl").write_text("\n", encoding="utf-8")
    blank = runner.invoke(main, ["log", "verify", "--file", str(tmp_path / "blank.jsonl")])
    assert blank.exit_code == 1 and "holds no rows" in blank.output  # not "OK"
    edited = lines[:]
    edited[1] = edited[1].replace('"label":"exclude"', '"label":"include"', 1)
    (tmp_path / "edited.jsonl").write_text("\n".join(edited) + "\n", encoding="utf-8")
    result = runner.invoke(main, ["log", "verify", "--file", str(tmp_path / "edited.jsonl")])
    assert result.exit_code == 1 and "row 2: seq 2" in result.output  # line 2 of the file


def test_log_verify_checks_both_chains_and_log_events_lists_the_history(
        tmp_path: Path) -> None:
    rev = two_trials_imported(tmp_path)
    _, out = run("log", "verify", "--review", rev)
    assert "log OK: 0 decisions" in out
    assert "event log OK: 2 events, hash chain intact; last hash " in out
    _, out = run("log", "events", "--review", rev)
    lines = out.splitlines()
    assert "protocol version 1 stored" in lines[0] and "initial protocol" in lines[0]
    assert "2 records imported as source 1 (a, a.csv)" in lines[1]
    # the time says its zone, as the report's and the CSV's do
    assert all(re.match(r" +\d+  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC  \S", line)
               for line in lines), lines
    _, out = run("export", "log", "--events", "--format", "jsonl", "--out",
                 str(tmp_path / "ev.jsonl"), "--review", rev)
    assert "wrote 2 events" in out
    _, out = run("log", "verify", "--file", str(tmp_path / "ev.jsonl"), "--review", rev)
    assert "event log OK: 2 events, hash chain intact and matches the review's log" in out
    code, out = run("export", "log", "--events", "--reviewer", "ann", "--review", rev, ok=False)
    assert code == 2 and "leave out --reviewer" in out
    with open_review(tmp_path / "rev") as review, review.transaction() as s:
        from sqlalchemy import text

        s.execute(text("UPDATE events SET details = replace(details, :old, :new)"),
                  {"old": '"records":2', "new": '"records":3'})
    code, out = run("log", "verify", "--review", rev, ok=False)
    assert code == 1 and "event log FAILED: row 2: event 2 (records_imported)" in out


def test_exports_never_write_over_the_reviews_own_files(tmp_path: Path) -> None:
    rev = tmp_path / "rev"
    run("init", str(rev), "--protocol", MINIMAL)
    seed(tmp_path, None, 2)
    db, protocol = (rev / "review.db").read_bytes(), (rev / "protocol.yaml").read_bytes()
    for args in (["export", "log", "--out", str(rev / "review.db")],
                 ["export", "prisma", "--format", "csv", "--out",
                  str(rev / "exports" / ".." / "review.db-wal")],
                 ["export", "records", "--label", "all", "--format", "csv", "--out",
                  str(rev / "protocol.yaml")],
                 ["report", "--out", str(rev / "review.db")]):
        code, out = run(*args, "--force", "--review", str(rev), ok=False)
        assert code == 2 and "one of the review's own files" in out, (args, out)
    assert (rev / "protocol.yaml").read_bytes() == protocol
    assert (rev / "review.db").read_bytes()[:16] == db[:16] == b"SQLite format 3\x00"
    _, out = run("log", "verify", "--review", str(rev))
    assert "log OK" in out


def test_init_keeps_a_protocol_yaml_already_in_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "rv"
    folder.mkdir()
    draft = "title: my draft protocol (hours of work)\n"
    (folder / "protocol.yaml").write_text(draft, encoding="utf-8")
    code, out = run("init", str(folder), "--protocol", MINIMAL, ok=False)
    assert code == 2 and "exists and is not" in out and "Move it away" in out
    assert (folder / "protocol.yaml").read_text(encoding="utf-8") == draft
    assert not (folder / "review.db").exists()
    # the protocol drafted in the folder itself is the one to give
    (folder / "protocol.yaml").write_text(Path(MINIMAL).read_text(encoding="utf-8"),
                                          encoding="utf-8")
    run("init", str(folder), "--protocol", str(folder / "protocol.yaml"))
    assert (folder / "review.db").exists()


@pytest.mark.parametrize("copy", [b"\xef\xbb\xbf", b"\r\n"], ids=["bom", "crlf"])
def test_init_takes_a_folder_copy_of_the_same_protocol_saved_with_a_bom_or_crlf(
        tmp_path: Path, copy: bytes) -> None:
    # the same protocol saved by another editor: compared as stored (no BOM, LF), as amend does
    text = Path(MINIMAL).read_bytes()
    saved = copy + text if copy.startswith(b"\xef") else text.replace(b"\n", copy)
    folder = tmp_path / "rv"
    folder.mkdir()
    (folder / "protocol.yaml").write_bytes(saved)
    _, out = run("init", str(folder), "--protocol", MINIMAL)
    assert (folder / "review.db").exists() and "exists and is not" not in out
    assert (folder / "protocol.yaml").read_bytes() == text   # the copy as stored
    _, out = run("log", "verify", "--review", str(folder))
    assert "log OK" in out


def test_log_verify_names_an_edited_seq_at_once_and_refuses_rows_of_the_wrong_shape(
        tmp_path: Path) -> None:
    rev = str(tmp_path / "rev")
    run("init", rev, "--protocol", MINIMAL)
    for rid in seed(tmp_path, None, 3):
        run("decide", str(rid), "--reviewer", "ann", "--label", "exclude", "--review", rev)
    run("export", "log", "--format", "jsonl", "--out", str(tmp_path / "log.jsonl"),
        "--review", rev)
    rows = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]

    def verify_with(field: str, value: object) -> tuple[int, str]:
        edited = [dict(r) for r in rows]
        edited[1][field] = value
        (tmp_path / "e.jsonl").write_text("".join(json.dumps(r) + "\n" for r in edited))
        result = CliRunner().invoke(main, ["log", "verify", "--file", str(tmp_path / "e.jsonl")])
        assert "Traceback" not in result.output
        return result.exit_code, result.output

    code, out = verify_with("seq", 10**30)      # listing the "removed" rows must not hang
    assert code == 1 and "where seq 2 was expected" in out and ", ... removed" in out
    assert "rows with seq 2, " in out and "(s)" not in out
    for field, value, words in (("seq", "two", "field 'seq' is \"two\", not int"),
                                ("decision_id", None, "field 'decision_id' is null, not int"),
                                ("criterion_ids", "E1", "not a list of text"),
                                ("colour", "red", "unknown field colour")):
        code, out = verify_with(field, value)
        assert code == 2 and "decision log line 2" in out and words in out, out


def test_a_damaged_or_replaced_review_db_gets_one_message(tmp_path: Path) -> None:
    import sqlite3

    rev = tmp_path / "rev"
    run("init", str(rev), "--protocol", MINIMAL)
    for rid in seed(tmp_path, None, 40):
        run("decide", str(rid), "--reviewer", "ann", "--label", "exclude", "--note", "x" * 500,
            "--review", str(rev))
    db = sqlite3.connect(rev / "review.db")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray((rev / "review.db").read_bytes())
    for page in range(5, len(data) // 4096):          # every page after the first few
        data[page * 4096 + 100:page * 4096 + 3000] = b"\xab" * 2900
    (rev / "review.db").write_bytes(bytes(data))
    for args in (["status"], ["log", "verify"], ["next", "--reviewer", "ann"]):
        result = CliRunner().invoke(main, [*args, "--review", str(rev)])
        assert result.exit_code == 2 and "Traceback" not in result.output, (args, result.output)
        assert "is not a readable screener database (database disk image is malformed)" \
            in result.output and "Restore review.db from a backup" in result.output
    (rev / "review.db").write_text("a note saved over the database\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["status", "--review", str(rev)])
    assert result.exit_code == 2 and "is not an SQLite database" in result.output


def test_an_export_on_a_full_disk_says_so_and_leaves_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from screener.workflow import reporting

    def full(path: Path) -> None:
        path.write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    target = tmp_path / "out.csv"
    with pytest.raises(reporting.ReviewError, match="No space left on device.*nothing was"):
        reporting.write_atomic(target, full)
    assert list(tmp_path.iterdir()) == []

    def matplotlib_like(path: Path) -> None:
        raise AttributeError("'Stream' object has no attribute 'pos'")

    monkeypatch.setattr(reporting, "_nearly_full", lambda _target: True)
    with pytest.raises(reporting.ReviewError, match="the disk is full"):
        reporting.write_atomic(target, matplotlib_like)
    monkeypatch.setattr(reporting, "_nearly_full", lambda _target: False)
    with pytest.raises(AttributeError):                   # a real bug still shows itself
        reporting.write_atomic(target, matplotlib_like)
    assert list(tmp_path.iterdir()) == []


def test_files_written_together_are_put_back_when_one_cannot_be_moved_in(
        tmp_path: Path) -> None:
    # (simulate --output and --plot): the second rename fails after the first file is in
    # place; the first is restored as it was (--force) or removed (new), no temporary left
    from screener.workflow import reporting

    kept, new, blocked = tmp_path / "kept.json", tmp_path / "new.json", tmp_path / "x.svg"
    kept.write_text("earlier run", encoding="utf-8")

    def in_the_way(path: Path) -> None:  # something takes the name meanwhile
        path.write_text("<svg/>")
        blocked.mkdir()
        (blocked / "file").write_text("")

    with pytest.raises(reporting.ReviewError, match=f"writing {blocked} failed.*nothing was"):
        reporting.write_all_atomic([(kept, lambda p: p.write_text("new run"), "--output"),
                                    (new, lambda p: p.write_text("new run"), "--output"),
                                    (blocked, in_the_way, "--plot")])
    assert kept.read_text(encoding="utf-8") == "earlier run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.json", "x.svg"]


def test_a_database_from_a_newer_screener_is_named_not_a_traceback(
        tmp_path: Path, db_url: str | None) -> None:
    from sqlalchemy import text

    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL, *(["--db", db_url] if db_url else []))
    with open_review(tmp_path / "rev", db_url) as review, review.transaction() as s:
        s.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    for args in (["status"], ["db", "upgrade"]):
        code, out = run(*args, *where(tmp_path, db_url), ok=False)
        assert code == 2 and "was written by a newer screener (database schema 0099" in out
        assert "Traceback" not in out


@pytest.mark.postgres
def test_a_read_only_postgresql_account_is_told_what_it_lacks(tmp_path: Path,
                                                              pg_url: str) -> None:
    import uuid

    import psycopg

    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL, "--db", pg_url)
    (rid,) = seed(tmp_path, pg_url, 1)
    role = "ro_" + uuid.uuid4().hex[:8]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw'")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    try:
        host = pg_url.split("@", 1)[1]
        reader = f"postgresql://{role}:pw@{host}"
        code, out = run("decide", str(rid), "--reviewer", "ann", "--label", "exclude",
                        "--db", reader, ok=False)
        assert code == 2 and "the database account may not do this" in out
        assert "permission denied" in out and "pw@" not in out
        _, out = run("status", "--db", reader)            # reading is allowed
        assert "records" in out
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
            conn.execute(f"DROP ROLE {role}")


def test_the_same_reviewer_in_two_shells_cannot_decide_an_offered_record_twice(
        tmp_path: Path) -> None:
    rev = str(tmp_path / "rev")
    run("init", rev, "--protocol", MINIMAL)
    seed(tmp_path, None, 3)
    run("rank", "--reviewer", "ann", "--review", rev)
    offered = json.loads(run("next", "--reviewer", "ann", "--json", "--review", rev)[1])
    again = json.loads(run("next", "--reviewer", "ann", "--json", "--review", rev)[1])
    assert again["record_id"] == offered["record_id"]      # a second shell sees the same one
    ids = ["--ranking-id", str(offered["ranking_id"]), "--rank-position",
           str(offered["rank_position"])]
    run("decide", str(offered["record_id"]), "--reviewer", "ann", "--label", "include", *ids,
        "--review", rev)
    code, out = run("decide", str(offered["record_id"]), "--reviewer", "ann", "--label",
                    "exclude", *ids, "--review", rev, ok=False)
    assert code == 2 and "decided by you in another window or shell" in out
    with open_review(tmp_path / "rev") as review, review.transaction() as s:
        assert [d.label for d in repo.current_decisions(s)] == [Label.INCLUDE]
    # changing one's mind on purpose: decide without --ranking-id
    run("decide", str(offered["record_id"]), "--reviewer", "ann", "--label", "exclude",
        "--review", rev)


def test_next_says_when_the_records_left_are_on_others_screens(tmp_path: Path) -> None:
    rev = str(tmp_path / "rev")
    run("init", rev, "--protocol", MINIMAL)
    (rid,) = seed(tmp_path, None, 1)
    first = CliRunner().invoke(main, ["next", "--reviewer", "carl", "--review", rev])
    assert first.exit_code == 0 and f"[{rid}]" in first.output  # the first reviewer: any name
    again = CliRunner().invoke(main, ["next", "--reviewer", "carl", "--review", rev])
    assert again.exit_code == 0 and f"[{rid}]" in again.output  # carl has it on screen
    result = CliRunner().invoke(main, ["next", "--reviewer", "dana", "--new-reviewer",
                                       "--review", rev])
    # it said "nothing left to screen" (exit 0) beside "try again later", and --json printed
    # null as when screening is finished: a script could not tell the two apart
    assert result.exit_code == 75 and "nothing to screen for now" in result.stdout
    assert "nothing left" not in result.output
    assert "1 record is on other reviewers' screens" in result.stderr
    held = CliRunner().invoke(main, ["next", "--reviewer", "dana", "--json", "--review", rev])
    assert (held.exit_code, held.stdout.strip()) == (75, "null")
    run("decide", str(rid), "--reviewer", "carl", "--label", "exclude", "--review", rev)
    done = CliRunner().invoke(main, ["next", "--reviewer", "dana", "--json", "--review", rev])
    assert (done.exit_code, done.stdout.strip()) == (0, "null")


def test_next_refuses_a_name_the_review_has_not_seen_as_decide_does(tmp_path: Path) -> None:
    """`next --reviewer bobb` (a typo) registered bobb, who then showed in `status` with
    records left to screen; `decide` refused the same name."""
    rev = str(tmp_path / "rev")
    run("init", rev, "--protocol", MINIMAL)
    (rid, _) = seed(tmp_path, None, 2)
    run("decide", str(rid), "--reviewer", "bob", "--label", "include", "--review", rev)
    for extra in ([], ["--json"]):
        code, out = run("next", "--reviewer", "bobb", *extra, "--review", rev, ok=False)
        assert code == 2 and out.count("error:") == 1
        assert "'bobb' has not screened in this review" in out and "--new-reviewer" in out
    assert "bobb" not in run("status", "--review", rev)[1]
    assert run("next", "--reviewer", "bobb", "--new-reviewer", "--review", rev)[0] == 0


def test_status_refuses_a_reviewer_the_review_does_not_know(tmp_path: Path) -> None:
    """`status --reviewer nobdy` (a typo) exited 0 showing nothing of anyone's labels, where
    every other command refuses a name the review does not know."""
    rev = str(tmp_path / "rev")
    run("init", rev, "--protocol", MINIMAL)
    assert run("status", "--reviewer", "ann", "--review", rev)[0] == 0  # no reviewers yet
    (rid, _) = seed(tmp_path, None, 2)
    run("decide", str(rid), "--reviewer", "bob", "--label", "include", "--review", rev)
    for extra in ([], ["--json"]):
        code, out = run("status", "--reviewer", "bobb", *extra, "--review", rev, ok=False)
        assert code == 2 and out.count("error:") == 1
        assert "'bobb' is not a reviewer of this review (known: 'bob')" in out
        assert "did you mean --reviewer bob?" in out
    code, out = run("status", "--reviewer", "zed", "--review", rev, ok=False)
    assert code == 2 and "check the spelling" in out and "did you mean" not in out
    assert "bob: 1 screened" in run("status", "--reviewer", "bob", "--review", rev)[1]


def test_a_reviewer_who_only_tried_next_is_not_listed_once_they_hold_nothing(
        tmp_path: Path) -> None:
    """`next --reviewer carol --new-reviewer` (a trial) left carol listed in `status` for
    good, '0 screened', beside the reviewers who screen."""
    from screener.core.decisions import Stage

    rev = str(tmp_path / "rev")
    run("init", rev, "--protocol", MINIMAL)
    (rid, other, _) = seed(tmp_path, None, 3)
    run("decide", str(rid), "--reviewer", "bob", "--label", "exclude", "--review", rev)
    run("next", "--reviewer", "carol", "--new-reviewer", "--review", rev)
    assert "carol: 0 screened" in run("status", "--review", rev)[1]  # she holds a record
    with open_review(tmp_path / "rev") as review, review.transaction() as s:
        repo.release_claims(s, "carol", Stage.TITLE_ABSTRACT)  # as quitting the UI does
    out = run("status", "--review", rev)[1]
    assert "carol" not in out and "bob: 1 screened" in out
    code, data = run("status", "--json", "--review", rev)
    assert [r["name"] for r in json.loads(data)["reviewers"]] == ["bob"]
    # still a name the review knows: no --new-reviewer asked for her next record
    assert run("next", "--reviewer", "carol", "--review", rev)[0] == 0
    run("decide", str(other), "--reviewer", "carol", "--label", "exclude", "--review", rev)
    assert "carol: 1 screened" in run("status", "--review", rev)[1]


def test_rank_refuses_a_name_the_review_has_not_seen(tmp_path: Path) -> None:
    """In blind dual screening each reviewer has a ranking of their own: `rank --reviewer
    bobb` (a typo) registered bobb as a screener, as `next` did."""
    rev = str(tmp_path / "rev")
    run("init", rev, "--protocol", str(REPO / "protocols" / "dual-screening.yaml"))
    (rid, _, _) = seed(tmp_path, None, 3)
    run("decide", str(rid), "--reviewer", "bob", "--label", "include", "--review", rev)
    code, out = run("rank", "--reviewer", "bobb", "--review", rev, ok=False)
    assert code == 2 and out.count("error:") == 1
    assert "'bobb' has not screened in this review" in out and "--new-reviewer" in out
    assert "bobb" not in run("status", "--review", rev)[1]
    assert "ranking" in run("rank", "--reviewer", "bob", "--review", rev)[1]


def test_a_folder_given_with_review_wins_over_screener_db(tmp_path: Path) -> None:
    """SCREENER_DB names the team's database; `--review COPY` (an offline copy, as
    export-reviewer prints it) must open the copy, not screen online."""
    from screener.storage import sqlite_url

    run("init", str(tmp_path / "team"), "--protocol", MINIMAL)
    run("init", str(tmp_path / "copy"), "--protocol", str(REPO / "protocols" /
                                                          "dual-screening.yaml"))
    env = {"SCREENER_DB": sqlite_url((tmp_path / "team" / "review.db").resolve())}
    result = CliRunner(env=env).invoke(main, ["status", "--json", "--review",
                                              str(tmp_path / "copy")])
    assert result.exit_code == 0, result.output
    assert "note: using" in result.output and "not SCREENER_DB" in result.output
    assert json.loads(result.output.split("\n", 1)[1])["title"] == "Dual-screening review template"
    result = CliRunner(env=env).invoke(main, ["status", "--json"])    # no --review: the team's
    assert json.loads(result.output)["title"] != "Dual-screening review template"


def test_log_verify_checks_the_tables_and_a_file_against_the_reviews_own_chain(
        tmp_path: Path) -> None:
    from sqlalchemy import text

    rev = two_trials_imported(tmp_path)
    for rid in (1, 2):
        run("decide", str(rid), "--reviewer", "ann", "--label", "include", "--review", rev)
    _, out = run("log", "verify", "--review", rev)
    assert "tables OK: sources, protocol versions" in out
    run("export", "log", "--format", "jsonl", "--out", str(tmp_path / "log.jsonl"),
        "--review", rev)
    with open_review(tmp_path / "rev") as review, review.transaction() as s:
        s.execute(text("UPDATE sources SET kind = 'other'"))
        s.execute(text("UPDATE decisions SET label = 'exclude' WHERE id = 2"))
    code, out = run("log", "verify", "--review", rev, ok=False)
    assert code == 1 and "tables FAILED: source 1: kind is 'other'" in out
    _, out = run("export", "prisma", "--format", "json", "--review", rev)   # warns, writes
    assert "warning: the review's records do not verify (source 1: kind is 'other'" in out
    # the file's chain is intact and ends at the stored head: the review's rows were edited
    code, out = run("log", "verify", "--file", str(tmp_path / "log.jsonl"), "--review", rev,
                    ok=False)
    assert code == 1 and "the review's log FAILED: row 2" in out


@pytest.mark.parametrize(("args", "what"), [
    (["export", "log"], "the log"),
    (["export", "log", "--format", "jsonl"], "the log"),
    (["export", "log", "--events"], "the log"),
    (["export", "records", "--label", "all"], "the records' decisions"),
    (["export", "records", "--format", "xlsx"], "the records' decisions"),
    (["export", "prisma"], "the diagram's numbers"),
    (["report"], "the report's numbers and methods text"),
])
def test_every_export_of_a_review_that_does_not_verify_warns(tmp_path: Path, args: list[str],
                                                             what: str) -> None:
    # export log and export records wrote the evidence handed to others without a word
    rev = two_trials_imported(tmp_path)
    run("decide", "1", "--reviewer", "ann", "--label", "include", "--review", rev)
    _, out = run(*args, "--review", rev)
    assert "do not verify" not in out, out
    db = sqlite3.connect(tmp_path / "rev" / "review.db")
    with db:
        db.execute("UPDATE decisions SET label = 'exclude' WHERE id = 1")
    db.close()
    code, out = run(*args, "--review", rev, "--force")
    assert code == 0 and out.count("warning: the review's records do not verify (row 1: ") == 1
    assert f"{what} may not be what was done: see `screener log verify`" in out, out


def test_a_postgresql_reviews_folder_says_to_give_the_database(tmp_path: Path) -> None:
    # `init DIR --db URL` leaves DIR with the protocol copy and exports, no review.db
    folder = tmp_path / "pgrev"
    folder.mkdir()
    (folder / "protocol.yaml").write_text(Path(MINIMAL).read_text(), encoding="utf-8")
    code, out = run("status", "--review", str(folder), ok=False)
    assert code == 2 and "kept in PostgreSQL" in out and "--db URL" in out


def test_every_prisma_format_says_why_a_draft_is_a_draft(tmp_path: Path) -> None:
    import csv

    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    ids = seed(tmp_path, None)
    with open_review(tmp_path / "rev") as review:
        from screener.workflow.screening import record_decision

        record_decision(review, ids[0], "ann", Label.INCLUDE)
    why = "DRAFT, not final: 2 records not screened yet"
    for fmt in ("svg", "pdf", "png", "csv", "json"):
        result = CliRunner().invoke(main, ["export", "prisma", "--format", fmt,
                                           "--review", str(tmp_path / "rev")])
        assert result.exit_code == 0, result.output
        assert why in result.stderr, (fmt, result.stderr)
        assert "the file is marked" in result.stderr
    # the CSV keeps the R template's rows and columns; its yellow title box (drawn by the
    # R package and the Shiny app) says it is a draft, and its description says why
    with (tmp_path / "rev" / "exports" / "prisma.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 34
    (title,) = [r for r in rows if r["box"] == "newstud"]
    assert title["boxtext"].startswith("DRAFT, not final.")
    assert why in title["description"]
    assert sum("DRAFT" in " ".join(r.values()) for r in rows) == 1
    # a final diagram carries no mark and prints none
    with open_review(tmp_path / "rev") as review:
        for rid in ids[1:]:
            record_decision(review, rid, "ann", Label.EXCLUDE)
        record_decision(review, ids[0], "ann", Label.INCLUDE, stage=Stage.FULL_TEXT)
    result = CliRunner().invoke(main, ["export", "prisma", "--format", "csv", "--force",
                                       "--review", str(tmp_path / "rev")])
    assert "DRAFT" not in result.stderr
    assert "DRAFT" not in (tmp_path / "rev" / "exports" / "prisma.csv").read_text()


def test_db_upgrade_where_there_is_no_review_creates_nothing(tmp_path: Path) -> None:
    """`db upgrade` in a folder without review.db used to create an empty database there,
    which every later command then called a review left half-made."""
    (tmp_path / "rev").mkdir()
    code, out = run("db", "upgrade", "--review", str(tmp_path / "rev"), ok=False)
    assert code == 2 and "is not a review (no review.db)" in out and "Traceback" not in out
    assert list((tmp_path / "rev").iterdir()) == []


def test_a_protocol_can_train_the_ranking_as_an_include(tmp_path: Path) -> None:
    # ranking.params.protocol_include: the protocol's title, question and criteria join
    # every training set as an include, so a record on the question's topic that shares
    # no word with the first include comes first.
    protocol = tmp_path / "p.yaml"
    protocol.write_text(Path(MINIMAL).read_text().replace(
        '"My systematic review"', '"Capsule endoscopy for oesophageal varices"')
        + "ranking:\n  params: {protocol_include: 2}\n")
    run("init", str(tmp_path / "rev"), "--protocol", str(protocol))
    from screener.workflow.importing import import_records

    texts = ["Band ligation trial for bleeding", "Football injuries in adolescent leagues",
             "Football league injuries of adults", "Band ligation complications registry",
             "Capsule endoscopy diagnostic yield study", "Capsule endoscopy accuracy"]
    with open_review(tmp_path / "rev") as review:
        import_records(review, [Record(title=t, abstract=t) for t in texts], source="PubMed",
                       kind="database")
        with review.read() as s:
            ids = sorted(repo.record_sources(s))
    loc = where(tmp_path, None)
    run("decide", str(ids[0]), "--reviewer", "ann", "--label", "include", *loc)
    run("decide", str(ids[1]), "--reviewer", "ann", "--label", "exclude", *loc)
    _, out = run("rank", "--reviewer", "ann", *loc)
    assert "trained on 2 decisions (1 includes)" in out
    shown = json.loads(run("next", "--reviewer", "ann", "--json", *loc)[1])
    assert shown["record_id"] in ids[4:]  # words of the features need two records
    # a decision made on that ranking: the methods text says the protocol trained it
    run("decide", str(shown["record_id"]), "--reviewer", "ann", "--label", "include",
        "--ranking-id", str(shown["ranking_id"]), "--rank-position", "1", *loc)
    run("report", "--out", str(tmp_path / "report.md"), *loc)
    text = " ".join((tmp_path / "report.md").read_text().split())
    assert "part of every training set as one relevant example, weighted like 2" in text


def test_the_wrote_messages_count_one_in_the_singular(tmp_path: Path) -> None:
    # "wrote 1 decisions to ...": one row, one record, one decision, one event
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    (one,) = seed(tmp_path, None, 1)
    loc = where(tmp_path, None)
    run("decide", str(one), "--reviewer", "ann", "--label", "include", *loc)
    _, out = run("export", "log", "--out", str(tmp_path / "log.csv"), *loc)
    assert f"wrote 1 decision to {tmp_path / 'log.csv'}" in out, out
    _, out = run("export", "records", "--out", str(tmp_path / "r.ris"), *loc)
    assert f"wrote 1 record to {tmp_path / 'r.ris'}" in out, out
    _, out = run("export-reviewer", str(tmp_path / "copy"), "--reviewer", "ann", *loc)
    assert f"wrote {tmp_path / 'copy'}: 1 record, 1 decision by ann;" in out, out
    _, out = run("log", "verify", *loc)
    assert "log OK: 1 decision, hash chain intact" in out, out
    # the event log of a fresh review holds one event: its first protocol version
    run("init", str(tmp_path / "fresh"), "--protocol", MINIMAL)
    fresh = ["--review", str(tmp_path / "fresh")]
    _, out = run("export", "log", "--events", "--out", str(tmp_path / "ev.csv"), *fresh)
    assert f"wrote 1 event to {tmp_path / 'ev.csv'}" in out, out
    assert "event log OK: 1 event, hash chain intact" in run("log", "verify", *fresh)[1]


def test_the_ranking_predates_an_import_whatever_the_clocks_say(
        tmp_path: Path, clock: Callable[[float], None]) -> None:
    """The ranking made on a computer whose clock runs 10 minutes fast is stamped after an
    update imported on another a minute later: `next` said nothing of the update's records
    (it compared the stamps) and offered them after every ranked one."""
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    seed(tmp_path, None, 3)
    loc = where(tmp_path, None)
    clock(10)
    run("rank", "--reviewer", "ann", *loc)
    clock(0)
    with open_review(tmp_path / "rev") as review:
        from screener.workflow.importing import import_records

        import_records(review, [Record(title=f"Update {i}", abstract="b") for i in range(2)],
                       source="Embase", kind="database")
    result = CliRunner().invoke(main, ["next", "--reviewer", "ann", "--json", *loc])
    assert result.exit_code == 0
    assert "the ranking predates 2 records imported since" in result.stderr, result.stderr
    clock(-10)  # ranked again on a computer running slow: the update is ranked now
    run("rank", "--reviewer", "ann", *loc)
    result = CliRunner().invoke(main, ["next", "--reviewer", "ann", "--json", *loc])
    assert result.exit_code == 0 and "predates" not in result.stderr, result.stderr


def test_next_says_when_the_ranking_predates_records_imported_since(tmp_path: Path) -> None:
    """An update imported after `rank`: `next` went on with the old ranking (the new records
    after every ranked one) without a word; it now says so and how to rank them."""
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    seed(tmp_path, None, 3)
    loc = where(tmp_path, None)
    run("rank", "--reviewer", "ann", *loc)
    result = CliRunner().invoke(main, ["next", "--reviewer", "ann", "--json", *loc])
    assert result.exit_code == 0 and "predates" not in result.stderr
    with open_review(tmp_path / "rev") as review:
        from screener.workflow.importing import import_records

        import_records(review, [Record(title=f"Update {i}", abstract="b") for i in range(2)],
                       source="Embase", kind="database")
    result = CliRunner().invoke(main, ["next", "--reviewer", "ann", "--json", *loc])
    assert result.exit_code == 0 and json.loads(result.stdout)["ranking_id"] is not None
    assert ("note: the ranking predates 2 records imported since, which come after the "
            "records it ranked; run `screener rank` to rank them") in result.stderr
    # a record of the update decided already (e.g. its label imported) is not waiting
    with open_review(tmp_path / "rev") as review, review.read() as s:
        first_update = repo.record_ids_in_order(s)[-2]
    run("decide", str(first_update), "--reviewer", "ann", "--label", "exclude", *loc)
    result = CliRunner().invoke(main, ["next", "--reviewer", "ann", "--json", *loc])
    assert "the ranking predates 1 record imported since" in result.stderr, result.stderr
    run("rank", "--reviewer", "ann", *loc)
    result = CliRunner().invoke(main, ["next", "--reviewer", "ann", "--json", *loc])
    assert result.exit_code == 0 and "predates" not in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="bash pipelines")
def test_the_readmes_ways_past_exit_141_under_pipefail_work(tmp_path: Path) -> None:
    """README says how a script under `set -o pipefail` gets past the 141 of a reader that
    went away: both ways end the pipeline with 0 and the first line, whether or not the
    reader left before the command wrote; a real failure (exit 2) still stops the script."""
    import shutil

    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    assert "| head -1 || [ $? -eq 141 ]" in readme and "`sed -n 1p`" in readme
    rev = two_trials_imported(tmp_path)
    screener = f"{sys.executable} -m screener"
    first = run("next", "--reviewer", "ann", "--review", rev)[1].splitlines()[0]
    for pipeline in (f"{screener} next --reviewer ann --review {rev} | head -1 "
                     "|| [ $? -eq 141 ]",
                     # a reader gone before anything is written: the 141 case for certain
                     f"{screener} next --reviewer ann --review {rev} | (exec 0<&-; true) "
                     "|| [ $? -eq 141 ]",
                     f"{screener} next --reviewer ann --review {rev} | sed -n 1p"):
        done = subprocess.run([bash, "-c", f"set -e -o pipefail; {pipeline}; echo done"],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (pipeline, done.stderr)
        assert done.stdout.endswith("done\n")
        if "true" not in pipeline:
            assert done.stdout.splitlines()[0] == first
    failing = subprocess.run(
        [bash, "-c", f"set -e -o pipefail; {screener} next --reviewer '' --review {rev} "
                     "| head -1 || [ $? -eq 141 ]; echo done"],
        capture_output=True, text=True, timeout=120)
    assert failing.returncode != 0 and "done" not in failing.stdout
    assert "error:" in failing.stderr


def test_the_readme_says_only_the_json_lines_log_can_be_verified(tmp_path: Path) -> None:
    """README called the CSV decision log "hash-chained" and `log verify` checks "an
    exported file", but `log verify --file` refuses the CSV: an auditor handed the CSV could
    not check it. Both rows now say that only the JSON Lines export can be verified, as it
    is."""
    rev = two_trials_imported(tmp_path)
    run("decide", "1", "--reviewer", "ann", "--label", "include", "--review", rev)
    for fmt in ("csv", "jsonl"):
        run("export", "log", "--format", fmt, "--out", str(tmp_path / f"log.{fmt}"),
            "--review", rev)
    assert run("log", "verify", "--file", str(tmp_path / "log.jsonl"))[0] == 0
    code, refused = run("log", "verify", "--file", str(tmp_path / "log.csv"), ok=False)
    assert code == 2 and "--format jsonl" in refused
    rows = {line.split(" | ")[0]: line for line in
            (REPO / "README.md").read_text(encoding="utf-8").splitlines()
            if line.startswith("| `screener ")}
    export_row = next(r for k, r in rows.items() if k.startswith("| `screener export log"))
    verify_row = next(r for k, r in rows.items() if k.startswith("| `screener log verify"))
    assert "only the JSON Lines export, `--format jsonl`, can be checked" in export_row
    assert "a CSV export is refused" in verify_row
