"""Geometry of the PRISMA 2020 flow diagram, derived from the counts alone.

With `PrismaCounts.previous`, the template for updated reviews: a "Previous studies"
column left of the others, the headings say "new studies", and the included box (new
studies) is followed by the total, into which the previous column's box flows.

One layout feeds every renderer (SVG text, and PDF/PNG through matplotlib), so the
files agree box for box. Text is measured with a built-in width table for DejaVu Sans
(the font matplotlib ships, and the widest of the SVG's font stack), so wrapping never
depends on the fonts installed. Coordinates are in layout units: SVG pixels, PDF points.

Imports the standard library and screener.core only.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from screener.core.prisma import Counts, PrismaCounts
from screener.core.wording import counted, number, were

# Advance widths (1/1000 em) of DejaVu Sans for ASCII 32..126, regular and bold.
_REGULAR = (
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636,
    636, 636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698,
    770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732,
    684, 989, 685, 611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635,
    634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592,
    525, 636, 337, 636, 838)
_BOLD = (
    348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696,
    696, 696, 696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 580, 1000, 774, 762, 734,
    830, 683, 683, 821, 837, 372, 372, 775, 637, 995, 837, 850, 733, 850, 770, 720, 682, 812,
    774, 1103, 771, 724, 725, 457, 365, 457, 838, 500, 500, 675, 716, 593, 716, 678, 435, 716,
    712, 343, 343, 665, 343, 1042, 712, 687, 716, 716, 493, 595, 478, 712, 652, 924, 645, 652,
    582, 712, 365, 712, 838)

FONT = 13
"""Body font size (layout units)."""
SMALL = 11
"""Footnote font size."""
LINE = 17
"""Body line height."""
SMALL_LINE = 14
PAD_X = 10
PAD_Y = 8
INDENT = 14
"""Indent of list items (per-source counts, reasons) inside a box."""
MARGIN = 20
BAR_W = 34
"""Width of the blue phase bars (Identification, Screening, Included)."""
BAR_GAP = 16
COL_W = 270
H_GAP = 44
"""Horizontal gap between a main box and its side box (holds the arrow)."""
COLUMN_GAP = 40
"""Gap between the databases/registers and the other-methods columns."""
V_GAP = 36
"""Vertical gap between rows (holds the arrow)."""
HEAD_LEN = 9.0
HEAD_HALF = 4.5

YELLOW = "#FFC000"
GREY = "#D9D9D9"
GREY_PANEL = "#F2F2F2"
BLUE = "#9DC3E6"
WHITE = "#FFFFFF"
BLACK = "#000000"

FOOTNOTES = (
    "*Consider, if feasible to do so, reporting the number of records identified from each "
    "database or register searched (rather than the total number across all "
    "databases/registers).",
    "**If automation tools were used, indicate how many records were excluded by a human and "
    "how many were excluded by automation tools.",
    "From: Page MJ, McKenzie JE, Bossuyt PM, Boutron I, Hoffmann TC, Mulrow CD, et al. The "
    "PRISMA 2020 statement: an updated guideline for reporting systematic reviews. BMJ "
    "2021;372:n71. doi: 10.1136/bmj.n71",
)


OTHER_MARK = "\u2020"
"""† after "Records identified from" in the other-methods column: its footnote counts the
records of that column the diagram has no box for."""
REWORDED_MARK = "\u2021"
"""‡ after each exclusion reason an amendment reworded: its footnote gives the earlier wording."""


@dataclass(frozen=True, slots=True)
class DiagramNotes:
    """What the counts alone do not show, for footnotes marked in the boxes they concern
    (each only when it applies; the default adds none)."""

    other_duplicates: int = 0
    """Records identified through other methods removed as duplicates (no box for them)."""
    other_excluded: int = 0
    """Records identified through other methods excluded at title/abstract (no box)."""
    reworded: tuple[tuple[str, str, int], ...] = ()
    """(reason as worded now, earlier wording, reports excluded under the earlier one) for
    each exclusion reason an amendment reworded after exclusions were made under it."""


TITLE_ABSTRACT_ONLY = (
    "The protocol has no full-text stage: screening in screener ended at title and "
    "abstract, and the reports sought for retrieval are the records rated include or maybe "
    "there. The diagram ends at that box, as screener recorded no retrieval, full-text "
    "assessment or studies included.")
"""The footnote of a diagram that ends at the reports sought (`PrismaCounts.full_text`)."""

_AFTER_SOUGHT = frozenset({
    "reports_not_retrieved", "reports_assessed", "reports_excluded", "included", "total",
    "other_reports_not_retrieved", "other_reports_assessed", "other_reports_excluded"})
"""The boxes after "Reports sought for retrieval": not drawn without a full-text stage."""


def _footnotes(counts: PrismaCounts, notes: DiagramNotes) -> list[str]:
    """The diagram's footnotes: PRISMA's own, those of `notes` that apply, the citation."""
    out = list(FOOTNOTES[:-1])
    if not counts.full_text:
        out.append(TITLE_ABSTRACT_ONLY)
    dup, excl = notes.other_duplicates, notes.other_excluded
    if counts.has_other_methods and (dup or excl):
        parts = [f"{number(dup)} {were(dup)} removed as "
                 f"{'a duplicate' if dup == 1 else 'duplicates'}"] if dup else []
        parts += [f"{number(excl)} {were(excl)} excluded at title/abstract screening"
                  ] if excl else []
        out.append(f"{OTHER_MARK}Of the records identified through other methods, "
                   f"{' and '.join(parts)}; this column has no box for "
                   f"{'it' if dup + excl == 1 else 'them'}.")
    listed = {name for name, _ in (*counts.reports_excluded_reasons,
                                   *counts.other_reports_excluded_reasons)}
    reworded = [(now, then, n) for now, then, n in notes.reworded if now in listed]
    if reworded:
        out.append(f"{REWORDED_MARK}Reasons are worded as in the protocol version in force. "
                   + " ".join(f'Exclusion reason "{now}" was worded "{then}" when '
                              f"{counted(n, 'report')} counted under it {were(n)} excluded."
                              for now, then, n in reworded))
    return out + [FOOTNOTES[-1]]


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Width of `text` at `size` in DejaVu Sans (non-ASCII: a conservative estimate)."""
    table = _BOLD if bold else _REGULAR
    total = 0
    for ch in text:
        code = ord(ch)
        if 32 <= code <= 126:
            total += table[code - 32]
        elif ch == "\u00a0":
            total += table[0]
        elif unicodedata.east_asian_width(ch) in ("W", "F"):
            total += 1000
        elif unicodedata.combining(ch):
            continue
        else:
            total += 750 if bold else 700
    return total * size / 1000


_N_PART = re.compile(r"\(n = ")


def wrap(text: str, width: float, size: float, bold: bool = False,
         hang: float = 0.0) -> list[str]:
    """Greedy word wrap to `width` (continuation lines: `width - hang`).

    "(n = 12)" never splits; a word longer than the line is cut.
    """
    protected = _N_PART.sub("(n\u00a0=\u00a0", text)
    lines: list[str] = []
    current = ""

    def avail() -> float:
        return width - (hang if lines else 0.0)

    for word in protected.split(" "):
        if not word:
            continue
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, size, bold) <= avail():
            current = candidate
            continue
        if current:
            lines.append(current)
        while text_width(word, size, bold) > avail() and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and text_width(word[:cut], size, bold) > avail():
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current or not lines:
        lines.append(current)
    return [line.replace("\u00a0", " ") for line in lines]


@dataclass(frozen=True, slots=True)
class TextLine:
    text: str
    x: float
    """Anchor x: the left edge (start) or the centre (middle)."""
    y: float
    """Baseline y."""
    size: float
    bold: bool = False
    anchor: str = "start"
    """"start" or "middle"."""
    rotate: bool = False
    """Rotated 90 degrees counter-clockwise about (x, y) (phase bars)."""


@dataclass(frozen=True, slots=True)
class Box:
    key: str
    """Stable name of the box, e.g. "records_screened" (SVG id, tests)."""
    x: float
    y: float
    w: float
    h: float
    fill: str
    stroke: str | None
    lines: tuple[TextLine, ...]
    rounded: bool = False

    @property
    def text(self) -> str:
        """The box's text with wrapped lines joined by spaces (for tests and search)."""
        return " ".join(line.text for line in self.lines)


@dataclass(frozen=True, slots=True)
class Arrow:
    points: tuple[tuple[float, float], ...]
    """Polyline from tail to the base of the head."""
    head: tuple[tuple[float, float], ...]
    """Arrowhead triangle (tip first)."""


@dataclass(frozen=True, slots=True)
class Layout:
    width: float
    height: float
    panels: tuple[Box, ...]
    """Background panels, drawn first."""
    boxes: tuple[Box, ...]
    arrows: tuple[Arrow, ...]


@dataclass(frozen=True, slots=True)
class _Item:
    text: str
    indent: float = 0.0


def _n(count: int) -> str:
    return f"(n = {count})"


def _wrap_items(items: list[_Item], w: float) -> list[_Item]:
    out: list[_Item] = []
    for item in items:
        # continuation lines of a list item hang under its text
        hang = INDENT if item.indent else 0
        pieces = wrap(item.text, w - 2 * PAD_X - item.indent, FONT, hang=hang)
        out.append(_Item(pieces[0], item.indent))
        out += [_Item(piece, item.indent + hang) for piece in pieces[1:]]
    return out


def _block_height(items: list[_Item], w: float) -> float:
    return len(_wrap_items(items, w)) * LINE + 2 * PAD_Y


def _content_box(key: str, items: list[_Item], x: float, y: float, w: float, h: float,
                 center: bool) -> Box:
    wrapped = _wrap_items(items, w)
    block = len(wrapped) * LINE
    top = y + (h - block) / 2
    lines = []
    for i, item in enumerate(wrapped):
        baseline = top + i * LINE + LINE / 2 + 0.35 * FONT
        if center:
            lines.append(TextLine(item.text, x + w / 2, baseline, FONT, anchor="middle"))
        else:
            lines.append(TextLine(item.text, x + PAD_X + item.indent, baseline, FONT))
    return Box(key, x, y, w, h, WHITE, BLACK, tuple(lines))


def _list(counts: Counts, marked: frozenset[str] = frozenset()) -> list[_Item]:
    return [_Item(f"{name}{REWORDED_MARK if name in marked else ''} {_n(n)}", INDENT)
            for name, n in counts]


def _reasons_box(total: int, reasons: Counts, marked: frozenset[str]) -> list[_Item]:
    if not reasons:
        return [_Item(f"Reports excluded {_n(total)}")]
    return [_Item("Reports excluded:")] + _list(reasons, marked)


def _boxes(c: PrismaCounts, notes: DiagramNotes) -> dict[str, tuple[list[_Item], bool]]:
    """The text of each content box (items, centred?), with the marks of `notes`."""
    marked = frozenset(now for now, _, _ in notes.reworded)
    other_mark = OTHER_MARK if notes.other_duplicates or notes.other_excluded else ""
    identified = [_Item("Records identified from*:"), _Item(f"Databases {_n(c.database_total)}")]
    if c.databases and not (len(c.databases) == 1 and c.databases[0][0] == "Databases"):
        identified += _list(c.databases)
    identified.append(_Item(f"Registers {_n(c.register_total)}"))
    if c.registers and not (len(c.registers) == 1 and c.registers[0][0] == "Registers"):
        identified += _list(c.registers)
    excluded = [_Item(f"Records excluded** {_n(c.records_excluded)}")]
    if c.records_excluded_automation:
        excluded += [_Item(f"Excluded by a human {_n(c.records_excluded_human)}", INDENT),
                     _Item(f"Excluded by automation tools {_n(c.records_excluded_automation)}",
                           INDENT)]
    boxes: dict[str, tuple[list[_Item], bool]] = {
        "identified": (identified, False),
        "removed": ([
            _Item("Records removed before screening:"),
            _Item(f"Duplicate records removed {_n(c.duplicates_removed)}", INDENT),
            _Item("Records marked as ineligible by automation tools "
                  f"{_n(c.automation_ineligible)}", INDENT),
            _Item(f"Records removed for other reasons {_n(c.removed_other)}", INDENT),
        ], False),
        "records_screened": ([_Item(f"Records screened {_n(c.records_screened)}")], True),
        "records_excluded": (excluded, len(excluded) == 1),
        "reports_sought": ([_Item(f"Reports sought for retrieval {_n(c.reports_sought)}")], True),
        "reports_not_retrieved": (
            [_Item(f"Reports not retrieved {_n(c.reports_not_retrieved)}")], True),
        "reports_assessed": (
            [_Item(f"Reports assessed for eligibility {_n(c.reports_assessed)}")], True),
        "reports_excluded": (_reasons_box(c.reports_excluded, c.reports_excluded_reasons,
                                          marked), not c.reports_excluded_reasons),
        "included": ([_Item(f"Studies included in review {_n(c.studies_included)}"),
                      _Item(f"Reports of included studies {_n(c.reports_included)}")], True),
    }
    if c.previous:
        boxes.update({
            "previous": ([_Item("Studies included in previous version of review "
                                f"{_n(c.previous.studies)}"),
                          _Item("Reports of studies included in previous version of review "
                                f"{_n(c.previous.reports)}")], True),
            "included": ([_Item(f"New studies included in review {_n(c.studies_included)}"),
                          _Item(f"Reports of new included studies {_n(c.reports_included)}")],
                         True),
            "total": ([_Item(f"Total studies included in review {_n(c.total_studies)}"),
                       _Item(f"Reports of total included studies {_n(c.total_reports)}")],
                      True),
        })
    if c.has_other_methods:
        boxes.update({
            "other_identified": ([_Item(f"Records identified from{other_mark}:")]
                                 + _list(c.other_sources), False),
            "other_reports_sought": (
                [_Item(f"Reports sought for retrieval {_n(c.other_reports_sought)}")], True),
            "other_reports_not_retrieved": (
                [_Item(f"Reports not retrieved {_n(c.other_reports_not_retrieved)}")], True),
            "other_reports_assessed": (
                [_Item(f"Reports assessed for eligibility {_n(c.other_reports_assessed)}")],
                True),
            "other_reports_excluded": (
                _reasons_box(c.other_reports_excluded, c.other_reports_excluded_reasons,
                             marked),
                not c.other_reports_excluded_reasons),
        })
    if not c.full_text:
        return {key: box for key, box in boxes.items() if key not in _AFTER_SOUGHT}
    return boxes


# (row, column) of each content box; columns 0-1 databases/registers, 2-3 other methods,
# -1 the previous studies of an updated review.
_GRID = {
    "previous": (0, -1),
    "identified": (0, 0), "removed": (0, 1), "other_identified": (0, 2),
    "records_screened": (1, 0), "records_excluded": (1, 1),
    "reports_sought": (2, 0), "reports_not_retrieved": (2, 1),
    "other_reports_sought": (2, 2), "other_reports_not_retrieved": (2, 3),
    "reports_assessed": (3, 0), "reports_excluded": (3, 1),
    "other_reports_assessed": (3, 2), "other_reports_excluded": (3, 3),
    "included": (4, 0), "total": (5, 0),
}


_PHASES = (("Identification", 0, 0), ("Screening", 1, 3), ("Included", 4, 4))
"""Phase bars: label, first row, last row (an updated review's Included: rows 4 and 5)."""


def _arrow(points: list[tuple[float, float]]) -> Arrow:
    """An arrow along axis-aligned segments; the head sits on the last segment."""
    (x0, y0), (x1, y1) = points[-2], points[-1]
    dx = (x1 > x0) - (x1 < x0)
    dy = (y1 > y0) - (y1 < y0)
    base = (x1 - dx * HEAD_LEN, y1 - dy * HEAD_LEN)
    side = (-dy * HEAD_HALF, dx * HEAD_HALF)
    head = ((x1, y1), (base[0] + side[0], base[1] + side[1]),
            (base[0] - side[0], base[1] - side[1]))
    return Arrow(tuple(points[:-1]) + (base,), head)


def layout(counts: PrismaCounts, notes: DiagramNotes | None = None) -> Layout:
    """Place every box, heading and arrow of the diagram for these counts, with the
    footnotes (and their marks) of `notes` that apply."""
    notes = notes or DiagramNotes()
    content = _boxes(counts, notes)
    other = counts.has_other_methods
    update = counts.previous is not None
    n_cols = 4 if other else 2
    col_x: dict[int, float] = {}
    x = MARGIN + BAR_W + BAR_GAP
    for col in range(-1 if update else 0, n_cols):
        col_x[col] = x
        x += COL_W + (COLUMN_GAP if col in (-1, 1) else H_GAP)
    width = col_x[n_cols - 1] + COL_W + MARGIN + (COLUMN_GAP / 4 if other else 0)
    phases = ((*_PHASES[:-1], ("Included", 4, 5)) if update else _PHASES
              ) if counts.full_text else (_PHASES[0], ("Screening", 1, 2))

    heights = {key: _block_height(items, COL_W) for key, (items, _) in content.items()}
    row_h = [0.0] * ((6 if update else 5) if counts.full_text else 3)
    for key, h in heights.items():
        row = _GRID[key][0]
        row_h[row] = max(row_h[row], h)

    # A phase bar must be tall enough for its rotated label.
    for label, first, last in phases:
        need = text_width(label, FONT, bold=True) + 2 * PAD_Y
        have = sum(row_h[first:last + 1]) + V_GAP * (last - first)
        row_h[last] += max(0.0, need - have)

    boxes: list[Box] = []
    panels: list[Box] = []
    y = float(MARGIN)
    head_w = 2 * COL_W + H_GAP
    new = "new " if update else ""
    head_items = [_Item(f"Identification of {new}studies via databases and registers")]
    head_h = _block_height(head_items, head_w)
    headings = [("heading_dbr", col_x[0], head_w, YELLOW, head_items)]
    if other:
        headings.append(("heading_other", col_x[2], head_w, GREY,
                         [_Item(f"Identification of {new}studies via other methods")]))
    if update:
        headings.insert(0, ("heading_previous", col_x[-1], COL_W, GREY,
                            [_Item("Previous studies")]))
    head_h = max(_block_height(items, hw) for _, _, hw, _, items in headings)
    for key, hx, hw, fill, items in headings:
        box = _content_box(key, items, hx, y, hw, head_h, True)
        boxes.append(Box(key, box.x, box.y, box.w, box.h, fill, BLACK,
                         tuple(TextLine(t.text, t.x, t.y, t.size, True, t.anchor)
                               for t in box.lines), rounded=True))
    y += head_h + V_GAP / 2
    row_y: list[float] = []
    for h in row_h:
        row_y.append(y)
        y += h + V_GAP
    bottom = y - V_GAP

    if other:
        panel_x = col_x[2] - COLUMN_GAP / 4
        panel_w = col_x[3] + COL_W + COLUMN_GAP / 4 - panel_x
        panels.append(Box("panel_other", panel_x, MARGIN - 6, panel_w,
                          bottom - MARGIN + 12, GREY_PANEL, None, ()))

    placed: dict[str, Box] = {}
    for key, (items, center) in content.items():
        row, col = _GRID[key]
        h = heights[key]
        top = row_y[row] + (row_h[row] - h) / 2
        placed[key] = _content_box(key, items, col_x[col], top, COL_W, h, center)
    boxes += [placed[key] for key in _GRID if key in placed]

    for label, first, last in phases:
        key = "phase_" + label.lower()
        top, bot = row_y[first], row_y[last] + row_h[last]
        cx, cy = MARGIN + BAR_W / 2, (top + bot) / 2
        line = TextLine(label, cx + 0.35 * FONT, cy, FONT, True, "middle", rotate=True)
        boxes.append(Box(key, MARGIN, top, BAR_W, bot - top, BLUE, BLACK, (line,),
                         rounded=True))

    arrows: list[Arrow] = []

    def right(a: str, b: str) -> None:
        src, dst = placed[a], placed[b]
        cy = src.y + src.h / 2
        arrows.append(_arrow([(src.x + src.w, cy), (dst.x, cy)]))

    def down(a: str, b: str) -> None:
        src, dst = placed[a], placed[b]
        cx = src.x + src.w / 2
        arrows.append(_arrow([(cx, src.y + src.h), (cx, dst.y)]))

    ft = counts.full_text  # else the diagram ends at the reports sought
    down("identified", "records_screened")
    down("records_screened", "reports_sought")
    if ft:
        down("reports_sought", "reports_assessed")
        down("reports_assessed", "included")
    right("identified", "removed")
    right("records_screened", "records_excluded")
    if ft:
        right("reports_sought", "reports_not_retrieved")
        right("reports_assessed", "reports_excluded")
    if other:
        down("other_identified", "other_reports_sought")
    if other and ft:
        down("other_reports_sought", "other_reports_assessed")
        right("other_reports_sought", "other_reports_not_retrieved")
        right("other_reports_assessed", "other_reports_excluded")
        src, dst = placed["other_reports_assessed"], placed["included"]
        cx, cy = src.x + src.w / 2, dst.y + dst.h / 2
        arrows.append(_arrow([(cx, src.y + src.h), (cx, cy), (dst.x + dst.w, cy)]))
    if update and ft:
        down("included", "total")
        src, dst = placed["previous"], placed["total"]
        cx, cy = src.x + src.w / 2, dst.y + dst.h / 2
        arrows.append(_arrow([(cx, src.y + src.h), (cx, cy), (dst.x, cy)]))

    y = bottom + V_GAP / 2 + 4
    foot_lines: list[TextLine] = []
    foot_w = width - 2 * MARGIN
    for note in _footnotes(counts, notes):
        for piece in wrap(note, foot_w * 0.97, SMALL):
            foot_lines.append(TextLine(piece, MARGIN, y + 0.8 * SMALL, SMALL))
            y += SMALL_LINE
        y += 4
    top = bottom + V_GAP / 2 + 4
    boxes.append(Box("footnotes", MARGIN, top, foot_w, y - top, WHITE, None,
                     tuple(foot_lines)))
    return Layout(width, y + MARGIN - 4, tuple(panels), tuple(boxes), tuple(arrows))
