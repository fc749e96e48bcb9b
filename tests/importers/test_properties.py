"""Property tests: whatever the bytes, the importer returns an ImportResult or raises
ImportFailed, never any other exception."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screener.importers import ImportFailed, ImportResult, detect_format, read_bytes

DATA = Path(__file__).resolve().parents[1] / "data" / "formats"
SAMPLES = sorted(p for p in DATA.rglob("*") if p.is_file() and p.suffix != ".md")
# Keep mutated inputs small so each example stays fast.
HEADS = {p.name: p.read_bytes()[:6000] for p in SAMPLES}

FAST = settings(max_examples=max(150, settings().max_examples), deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def outcome(data: bytes) -> ImportResult | ImportFailed:
    try:
        result = read_bytes(data, Path("input.dat"))
    except ImportFailed as error:
        assert str(error).startswith("Cannot import input.dat")
        return error
    assert result.records
    assert result.format in {"ris", "medline", "pubmed_xml", "bibtex", "csv", "tsv", "xlsx",
                             "wos", "endnote_xml"}
    return result


def detect(data: str | bytes) -> None:
    try:
        assert isinstance(detect_format(data), str)
    except ImportFailed:
        pass


@FAST
@given(st.binary(max_size=2000))
def test_random_bytes(data: bytes) -> None:
    detect(data)
    outcome(data)


@FAST
@given(st.text(max_size=2000))
def test_random_text(text: str) -> None:
    detect(text)
    outcome(text.encode("utf-8", errors="surrogatepass"))


TAG_LINES = st.lists(
    st.one_of(
        st.sampled_from(["TY  - JOUR", "ER  - ", "TI  - a title", "AU  - Doe, J", "PY  - 2020",
                         "PMID- 123", "TI  - x", "      continued", "PT J", "ER", "EF",
                         "@article{k,", "title = {T},", "}", "", "Title,Abstract,DOI",
                         "<PubmedArticleSet>", "<PubmedArticle>", "</PubmedArticle>",
                         "<xml><records><record>", "</record></records></xml>"]),
        st.text(max_size=40),
    ),
    max_size=40,
)


@FAST
@given(TAG_LINES, st.sampled_from(["\n", "\r\n"]))
def test_tag_soup(lines: list[str], newline: str) -> None:
    text = newline.join(lines)
    detect(text)
    outcome(text.encode("utf-8", errors="surrogatepass"))


@FAST
@given(st.sampled_from(sorted(HEADS)), st.data())
def test_mutated_real_files(name: str, data: st.DataObject) -> None:
    content = bytearray(HEADS[name])
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        if not content:
            break
        at = data.draw(st.integers(0, len(content) - 1), label="position")
        kind = data.draw(st.sampled_from(["cut", "delete", "insert", "flip", "duplicate"]))
        if kind == "cut":
            del content[at:]
        elif kind == "delete":
            del content[at: at + data.draw(st.integers(1, 200))]
        elif kind == "insert":
            content[at:at] = data.draw(st.binary(min_size=1, max_size=50))
        elif kind == "flip":
            content[at] = data.draw(st.integers(0, 255))
        else:
            content[at:at] = content[at: at + data.draw(st.integers(1, 300))]
    detect(bytes(content))
    outcome(bytes(content))
