"""Decision log exports: golden CSV/JSONL, JSONL round trip and verify, CSV injection."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from screener.core.audit import chain, log_rows, verify
from screener.core.decisions import Decision
from screener.exports._cells import csv_text, safe_cell
from screener.exports.log import LOG_COLUMNS, log_csv, log_jsonl, read_log_jsonl

CONFIGS = {1: "c0" * 32, 2: "c1" * 32}


def test_log_csv_matches_golden(decisions: list[Decision],
                                golden: Callable[[str, str], None]) -> None:
    golden("log.csv", log_csv(chain(log_rows(decisions, CONFIGS))))


def test_log_jsonl_matches_golden(decisions: list[Decision],
                                  golden: Callable[[str, str], None]) -> None:
    golden("log.jsonl", log_jsonl(chain(log_rows(decisions, CONFIGS))))


def test_jsonl_reads_back_and_verifies(decisions: list[Decision]) -> None:
    rows = chain(log_rows(decisions, CONFIGS))
    back = read_log_jsonl(log_jsonl(rows))
    assert back == rows
    assert verify(back, expected_head=rows[-1][1], expected_count=len(rows)).ok
    lines = log_jsonl(rows).splitlines()
    tampered = "\n".join(lines[:3] + [lines[3].replace("agreed", "disagreed")] + lines[4:])
    result = verify(read_log_jsonl(tampered))
    assert not result.ok and result.first_bad_index == 3


def test_log_csv_columns_and_escaping(decisions: list[Decision]) -> None:
    rows = list(csv.DictReader(io.StringIO(log_csv(chain(log_rows(decisions, CONFIGS))))))
    assert tuple(rows[0]) == (*LOG_COLUMNS, "removed_as_duplicate_of", "merged_from",
                              "reason_label", "undoes_seq")
    assert {(row["removed_as_duplicate_of"], row["merged_from"]) for row in rows} == {("", "")}
    assert len(rows) == len(decisions)
    assert rows[1]["note"] == "'=HYPERLINK(\"http://evil\")"
    assert rows[2]["note"] == "'-unclear, \"adults?\""
    assert rows[4]["note"] == "'@mention\nsecond line"
    assert rows[3]["criterion_ids"] == "I1;I2" and rows[3]["role"] == "adjudicator"
    assert rows[0]["time"] == "2026-03-02T09:30:00.125000Z"
    assert rows[0]["model_config_hash"] == "c0" * 32 and rows[3]["model_config_hash"] == ""
    assert rows[0]["prev_decision_id"] == "" and rows[1]["prev_decision_id"] == "10"


def test_log_csv_names_reasons_and_what_an_undo_withdrew(decisions: list[Decision]) -> None:
    """A reader of the CSV sees the reason's label (as the protocol version in force at
    the decision worded it) and which row an undo withdrew, without rebuilding the stacks."""
    labels = {"p" * 64: {"wrong_population": "Wrong population"}}
    rows = list(csv.DictReader(io.StringIO(
        log_csv(chain(log_rows(decisions, CONFIGS)), reason_labels=labels))))
    assert tuple(rows[0])[-2:] == ("reason_label", "undoes_seq")
    assert rows[4]["reason_id"] == "wrong_population"
    assert rows[4]["reason_label"] == "Wrong population"
    assert [r["reason_label"] for r in rows[:4]] == ["", "", "", ""]
    # alice's undo on record 2 withdraws her maybe (seq 3), not a row of another key
    assert rows[5]["label"] == "undone" and rows[5]["undoes_seq"] == "3"
    assert [r["undoes_seq"] for r in rows[:5]] == [""] * 5
    # a reason the protocol no longer names keeps its id only
    unknown = list(csv.DictReader(io.StringIO(log_csv(chain(log_rows(decisions, CONFIGS))))))
    assert unknown[4]["reason_label"] == ""


def test_safe_cell_quotes_every_formula_start() -> None:
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "\uff1d1"):
        assert safe_cell(text) == "'" + text
    for text in ("plain", "", "a=b", " =1", "1-2"):
        assert safe_cell(text) == text
    assert safe_cell(-3) == -3 and safe_cell(None) is None and safe_cell(1.5) == 1.5
    assert csv_text(["=h"], [["-x", 2, None]]) == "'=h\n'-x,2,\n"
