"""The highlight matcher and the structured-abstract splitter (pure functions, no terminal)."""

from __future__ import annotations

import pytest

from screener.tui.highlight import abstract_sections, find_terms


def marked(text: str, include: list[str], exclude: list[str] | None = None) -> list[tuple[str, str]]:
    return [(text[s.start:s.end], s.kind) for s in find_terms(text, include, exclude or [])]


def test_whole_words_case_insensitive() -> None:
    assert marked("Rats, RAT and a ratio; pirate", [], ["rat", "rats"]) == [
        ("Rats", "exclude"), ("RAT", "exclude")]


@pytest.mark.parametrize(("text", "expected"), [
    ("ketamine", ["ketamine"]), ("Ketamines", ["Ketamines"]), ("ketamin", ["ketamin"]),
    ("esketamine", []), ("ketamine-induced", ["ketamine"]),
])
def test_suffix_wildcard(text: str, expected: list[str]) -> None:
    assert [t for t, _ in marked(text, ["ketamin*"])] == expected


def test_prefix_wildcard() -> None:
    assert marked("Esketamine, arketamine and ketamine; ketamines", ["*ketamine"]) == [
        ("Esketamine", "include"), ("arketamine", "include"), ("ketamine", "include")]


def test_phrases_match_across_white_space_and_hyphens_literally() -> None:
    text = "treatment resistant\ndepression; treatment-resistant; treatment  resistant"
    assert [t for t, _ in marked(text, ["treatment resistant"])] == [
        "treatment resistant", "treatment  resistant"]
    assert [t for t, _ in marked(text, ["treatment-resistant"])] == ["treatment-resistant"]


def test_longer_term_wins_and_kinds_are_kept_apart() -> None:
    text = "A case report of ketamine in vitro and in rats."
    assert marked(text, ["ketamin*", "case"], ["case report", "in vitro", "rat*"]) == [
        ("case report", "exclude"), ("ketamine", "include"), ("in vitro", "exclude"),
        ("rats", "exclude")]


def test_longer_term_wins_across_scripts_with_and_without_spaces() -> None:
    """Terms of both kinds of script, interleaved by length: the longest still wins at each
    place, whichever boundary rule each term follows."""
    text = "ケタミン投与群 and esketamine therapy, ketamine therapy; 投与 ketamine"
    terms = ["ketamine therapy", "ケタミン投与", "*ketamine", "投与", "ketamine"]
    assert marked(text, terms[:2], terms[2:]) == [
        ("ケタミン投与", "include"), ("esketamine", "exclude"), ("ketamine therapy", "include"),
        ("投与", "exclude"), ("ketamine", "exclude")]


def test_special_characters_are_literal() -> None:
    assert marked("HAM-D and HAMD; MADRS (total)", ["HAM-D", "MADRS"]) == [
        ("HAM-D", "include"), ("MADRS", "include")]
    assert marked("TNFα inhibitors and TNF", ["TNF*"]) == [("TNFα", "include"), ("TNF", "include")]
    # `.` is a dot, * a word's rest
    assert marked("a.bcd and axbcd", ["a.b*"]) == [("a.bcd", "include")]


def test_typography_does_not_keep_a_term_from_matching() -> None:
    """Curly apostrophes, Unicode hyphens and decomposed accents (common in Embase and
    Scopus exports) made SSRI's, treatment-resistant, IL-1β and naïve miss."""
    import unicodedata

    text = ("SSRI\u2019s and Alzheimer\u2018s; treatment\u2010resistant; IL\u20111\u03b2; "
            + unicodedata.normalize("NFD", "naïve"))
    found = [t for t, _ in marked(text, ["SSRI's", "alzheimer's", "treatment-resistant",
                                         "IL-1β", "naïve"])]
    assert found == ["SSRI\u2019s", "Alzheimer\u2018s", "treatment\u2010resistant",
                     "IL\u20111\u03b2", unicodedata.normalize("NFD", "naïve")]
    # the other way round: a term copied with typographic signs matches plain text
    assert [t for t, _ in marked("SSRI's in naïve mice", ["SSRI\u2019s",
                                 unicodedata.normalize("NFD", "naïve")])] == ["SSRI's", "naïve"]
    assert marked("treatment resistant", ["treatment-resistant"]) == []  # a hyphen is not a space


@pytest.mark.parametrize(("text", "term", "expected"), [
    # Chinese and Japanese are written without spaces: a term stands beside other characters
    ("ケタミン投与群では", "ケタミン", ["ケタミン"]),
    ("低用量ケタミン 静注", "ケタミン", ["ケタミン"]),
    ("氯胺酮组与对照组", "氯胺酮", ["氯胺酮"]),
    ("S-ketamine群とketamine群", "ketamine", ["ketamine", "ketamine"]),
    # so are Thai, Lao, Khmer and Myanmar
    ("การให้เคตามีนทางหลอดเลือดดำ", "เคตามีน", ["เคตามีน"]),
    ("ການໃຫ້ຢາເຄຕາມີນ", "ເຄຕາມີນ", ["ເຄຕາມີນ"]),
    # Hangul is spaced: a term inside a longer word is not that word
    ("케타민군 대 케타민", "케타민", ["케타민"]),
    # Latin as before: not inside a longer word, also next to CJK text
    ("esketamine投与", "ketamine", []),
])
def test_terms_in_scripts_written_without_spaces(text: str, term: str,
                                                 expected: list[str]) -> None:
    assert [t for t, _ in marked(text, [term])] == expected


def test_a_wildcard_beside_a_script_without_spaces_marks_the_stem_only() -> None:
    # 薬* (drug) marked 薬物投与した, everything up to the full stop: unspaced text has no
    # word end for the * to run to, so the stem is what is marked, wherever it stands
    text = "糖尿病患者に薬物投与した。"
    assert [t for t, _ in marked(text, ["薬*"])] == ["薬"]
    assert [t for t, _ in marked(text, ["*尿病"])] == ["尿病"]
    assert [t for t, _ in marked(text, ["ケタ*"])] == []
    assert [t for t, _ in marked("ketamine群とketamines", ["ketamine*"])] == [
        "ketamine", "ketamines"]  # a Latin stem still runs to its word's end


def test_a_vowel_sign_is_part_of_the_word() -> None:
    # Devanagari is written with spaces, and a vowel sign (a combining mark, not \w) belongs
    # to the word: केट is not a word of केटामाइन, and केटा* runs to the end of it
    assert marked("केटामाइन थेरेपी", ["केट"]) == []
    assert [t for t, _ in marked("केटामाइन थेरेपी", ["केटा*"])] == ["केटामाइन"]
    assert [t for t, _ in marked("केटामाइन थेरेपी", ["केटामाइन"])] == ["केटामाइन"]


def test_no_terms_or_empty_text() -> None:
    assert find_terms("anything", [], []) == []
    assert find_terms("", ["x"], []) == []
    assert find_terms("star", ["*"], []) == []


def test_structured_abstract_sections() -> None:
    abstract = ("BACKGROUND: Why it matters.\n\nMETHODS AND MATERIALS: How.\n"
                "Results: What.\nA plain closing sentence: with a colon.")
    assert abstract_sections(abstract) == [
        ("BACKGROUND", "Why it matters."), ("METHODS AND MATERIALS", "How."),
        ("Results", "What."), ("", "A plain closing sentence: with a colon.")]
    assert abstract_sections("One paragraph only.") == [("", "One paragraph only.")]
    assert abstract_sections("") == []


def test_demo_protocol_strikes_conference_abstracts_not_every_abstract() -> None:
    from pathlib import Path

    from screener.protocol import read_protocol_file

    demo = Path(__file__).resolve().parents[2] / "protocols" / "demo-biosimilar-retransitioning.yaml"
    terms = read_protocol_file(demo)[0].highlight
    text = "Abstract: a structured abstract. Presented as a conference abstract in 2019."
    assert marked(text, list(terms.include), list(terms.exclude)) == [
        ("conference abstract", "exclude")]
