"""CLI for team screening: allocate, conflicts, resolve, agreement, export-reviewer, merge,
and blind `status`; exit codes and database state on both databases; bad input exits 2."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from screener.cli import main
from screener.core.decisions import Label, Role, Stage
from screener.core.records import Record
from screener.storage import repo
from screener.workflow.review import Review, open_review
from screener.workflow.screening import record_decision

REPO = Path(__file__).resolve().parents[2]
DUAL = str(REPO / "protocols" / "dual-screening.yaml")
ADJ = "Adjudicator"


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def setup(tmp_path: Path, db_url: str | None, n: int = 4) -> tuple[list[str], list[int]]:
    run("init", str(tmp_path / "rev"), "--protocol", DUAL, *(["--db", db_url] if db_url else []))
    loc = ["--db", db_url] if db_url else ["--review", str(tmp_path / "rev")]
    with _open(tmp_path, db_url) as review, review.transaction() as s:
        source = repo.add_source(s, name="PubMed", kind="database")
        ids = repo.add_records(s, source, [Record(title=f"Trial {i}") for i in range(n)])
    return loc, ids


def _open(tmp_path: Path, db_url: str | None) -> Review:
    return open_review(tmp_path / "rev", db_url)


def screen(tmp_path: Path, db_url: str | None, ids: list[int]) -> None:
    with _open(tmp_path, db_url) as review:
        for rid, a, b in zip(ids, "iiee", "ieei", strict=False):
            label = {"i": Label.INCLUDE, "e": Label.EXCLUDE}
            record_decision(review, rid, "ann", label[a])
            record_decision(review, rid, "bob", label[b])


def test_blind_status_conflicts_resolve_agreement(tmp_path: Path, db_url: str | None) -> None:
    loc, ids = setup(tmp_path, db_url)
    screen(tmp_path, db_url, ids)
    data = json.loads(run("status", "--json", "--reviewer", "ann", *loc))
    assert data["blind"] is True
    assert {d["reviewer"] for d in data["decisions"]} == {"ann"}
    assert "bob" not in json.dumps(data["decisions"]) and data["outcomes"] == {}

    out = run("conflicts", "--json", "--reviewer", "ann", *loc, code=2)
    assert out.count("error:") == 1 and "blind" in out
    run("conflicts", *loc, code=2)
    out = run("agreement", "--stage", "title_abstract", *loc, code=2)
    assert "blind" in out
    hidden = json.loads(run("agreement", "--json", *loc))
    # full text: nobody has screened there yet, so nothing there is hidden
    assert hidden == {"pairs": [], "fleiss": [], "hidden_stages": ["title_abstract"],
                      "imported_labels": []}
    # the refusals of the report and the exports name the command that opens them, whole
    # (without --reviewer, `conflicts` is refused as blind too)
    for refused in (["report"], ["export", "prisma"], ["export", "log"]):
        out = run(*refused, *loc, code=2)
        assert "`screener conflicts --stage title_abstract --reviewer Adjudicator`" in out

    first = CliRunner().invoke(main, ["conflicts", "--json", "--reviewer", ADJ, *loc])
    listed = json.loads(first.stdout)
    # the adjudicator is told that listing the conflicts ended blinding at this stage
    assert "blinding there has ended" in first.stderr
    assert [c["record_id"] for c in listed] == [ids[1], ids[3]]
    assert listed[0]["title"] == "Trial 1"
    assert listed[0]["decisions"] == [
        {"reviewer": "ann", "label": "include", "reason": None, "note": ""},
        {"reviewer": "bob", "label": "exclude", "reason": None, "note": ""}]
    assert json.loads(run("status", "--json", "--reviewer", "ann", *loc))["blind"] is False

    run("resolve", str(ids[1]), "--reviewer", "ann", "--label", "include", *loc, code=2)
    run("resolve", str(ids[0]), "--reviewer", ADJ, "--label", "include", *loc, code=2)
    run("resolve", str(ids[1]), "--reviewer", ADJ, "--label", "perhaps", *loc, code=2)
    out = run("resolve", str(ids[1]), "--reviewer", ADJ, "--label", "include",
              "--note", "population fits", *loc)
    assert "adjudicator" in out
    with _open(tmp_path, db_url) as review, review.transaction() as s:
        last = repo.decision_log(s)[-1]
    assert (last.record_id, last.reviewer, last.reviewer_role, last.label, last.note) == (
        ids[1], ADJ, Role.ADJUDICATOR, Label.INCLUDE, "population fits")
    again = CliRunner().invoke(main, ["conflicts", "--json", "--reviewer", ADJ, *loc])
    assert again.stderr == ""  # said once, when it happened
    remaining = json.loads(again.stdout)
    assert [c["record_id"] for c in remaining] == [ids[3]]
    assert "Trial 3" in run("conflicts", "--reviewer", "bob", *loc)
    text = run("status", *loc)  # the adjudicator resolved conflicts, screened nothing
    assert f"{ADJ}: resolved 1 conflict (adjudicator; include 1)" in text
    assert f"{ADJ}: 1 screened" not in text and "    ann: 4 screened" in text
    rows = json.loads(run("status", "--json", *loc))["screened"]
    assert {r["reviewer"]: r["role"] for r in rows} == {
        "ann": "screener", "bob": "screener", ADJ: "adjudicator"}

    report = json.loads(run("agreement", "--json", "--stage", "title_abstract", *loc))
    (pair,) = report["pairs"]
    assert pair["reviewers"] == ["ann", "bob"] and pair["table"] == [[1, 1], [1, 1]]
    assert pair["percent_agreement"] == pytest.approx(50.0) and pair["kappa"] == pytest.approx(0.0)
    assert pair["pabak"] == pytest.approx(0.0) and pair["kappa_ci95"] is None  # 4 records
    text = run("agreement", *loc)
    assert "kappa 0.000" in text and "(rows: ann, columns: bob)" in text


def test_listing_conflicts_says_how_many_records_blinding_ends_for(
        tmp_path: Path, db_url: str | None) -> None:
    # the UI asked "including on the 2 records not yet screened by all their reviewers"
    # before listing; the CLI's note said "records" without how many
    loc, ids = setup(tmp_path, db_url, n=6)
    screen(tmp_path, db_url, ids)
    with _open(tmp_path, db_url) as review:
        record_decision(review, ids[4], "ann", Label.INCLUDE)   # bob's still missing
    listed = CliRunner().invoke(main, ["conflicts", "--reviewer", ADJ, *loc])
    assert listed.exit_code == 0, listed.output
    assert ("decisions made from now on, including on the 2 records not yet screened by "
            "all their reviewers, are made unblinded") in listed.stderr


def test_the_blinding_note_leaves_out_records_when_all_are_screened(
        tmp_path: Path, db_url: str | None) -> None:
    loc, ids = setup(tmp_path, db_url)
    screen(tmp_path, db_url, ids)
    listed = CliRunner().invoke(main, ["conflicts", "--reviewer", ADJ, *loc])
    assert "blinding there has ended: decisions made from now on are made unblinded" in (
        listed.stderr)


def test_a_first_resolution_says_it_ended_blinding(tmp_path: Path, db_url: str | None) -> None:
    # the adjudicator resolves a conflict they were told of before listing any: that
    # starts reconciliation (blinding ends for everyone) as listing does, and says so
    loc, ids = setup(tmp_path, db_url, n=5)
    screen(tmp_path, db_url, ids)   # the fifth record is screened by nobody yet
    first = CliRunner().invoke(main, ["resolve", str(ids[1]), "--reviewer", ADJ,
                                      "--label", "include", *loc])
    assert first.exit_code == 0, first.output
    assert "reconciliation at title_abstract has started" in first.stderr
    assert "blinding there has ended" in first.stderr
    assert "including on the 1 record not yet screened by all their reviewers" in first.stderr
    assert json.loads(run("status", "--json", "--reviewer", "ann", *loc))["blind"] is False
    again = CliRunner().invoke(main, ["resolve", str(ids[3]), "--reviewer", ADJ,
                                      "--label", "exclude", *loc])
    assert again.exit_code == 0 and again.stderr == ""  # said once, when it happened


def test_the_adjudicators_decide_says_it_ended_blinding_as_resolve_does(
        tmp_path: Path, db_url: str | None) -> None:
    # decide by the adjudicator resolves as `resolve` does, and so ends blinding for the
    # whole stage: it printed only its decision line, and the event log alone told
    loc, ids = setup(tmp_path, db_url, n=5)
    screen(tmp_path, db_url, ids)   # the fifth record is screened by nobody yet
    first = CliRunner().invoke(main, ["decide", str(ids[1]), "--reviewer", ADJ,
                                      "--label", "include", *loc])
    assert first.exit_code == 0, first.output
    assert f"record {ids[1]} include by {ADJ} (adjudicator) at title_abstract" in first.stdout
    assert ("blinding there has ended: decisions made from now on, including on the 1 "
            "record not yet screened by all their reviewers, are made unblinded") in (
        first.stderr)
    again = CliRunner().invoke(main, ["decide", str(ids[3]), "--reviewer", ADJ,
                                      "--label", "exclude", *loc])
    assert again.exit_code == 0 and again.stderr == ""  # said once, when it happened
    screener = CliRunner().invoke(main, ["decide", str(ids[4]), "--reviewer", "ann",
                                         "--label", "include", *loc])
    assert "(adjudicator)" not in screener.stdout and screener.stderr == ""


def test_allocate(tmp_path: Path, db_url: str | None) -> None:
    loc, ids = setup(tmp_path, db_url, 10)
    result = CliRunner().invoke(main, ["allocate", "--reviewers", "ann,bob", "--overlap", "20%",
                                       "--seed", "5", "--json", *loc])
    assert "8 of the 10 records get one screener" in result.stderr  # a dual protocol
    data = json.loads(result.stdout)
    assert data == {"stage": "title_abstract", "seed": 5, "overlap": 0.2, "records": 10,
                    "double_screened": 2, "screeners_per_shared_record": 2,
                    "per_reviewer": {"ann": 6, "bob": 6}}
    carl = CliRunner().invoke(main, ["next", "--reviewer", "carl", "--new-reviewer", "--json",
                                     *loc])
    assert json.loads(carl.stdout) is None  # every record is allocated to ann or bob
    assert "gives carl no records" in carl.stderr  # (stdout stays JSON)
    for bad in (["--overlap", "lots"], ["--overlap", "150%"]):
        out = run("allocate", "--reviewers", "ann,bob", *bad, *loc, code=2)
        assert out.count("error:") == 1
    out = run("allocate", "--reviewers", f"ann,{ADJ}", *loc, code=2)
    assert "adjudicator" in out


def test_allocate_echoes_the_overlap_as_a_percentage_and_refuses_ambiguous_shares(
        tmp_path: Path) -> None:
    """`--overlap 0.2%` double-screened 0.2 percent of the records (none of 10), said nowhere,
    where 20% was likely meant; `--overlap 1` gave 100%, perhaps meant as 1%. The output
    names the share as a percentage with its count; forms that read two ways are refused."""
    loc, _ = setup(tmp_path, None, 10)
    out = run("allocate", "--reviewers", "ann,bob", "--overlap", "0.2", "--seed", "5", *loc)
    assert "2 double-screened, 8 single; overlap 20% of records (n = 2)" in out
    out = run("allocate", "--reviewers", "ann,bob", "--overlap", "30%", "--seed", "5", *loc)
    assert "overlap 30% of records (n = 3)" in out
    for given, fragment in (
            ("0.2%", "--overlap 0.2% reads as 0.2 percent (1 record in 500), not 20%"),
            ("1", "--overlap 1 reads two ways, 100% or 1%: write 100% (every record "
                  "screened by two) or 1%"),
            ("20", "--overlap 20 is not a fraction from 0 to 1: write 20% or 0.2")):
        out = run("allocate", "--reviewers", "ann,bob", "--overlap", given, *loc, code=2)
        assert out.count("error:") == 1 and fragment in " ".join(out.split()), out
    # a share under 1% is written as a fraction, and echoed as the percentage it is
    out = run("allocate", "--reviewers", "ann,bob", "--overlap", "0.002", "--seed", "5", *loc)
    assert "overlap 0.2% of records (n = 0)" in out


def test_export_reviewer_and_merge(tmp_path: Path, db_url: str | None) -> None:
    loc, ids = setup(tmp_path, db_url)
    with _open(tmp_path, db_url) as review:
        record_decision(review, ids[0], "ann", Label.INCLUDE)
        record_decision(review, ids[0], "bob", Label.EXCLUDE)
    laptop = tmp_path / "laptop"
    out = run("export-reviewer", str(laptop), "--reviewer", "bob", *loc)
    assert "4 records, 1 decision by bob" in out
    run("export-reviewer", str(laptop), "--reviewer", "bob", *loc, code=2)
    # bob screens offline with the ordinary commands
    offline = ["--review", str(laptop)]
    first = json.loads(run("next", "--reviewer", "bob", "--json", *offline))
    assert first["record_id"] == ids[1]
    run("decide", str(ids[1]), "--reviewer", "bob", "--label", "exclude", *offline)
    data = json.loads(run("status", "--json", "--reviewer", "bob", *offline))
    assert {d["reviewer"] for d in data["screened"]} == {"bob"}

    assert "merged 1 new decision by bob; 1 already present" in run("merge", str(laptop), *loc)
    assert "merged 0 new decisions; 2 already present" in run("merge", str(laptop), *loc)
    with _open(tmp_path, db_url) as review, review.transaction() as s:
        assert repo.count_decisions(s) == 3
    run("merge", str(tmp_path / "nowhere"), *loc, code=2)
    # the decision log says which row came from the copy (blinding over: ann's too)
    run("conflicts", "--reviewer", ADJ, *loc)
    run("export", "log", "--out", str(tmp_path / "log.csv"), *loc)
    with (tmp_path / "log.csv").open(encoding="utf-8", newline="") as handle:
        rows = [(r["reviewer"], r["record_id"], r["merged_from"])
                for r in csv.DictReader(handle)]
    assert rows == [("ann", str(ids[0]), ""), ("bob", str(ids[0]), ""),
                    ("bob", str(ids[1]), str(laptop.resolve()))]


def test_merging_plain_copies_both_ways_says_what_it_left_out(tmp_path: Path) -> None:
    # B is a plain copy of A; ann includes record 1 in A and changes it to exclude in B
    import shutil

    loc, ids = setup(tmp_path, None)
    shutil.copytree(tmp_path / "rev", tmp_path / "B")
    b = ["--review", str(tmp_path / "B")]
    run("decide", str(ids[0]), "--reviewer", "ann", "--label", "include", "--new-reviewer", *loc)
    run("decide", str(ids[0]), "--reviewer", "ann", "--label", "exclude", "--reason",
        "population", "--new-reviewer", *b)
    assert "merged 1 new decision by ann" in run("merge", str(tmp_path / "B"), *loc)
    out = run("merge", str(tmp_path / "rev"), *b)
    assert "merged 0 new decisions; 1 already present" in out
    assert ("left out, as the copy's own later decisions (already in this review) replace "
            f"them: earlier decisions (ann: {ids[0]})") in out
    for folder in ("rev", "B"):
        with open_review(tmp_path / folder) as review, review.transaction() as s:
            assert [(d.record_id, d.label) for d in repo.current_decisions(s)] == [
                (ids[0], Label.EXCLUDE)]


def test_every_team_command_has_help() -> None:
    for command in ("allocate", "conflicts", "resolve", "agreement", "export-reviewer", "merge"):
        out = run(command, "--help")
        assert "Usage:" in out and len(out.splitlines()) > 4


@pytest.mark.parametrize("what", [["log"], ["log", "--format", "jsonl"],
                                  ["records", "--label", "all"]])
def test_an_export_for_a_reviewer_nobody_is_refused(tmp_path: Path, db_url: str | None,
                                                    what: list[str]) -> None:
    # `export log --reviewer nobody` wrote an empty file with exit 0, and `export records
    # --reviewer nobody` exported records as if for a reviewer
    loc, ids = setup(tmp_path, db_url)
    screen(tmp_path, db_url, ids)
    out_file = tmp_path / "out.txt"
    out = run("export", *what, "--reviewer", "nobody", "--out", str(out_file), *loc, code=2)
    assert out.count("error:") == 1 and "Traceback" not in out
    # the review is blind, but `status` names every reviewer too: names are not hidden
    assert "'nobody' is not a reviewer of this review" in out
    assert "'ann', 'bob', 'Adjudicator'" in out
    assert "names are matched exactly: --reviewer ann" in run(
        "export", *what, "--reviewer", "ANN", "--out", str(out_file), *loc, code=2)
    assert not out_file.exists()
    run("export", *what, "--reviewer", "ann", "--out", str(out_file), *loc)
    assert out_file.exists()
    # the adjudicator named by the protocol is known before deciding anything
    run("export", *what, "--reviewer", ADJ, "--out", str(tmp_path / "adj.txt"), *loc)


def _records_csv(path: Path) -> dict[int, dict[str, str]]:
    import csv

    with path.open(encoding="utf-8", newline="") as fh:
        return {int(row["id"]): row for row in csv.DictReader(fh)}


def test_export_records_reviewer_is_always_their_own_decisions(tmp_path: Path,
                                                               db_url: str | None) -> None:
    # the tester's dual review: bob excluded record 1, the adjudicator resolved it include;
    # ann included record 6 (bob excluded it too: a conflict not resolved yet); record 2
    # both excluded, for different reasons
    loc, ids = setup(tmp_path, db_url, n=6)
    r1, r2, r3, r4, r5, r6 = ids
    decisions = {  # record: (ann, bob) as (label, reason)
        r1: (("include", None), ("exclude", "population")),
        r2: (("exclude", "population"), ("exclude", "design")),
        r3: (("include", None), ("include", None)),
        r4: (("include", None), ("include", None)),
        r5: (("exclude", "design"), ("exclude", "design")),
        r6: (("include", None), ("exclude", "intervention"))}
    with _open(tmp_path, db_url) as review:
        for rid, pair in decisions.items():
            for name, (label, reason) in zip(("ann", "bob"), pair, strict=True):
                record_decision(review, rid, name, Label(label), reason_id=reason,
                                note=f"{name} on {rid}")

    def export(who: str, label: str, stage: str = "title_abstract") -> dict[int, dict[str, str]]:
        out = tmp_path / f"{who}-{label}.csv"
        args = ["--reviewer", who] if who != "all" else []
        run("export", "records", "--label", label, "--format", "csv", "--stage", stage,
            *args, "--out", str(out), "--force", *loc)
        return _records_csv(out)

    def own(name: str, label: str) -> set[int]:
        return {rid for rid, pair in decisions.items()
                if pair[("ann", "bob").index(name)][0] == label}

    before = {(who, label): export(who, label) for who in ("ann", "bob")
              for label in ("include", "exclude")}
    run("conflicts", "--reviewer", ADJ, *loc)  # reconciliation starts
    run("resolve", str(r1), "--reviewer", ADJ, "--label", "include", *loc)
    for who in ("ann", "bob"):
        for label in ("include", "exclude"):
            rows = export(who, label)
            # their own decisions, as before reconciliation: not the combined outcome
            assert set(rows) == own(who, label) == set(before[(who, label)]), (who, label)
            assert rows == before[(who, label)]
    bob = export("bob", "exclude")
    assert bob[r1]["reason"] == "Wrong population" and bob[r1]["note"] == f"bob on {r1}"
    assert bob[r2]["reason"] == "Wrong study design"  # his own, not ann's
    assert r1 not in export("bob", "include") and r6 in export("ann", "include")
    # the combined outcome is what the export without --reviewer gives
    combined = export("all", "include")
    assert set(combined) == {r1, r3, r4}
    excluded = export("all", "exclude")
    # excluded by both for different reasons: both reasons, neither dropped
    assert excluded[r2]["reason"] == "Wrong population; Wrong study design"
    assert excluded[r2]["note"] == f"ann: ann on {r2} | bob: bob on {r2}"
    assert excluded[r5]["reason"] == "Wrong study design"  # the same reason once


def test_status_says_the_stopping_rule_is_moot_once_every_record_is_screened(
        tmp_path: Path, db_url: str | None) -> None:
    loc, ids = setup(tmp_path, db_url, n=1)
    with _open(tmp_path, db_url) as review:
        record_decision(review, ids[0], "ann", Label.EXCLUDE)
        text = run("status", "--reviewer", "ann", *loc)
        assert "title_abstract: 1 record at this stage" in text  # not "1 records"
        assert "moot" not in text  # bob has not screened it yet
        record_decision(review, ids[0], "bob", Label.EXCLUDE)
    run("conflicts", "--reviewer", ADJ, *loc)  # reconciliation starts (no conflicts)
    final = json.loads(run("export", "prisma", "--format", "json", "--out",
                           str(tmp_path / "p.json"), *loc) and (tmp_path / "p.json").read_text())
    assert final["final"] is True
    text = run("status", *loc)
    assert "every record has been screened (the stopping rule is moot)" in text
    assert "stopping rule is not met" not in text
    data = json.loads(run("status", "--json", *loc))
    assert data["stopping"]["every_record_screened"] is True


def test_status_names_the_conflicts_still_open_when_the_stopping_rule_is_moot(
        tmp_path: Path, db_url: str | None) -> None:
    """Screening is over, but the methods are not final until the adjudicator has
    resolved the conflict: status says so beside 'moot' (the report says DRAFT)."""
    loc, ids = setup(tmp_path, db_url, n=2)
    with _open(tmp_path, db_url) as review:
        for rid in ids:
            record_decision(review, rid, "ann", Label.EXCLUDE)
        record_decision(review, ids[0], "bob", Label.EXCLUDE)
        record_decision(review, ids[1], "bob", Label.INCLUDE)
    run("conflicts", "--reviewer", ADJ, *loc)
    assert ("every record has been screened (the stopping rule is moot; 1 conflict still "
            "awaits resolution)") in run("status", *loc)
    run("resolve", str(ids[1]), "--reviewer", ADJ, "--label", "exclude", *loc)
    assert "(the stopping rule is moot)" in run("status", *loc)


def test_allocating_single_screening_in_a_dual_review_warns(tmp_path: Path,
                                                            db_url: str | None) -> None:
    # allocate's default --overlap 0% quietly made a dual protocol single screening
    loc, _ = setup(tmp_path, db_url, n=10)
    out = run("allocate", "--reviewers", "ann,bob", "--seed", "5", *loc)
    assert ("warning: the protocol asks for two reviewers per record, but 10 of the 10 "
            "records get one screener (--overlap 0%)") in out and "--overlap 100%" in out
    out = run("allocate", "--reviewers", "ann,bob", "--overlap", "100%", "--seed", "5", *loc)
    assert "warning" not in out and "10 double-screened, 0 single" in out


def test_allocating_again_says_what_it_replaces_and_keeps_decided_records(
        tmp_path: Path, db_url: str | None) -> None:
    # allocated again mid-screening with no overlap, record 6 went to bob alone: its
    # conflict vanished (alice's include became the outcome) and allocate said nothing
    loc, ids = setup(tmp_path, db_url, n=20)
    out = run("allocate", "--reviewers", "alice,bob", "--overlap", "100%", *loc)
    assert "replaces" not in out
    rid = ids[5]
    with _open(tmp_path, db_url) as review:
        record_decision(review, rid, "bob", Label.EXCLUDE)
        record_decision(review, rid, "alice", Label.INCLUDE)
    out = run("allocate", "--reviewers", "alice,bob", "--overlap", "0%", "--seed", "1", *loc)
    assert "replaces the allocation made 20" in out and " UTC" in out
    assert ("1 record keeps the screeners who had already decided it (a conflict stays "
            "one until the adjudicator resolves it)") in out
    assert "1 double-screened, 19 single" in out and "19 of the 20 records get one" in out
    assert f"[{rid}]" in run("conflicts", "--reviewer", ADJ, *loc)
    events = run("log", "events", *loc)
    assert "1 kept the screeners who had decided it" in events


def test_allocating_a_three_reviewer_protocol_gives_shared_records_three(
        tmp_path: Path) -> None:
    # reviewers_per_record: 3: allocate gave each record two screeners, and a record two
    # of them agreed on was settled, below the registered protocol's three
    import yaml

    data = yaml.safe_load(Path(DUAL).read_text())
    data["screening"]["reviewers_per_record"] = 3
    (tmp_path / "p3.yaml").write_text(yaml.safe_dump(data))
    run("init", str(tmp_path / "rev"), "--protocol", str(tmp_path / "p3.yaml"))
    with _open(tmp_path, None) as review, review.transaction() as s:
        source = repo.add_source(s, name="Test", kind="database")
        repo.add_records(s, source, [Record(title=f"Record {i}") for i in range(4)])
    loc = ["--review", str(tmp_path / "rev")]
    out = run("allocate", "--reviewers", "ann,bob,dan", "--overlap", "100%", *loc)
    assert "allocated 4 records at title_abstract (seed 42): 4 screened by three, 0 single" in out
    assert "warning" not in out and "ann: 4" in out and "dan: 4" in out
    out = run("allocate", "--reviewers", "ann,bob,dan", "--overlap", "50%", *loc)
    assert ("warning: the protocol asks for three reviewers per record, but 2 of the 4 "
            "records get one screener (--overlap 50%)") in out and "screened by three" in out
    out = run("allocate", "--reviewers", "ann,bob", "--overlap", "100%", *loc, code=2)
    assert ("an overlap needs at least three reviewers (the protocol asks for three per "
            "record); two were given") in out
    # `--overlap 1`'s refusal said 'every record screened by two' of a three-per-record review
    out = " ".join(run("allocate", "--reviewers", "ann,bob,dan", "--overlap", "1", *loc,
                       code=2).split())
    assert ("--overlap 1 reads two ways, 100% or 1%: write 100% (every record screened by "
            "three) or 1%") in out, out


def test_a_screener_who_left_an_allocation_is_replaced_as_status_advises(
        tmp_path: Path, db_url: str | None) -> None:
    """Three per record, allocated to ann, bob and cat; cat left after one record. A new
    reviewer's `next` said 'nothing left to screen' (exit 0, as when screening is over)
    although three records waited, and status's advice to allocate again did not say that
    a name new to the review needs --new-reviewer. `next` now says the allocation gives
    the reviewer none of its records and what the lead can do; the advice, followed, ends
    the wait."""
    import yaml

    data = yaml.safe_load(Path(DUAL).read_text())
    data["screening"].update(reviewers_per_record=3, blind=False)
    (tmp_path / "p3.yaml").write_text(yaml.safe_dump(data))
    run("init", str(tmp_path / "rev"), "--protocol", str(tmp_path / "p3.yaml"),
        *(["--db", db_url] if db_url else []))
    loc = ["--db", db_url] if db_url else ["--review", str(tmp_path / "rev")]
    with _open(tmp_path, db_url) as review, review.transaction() as s:
        source = repo.add_source(s, name="Test", kind="database")
        ids = repo.add_records(s, source, [Record(title=f"Record {i}") for i in range(4)])
    run("allocate", "--reviewers", "ann,bob,cat", "--overlap", "100%", *loc)
    for rid in ids:
        for who in ("ann", "bob", "cat") if rid == ids[0] else ("ann", "bob"):
            run("decide", str(rid), "--reviewer", who, "--label", "exclude", *loc)
    advice = " ".join(run("status", *loc).split())
    assert ("3 records wait for a reviewer who has not decided them (if a screener has "
            "left, `screener allocate` again, naming another reviewer in their place (add "
            "--new-reviewer for a name the review has not seen; a reviewer the allocation "
            "leaves out is offered none of its records)") in advice, advice
    out = " ".join(run("next", "--reviewer", "dave", "--new-reviewer", *loc).split())
    assert out.startswith("nothing left to screen")
    assert ("note: the allocation in force at title_abstract gives dave no records; 3 "
            "records it gives others wait for screeners (if one has left, `screener "
            "allocate` again naming dave in their place)") in out, out
    # the advice, followed: a name the review has not seen needs --new-reviewer
    refused = run("allocate", "--reviewers", "ann,bob,eve", "--overlap", "100%", *loc, code=2)
    assert "add --new-reviewer" in refused
    run("allocate", "--reviewers", "ann,bob,eve", "--overlap", "100%", "--new-reviewer", *loc)
    for _ in ids[1:]:
        rid = json.loads(run("next", "--reviewer", "eve", "--json", *loc))["record_id"]
        run("decide", str(rid), "--reviewer", "eve", "--label", "exclude", *loc)
    assert json.loads(run("status", "--json", *loc))["waiting_for_reviewer"] == 0
    assert "nothing left to screen\n" == run("next", "--reviewer", "dave", *loc)


def _single_screening_review(tmp_path: Path, n: int) -> list[str]:
    """A review of the minimal protocol (single screening, no adjudicator) with n records."""
    minimal = str(Path(DUAL).parent / "minimal.yaml")
    run("init", str(tmp_path / "rev"), "--protocol", minimal)
    with _open(tmp_path, None) as review, review.transaction() as s:
        source = repo.add_source(s, name="Test", kind="database")
        repo.add_records(s, source, [Record(title=f"Record {i}") for i in range(n)])
    return ["--review", str(tmp_path / "rev")]


def test_allocating_an_overlap_without_an_adjudicator_warns(tmp_path: Path) -> None:
    loc = _single_screening_review(tmp_path, 10)
    out = run("allocate", "--reviewers", "ann,bob", "--overlap", "20%", "--seed", "5", *loc)
    assert "warning: 2 records are double-screened, but the protocol names no adjudicator" in out
    out = run("allocate", "--reviewers", "ann,bob", "--seed", "5", *loc)   # no overlap
    assert "warning" not in out


def test_allocating_one_record_says_record(tmp_path: Path) -> None:
    # allocate said "1 records" in its line and in both warnings
    loc = _single_screening_review(tmp_path, 1)
    out = run("allocate", "--reviewers", "ann,bob", "--overlap", "100%", "--seed", "5", *loc)
    assert "warning: 1 record is double-screened, but the protocol" in out
    assert "allocated 1 record at title_abstract (seed 5): 1 double-screened, 0 single" in out
    loc, _ = setup(tmp_path / "dual", None, n=2)
    out = run("allocate", "--reviewers", "ann,bob", "--overlap", "50%", "--seed", "5", *loc)
    assert "but 1 of the 2 records gets one screener (--overlap 50%)" in out


def test_decide_refuses_a_name_new_to_a_review_that_has_reviewers(
        tmp_path: Path, db_url: str | None) -> None:
    # `decide 1 --reviewer anne` (meaning ann) registered anne as a second screener of
    # record 1, silently
    loc, ids = setup(tmp_path, db_url)
    run("decide", str(ids[0]), "--reviewer", "ann", "--label", "include", *loc)  # a new review
    out = run("decide", str(ids[0]), "--reviewer", "anne", "--label", "include", *loc, code=2)
    assert out.count("error:") == 1 and "'anne' has not screened in this review" in out
    assert "'ann'" in out and "--new-reviewer" in out and "Nothing was changed" in out
    names = {r["name"] for r in json.loads(run("status", "--json", *loc))["reviewers"]}
    assert names == {"ann"}
    run("decide", str(ids[0]), "--reviewer", "bob", "--new-reviewer", "--label", "exclude",
        *loc)
    run("decide", str(ids[1]), "--reviewer", "bob", "--label", "exclude", *loc)  # known now
    names = {r["name"] for r in json.loads(run("status", "--json", *loc))["reviewers"]}
    assert names == {"ann", "bob"}


def test_screen_refuses_a_name_new_to_a_review_that_has_reviewers(
        tmp_path: Path, db_url: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    # `screen --reviewer bobb` opened the UI and registered bobb as a third screener
    import screener.cli.screen
    import screener.tui.app

    opened: list[str] = []
    monkeypatch.setattr(screener.cli.screen, "_need_terminal", lambda: None)
    monkeypatch.setattr(screener.tui.app, "run_app",
                        lambda review, reviewer, *a, **k: opened.append(reviewer))
    loc, ids = setup(tmp_path, db_url)
    run("screen", "--reviewer", "ann", *loc)  # a new review: any name
    screen(tmp_path, db_url, ids)
    out = run("screen", "--reviewer", "bobb", *loc, code=2)
    assert out.count("error:") == 1 and "'bobb' has not screened in this review" in out
    assert "'ann', 'bob'" in out and "--new-reviewer" in out
    run("screen", "--reviewer", " bob", *loc)
    run("screen", "--reviewer", ADJ, *loc)
    assert "use --reviewer bob" in run("screen", "--reviewer", "Bob", "--new-reviewer", *loc,
                                       code=2)
    run("screen", "--reviewer", "carl", "--new-reviewer", *loc)
    assert opened == ["ann", "bob", ADJ, "carl"]  # never for bobb or Bob
    names = {r["name"] for r in json.loads(run("status", "--json", *loc))["reviewers"]}
    assert "bobb" not in names and "Bob" not in names


def test_agreement_gives_fleiss_kappa_for_three_screeners(tmp_path: Path,
                                                          db_url: str | None) -> None:
    protocol = tmp_path / "three.yaml"
    protocol.write_text(Path(DUAL).read_text(encoding="utf-8")
                        .replace("reviewers_per_record: 2", "reviewers_per_record: 3")
                        .replace("blind: true", "blind: false"), encoding="utf-8")
    run("init", str(tmp_path / "rev"), "--protocol", str(protocol),
        *(["--db", db_url] if db_url else []))
    loc = ["--db", db_url] if db_url else ["--review", str(tmp_path / "rev")]
    with _open(tmp_path, db_url) as review:
        with review.transaction() as s:
            source = repo.add_source(s, name="PubMed", kind="database")
            ids = repo.add_records(s, source, [Record(title=f"Trial {i}") for i in range(4)])
        for rid, votes in zip(ids, ("iii", "eee", "iie", "eei"), strict=True):
            for who, vote in zip(("ann", "bob", "carl"), votes, strict=True):
                record_decision(review, rid, who,
                                Label.INCLUDE if vote == "i" else Label.EXCLUDE)
    text = run("agreement", *loc)
    assert "ann vs bob" in text and "bob vs carl" in text  # Cohen's kappa per pair is kept
    assert "title_abstract: 4 records each screened by 3 reviewers (of ann, bob, carl)" in text
    assert "Fleiss' kappa 0.33" in text, text
    (group,) = json.loads(run("agreement", "--json", *loc))["fleiss"]
    assert group["fleiss_kappa"] == pytest.approx(1 / 3) and group["n"] == 4
    assert group["reviewers_per_record"] == 3 and group["reviewers"] == ["ann", "bob", "carl"]


def test_conflicts_indents_a_notes_later_lines_under_the_note(tmp_path: Path,
                                                              db_url: str | None) -> None:
    # a note of two lines had its second line printed flush left, where it read as a new
    # record's row
    loc, ids = setup(tmp_path, db_url, n=1)
    with _open(tmp_path, db_url) as review:
        record_decision(review, ids[0], "ann", Label.INCLUDE,
                        note="dose unclear\nask the authors")
        record_decision(review, ids[0], "bob", Label.EXCLUDE)
    listed = CliRunner().invoke(main, ["conflicts", "--reviewer", ADJ, *loc])
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()  # (stderr: the note that blinding ends)
    ann = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ann:"))
    assert lines[ann].endswith(" - dose unclear")
    assert lines[ann + 1].strip() == "ask the authors"
    assert lines[ann + 1].index("ask") == lines[ann].index("dose")
    assert [line for line in lines if not line.startswith(" ")] == [f"[{ids[0]}] Trial 0"]


def test_allocate_refuses_a_name_new_to_a_review_that_has_reviewers(
        tmp_path: Path, db_url: str | None) -> None:
    # `allocate --reviewers ann,bbo` (meaning bob) gave half of bob's records to 'bbo'
    loc, ids = setup(tmp_path, db_url, 6)
    screen(tmp_path, db_url, ids[:1])
    out = run("allocate", "--reviewers", "ann,bbo", "--overlap", "100%", *loc, code=2)
    assert out.count("error:") == 1
    assert ("--reviewers 'bbo' has not screened in this review (its reviewers: 'ann', 'bob', "
            "'Adjudicator'); did you mean bob? check the spelling, or add --new-reviewer to "
            "allocate records to 'bbo'. Nothing was changed") in out
    with _open(tmp_path, db_url) as review, review.read() as s:
        assert repo.latest_allocation(s, Stage.TITLE_ABSTRACT) is None
    out = run("allocate", "--reviewers", "ann,bob,cat", "--new-reviewer", "--overlap", "100%",
              *loc)
    assert "  cat: " in out
    run("allocate", "--reviewers", "ann,bob,cat", "--overlap", "100%", *loc)  # known now


def test_decide_on_a_settled_record_names_no_screener_while_blind(
        tmp_path: Path, db_url: str | None) -> None:
    # carl's refused decision said 'already settled at title_abstract by ann and bob',
    # telling who screened the record while title/abstract is blind
    loc, ids = setup(tmp_path, db_url)
    screen(tmp_path, db_url, ids[:1])
    out = run("decide", str(ids[0]), "--reviewer", "carl", "--new-reviewer", "--label",
              "include", *loc, code=2)
    assert (f"record {ids[0]} is already settled at title_abstract by other reviewers (it "
            "needs 2 reviewers)") in out
    assert "ann" not in out and "bob" not in out


def test_decide_warns_when_it_makes_an_agreed_record_a_conflict_again(
        tmp_path: Path, db_url: str | None) -> None:
    """The screen asks before a change undoes an agreement once reconciliation has begun;
    `decide` stored it silently: a new conflict nobody was told of."""
    loc, ids = setup(tmp_path, db_url)
    screen(tmp_path, db_url, ids)                     # ids[0]: both include; ids[2]: both exclude
    run("conflicts", "--reviewer", ADJ, *loc)
    changed = CliRunner().invoke(main, ["decide", str(ids[0]), "--reviewer", "ann",
                                        "--label", "exclude", *loc])
    assert changed.exit_code == 0, changed.output
    said = " ".join(changed.stderr.split())
    assert said.startswith(f"warning: Record {ids[0]}: you and bob agreed (include)"), said
    assert "makes it a conflict with bob" in said, said
    assert ids[0] in [c["record_id"] for c in json.loads(
        run("conflicts", "--json", "--reviewer", ADJ, *loc))]
    same = CliRunner().invoke(main, ["decide", str(ids[2]), "--reviewer", "ann", "--label",
                                     "exclude", "--note", "no control group", *loc])
    assert same.exit_code == 0 and same.stderr == "", same.output


def test_agreement_and_the_report_mark_a_reviewer_whose_decisions_were_partly_imported(
        tmp_path: Path) -> None:
    """Ann's decisions on three records imported from a Covidence export, two more made in
    screener; Bob and Cat screen all five (three per record). `screener agreement` listed
    Ann unmarked, the report's Fleiss' κ sentence too, and Table 1's note said "Ann's
    decisions were imported" though two of her five were made here. Both mark her † and
    say how many were imported."""
    protocol = tmp_path / "three.yaml"
    protocol.write_text(Path(DUAL).read_text().replace("reviewers_per_record: 2",
                                                       "reviewers_per_record: 3")
                        .replace("blind: true", "blind: false"))
    rev = str(tmp_path / "rev")
    run("init", rev, "--protocol", str(protocol))
    covidence = REPO / "tests" / "data" / "formats" / "csv" / "covidence_maybe_sample.csv"
    run("import", str(covidence), "--labels-as", "Ann", "--source", "MEDLINE", "--review", rev)
    more = tmp_path / "more.csv"
    more.write_text("title,abstract\nA fourth trial,x\nA fifth trial,y\n", encoding="utf-8")
    run("import", str(more), "--source", "Embase", "--review", rev)
    with open_review(rev) as review:
        with review.read() as s:
            ids = sorted(repo.record_sources(s))
            ann_has = {d.record_id for d in repo.current_decisions(s)}
        for rid in ids:
            for who in ("Ann", "Bob", "Cat"):
                if who != "Ann" or rid not in ann_has:
                    record_decision(review, rid, who,
                                    Label.INCLUDE if (rid + len(who)) % 2 else Label.EXCLUDE)
    assert len(ids) == 5 and len(ann_has) == 3
    out = run("agreement", "--review", rev)
    assert "title_abstract: Ann† vs Bob, 5 records" in out, out
    assert "title_abstract: Bob vs Cat, 5 records" in out
    assert "5 records each screened by 3 reviewers (of Ann†, Bob, Cat)" in out
    assert ("† 3 of the 5 of Ann's title/abstract decisions counted here were imported (import --labels-as), not made in "
            "screener") in out
    data = json.loads(run("agreement", "--review", rev, "--json"))
    assert data["imported_labels"] == [{"reviewer": "Ann", "imported": 3, "decisions": 5}]
    run("report", "--review", rev, "--out", str(tmp_path / "report.md"))
    text = " ".join((tmp_path / "report.md").read_text().split())
    assert "| Title and abstract | Ann† and Bob | 5 |" in text
    assert "each screened by three reviewers (Ann†, Bob and Cat)" in text
    assert "† 3 of the 5 of Ann's title/abstract decisions in this table were imported from covidence\\_maybe\\_sample.csv" in text
