"""PRISMA 2020 flow diagram (SVG, PDF, PNG) and counts (CSV, JSON) from `PrismaCounts`.

Renders core objects only: never queries the database, and imports nothing from
storage, workflow, tui or cli (no sqlalchemy, textual, click, sklearn). Matplotlib is
imported lazily, only by `prisma_pdf` and `prisma_png`.

Output is deterministic: the layout (`screener.exports._layout`) is derived from the
counts alone, and no file carries a timestamp or random id, so the same counts give
the same SVG, CSV and JSON bytes.

CSV: the structure of the PRISMA2020 R package / Shiny app template (inst/extdata/
PRISMA.csv: columns data,node,box,description,boxtext,tooltips,url,n; 34 rows in the
template's order) with only the `n` column filled in, so the file can be uploaded to
https://estech.shinyapps.io/prisma_flowdiagram/ or read with PRISMA2020::PRISMA_data().
List cells use the template's syntax "Name, n; Name, n"; commas and semicolons inside
names are replaced by " -" (the R parser has no quoting: it reads a name up to its first
comma), and `list_cell_notes` says so for the command to print. Other-method sources
are summed into website_results / organisation_results / citations_results by name
(`other_method_box`: citation/reference/snowball and hand searching go to citations,
website/internet/Google to websites, organisations/experts/contacts/authors/sponsors and
registers searched as other methods to organisations); a name matching none goes to
organisation_results, the template having no neutral row, and `other_method_notes` names
every source whose box its name does not say plainly, for the command to print.
Rows screener does not know keep the template's 0: the previous studies, unless the counts
give them (`PrismaCounts.previous`: an updated review, whose new_* rows are then the
review's own and total_* the two together), and the meta-analysis.
A draft (not final) diagram is marked in the yellow title box's text (`prisma_csv`).
The template has no row for records excluded by automation tools at screening, so when there
are any, the Records excluded box's text splits its count, as the template's ** footnote asks
("Records excluded (by a person n = 120; by automation tools n = 3000)"); the R package and
the Shiny app draw that text above the total.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from screener.core.prisma import Counts, PrismaCounts, check
from screener.exports import _glyphs
from screener.exports._cells import csv_text
from screener.exports._layout import (
    BLACK,
    SMALL,
    Box,
    DiagramNotes,
    Layout,
    TextLine,
    layout,
)

__all__ = ["OTHER_METHOD_BOXES", "TEMPLATE_COLUMNS", "DiagramNotes", "list_cell_notes",
           "other_method_box", "other_method_notes",
           "other_method_row", "prisma_csv", "prisma_json", "prisma_missing_glyphs",
           "prisma_pdf", "prisma_png", "prisma_svg", "prisma_values"]

FONT_FAMILY = "Arial, Helvetica, 'Liberation Sans', 'DejaVu Sans', sans-serif"
TEMPLATE_COLUMNS = ("data", "node", "box", "description", "boxtext", "tooltips", "url", "n")

_DBR_EXCL = ("Reports excluded (databases and registers): [separate reasons and numbers "
             "using ; e.g. Reason1, xxx; Reason2, xxx; Reason3, xxx]")
_OTH_EXCL = ("Reports excluded (other): [separate reasons and numbers using ; e.g. Reason1, "
             "xxx; Reason2, xxx; Reason3, xxx]")
# The PRISMA2020 template rows: (data, node, box, description, boxtext, tooltips, url, default n)
_TEMPLATE: tuple[tuple[str, ...], ...] = (
    ("NA", "node4", "prevstud", "Grey title box; Previous studies", "Previous studies",
     "Grey title box; Previous studies", "prevstud.html", "0"),
    ("previous_studies", "node5", "box1", "Studies included in previous version of review",
     "Studies included in previous version of review",
     "Studies included in previous version of review", "previous_studies.html", "0"),
    ("previous_reports", "NA", "box1",
     "Reports of studies included in previous version of review",
     "Reports of studies included in previous version of review", "NA",
     "previous_reports.html", "0"),
    ("NA", "node6", "newstud",
     "Yellow title box; Identification of new studies via databases and registers",
     "Identification of new studies via databases and registers",
     "Yellow title box; Identification of new studies via databases and registers",
     "newstud.html", "0"),
    ("database_results", "node7", "box2", "Records identified from: Databases", "Databases",
     "Records identified from: Databases and Registers", "database_results.html", "0"),
    ("database_specific_results", "NA", "box2", "Records identified from: specific databases",
     "Specific Databases", "NA", "database_results.html", "NA"),
    ("register_results", "NA", "box2", "Records identified from: Registers", "Registers", "NA",
     "NA", "0"),
    ("register_specific_results", "NA", "box2", "Records identified from: specific registers",
     "Specific Registers", "NA", "database_results.html", "NA"),
    ("NA", "node16", "othstud", "Grey title box; Identification of new studies via other methods",
     "Identification of new studies via other methods",
     "Grey title box; Identification of new studies via other methods", "othstud.html", "0"),
    ("website_results", "node17", "box11", "Records identified from: Websites", "Websites",
     "Records identified from: Websites, Organisations and Citation Searching",
     "website_results.html", "0"),
    ("organisation_results", "", "box11", "Records identified from: Organisations",
     "Organisations", "NA", "NA", "0"),
    ("citations_results", "NA", "box11", "Records identified from: Citation searching",
     "Citation searching", "NA", "NA", "0"),
    ("duplicates", "node8", "box3", "Duplicate records", "Duplicate records",
     "Duplicate records", "duplicates.html", "0"),
    ("excluded_automatic", "NA", "box3", "Records marked as ineligible by automation tools",
     "Records marked as ineligible by automation tools", "NA", "NA", "0"),
    ("excluded_other", "NA", "box3", "Records removed for other reasons",
     "Records removed for other reasons", "NA", "NA", "0"),
    ("records_screened", "node9", "box4", "Records screened (databases and registers)",
     "Records screened", "Records screened (databases and registers)",
     "records_screened.html", "0"),
    ("records_excluded", "node10", "box5", "Records excluded (databases and registers)",
     "Records excluded", "Records excluded (databases and registers)",
     "records_excluded.html", "0"),
    ("dbr_sought_reports", "node11", "box6",
     "Reports sought for retrieval (databases and registers)", "Reports sought for retrieval",
     "Reports sought for retrieval (databases and registers)", "dbr_sought_reports.html", "0"),
    ("dbr_notretrieved_reports", "node12", "box7",
     "Reports not retrieved (databases and registers)", "Reports not retrieved",
     "Reports not retrieved (databases and registers)", "dbr_notretrieved_reports.html", "0"),
    ("other_sought_reports", "node18", "box12", "Reports sought for retrieval (other)",
     "Reports sought for retrieval", "Reports sought for retrieval (other)",
     "other_sought_reports.html", "0"),
    ("other_notretrieved_reports", "node19", "box13", "Reports not retrieved (other)",
     "Reports not retrieved", "Reports not retrieved (other)",
     "other_notretrieved_reports.html", "0"),
    ("dbr_assessed", "node13", "box8",
     "Reports assessed for eligibility (databases and registers)",
     "Reports assessed for eligibility",
     "Reports assessed for eligibility (databases and registers)", "dbr_assessed.html", "0"),
    ("dbr_excluded", "node14", "box9", _DBR_EXCL, "Reports excluded",
     "Reports excluded (databases and registers)", "dbrexcludedrecords.html", "NA"),
    ("other_assessed", "node20", "box14", "Reports assessed for eligibility (other)",
     "Reports assessed for eligibility", "Reports assessed for eligibility (other)",
     "other_assessed.html", "0"),
    ("other_excluded", "node21", "box15", _OTH_EXCL, "Reports excluded",
     "Reports excluded (other)", "other_excluded.html", "NA"),
    ("new_studies", "node15", "box10", "New studies included in review",
     "New studies included in review", "New studies included in review", "new_studies.html",
     "0"),
    ("new_reports", "NA", "box10", "Reports of new included studies",
     "Reports of new included studies", "NA", "NA", "0"),
    ("total_studies", "node22", "box16", "Total studies included in review",
     "Total studies included in review", "Total studies included in review",
     "total_studies.html", "0"),
    ("total_reports", "NA", "box16", "Reports of total included studies",
     "Reports of total included studies", "NA", "NA", "0"),
    ("identification", "node1", "identification", "Blue identification box", "Identification",
     "Blue identification box", "identification.html", "0"),
    ("screening", "node2", "screening", "Blue screening box", "Screening",
     "Blue screening box", "screening.html", "0"),
    ("included", "node3", "included", "Blue included box", "Included", "Blue included box",
     "included.html", "0"),
    ("total_studies_ma", "node23", "box17", "Total studies included in meta-analysis",
     "Total studies included in meta-analysis", "Total studies included in meta-analysis",
     "total_studies_meta_analysis.html", "0"),
    ("total_reports_ma", "NA", "box17", "Reports of total included studies in meta-analysis",
     "Reports of total included studies in meta-analysis", "NA", "NA", "0"),
)


OTHER_METHOD_BOXES: dict[str, str] = {"website_results": "Websites",
                                      "organisation_results": "Organisations",
                                      "citations_results": "Citation searching"}
"""The PRISMA2020 template's rows for records from other methods, with their box text.
The template has no fourth, neutral row ("Other")."""

# (words in a source's name, the row it goes to, why: "" when the name says it plainly,
# else the sentence printed with the export). The first entry whose word the name
# contains wins: "Citation searching in Google Scholar" is citation searching.
_OTHER_METHOD_WORDS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("citation", "cited", "reference list", "references", "snowball", "backward",
      "forward"), "citations_results", ""),
    (("hand search", "handsearch", "hand-search", "manual search"),
     "citations_results",
     "hand searching has no box of its own; it is counted with citation searching, the "
     "other manual search of the literature"),
    (("website", "web site", "web search", "internet", "google", "search engine"),
     "website_results", ""),
    (("organisation", "organization", "expert", "contact", "author", "sponsor",
      "manufacturer", "company", "industry", "agency", "society"),
     "organisation_results", ""),
    (("registry", "register", "clinicaltrials"), "organisation_results",
     "a register searched as another method is counted with organisations (import it "
     "with --kind register to count it under Registers instead)"),
)


def other_method_box(name: str) -> tuple[str, str]:
    """(template row, why) for an other-methods source, from its name (`_OTHER_METHOD_WORDS`).
    `why` is "" when the name says plainly which box it is; else it says why this box
    (names matching nothing go to Organisations, as the template has no neutral row)."""
    low = " ".join(name.lower().replace("_", " ").split())
    for words, row, why in _OTHER_METHOD_WORDS:
        if any(word in low for word in words):
            return row, why
    return ("organisation_results",
            "its name matches no box of the template (Websites, Organisations, Citation "
            "searching), which has no neutral one: it is counted with organisations")


def other_method_row(name: str) -> str:
    """The PRISMA2020 CSV row an other-method source is counted in, from its name."""
    return other_method_box(name)[0]


def other_method_notes(counts: PrismaCounts) -> list[str]:
    """For each other-methods source whose box the name does not say plainly: which box of
    the R template (CSV, and the JSON's `prisma2020_template`) counts it, and why."""
    notes = []
    for name, n in counts.other_sources:
        row, why = other_method_box(name)
        if why:
            notes.append(f"source '{name}' (other methods, {n:,} record"
                         f"{'' if n == 1 else 's'}) is counted in the PRISMA2020 template's "
                         f"'{OTHER_METHOD_BOXES[row]}' box ({row}): {why}")
    return notes


def _cell_name(name: str) -> str:
    """A name as a list cell can hold it: PRISMA2020's PRISMA_parse_reasons_() splits the
    cell at each ";" and reads a name up to its first ",", with no quoting or escape."""
    return name.replace(";", " -").replace(",", " -")


def _list_cell(items: Counts) -> str:
    """ "Name, n; Name, n" as PRISMA2020::PRISMA_data() parses it, or "NA"."""
    if not items:
        return "NA"
    return "; ".join(f"{_cell_name(name)}, {n}" for name, n in items)


def list_cell_notes(counts: PrismaCounts) -> list[str]:
    """For each source name or exclusion reason that the R template's list cells cannot
    hold as it is (a comma or semicolon in it, `_cell_name`): how it is written instead."""
    c = counts
    names = [name for items in (c.databases, c.registers, c.reports_excluded_reasons,
                                c.other_reports_excluded_reasons) for name, _ in items]
    return [f"{name!r} is written {_cell_name(name)!r} in the PRISMA2020 template's list "
            "cells: the R package and the Shiny app read a name up to its first comma and "
            "split the list at each semicolon, with no way to quote either; the JSON's own "
            "lists and the diagrams keep the wording (edit the box's text in the Shiny app "
            "if the published wording must stay)"
            for name in dict.fromkeys(names) if _cell_name(name) != name]


def prisma_values(counts: PrismaCounts) -> dict[str, str]:
    """The `n` value of every PRISMA2020 template row screener fills in, by `data` name."""
    c = counts
    other: dict[str, int] = {"website_results": 0, "organisation_results": 0,
                             "citations_results": 0}
    for name, n in c.other_sources:
        other[other_method_row(name)] += n
    dbr_excluded = c.reports_excluded_reasons or (
        (("Not specified", c.reports_excluded),) if c.reports_excluded else ())
    other_excluded = c.other_reports_excluded_reasons or (
        (("Not specified", c.other_reports_excluded),) if c.other_reports_excluded else ())
    values: dict[str, int | str] = {
        "database_results": c.database_total,
        "database_specific_results": _list_cell(c.databases),
        "register_results": c.register_total,
        "register_specific_results": _list_cell(c.registers),
        **other,
        "duplicates": c.duplicates_removed,
        "excluded_automatic": c.automation_ineligible,
        "excluded_other": c.removed_other,
        "records_screened": c.records_screened,
        "records_excluded": c.records_excluded,
        "dbr_sought_reports": c.reports_sought,
        "dbr_notretrieved_reports": c.reports_not_retrieved,
        "other_sought_reports": c.other_reports_sought,
        "other_notretrieved_reports": c.other_reports_not_retrieved,
        "dbr_assessed": c.reports_assessed,
        "dbr_excluded": _list_cell(dbr_excluded),
        "other_assessed": c.other_reports_assessed,
        "other_excluded": _list_cell(other_excluded),
        "new_studies": c.studies_included,
        "new_reports": c.reports_included,
        "total_studies": c.total_studies,
        "total_reports": c.total_reports,
    }
    if c.previous:
        values.update(previous_studies=c.previous.studies, previous_reports=c.previous.reports)
    if not c.full_text:  # screener recorded nothing after the reports sought
        values.update(dict.fromkeys(AFTER_SOUGHT_ROWS, "NA"))
    return {key: str(value) for key, value in values.items()}


AFTER_SOUGHT_ROWS = ("dbr_notretrieved_reports", "other_notretrieved_reports", "dbr_assessed",
                     "dbr_excluded", "other_assessed", "other_excluded", "new_studies",
                     "new_reports", "total_studies", "total_reports")
"""The template rows after "Reports sought for retrieval": "NA" without a full-text stage
(`PrismaCounts.full_text`), the numbers being unknown to screener, not zero."""


DRAFT_BOX = "newstud"
"""The template row that carries a draft's mark: the yellow title box above the
databases-and-registers column, whose `boxtext` the R package and the Shiny app draw."""


def prisma_csv(counts: PrismaCounts, draft: str = "") -> str:
    """The counts as the PRISMA2020 R package's template CSV (see the module docstring).
    `draft` (why the diagram is not final): the template has no row for it, so the yellow
    title box's `boxtext` begins "DRAFT, not final." (the diagram the R package or the
    Shiny app draws from the file shows it) and its `description` ends with the reason;
    every other cell is the template's."""
    values = prisma_values(counts)
    rows = []
    for row in _TEMPLATE:
        data, node, box, description, boxtext, tooltips, url, n = row
        if draft and box == DRAFT_BOX:
            description = f"{description}. {' '.join(draft.split())}"
            boxtext = f"DRAFT, not final. {boxtext}"
        if data == "records_excluded" and counts.records_excluded_automation:
            boxtext = (f"{boxtext} (by a person n = {counts.records_excluded_human}; "
                       f"by automation tools n = {counts.records_excluded_automation})")
        rows.append((data, node, box, description, boxtext, tooltips, url,
                     values.get(data, n)))
    return csv_text(TEMPLATE_COLUMNS, rows)


def _named(items: Counts) -> list[dict[str, Any]]:
    return [{"name": name, "n": n} for name, n in items]


def _column(full_text: bool, sought: int, not_retrieved: int, assessed: int, excluded: int,
            reasons: Counts) -> dict[str, Any]:
    """A column's boxes from the reports sought on: null after it without a full-text stage."""
    if not full_text:
        return {"reports_sought": sought, "reports_not_retrieved": None,
                "reports_assessed": None, "reports_excluded": None,
                "reports_excluded_reasons": None}
    return {"reports_sought": sought, "reports_not_retrieved": not_retrieved,
            "reports_assessed": assessed, "reports_excluded": excluded,
            "reports_excluded_reasons": _named(reasons)}


def prisma_json(counts: PrismaCounts, draft: str = "", notes: Sequence[str] = (),
                problems: Sequence[str] | None = None) -> str:
    """The counts as JSON: every box, totals, the R template values and the problems
    (`problems`, the caller's, e.g. without those a draft explains; else `check`'s);
    `final` is false (and `draft` says why) while the diagram is not final."""
    c = counts
    data: dict[str, Any] = {
        "format": "screener-prisma-2020",
        "version": 1,
        "final": not draft,
        "draft": draft,
        "notes": list(notes),
        "identification": {
            "databases": _named(c.databases), "databases_total": c.database_total,
            "registers": _named(c.registers), "registers_total": c.register_total,
            "other_methods": _named(c.other_sources), "other_methods_total": c.other_identified,
        },
        "removed_before_screening": {
            "duplicates": c.duplicates_removed, "automation_tools": c.automation_ineligible,
            "other_reasons": c.removed_other, "total": c.removed_before_screening,
        },
        "screening": {
            "records_screened": c.records_screened, "records_excluded": c.records_excluded,
            "records_excluded_human": c.records_excluded_human,
            "records_excluded_automation": c.records_excluded_automation,
        },
        "databases_and_registers": _column(c.full_text, c.reports_sought,
                                           c.reports_not_retrieved, c.reports_assessed,
                                           c.reports_excluded, c.reports_excluded_reasons),
        "other_methods": _column(c.full_text, c.other_reports_sought,
                                 c.other_reports_not_retrieved, c.other_reports_assessed,
                                 c.other_reports_excluded, c.other_reports_excluded_reasons
                                 ) if c.has_other_methods else None,
        "included": {"studies": c.studies_included, "reports": c.reports_included
                     } if c.full_text else None,
    }
    if c.previous:  # an updated review: "included" holds the new studies
        data.update({
            "previous_version": {"studies": c.previous.studies, "reports": c.previous.reports},
            "total": {"studies": c.total_studies, "reports": c.total_reports},
        })
    data |= {
        "prisma2020_template": prisma_values(c),
        "problems": list(check(c) if problems is None else problems),
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# --- SVG ------------------------------------------------------------------------------

def _num(value: float) -> str:
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _xml_text(text: str) -> str:
    """Escape for XML and drop characters XML 1.0 cannot hold."""
    clean = "".join(ch for ch in text if ch in "\t\n\r" or (
        ord(ch) >= 0x20 and not 0xD800 <= ord(ch) <= 0xDFFF and ch not in "\ufffe\uffff"))
    return escape(clean)


def _svg_text(line: TextLine) -> str:
    attrs = f'x="{_num(line.x)}" y="{_num(line.y)}" font-size="{_num(line.size)}"'
    if line.bold:
        attrs += ' font-weight="bold"'
    if line.anchor != "start":
        attrs += f' text-anchor="{line.anchor}"'
    if line.rotate:
        attrs += f' transform="rotate(-90 {_num(line.x)} {_num(line.y)})"'
    return f"<text {attrs}>{_xml_text(line.text)}</text>"


def _svg_box(box: Box) -> list[str]:
    stroke = f'stroke="{box.stroke}" stroke-width="1"' if box.stroke else 'stroke="none"'
    radius = ' rx="6" ry="6"' if box.rounded else ""
    out = [f"<g id={quoteattr(box.key)}>",
           f'<rect x="{_num(box.x)}" y="{_num(box.y)}" width="{_num(box.w)}" '
           f'height="{_num(box.h)}"{radius} fill="{box.fill}" {stroke}/>']
    out += [_svg_text(line) for line in box.lines]
    out.append("</g>")
    return out


def _points(points: tuple[tuple[float, float], ...]) -> str:
    return " ".join(f"{_num(x)},{_num(y)}" for x, y in points)


def _description(geo: Layout) -> str:
    """The boxes' text in reading order, for screen readers."""
    skip = ("phase_", "footnotes", "panel_")
    return " ".join(f"{box.text.rstrip('.:')}." for box in geo.boxes
                     if not box.key.startswith(skip))


DRAFT_COLOUR = "#C00000"
DRAFT_Y = 14.0
"""Baseline of the draft mark, in the top margin above the boxes."""


def _render_svg(geo: Layout, draft: str = "") -> str:
    w, h = _num(geo.width), _num(geo.height)
    title = "PRISMA 2020 flow diagram" + (f" ({_xml_text(draft)})" if draft else "")
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{w}" height="{h}" '
           f'viewBox="0 0 {w} {h}" font-family="{FONT_FAMILY}" role="img">',
           f"<title>{title}</title>",
           f"<desc>{_xml_text(_description(geo))}</desc>",
           f'<rect x="0" y="0" width="{w}" height="{h}" fill="#FFFFFF"/>']
    if draft:
        out.append(f'<text id="draft" x="{_num(geo.width / 2)}" y="{_num(DRAFT_Y)}" '
                   f'font-size="{SMALL}" font-weight="bold" fill="{DRAFT_COLOUR}" '
                   f'text-anchor="middle">{_xml_text(draft)}</text>')
    for box in geo.panels + geo.boxes:
        out += _svg_box(box)
    out.append(f'<g id="arrows" stroke="{BLACK}" stroke-width="1.2" fill="none">')
    for arrow in geo.arrows:
        out.append(f'<polyline points="{_points(arrow.points)}"/>')
        out.append(f'<polygon points="{_points(arrow.head)}" fill="{BLACK}" stroke="none"/>')
    out += ["</g>", "</svg>"]
    return "\n".join(out) + "\n"


def prisma_svg(counts: PrismaCounts, draft: str = "", notes: DiagramNotes | None = None
               ) -> str:
    """The PRISMA 2020 flow diagram as a standalone SVG document (deterministic); `draft`,
    when given, is printed across the top (why the diagram is not final); `notes` adds
    the footnotes that apply (records from other methods the column has no box for,
    reworded exclusion reasons), each marked in its box."""
    return _render_svg(layout(counts, notes), draft)


# --- PDF and PNG (matplotlib, same geometry) --------------------------------------------

def _figure(geo: Layout, draft: str = "") -> Any:
    """The diagram as a matplotlib Figure; its text is drawn as written (`parse_math` off:
    a label with two `$`, a source "($0 budget) and ($5 reports)", is not mathtext)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch, Polygon, Rectangle

    # One layout unit is one point, so font sizes carry over unchanged.
    fig = Figure(figsize=(geo.width / 72, geo.height / 72))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, geo.width)
    ax.set_ylim(geo.height, 0)
    ax.set_axis_off()
    for box in geo.panels + geo.boxes:
        edge = box.stroke or "none"
        if box.rounded:
            ax.add_patch(FancyBboxPatch((box.x, box.y), box.w, box.h,
                                        boxstyle="round,pad=0,rounding_size=6",
                                        facecolor=box.fill, edgecolor=edge, linewidth=1))
        else:
            ax.add_patch(Rectangle((box.x, box.y), box.w, box.h, facecolor=box.fill,
                                   edgecolor=edge, linewidth=1))
        for line in box.lines:
            ax.text(line.x, line.y, _glyphs.drawable(line.text), fontsize=line.size,
                    fontweight="bold" if line.bold else "normal",
                    ha="center" if line.anchor == "middle" else "left", va="baseline",
                    rotation=90 if line.rotate else 0, rotation_mode="anchor",
                    family=_glyphs.families(), parse_math=False)
    for arrow in geo.arrows:
        xs = [p[0] for p in arrow.points]
        ys = [p[1] for p in arrow.points]
        ax.plot(xs, ys, color=BLACK, linewidth=1.2, solid_capstyle="butt")
        ax.add_patch(Polygon(list(arrow.head), closed=True, facecolor=BLACK, edgecolor="none"))
    if draft:
        ax.text(geo.width / 2, DRAFT_Y, _glyphs.drawable(draft), fontsize=SMALL,
                fontweight="bold", color=DRAFT_COLOUR, ha="center", va="baseline",
                family=_glyphs.families(), parse_math=False)
    return fig


def _save(counts: PrismaCounts, path: str | Path, fmt: str, dpi: int, draft: str = "",
          notes: DiagramNotes | None = None) -> None:
    import matplotlib

    metadata: dict[str, Any] = ({"Creator": "screener", "Producer": "screener",
                                 "CreationDate": None} if fmt == "pdf"
                                else {"Software": "screener"})
    with matplotlib.rc_context({"svg.hashsalt": "screener", "pdf.fonttype": 42,
                                "path.simplify": False}), _glyphs.quiet():
        fig = _figure(layout(counts, notes), draft)
        fig.savefig(Path(path), format=fmt, dpi=dpi, metadata=metadata, facecolor="white")


def prisma_missing_glyphs(counts: PrismaCounts, draft: str = "",
                          notes: DiagramNotes | None = None) -> list[tuple[str, str]]:
    """(line, its characters no installed font has) for each line of the PDF and PNG
    diagrams that would show empty boxes (`screener.exports._glyphs`); the SVG keeps its
    text as text, for the reader's browser to draw."""
    geo = layout(counts, notes)
    return _glyphs.missing([draft, *(line.text for box in geo.panels + geo.boxes
                                     for line in box.lines)])


def prisma_pdf(counts: PrismaCounts, path: str | Path, draft: str = "",
               notes: DiagramNotes | None = None) -> None:
    """Write the flow diagram as a PDF (vector; same geometry and footnotes as the SVG)."""
    _save(counts, path, "pdf", 72, draft, notes)


def prisma_png(counts: PrismaCounts, path: str | Path, dpi: int = 200, draft: str = "",
               notes: DiagramNotes | None = None) -> None:
    """Write the flow diagram as a PNG at `dpi` (same geometry and footnotes as the SVG)."""
    _save(counts, path, "png", dpi, draft, notes)
