"""Widgets of the screening screen: record card, criteria panel, status panel, decision bar.

Widgets only show what they are given and report what happened with past-tense messages
(`DecisionBar.ActionPicked`); the screen decides what it means. Styles are in screener.tcss,
including the highlight styles (component classes), so a theme can change them.
Must not import screener.storage or sqlalchemy.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Button, Footer, Header, Label, ProgressBar, Sparkline, Static
from textual.widgets._footer import FooterKey
from textual.widgets._header import HeaderTitle

from screener.core.decisions import Decision, Stage
from screener.core.protocol import CriterionKind, Protocol
from screener.core.records import Record
from screener.core.wording import counted, percent
from screener.tui.highlight import Span, abstract_sections, find_terms
from screener.workflow.progress import NOT_APPLICABLE, Progress, StoppingItem

DASH = "—"
NO_TITLE = "(no title)"
"""What the card, browse and the conflicts list show for a record whose title is empty."""


def highlighted(text: str, spans: Sequence[Span], include: Style, exclude: Style,
                base: Style | None = None) -> Text:
    """`text` as rich Text with the include/exclude spans styled."""
    result = Text(text, style=base or Style())
    for span in spans:
        result.stylize(include if span.kind == "include" else exclude, span.start, span.end)
    return result


PARTS = ("context", "title", "meta", "abstract", "legend")



SAFE_LABELS = {"screened fraction": "screened",
               "screened / (2 x estimated relevant)": "2x relevant",
               "consecutive irrelevant": "irrelevant run", "key papers found": "key papers"}
"""Short names of the SAFE items, so that their values fit the side panel at 80 columns."""
SIDE_TEXT_WIDTH = 25
"""Columns the side panel has for text at its narrowest beside the record (#side: 30, less
its border, padding and scrollbar); below the record (-compact) it has more."""


def safe_lines(item: StoppingItem) -> list[str]:
    """A SAFE item as the panel shows it: "35 of ≥ 50" as "35/50"; the value on a line of
    its own when the item would not fit in `SIDE_TEXT_WIDTH` (never cut off). An item that
    does not apply (key papers: none set) is marked '–', not '✓': nothing was met."""
    mark = "–" if item.value == NOT_APPLICABLE else "✓" if item.passed else "✗"
    head = f" {mark} {SAFE_LABELS.get(item.name, item.name)}:"
    value = item.value.replace(" of ≥ ", "/")
    if cell_len(f"{head} {value}") <= SIDE_TEXT_WIDTH:
        return [f"{head} {value}"]
    return [head, f"   {value}"]


class RecordCard(ScrollView, can_focus=True):
    """The record as a PubMed abstract page shows it, with the protocol's terms marked.

    Include terms: bold + underline (green); exclude terms: reverse + strike (red); a legend
    explains them, so meaning never rests on colour alone.

    One widget with the line API: showing a record wraps one Rich `Text` into lines and
    repaints this widget only. No child widgets and no layout pass of the screen (the
    vertical scrollbar is always there, so the width never changes with the record), which
    is what makes the next record appear fast.
    """

    COMPONENT_CLASSES = {"record-card--include", "record-card--exclude",
                         "record-card--section", "record-card--title",
                         "record-card--context", "record-card--legend"}

    class Drawn(Message):
        """A record shown was drawn: its lines are in a frame on the screen."""

        def __init__(self, record_id: int | None) -> None:
            super().__init__()
            self.record_id = record_id

    def __init__(self, protocol: Protocol, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.protocol = protocol
        self.record: Record | None = None
        self._announce = False
        """A record was shown and not yet drawn (`Drawn` is posted once it is)."""
        self._context_text = ""
        self._empty = "Nothing to show."
        self.parts: dict[str, Text] = {name: Text() for name in PARTS}
        """What each part of the card shows (context, title, meta, abstract, legend)."""
        self._lines: list[Strip] = []
        self._wrapped_width = -1

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._render_record())

    def part(self, name: str) -> Text:
        return self.parts[name]

    def follow(self, protocol: Protocol) -> None:
        """Mark the terms of `protocol` (another version after an amendment) from now on."""
        self.protocol = protocol
        self._render_record()

    def show(self, record: Record | None, context: str = "", empty: str = "",
             heading: str = "") -> None:
        """Show `record` (None: the `empty` message); `heading` goes in the border,
        `context` (your earlier decision, a pending note) above the title."""
        if (record and record.id) != (self.record and self.record.id):
            self._announce = True
        self.record, self._context_text = record, context
        if self.border_title != heading:
            self.border_title = heading
        if empty:
            self._empty = empty
        self._render_record()

    def _styles(self) -> tuple[Style, Style, Style, Style]:
        return (self.get_component_rich_style("record-card--include", partial=True),
                self.get_component_rich_style("record-card--exclude", partial=True),
                self.get_component_rich_style("record-card--section", partial=True),
                self.get_component_rich_style("record-card--title", partial=True))

    def _mark(self, text: str) -> Text:
        include, exclude, _, _ = self._styles()
        terms = self.protocol.highlight
        return highlighted(text, find_terms(text, terms.include, terms.exclude), include, exclude)

    def _render_record(self) -> None:
        self._compose_parts()
        if self.is_mounted:
            self._wrap()
            self.scroll_to(0, 0, animate=False, immediate=True)
            self.refresh()

    def _compose_parts(self) -> None:
        record = self.record
        parts = {name: Text() for name in PARTS}
        parts["context"] = Text(self._context_text)
        self.parts = parts
        if record is None:
            parts["title"] = Text(self._empty)
            return
        include, exclude, section, title_style = self._styles()
        heading = self._mark(record.title or NO_TITLE)
        heading.stylize(title_style)
        if original := record.original_title:  # a non-English article's own title
            heading.append("\nOriginal title: ", style="bold")
            heading.append_text(self._mark(original))
        parts["title"] = heading
        lines = Text()
        if record.authors:
            # names are stored "Last, First": a comma between them would read as more names
            lines.append("; ".join(record.authors) + "\n")
        if record.citation:
            lines.append(record.citation + "\n", style="italic")
        ids = []
        if record.doi:
            ids.append(f"DOI: {record.doi_as_written}")
        if record.pmid:
            ids.append(f"PMID: {record.pmid}")
        if ids:
            lines.append("  ".join(ids) + "\n")
        if record.publication_types:
            lines.append("Publication types: ", style="bold")
            lines.append("; ".join(record.publication_types) + "\n")
        if record.keywords:
            lines.append("Keywords: ", style="bold")
            lines.append_text(self._mark("; ".join(record.keywords)))
            lines.append("\n")
        if record.mesh_terms:
            lines.append("MeSH terms: ", style="bold")
            lines.append_text(self._mark("; ".join(record.mesh_terms)))
            lines.append("\n")
        lines.rstrip()
        parts["meta"] = lines
        body = Text()
        sections = abstract_sections(record.abstract)
        for i, (label, text) in enumerate(sections):
            if i:
                body.append("\n\n")
            if label:
                body.append(label + ": ", style=section)
            body.append_text(self._mark(text))
        if not sections:
            body.append("(no abstract)", style="italic")
        parts["abstract"] = body
        if self.protocol.highlight.include or self.protocol.highlight.exclude:
            key = Text("Terms: ")
            key.append("include term", style=include)
            key.append(" (bold, underlined)  ")
            key.append("exclude term", style=exclude)
            key.append(" (reversed, struck)")
            parts["legend"] = key

    def _card_text(self) -> Text:
        """The parts as one Text, a blank line between them (empty parts left out)."""
        context_style = self.get_component_rich_style("record-card--context", partial=True)
        legend_style = self.get_component_rich_style("record-card--legend", partial=True)
        styled = {"context": context_style, "legend": legend_style}
        pieces = [(name, self.parts[name]) for name in PARTS if self.parts[name].plain]
        text = Text()
        for i, (name, piece) in enumerate(pieces):
            if i:
                text.append("\n\n")
            if name in styled:  # beneath the piece's own styles: the legend's samples
                piece = Text.assemble(piece, style=styled[name])  # keep the terms' marks
            text.append_text(piece)
        return text

    def _wrap(self) -> None:
        """Wrap the card's text to the width available; set the scrollable height."""
        width = self.scrollable_content_region.width
        if width <= 0:
            self._lines, self._wrapped_width = [], width
            return
        console = self.app.console
        options = console.options.update_width(width).update(highlight=False)
        base = self.rich_style
        self._lines = [Strip(line, width) for line in
                       console.render_lines(self._card_text(), options, style=base, pad=True)]
        self._wrapped_width = width
        size = Size(width, len(self._lines))
        if size != self.virtual_size:
            # No layout pass: the card's own size does not depend on its content.
            self.set_reactive(ScrollView.virtual_size, size)
            self._scroll_update(size)

    def on_resize(self) -> None:
        if self.scrollable_content_region.width != self._wrapped_width:
            self._wrap()
            self.refresh()

    def render_line(self, y: int) -> Strip:
        if self._announce:  # (the compositor asks for the lines of the frame it writes)
            self._announce = False
            self.post_message(self.Drawn(self.record.id if self.record else None))
        width = self.scrollable_content_region.width
        if self.scrollable_content_region.width != self._wrapped_width:
            self._wrap()
        index = y + self.scroll_offset.y
        if 0 <= index < len(self._lines):
            return self._lines[index].crop_extend(0, width, self.rich_style)
        return Strip.blank(width, self.rich_style)

    @property
    def plain(self) -> str:
        """The card's text as shown (for tests and screen readers)."""
        return self._card_text().plain


class CriteriaPanel(Static):
    """Eligibility criteria (id, include/exclude, text) and exclusion reasons with keys."""

    def __init__(self, protocol: Protocol, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.protocol = protocol

    def on_mount(self) -> None:
        self.show(self.protocol)

    def show(self, protocol: Protocol) -> None:
        """List `protocol`'s criteria and reasons (another version after an amendment)."""
        self.protocol = protocol
        text = Text()
        text.append("Criteria\n", style="bold")
        for c in self.protocol.criteria:
            sign = "+" if c.kind == CriterionKind.INCLUDE else "−"
            text.append(f"{c.id} {sign}{c.kind.value[:3]} ", style="bold")
            text.append(c.text + "\n")
        if self.protocol.exclusion_reasons:
            text.append("\nExclusion reasons\n", style="bold")
            for r in self.protocol.exclusion_reasons:
                text.append(f"[{r.key}] ", style="bold")
                text.append(f"{r.label} ({r.id})\n")
        text.rstrip()
        self.update(text)


def rank_line(rank: int | None, score: float | None, basis: str, revisit: bool = False,
              queued: bool = False, closed: str = "") -> str:
    """The record's place in the queue and what put it there: the classifier's score
    ('model'), the cold start's similarity to the protocol ('match'; another scale), no score
    (random order; or a record the latest ranking left out because it was decided then),
    undo (basis 'undo': shown again, not by a ranking), or the import order before any
    ranking. A record opened from browse or search is shown out of queue order: one you
    have decided is not in the queue, one you have not (`queued`) is still there, unless
    it is not yours to screen (`closed`: "settled by others", "allocated to others")."""
    if revisit:
        return (f"From browse ({closed})" if closed else
                "From browse (in queue)" if queued else "Revisited (not in queue)")
    if basis == "undo":
        return "Back by undo (not ranked)"
    if rank is None:
        return "Import order (not ranked)"
    if basis == "random":
        return f"Rank {rank:,} · random order"
    if score is None:
        return f"Rank {rank:,} · not scored"
    return f"Rank {rank:,} · {'match' if basis == 'protocol' else 'model'} {score:.3f}"


def shorten(text: str, width: int) -> str:
    """`text` cut to `width` characters, with an ellipsis when it is cut."""
    return text if len(text) <= width else text[:width - 1] + "…"


def format_fraction(value: float | None) -> str:
    return DASH if value is None else percent(value)


def recall_floor(interval: tuple[float, float] | None) -> str:
    """ " (≥62%)": the lower end of the estimated recall, the recall the stopping test
    supports at the protocol's confidence ("" without an interval)."""
    return "" if interval is None else f" (≥{percent(interval[0])})"


def format_p(value: float | None) -> str:
    return DASH if value is None else (f"{value:.3f}" if value >= 0.001 else "<0.001")


def verdict_lines(progress: Progress) -> list[str]:
    """Whether the protocol's stopping rule is met and, when not, what is missing: the
    stopping test (its p-value and the level it must be below) and the SAFE items left;
    each line fits the narrow side panel (27 columns)."""
    if progress.criteria_met:
        return ["✓ Stopping rule met"]
    lines = ["✗ Stopping rule not met"]
    if not progress.stop_by_test and progress.p_value is not None:
        level = (DASH if progress.stop_level is None else f"{progress.stop_level:.4g}")
        lines.append(f"  p {format_p(progress.p_value)}, needs < {level}")
    unmet = sum(not item.passed for item in progress.checklist)
    if unmet:
        lines.append(f"  {counted(unmet, 'SAFE item')} not met")
    return lines


class StatusPanel(Vertical):
    """Progress bar, includes, rank and score of the record shown, and the stopping panel."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._texts: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="status-counts", classes="status-line")
        yield ProgressBar(show_eta=False, id="status-bar")
        yield Static(id="status-rank", classes="status-line", markup=False)
        yield Static(id="status-stopping", classes="status-line")
        yield Label("Includes found over time", id="status-curve-label")
        yield Sparkline([0.0], id="status-curve")

    def show(self, progress: Progress, rank: int | None, score: float | None,
             consecutive_target: int, basis: str = "", revisit: bool = False,
             adjudicator: bool = False, queued: bool = False,
             figures_of: int | None = None, closed: str = "") -> None:
        """Update in place; a layout pass is asked for only when a line count changes
        (status lines never wrap), so the counts cost almost nothing per decision.

        `figures_of`: the count screened when the stopping statistics were computed, when
        decisions have been made since (they are recomputed once the reviewer pauses); the
        panel says so rather than passing them off as current."""
        if adjudicator:  # offered no records: resolutions are the adjudicator's work
            self._set("#status-counts", f"Adjudicator: {progress.screened:,} resolved")
            self._hide("#status-bar", *self._STOPPING_PARTS)
            return
        own = progress.own_total
        # records others settled (or were allocated) are not offered: "of" counts the rest
        others = (f"\n{progress.not_offered:,} for other reviewers" if progress.not_offered
                  else "")
        # full text: every report is assessed (no maybe, no ranking, no stopping rule)
        title_abstract = progress.stage == Stage.TITLE_ABSTRACT
        maybe = f" · maybe {progress.maybes:,}" if title_abstract else ""
        self._set("#status-counts", f"Screened {progress.screened:,} of {own:,}{others}\n"
                  f"Includes {progress.includes:,}{maybe}")
        bar = self.query_one("#status-bar", ProgressBar)
        if (bar.total, bar.progress) != (max(own, 1), progress.screened):
            bar.update(total=max(own, 1), progress=progress.screened)
        if not title_abstract:
            self._hide(*self._STOPPING_PARTS)
            return
        self._set("#status-rank", rank_line(rank, score, basis, revisit, queued, closed))
        lines = [f"Irrelevant run {progress.consecutive_irrelevant:,}/{consecutive_target:,}",
                 f"Stopping p-value {format_p(progress.p_value)}",
                 f"Est. recall {format_fraction(progress.estimated_recall)}"
                 + recall_floor(progress.estimated_recall_interval)]
        if progress.added_since_start:  # an update search: the figures count only since
            lines.insert(0, f"Since import: {progress.screened_since:,} counted")
        if figures_of is not None and progress.checklist:  # computed: not up to date
            lines.append(f"(as of {figures_of:,} screened)")
        if progress.checklist:
            lines.append("SAFE checklist:")
            for item in progress.checklist:
                lines += safe_lines(item)
        else:
            lines.append(f"SAFE checklist {DASH}")
        if progress.checklist:  # the protocol's rule, spelt out (not left to the reader)
            lines += verdict_lines(progress)
        self._set("#status-stopping", "\n".join(lines))
        curve = [float(v) for v in progress.recall_curve]
        sparkline = self.query_one("#status-curve", Sparkline)
        visible = len(curve) >= 2 and curve[-1] > 0
        if sparkline.display != visible:
            sparkline.display = visible
            self.query_one("#status-curve-label").display = visible
        if visible and list(sparkline.data or []) != curve:
            sparkline.data = curve

    _STOPPING_PARTS = ("#status-rank", "#status-stopping", "#status-curve",
                       "#status-curve-label")
    """What only title/abstract screening has: rank, stopping statistics, recall curve."""

    def _hide(self, *selectors: str) -> None:
        for selector in selectors:
            self.query_one(selector).display = False

    def _set(self, selector: str, text: str) -> None:
        widget = self.query_one(selector, Static)
        old = self._texts.get(selector)
        if old == text:
            return
        self._texts[selector] = text
        widget.update(text, layout=old is None or old.count("\n") != text.count("\n"))


class DecisionBar(Horizontal):
    """Mouse buttons for the main actions; reports `ActionPicked`.

    The labels fit the width the bar is given (the side panel takes 30 columns beside it
    from 72 columns up): the full labels with a space either side; then without the spaces;
    then shorter labels (`SHORT`). No button is cut off down to a
    40-column bar, the width it has in a 72-column terminal."""

    SHORT = {"include": "✓ Incl", "exclude": "✗ Excl"}
    """Labels of the tightest fit (the others are short already)."""

    class ActionPicked(Message):
        """A decision button was pressed."""

        def __init__(self, action: str) -> None:
            super().__init__()
            self.action = action

    def __init__(self, keys: dict[str, str], stage: Stage, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._keys = keys
        self._stage = stage
        actions = [("include", "✓ Include", "success"), ("exclude", "✗ Exclude", "error")]
        if stage == Stage.TITLE_ABSTRACT:
            actions.append(("maybe", "◐ Maybe", "warning"))
        else:
            actions.append(("fulltext_not_retrieved", "Not retrieved", "warning"))
        actions += [("note", "Note", "default"), ("undo", "↶ Undo", "default")]
        self._actions = actions
        self._fit: tuple[bool, bool] | None = None
        self._offered: set[str] | None = None
        """The actions whose buttons show (None: all)."""

    def compose(self) -> ComposeResult:
        for action, label, variant in self._actions:
            button = Button(Text(label), id=f"btn-{action}", variant=variant,  # type: ignore[arg-type]
                            compact=True, tooltip=f"key: {self._keys[action]}")
            # for the mouse: the keys do the same, and Tab landing on a button made a
            # stray Enter decide the record (Tab, Tab, Enter excluded it)
            button.can_focus = False
            yield button

    def on_resize(self, event: events.Resize) -> None:
        self.fit(event.size.width)

    def offer(self, actions: set[str]) -> None:
        """Show the buttons of `actions` only (a button whose key cannot work here, e.g.
        the adjudicator's Include with no record to decide on, is hidden)."""
        if actions == self._offered:
            return
        self._offered = actions
        for action, _, _ in self._actions:
            self.query_one(f"#btn-{action}", Button).display = action in actions
        self._fit = None
        self.fit(self.size.width)

    def fit(self, width: int) -> None:
        """Choose the labels and padding for a bar `width` columns wide."""
        shown = [(a, label) for a, label, _ in self._actions
                 if self._offered is None or a in self._offered]
        gaps = len(shown) - 1  # one column of margin between buttons
        for short, tight in ((False, False), (False, True), (True, True)):
            labels = [self.SHORT.get(a, label) if short else label for a, label in shown]
            need = sum(cell_len(label) + (0 if tight else 2) for label in labels) + gaps
            if need <= width:
                break
        if self._fit == (short, tight):
            return
        self._fit = (short, tight)
        for action, label in ((a, self.SHORT.get(a, lb) if short else lb)
                              for a, lb, _ in self._actions):
            button = self.query_one(f"#btn-{action}", Button)
            button.label = Text(label)
            # (the width of a Button's label is measured with a space either side)
            button.styles.width = cell_len(label) if tight else "auto"
            button.styles.line_pad = 0 if tight else 1

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id:
            self.post_message(self.ActionPicked(event.button.id.removeprefix("btn-")))


def reason_name(protocol: Protocol, reason_id: str) -> str:
    """How an exclusion reason is shown: its label, or its id when the protocol in force no
    longer has it (browse, the card and the conflicts list say the same)."""
    reason = protocol.reason(reason_id)
    return reason.label if reason else reason_id


def decision_text(decision: Decision | None, reason_label: str = "") -> str:
    if decision is None:
        return "not screened by you"
    text = decision.label.value
    if decision.reason_id:
        text += f" ({reason_label or decision.reason_id})"
    if decision.note:
        text += f", note: {decision.note}"
    return text


def fit_title(title: str, sub_title: str, width: int) -> tuple[str, str]:
    """Title and sub-title (reviewer and stage) for a header line `width` columns wide:
    the title is shortened (ending in '…') so the sub-title always shows whole; with no room
    for even a few characters of it, the sub-title shows alone."""
    need = cell_len(title) + (cell_len(sub_title) + 3 if sub_title else 0)
    if need <= width or not sub_title:
        return title, sub_title
    room = width - cell_len(sub_title) - 3  # " — " between them
    if room < 6:
        return "", sub_title
    cut = title
    while cell_len(cut) > room - 1:
        cut = cut[:-1]
    return cut.rstrip() + "…", sub_title


class FitHeader(Header):
    """The header, its title shortened to leave room for the sub-title (who is screening,
    and at which stage), which a long protocol title pushed off the line below ~200
    columns."""

    def format_title(self) -> Content:
        width = self.query_one(HeaderTitle).content_region.width
        title, sub_title = self.screen_title, self.screen_sub_title
        if width > 0:
            title, sub_title = fit_title(title, sub_title, width)
        if not title:
            return Content(sub_title)
        return self.app.format_title(title, sub_title)

    def on_resize(self) -> None:
        self.query_one(HeaderTitle).update(self.format_title())


class FitFooter(Footer):
    """The key footer, in Textual's compact style (one space between keys) on terminals
    under 80 columns or where the keys need it, so every key, Help and Quit included, still
    fits at 66 columns; a key in `SPARE` is left out where the others would not fit with it."""

    COMPACT_BELOW = 80
    SPARE = ("back_to_queue",)
    """Keys that go first when the footer is too narrow (Esc back: in the help too)."""

    def compose(self) -> ComposeResult:
        yield from super().compose()
        self.call_after_refresh(self._fit)
        self.call_after_refresh(self._forget_old_keys)

    def _forget_old_keys(self) -> None:
        """Let the keys of earlier footers go. Textual's Footer composes its keys again
        whenever the bindings change (a dialog opened or closed, undo's Esc key: dozens
        of keys a decision), and binds each key's `compact` to the footer, which keeps
        the key in its watcher list until `compact` next changes, so never: every key ever
        shown, each with its styles and drawn lines, was kept (most of the objects a
        long session's UI gained: it grew from 106 to 415 MB over 706 decisions). Only the
        keys on screen stay."""
        watchers = getattr(self, "__watchers", {}).get("compact")  # (Textual's own list)
        if watchers:
            watchers[:] = [(node, callback) for node, callback in watchers
                           if node.is_attached and not node._closing]

    def on_resize(self) -> None:
        self._fit()

    def _needs(self) -> tuple[int, int]:
        """Columns the keys shown need, in the full style and in the compact one (as
        Textual's footer styles space them)."""
        shown = {b.action: b for _, b, _, _ in self.screen.active_bindings.values() if b.show}
        sizes = [(cell_len(self.app.get_key_display(b)), cell_len(b.description))
                 for b in shown.values()]  # (one key an action, as the footer shows them)
        full = sum(key + 2 + text + 1 for key, text in sizes)
        compact = sum(key + 1 + text + 1 for key, text in sizes)
        return full, compact

    def _fit(self) -> None:
        if not self.is_attached:
            return
        width = self.size.width
        full, compact = self._needs()
        self.compact = width < max(self.COMPACT_BELOW, full)
        crowded = self.compact and compact - 1 > width  # (no margin after the last key)
        for key in self.query(FooterKey):
            if key.action in self.SPARE:
                key.display = not crowded


def error_text(exc: BaseException) -> str:
    """What a notice says of a failure: a user error (bad input, a database problem the
    user can act on) is its message alone; anything else also names its kind, for a bug
    report."""
    from screener.workflow import USER_ERRORS

    return str(exc) if isinstance(exc, USER_ERRORS) else f"{type(exc).__name__}: {exc}"
