"""Records in many scripts and with markup, as databases export them: what is stored."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from screener.importers import read_bytes, read_file

NFC_TITLE = "Mäuse und Café: Nghiên cứu trầm cảm, İLAÇ tedavisi"
NFD_TITLE = unicodedata.normalize("NFD", NFC_TITLE)


def ris(title: str, abstract: str = "", author: str = "Nguyễn, Văn An") -> bytes:
    text = (f"TY  - JOUR\nTI  - {title}\nAU  - {author}\nPY  - 2020\n"
            f"AB  - {abstract}\nER  - \n")
    return text.encode("utf-8")


def test_text_written_with_combining_accents_is_stored_composed() -> None:
    # a macOS tool's NFD export was stored as it came: 'Nghie\u0302n', which did not
    # compare, search or rank alike with the same words from another database
    assert NFD_TITLE != NFC_TITLE
    record = read_bytes(ris(NFD_TITLE, NFD_TITLE, unicodedata.normalize(
        "NFD", "Nguyễn, Văn An"))).records[0]
    assert (record.title, record.abstract, record.authors) == (
        NFC_TITLE, NFC_TITLE, ("Nguyễn, Văn An",))
    assert record.raw["TI"] == NFC_TITLE or record.raw["TI"] == [NFC_TITLE]


def test_an_excel_sheet_with_combining_accents_is_stored_composed(tmp_path: Path) -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Title", "Authors", "Year"])
    sheet.append([NFD_TITLE, unicodedata.normalize("NFD", "Müller, Jürgen"), 2020])
    path = tmp_path / "nfd.xlsx"
    workbook.save(path)
    record = read_file(path).records[0]
    assert (record.title, record.authors) == (NFC_TITLE, ("Müller, Jürgen",))


def test_zero_width_characters_are_removed_from_record_text() -> None:
    # 'Keta\u200bmine' looked like 'Ketamine' on the card but was two words to search,
    # ranking and dedup
    record = read_bytes(ris("Keta\u200bmine\u2060 therapy\ufeff for depression",
                            "Zero\u200bwidth and ke\u200btamine; نمی‌دانم keeps its non-joiner",
                            "Do\u200be, Jane")).records[0]
    assert record.title == "Ketamine therapy for depression"
    assert record.abstract == "Zerowidth and ketamine; نمی‌دانم keeps its non-joiner"
    assert record.authors == ("Doe, Jane",)


def test_block_tags_keep_words_apart_and_inline_tags_do_not() -> None:
    # '<jats:title>Background</jats:title><jats:p>Ketamine' became 'BackgroundKetamine' and
    # '<br>' joined two words; '<jats:sup>' was dropped as any tag ('kg−1'), and a twice
    # escaped '&amp;lt;' showed as '&lt;'
    table = ("Title,Abstract,Authors,Year\n"
             '"Ketamine trial<br>second line: <i>in</i> vivo CO<sub>2</sub>",'
             '"<jats:title>Abstract</jats:title><jats:sec><jats:title>Background</jats:title>'
             "<jats:p>Ketamine reduces depression.</jats:p></jats:sec><jats:sec><jats:title>"
             "Methods</jats:title><jats:p>We randomised 40 adults; p &amp;lt; 0.05; dose "
             '0.5 mg kg<jats:sup>−1</jats:sup>; AT&amp;T &amp;amp; R&amp;D.</jats:p></jats:sec>",'
             '"Lens, L",2021\n')
    record = read_bytes(table.encode("utf-8")).records[0]
    assert record.title == "Ketamine trial second line: in vivo CO_2"
    assert record.abstract == (
        "Background: Ketamine reduces depression.\n\nMethods: We randomised 40 adults; "
        "p < 0.05; dose 0.5 mg kg^−1; AT&T & R&D.")


def test_jats_section_titles_read_as_pubmeds_labelled_sections() -> None:
    # '<jats:title>Background</jats:title><jats:p>Ketamine' became 'Background Ketamine',
    # where PubMed's <AbstractText Label="Background"> gives 'Background: Ketamine' on a
    # paragraph of its own: the same article read two ways on the card and in exports
    pubmed = ('<?xml version="1.0"?><PubmedArticleSet><PubmedArticle><MedlineCitation>'
              "<PMID>30000005</PMID><Article><ArticleTitle>Ketamine</ArticleTitle><Abstract>"
              '<AbstractText Label="Background">Ketamine reduces depression.</AbstractText>'
              '<AbstractText Label="Methods">We randomised <i>40</i> adults.</AbstractText>'
              "</Abstract></Article></MedlineCitation></PubmedArticle></PubmedArticleSet>")
    jats = ('<jats:title>Abstract</jats:title><jats:sec><jats:title>Background</jats:title>'
            "<jats:p>Ketamine reduces depression.</jats:p></jats:sec>\n<jats:sec>"
            "<jats:title>Methods</jats:title><jats:p>We randomised <jats:italic>40"
            "</jats:italic> adults.</jats:p></jats:sec>")
    html = ("<sec><title>Background:</title><p>Ketamine reduces depression.</p></sec>"
            "<sec><title>Methods</title><p>We randomised <i>40</i> adults.</p></sec>")
    (expected,) = read_bytes(pubmed.encode("utf-8")).records
    assert expected.abstract.startswith("Background: Ketamine")
    for abstract in (jats, html):
        table = f'Title,Abstract\nKetamine,"{abstract}"\n'
        assert read_bytes(table.encode("utf-8")).records[0].abstract == expected.abstract
        assert read_bytes(ris("Ketamine", abstract)).records[0].abstract == expected.abstract


MEDLINE = """PMID- 30000002
TI  - [Ketamine for treatment-resistant depression].
TT  - 氯胺酮治疗难治性抑郁症
FAU - Wang, Wei
LA  - chi
DP  - 2020
JT  - Zhonghua Yi Xue Za Zhi

PMID- 30000003
TT  - Кетамин при депрессии
FAU - Ivanov, Ivan
DP  - 2019
"""

PUBMED_XML = """<?xml version="1.0"?>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>30000004</PMID><Article>
<Journal><Title>Seishin Shinkeigaku Zasshi</Title></Journal>
<ArticleTitle>[Ketamine in depression].</ArticleTitle>
<AuthorList><Author><LastName>Tanaka</LastName><ForeName>Yuki</ForeName></Author></AuthorList>
<Language>jpn</Language><VernacularTitle>ケタミンとうつ病</VernacularTitle>
</Article></MedlineCitation></PubmedArticle></PubmedArticleSet>
"""


def test_the_original_language_title_is_kept_beside_the_english_one() -> None:
    # MEDLINE TT and PubMed XML VernacularTitle were read only when there was no title:
    # a reviewer of a Chinese or Japanese article never saw its own title
    english, russian = read_bytes(MEDLINE.encode("utf-8")).records
    assert english.title == "[Ketamine for treatment-resistant depression]."
    assert english.original_title == "氯胺酮治疗难治性抑郁症"
    assert (russian.title, russian.original_title) == ("Кетамин при депрессии", "")
    (japanese,) = read_bytes(PUBMED_XML.encode("utf-8")).records
    assert (japanese.title, japanese.original_title) == (
        "[Ketamine in depression].", "ケタミンとうつ病")


def test_the_original_title_goes_to_bibtex_origtitle_and_comes_back() -> None:
    from screener.exports.records import records_bibtex

    english, _ = read_bytes(MEDLINE.encode("utf-8")).records
    text = records_bibtex([(english, "include", "", "")])
    assert "origtitle = {氯胺酮治疗难治性抑郁症}" in text
    again = read_bytes(text.encode("utf-8")).records[0]
    assert (again.title, again.original_title) == (english.title, english.original_title)
