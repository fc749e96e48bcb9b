"""`screener simulate` as a user runs it: output files, options checked before any work."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from screener.cli import main

DATASET = Path(__file__).resolve().parents[1] / "data" / "ranking" / "CLEF2017_CD008760.csv.gz"


def test_simulate_writes_the_order_metrics_and_plot(tmp_path: Path) -> None:
    out, plot = tmp_path / "run.json", tmp_path / "run.svg"
    result = CliRunner().invoke(main, ["simulate", str(DATASET), "--seed", "3", "--output",
                                       str(out), "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    # the run ends at the last relevant record of the pool (62 records, 11 relevant)
    m = data["metrics"]
    assert (m["n_pool"], m["n_pool_included"]) == (62, 11)
    assert m["n_screened_at_100"] == len(data["order"]) < 62
    assert 0 < data["metrics"]["wss95"] < 1 and plot.read_text().startswith("<?xml")
    again = CliRunner().invoke(main, ["simulate", str(DATASET), "--seed", "4", "--output",
                                      str(out)])
    assert again.exit_code == 2 and "exists; pass --force" in again.output
    assert json.loads(out.read_text(encoding="utf-8")) == data  # kept
    forced = CliRunner().invoke(main, ["simulate", str(DATASET), "--seed", "4", "--output",
                                       str(out), "--force"])
    assert forced.exit_code == 0 and json.loads(out.read_text(encoding="utf-8")) != data


def test_simulate_takes_out_as_every_other_command_does(tmp_path: Path) -> None:
    """simulate wrote its JSON with --output where every other command says --out (a user
    typing --out got "No such option"); --output stays as a hidden alias."""
    out, old = tmp_path / "run.json", tmp_path / "old.json"
    run = ["simulate", str(DATASET), "--stop-after", "3"]
    assert CliRunner().invoke(main, [*run, "--out", str(out)]).exit_code == 0
    assert CliRunner().invoke(main, [*run, "--output", str(old)]).exit_code == 0
    assert json.loads(out.read_text())["metrics"] == json.loads(old.read_text())["metrics"]
    both = CliRunner().invoke(main, [*run, "--out", str(tmp_path / "a.json"), "--output",
                                     str(tmp_path / "b.json")])
    assert both.exit_code == 2 and "--output is --out's former name" in both.output
    shown = CliRunner().invoke(main, ["simulate", "--help"]).output
    assert "--out PATH" in shown and "--output" not in shown
    # `--output -` said "or leave --output out for the default": there is no default file
    for option in ("--out", "--output"):
        dash = CliRunner().invoke(main, [*run, option, "-"])
        assert dash.exit_code == 2 and "default" not in dash.output
        assert "--json prints the results on standard output" in dash.output


def test_simulate_stopped_early_does_not_invent_recall(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["simulate", str(DATASET), "--stop-after", "3", "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)["metrics"]
    # 10 % of the 62-record pool is 6 records; only 3 were presented, 11 relevant remain
    assert metrics["n_screened"] == 3 and metrics["recall_at_10pct"] is None


@pytest.mark.parametrize(("args", "fragment"), [
    (["--stop-after", "0"], "--stop-after"),
    (["--stop-after", "-1"], "--stop-after"),
    (["--n-prior-included", "-1"], "--n-prior-included"),
    (["--model", "bogus"], "'default'"),
])
def test_simulate_bad_options_exit_2(args: list[str], fragment: str) -> None:
    result = CliRunner().invoke(main, ["simulate", str(DATASET), *args])
    assert result.exit_code == 2 and fragment in result.output
    assert "Traceback" not in result.output


def _rows() -> list[dict[str, str]]:
    import csv
    import gzip

    with gzip.open(DATASET, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    import csv

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.parametrize(("change", "fragment"), [
    (lambda rows: rows[3].update(label_included="-1"), "line 5: label_included is '-1'"),
    (lambda rows: rows[3].update(label_included="2"), "every record needs a label, one of "
                                                      "1/0, yes/no, true/false, include/exclude"),
    (lambda rows: rows[3].update(label_included="maybe"), "line 5: label_included is 'maybe'"),
    (lambda rows: rows[3].update(label_included=" "), "line 5: label_included is empty"),
    (lambda rows: rows[3].update(record_id=rows[2]["record_id"]), "is also on line 4"),
    (lambda rows: rows[3].update(record_id=""), "line 5: record_id is empty"),
])
def test_simulate_refuses_bad_rows_with_their_line(tmp_path: Path, change: Any,
                                                   fragment: str) -> None:
    # a wrong label used to be counted silently (wrong metrics); a repeated id used to
    # appear twice in the order
    rows = _rows()
    change(rows)
    out = tmp_path / "run.json"
    result = CliRunner().invoke(main, ["simulate", str(_write(tmp_path / "d.csv", rows)),
                                       "--output", str(out)])
    assert result.exit_code == 2 and fragment in result.output, result.output
    assert not out.exists()


def test_simulate_refuses_priors_that_would_falsify_the_metrics(tmp_path: Path) -> None:
    twice = CliRunner().invoke(main, ["simulate", str(DATASET), "--prior", "18435461",
                                      "--prior", "18435461", "--prior", "19809355"])
    assert twice.exit_code == 2 and "18435461 given more than once" in twice.output
    rows = _rows()
    only = next(r for r in rows if r["label_included"] == "1")
    for r in rows:
        if r is not only:
            r["label_included"] = "0"
    path = _write(tmp_path / "one.csv", rows)
    alone = CliRunner().invoke(main, ["simulate", str(path), "--prior", only["record_id"],
                                      "--prior", "19809355"])
    assert alone.exit_code == 2 and "every relevant record" in alone.output
    drawn = CliRunner().invoke(main, ["simulate", str(path)])  # 1 relevant, drawn as prior
    assert drawn.exit_code == 2 and ("has 1 relevant record and --n-prior-included 1 "
                                     "would take them all as priors") in drawn.output
    assert "give --n-prior-included 0 (a cold start)" in drawn.output
    cold = CliRunner().invoke(main, ["simulate", str(path), "--n-prior-included", "0"])
    assert cold.exit_code == 0 and "not reached" not in cold.output, cold.output
    mixed = CliRunner().invoke(main, ["simulate", str(DATASET), "--prior", "18435461",
                                      "--prior", "19809355", "--n-prior-included", "2"])
    assert mixed.exit_code == 2 and "--n-prior-included cannot be used with --prior" in (
        mixed.output)


@pytest.mark.parametrize("case", ["folder", "dangling link", "link", "same path", "suffix"])
def test_simulate_outputs_are_checked_before_the_run(tmp_path: Path, case: str) -> None:
    target = tmp_path / "target.txt"
    target.write_text("keep me", encoding="utf-8")
    out, plot = tmp_path / "run.json", tmp_path / "run.svg"
    if case == "folder":
        out.mkdir()
    elif case == "dangling link":
        out.symlink_to(tmp_path / "missing.json")
    elif case == "link":
        out.symlink_to(target)
    elif case == "same path":
        plot = out
    else:
        plot = tmp_path / "run.xyz"
    result = CliRunner().invoke(main, ["simulate", str(DATASET), "--output", str(out),
                                       "--plot", str(plot), "--force"])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert target.read_text(encoding="utf-8") == "keep me"
    if case in ("same path", "suffix"):
        assert not out.exists()  # nothing written: the check comes before the run


def test_simulate_plot_formats_by_suffix(tmp_path: Path) -> None:
    for suffix, magic in ((".png", b"\x89PNG"), (".pdf", b"%PDF")):
        plot = tmp_path / f"run{suffix}"
        result = CliRunner().invoke(main, ["simulate", str(DATASET), "--plot", str(plot)])
        assert result.exit_code == 0, result.output
        assert plot.read_bytes().startswith(magic)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pdf", "run.png"]  # no temp left
    # and --help says so (it said SVG only); --json prints the timings too
    shown = " ".join(CliRunner().invoke(main, ["simulate", "--help"]).output.split())
    assert "SVG, PNG or PDF" in shown and "Print the metrics and timings as JSON" in shown


def test_cold_start_text_leaves_out_the_exclusion_criteria(tmp_path: Path) -> None:
    # `simulate --protocol` and a review share this text (protocol_text_of): inclusion criteria
    # and include terms, not the exclusion criteria (records matching those should come
    # last, not first). With no include prior, the first records presented are the cold
    # start's.
    import yaml

    from screener.protocol import read_protocol_file
    from screener.workflow.ranking import protocol_text_of

    data = {"title": "Capsule endoscopy for oesophageal varices",
            "criteria": [{"id": "I1", "type": "include", "text": "capsule endoscopy varices"},
                         {"id": "E1", "type": "exclude", "text": "review editorial letter"}],
            "exclusion_reasons": [{"id": "design", "label": "Wrong design", "key": "1"}]}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    text = protocol_text_of(read_protocol_file(path)[0])
    assert "capsule endoscopy varices" in text and "editorial" not in text


def test_simulate_never_writes_over_its_own_dataset(tmp_path: Path) -> None:
    import shutil

    dataset = tmp_path / "data.csv.gz"
    shutil.copyfile(DATASET, dataset)
    before = dataset.read_bytes()
    for option in ("--output", "--plot"):
        result = CliRunner().invoke(main, ["simulate", str(dataset), option, str(dataset),
                                           "--force"])
        assert result.exit_code == 2 and "is the dataset itself" in result.output
    assert dataset.read_bytes() == before


def test_simulate_names_a_folder_and_a_dataset_without_words(tmp_path: Path) -> None:
    folder = tmp_path / "data.csv"
    folder.mkdir()
    result = CliRunner().invoke(main, ["simulate", str(folder)])
    assert result.exit_code == 2 and "is a folder; give the dataset's CSV" in result.output
    empty = tmp_path / "empty.csv"
    empty.write_text("record_id,title,abstract,authors,year,journal,doi,pmid,label_included\n"
                     "1,,,,,,,,1\n2,,,,,,,,1\n3,,,,,,,,0\n4,,,,,,,,0\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["simulate", str(empty)])
    assert result.exit_code == 2 and "no words to learn from" in result.output


def test_simulate_applies_the_protocols_ranking_params(tmp_path: Path) -> None:
    # The dataset is CLEF 2017 topic CD008760 (capsule endoscopy for oesophageal varices).
    minimal = Path(__file__).resolve().parents[2] / "protocols" / "minimal.yaml"
    text = minimal.read_text().replace(
        '"My systematic review"',
        '"Capsule endoscopy for the diagnosis of oesophageal varices in chronic liver disease"')
    runs = {}
    for k in (0, 2):
        proto = tmp_path / f"p{k}.yaml"
        proto.write_text(text + f"ranking:\n  params: {{protocol_include: {k}}}\n")
        out = tmp_path / f"run{k}.json"
        result = CliRunner().invoke(main, ["simulate", str(DATASET), "--seed", "3",
                                           "--protocol", str(proto), "--output", str(out)])
        assert result.exit_code == 0, result.output
        runs[k] = json.loads(out.read_text(encoding="utf-8"))
    assert runs[2]["model"]["protocol_include"] == 2
    assert "protocol_include" not in runs[0]["model"]  # off: the default's configuration
    assert runs[2]["order"] != runs[0]["order"]


def test_simulate_names_every_problem_of_the_protocols_ranking_section(tmp_path: Path) -> None:
    """As `protocol check` does, with lines; not one of them blamed on --model."""
    minimal = Path(__file__).resolve().parents[2] / "protocols" / "minimal.yaml"
    proto = tmp_path / "p.yaml"
    proto.write_text(minimal.read_text()
                     + "ranking:\n  model: nosuch\n  params: {C: -1, foo: 2}\n")
    result = CliRunner().invoke(main, ["simulate", str(DATASET), "--protocol", str(proto)])
    assert result.exit_code == 2 and "--model" not in result.output, result.output
    for part in ("3 problems", "ranking.model: unknown model 'nosuch'",
                 "ranking.params.C:", "ranking.params.foo: unknown model parameter 'foo'"):
        assert part in result.output, (part, result.output)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs a folder no file can be made in")
def test_simulate_checks_every_destination_can_be_written_before_the_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # /proc exists but no file can be created in it: found only after the whole run, and
    # --output was written although the message said "nothing was written"
    import screener.ranking.simulate as sim

    ran: list[bool] = []
    real = sim.simulate
    monkeypatch.setattr(sim, "simulate", lambda *a, **k: ran.append(True) or real(*a, **k))
    out = tmp_path / "g.json"
    result = CliRunner().invoke(main, ["simulate", str(DATASET), "--output", str(out),
                                       "--plot", "/proc/x.svg"])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "--plot /proc/x.svg: cannot write in /proc" in result.output
    assert not ran and not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_simulate_writes_its_outputs_all_or_none(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # the plot fails after the JSON could be written (a full disk): neither is left behind,
    # and a file --force would have replaced is kept as it was
    import errno

    import screener.ranking.simulate as sim

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sim, "save_plot", full)
    out, plot = tmp_path / "g.json", tmp_path / "g.svg"
    result = CliRunner().invoke(main, ["simulate", str(DATASET), "--output", str(out),
                                       "--plot", str(plot)])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "No space left on device" in result.output and "nothing was written" in result.output
    assert list(tmp_path.iterdir()) == []  # no JSON, no temporary file
    out.write_text("earlier run", encoding="utf-8")
    forced = CliRunner().invoke(main, ["simulate", str(DATASET), "--output", str(out),
                                       "--plot", str(plot), "--force"])
    assert forced.exit_code == 2 and out.read_text(encoding="utf-8") == "earlier run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.json"]


def test_simulate_says_what_was_run_on_a_small_pool(tmp_path: Path) -> None:
    # 9 records, 2 priors: a pool of 7, too small for a first 10 %: recall@10% is null,
    # not 0.0. The JSON names the dataset file, the seed and the priors; the text gives N,
    # R, the priors and the seed on one line, in good English
    rows = _rows()
    relevant = [r for r in rows if r["label_included"] == "1"][:3]
    small = relevant + [r for r in rows if r["label_included"] == "0"][:6]
    path = _write(tmp_path / "small.csv", small)
    out = tmp_path / "run.json"
    result = CliRunner().invoke(main, ["simulate", str(path), "--seed", "7", "--output",
                                       str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["metrics"]["n_pool"] == 7 and data["metrics"]["recall_at_10pct"] is None
    assert (data["dataset_file"], data["seed"]) == ("small.csv", 7)
    priors = data["prior_ids"]
    assert len(priors) == 2 and set(priors) <= {r["record_id"] for r in small}
    assert not set(priors) & set(data["order"])
    printed = CliRunner().invoke(main, ["simulate", str(path), "--seed", "7", "--json"])
    shown = json.loads(printed.output)
    assert {k: shown[k] for k in ("dataset_file", "seed", "prior_ids")} == {
        "dataset_file": "small.csv", "seed": 7, "prior_ids": priors}
    assert shown["metrics"]["recall_at_10pct"] is None
    first = result.output.splitlines()[0]
    n_presented = len(data["order"])
    assert first.startswith(f"small.csv: {n_presented} record{'s' if n_presented != 1 else ''}"
                            " presented")
    for part in ("N = 7", "R = 2", f"priors {priors[0]}, {priors[1]}", "seed 7"):
        assert part in first, (part, first)
    line = next(x for x in result.output.splitlines() if "recall_at_10pct" in x)
    assert "not reached" not in line and "under 10 records" in line


def test_simulate_says_record_for_one(tmp_path: Path) -> None:
    # one relevant record left in the pool, found first: "1 record presented"
    rows = _rows()
    small = [r for r in rows if r["label_included"] == "1"][:2] + [
        r for r in rows if r["label_included"] == "0"][:6]
    path = _write(tmp_path / "small.csv", small)
    result = CliRunner().invoke(main, ["simulate", str(path), "--stop-after", "1"])
    assert result.exit_code == 0, result.output
    assert "1 record presented" in result.output and "1 records" not in result.output


@pytest.mark.parametrize("option", ["--output", "--plot"])
def test_simulate_output_ending_in_a_slash_is_a_missing_folder_not_a_file(
        tmp_path: Path, option: str) -> None:
    # `--output newdir/` wrote a file named newdir
    result = CliRunner().invoke(main, ["simulate", str(DATASET), option, f"{tmp_path}/newdir/"])
    assert result.exit_code == 2, result.output
    assert "newdir: no such folder" in result.output and f"{option} names a file" in result.output
    assert list(tmp_path.iterdir()) == []


HEADER = b"record_id,title,abstract,label_included\n"


@pytest.mark.parametrize(("content", "fragments"), [
    # (a) saved in Windows-1252/Latin-1: the line and what to do, not a codec's position
    (HEADER + b"1,Ketamine trial,abc,1\n2,Caf\xe9 study,def,0\n3,Other,ghi,0\n",
     ["line 3", "byte 0xe9 is not UTF-8", "save it as UTF-8"]),
    # (b) a European Excel's "CSV": every column was reported missing
    (HEADER.replace(b",", b";") + b"1;Ketamine trial;abc;1\n2;Other;def;0\n",
     ["line 1", "semicolon-separated", "must be comma-separated"]),
    # (c) a row whose columns have shifted was taken as it came
    (HEADER + b"1,Ketamine trial,abc,1\n2,Other,def,0\n3,extra,field,0,EXTRA\n4,More,x,0\n",
     ["line 4", "5 fields", "the header has 4"]),
    # (d) the record whose quote never closes starts on line 3, not at the end of the file
    (HEADER + b'1,Ketamine trial,abc,1\n2,"Other,def,0\n3,More,x,0\n4,Yet,y,0\n',
     ["line 3", "quote", "never closed"]),
])
def test_simulate_names_the_line_of_an_unreadable_dataset(tmp_path: Path, content: bytes,
                                                           fragments: list[str]) -> None:
    data = tmp_path / "d.csv"
    data.write_bytes(content)
    out = tmp_path / "run.json"
    result = CliRunner().invoke(main, ["simulate", str(data), "--output", str(out)])
    assert result.exit_code == 2, result.output
    assert all(f in result.output for f in fragments), result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert not out.exists()


def _flipped(data: bytes) -> bytes:
    """The compressed stream with 40 bytes inverted: zlib fails on it mid-way."""
    return data[:100] + bytes(b ^ 0xFF for b in data[100:140]) + data[140:]


@pytest.mark.parametrize(("damage", "fragment"), [
    (lambda data: data[:300], "gzip file is damaged"),           # cut short: EOFError
    (_flipped, "gzip file is damaged"),                          # was zlib.error's traceback
    (lambda data: data[:-5] + bytes([data[-5] ^ 0xFF]) + data[-4:], "gzip file is damaged"),
    (lambda data: data[:2] + b"\x63" + data[3:], "gzip file is damaged"),  # no deflate
    (lambda data: bytes(range(256)) * 4, "is not UTF-8"),        # a .gz name, not gzip
])
def test_simulate_names_a_damaged_gzip_dataset(tmp_path: Path, damage: Any,
                                               fragment: str) -> None:
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(damage(DATASET.read_bytes()))
    result = CliRunner().invoke(main, ["simulate", str(bad)])
    assert result.exit_code == 2, result.output
    assert f"error: {bad}" in result.output and fragment in result.output, result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output


def _hand_made(path: Path) -> Path:
    """80 records, 6 relevant (about ketamine for depression, which the model finds first),
    74 about other things: the run ends at the last relevant record long before the pool."""
    topics = ("hip fracture surgery rehabilitation", "asthma inhaler adherence children",
              "malaria bed nets village", "dental caries fluoride varnish",
              "stroke thrombolysis door needle", "obesity school meals policy")
    rows = [{"record_id": f"r{i}", "title": f"Ketamine infusion for treatment resistant "
             f"depression trial {i}", "abstract": "ketamine depression randomised",
             "label_included": "1"} for i in range(6)]
    rows += [{"record_id": f"x{i}", "title": f"{topics[i % 6]} cohort {i}",
              "abstract": f"{topics[(i + 1) % 6]} outcomes", "label_included": "0"}
             for i in range(74)]
    return _write(path, rows)


def _stop_by_hand(full: list[int], says_stop: Any) -> int | None:
    return next((i for i in range(1, len(full) + 1) if says_stop(full[:i])), None)


def test_simulate_says_where_the_stopping_rule_would_have_said_stop(tmp_path: Path) -> None:
    """The stopping test replayed after every record of the simulated order (completed with
    the irrelevant records it never reached): the first record where it says stop, the true
    recall there and the work saved, in the text, --output and the plot (a line)."""
    from screener.ranking.stopping import stopping_test

    data = _hand_made(tmp_path / "hand.csv")
    out, plot = tmp_path / "run.json", tmp_path / "run.svg"
    result = CliRunner().invoke(main, ["simulate", str(data), "--prior", "r0", "--prior", "x0",
                                       "--output", str(out), "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    run = json.loads(out.read_text(encoding="utf-8"))
    label = {r["record_id"]: int(r["label_included"]) for r in _read(data)}
    n_pool, relevant = run["metrics"]["n_pool"], run["metrics"]["n_pool_included"]
    full = [label[r] for r in run["order"]] + [0] * (n_pool - len(run["order"]))
    at = _stop_by_hand(full, lambda y: stopping_test(y, n_pool, 0.95) < 1 - 0.95)
    assert at is not None and at > len(run["order"])  # past the records presented
    recall = sum(full[:at]) / relevant
    assert run["stopping"]["stopping_test"] == {
        "met": True, "screened": at, "recall": recall, "work_saved": 1 - at / n_pool,
        "within": n_pool}
    assert run["stopping"]["rule"] == {"from": "defaults", "recall_target": 0.95,
                                       "confidence": 0.95, "consecutive_irrelevant": 50,
                                       "min_screened_fraction": 0.1}
    assert (f"stopping test           stop after {at} of {n_pool} records: recall "
            f"{recall:.4f} ({sum(full[:at])} of {relevant} relevant), work saved "
            f"{1 - at / n_pool:.4f}") in result.output
    assert f"stopping test says stop ({at} screened)" in plot.read_text(encoding="utf-8")


def test_simulate_replays_the_protocols_stopping_rule(tmp_path: Path) -> None:
    from screener.ranking.stopping import consecutive_irrelevant, safe_checklist, stopping_test

    data = _hand_made(tmp_path / "hand.csv")
    minimal = Path(__file__).resolve().parents[2] / "protocols" / "minimal.yaml"
    proto = tmp_path / "p.yaml"
    proto.write_text(minimal.read_text() + "stopping:\n  recall_target: 0.8\n  confidence: 0.9"
                     "\n  consecutive_irrelevant: 7\n  min_screened_fraction: 0.3\n")
    result = CliRunner().invoke(main, ["simulate", str(data), "--prior", "r0", "--prior", "x0",
                                       "--protocol", str(proto), "--json", "--output",
                                       str(tmp_path / "o.json")])
    assert result.exit_code == 0, result.output
    stopping, m = json.loads(result.output)["stopping"], json.loads(result.output)["metrics"]
    assert stopping["rule"] == {"from": "p.yaml", "recall_target": 0.8, "confidence": 0.9,
                                "consecutive_irrelevant": 7, "min_screened_fraction": 0.3}
    written = json.loads((tmp_path / "o.json").read_text(encoding="utf-8"))
    assert written["stopping"] == stopping
    presented = written["order"]
    label = {r["record_id"]: int(r["label_included"]) for r in _read(data)}
    n = m["n_pool"]
    full = [label[r] for r in presented] + [0] * (n - len(presented))
    for key, says_stop in (
            ("stopping_test", lambda y: stopping_test(y, n, 0.8) < 1 - 0.9),
            ("safe_checklist", lambda y: safe_checklist(
                y, n, consecutive_threshold=7, min_fraction=0.3).all_passed),
            ("consecutive_irrelevant", lambda y: consecutive_irrelevant(y) >= 7)):
        at = _stop_by_hand(full, says_stop)
        assert at is not None and stopping[key]["screened"] == at, key
        assert stopping[key]["recall"] == sum(full[:at]) / m["n_pool_included"]


def test_simulate_cut_short_says_the_rule_was_not_met_within_the_records_presented(
        tmp_path: Path) -> None:
    data = _hand_made(tmp_path / "hand.csv")
    result = CliRunner().invoke(main, ["simulate", str(data), "--prior", "r0", "--prior", "x0",
                                       "--stop-after", "2"])
    assert result.exit_code == 0, result.output
    assert "stopping test           not met within the 2 records presented" in result.output
    as_json = CliRunner().invoke(main, ["simulate", str(data), "--prior", "r0", "--prior",
                                        "x0", "--stop-after", "2", "--json"])
    assert json.loads(as_json.output)["stopping"]["stopping_test"] == {
        "met": False, "screened": None, "recall": None, "work_saved": None, "within": 2}


def _read(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_simulate_outputs_say_which_run_made_them(tmp_path: Path) -> None:
    # the text, --json, --output and the plot did not name the model, the protocol's
    # ranking params, the version, the date, the dataset's checksum, nor how the priors
    # were chosen: an output could not be told from another run's
    import hashlib
    import re

    from screener import __version__

    minimal = Path(__file__).resolve().parents[2] / "protocols" / "minimal.yaml"
    proto = tmp_path / "pinc.yaml"
    proto.write_text(minimal.read_text() + "ranking:\n  params: {protocol_include: 2}\n")
    out, plot = tmp_path / "run.json", tmp_path / "run.svg"
    result = CliRunner().invoke(main, ["simulate", str(DATASET), "--model", "elas-u4",
                                       "--protocol", str(proto), "--output", str(out),
                                       "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    first, second = result.output.splitlines()[:2]
    assert "model elas-u4" in first and "protocol_include 2" in first, first
    assert "pinc.yaml" in first and "drawn" in first, first
    assert f"screener {__version__}" in second and "sha256" in second, second
    data = json.loads(out.read_text(encoding="utf-8"))
    checksum = hashlib.sha256(DATASET.read_bytes()).hexdigest()
    assert data["screener_version"] == __version__
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["date_utc"])
    assert data["dataset_sha256"] == checksum and checksum[:12] in second
    assert data["protocol_file"] == str(proto.resolve())
    assert data["protocol_sha256"] == hashlib.sha256(proto.read_bytes()).hexdigest()
    assert data["ranking_params"] == {"protocol_include": 2}
    assert (data["priors_drawn"], data["n_prior_included"], data["n_prior_excluded"]) == (
        True, 1, 1)
    assert data["model"]["name"] == "elas-u4"  # kept as it was
    shown = json.loads(CliRunner().invoke(main, ["simulate", str(DATASET), "--json", "--prior",
                                                 "18435461", "--prior", "19809355"]).output)
    assert shown["model"]["name"] == "screener-lr" and shown["priors_drawn"] is False
    assert shown["n_prior_included"] is None and shown["protocol_file"] is None
    svg = " ".join(plot.read_text(encoding="utf-8").split())
    for part in ("elas-u4", "protocol_include 2", "95 % recall", "seed 42", __version__,
                 checksum[:12]):
        assert part in svg, part


def test_simulate_notes_records_whose_order_follows_the_files_rows(tmp_path: Path) -> None:
    # records with no title and no abstract score alike; the tie-break among them is keyed
    # by row, so a re-sorted copy of the file gave another run, and nothing said so
    rows = _rows()
    for row in [r for r in rows if r["label_included"] == "0"][:3]:
        row.update(title="", abstract="")
    path = _write(tmp_path / "blank.csv", rows)
    note = ("note: 3 records have no title or abstract; their order among themselves "
            "follows the file's row order")
    text = CliRunner().invoke(main, ["simulate", str(path)])
    assert text.exit_code == 0, text.output
    assert text.stderr.count(note) == 1, text.stderr
    assert text.stdout.count(note) == 1, text.stdout  # a saved copy of the text keeps it
    shown = CliRunner().invoke(main, ["simulate", str(path), "--json"])
    assert shown.exit_code == 0, shown.output
    assert shown.stderr.count(note) == 1 and note not in shown.stdout, shown.stderr
    assert json.loads(shown.stdout)["records_without_text"] == 3
    plain = CliRunner().invoke(main, ["simulate", str(DATASET), "--stop-after", "2"])
    assert plain.exit_code == 0 and "no title or abstract" not in plain.output


def test_simulate_note_comes_before_the_run(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # the note came only after the run, which may take hours; a run that does not finish
    # (here: stopped by an error in the middle) has already shown it
    import screener.ranking.simulate as sim

    rows = _rows()
    for row in [r for r in rows if r["label_included"] == "0"][:3]:
        row.update(title="", abstract="")
    path = _write(tmp_path / "blank.csv", rows)

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("interrupted")

    monkeypatch.setattr(sim, "simulate", interrupted)
    result = CliRunner().invoke(main, ["simulate", str(path)])
    assert result.exit_code == 2 and "cannot simulate" in result.stderr, result.output
    assert "note: 3 records have no title or abstract" in result.stderr, result.stderr


def test_readme_defines_every_metric_simulate_prints() -> None:
    # simulate printed wss95, wss100, recall_at_10pct, atd and n_screened_at_95, and README
    # never said what they were
    result = CliRunner().invoke(main, ["simulate", str(DATASET), "--stop-after", "2"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("  total time"))
    printed = [line.split()[0] for line in lines[2:end]]  # after the two header lines
    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text(
        encoding="utf-8").split())
    assert len(printed) == 5, result.output
    for key in printed:
        assert f"`{key}`" in readme, key


@pytest.mark.parametrize("words", [
    {"1": "1.0", "0": "0.0"},  # pandas writes an int column with a missing value so
    {"1": "yes", "0": "No"},
    {"1": "Include", "0": "excluded"},
    {"1": "TRUE", "0": "false"},
])
def test_simulate_reads_labels_as_import_does(tmp_path: Path, words: dict[str, str]) -> None:
    # a label column of yes/no or include/exclude, which `import --labels-as` reads, was
    # refused ("label_included is 'yes'; it must be 0 or 1")
    from screener.importers import labels_from_raw, read_file

    rows = _rows()
    whole = _write(tmp_path / "whole.csv", rows)
    worded = _write(tmp_path / "worded.csv", [{**r, "label_included": words[r["label_included"]]}
                                              for r in rows])
    runs = [CliRunner().invoke(main, ["simulate", str(path), "--json"])
            for path in (whole, worded)]
    assert [r.exit_code for r in runs] == [0, 0], runs[1].output
    first, second = (json.loads(r.stdout) for r in runs)
    assert first["metrics"] == second["metrics"] and first["prior_ids"] == second["prior_ids"]
    imported = [labels_from_raw(r) for r in read_file(worded).records]
    assert imported == [int(r["label_included"]) for r in rows]  # the import reads them alike


def test_simulate_says_what_an_empty_or_all_relevant_dataset_lacks(tmp_path: Path) -> None:
    header = tmp_path / "header.csv"
    header.write_text("record_id,title,abstract,label_included\n", encoding="utf-8")
    empty = CliRunner().invoke(main, ["simulate", str(header)])
    assert empty.exit_code == 2 and "has no records" in empty.output, empty.output
    assert "label_included = 1" not in empty.output
    rows = [{**r, "label_included": "1"} for r in _rows()[:10]]
    relevant = _write(tmp_path / "all.csv", rows)
    drawn = CliRunner().invoke(main, ["simulate", str(relevant)])
    assert drawn.exit_code == 2, drawn.output
    assert "no irrelevant record" in drawn.output and "--n-prior-excluded 0" in drawn.output
    assert "the dataset has 10 and 0" not in drawn.output
    fixed = CliRunner().invoke(main, ["simulate", str(relevant), "--n-prior-excluded", "0"])
    assert fixed.exit_code == 0, fixed.output



def test_simulate_removes_what_killed_runs_left_beside_its_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A simulate killed while it wrote --out or --plot left its temporary file
    (.screener-xxxxxxxx.tmp) in their folder, and no later simulate removed it (only an
    export there did). simulate now removes those unchanged for an hour in the folders it
    writes to, as the exports do, with a note."""
    import time
    from types import SimpleNamespace

    from screener.workflow import backup

    out, plots = tmp_path / "runs", tmp_path / "plots"
    out.mkdir(), plots.mkdir()
    (out / ".screener-abcd1234.tmp").write_text("{", encoding="utf-8")
    (plots / ".screener-efgh5678.tmp.old").write_text("<svg", encoding="utf-8")
    (plots / "notes.tmp").write_text("not ours", encoding="utf-8")
    later = time.time() + backup.LEFTOVER_AGE_S + 1  # (their change time cannot be set back)
    monkeypatch.setattr(backup, "time", SimpleNamespace(time=lambda: later))
    result = CliRunner().invoke(main, ["simulate", str(DATASET), "--seed", "3", "--out",
                                       str(out / "run.json"), "--plot", str(plots / "r.svg")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["run.json"]
    assert sorted(p.name for p in plots.iterdir()) == ["notes.tmp", "r.svg"]
    assert (f"note: removed 1 leftover of an interrupted simulate or export from {out} "
            "(.screener-abcd1234.tmp)") in result.stderr
