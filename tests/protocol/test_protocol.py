"""Protocol loading: the shipped protocols are valid; broken files get precise messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from screener.core.decisions import Stage
from screener.core.protocol import CriterionKind, Resolution
from screener.protocol import ProtocolError, load_protocol_text, read_protocol_file, schema_json

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "protocols").glob("*.yaml"))

VALID = """\
title: Test review
criteria:
  - {id: I1, type: include, text: Adults}
exclusion_reasons:
  - {id: population, label: Wrong population, key: "1"}
"""


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_protocols_are_valid(path: Path) -> None:
    protocol, text = read_protocol_file(path)
    assert protocol.title and protocol.criteria and protocol.exclusion_reasons
    assert text == path.read_text(encoding="utf-8")


def test_required_templates_exist() -> None:
    names = {p.name for p in SHIPPED}
    assert {"minimal.yaml", "dual-screening.yaml", "ketamine-depression.yaml",
            "demo-biosimilar-retransitioning.yaml"} <= names


def test_dual_template_is_dual_blind_with_adjudicator() -> None:
    protocol, _ = read_protocol_file(REPO / "protocols" / "dual-screening.yaml")
    assert protocol.screening.reviewers_per_record == 2
    assert protocol.screening.blind is True
    assert protocol.screening.resolution == Resolution.ADJUDICATOR


def test_ketamine_protocol_content() -> None:
    protocol, _ = read_protocol_file(REPO / "protocols" / "ketamine-depression.yaml")
    assert "ketamin*" in protocol.highlight.include
    assert any(s.source == "PubMed" and "Ketamine" in s.query for s in protocol.searches)
    assert any(c.kind == CriterionKind.EXCLUDE for c in protocol.criteria)
    assert protocol.stages == (Stage.TITLE_ABSTRACT, Stage.FULL_TEXT)


def test_demo_protocol_bundled_copy_matches() -> None:
    bundled = REPO / "screener" / "demo" / "demo-biosimilar-retransitioning.yaml"
    assert bundled.read_bytes() == (REPO / "protocols" / bundled.name).read_bytes()


def test_defaults() -> None:
    p = load_protocol_text(VALID)
    assert p.screening.reviewers_per_record == 1 and not p.screening.blind
    assert p.stopping.recall_target == 0.95 and p.stopping.consecutive_irrelevant == 50
    assert p.ranking.seed == 42


BROKEN = [
    # (name, text, expected line, expected fragment)
    ("not yaml", "title: [unclosed\n", 2, "expected"),
    ("object tag", "title: !!python/object/apply:os.system ['echo hi']\n", 1,
     "constructs objects"),
    ("not a mapping", "- a\n- b\n", 1, "must be a YAML mapping"),
    ("missing title", VALID.replace("title: Test review\n", ""), 1, "'title' is a required"),
    ("unknown field", VALID + "colour: red\n", 6, "allowed fields"),
    ("bad criterion type", VALID.replace("type: include", "type: maybe"), 3,
     "'maybe' is not one of"),
    ("duplicate criterion id", VALID.replace(
        "  - {id: I1, type: include, text: Adults}",
        "  - {id: I1, type: include, text: Adults}\n  - {id: I1, type: exclude, text: Kids}"),
     4, "duplicate id 'I1'"),
    ("duplicate reason key", VALID + "  - {id: other, label: Other, key: \"1\"}\n", 6,
     "already used"),
    ("bad reason key", VALID.replace('key: "1"', 'key: "F1"'), 5, "does not match"),
    ("recall target out of range", VALID + "stopping:\n  recall_target: 1.5\n", 7,
     "maximum of 1"),
    ("negative consecutive", VALID + "stopping:\n  consecutive_irrelevant: 0\n", 7,
     "less than the minimum"),
    ("bad search date", VALID + "searches:\n  - {source: PubMed, date: 'last week'}\n", 7,
     "write it as YYYY-MM-DD"),
    ("mode mismatch", VALID + "screening:\n  mode: single\n  reviewers_per_record: 2\n", 8,
     "use mode: dual"),
    ("dual without an adjudicator", VALID + "screening:\n  mode: dual\n", 6,
     "no adjudicator is named"),
    ("bad highlight term", VALID + "highlight:\n  include: ['a*b*c']\n", 7,
     "not a highlight term"),
    ("empty criteria", VALID.replace("  - {id: I1, type: include, text: Adults}\n", "").replace(
        "criteria:\n", "criteria: []\n"), 2, "should be non-empty"),
    ("key clash", VALID + "keys:\n  include: x\n  exclude: x\n", 8, "also bound"),
    ("wrong type", VALID.replace("title: Test review", "title: 42"), 1, "is not of type"),
]


@pytest.mark.parametrize(("name", "text", "line", "fragment"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_protocols_give_line_and_message(name: str, text: str, line: int,
                                                fragment: str) -> None:
    with pytest.raises(ProtocolError) as info:
        load_protocol_text(text, "p.yaml")
    problems = info.value.problems
    assert any(fragment in p.message for p in problems), [str(p) for p in problems]
    assert any(p.line == line for p in problems), [str(p) for p in problems]
    assert "p.yaml" in str(info.value) and "screener protocol check" in str(info.value)


def test_every_problem_is_reported_at_once() -> None:
    text = VALID.replace("type: include", "type: maybe") + "colour: red\n"
    with pytest.raises(ProtocolError) as info:
        load_protocol_text(text)
    assert len(info.value.problems) == 2


def test_schema_and_semantic_problems_are_reported_together() -> None:
    # A wrong criterion type (schema) and a key bound twice (semantic) in one file: the
    # reviewer fixes both after one `protocol check`, not one after the other.
    text = (VALID.replace("type: include", "type: maybe")
            + '  - {id: design, label: Wrong design, key: "1"}\n')
    with pytest.raises(ProtocolError) as info:
        load_protocol_text(text)
    messages = [p.message for p in info.value.problems]
    assert any("'maybe' is not one of" in m for m in messages), messages
    assert any("key '1' is already used" in m for m in messages), messages


@pytest.mark.parametrize("broken", [
    "criteria: {I1: Adults}\n",                    # a mapping where a list belongs
    "criteria:\n  - Adults\n  - {id: 3}\n",          # items of the wrong shape
    "exclusion_reasons:\n  - {id: [a], key: 1}\n",   # id and key of the wrong type
    "highlight: [ketamine]\n",
    "highlight: {include: ketamine}\n",
    "screening: dual\n",
    "screening: {mode: dual, reviewers_per_record: two, adjudicator: [x]}\n",
    "keys: [include]\n",
    "keys: {include: 1, exclude: 1}\n",
])
def test_misshapen_sections_give_problems_not_crashes(broken: str) -> None:
    with pytest.raises(ProtocolError) as info:
        load_protocol_text("title: T\n" + broken, "p.yaml")
    assert info.value.problems and all(p.message for p in info.value.problems)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(b"title: caf\xe9\n")
    with pytest.raises(ProtocolError, match="not UTF-8"):
        read_protocol_file(path)


def test_committed_schema_is_current() -> None:
    committed = (REPO / "protocols" / "protocol.schema.json").read_text(encoding="utf-8")
    assert committed == schema_json(), "run: screener protocol schema > protocols/protocol.schema.json"
    assert json.loads(committed)["required"] == ["title", "criteria", "exclusion_reasons"]
