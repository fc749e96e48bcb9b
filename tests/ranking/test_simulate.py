"""simulate(): determinism, priors, JSON shape, plot; load_dataset for .csv and .csv.gz."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from screener.ranking import ModelConfig
from screener.ranking.simulate import Dataset, load_dataset, save_plot, simulate

from .conftest import DATA

PRIORS = ["18435461", "18706733"]  # the ASReview anchor's priors for this dataset


def test_load_dataset_sniffs_gzip(tmp_path: Path, small_dataset: Dataset) -> None:
    plain = tmp_path / "data.txt"  # suffix says nothing: content decides
    plain.write_bytes(gzip.decompress((DATA / "CLEF2017_CD008760.csv.gz").read_bytes()))
    again = load_dataset(plain)
    assert again.record_ids == small_dataset.record_ids
    assert len(small_dataset) == 64 and sum(small_dataset.labels) == 12


def test_simulation_is_deterministic_and_complete(small_dataset: Dataset) -> None:
    a = simulate(small_dataset, seed=42, prior_ids=PRIORS)
    b = simulate(small_dataset, seed=42, prior_ids=PRIORS)
    assert a.order == b.order
    assert not set(PRIORS) & set(a.order)
    assert sum(a.labels_in_order) == 11  # every relevant record of the pool found
    assert a.metrics["n_pool"] == 62
    data = json.loads(a.to_json())
    assert {"order", "metrics", "model", "timings"} <= set(data)
    assert data["model"]["hash"] == a.config_hash


def test_elas_u4_preset_reproduces_asreview_anchor(small_dataset: Dataset) -> None:
    cfg = ModelConfig.from_settings("elas-u4", 42, {})
    r = simulate(small_dataset, seed=42, prior_ids=PRIORS, model_config=cfg)
    # ASReview LAB 3.0.8 on the same data, seed and priors: n_screened_at_95 = 20.
    assert r.metrics["n_screened_at_95"] == 20
    assert abs(r.metrics["wss95"] - 0.6274193548387096) < 1e-9


def test_elas_u4_breaks_ties_by_row_order_as_asreview_does() -> None:
    # ASReview's "max" query sorts the pool stably: of identical records (equal scores),
    # the one in the earlier row is shown first. Copies of one record, labelled
    # differently, decide the metrics, so the order must be the same to compare exactly.
    texts = (["ketamine infusion depression trial"] * 4 + ["lithium mania"] * 5
             + ["ketamine infusion depression randomised"])
    labels = (0, 0, 1, 1, 0, 0, 0, 0, 0, 1)
    ds = Dataset("ties", tuple(str(i) for i in range(10)), tuple(texts), ("",) * 10, labels)
    cfg = ModelConfig.from_settings("elas-u4", 1, {})
    result = simulate(ds, seed=1, prior_ids=["9", "4"], model_config=cfg)
    assert result.order[:4] == ("0", "1", "2", "3")  # the copies, in row order


def test_random_priors_and_stop_after(small_dataset: Dataset) -> None:
    r = simulate(small_dataset, seed=1, n_prior_included=1, n_prior_excluded=2, stop_after=5)
    assert len(r.prior_ids) == 3 and len(r.order) == 5
    assert r.metrics["wss95"] is None or isinstance(r.metrics["wss95"], float)


def test_save_plot_writes_svg(tmp_path: Path, small_dataset: Dataset) -> None:
    r = simulate(small_dataset, seed=42, prior_ids=PRIORS)
    out = tmp_path / "curve.svg"
    save_plot(r, small_dataset, out)
    assert out.read_text().lstrip().startswith("<?xml")


def test_load_dataset_reads_quoted_lines_and_names_a_records_first_line(
        tmp_path: Path) -> None:
    # values over several lines (with doubled quotes), CRLF line ends and a blank line:
    # read as they are, and a bad row after them is named by the line it starts on
    text = ('record_id,title,abstract,label_included\r\n'
            '1,"Trial, one","Background:\r\nsaid ""yes""\r\nend",1\r\n\r\n'
            '2,Two,"last\r\nrecord",0\r\n')
    path = tmp_path / "d.csv"
    path.write_bytes(text.encode("utf-8"))
    data = load_dataset(path)
    assert data.titles == ("Trial, one", "Two")
    assert data.abstracts == ('Background:\r\nsaid "yes"\r\nend', "last\r\nrecord")
    path.write_bytes(text.replace(",0\r\n", ",2\r\n").encode("utf-8"))
    with pytest.raises(ValueError, match="^line 6: label_included is '2'"):
        load_dataset(path)


def test_a_missing_column_is_named_in_its_number(tmp_path: Path) -> None:
    """It said "missing column(s) label_included" for one."""
    path = tmp_path / "d.csv"
    path.write_text("record_id,title,abstract\n1,One,x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="^line 1: missing column label_included; "):
        load_dataset(path)
    path.write_text("record_id,title\n1,One\n", encoding="utf-8")
    with pytest.raises(ValueError, match="^line 1: missing columns abstract, label_included; "):
        load_dataset(path)


@pytest.mark.parametrize("name", ["cost$_2020$", "a$\\frac$b"])
def test_the_plot_shows_a_dollar_in_the_dataset_name_as_written(
        tmp_path: Path, small_dataset: Dataset, name: str) -> None:
    # a dataset file named "cost$_2020$.csv" had its name typeset as math (a subscript),
    # and one that is no valid math stopped the plot with matplotlib's parse error
    import dataclasses

    import matplotlib

    r = simulate(small_dataset, seed=42, prior_ids=PRIORS, stop_after=5)
    out = tmp_path / "curve.svg"
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text kept as text in the SVG
        save_plot(r, dataclasses.replace(small_dataset, name=name), out)
    drawn = re.sub(r"<!--.*?-->", "", out.read_text(), flags=re.S)  # (comments: the source)
    assert f"{name}: " in drawn
