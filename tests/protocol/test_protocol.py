"""Protocol loading: the shipped protocols are valid; broken files get precise messages."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from screener.core.decisions import Stage
from screener.core.protocol import CriterionKind, Resolution
from screener.protocol import (
    ProtocolError,
    bundled_protocols,
    load_protocol_text,
    read_protocol_file,
    schema_json,
)
from screener.protocol.loader import suggested_terms

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


def test_bundled_examples_are_the_protocols_folder() -> None:
    """The package ships protocols/*.yaml (which the tests read) for `init --protocol NAME`
    and the demo: the same files, byte for byte, none missing, none extra."""
    bundled = bundled_protocols()
    assert sorted(bundled) == [p.stem for p in SHIPPED]
    for path in SHIPPED:
        assert bundled[path.stem].read_bytes() == path.read_bytes(), (
            f"cp protocols/{path.name} screener/protocol/examples/")


def test_defaults() -> None:
    p = load_protocol_text(VALID)
    assert p.screening.reviewers_per_record == 1 and not p.screening.blind
    assert p.stopping.recall_target == 0.95 and p.stopping.consecutive_irrelevant == 50
    assert p.ranking.seed == 42


def test_highlight_terms_with_typographic_signs_pass_and_other_signs_get_a_fix() -> None:
    p = load_protocol_text(VALID + "highlight:\n  include: [\"SSRI\u2019s\", \"IL\u20101\u03b2\"]\n")
    assert p.highlight.include == ("SSRI\u2019s", "IL\u20101\u03b2")
    problems = _problems(VALID + "highlight:\n  include: [HIV/AIDS]\n")
    assert any("'HIV/AIDS' is not a highlight term" in p
               and "list its words as separate terms (HIV, AIDS)" in p for p in problems)


def test_a_seed_the_database_cannot_store_is_refused_by_the_check() -> None:
    """`seed: 3000000000` passed `protocol check`, `init` and `rank`; `allocate` then failed
    ("cannot be stored with the allocation")."""
    problems = _problems(VALID + "ranking:\n  seed: 3000000000\n")
    assert any("ranking.seed" in p and "3000000000" in p for p in problems), problems
    assert load_protocol_text(VALID + "ranking:\n  seed: 2147483647\n").ranking.seed == 2**31 - 1


def test_highlight_terms_in_scripts_with_vowel_signs_are_terms() -> None:
    """Thai and Indic vowel signs, Arabic points and a decomposed accent are combining
    marks, which `\\w` leaves out: such terms were refused as "not a highlight term"."""
    terms = ["เคตามีน", "केटामाइन", "كيتامين", "kétamine".replace("é", "e\u0301")]
    p = load_protocol_text(VALID + f"highlight:\n  include: {terms!r}\n")
    assert p.highlight.include == tuple(terms)


@pytest.mark.parametrize(("term", "text", "spellings"), [
    ("non-randomi?ed", "A non-randomised and a non-randomized study; non-ed S.",
     ["non-randomised", "non-randomized"]),
    ("(S)-ketamine", "(S)-ketamine, that is S-ketamine; S and ed.", ["ketamine", "ketamine"]),
    ("randomi*ed", "randomised, randomized; or random.", ["randomised", "randomized"]),
    ("HIV/AIDS", "HIV/AIDS in Africa", ["HIV", "AIDS"]),
])
def test_the_fix_for_a_highlight_term_marks_what_it_meant_and_no_fragments(
        term: str, text: str, spellings: list[str]) -> None:
    """The advice for `non-randomi?ed` was "list its words as separate terms (non, randomi,
    ed)": followed, it marks non, ed (and S, from `(S)-ketamine`) everywhere."""
    from screener.tui.highlight import find_terms

    (problem,) = [p for p in _problems(VALID + f"highlight:\n  include: [{term!r}]\n")
                  if "highlight term" in p]
    fixes = suggested_terms(term)
    assert fixes and all(f"{fix}" in problem for fix in fixes)
    assert all(len(re.sub(r"\W", "", fix)) >= 3 for fix in fixes)
    load_protocol_text(VALID + f"highlight:\n  include: {list(fixes)!r}\n")  # valid terms
    marked = [text[s.start:s.end] for s in find_terms(text, fixes, [])]
    assert marked == spellings


@pytest.mark.parametrize(("term", "words"), [
    ("colou?r", ["colour", "color"]),
    ("colou?r*", ["colours", "colors"]),
    ("behaviou?ral", ["behavioural", "behavioral"]),
    ("non-randomi?ed", ["non-randomised", "non-randomized"]),
])
def test_the_advice_for_a_question_mark_marks_every_spelling_it_may_mean(
        term: str, words: list[str]) -> None:
    """`colou?r` (the u optional, as in a regular expression) was advised `colou*` alone,
    which does not mark "color"."""
    from screener.tui.highlight import find_terms

    (problem,) = [p for p in _problems(VALID + f"highlight:\n  include: [{term!r}]\n")
                  if "highlight term" in p]
    advice = problem.split("(e.g. ketamin*)", 1)[1]
    offered = re.findall(r"[\w*][\w*-]*[\w*]", advice)
    fixes = [t for t in offered if t.casefold().startswith(term[:3])]
    load_protocol_text(VALID + f"highlight:\n  include: {fixes!r}\n")  # valid terms
    for word in words:
        assert find_terms(f"a {word} study", fixes, []), (word, problem)


@pytest.mark.parametrize(("term", "offered", "nonsense"), [
    ("non-randomi?ed", "non-randomised, non-randomized", ["non-randomied", "non-randomed"]),
    ("randomi?ation", "randomisation, randomization", ["randomiation", "randomation"]),
    ("analy?e", "analyse, analyze", ["analye", "anale"]),
    ("colou?r", "colour, color", ["colosr", "colozr"]),
    ("pa?ediatric", "paediatric, pediatric", ["pasediatric"]),
    ("travell?ed", "travelled, traveled", ["travellsed"]),
    ("wom?n", "", ["womn", "won", "womsn"]),
])
def test_the_readings_of_a_question_mark_offered_are_words(
        term: str, offered: str, nonsense: list[str]) -> None:
    """`non-randomi?ed` was also offered the regular-expression reading, the i optional:
    'non-randomied, non-randomed'; each reading is now offered only where it spells words
    (the ? as s or z: randomi?ed; the letter before it optional: colou?r)."""
    (problem,) = [p for p in _problems(VALID + f"highlight:\n  include: [{term!r}]\n")
                  if "highlight term" in p]
    words = set(re.findall(r"[\w*][\w*-]*[\w*]", problem))
    assert not words & set(nonsense), problem
    if offered:
        assert f": {offered}" in problem, problem
        load_protocol_text(VALID + f"highlight:\n  include: {offered.split(', ')!r}\n")


def test_whole_numbers_written_with_a_point_are_whole_numbers() -> None:
    """JSON Schema (and so the check) takes 7.0 as an integer; it reached the ranking as a
    float, whose seed crashed `rank` with a traceback, and the UI showed 'run 1/5.0'."""
    text = VALID + (
        "ranking:\n  seed: 7.0\nstopping:\n  consecutive_irrelevant: 5.0\n")
    p = load_protocol_text(text)
    assert (p.ranking.seed, p.stopping.consecutive_irrelevant) == (7, 5)
    assert type(p.ranking.seed) is int and type(p.stopping.consecutive_irrelevant) is int
    dual = load_protocol_text(VALID + "screening:\n  mode: dual\n  reviewers_per_record: 2.0\n"
                              "  adjudicator: Ada\n")
    assert type(dual.screening.reviewers_per_record) is int


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ('title: "   "\n' + VALID.split("\n", 1)[1], 1, "title: is blank: write the text"),
    (VALID.replace("text: Adults", 'text: "  "'), 3, "criteria[0].text: is blank"),
    (VALID.replace("label: Wrong population", 'label: " "'), 5,
     "exclusion_reasons[0].label: is blank"),
    ("title: |\n  Line one\n  Line two\n" + VALID.split("\n", 1)[1], 1,
     "title: spans several lines: write it on one line"),
    ('title: "Ketamine\\e[2J"\n' + VALID.split("\n", 1)[1], 1,
     "title: holds an invisible control character (U+001B)"),
    (VALID.replace("text: Adults", 'text: "Adults \\u202e reversed"'), 3,
     "criteria[0].text: holds an invisible control character (U+202E)"),
    (VALID.replace("text: Adults", 'text: "Adults \\u061c reversed"'), 3,
     "criteria[0].text: holds an invisible control character (U+061C)"),
    (VALID.replace("label: Wrong population", 'label: "Wrong\\ufeffpopulation"'), 5,
     "exclusion_reasons[0].label: holds an invisible character (U+FEFF, zero width no-break "
     "space) at character 6"),
    (VALID + "highlight:\n  include: [ketamine, review]\n  exclude: [Review]\n", 8,
     "highlight.exclude[0]: 'Review' is also an include term"),
    (VALID + "highlight:\n  include: [*ketamine]\n", 7,
     'must be quoted: "*ketamine"'),
])
def test_text_a_reviewer_or_reader_would_see_broken_is_refused(
        text: str, line: int, fragment: str) -> None:
    """Blank, multi-line and control-character text passed the check: the report's heading
    read '# : screening methods' or broke in two, and an escape sequence cleared the UI."""
    problems = _problems(text)
    assert any(p.startswith(f"line {line}") and fragment in p for p in problems), problems


def test_the_check_refuses_every_bidirectional_control_names_and_notes_refuse() -> None:
    """The protocol's text is shown beside the record as a note is: the bidirectional
    controls refused in names and notes (U+061C, Arabic letter mark, was let through)."""
    from screener.core.controls import BIDI_CONTROLS

    for char in sorted(BIDI_CONTROLS):
        text = VALID.replace("text: Adults", f'text: "Adults \\u{ord(char):04x} reversed"')
        assert any(f"(U+{ord(char):04X})" in p for p in _problems(text)), hex(ord(char))


def test_multi_line_criteria_and_question_text_are_still_accepted() -> None:
    text = VALID.replace("text: Adults", 'text: "Adults aged 18 or over,\\nany setting"'
                         ) + "question:\n  text: |\n    One.\n    Two.\n"
    assert load_protocol_text(text).criteria[0].text.count("\n") == 1


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
        "criteria:\n", "criteria: []\n"), 2, "the list is empty: give at least one entry"),
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


HOW_TO_FIX = [
    # (name, text, field path, how the message says to fix it)
    ("recall as a percentage", VALID + "stopping:\n  recall_target: 95\n",
     "stopping.recall_target", "for 95% write 0.95"),
    ("confidence over 1", VALID + "stopping:\n  confidence: 1.5\n", "stopping.confidence",
     "write a proportion between 0 and 1 (e.g. 0.95)"),
    ("share with a % sign", VALID + "stopping:\n  min_screened_fraction: 10%\n",
     "stopping.min_screened_fraction", "write a proportion without %"),
    ("number in quotes", VALID + "stopping:\n  consecutive_irrelevant: \"50\"\n",
     "stopping.consecutive_irrelevant", "write the number without quotes"),
    ("number in words", VALID + "stopping:\n  consecutive_irrelevant: fifty\n",
     "stopping.consecutive_irrelevant", "write a whole number"),
    ("unquoted reason key", VALID.replace('key: "1"', "key: 1"), "exclusion_reasons[0].key",
     'put it in quotes (key: "1")'),
    ("unquoted key paper", VALID + "stopping:\n  key_papers: [12345]\n",
     "stopping.key_papers[0]", 'put it in quotes (- "12345")'),
    # these said what was wrong but not how to fix it (or the fix contradicted another line)
    ("a yes/no value as a number", VALID + "screening:\n  mode: dual\n  adjudicator: A\n"
     "  reviewers_per_record: true\n", "screening.reviewers_per_record",
     "write a number, not a yes/no value"),
    ("two documents", VALID + "---\ntitle: Another\n", "",
     "a protocol is one YAML document: remove the `---` line"),
    # it said (text: "True"), the value YAML read, not the word written
    ("a yes/no word as text", VALID.replace("text: Adults", "text: yes"), "criteria[0].text",
     'put the word in quotes (text: "...")'),
    ("reason key of two letters", VALID.replace('key: "1"', 'key: "F1"'),
     "exclusion_reasons[0].key", "one lower-case letter or digit"),
    ("id with a space", VALID.replace("id: I1", "id: I 1"), "criteria[0].id",
     "no spaces"),
    ("empty title", VALID.replace("title: Test review", "title:"), "title",
     "the value is empty"),
    ("yes in quotes", VALID + "screening:\n  blind: \"yes\"\n", "screening.blind",
     "write true or false"),
    ("one term, not a list", VALID + "highlight:\n  include: ketamine\n",
     "highlight.include", "write a list, e.g. include: [ketamine]"),
    ("misspelt field", VALID.replace("criteria:", "critera:"), "critera",
     "did you mean 'criteria'?"),
]


@pytest.mark.parametrize(("name", "text", "path", "fix"), HOW_TO_FIX,
                         ids=[h[0] for h in HOW_TO_FIX])
def test_common_mistakes_are_told_how_to_fix(name: str, text: str, path: str,
                                             fix: str) -> None:
    with pytest.raises(ProtocolError) as info:
        load_protocol_text(text, "p.yaml")
    messages = [p.message for p in info.value.problems if p.path == path]
    assert any(fix in m for m in messages), [str(p) for p in info.value.problems]


@pytest.mark.parametrize(("text", "line", "opened"), [
    ('title: "Ketamine\ncriteria: []\n', 3, 'the quoted value that starts on line 1, column 8'),
    (VALID.replace('key: "1"}', 'key: "1"'), 6, "the `{` that opens on line 5, column 5"),
    (VALID + "highlight:\n  include: [ketamin*, esketamine\n  exclude: [rat*]\n", 8,
     "the `[` that opens on line 7, column 12"),
], ids=["quote", "brace", "bracket"])
def test_a_quote_or_bracket_left_open_is_named_where_it_opens(text: str, line: int,
                                                             opened: str) -> None:
    """YAML finds the error where the file runs out or the next item starts; the message
    also names the line and column where the unclosed quote, `{` or `[` opens."""
    with pytest.raises(ProtocolError) as info:
        load_protocol_text(text, "p.yaml")
    [problem] = info.value.problems
    assert problem.line == line and opened in problem.message, str(problem)
    assert "close it with" in problem.message


def test_full_text_alone_is_refused_as_nothing_could_be_screened() -> None:
    """Records reach full text by an include at title/abstract: a review created with
    `stages: [full_text]` offered nothing to anyone, ever. A stored version like that still
    loads (the review opens, to be amended)."""
    text = VALID + "stages: [full_text]\n"
    with pytest.raises(ProtocolError) as info:
        load_protocol_text(text, "p.yaml")
    [problem] = info.value.problems
    assert problem.path == "stages" and problem.line == 6
    assert "needs the title_abstract stage" in problem.message
    assert load_protocol_text(text, stored=True).stages == (Stage.FULL_TEXT,)
    assert load_protocol_text(VALID + "stages: [title_abstract]\n").stages == (
        Stage.TITLE_ABSTRACT,)


def test_key_papers_are_dois_or_pmids() -> None:
    """A key paper is found by an included record's DOI or PMID: a title or a note is
    refused (it could never be found, so the stopping rule could never be met)."""
    with pytest.raises(ProtocolError) as info:
        load_protocol_text(VALID + "stopping:\n  key_papers: ['PMID: 123', "
                           "'https://doi.org/10.1000/ABC', 'Smith 2020 trial']\n", "p.yaml")
    [problem] = info.value.problems
    assert problem.path == "stopping.key_papers[2]", str(problem)
    assert "neither a DOI nor a PubMed id" in problem.message


def test_a_value_over_1_that_is_no_percentage_gets_no_percentage_hint() -> None:
    with pytest.raises(ProtocolError) as info:
        load_protocol_text(VALID + "stopping:\n  confidence: 1.5\n", "p.yaml")
    assert "%" not in info.value.problems[0].message


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


# --- input a tester broke: every one is one located problem, never a traceback ---------

def _problems(text: str) -> list[str]:
    with pytest.raises(ProtocolError) as info:
        load_protocol_text(text, "p.yaml")
    return [str(p) for p in info.value.problems]


def test_an_alias_bomb_is_refused_at_once_with_its_line() -> None:
    # nine levels of ten aliases each: 10^9 values once expanded (50 s, 2.4 GB, then a
    # MemoryError traceback before)
    lines = [VALID, "x0: &a0 [z,z,z,z,z,z,z,z,z,z]"]
    lines += [f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    started = time.perf_counter()
    problems = _problems("\n".join(lines) + "\n")
    assert time.perf_counter() - started < 2
    assert len(problems) == 1
    assert "line 15, column 10" in problems[0] and "*a7" in problems[0]
    assert "write the values out" in problems[0] and "10,000" in problems[0]
    assert "the aliases (*a7 here and 79 other aliases)" in problems[0], problems
    one = _problems(VALID + "x0: &a [" + ", ".join(["z"] * 6000) + "]\nx1: *a\n")
    assert "line 7, column 5" in one[0] and "the alias *a expands the protocol to " in one[0]


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    problems = _problems(VALID + "highlight: &h {include: [*h]}\n")
    assert problems == ["line 6, column 26, (top level): the alias *h sits inside the value "
                        "that &h names, so that value would never end; write the value out "
                        "instead"]


def test_a_few_aliases_still_work() -> None:
    # (a term in both highlight lists is refused now, so the alias is used in the question)
    p = load_protocol_text(VALID + "question:\n  population: &adults Adults over 18\n"
                           "  setting: *adults\n")
    assert dict(p.question) == {"population": "Adults over 18", "setting": "Adults over 18"}


@pytest.mark.parametrize(("text", "expected"), [
    (VALID + "title: Second title\n", "line 6, title: 'title' is written twice in this "
     "mapping (lines 1 and 6)"),
    (VALID.replace("key: \"1\"}", "key: \"1\", label: Again}"), "line 5, "
     "exclusion_reasons[0].label: 'label' is written twice in this mapping (lines 5 and 5)"),
    (VALID + "screening:\n  mode: dual\n  adjudicator: ann\n  mode: single\n",
     "line 9, screening.mode: 'mode' is written twice in this mapping (lines 7 and 9)"),
])
def test_a_key_written_twice_is_refused_with_both_lines(text: str, expected: str) -> None:
    problems = _problems(text)
    assert any(p.startswith(expected) and "keep only the last" in p for p in problems), problems


@pytest.mark.parametrize(("keys", "line", "fragment"), [
    ("  include: e\n", 7, "key 'e' is already the key of exclude by default; choose another "
     "key for include, or move exclude too"),
    ("  maybe: t\n", 7, "key 't' is the UI's key for theme, which a protocol cannot remap"),
    ("  note: escape\n", 7, "key 'escape' is kept by the screening UI"),
    ("  help: enter\n", 7, "key 'enter' is kept by the screening UI"),
    ("  search: q\n", 7, "already the key of quit by default"),
    ("  quit: slash\n", 7, "already the key of search by default"),  # '/' is 'slash'
    # accepted before, though no key press could ever reach them (a helper's findings)
    ("  include: foo\n", 7, "key 'foo' is not a key screener can bind"),
    ("  include: esc\n", 7, "key 'esc' is not a key screener can bind"),
    ("  include: ctrl+i\n", 7, "key 'ctrl+i' reaches the screening UI as tab"),
    ("  include: ctrl+C\n", 7, "key 'ctrl+C' is kept by the screening UI (ctrl+c"),
    ("  include: Escape\n", 7, "key 'Escape' is kept by the screening UI (escape"),
    ("  maybe: \" \"\n", 7, "key ' ' is a blank or invisible character; write space"),
    ("  include: \"/\"\n  maybe: slash\n  search: x\n", 8, "key 'slash' is also bound to 'include'"),
])
def test_keys_that_clash_with_the_uis_own_are_refused(keys: str, line: int,
                                                       fragment: str) -> None:
    problems = _problems(VALID + "keys:\n" + keys)
    assert any(p.startswith(f"line {line}, keys.") and fragment in p for p in problems), problems


def test_keys_moved_together_are_accepted() -> None:
    p = load_protocol_text(VALID + "keys:\n  include: e\n  exclude: x\n  search: slash\n")
    assert dict(p.keys) == {"include": "e", "exclude": "x", "search": "slash"}


@pytest.mark.parametrize("date", ["2026-99-99", "'2026-99-99'", "2026-02-30", "'2025-02-29'"])
def test_an_impossible_search_date_is_refused_with_its_field(date: str) -> None:
    problems = _problems(VALID + f"searches:\n  - source: PubMed\n    date: {date}\n")
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"line 8, searches[0].date: '{date.strip(chr(39))}' is not "
                                  "a date (")
    assert "YYYY-MM-DD" in problems[0]


def _utc_today_plus(days: int) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


# Parameters are computed when the tests are collected: a run that crosses midnight UTC
# moves 'today' on by one, so the nearest future date tried is three days ahead, not two.
@pytest.mark.parametrize(("date", "fragment"), [
    ("2099-01-01", "is in the future"), (_utc_today_plus(3), "is in the future"),
    ("1899-12-31", "is before 1900"), ("'0001-01-01'", "is before 1900"),
])
def test_a_search_date_in_the_future_or_before_1900_is_refused_with_its_field(
        date: str, fragment: str) -> None:
    """'2099-01-01' passed the check and the report gave it as the search date, while
    import --searched refuses a date in the future."""
    problems = _problems(VALID + f"searches:\n  - source: PubMed\n    date: {date}\n")
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"line 8, searches[0].date: '{date.strip(chr(39))}' "
                                  f"{fragment}"), problems


def test_a_search_date_already_today_somewhere_is_accepted() -> None:
    tomorrow = _utc_today_plus(1)  # a searcher ahead of UTC writes their own date
    protocol = load_protocol_text(VALID + f"searches:\n  - {{source: PubMed, date: {tomorrow}}}\n")
    assert [s.date for s in protocol.searches] == [tomorrow]


def test_a_tag_that_cannot_read_its_value_is_a_problem() -> None:
    problems = _problems(VALID + "question:\n  text: !!int abc\n")
    assert problems == ["line 7, column 9, (top level): 'abc' cannot be read as int (its tag "
                        "`!!int` asks for one); remove the tag or fix the value"]


def test_a_tab_gets_a_hint_and_keeps_line_and_column() -> None:
    problems = _problems(VALID + "highlight:\n\tinclude: [ketamine]\n")
    assert len(problems) == 1
    assert problems[0].startswith("line 7, column 1, ")
    assert "found character '\\t' that cannot start any token" in problems[0]
    assert "replace the tab with spaces" in problems[0]


def test_inconsistent_indentation_gets_a_hint() -> None:
    text = "title: T\ncriteria:\n  - {id: I1, type: include, text: Adults}\n   - {id: I2}\n"
    problems = _problems(text)
    assert len(problems) == 1
    assert problems[0].startswith("line 4, column 4, ")
    assert "expected <block end>, but found '<block sequence start>'" in problems[0]
    assert "the indentation is inconsistent" in problems[0] and "line 3" in problems[0]


def test_a_control_character_names_its_line() -> None:
    assert _problems(VALID + "question:\n  text: a\x1fb\n") == [
        "line 7, (top level): character #x001f is not allowed in YAML (a control "
        "character); delete it"]


def test_problems_are_listed_together_in_line_order() -> None:
    text = (VALID + "title: Again\nkeys:\n  include: e\nsearches:\n"
            "  - {source: PubMed, date: 2026-13-01}\ncolour: red\n")
    with pytest.raises(ProtocolError) as info:
        load_protocol_text(text, "p.yaml")
    assert [(p.line, p.path) for p in info.value.problems] == [
        (6, "title"), (8, "keys.include"), (10, "searches[0].date"), (11, "colour")]


def test_a_stored_version_is_read_without_the_checks_added_since() -> None:
    # a review created before these checks holds such a protocol: it must still open (and
    # be amended), so the stored text is read as it was accepted then
    text = VALID + "title: Later title\nkeys:\n  include: e\n"
    with pytest.raises(ProtocolError):
        load_protocol_text(text)
    p = load_protocol_text(text, stored=True)
    assert p.title == "Later title" and dict(p.keys) == {"include": "e"}


def test_the_ranking_check_is_given_the_section_and_its_problems_are_located() -> None:
    seen = []

    def check(ranking: object) -> list[tuple[tuple[str | int, ...], str]]:
        seen.append(ranking)
        return [(("params", "C"), "no good")]

    text = VALID + "ranking:\n  model: default\n  params:\n    C: 2\n"
    with pytest.raises(ProtocolError) as info:
        load_protocol_text(text, ranking_check=check)
    assert seen == [{"model": "default", "params": {"C": 2}}]
    assert [str(p) for p in info.value.problems] == ["line 9, ranking.params.C: no good"]


@pytest.mark.parametrize(("term", "starts"), [("a*", "starts with 'a'"),
                                              ("AB*", "starts with 'AB'"),
                                              ("*ab", "ends with 'ab'")])
def test_a_wildcard_term_with_a_stem_too_short_is_refused(term: str, starts: str) -> None:
    """`a*` passed `protocol check`, and the UI marked every word starting with a."""
    (problem,) = [p for p in _problems(VALID + f"highlight:\n  include: [ketamine, {term!r}]\n")
                  if "highlight.include[1]" in p]
    assert problem.startswith("line 7") and f"{term!r}" in problem, problem
    assert "at least 3 letters or digits" in problem and starts in problem, problem
    assert load_protocol_text(VALID + "highlight:\n  include: ['abc*', '*ab1']\n")
    # a version a review already holds still opens
    assert load_protocol_text(VALID + f"highlight:\n  include: [{term!r}]\n", stored=True)


@pytest.mark.parametrize("term", ["薬*", "糖尿*", "*尿病", "ケタ*", "약물*"])
def test_a_short_wildcard_stem_in_a_script_whose_characters_carry_more_is_accepted(
        term: str) -> None:
    """The 3-letter minimum refused `薬*` (drug) and `糖尿*` (diabetes): one ideograph
    carries a word's meaning; two kana or Hangul syllables are a syllable each."""
    protocol = load_protocol_text(VALID + f"highlight:\n  include: [{term!r}]\n")
    assert protocol.highlight.include == (term,)


@pytest.mark.parametrize("term", ["ab*", "の*", "약*"])
def test_a_single_kana_or_hangul_stem_is_refused_as_a_short_latin_one(term: str) -> None:
    (problem,) = [p for p in _problems(VALID + f"highlight:\n  include: [{term!r}]\n")
                  if "highlight.include[0]" in p]
    assert f"{term!r} would mark every word" in problem, problem


_NO_CRITERIA = VALID.replace("  - {id: I1, type: include, text: Adults}\n", "")


EMPTY = [
    # (text, field path, line, how the message says to fix it)
    (VALID + "stopping:\n", "stopping", 6,
     "remove the `stopping:` line to use the default stopping rule (recall_target 0.95, "
     "confidence 0.95, consecutive_irrelevant 50, min_screened_fraction 0.1)"),
    (VALID + "ranking:\n", "ranking", 6,
     "remove the `ranking:` line to use the defaults (model default, seed 42, cold_start true)"),
    (VALID + "screening:\n", "screening", 6, "remove the `screening:` line to use the "
     "defaults (mode single: one reviewer per record)"),
    (VALID + "highlight:\n", "highlight", 6, "remove the `highlight:` line"),
    (VALID + "highlight:\n  include:\n", "highlight.include", 7, "remove the `include:` line"),
    (VALID + "question:\n", "question", 6, "remove the `question:` line"),
    (VALID + "keys:\n", "keys", 6, "remove the `keys:` line to use the default keys"),
    (VALID + "stages:\n", "stages", 6, "remove the `stages:` line to use both stages"),
    (VALID + "screening:\n  conflicts:\n", "screening.conflicts", 7,
     "remove the `conflicts:` line"),
    (_NO_CRITERIA, "criteria", 2, "list its entries (at least one) below it"),
    (VALID.replace("  - {id: population", "  -\n  - {id: population"),
     "exclusion_reasons[0]", 5, "give the entry's fields (id, label, key)"),
    (VALID + "screening:\n  mode:\n", "screening.mode", 7, "write one of single, dual"),
    (VALID.replace("title: Test review", "title:"), "title", 1,
     "the value is empty: write the title after the colon"),
]


@pytest.mark.parametrize(("text", "path", "line", "fix"), EMPTY, ids=[e[1] for e in EMPTY])
def test_an_empty_section_or_value_says_so_and_how_to_fix_it(text: str, path: str, line: int,
                                                              fix: str) -> None:
    """`stopping:` with nothing below it said "None is not of type 'object'"."""
    problems = _problems(text)
    assert not [p for p in problems if "None" in p], problems
    mine = [p for p in problems if p.startswith(f"line {line}, {path}: ")]
    assert mine and "empty" in mine[0] and fix in mine[0], problems


def test_a_highlight_term_listed_twice_is_warned_of_with_both_places() -> None:
    """`include: [ketamine, esketamine, Ketamine]` passed without a word; matching ignores
    case, so the second is the first again."""
    from screener.protocol import protocol_warnings

    text = (VALID + "highlight:\n  include: [ketamine, esketamine]\n  exclude:\n    - rat*\n"
            "    - \"RAT*\"\n    - mice\n")
    text = text.replace("esketamine]", "esketamine, \"Ketamine\"]")
    load_protocol_text(text)  # still valid
    warnings = [str(w) for w in protocol_warnings(text)]
    assert warnings == [
        "line 7, highlight.include[2]: 'Ketamine' is listed twice: highlight.include[0] on "
        "line 7 is 'ketamine', and terms match whatever the case and typography, so they "
        "mark the same words; remove one",
        "line 10, highlight.exclude[1]: 'RAT*' is listed twice: highlight.exclude[0] on "
        "line 9 is 'rat*', and terms match whatever the case and typography, so they mark "
        "the same words; remove one"], warnings
    assert protocol_warnings(VALID + "highlight:\n  include: [ketamine, esketamine]\n") == []


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_protocols_give_no_warnings(path: Path) -> None:
    from screener.protocol import protocol_warnings

    assert protocol_warnings(path.read_text(encoding="utf-8")) == []


REGEX_TERMS = [
    # (term, text the regular expression was meant for, what the advice must offer)
    ("[Cc]ortisol", "Cortisol and cortisol levels", ["cortisol"]),
    ("child(ren)?", "a child, two children", ["child", "children", "child*"]),
    ("gluco.*corticoid", "a glucocorticoid", ["glucocorticoid", "gluco*", "*corticoid"]),
    ("randomi[sz]ed", "randomised or randomized", ["randomised", "randomized", "randomi*"]),
    ("^ketamine$", "ketamine", ["ketamine"]),
    ("ketamine|esketamine", "ketamine or esketamine", ["ketamine", "esketamine"]),
    ("\\bket\\w+", "ketamine", ["ket*"]),
    ("ket+amine", "ketamine", ["ketamine"]),
]


@pytest.mark.parametrize(("term", "text", "offered"), REGEX_TERMS,
                         ids=[r[0] for r in REGEX_TERMS])
def test_a_term_written_as_a_regular_expression_is_told_so_and_given_true_fixes(
        term: str, text: str, offered: list[str]) -> None:
    """`[Cc]ortisol` was advised "the term ortisol marks it", `child(ren)?` "list its words
    as separate terms (child, ren)" and `gluco.*corticoid` "gluco, *corticoid" as words."""
    from screener.tui.highlight import find_terms

    (problem,) = [p for p in _problems(VALID + f"highlight:\n  include: ['{term}']\n")
                  if "highlight.include[0]" in p]
    assert "plain words, not regular expressions" in problem, problem
    advice = problem.split("not regular expressions", 1)[1]
    suggested = re.findall(r"[*\w][\w*-]*", advice.split("instead:", 1)[1])
    assert [t for t in offered if t not in suggested] == [], problem
    for fix in offered:  # each a valid term that marks the word the expression was for
        load_protocol_text(VALID + f"highlight:\n  include: [{fix!r}]\n")
        assert find_terms(text, [fix], []), fix
    for fragment in ("ortisol", "ren", "gluco,"):
        assert f" {fragment} " not in advice and f"({fragment}" not in advice, problem
    if "[Cc]" in term:  # why the class is not needed
        assert "terms match whatever the case" in problem, problem


@pytest.mark.parametrize(("screening", "where", "said"), [
    # blinding applies to dual screening only: an overlap's pairs in single mode see
    # each other's decisions
    ("screening:\n  mode: single\n  blind: true\n", "line 8, screening.blind",
     "blinding has no effect with mode: single:"),
    ("screening:\n  blind: true\n", "line 7, screening.blind",
     "blinding has no effect with mode: single (the default):"),
    ("screening:\n  mode: dual\n  resolution: consensus\n  adjudicator: Adj\n",
     "line 9, screening.adjudicator", "an adjudicator (Adj) is named with resolution: consensus"),
    ("stages: [title_abstract]\nscreening:\n  conflicts: {reason_mismatch_full_text: true}\n",
     "line 8, screening.conflicts.reason_mismatch_full_text",
     "has no effect: stages has no full_text"),
])
def test_screening_settings_that_do_nothing_or_contradict_are_warned_of(
        screening: str, where: str, said: str) -> None:
    """`mode: single` with `blind: true`, an adjudicator named for consensus, a full-text
    conflict rule without a full-text stage: protocol check and init said nothing."""
    from screener.protocol import protocol_warnings

    text = VALID + screening
    load_protocol_text(text)  # still valid
    warnings = [str(w) for w in protocol_warnings(text)]
    assert len(warnings) == 1 and warnings[0].startswith(f"{where}: {said}"), warnings


def test_single_screening_settings_used_by_an_overlap_are_not_warned_of() -> None:
    """In single screening an allocation's overlap gives some records two reviewers, whose
    conflicts the adjudicator (or consensus) resolves: those settings are not idle."""
    from screener.protocol import protocol_warnings

    assert protocol_warnings(VALID + "screening:\n  mode: single\n  resolution: adjudicator\n"
                             "  adjudicator: Adj\n  conflicts: {maybe_vs_exclude: false}\n"
                             ) == []
