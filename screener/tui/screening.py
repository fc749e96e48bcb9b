"""The screening screen: show a record, take a decision, show the next one at once.

Order of work for a decision: `ScreeningSession.decide` commits it, the next record is
taken from the queue in memory and shown, the counts in the status panel are updated in
place, and only then are re-ranking and the full progress (stopping statistics) started in
thread workers. Their results come back as messages; a new ranking is applied with
`ScreeningSession.use_queue` when it arrives. Worker errors become notifications.

Must not import screener.storage or sqlalchemy: the database is reached through
`screener.workflow` only.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, cast

from textual import events, work
from textual.app import ComposeResult, ScreenStackError
from textual.binding import ActiveBinding, Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState, get_current_worker

from screener.core.decisions import Decision, Label, Role, Stage
from screener.core.records import Record
from screener.core.wording import counted, plural
from screener.tui.browse import BrowseScreen
from screener.tui.conflicts import ConflictsScreen
from screener.tui.dialogs import (
    ConfirmScreen,
    HoldsKeysForDialogs,
    NoteScreen,
    ReasonChoice,
    ReasonScreen,
    opens_dialog,
)
from screener.tui.keys import DEFAULT_KEYS, DESCRIPTIONS, binding_key
from screener.tui.widgets import (
    CriteriaPanel,
    DecisionBar,
    FitFooter,
    FitHeader,
    RecordCard,
    StatusPanel,
    decision_text,
    error_text,
    reason_name,
)
from screener.workflow import USER_ERRORS
from screener.workflow.browse import BrowseFilter, get_record
from screener.workflow.progress import POSSIBLY_RELEVANT, Progress, at_least, without_stopping
from screener.workflow.ranking import RankingUpdate
from screener.workflow.review import (
    NothingChanged,
    ProtocolAmended,
    amended_elsewhere,
    catch_up_with_amendments,
    decision_head,
)
from screener.workflow.screening import NextItem
from screener.workflow.team import (
    RecordTaken,
    blinding_ends_on_listing,
    change_after_reconciliation,
    closed_to,
    conflicts_can_arise,
    left_out_note,
    list_conflicts,
    resolution_on,
)

if TYPE_CHECKING:
    from screener.tui.app import ScreenerApp

SCREEN_ACTIONS = ("include", "exclude", "maybe", "note", "undo", "search", "browse",
                  "fulltext_not_retrieved", "conflicts")
DECIDING = ("include", "exclude", "maybe", "note", "fulltext_not_retrieved")
"""Actions on the record shown (offered only while there is one)."""
RESOLUTION_CHANGE = (
    "A resolution is changed by resolving it again (the latest stands): in the conflicts "
    "list ({conflicts}) {undo} reopens the one you resolved last there; an earlier one with "
    "`screener resolve RECORD_ID --reviewer NAME --label LABEL`")
"""How the adjudicator changes a resolution (their undo takes back no resolution)."""
DECIDED_AS = {Label.INCLUDE: "included", Label.EXCLUDE: "excluded",
              Label.MAYBE: "marked maybe"}
"""A decision in the toast for pressing its key on a record decided so already."""

HIDDEN_IN_FOOTER = ("search", "conflicts")
"""Bound but not shown in the footer (search is browse's; conflicts is the adjudicator's)."""


class RankingArrived(Message):
    """A re-ranking worker finished."""

    def __init__(self, update: RankingUpdate) -> None:
        super().__init__()
        self.update = update


class RankingFailed(Message):
    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


class ProgressComputed(Message):
    """A progress worker finished; `generation` tells whether it is still current."""

    def __init__(self, progress: Progress, generation: int,
                 head: tuple[int, str] | None = None) -> None:
        super().__init__()
        self.progress = progress
        self.generation = generation
        self.head = head
        """The decision log's head read before the figures were computed."""


class AmendedElsewhere(Message):
    """The periodic look found a protocol amendment made in another process."""


class DecidedElsewhere(Message):
    """The periodic look found the decision log moved since the figures were computed."""

    def __init__(self, head: tuple[int, str]) -> None:
        super().__init__()
        self.head = head


class ProgressFailed(Message):
    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


TRY_AGAIN = ("The record stays on screen, with any note you typed for it: check the server "
             "(or your network), then press the key again")
"""What the UI adds to a failure a second try may get past (a server restarting or lost)."""


def not_saved(exc: BaseException) -> str:
    """The message of an action the database did not take: what failed, and, when trying
    again may work (`StorageError.try_again`), what to do."""
    said = str(exc)
    if getattr(exc, "try_again", False):
        said = f"{said.rstrip('. ')}. {TRY_AGAIN}"
    return said


class ScreeningScreen(HoldsKeysForDialogs, Screen[None]):
    """Record card, decision buttons, status and criteria; the screening key bindings.

    Bindings carry the action name as id, so the app's key map (`App.set_keymap`) remaps
    them; `check_action` hides the ones that do not apply at the stage.
    """

    BINDINGS = [*(Binding(binding_key(DEFAULT_KEYS[a]), a, DESCRIPTIONS[a], id=a,
                          show=a not in HIDDEN_IN_FOOTER, key_display=DEFAULT_KEYS[a])
                  for a in SCREEN_ACTIONS),
                # in the footer only where Esc goes back (`check_action`)
                Binding("escape", "back_to_queue", "Back", tooltip="Back to the queue",
                        key_display="esc")]

    def __init__(self) -> None:
        super().__init__()
        self.item: NextItem | None = None
        """The queue item shown (None when a record is revisited or nothing is left)."""
        self.record: Record | None = None
        self.revisit = False
        """True when the record came from browse or undo rather than from the queue."""
        self._closed_to_me = ""
        """Why the revisited record is not this reviewer's to screen ("settled by others",
        "allocated to others"), or ""."""
        self.notes: dict[int, str] = {}
        """Notes waiting for the next decision on their record (kept while the reviewer moves
        on: a note written, or brought back by undo, is not lost by leaving the record)."""
        self.mine: dict[int, Decision] = {}
        self.progress: Progress | None = None
        self._generation = 0
        self._ranking_running = False
        self._ranking_stale = False
        self._ranking_disabled = False
        self._progress_running = False
        self._progress_stale = False
        self._figures_head: tuple[int, str] | None = None
        """The decision log's head when the figures shown were computed."""
        self._figures_of: int | None = None
        """The count screened when the stopping statistics shown were computed, once
        decisions have been made since (None: they are current)."""
        self._ranking_timer: Timer | None = None
        self._progress_timer: Timer | None = None
        self._had_record: bool | None = None
        self._could_go_back = False
        self._undone: Decision | None = None
        """The decision undo withdrew on the record shown (the card says what it was)."""
        self._browse_filter = BrowseFilter.ALL
        """The filter browse was left on: it reopens there (a search starts from All)."""
        self._resolution: Decision | None = None
        """The adjudicator's resolution on the record revisited (the card says so)."""
        self.clock = time.monotonic
        """The clock `shown_at` is read from (tests give a fake one)."""
        self.shown_at = 0.0
        """When the record shown reached the screen (`clock`), for `ScreenerApp.min_view_s`."""
        self._drawing: int | None = None
        """The record shown but not yet drawn: its decision keys are not taken."""
        self._too_soon_told: tuple[int, str] | None = None
        """The record whose too-early decision key the reviewer was told about, and why it
        was refused then (told again when the reason changes: the window enlarged)."""

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """As Textual's, with the screening keys in their own order (Include first) also
        when the key map changes some: Textual moves a remapped key to the end, so the
        footer read "Exclude Maybe ... Include" once the include key was remapped."""
        bindings = super().active_bindings
        order = {action: index for index, action in enumerate(SCREEN_ACTIONS)}
        slots = [key for key, active in bindings.items() if active.binding.action in order]
        ordered = sorted(slots, key=lambda key: order[bindings[key].binding.action])
        if ordered == slots:
            return bindings
        moved = dict(zip(slots, ordered, strict=True))
        return {moved.get(key, key): bindings[moved.get(key, key)] for key in bindings}

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back_to_queue":
            return self._can_go_back()
        if action == "undo" and self.screener.session.role == Role.ADJUDICATOR:
            # their undo takes back a not-retrieved mark only (resolutions are changed by
            # resolving again): offered while there is one to take back
            return self.screener.session.mark_undoable
        return self.why_not(action) is None

    def why_not(self, action: str) -> str | None:
        """Why `action` cannot work here (None: it can). Keys that cannot are neither in
        the footer nor on a button; pressing one shows this instead of doing nothing."""
        app = self.screener
        keys = app.keymap
        stage = app.stage
        adjudicator = app.session.role == Role.ADJUDICATOR
        screening = app.review.protocol.screening
        if action == "fulltext_not_retrieved":
            if stage != Stage.FULL_TEXT:
                return (f"{keys.key(action)} (not retrieved) is for full-text reports: open "
                        "the full-text stage (screener screen --stage full_text)")
            if screening.dual and screening.blind and not adjudicator:
                who = f" ({screening.adjudicator})" if screening.adjudicator else ""
                return (f"In blind dual screening the adjudicator{who} marks full-text "
                        "reports not retrieved: tell them which report could not be obtained")
        if action == "maybe" and stage == Stage.FULL_TEXT:
            return "Maybe is for title/abstract; at full text include or exclude"
        if action == "undo" and adjudicator:  # (offered while a mark can be taken back)
            return ("Nothing to undo here. " + RESOLUTION_CHANGE.format(
                conflicts=keys.key("conflicts"), undo=keys.key(action)))
        if action in DECIDING and adjudicator and action != "fulltext_not_retrieved":
            # the adjudicator is offered no records: their decisions are resolutions
            return (f"You resolve the conflicts: press {keys.key('conflicts')} to list them "
                    "and decide there")
        if action == "fulltext_not_retrieved" and adjudicator and self.record is None:
            # the adjudicator is offered no reports: they open one from browse
            return (f"Open the report from browse ({keys.key('browse')}) first, then press "
                    f"{keys.key(action)} to mark it not retrieved")
        if action in DECIDING and self.record is None:
            return "No record to decide on"
        return None

    def on_key(self, event: events.Key) -> None:
        """A key whose action cannot work here says why (it is not in the footer)."""
        if self.is_attached and not self.screener.key_gate.closed and self.app.screen is self:
            for action in SCREEN_ACTIONS:
                if (binding_key(self.screener.keymap.key(action)) == event.key
                        and event.key not in self.active_bindings):
                    reason = self.why_not(action)
                    if reason:
                        self.notify(reason, timeout=6)
                    break
        # (Textual calls HoldsKeysForDialogs.on_key as well: handlers run along the MRO)

    @property
    def screener(self) -> ScreenerApp:
        return cast("ScreenerApp", self.app)

    def compose(self) -> ComposeResult:
        app = self.screener
        keys = app.keymap.keys
        yield FitHeader()
        with Horizontal(id="body"):
            with Vertical(id="main"):
                yield RecordCard(app.review.protocol, id="card")
                yield DecisionBar(keys, app.stage, id="decisions")
            with VerticalScroll(id="side"):
                yield StatusPanel(id="status")
                yield CriteriaPanel(app.review.protocol, id="criteria")
        yield FitFooter()

    def on_mount(self) -> None:
        app = self.screener
        if app.session.role == Role.ADJUDICATOR:  # the conflicts key is theirs: show it
            for key, bindings in self._bindings.key_to_bindings.items():
                self._bindings.key_to_bindings[key] = [
                    replace(b, show=True) if b.action == "conflicts" else b for b in bindings]
        try:
            self.mine = app.initial_decisions()
            for record_id, note in app.take_drafts().items():  # kept when the UI was closed
                self._keep_note(record_id, note)
            self.progress = app.initial_progress(self.mine)
            self.show_next()  # (claims the record: a write)
        except USER_ERRORS as exc:  # nothing to screen with: said once the UI has closed
            app.stop_on(exc)
            return
        self.refresh_progress()
        if app.protocol_check_s > 0:
            self.set_interval(app.protocol_check_s, self.look_for_amendment)
        queue = app.session.queue
        if app.rank_on_open and app.stage == Stage.TITLE_ABSTRACT and (
                (queue.ranking_id is None and app.review.protocol.ranking.cold_start)
                or queue.added_since_ranking):
            # no ranking yet (the cold start), or records imported since the latest one
            # (it has no place for them): ranked in the background, as after a decision
            self.request_ranking()

    # -- showing ------------------------------------------------------------------------
    def show_next(self) -> None:
        """Show the next record from the queue in memory (no waiting for the ranker)."""
        self.item = self.screener.session.next()
        self.record = self.item.record if self.item else None
        self.revisit = False
        self._undone = None
        self._show()

    @property
    def note(self) -> str:
        """The note waiting for the next decision on the record shown."""
        record = self.record
        return self.notes.get(record.id, "") if record is not None and record.id else ""

    def unsaved_notes(self) -> dict[int, str]:
        """Notes waiting for a decision that no stored decision holds (quitting loses
        them): not the standing decision's note, which a revisited record carries over."""
        return {rid: note for rid, note in self.notes.items()
                if rid not in self.mine or self.mine[rid].note != note}

    def _keep_note(self, record_id: int, note: str) -> None:
        if note:
            self.notes[record_id] = note
        else:
            self.notes.pop(record_id, None)

    def _can_go_back(self) -> bool:
        """Esc has somewhere to go: the record came from browse, search or undo."""
        item = self.item
        return self.revisit or (item is not None and item.basis == "undo"
                                and item.record.id is not None)

    def action_back_to_queue(self) -> None:
        """Esc on a record opened from browse, search or undo: leave it as it is and go
        back to the next record of the queue. A record undo brought back is undecided: it
        waits at the end of the queue (until the next ranking gives it its place)."""
        if self.revisit:
            self.show_next()
            self.notify("Back to the queue")
            return
        item = self.item
        if item is None or item.basis != "undo" or item.record.id is None:
            return
        self.screener.session.put_off(item.record.id)
        self.show_next()
        if self.record is not None and self.record.id == item.record.id:
            self.notify(f"Record {item.record.id} is the only one left in the queue")
            return
        self.notify(f"Back to the queue; record {item.record.id}, undecided, waits at its end")

    def show_record(self, record: Record) -> None:
        """Show a record out of queue order (from browse or undo) to decide again. The note
        of the decision standing on it waits for the next one (a changed decision keeps its
        note unless the reviewer edits it), unless another note is already waiting."""
        self.item = None
        self.record = record
        self.revisit = True
        self._resolution = None
        self._closed_to_me = ""
        if record.id is not None:
            try:  # said before a key is refused for it
                self._resolution = resolution_on(self.screener.review, record.id,
                                                 self.screener.stage)
                self._closed_to_me = closed_to(self.screener.review, self.screener.reviewer,
                                         self.screener.stage, record.id)
            except USER_ERRORS:
                pass
        standing = self.mine.get(record.id) if record.id is not None else None
        if record.id is not None and record.id not in self.notes and standing is not None:
            self._keep_note(record.id, standing.note)
        self._show()

    def _context_line(self) -> str:
        record = self.record
        if record is None or record.id is None:
            return ""
        parts = []
        protocol = self.screener.review.protocol

        def said(decision: Decision | None) -> str:
            return decision_text(decision, reason_name(protocol, decision.reason_id)
                                 if decision is not None and decision.reason_id else "")

        undone = self._undone
        if undone is not None and undone.record_id == record.id:
            parts.append("you undid: " + said(replace(undone, note="")))
        note_kept = False
        if self.revisit:
            decision = self.mine.get(record.id)
            # its note is the one waiting: said once, below, not twice
            note_kept = decision is not None and bool(self.note) and decision.note == self.note
            parts.append("your decision: "
                         + said(replace(decision, note="") if decision and note_kept
                                else decision))
        resolution = self._resolution
        if self.revisit and resolution is not None and resolution.record_id == record.id:
            parts.append(f"resolved by the adjudicator ({said(replace(resolution, note=''))}): "
                         "your decision can no longer change")
        if self.note:
            parts.append(f"note ({'kept ' if note_kept else ''}with your next decision): "
                         f"{self.note}")
        return " · ".join(parts)

    def _heading(self) -> str:
        record = self.record
        if record is None or record.id is None:
            return ""
        kind = "Full-text report" if self.screener.stage == Stage.FULL_TEXT else "Record"
        if not self.revisit:
            return f"{kind} {record.id}"
        undone = self._undone is not None and self._undone.record_id == record.id
        decided = record.id in self.mine or undone
        return f"{kind} {record.id}" + (" (revisited)" if decided else " (from browse)")

    def _show(self) -> None:
        keys = self.screener.keymap
        done = ("Nothing left for you to screen at this stage. Press "
                f"{keys.key('browse')} to browse, {keys.key('quit')} to quit.")
        if held := self.screener.session.held:
            done = (f"Nothing left for you now: {counted(held, 'record')} "
                    f"{plural(held, 'is', 'are')} on other reviewers' screens, not yet "
                    "decided; they come back if those "
                    f"reviewers leave them. Press {keys.key('browse')} to browse, "
                    f"{keys.key('quit')} to quit (and open the screen again later).")
        elif left_out := self.screener.session.left_out:
            note = left_out_note(left_out, self.screener.session.reviewer,
                                 self.screener.session.stage, you=True)
            done = (f"Nothing left for you: {note}. Press {keys.key('browse')} to browse, "
                    f"{keys.key('quit')} to quit.")
        if self.screener.session.role == Role.ADJUDICATOR:
            done = ("You resolve the conflicts: press "
                    f"{keys.key('conflicts')} to list them, {keys.key('browse')} to browse, "
                    f"{keys.key('quit')} to quit.")
        card = self.query_one(RecordCard)
        if (self.record and self.record.id) != (card.record and card.record.id):
            # counted from the frame that shows it (`on_record_card_drawn`), not from here:
            # under load the drawing took longer than min_view_s, and keys sent while the
            # screen still showed the record before decided this one, never seen
            self.shown_at = self.clock()
            self._drawing = self.record.id if self.record else None
        card.show(self.record, self._context_line(), empty=done, heading=self._heading())
        self.show_status()
        has_record = self.record is not None
        can_go_back = self._can_go_back()
        if (self.screener.session.role == Role.ADJUDICATOR or has_record != self._had_record
                or can_go_back != self._could_go_back):
            # the decision keys show while there is a record; the adjudicator's undo key
            # while a mark can be taken back; Esc while it goes back to the queue
            self._had_record = has_record
            self._could_go_back = can_go_back
            self.refresh_bindings()
            self.query_one(DecisionBar).offer(
                {a for a in SCREEN_ACTIONS if self.check_action(a, ())})

    def on_record_card_drawn(self, message: RecordCard.Drawn) -> None:
        """The record is on screen: its time there starts now."""
        if self._drawing is not None and self._drawing == message.record_id:
            self._drawing = None
            if self.shown_at:  # (0.0: brought back by undo, read before)
                self.shown_at = self.clock()

    def _queued(self) -> bool:
        """The record shown out of order (from browse or search) is one the queue still
        offers: undecided by this reviewer."""
        record = self.record
        return (self.revisit and record is not None and record.id is not None
                and record.id not in self.mine
                and record.id in self.screener.session.queue.ids)

    def show_status(self) -> None:
        """The side panel's figures; with the panel hidden (`p`), the essentials on the
        record card's lower border instead."""
        if self.progress is None:
            return
        progress = self.progress
        brief = ""
        if self.screener.has_class("-no-side") and self.screener.session.role != Role.ADJUDICATOR:
            brief = f"Screened {progress.screened:,} of {progress.own_total:,} · includes " \
                    f"{progress.includes:,}"
            if progress.stage == Stage.TITLE_ABSTRACT and progress.criteria_met:
                brief += " · stopping rule met"
            elif progress.stage == Stage.TITLE_ABSTRACT and progress.checklist:
                brief += " · stopping rule not met"  # (as the panel: once computed)
        card = self.query_one(RecordCard)
        if card.border_subtitle != brief:
            card.border_subtitle = brief
        item = self.item
        self.query_one(StatusPanel).show(
            self.progress, item.rank_position if item else None, item.score if item else None,
            self.screener.review.protocol.stopping.consecutive_irrelevant,
            item.basis if item else "", revisit=self.revisit, queued=self._queued(),
            adjudicator=self.screener.session.role == Role.ADJUDICATOR,
            figures_of=self._figures_of, closed=self._closed_to_me)

    # -- deciding -----------------------------------------------------------------------
    def decide(self, label: Label, reason_id: str | None = None) -> None:
        record = self.record
        if record is None or record.id is None:
            self.notify("No record to decide on", severity="warning")
            return
        app = self.screener
        try:
            decision = app.session.decide(record.id, label, reason_id=reason_id, note=self.note,
                                          repeat_ok=True)
        except NothingChanged:  # as it stands (opened again): no second row, on as after one
            self.notify(f"already {DECIDED_AS[label]}; nothing changed")
            self.notes.pop(record.id, None)  # (it stands with the decision)
            self.show_next()
            return
        except RecordTaken as exc:  # settled elsewhere while on screen: on to the next one
            self.notify(str(exc), title="Not saved", severity="warning")
            self.mine = app.initial_decisions()
            self.show_next()
            self.after_change()
            return
        except USER_ERRORS as exc:
            self.notify(not_saved(exc), title="Not saved", severity="error",
                        timeout=15 if isinstance(exc, ProtocolAmended) else 10)
            self.follow_protocol()
            return
        previous = self.mine.get(record.id)
        self.mine[record.id] = decision
        self.notes.pop(record.id, None)  # it went with the decision
        self._count(previous, decision)
        self.show_next()
        self.after_change()

    def decide_checked(self, label: Label, reason_id: str | None = None) -> None:
        """`decide`; but on a record opened again (from browse) once reconciliation has
        begun at the stage, a change that undoes an agreed outcome (a new conflict, the
        record out of full text, a decision counted as unblinded) is stored only once the
        reviewer says yes to a dialog that says what it will do."""
        app = self.screener
        record = self.record
        warning = None
        if self.revisit and record is not None and record.id is not None:
            try:
                warning = change_after_reconciliation(app.review, record.id, app.reviewer,
                                                      app.stage, label, reason_id)
            except USER_ERRORS:
                warning = None  # (decide says what is wrong)
        if not warning or record is None:
            self.decide(label, reason_id)
            return
        record_id = record.id

        def answered(yes: bool | None) -> None:
            if not yes:
                self.notify(f"Not stored: your decision on record {record_id} stands")
            elif self.record is not None and self.record.id == record_id:
                self.decide(label, reason_id)

        self.app.push_screen(ConfirmScreen(
            "Change an agreed decision?", f"{warning} Store your {label.value}?",
            enter_is_yes=False, hint="y: store it · n / Esc / Enter: keep your decision"),
            answered)

    def _count(self, previous: Decision | None, decision: Decision | None) -> None:
        """Update the status counts in place (the full progress follows from a worker)."""
        p = self.progress
        if p is None:
            return
        if self._figures_of is None:  # the statistics shown stay those of this count
            self._figures_of = p.screened
        screened = p.screened + (decision is not None) - (previous is not None)
        includes = (p.includes + (decision is not None and decision.label == Label.INCLUDE)
                    - (previous is not None and previous.label == Label.INCLUDE))
        maybes = (p.maybes + (decision is not None and decision.label == Label.MAYBE)
                  - (previous is not None and previous.label == Label.MAYBE))
        curve = p.recall_curve
        since = p.consecutive_irrelevant
        if decision is not None and previous is None:
            curve = (*curve, includes)
            since = 0 if decision.label in POSSIBLY_RELEVANT else since + 1
        # the SAFE line's irrelevant run follows at once, as the run itself does (the rest of
        # the statistics follow from the worker)
        need = self.screener.review.protocol.stopping.consecutive_irrelevant
        checklist = tuple(
            replace(item, value=at_least(since, need), passed=since >= need)
            if item.name == "consecutive irrelevant" else item for item in p.checklist)
        counted_since = p.screened_since + (bool(p.added_since_start) and decision is not None
                                            and previous is None)
        self.progress = replace(p, screened=screened, includes=includes, maybes=maybes,
                                recall_curve=curve, consecutive_irrelevant=since,
                                checklist=checklist, screened_since=counted_since)

    def after_change(self) -> None:
        """Start the background work a decision calls for.

        With `background_delay` > 0, re-ranking starts once the reviewer has paused that
        long and the full progress (stopping statistics; heavy on big reviews) once they
        have paused `progress_delay`; a burst of quick decisions starts one of each, not
        one per key (worker threads share the interpreter with the UI thread). The counts
        in the status panel are updated at once regardless.
        """
        app = self.screener
        app.idle_gc.activity()
        self.follow_protocol()
        if app.background_delay <= 0:
            self._start_ranking()
            self.refresh_progress()
            return
        for timer in (self._ranking_timer, self._progress_timer):
            if timer is not None:
                timer.stop()
        self._ranking_timer = self.set_timer(app.background_delay, self._start_ranking)
        self._progress_timer = self.set_timer(max(app.progress_delay, app.background_delay),
                                              self.refresh_progress)

    def follow_protocol(self) -> None:
        """Show the protocol version in force when another process amended it (a decision
        or undo read it): the title, criteria and reasons, the marked terms and the keys; the
        stopping figures are recomputed under its rule (dashes meanwhile). Decisions are
        refused until the screen shows it (`ScreeningSession.shown_protocol`)."""
        app = self.screener
        session, review = app.session, app.review
        if session.shown_protocol is None or session.shown_protocol == review.protocol_hash:
            return
        session.shown_protocol = review.protocol_hash
        app.title = review.protocol.title
        self.query_one(RecordCard).follow(review.protocol)
        self.query_one(CriteriaPanel).show(review.protocol)
        app.follow_protocol_keys()
        if self.progress is not None:  # the old rule's figures: dashes until recomputed
            self.progress = without_stopping(self.progress)
            self._figures_of = None
            self.show_status()
        self.refresh_progress()
        self.notify(f"The protocol was amended: version {review.protocol_version} is in "
                    "force. Its criteria, exclusion reasons, highlighted terms, keys and "
                    "stopping rule are shown from now on.", title="Protocol amended", timeout=15)

    def catch_up(self) -> None:
        """Take up an amendment made in another process, if any, and show it."""
        try:
            if catch_up_with_amendments(self.screener.review):
                self.follow_protocol()
        except USER_ERRORS:
            pass  # (the database is unreachable: the next decision will say so)

    def look_for_amendment(self) -> None:
        """Every `protocol_check_s`: whether another shell amended the protocol, in a worker
        (a read may wait on a remote database), one look at a time. Found, the screen
        follows it as a decision key would have: the panel's stopping figures, criteria and
        reasons are those in force while the reviewer only reads. Not while a dialog, browse
        or the conflicts list is up: a reason dialog keeps offering what it offered, and the
        decision it gives is checked (refused after an amendment) as before."""
        if self._on_top() and not any(w.group == "protocol-check" and not w.is_finished
                                      for w in self.app.workers):
            self._look_for_amendment()

    def _on_top(self) -> bool:
        """This screen is the one shown, no dialog over it (False while the app closes)."""
        try:
            return self.app.screen is self
        except ScreenStackError:  # no screen left: the app is closing
            return False

    @work(thread=True, group="protocol-check")
    def _look_for_amendment(self) -> None:
        """Also whether others decided since the figures were computed (an idle UI's
        stopping panel said "Stopping rule met" or "not met" long after it stopped holding)."""
        try:
            amended = amended_elsewhere(self.screener.review)
            head = decision_head(self.screener.review)
        except Exception:  # noqa: BLE001 - a failed look changes nothing; decisions check
            return
        if amended:
            self.post_message(AmendedElsewhere())
        elif self._figures_head is not None and head != self._figures_head:
            self.post_message(DecidedElsewhere(head))

    def on_decided_elsewhere(self, message: DecidedElsewhere) -> None:
        """Recompute the figures, unless a computation is running or waiting (after the
        reviewer's own decision), which will read the new head itself."""
        if message.head == self._figures_head or self._progress_timer is not None:
            return
        self._figures_head = message.head  # (one recomputation per move, even if it fails)
        self.refresh_progress()

    def on_amended_elsewhere(self, message: AmendedElsewhere) -> None:
        if self._on_top():  # (a dialog opened meanwhile: the next look finds it again)
            self.catch_up()

    def _start_ranking(self) -> None:
        self._ranking_timer = None
        if self.screener.stage == Stage.TITLE_ABSTRACT:
            self.request_ranking()

    # -- actions (key bindings and buttons) ---------------------------------------------
    def _too_soon(self) -> bool:
        """True (and the reviewer told, once per record and reason) when a decision key comes
        within `min_view_s` of the record appearing: a key held down or pressed twice."""
        record = self.record
        if record is None or record.id is None or self.screener.min_view_s <= 0:
            return False
        drawn = self._drawing != record.id
        seen = self.clock() - self.shown_at
        if drawn and seen >= self.screener.min_view_s:
            return False
        reason = "seen" if drawn else "drawing"
        if not drawn and not self.query_one(RecordCard).scrollable_content_region.height:
            reason = "small"  # (a card with no rows is never drawn: no line is asked of it)
        if self._too_soon_told != (record.id, reason):
            self._too_soon_told = (record.id, reason)
            said = {"seen": f"was on screen for only {seen * 1000:.0f} ms (a key held down or "
                            "pressed twice?). Read it, then decide",
                    "drawing": "was not on screen yet (still being drawn). Read it, then decide",
                    "small": "is not on screen: the window is too small to show the record. "
                             "Enlarge it, read the record, then decide"}[reason]
            self.notify(f"Not saved: record {record.id} {said}.",
                        title="Key not taken", severity="warning", timeout=4)
        return True

    def action_include(self) -> None:
        if not self._too_soon():
            self.decide_checked(Label.INCLUDE)

    def action_maybe(self) -> None:
        if self.screener.stage == Stage.FULL_TEXT:
            self.notify("Maybe is for title/abstract; at full text include or exclude")
            return
        if not self._too_soon():
            self.decide_checked(Label.MAYBE)

    @opens_dialog
    async def action_exclude(self) -> None:
        if self.record is None:
            self.notify("No record to decide on", severity="warning")
            return
        if self._too_soon():
            return
        self.catch_up()  # the reasons offered are those in force (an amendment elsewhere)
        protocol = self.screener.review.protocol
        required = (self.screener.stage == Stage.FULL_TEXT
                    or protocol.screening.reason_required_at_title_abstract)
        if not protocol.exclusion_reasons:
            self.decide_checked(Label.EXCLUDE)
            return
        record_id = self.record.id

        def chosen(choice: ReasonChoice | None) -> None:
            if choice is None:
                self.notify("Exclusion cancelled")
            elif self.record is not None and self.record.id == record_id:
                self.decide_checked(Label.EXCLUDE, choice.reason_id)

        # Awaited: the keys held meanwhile are given to the dialog once it is up.
        await self.push_dialog(ReasonScreen(protocol.exclusion_reasons, required), chosen)

    @opens_dialog
    async def action_note(self) -> None:
        if self.record is None:
            return

        record_id = self.record.id

        def written(note: str | None) -> None:
            if note is not None and record_id is not None:
                self._keep_note(record_id, note)
                self.query_one(RecordCard).show(self.record, self._context_line(),
                                                heading=self._heading())

        await self.push_dialog(NoteScreen(self.note, record_id=record_id), written)

    def action_undo(self) -> None:
        app = self.screener
        try:
            record = app.session.undo()
        except USER_ERRORS as exc:  # e.g. the adjudicator resolved the record meanwhile
            self.notify(not_saved(exc), title="Not undone", severity="error", timeout=10)
            return
        if record is None or record.id is None:
            self.notify("Nothing to undo")
            return
        if app.session.undid_mark:
            if self.progress is not None:
                self.progress = replace(self.progress, total=self.progress.total + 1)
            self._show_undone(record)
            self.notify(f"Record {record.id}: full text sought again (the mark is taken back)")
            self.after_change()
            return
        previous = self.mine.pop(record.id, None)
        restored = app.session.restored  # the decision the undone one had replaced
        if restored is not None:
            self.mine[record.id] = restored
        self._count(previous, restored)
        if self.progress is not None and previous is not None and restored is None:
            self.progress = replace(self.progress, recall_curve=self.progress.recall_curve[:-1])
        # the undone decision's note waits for the next decision, as before it was made
        undone = app.session.undone
        if undone is not None and undone.note and record.id not in self.notes:
            self._keep_note(record.id, undone.note)
        self._undone = undone
        self._show_undone(record)
        if restored is not None:
            self.notify(f"Undid your change on record {record.id}: your earlier decision "
                        f"({restored.label.value}) stands again")
            self.after_change()
            return
        self.notify(f"Undid your decision on record {record.id}")
        self.after_change()

    def _show_undone(self, record: Record) -> None:
        """Show the record undo brought back: from the head of the queue, where undo put
        it, or as a revisited record when the queue does not offer it (the adjudicator's,
        opened from browse)."""
        item = self.screener.session.next()
        if item is not None and item.record.id == record.id:
            self.item, self.record, self.revisit = item, item.record, False
            self._show()
        else:
            self.show_record(record)
        self.shown_at = 0.0  # read before: deciding again at once is no slip

    def action_fulltext_not_retrieved(self) -> None:
        app = self.screener
        record = self.record
        if app.stage != Stage.FULL_TEXT or record is None or record.id is None:
            return
        if self._too_soon():
            return
        try:
            app.session.mark_not_retrieved(record.id)
        except RecordTaken as exc:  # marked by someone else while on screen: move on
            self.notify(str(exc), title="Not saved", severity="warning")
            self.show_next()
            self.after_change()
            return
        except USER_ERRORS as exc:
            self.notify(not_saved(exc), title="Not saved", severity="error")
            return
        if self.progress is not None:
            self.progress = replace(self.progress, total=max(self.progress.total - 1, 0))
        self.notify(f"Record {record.id}: full text marked not retrieved (u takes it back)")
        self.show_next()
        self.after_change()

    @opens_dialog
    async def action_browse(self, search: bool = False) -> None:
        app = self.screener

        def opened(record_id: int | None) -> None:
            if record_id is None:
                return
            try:
                record = get_record(app.review, record_id)
            except USER_ERRORS as exc:
                self.notify(str(exc), severity="error")
                return
            if record is not None:
                self._undone = None
                self._refresh_mine()
                self.show_record(record)

        browser = BrowseScreen(app.review, app.reviewer, app.stage, search=search,
                               which=BrowseFilter.ALL if search else self._browse_filter)

        def closed(record_id: int | None) -> None:
            self._browse_filter = browser.which
            opened(record_id)

        await self.app.push_screen(browser, closed)

    def _refresh_mine(self) -> None:
        """Read the reviewer's decisions again: they may have decided elsewhere meanwhile
        (`screener decide`, a second window), which browse lists and the card must say."""
        app = self.screener
        fresh = app.initial_decisions()
        if {k: d.id for k, d in fresh.items()} != {k: d.id for k, d in self.mine.items()}:
            self.mine = fresh
            self.progress = app.initial_progress(fresh)
            self.show_status()
            self.after_change()

    @opens_dialog
    async def action_search(self) -> None:
        await self.action_browse(search=True)

    @opens_dialog
    async def action_conflicts(self) -> None:
        """Open the conflicts screen; a reviewer who may not list them gets the reason, and
        so does one in single screening, where no record can be in conflict."""
        app = self.screener
        try:
            if not conflicts_can_arise(app.review, app.stage):
                self.notify("Single screening: each record is settled by one screener's "
                            f"decision, so there are no conflicts at {app.stage.label}",
                            title="Conflicts", timeout=8)
                return
            if not app.reconciles:
                # (in a blind review before anyone decided it opened an empty list, later
                # it said why not with the stage's id: one message, in words, always)
                adjudicator = app.review.protocol.screening.adjudicator
                who = f"the adjudicator ({adjudicator})" if adjudicator else "the adjudicator"
                self.notify(f"Conflicts at {app.stage.label} are resolved by {who}, who lists "
                            f"them with {app.keymap.key('conflicts')} on their screen; screeners "
                            "are not shown them", title="Conflicts", timeout=8)
                return
            open_records = blinding_ends_on_listing(app.review, app.stage, app.reviewer)
        except USER_ERRORS as exc:
            self.notify(str(exc), title="Conflicts", severity="warning", timeout=8)
            return
        if open_records is not None:
            async def answered(yes: bool | None) -> None:
                if yes:
                    await self._open_conflicts()

            await self.app.push_screen(ConfirmScreen(
                "End blinding?",
                f"Listing the conflicts starts reconciliation at {app.stage.label}: from "
                "then on every reviewer can see the others' decisions there in `screener "
                "status` and `screener agreement`, and in the exported decision log and the "
                "report once no stage is blind (the screening screen and browse still show "
                "each screener only their own)"
                + (f", including on the {counted(open_records, 'record')} not yet screened by all "
                   "their reviewers" if open_records else "")
                + ". The methods text will report decisions made after this. List them?"),
                answered)
            return
        await self._open_conflicts()

    async def _open_conflicts(self) -> None:
        app = self.screener
        try:
            conflicts = list_conflicts(app.review, app.stage, app.reviewer)
        except USER_ERRORS as exc:  # BlindingError, ReviewError: not allowed / no stage
            self.notify(str(exc), title="Conflicts", severity="warning", timeout=8)
            return
        def closed(_: None) -> None:
            # resolutions are decisions too: the counts and the queue follow them
            self.mine = app.initial_decisions()
            self.progress = app.initial_progress(self.mine)
            self.show_status()
            self.after_change()

        await self.app.push_screen(
            ConflictsScreen(app.review, app.reviewer, app.stage, conflicts), closed)

    async def on_decision_bar_action_picked(self, message: DecisionBar.ActionPicked) -> None:
        await self.run_action(message.action)

    # -- background work ----------------------------------------------------------------
    def request_ranking(self) -> None:
        """Re-rank after a decision; while one runs, ask for one more when it ends."""
        if self._ranking_disabled:
            return
        if self._ranking_running:
            self._ranking_stale = True
            return
        self._ranking_running = True
        self._ranking_stale = False
        self._rank()

    @work(thread=True, exclusive=True, group="ranking")
    def _rank(self) -> None:
        app = self.screener
        worker = get_current_worker()
        try:
            update = app.ranker(app.review, app.reviewer)
        except BaseException as exc:  # noqa: BLE001 - reported, never crashes the app
            self.post_message(RankingFailed(exc))
            return
        if not worker.is_cancelled:
            self.post_message(RankingArrived(update))

    def on_ranking_arrived(self, message: RankingArrived) -> None:
        self.screener.session.use_queue(message.update.queue)
        self.screener.post_message(self.screener.RankingApplied(message.update))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Start the follow-up run only once the previous worker has finished for good
        (so `exclusive` never cancels a worker that already delivered its result)."""
        if event.state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        if event.worker.group == "ranking":
            self._ranking_running = False
            if self._ranking_stale:
                self.request_ranking()
        elif event.worker.group == "progress":
            self._progress_running = False
            if self._progress_stale:
                self._progress_stale = False
                self._progress_running = True
                self._compute_progress(self._generation)

    def on_ranking_failed(self, message: RankingFailed) -> None:
        error = message.error
        if isinstance(error, ImportError):
            self._ranking_disabled = True
            self.notify(f"Re-ranking is not available ({error}); records stay in their "
                        "current order", title="Ranking", severity="warning")
            return
        self.notify(error_text(error), title="Re-ranking failed",
                    severity="error")

    def refresh_progress(self) -> None:
        """Recompute the full progress in a worker; while one runs, one more follows it."""
        self._progress_timer = None
        self._generation += 1
        if self._progress_running:
            self._progress_stale = True
            return
        self._progress_running = True
        self._progress_stale = False
        self._compute_progress(self._generation)

    @work(thread=True, exclusive=True, group="progress")
    def _compute_progress(self, generation: int) -> None:
        app = self.screener
        try:
            head = decision_head(app.review)  # (before: a decision meanwhile moves it on)
            progress = app.progress_fn(app.review, app.reviewer, app.stage)
        except Exception as exc:  # noqa: BLE001 - reported, never crashes the app
            self.post_message(ProgressFailed(exc))
            return
        self.post_message(ProgressComputed(progress, generation, head))

    def on_progress_computed(self, message: ProgressComputed) -> None:
        if message.generation == self._generation:
            self.progress = message.progress
            self._figures_head = message.head
            self.screener.session.follow_progress(message.progress.criteria_met)
            self._figures_of = None
            self.show_status()

    def on_progress_failed(self, message: ProgressFailed) -> None:
        self.notify(error_text(message.error), title="Progress unavailable",
                    severity="warning")
