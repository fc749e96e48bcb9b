"""The browse screen: a table of records with filters and a title/abstract search.

Rows load in a thread worker (a 100,000-record review is listed without freezing the
screen). Choosing a row dismisses the screen with that record id; the screening screen
shows it so the reviewer can decide again (a new decision row, never an edit).
Only the reviewer's own decisions are shown when the protocol is blind.
Must not import screener.storage or sqlalchemy.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import events, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Tab, Tabs
from textual.worker import get_current_worker

from screener.core.decisions import Stage
from screener.core.keys import DEFAULT_KEYS, binding_key
from screener.core.protocol import Protocol
from screener.tui.dialogs import TakesTypedKeys
from screener.tui.widgets import NO_TITLE, FitFooter, error_text, reason_name, shorten
from screener.workflow.browse import BrowseFilter, BrowseResult, BrowseRow, browse
from screener.workflow.review import Review

BROWSE_LIMIT = 500
"""Rows listed at once; narrow with a filter or a search to see others."""

TAB_LABELS = {BrowseFilter.ALL: "All", BrowseFilter.UNSCREENED: "Unscreened",
              BrowseFilter.INCLUDED: "Included", BrowseFilter.EXCLUDED: "Excluded",
              BrowseFilter.MAYBE: "Maybe", BrowseFilter.NOTES: "With notes"}

Lister = Callable[[Review, str, Stage, BrowseFilter, str], BrowseResult]


def _default_lister(review: Review, reviewer: str, stage: Stage, which: BrowseFilter,
                    text: str) -> BrowseResult:
    return browse(review, reviewer, stage, which, text=text, limit=BROWSE_LIMIT)


class BrowseScreen(TakesTypedKeys, ModalScreen[int | None]):
    """Records with filters; dismisses with the chosen record id (None: back)."""

    BINDINGS = [Binding("escape", "back", "Back"),
                # priority: the table's own Enter (hidden) and Left/Right (a one-column
                # scroll) came first; in the search box these keys are the box's
                Binding("enter", "open", "Open record", priority=True),
                Binding("left", "filter(-1)", "Filter", show=False, priority=True),
                Binding("right", "filter(1)", "Filter", key_display="←→", priority=True),
                Binding("down", "to_table", "To the records", show=False),
                # Left/Right change the filter: shifted, they scroll long titles into view
                Binding("shift+left", "scroll_titles(-1)", "Scroll", show=False),
                Binding("shift+right", "scroll_titles(1)", "Scroll", show=False),
                Binding("slash", "focus_search", "Search", key_display="/"),
                Binding("ctrl+r", "reload", "Reload", show=False),
                # the screening keys for help and quit (remapped with them, by id): help
                # opens over the list, quit closes it (typed in the search box, they are text)
                Binding(binding_key(DEFAULT_KEYS["help"]), "app.help", "Help", id="help",
                        key_display=DEFAULT_KEYS["help"]),
                Binding(binding_key(DEFAULT_KEYS["quit"]), "back", "Back", id="quit", show=False,
                        key_display=DEFAULT_KEYS["quit"])]

    class RowsLoaded(Message):
        """A listing arrived from the worker."""

        def __init__(self, result: BrowseResult, generation: int) -> None:
            super().__init__()
            self.result = result
            self.generation = generation

    class LoadFailed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(self, review: Review, reviewer: str, stage: Stage, *, search: bool = False,
                 which: BrowseFilter = BrowseFilter.ALL, lister: Lister | None = None) -> None:
        super().__init__()
        self.review = review
        self.reviewer = reviewer
        self.stage = stage
        self.start_in_search = search
        self.which = which
        self.text = ""
        self.result: BrowseResult | None = None
        self._lister = lister or _default_lister
        self._generation = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="browse"):
            yield Tabs(*[Tab(label, id=f"filter-{f.value}") for f, label in TAB_LABELS.items()],
                       active=f"filter-{self.which.value}", id="browse-filters")
            with Horizontal(id="browse-search-row"):
                yield Input(placeholder="search title and abstract, Enter to search",
                            id="browse-search")
            yield Label("loading…", id="browse-summary", markup=False)
            table: DataTable[str | Text] = DataTable(id="browse-table", cursor_type="row",
                                                     zebra_stripes=True)
            yield table
        yield FitFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        # under 90 columns the cells before the title are cut shorter, so the title stays
        # on screen (at 66 columns it was pushed off by a 26-column decision cell)
        self._widths = _NARROW if self.app.size.width < 90 else _WIDE
        table.add_column("id", key="id")
        table.add_column("your decision", key="label")
        if not (self.review.protocol.screening.blind and self.review.protocol.screening.dual):
            # before the title, which runs long: other reviewers' decisions stay in view
            table.add_column("others", key="others")
        table.add_column("year", key="year")
        table.add_column("first author", key="author", width=self._widths["author"])
        table.add_column("title", key="title")
        if self.start_in_search:
            self.query_one("#browse-search", Input).focus()
        else:
            table.focus()
        self.reload()

    # -- loading ------------------------------------------------------------------------
    def reload(self) -> None:
        self._generation += 1
        self.query_one("#browse-summary", Label).update("loading…")
        self._load(self.which, self.text, self._generation)

    @work(thread=True, exclusive=True, group="browse")
    def _load(self, which: BrowseFilter, text: str, generation: int) -> None:
        worker = get_current_worker()
        try:
            result = self._lister(self.review, self.reviewer, self.stage, which, text)
        except Exception as exc:  # noqa: BLE001 - shown to the user, never crashes the app
            self.post_message(self.LoadFailed(error_text(exc)))
            return
        if not worker.is_cancelled:
            self.post_message(self.RowsLoaded(result, generation))

    def on_browse_screen_rows_loaded(self, message: RowsLoaded) -> None:
        if message.generation != self._generation:
            return
        self.result = message.result
        table = self.query_one(DataTable)
        table.clear()
        blind = self.review.protocol.screening.blind and self.review.protocol.screening.dual
        for row in message.result.rows:
            w = self._widths
            # names, reasons, authors and titles as Text: a string cell is read as markup,
            # which dropped "[corrected]" and crashed on "[/]"
            label = _label_cell(row, self.review.protocol)
            cells: list[str | Text] = [str(row.record_id), Text(shorten(label, w["label"]))]
            if not blind:
                cells.append(Text(shorten(row.others, w["others"])))
            cells += [str(row.year or ""), Text(shorten(row.first_author, w["author"])),
                      Text(row.title or NO_TITLE)]
            table.add_row(*cells, key=str(row.record_id))
        shown, matching = len(message.result.rows), message.result.matching
        what = TAB_LABELS[self.which].lower()
        summary = f"{matching:,} record{'s' if matching != 1 else ''} ({what}"
        summary += f", matching {self.text!r})" if self.text else ")"
        if shown < matching:
            summary += f"; showing the first {shown:,}: narrow with a filter or search"
        self.query_one("#browse-summary", Label).update(summary)

    def on_browse_screen_load_failed(self, message: LoadFailed) -> None:
        self.query_one("#browse-summary", Label).update("could not list records")
        self.notify(message.error, title="Browse failed", severity="error")

    # -- user actions -------------------------------------------------------------------
    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        event.stop()
        if event.tab is None or event.tab.id is None:
            return
        which = BrowseFilter(event.tab.id.removeprefix("filter-"))
        if which != self.which:
            self.which = which
            self.reload()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.text = event.value.strip()
        self.reload()
        self.query_one(DataTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.dismiss(int(event.row_key.value))

    def on_key(self, event: events.Key) -> None:
        """Down from the search box goes into the results (it took two or three Tabs)."""
        if event.key == "down" and isinstance(self.focused, Input):
            event.stop()
            self.query_one(DataTable).focus()

    def take_typed_key(self, event: events.Key) -> bool:
        """A letter, digit or sign typed on the records or the filter tabs that is none of
        the keys bound there (help, back, search) starts a search in the box, which takes
        the focus: a search typed at once went nowhere, and its Enter opened a record."""
        try:
            box = self.query_one("#browse-search", Input)
        except NoMatches:  # (not composed yet)
            return False
        if (self.focused is box or not event.is_printable or not event.character
                or event.key in self.active_bindings):
            return False
        # at once, so that the keys typed next go to the box too; its Focus selects an
        # earlier search (as `/` does) and this key, which the box gets next, replaces it
        self.set_focus(box)
        box.post_message(events.Key(event.key, event.character))
        return True

    def action_open(self) -> None:
        """Enter: open the record under the cursor; from the filter tabs, go into the
        records (Enter in the search box searches)."""
        focused = self.focused
        if isinstance(focused, Input):
            raise SkipAction()
        table = self.query_one(DataTable)
        if not isinstance(focused, DataTable):
            table.focus()
            return
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            if key is not None:
                self.dismiss(int(key))

    def action_filter(self, step: int) -> None:
        """Left/Right: the previous or next filter, wherever the focus is but the search
        box (where they move the text cursor)."""
        if isinstance(self.focused, Input):
            raise SkipAction()
        tabs = self.query_one(Tabs)
        if step > 0:
            tabs.action_next_tab()
        else:
            tabs.action_previous_tab()

    def action_scroll_titles(self, step: int) -> None:
        """Shift+Left/Right: scroll the records sideways (long titles run off the screen)."""
        if isinstance(self.focused, Input):
            raise SkipAction()
        table = self.query_one(DataTable)
        table.scroll_to(x=max(0, table.scroll_x + step * 20), animate=False)

    def action_to_table(self) -> None:
        """Down from the filter tabs goes into the records."""
        self.query_one(DataTable).focus()

    def action_focus_search(self) -> None:
        self.query_one("#browse-search", Input).focus()

    def action_reload(self) -> None:
        self.reload()

    def action_back(self) -> None:
        self.dismiss(None)


_WIDE = {"label": 40, "others": 30, "author": 18}
_NARROW = {"label": 14, "others": 10, "author": 12}
"""Widest cells before the title, by terminal width (under 90 columns: narrow)."""


def _label_cell(row: BrowseRow, protocol: Protocol) -> str:
    if row.label is None:
        return "—"
    text = row.label.value
    if row.reason_id:
        text += f" ({reason_name(protocol, row.reason_id)})"
    if row.note:
        text += " ✎"
    return text
