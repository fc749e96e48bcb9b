"""The fast RIS/WoS/MEDLINE parsers give exactly what the library parsers (rispy,
Bio.Medline) give, on real files, on damaged files and on generated tag soup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screener.importers import ImportFailed, medline
from screener.importers._tagged import parse_tagged
from screener.importers._text import iter_lines

DATA = Path(__file__).resolve().parents[1] / "data" / "formats"
TAGGED = sorted((DATA / "ris").glob("*")) + sorted((DATA / "wos").glob("*"))
MEDLINE = sorted((DATA / "medline").glob("*"))

FAST = settings(max_examples=max(200, settings().max_examples), deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def tagged(text: str, wos: bool, reference: bool) -> Any:
    try:
        return parse_tagged(text, Path("x"), wos=wos, reference=reference)
    except ImportFailed as error:
        return ("failed", error.line, error.record, error.field, error.message)


def medline_raw(text: str, reference: bool) -> Any:
    try:
        return list(medline.raw_records(text, Path("x"), reference=reference))
    except ImportFailed as error:
        return ("failed", error.line, error.record, error.message)


def check_same(text: str) -> None:
    for wos in (False, True):
        assert tagged(text, wos, False) == tagged(text, wos, True)
    assert medline_raw(text, False) == medline_raw(text, True)


@pytest.mark.parametrize("path", TAGGED + MEDLINE, ids=lambda p: p.name)
def test_same_on_real_files(path: Path) -> None:
    text = path.read_bytes().decode("utf-8-sig")
    check_same(text)
    for size in (len(text) // 3, len(text) // 2):  # truncated copies
        check_same(text[:size])


LINES = st.lists(
    st.one_of(
        st.sampled_from([
            "TY  - JOUR", "ER  - ", "ER  -", "ER", "TI  - a title", "AU  - Doe, J", "KW  - k",
            "AB  - text", "  continued", "      continued", "      ", "   ", "", "\r",
            "PT J", "AU Doe, J", "   Roe, R", "TI x", "FN Clarivate", "VR 1.0", "EF",
            "PMID- 123", "TI  - t", "MH  - *Heading/drug", "AD  - somewhere", "FAU - Doe, J",
            "TYPE - x", "TY", "PT", "1.", "garbage",
        ]),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
    ),
    max_size=60,
)


@FAST
@given(LINES, st.sampled_from(["\n", "\r\n"]))
def test_same_on_tag_soup(lines: list[str], newline: str) -> None:
    check_same(newline.join(lines))


@FAST
@given(st.text(alphabet="ab\n\r", max_size=300), st.integers(1, 8))
def test_iter_lines_is_split(text: str, chunk: int) -> None:
    assert list(iter_lines(text, chunk)) == text.split("\n")
