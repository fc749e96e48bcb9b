"""The Python API takes what a notebook user types: str paths and labels, converted at the
boundary; a bad value is a ReviewError saying what to give; it leaves the caller's
matplotlib backend alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from screener.core.decisions import Label
from screener.workflow.importing import import_file
from screener.workflow.review import ReviewError, create_review, open_review
from screener.workflow.screening import record_decision
from screener.workflow.simulation import run_simulation

TESTS = Path(__file__).resolve().parents[1]
MINIMAL = TESTS.parent / "protocols" / "minimal.yaml"
DATASET = TESTS / "data" / "ranking" / "CLEF2017_CD008760.csv.gz"


def test_paths_and_labels_may_be_given_as_str(tmp_path: Path) -> None:
    create_review(str(tmp_path / "rev"), str(MINIMAL)).close()
    (tmp_path / "a.csv").write_text("title,abstract\nOne trial,x\nTwo trial,y\n",
                                    encoding="utf-8")
    with open_review(str(tmp_path / "rev")) as review:
        summary = import_file(review, str(tmp_path / "a.csv"))
        assert summary.records == 2
        decision = record_decision(review, 1, "ann", "include")
        assert decision.label is Label.INCLUDE
        with pytest.raises(ReviewError, match="'maybe_not' is not a label: give one of") as e:
            record_decision(review, 2, "ann", "maybe_not")
        # the choices listed are the ones a decision takes: undone is refused as one
        assert str(e.value).endswith("give one of include, exclude, maybe")
        with pytest.raises(ReviewError, match="undone is not a decision"):
            record_decision(review, 2, "ann", "undone")


@pytest.mark.parametrize("seed", [-1, 2**31, 2**40])
def test_a_seed_out_of_range_is_refused_in_one_message(seed: int) -> None:
    with pytest.raises(ReviewError, match=rf"seed {seed} .* from 0 to 2147483647"):
        run_simulation(DATASET, seed=seed, stop_after=5)


def test_a_simulation_plot_leaves_the_matplotlib_backend_alone(tmp_path: Path) -> None:
    import matplotlib

    before = matplotlib.get_backend()
    matplotlib.use("pdf")  # stands in for a notebook's inline backend
    try:
        run_simulation(str(DATASET), seed=7, stop_after=20,
                       plot=str(tmp_path / "plot.svg"))
        assert matplotlib.get_backend() == "pdf"
        assert (tmp_path / "plot.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    finally:
        matplotlib.use(before)
