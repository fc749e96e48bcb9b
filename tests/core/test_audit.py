"""Decision log hash chain: chaining, and verify() on edits, removals and reordering."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from screener.core.audit import (
    GENESIS,
    LogRow,
    canonical_json,
    chain,
    iso_utc,
    log_row,
    log_rows,
    next_hash,
    records_digest,
    verify,
)
from screener.core.decisions import Decision, Label, Role, Stage


def _decisions(n: int = 5) -> list[Decision]:
    t0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    return [Decision(record_id=100 + i % 3, reviewer="alice" if i % 2 else "bob",
                     stage=Stage.TITLE_ABSTRACT, label=Label.INCLUDE if i % 2 else Label.EXCLUDE,
                     note=f"note {i}", created_at=t0 + timedelta(minutes=i),
                     protocol_hash="ab" * 32, ranking_id=1, rank_position=i + 1,
                     id=3 * i + 1, seq=i + 1) for i in range(n)]


def _log(n: int = 5) -> list[tuple[LogRow, str]]:
    return chain(log_rows(_decisions(n), {1: "cf" * 32}))


def test_hash_is_sha256_of_previous_hash_and_canonical_json() -> None:
    rows = _log(3)
    first, h1 = rows[0]
    assert h1 == hashlib.sha256((GENESIS + canonical_json(first)).encode()).hexdigest()
    assert rows[1][1] == next_hash(h1, rows[1][0])
    assert canonical_json(first).startswith('{"criterion_ids":[],"decision_id":1,')
    assert first.model_config_hash == "cf" * 32 and first.prev_decision_id is None
    assert rows[1][0].prev_decision_id == 1 and rows[2][0].seq == 3
    assert verify(rows) == verify(rows, expected_head=rows[-1][1], expected_count=3)
    assert verify(rows).ok and verify([]).ok


def test_times_are_utc_with_z() -> None:
    assert iso_utc(datetime(2026, 1, 5, 9, 0, tzinfo=UTC)) == "2026-01-05T09:00:00.000000Z"
    assert iso_utc(datetime(2026, 1, 5, 9, 0)) == "2026-01-05T09:00:00.000000Z"
    plus_two = datetime(2026, 1, 5, 13, 0, tzinfo=timezone(timedelta(hours=2)))
    assert iso_utc(plus_two) == "2026-01-05T11:00:00.000000Z"


def test_log_row_needs_a_stored_decision() -> None:
    with pytest.raises(ValueError, match="database id"):
        log_row(replace(_decisions(1)[0], id=None), seq=1, prev_decision_id=None)
    row = log_row(replace(_decisions(1)[0], reviewer_role=Role.ADJUDICATOR), seq=1,
                  prev_decision_id=None)
    assert row.role == "adjudicator" and row.rank_shown == 1


@pytest.mark.parametrize("field", ["label", "note", "reviewer", "time", "reason_id"])
def test_verify_catches_an_edit(field: str) -> None:
    rows = _log()
    row, h = rows[2]
    value = {"label": "include", "note": "changed", "reviewer": "mallory",
             "time": "2026-01-05T08:02:00.000001Z", "reason_id": "x"}[field]
    rows[2] = (replace(row, **{field: value}), h)  # type: ignore[arg-type]
    result = verify(rows)
    assert not result.ok and result.first_bad_index == 2
    assert "edited" in result.problem and "seq 3" in result.problem


def test_verify_catches_a_rewritten_hash() -> None:
    rows = _log()
    row = replace(rows[1][0], note="changed")
    rows[1] = (row, next_hash(rows[0][1], row))  # the editor rehashed that row only
    result = verify(rows)
    assert not result.ok and result.first_bad_index == 2


@pytest.mark.parametrize("index", [0, 2, 4])
def test_verify_catches_a_deletion(index: int) -> None:
    rows = _log()
    head, count = rows[-1][1], len(rows)
    del rows[index]
    result = verify(rows, expected_head=head, expected_count=count, own=True)
    assert not result.ok
    if index < 4:
        assert result.first_bad_index == index
        assert "removed" in result.problem and f"seq {index + 1}" in result.problem
    else:  # the last row: only the stored head and count show it
        assert result.first_bad_index == 4 and "removed from the end" in result.problem
        assert verify(rows).ok


def test_verify_catches_a_reordering() -> None:
    rows = _log()
    rows[1], rows[2] = rows[2], rows[1]
    result = verify(rows)
    assert not result.ok and result.first_bad_index == 1
    assert "reordered" in result.problem


def test_verify_catches_renumbered_and_rehashed_rows() -> None:
    # Delete row 2, renumber seq and rehash everything: ids and links still show it,
    # and the stored head hash no longer matches.
    rows = [r for r, _ in _log()]
    original_head = _log()[-1][1]
    del rows[1]
    renumbered = [replace(r, seq=i + 1) for i, r in enumerate(rows)]
    result = verify(chain(renumbered))
    assert not result.ok and result.first_bad_index == 1
    assert "removed or moved" in result.problem
    relinked = [replace(r, prev_decision_id=renumbered[i - 1].decision_id if i else None)
                for i, r in enumerate(renumbered)]
    forged = chain(relinked)
    assert verify(forged).ok  # a full rewrite is only caught by the stored head
    result = verify(forged, expected_head=original_head, expected_count=5, own=True)
    assert not result.ok and "removed from the end" in result.problem
    result = verify(forged, expected_head=original_head)
    assert not result.ok and "stored head" in result.problem


def test_verify_catches_decreasing_ids() -> None:
    rows = [r for r, _ in _log(3)]
    rows[2] = replace(rows[2], decision_id=2, prev_decision_id=rows[1].decision_id)
    result = verify(chain(rows))
    assert not result.ok and result.first_bad_index == 2 and "increase" in result.problem


def _digest_by_definition(rows: list[list[object]]) -> str:
    """records_digest as its docstring defines it, with the standard library alone."""
    import json

    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def test_records_digest_is_the_same_for_every_character() -> None:
    # A review's import digests were first made with json.dumps; `log verify` recomputes
    # them with the faster encoder, so any character written differently would report an
    # untouched review as edited.
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    rows: list[list[object]] = []
    for i in range(0, len(chars), 4096):
        text = "".join(chars[i:i + 4096])
        rows.append([text, f'"quoted" \\ {text[:50]}', [text[:9], "Smith, J"], 1999, "", None,
                     "12345678"])
    digest = records_digest((r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows)
    assert digest == _digest_by_definition(rows)


def test_records_digest_handles_what_orjson_refuses() -> None:
    row: list[object] = ["title \ud800 lone surrogate", "", [], 2**70, "", "", ""]
    with pytest.raises(UnicodeEncodeError):  # as before: such text never reaches a review
        records_digest([tuple(row)])
    big: list[object] = ["title", "", ["A"], 2**70, "", "", ""]
    assert records_digest([tuple(big)]) == _digest_by_definition([big])
