"""Widgets of the screening screen: record card, criteria panel, status panel, decision bar.

Widgets only show what they are given and report what happened with past-tense messages
(`DecisionBar.ActionPicked`); the screen decides what it means. Styles are in screener.tcss,
including the highlight styles (component classes), so a theme can change them.
Must not import screener.storage or sqlalchemy.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Label, ProgressBar, Sparkline, Static

from screener.core.decisions import Decision, Stage
from screener.core.protocol import CriterionKind, Protocol
from screener.core.records import Record
from screener.tui.highlight import Span, abstract_sections, find_terms
from screener.workflow.progress import Progress

DASH = "—"


def highlighted(text: str, spans: Sequence[Span], include: Style, exclude: Style,
                base: Style | None = None) -> Text:
    """`text` as rich Text with the include/exclude spans styled."""
    result = Text(text, style=base or Style())
    for span in spans:
        result.stylize(include if span.kind == "include" else exclude, span.start, span.end)
    return result


class RecordCard(VerticalScroll):
    """The record as a PubMed abstract page shows it, with the protocol's terms marked.

    Include terms: bold + underline (green); exclude terms: reverse + strike (red); a legend
    explains them, so meaning never rests on colour alone.
    """

    COMPONENT_CLASSES = {"record-card--include", "record-card--exclude",
                         "record-card--section", "record-card--title"}

    def __init__(self, protocol: Protocol, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.protocol = protocol
        self.record: Record | None = None
        self._context_text = ""
        self._empty = "Nothing to show."

    def compose(self) -> ComposeResult:
        yield Static(id="record-context")
        yield Static(id="record-title")
        yield Static(id="record-meta")
        yield Static(id="record-abstract")
        yield Static(id="record-legend")

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._render_record())

    def show(self, record: Record | None, context: str = "", empty: str = "",
             heading: str = "") -> None:
        """Show `record` (None: the `empty` message); `heading` goes in the border,
        `context` (your earlier decision, a pending note) above the title."""
        self.record, self._context_text = record, context
        self.border_title = heading
        if empty:
            self._empty = empty
        self._render_record()
        self.scroll_home(animate=False)

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
        if not self.is_mounted:
            return
        record = self.record
        context = self.query_one("#record-context", Static)
        title = self.query_one("#record-title", Static)
        meta = self.query_one("#record-meta", Static)
        abstract = self.query_one("#record-abstract", Static)
        legend = self.query_one("#record-legend", Static)
        context.update(Text(self._context_text))
        context.display = bool(self._context_text)
        if record is None:
            title.update(Text(self._empty))
            for widget in (meta, abstract, legend):
                widget.update("")
            return
        include, exclude, section, title_style = self._styles()
        heading = self._mark(record.title or "(no title)")
        heading.stylize(title_style)
        title.update(heading)
        lines = Text()
        if record.authors:
            lines.append(", ".join(record.authors) + "\n")
        if record.citation:
            lines.append(record.citation + "\n", style="italic")
        ids = []
        if record.doi:
            ids.append(f"DOI: {record.doi}")
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
        meta.update(lines)
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
        abstract.update(body)
        key = Text("Terms: ")
        key.append("include term", style=include)
        key.append(" (bold, underlined)  ")
        key.append("exclude term", style=exclude)
        key.append(" (reversed, struck)")
        legend.update(key if (self.protocol.highlight.include or self.protocol.highlight.exclude)
                      else "")


class CriteriaPanel(Static):
    """Eligibility criteria (id, include/exclude, text) and exclusion reasons with keys."""

    def __init__(self, protocol: Protocol, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.protocol = protocol

    def on_mount(self) -> None:
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


def format_fraction(value: float | None) -> str:
    return DASH if value is None else f"{value:.0%}"


def format_p(value: float | None) -> str:
    return DASH if value is None else (f"{value:.3f}" if value >= 0.001 else "<0.001")


class StatusPanel(Vertical):
    """Progress bar, includes, rank and score of the record shown, and the stopping panel."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._texts: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="status-counts", classes="status-line")
        yield ProgressBar(show_eta=False, id="status-bar")
        yield Static(id="status-rank", classes="status-line")
        yield Static(id="status-stopping", classes="status-line")
        yield Label("Includes found over time", id="status-curve-label")
        yield Sparkline([0.0], id="status-curve")

    def show(self, progress: Progress, rank: int | None, score: float | None,
             consecutive_target: int) -> None:
        """Update in place; a layout pass is asked for only when a line count changes
        (status lines never wrap), so the counts cost almost nothing per decision."""
        self._set("#status-counts", f"Screened {progress.screened:,} of {progress.total:,}\n"
                  f"Includes {progress.includes:,} · maybe {progress.maybes:,}")
        bar = self.query_one("#status-bar", ProgressBar)
        if (bar.total, bar.progress) != (max(progress.total, 1), progress.screened):
            bar.update(total=max(progress.total, 1), progress=progress.screened)
        rank_text = DASH if rank is None else f"{rank:,}"
        score_text = DASH if score is None else f"{score:.3f}"
        self._set("#status-rank", f"Rank {rank_text} · score {score_text}")
        lines = [f"Since last include {progress.consecutive_irrelevant:,}/{consecutive_target:,}",
                 f"Stopping p-value {format_p(progress.p_value)}",
                 f"Est. recall {format_fraction(progress.estimated_recall)}"]
        if progress.checklist:
            lines.append("SAFE checklist:")
            lines += [f" {'✓' if item.passed else '✗'} {item.name}: {item.value}"
                      for item in progress.checklist]
        else:
            lines.append(f"SAFE checklist {DASH}")
        self._set("#status-stopping", "\n".join(lines))
        curve = [float(v) for v in progress.recall_curve]
        sparkline = self.query_one("#status-curve", Sparkline)
        visible = len(curve) >= 2 and curve[-1] > 0
        if sparkline.display != visible:
            sparkline.display = visible
            self.query_one("#status-curve-label").display = visible
        if visible and list(sparkline.data or []) != curve:
            sparkline.data = curve

    def _set(self, selector: str, text: str) -> None:
        widget = self.query_one(selector, Static)
        old = self._texts.get(selector)
        if old == text:
            return
        self._texts[selector] = text
        widget.update(text, layout=old is None or old.count("\n") != text.count("\n"))


class DecisionBar(Horizontal):
    """Mouse buttons for the main actions; reports `ActionPicked`."""

    class ActionPicked(Message):
        """A decision button was pressed."""

        def __init__(self, action: str) -> None:
            super().__init__()
            self.action = action

    def __init__(self, keys: dict[str, str], stage: Stage, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._keys = keys
        self._stage = stage

    def compose(self) -> ComposeResult:
        actions = [("include", "✓ Include", "success"), ("exclude", "✗ Exclude", "error")]
        if self._stage == Stage.TITLE_ABSTRACT:
            actions.append(("maybe", "? Maybe", "warning"))
        else:
            actions.append(("fulltext_not_retrieved", "Not retrieved", "warning"))
        actions += [("note", "Note", "default"), ("undo", "↶ Undo", "default")]
        for action, label, variant in actions:
            yield Button(Text(label), id=f"btn-{action}", variant=variant,  # type: ignore[arg-type]
                         compact=True, tooltip=f"key: {self._keys[action]}")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id:
            self.post_message(self.ActionPicked(event.button.id.removeprefix("btn-")))


def decision_text(decision: Decision | None, reason_label: str = "") -> str:
    if decision is None:
        return "not screened by you"
    text = decision.label.value
    if decision.reason_id:
        text += f" ({reason_label or decision.reason_id})"
    if decision.note:
        text += f", note: {decision.note}"
    return text
