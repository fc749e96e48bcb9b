"""The conflicts screen: the adjudicator resolves dual-screening disagreements.

Lists the stage's conflicts (record id, title, each reviewer's label) in a table; Enter
shows the record and both votes with reasons and notes; include / exclude / maybe (the
app's keys) store the adjudicator's decision through `screener.workflow.team.resolve`,
and the conflict leaves the list. Conflicts are listed by the caller first
(`team.list_conflicts`), so a reviewer who may not see them never gets the screen.
Must not import screener.storage or sqlalchemy.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from screener.core.decisions import Label as DecisionLabel
from screener.core.decisions import Stage
from screener.tui.dialogs import (
    HoldsKeysForDialogs,
    NoteScreen,
    ReasonChoice,
    ReasonScreen,
    opens_dialog,
)
from screener.tui.keys import DEFAULT_KEYS, DESCRIPTIONS, binding_key
from screener.tui.widgets import NO_TITLE, FitFooter, RecordCard, reason_name, shorten
from screener.workflow import USER_ERRORS
from screener.workflow.browse import get_record
from screener.workflow.drafts import CONFLICTS
from screener.workflow.review import Review
from screener.workflow.team import Conflict, Vote, list_conflicts, resolve

RESOLVE_ACTIONS = ("include", "exclude", "maybe", "note")


class ConflictsScreen(HoldsKeysForDialogs, ModalScreen[None]):
    """Conflicts at one stage; Enter opens one, the decision keys resolve it."""

    BINDINGS = [Binding("escape", "back", "Back"),
                # priority: the row opens while Enter is handled, so a key typed right after
                # it ("Enter i" in one terminal read) finds the conflict open; the resolving
                # keys are priority bindings too, so that all are handled in the order typed
                # (a priority key overtook a plain one still on its way to the table: "i
                # Enter e 3" reopened the conflict just resolved, and the "e" found none)
                Binding("enter", "open", "Open", priority=True, show=False),
                *[Binding(binding_key(DEFAULT_KEYS[a]), a, DESCRIPTIONS[a], id=a,
                          key_display=DEFAULT_KEYS[a], priority=True)
                  for a in RESOLVE_ACTIONS],
                # the screening keys for help (which said nothing here) and undo
                Binding(binding_key(DEFAULT_KEYS["help"]), "app.help", "Help", id="help",
                        key_display=DEFAULT_KEYS["help"], show=False),
                Binding(binding_key(DEFAULT_KEYS["undo"]), "undo", "Undo", id="undo",
                        key_display=DEFAULT_KEYS["undo"], show=False)]

    drafts_place = CONFLICTS
    """Notes typed here (and in a dialog over it) are given back here (`workflow.drafts`)."""

    REFRESH_S = 10.0
    """Seconds between looks for conflicts that arose while the screen is open."""

    def __init__(self, review: Review, adjudicator: str, stage: Stage,
                 conflicts: list[Conflict]) -> None:
        super().__init__()
        self.review = review
        self.adjudicator = adjudicator
        self.stage = stage
        self.conflicts = conflicts
        self.current: Conflict | None = None
        """The conflict opened with Enter (the one the decision keys resolve)."""
        self.resolved = 0
        self.last: tuple[Conflict, DecisionLabel] | None = None
        """The conflict resolved last here and how (undo reopens it, to be resolved again)."""
        self.notes: dict[int, str] = {}
        """Notes written for a conflict's resolution (by record id), stored with it."""

    def compose(self) -> ComposeResult:
        with Vertical(id="conflicts"):
            # (wraps: one line cut the end off at 80 columns once "resolved here" was added)
            yield Static("", id="conflicts-summary", markup=False)
            table: DataTable[str | Text] = DataTable(id="conflicts-table",
                                                     cursor_type="row", zebra_stripes=True)
            yield table
            with Vertical(id="conflict-detail"):
                yield Static(id="conflict-votes")
                yield RecordCard(self.review.protocol, id="conflict-card")
        yield FitFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("id", key="id")
        # the votes before the title: they are what the list is scanned for, and the title
        # may run off the edge of a narrow terminal
        table.add_column("votes", key="votes")
        table.add_column("title", key="title")
        take_drafts = getattr(self.app, "take_drafts", None)  # kept when the UI was closed
        if callable(take_drafts):
            self.notes.update(take_drafts(CONFLICTS))
        self._fill()
        self._show_detail()
        table.focus()
        self.set_interval(self.REFRESH_S, self._refresh_if_idle)

    def on_resize(self, event: events.Resize) -> None:
        """The titles are cut to the width the table has: cut again for the new one."""
        if self.is_mounted:
            self.call_after_refresh(self._redraw)

    def _refresh_if_idle(self) -> None:
        """List the conflicts again when none is open and no dialog is up: a screener's
        change made meanwhile (a decision changed in browse, a second reviewer) can open a
        new conflict, which the list showed only once reopened."""
        if self.current is None and self.app.screen is self:
            before = [c.record_id for c in self.conflicts]
            self._fresh()
            if [c.record_id for c in self.conflicts] != before:
                self._redraw()

    def on_key(self, event: events.Key) -> None:
        """The decision keys are bound only while a conflict is open, and maybe not at full
        text: pressed anyway, they say why instead of doing nothing."""
        keys = self.app_keys()
        pressed = [a for a in RESOLVE_ACTIONS
                   if event.key == binding_key(keys.get(a, DEFAULT_KEYS[a]))]
        if not pressed:
            return
        if self.current is None:
            self._target()  # says what to do first
        elif self.stage == Stage.FULL_TEXT and pressed == ["maybe"]:
            self.notify("Maybe is for title/abstract; at full text include or exclude")
        else:
            return
        event.stop()
        event.prevent_default()  # (Textual calls each class's on_key: not the base's)

    def app_keys(self) -> dict[str, str]:
        keymap = getattr(self.app, "keymap", None)
        return dict(keymap.keys) if keymap is not None else dict(DEFAULT_KEYS)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in RESOLVE_ACTIONS and self.current is None:
            return False  # offered once a conflict is open (Enter)
        if action == "maybe":
            return self.stage == Stage.TITLE_ABSTRACT
        return True

    # -- showing ------------------------------------------------------------------------
    @staticmethod
    def votes_line(conflict: Conflict) -> str:
        """The row's votes, each exclusion with its reason's id ("ann: exclude (design);
        bob: exclude (population)"): without them, a conflict of reasons read as agreement."""
        return "; ".join(f"{v.reviewer}: {v.label.value}"
                         + (f" ({v.reason_id})" if v.reason_id else "")
                         for v in conflict.votes)

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        votes = [self.votes_line(c) for c in self.conflicts]
        # the title takes the width the id and the votes leave (each column has a space
        # either side; the scroll bar 2), cut with "…": it ran off a 80-column screen uncut
        width = (table.size.width or self.app.size.width) - 2
        room = width - 2 * 3 - max([2, *(len(str(c.record_id)) for c in self.conflicts)]) \
            - max([5, *(cell_len(v) for v in votes)])
        for conflict, line in zip(self.conflicts, votes, strict=True):
            table.add_row(str(conflict.record_id),  # Text: a string cell is read as markup
                          Text(line),
                          Text(shorten(conflict.title or NO_TITLE, max(room, 20))),
                          key=str(conflict.record_id))
        stage = self.stage.label
        n = len(self.conflicts)
        summary = (f"{n} conflict{'s' if n != 1 else ''} at {stage}"
                   + (f" · {self.resolved} resolved here" if self.resolved else "")
                   + (" · Enter opens one, then include/exclude (n: a note)" if n else ""))
        self.query_one("#conflicts-summary", Static).update(summary)

    def _show_detail(self) -> None:
        detail = self.query_one("#conflict-detail", Vertical)
        conflict = self.current
        detail.display = conflict is not None
        self.refresh_bindings()  # the decision keys: only while a conflict is open
        if conflict is None:
            return
        try:
            record = get_record(self.review, conflict.record_id)
        except USER_ERRORS as exc:
            self.notify(str(exc), severity="error")
            record = None
        votes = self._votes_text(conflict.votes)
        note = self.notes.get(conflict.record_id)
        if note:
            votes.append(f"\nyour note (with your resolution): {note}", style="italic")
        self.query_one("#conflict-votes", Static).update(votes)
        self.query_one(RecordCard).show(record, empty=f"Record {conflict.record_id} not found",
                                        heading=f"Record {conflict.record_id}")

    def _votes_text(self, votes: tuple[Vote, ...]) -> Text:
        text = Text()
        for vote in votes:
            text.append(f"{vote.reviewer}: ", style="bold")
            text.append(vote.label.value)
            if vote.reason_id:
                text.append(f" — {reason_name(self.review.protocol, vote.reason_id)}")
            if vote.note:
                text.append(f" · note: {vote.note}", style="italic")
            text.append("\n")
        text.rstrip()
        return text

    # -- user actions -------------------------------------------------------------------
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self._open(int(event.row_key.value))

    def action_open(self) -> None:
        """Enter: open the conflict under the cursor."""
        table = self.query_one(DataTable)
        if table.row_count:
            self._open(int(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
                           or 0))

    def _open(self, record_id: int) -> None:
        self.current = next((c for c in self.conflicts if c.record_id == record_id), None)
        self._show_detail()

    def _target(self) -> Conflict | None:
        if self.current is None:
            self.notify("Open a conflict with Enter first" if self.conflicts else
                        f"No conflict to resolve at {self.stage.label}", severity="warning")
        return self.current

    def action_undo(self) -> None:
        """Reopen the conflict resolved last here: its resolution stands until it is
        resolved again (a new decision row; the latest one stands, as with `resolve`)."""
        if self.last is None:
            self.notify("Nothing resolved here yet. To change an earlier resolution, resolve "
                        "it again: `screener resolve RECORD_ID --reviewer NAME --label "
                        "LABEL`", severity="warning", timeout=10)
            return
        conflict, label = self.last
        self.current = conflict
        self._show_detail()
        keys = self.app_keys()
        self.notify(f"Record {conflict.record_id} reopened: your resolution ({label.value}) "
                    f"stands until you resolve it again ({keys['include']}/{keys['exclude']}"
                    + (f"/{keys['maybe']}" if self.stage == Stage.TITLE_ABSTRACT else "")
                    + ")", timeout=8)

    def resolve_current(self, label: DecisionLabel, reason_id: str | None = None) -> None:
        conflict = self.current
        if conflict is None:
            return
        try:
            resolve(self.review, conflict.record_id, self.adjudicator, label, stage=self.stage,
                    reason_id=reason_id, note=self.notes.get(conflict.record_id, ""))
        except USER_ERRORS as exc:
            self.notify(str(exc), title="Not resolved", severity="error")
            # a screener may have changed their decision meanwhile: show the list as it is
            self.current = next((c for c in self._fresh() if c.record_id == conflict.record_id),
                                None)
            self._redraw()
            return
        if self.last is None or self.last[0] is not conflict:  # (not a change of one)
            self.resolved += 1
        self.last = (conflict, label)
        self.notes.pop(conflict.record_id, None)
        self.notify(f"Record {conflict.record_id}: resolved as {label.value}")
        self.current = None
        self.reload()

    def _fresh(self) -> list[Conflict]:
        """The conflicts as they stand now (those known so far if they cannot be read)."""
        try:
            self.conflicts = list_conflicts(self.review, self.stage, self.adjudicator)
        except USER_ERRORS as exc:
            self.notify(str(exc), title="Conflicts", severity="error")
        return list(self.conflicts)

    def reload(self) -> None:
        """List the conflicts again (resolved ones drop out)."""
        self._fresh()
        self._redraw()

    def _redraw(self) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        self._fill()
        self._show_detail()
        if table.row_count:  # stay at the same place: the next conflict, not the first
            table.move_cursor(row=min(row, table.row_count - 1))
        table.focus()

    def action_include(self) -> None:
        if self._target() is not None:
            self.resolve_current(DecisionLabel.INCLUDE)

    def action_maybe(self) -> None:
        if self.stage == Stage.FULL_TEXT:
            self.notify("Maybe is for title/abstract; at full text include or exclude")
            return
        if self._target() is not None:
            self.resolve_current(DecisionLabel.MAYBE)

    @opens_dialog
    async def action_exclude(self) -> None:
        conflict = self._target()
        if conflict is None:
            return
        protocol = self.review.protocol
        required = (self.stage == Stage.FULL_TEXT
                    or protocol.screening.reason_required_at_title_abstract)
        if not protocol.exclusion_reasons:
            self.resolve_current(DecisionLabel.EXCLUDE)
            return

        def chosen(choice: ReasonChoice | None) -> None:
            if choice is None:
                self.notify("Exclusion cancelled")
            elif self.current is conflict:
                self.resolve_current(DecisionLabel.EXCLUDE, choice.reason_id)

        await self.push_dialog(ReasonScreen(protocol.exclusion_reasons, required), chosen)

    @opens_dialog
    async def action_note(self) -> None:
        """A note for the open conflict, stored with its resolution."""
        conflict = self._target()
        if conflict is None:
            return
        record_id = conflict.record_id

        def written(note: str | None) -> None:
            if note is None:
                return
            if note:
                self.notes[record_id] = note
            else:
                self.notes.pop(record_id, None)
            self._show_detail()

        await self.push_dialog(NoteScreen(self.notes.get(record_id, ""),
                                          "Note (stored with your resolution)", record_id),
                               written)

    def unsaved_notes(self) -> dict[int, str]:
        """Notes not yet stored with a resolution (the app asks before quitting)."""
        return dict(self.notes)

    def action_back(self) -> None:
        self.dismiss(None)
