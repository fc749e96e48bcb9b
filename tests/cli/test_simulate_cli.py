"""`screener simulate` as a user runs it: output files, options checked before any work."""

from __future__ import annotations

import json
from pathlib import Path

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
