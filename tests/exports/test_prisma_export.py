"""PRISMA 2020 exports: golden SVG/CSV/JSON, labels and numbers, determinism, files."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import defusedxml.ElementTree as ET
import pytest

from screener.core.prisma import PrismaCounts
from screener.exports import _glyphs
from screener.exports._layout import FONT, PAD_X, layout, text_width
from screener.exports.prisma import (
    TEMPLATE_COLUMNS,
    DiagramNotes,
    list_cell_notes,
    other_method_row,
    prisma_csv,
    prisma_json,
    prisma_missing_glyphs,
    prisma_pdf,
    prisma_png,
    prisma_svg,
)

SVG = "{http://www.w3.org/2000/svg}"

TEMPLATE_LABELS = [
    "Identification of studies via databases and registers",
    "Identification of studies via other methods",
    "Identification", "Screening", "Included",
    "Records identified from*:", "Records identified from:",
    "Records removed before screening:", "Reports excluded:",
]


def _box_texts(svg: str) -> dict[str, str]:
    """Each <g id=...> box's text, wrapped lines joined with spaces."""
    root = ET.fromstring(svg.encode("utf-8"))
    out = {}
    for group in root.iter(f"{SVG}g"):
        texts = [t.text or "" for t in group.iter(f"{SVG}text")]
        if texts:
            out[group.get("id")] = " ".join(texts)
    return out


def test_svg_matches_golden(counts: PrismaCounts, golden: Callable[[str, str], None]) -> None:
    golden("prisma.svg", prisma_svg(counts))


def test_svg_without_other_methods_matches_golden(
        counts: PrismaCounts, golden: Callable[[str, str], None]) -> None:
    plain = replace(counts, other_sources=(), other_reports_sought=0,
                    other_reports_not_retrieved=0, other_reports_assessed=0,
                    other_reports_excluded=0, other_reports_excluded_reasons=(),
                    reports_included=24, studies_included=22, records_excluded_automation=0,
                    records_excluded_human=4580)
    golden("prisma-databases-registers.svg", prisma_svg(plain))


def test_csv_matches_golden(counts: PrismaCounts, golden: Callable[[str, str], None]) -> None:
    golden("prisma.csv", prisma_csv(counts))


def test_json_matches_golden(counts: PrismaCounts, golden: Callable[[str, str], None]) -> None:
    golden("prisma.json", prisma_json(counts))


def test_svg_has_every_template_label_and_number(counts: PrismaCounts) -> None:
    boxes = _box_texts(prisma_svg(counts))
    text = " | ".join(boxes.values())
    for label in TEMPLATE_LABELS:
        assert label in text
    expected = {
        "identified": ["Records identified from*:", "Databases (n = 6874)",
                       "MEDLINE (Ovid) (n = 3120)", "Embase (n = 2870)", "CENTRAL (n = 884)",
                       "Registers (n = 345)", "ClinicalTrials.gov (n = 212)",
                       "WHO ICTRP (n = 133)"],
        "removed": ["Records removed before screening:", "Duplicate records removed (n = 2539)",
                    "Records marked as ineligible by automation tools (n = 0)",
                    "Records removed for other reasons (n = 12)"],
        "records_screened": ["Records screened (n = 4668)"],
        "records_excluded": ["Records excluded** (n = 4580)", "Excluded by a human (n = 1480)",
                             "Excluded by automation tools (n = 3100)"],
        "reports_sought": ["Reports sought for retrieval (n = 88)"],
        "reports_not_retrieved": ["Reports not retrieved (n = 6)"],
        "reports_assessed": ["Reports assessed for eligibility (n = 82)"],
        "reports_excluded": ["Reports excluded:", "Wrong population (n = 21)",
                             "Wrong intervention (n = 14)",
                             "Wrong comparator, placebo only (n = 9)",
                             "non-randomised allocation) (n = 11)",
                             "Conference abstract only (n = 3)"],
        "included": ["Studies included in review (n = 27)",
                     "Reports of included studies (n = 31)"],
        "other_identified": ["Records identified from:", "Websites (n = 14)",
                             "Organisations (n = 6)", "Citation searching (n = 41)"],
        "other_reports_sought": ["Reports sought for retrieval (n = 19)"],
        "other_reports_not_retrieved": ["Reports not retrieved (n = 2)"],
        "other_reports_assessed": ["Reports assessed for eligibility (n = 17)"],
        "other_reports_excluded": ["Reports excluded:", "Wrong population (n = 6)",
                                   "Wrong study design (n = 4)"],
    }
    for key, labels in expected.items():
        for label in labels:
            assert label in boxes[key], (key, label, boxes[key])
    footnotes = boxes["footnotes"]
    assert ("*Consider, if feasible to do so, reporting the number of records identified from "
            "each database or register searched (rather than the total number across all "
            "databases/registers).") in footnotes
    assert ("**If automation tools were used, indicate how many records were excluded by a "
            "human and how many were excluded by automation tools.") in footnotes


def test_diagram_footnotes_what_its_boxes_cannot_show(counts: PrismaCounts) -> None:
    """Records from other methods excluded at title/abstract (no box in their column) and
    reasons an amendment reworded were in the notes and Table 2, not on the diagram."""
    notes = DiagramNotes(other_duplicates=1, other_excluded=3,
                         reworded=(("Wrong population", "Adults only", 5),
                                   ("A reason no box lists", "Earlier", 1)))
    boxes = _box_texts(prisma_svg(counts, notes=notes))
    assert "Records identified from\u2020:" in boxes["other_identified"]
    assert "Wrong population\u2021 (n = 21)" in boxes["reports_excluded"]
    assert "Wrong population\u2021 (n = 6)" in boxes["other_reports_excluded"]
    assert "Wrong intervention (n = 14)" in boxes["reports_excluded"]
    footnotes = boxes["footnotes"]
    assert ("\u2020Of the records identified through other methods, 1 was removed as a "
            "duplicate and 3 were excluded at title/abstract screening; this column has no "
            "box for them.") in footnotes
    assert ('\u2021Reasons are worded as in the protocol version in force. Exclusion reason '
            '"Wrong population" was worded "Adults only" when 5 reports counted under it '
            'were excluded.') in footnotes
    assert "A reason no box lists" not in footnotes  # only reasons the diagram lists
    assert footnotes.index("\u2021") < footnotes.index("From: Page MJ")
    # the same footnotes in the PDF and PNG: they are drawn from the same layout
    texts = [b.text for b in layout(counts, notes).boxes if b.key == "footnotes"]
    assert texts == [footnotes]
    # nothing to note, no mark and no footnote (the golden diagrams)
    assert prisma_svg(counts, notes=DiagramNotes()) == prisma_svg(counts)
    plain = _box_texts(prisma_svg(counts))
    assert "\u2020" not in "".join(plain.values()) and "\u2021" not in "".join(plain.values())


def test_svg_is_deterministic(counts: PrismaCounts) -> None:
    assert prisma_svg(counts) == prisma_svg(replace(counts))
    assert prisma_csv(counts) == prisma_csv(replace(counts))
    assert prisma_json(counts) == prisma_json(replace(counts))


def test_other_methods_column_only_when_used(counts: PrismaCounts) -> None:
    plain = replace(counts, other_sources=(), other_reports_sought=0,
                    other_reports_not_retrieved=0, other_reports_assessed=0,
                    other_reports_excluded=0, other_reports_excluded_reasons=(),
                    reports_included=24)
    boxes = _box_texts(prisma_svg(plain))
    assert "heading_other" not in boxes and "other_identified" not in boxes
    assert "Identification of studies via other methods" not in prisma_svg(plain)
    assert layout(plain).width < layout(counts).width


@pytest.mark.parametrize("empty", [False, True])
def test_text_is_escaped_and_fits_its_box(counts: PrismaCounts, empty: bool) -> None:
    odd = PrismaCounts() if empty else replace(counts, databases=(("A&B <x> \"db\"", 6874),),
                  reports_excluded_reasons=(("Wrong population", 21), ("x" * 90, 37)))
    boxes = _box_texts(prisma_svg(odd))  # parses: the names were escaped
    if not empty:
        assert "A&B <x> \"db\" (n = 6874)" in boxes["identified"]
    for box in layout(odd).boxes:
        for line in box.lines:
            if line.rotate:
                assert text_width(line.text, line.size, line.bold) <= box.h, box.key
                continue
            if box.key == "footnotes":
                continue
            width = text_width(line.text, line.size, line.bold)
            if line.anchor == "middle":
                assert width <= box.w - 2 * PAD_X + 0.01, (box.key, line.text)
            else:
                assert line.x + width <= box.x + box.w - PAD_X + 0.01, (box.key, line.text)
            assert box.y < line.y - 0.7 * FONT and line.y < box.y + box.h, (box.key, line.text)


def test_boxes_do_not_overlap(counts: PrismaCounts) -> None:
    boxes = [b for b in layout(counts).boxes]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            apart = (a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y
                     or b.y + b.h <= a.y)
            assert apart, (a.key, b.key)


def test_csv_has_the_prisma2020_template_structure(counts: PrismaCounts) -> None:
    rows = list(csv.reader(io.StringIO(prisma_csv(counts))))
    assert tuple(rows[0]) == TEMPLATE_COLUMNS
    assert len(rows) == 35 and all(len(r) == 8 for r in rows)
    n = {r[0]: r[7] for r in rows[1:] if r[0] != "NA"}
    assert n["database_results"] == "6874"
    assert n["database_specific_results"] == "MEDLINE (Ovid), 3120; Embase, 2870; CENTRAL, 884"
    assert n["register_results"] == "345"
    assert (n["website_results"], n["organisation_results"], n["citations_results"]) == (
        "14", "6", "41")
    assert (n["duplicates"], n["excluded_automatic"], n["excluded_other"]) == ("2539", "0", "12")
    assert (n["records_screened"], n["records_excluded"]) == ("4668", "4580")
    assert (n["dbr_sought_reports"], n["dbr_notretrieved_reports"], n["dbr_assessed"]) == (
        "88", "6", "82")
    # commas inside a reason would split it in PRISMA2020::PRISMA_data()
    assert "Wrong comparator - placebo only, 9" in n["dbr_excluded"]
    assert n["other_excluded"] == "Wrong population, 6; Wrong study design, 4"
    assert (n["new_studies"], n["new_reports"], n["total_studies"], n["total_reports"]) == (
        "27", "31", "27", "31")


def test_csv_splits_records_excluded_by_person_and_automation(counts: PrismaCounts) -> None:
    """The template has no row for the split its ** footnote asks for: it goes in the Records
    excluded box's text, which the R package and the Shiny app draw above the total."""
    assert (counts.records_excluded_human, counts.records_excluded_automation) == (1480, 3100)
    rows = {r[0]: r for r in csv.reader(io.StringIO(prisma_csv(counts)))}
    assert rows["records_excluded"][4] == (
        "Records excluded (by a person n = 1480; by automation tools n = 3100)")
    assert rows["records_excluded"][7] == "4580"
    manual = replace(counts, records_excluded_automation=0, records_excluded_human=4580)
    rows = {r[0]: r for r in csv.reader(io.StringIO(prisma_csv(manual)))}
    assert rows["records_excluded"][4] == "Records excluded"


def test_csv_cells_are_spreadsheet_safe(counts: PrismaCounts) -> None:
    text = prisma_csv(replace(counts, databases=(("=cmd|' /C calc'!A0", 6874),)))
    assert "\"'=cmd|' /C calc'!A0, 6874\"" in text


def test_other_method_rows() -> None:
    assert other_method_row("Citation searching") == "citations_results"
    assert other_method_row("Backward citation chasing") == "citations_results"
    assert other_method_row("Websites") == "website_results"
    assert other_method_row("Organisations") == "organisation_results"
    assert other_method_row("Trial sponsors") == "organisation_results"


@pytest.mark.parametrize(("name", "row", "plain"), [
    ("Hand search", "citations_results", False),
    ("Handsearching of journals", "citations_results", False),
    ("Hand-search of conference proceedings", "citations_results", False),
    ("Reference lists", "citations_results", True),
    ("Forward citation tracking (Google Scholar)", "citations_results", True),
    ("Google", "website_results", True),
    ("Contact with experts", "organisation_results", True),
    ("Authors contacted", "organisation_results", True),
    ("WHO trial registry", "organisation_results", False),
    ("Zotero", "organisation_results", False),
    ("Colleagues' libraries", "organisation_results", False),
])
def test_other_method_boxes_and_the_notes_that_name_guesses(name: str, row: str,
                                                            plain: bool) -> None:
    from screener.exports.prisma import other_method_box, other_method_notes

    assert other_method_box(name)[0] == row
    counts = PrismaCounts(other_sources=((name, 3),))
    notes = other_method_notes(counts)
    if plain:
        assert notes == []
    else:
        (note,) = notes
        assert f"'{name}' (other methods, 3 records)" in note and f"({row})" in note
    # the CSV counts the records in that row
    values = {r["data"]: r["n"] for r in csv.DictReader(io.StringIO(prisma_csv(counts)))}
    assert values[row] == "3"


def test_json_reports_problems(counts: PrismaCounts) -> None:
    data = json.loads(prisma_json(replace(counts, records_screened=1)))
    assert data["problems"] and "Records screened (n = 1)" in data["problems"][0]
    assert data["prisma2020_template"]["records_screened"] == "1"


@pytest.mark.parametrize("fmt", ["png", "pdf"])
def test_png_and_pdf_files(counts: PrismaCounts, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"prisma.{fmt}"
    write = prisma_pdf if fmt == "pdf" else lambda c, p: prisma_png(c, p, dpi=80)
    write(counts, path)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n" if fmt == "png" else b"%PDF")
    again = tmp_path / f"again.{fmt}"
    write(counts, again)
    assert again.read_bytes() == data


# --- updated reviews (the previous version's studies given) -----------------------------

def _updated(counts: PrismaCounts, studies: int = 12, reports: int = 15) -> PrismaCounts:
    from screener.core.prisma import PreviousVersion

    return replace(counts, previous=PreviousVersion(studies, reports))


def test_updated_review_csv_and_json_fill_the_previous_new_and_total_rows(
        counts: PrismaCounts) -> None:
    """The R template's previous_*, new_* and total_* rows kept 0 and the review's own
    numbers: an update screened in a review folder of its own could not say what the
    previous version included."""
    updated = _updated(counts)
    n = {r["data"]: r["n"] for r in csv.DictReader(io.StringIO(prisma_csv(updated)))}
    assert (n["previous_studies"], n["previous_reports"]) == ("12", "15")
    assert (n["new_studies"], n["new_reports"]) == ("27", "31")
    assert (n["total_studies"], n["total_reports"]) == ("39", "46")
    # every other row as for the new review
    plain = {r["data"]: r["n"] for r in csv.DictReader(io.StringIO(prisma_csv(counts)))}
    changed = {key for key in n if n[key] != plain[key]}
    assert changed == {"previous_studies", "previous_reports", "total_studies",
                       "total_reports"}
    data = json.loads(prisma_json(updated))
    assert data["previous_version"] == {"studies": 12, "reports": 15}
    assert data["included"] == {"studies": 27, "reports": 31}
    assert data["total"] == {"studies": 39, "reports": 46}
    assert data["prisma2020_template"]["total_studies"] == "39"
    assert data["problems"] == []
    # a new review's JSON has none of them (the golden file)
    assert "previous_version" not in json.loads(prisma_json(counts))


@pytest.mark.parametrize("other", [True, False])
def test_updated_review_diagram_draws_the_previous_studies_column(
        counts: PrismaCounts, other: bool) -> None:
    if not other:
        counts = replace(counts, other_sources=(), other_reports_sought=0,
                         other_reports_not_retrieved=0, other_reports_assessed=0,
                         other_reports_excluded=0, other_reports_excluded_reasons=(),
                         reports_included=24)
    updated = _updated(counts)
    boxes = _box_texts(prisma_svg(updated))
    assert boxes["heading_previous"] == "Previous studies"
    assert boxes["previous"] == ("Studies included in previous version of review (n = 12) "
                                 "Reports of studies included in previous version of "
                                 "review (n = 15)")
    assert "Identification of new studies via databases and registers" in boxes["heading_dbr"]
    assert ("Identification of new studies via other methods"
            in boxes.get("heading_other", "")) is other
    assert boxes["included"] == (f"New studies included in review (n = 27) Reports of new "
                                 f"included studies (n = {counts.reports_included})")
    assert boxes["total"] == (f"Total studies included in review (n = 39) Reports of total "
                              f"included studies (n = {counts.reports_included + 15})")
    geo = layout(updated)
    placed = {b.key: b for b in geo.boxes}
    previous, identified = placed["previous"], placed["identified"]
    included, total = placed["included"], placed["total"]
    # the previous column left of the others, the total below the new studies
    assert previous.x + previous.w < identified.x and total.y > included.y + included.h
    assert placed["phase_included"].y + placed["phase_included"].h >= total.y + total.h
    # arrows into the total: from the new studies, and from the previous column's box
    tips = [a.head[0] for a in geo.arrows]
    assert (total.x, total.y + total.h / 2) in tips
    assert (total.x + total.w / 2, total.y) in tips
    boxes_only = [b for b in geo.boxes if b.key != "footnotes"]
    for i, a in enumerate(boxes_only):
        for b in boxes_only[i + 1:]:
            assert (a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y
                    or b.y + b.h <= a.y), (a.key, b.key)
    assert geo.width > layout(counts).width
    # the same boxes in the PDF and PNG, drawn from this layout; none without `previous`
    assert "previous" not in _box_texts(prisma_svg(counts))
    assert "Previous studies" not in prisma_svg(counts)


def test_previous_version_with_fewer_reports_than_studies_is_a_problem(
        counts: PrismaCounts) -> None:
    from screener.core.prisma import check

    assert check(_updated(counts)) == []
    (problem,) = check(_updated(counts, 5, 3))
    assert "previous version of review (n = 5) exceeds reports" in problem


# --- text matplotlib cannot draw (PDF and PNG) --------------------------------------------

@pytest.mark.parametrize("fmt", ["png", "pdf"])
def test_invisible_format_characters_do_not_crash_the_drawing(
        counts: PrismaCounts, tmp_path: Path, fmt: str) -> None:
    """A source named "\\ufeffPubMed" (or a reason label holding U+FEFF, from a review made
    before these were refused) crashed `export prisma --format pdf` with an IndexError in
    matplotlib's track_glyph."""
    odd = replace(counts,
                  databases=tuple((f"\ufeff{name}\u200b", n) for name, n in counts.databases),
                  reports_excluded_reasons=tuple(
                      (f"Wrong\ufeff{name}", n) for name, n in counts.reports_excluded_reasons))
    path = tmp_path / f"prisma.{fmt}"
    (prisma_pdf if fmt == "pdf" else prisma_png)(odd, path)
    assert path.stat().st_size > 1000
    assert prisma_missing_glyphs(odd) == []  # invisible: nothing shown, nothing missing


def test_dollar_signs_are_drawn_as_written_not_as_mathtext(
        counts: PrismaCounts, tmp_path: Path) -> None:
    """Matplotlib reads text between two `$` as mathtext: a source "Grey lit ($0 budget) and
    ($5 reports)" was drawn in the PNG and PDF as "(0)(5 reports)" with "budget and" in
    italics, and a reason holding `$\\foo$` made the export fail (ParseFatalException)."""
    import matplotlib

    from screener.exports import prisma

    odd = replace(counts, other_sources=(("Grey lit ($0 budget) and ($5 reports)", 61),),
                  reports_excluded_reasons=(("Cost $\\foo$ over $5", 58),))
    path = tmp_path / "drawn.svg"
    # the PNG/PDF drawing, saved as an SVG that keeps its text as text
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        prisma._figure(layout(odd)).savefig(path, format="svg")
    drawn = {"".join(t.itertext()) for t in ET.parse(path).getroot().iter(f"{SVG}text")}
    geo = layout(odd)
    lines = " ".join(line.text for box in geo.panels + geo.boxes for line in box.lines)
    assert "($0 budget) and ($5" in lines and "$\\foo$ over $5" in lines
    # every line is drawn as one text, as written (mathtext splits it into glyphs)
    assert {line.text for box in geo.panels + geo.boxes for line in box.lines} <= drawn
    for fmt in ("png", "pdf"):
        (prisma_pdf if fmt == "pdf" else lambda c, p: prisma_png(c, p, dpi=50))(
            odd, tmp_path / f"prisma.{fmt}")
        assert (tmp_path / f"prisma.{fmt}").stat().st_size > 1000


def test_text_no_font_has_is_named_once_and_matplotlib_stays_quiet(
        counts: PrismaCounts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CJK source name was drawn as empty boxes on a machine without a CJK font, with a
    raw matplotlib "Glyph ... missing from font(s)" warning per character."""
    dejavu_only = _glyphs._installed()[:1]  # a machine with no fallback font installed
    assert dejavu_only[0][0] == "DejaVu Sans"
    monkeypatch.setattr(_glyphs, "_installed", lambda: dejavu_only)
    cjk = replace(counts, databases=(("中国知网 (CNKI)", counts.database_total),))
    lacking = prisma_missing_glyphs(cjk)
    assert [(text.split(" (n =")[0], chars) for text, chars in lacking] == [
        ("中国知网 (CNKI)", "中国知网")]
    assert prisma_missing_glyphs(counts) == []
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prisma_png(cjk, tmp_path / "prisma.png", dpi=50)
    assert not [w for w in caught if "missing from" in str(w.message)]


def _r_parse_reasons(cell: str) -> list[tuple[str, int]]:
    """PRISMA2020's PRISMA_parse_reasons_(): split at ";" (and one space), the reason up to
    its first comma, the number after it."""
    parts = re.split(r";(?: )?", cell)
    return [(re.sub(r",.*$", "", p), int(re.sub(r"^.*?,([ 0-9,]*)$", r"\1", p).replace(",", "")))
            for p in parts if p]


def test_names_the_r_template_cannot_hold_are_reworded_and_said_so(
        counts: PrismaCounts) -> None:
    """A reason "Review, editorial, letter" became "Review - editorial - letter" in
    prisma.csv without a word: the R package reads a reason up to its first comma."""
    odd = replace(counts, reports_excluded_reasons=(
        ("Review, editorial, letter", 5), ("Wrong population; adults", 3)))
    rows = {row["data"]: row for row in csv.DictReader(io.StringIO(prisma_csv(odd)))}
    assert _r_parse_reasons(rows["dbr_excluded"]["n"]) == [
        ("Review - editorial - letter", 5), ("Wrong population - adults", 3)]
    notes = list_cell_notes(odd)
    assert [n.split(" in the PRISMA2020")[0] for n in notes] == [
        "'Review, editorial, letter' is written 'Review - editorial - letter'",
        "'Wrong population; adults' is written 'Wrong population - adults'"]
    assert list_cell_notes(replace(odd, reports_excluded_reasons=(("Wrong population", 8),))
                           ) == []
