"""The screening app: `ScreenerApp` and `run_app` (called by `screener screen` and `demo`).

Services come in through the constructor so tests build an app around a temporary review
and a fake ranker without patching globals:

- `ranker(review, reviewer) -> RankingUpdate` re-ranks; it is called in a thread worker.
  Default: `ProcessRanker`, which sends the request to a child process
  (`screener.workflow.ranker_process`) and waits without holding the interpreter lock,
  falling back to `screener.workflow.ranking.refresh_ranking` in the thread.
- `progress_fn(review, reviewer, stage) -> Progress` computes the status panel (default:
  `screener.workflow.browse.panel_progress`); also in a thread worker.
- `keymap` (default: protocol keys, then the user's keys.yaml; see `screener.tui.keys`).
- `theme`: 'dark' or 'light'; default: the theme the reviewer last chose with `t`, kept in
  `settings_file` (default: the user's ui.json; see `screener.tui.settings`).
- `rank_on_open`: start a ranking when the review has none yet (the cold start) or the latest
  one predates records imported since.
- `background_delay` / `progress_delay`: re-ranking and the full progress start once the
  reviewer pauses this long after a decision (tests use 0: at once).
- `protocol_check_s`: how often the screen looks for a protocol amendment made in another
  shell (a worker reads the latest version's hash; default `PROTOCOL_CHECK_S`).
- `gc_idle_seconds`: full garbage collections run when the reviewer pauses this long
  (`screener.tui.idle_gc`), not between a key and the next record (`run_app` sets
  `GC_IDLE_S`; None, the default here for scripted use, leaves them to Python: the idle
  collector's first full collection walks the whole process, which in a test process
  holding the whole suite took 0.3 s of CPU for each app started).

Must not import screener.storage or sqlalchemy: the database is reached through
`screener.workflow` only.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from textual.binding import Binding
from textual.filter import LineFilter
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen

from screener.core.decisions import Decision, Role, Stage
from screener.core.paths import escaped_bytes
from screener.core.protocol import Resolution
from screener.tui.dialogs import MIN_VIEW_S, ConfirmScreen, GatedKeysApp, HelpScreen
from screener.tui.idle_gc import GC_IDLE_S, IdleCollector
from screener.tui.keys import DEFAULT_KEYS, DESCRIPTIONS, KeyMap, binding_key, load_keymap
from screener.tui.screening import ScreeningScreen
from screener.tui.settings import (
    THEMES,
    save_setting,
    saved_side_panel,
    saved_theme,
    ui_settings_path,
)
from screener.tui.terminal import BidiControlFilter, terminal_gone
from screener.workflow.browse import my_decisions, panel_progress
from screener.workflow.drafts import (
    SCREENING,
    drafts_paths,
    keep_drafts_somewhere,
    take_drafts,
)
from screener.workflow.progress import Progress, from_labels
from screener.workflow.ranker_process import RankerProcess, RankerUnavailable, prepare
from screener.workflow.ranking import RankingUpdate
from screener.workflow.review import Review
from screener.workflow.screening import ScreeningSession

Ranker = Callable[[Review, str], RankingUpdate]
ProgressFn = Callable[[Review, str, Stage], Progress]

WARM_UP_DELAY = 1.0
"""Seconds after opening before the ranking process is started (unless a re-ranking is
asked for sooner), so the first record is not slowed by it."""


PROTOCOL_CHECK_S = 5.0
"""Seconds between two looks for a protocol amendment made elsewhere (one small read)."""

TERMINAL_CHECK_S = 2.0
"""Seconds between two looks at whether the terminal has hung up unsignalled (`terminal_gone`)."""


def default_ranker(review: Review, reviewer: str) -> RankingUpdate:
    """Re-rank in this process (imported on first use, in the worker thread)."""
    from screener.workflow.ranking import refresh_ranking

    return refresh_ranking(review, reviewer)


class ProcessRanker:
    """The app's default ranker: `RankerProcess` (a child process, so re-ranking never
    holds this process's interpreter lock), started on first use or by `warm_up`; when the
    child cannot start, re-ranking runs in the worker thread as before (`fallback_reason`
    says why)."""

    def __init__(self, review: Review) -> None:
        self.review = review
        self.process: RankerProcess | None = None
        self.fallback_reason = ""
        self._lock = threading.Lock()
        self._closed = False
        prepare()

    def warm_up(self) -> None:
        with self._lock:
            if self.process is not None or self.fallback_reason or self._closed:
                return
            process = RankerProcess(self.review)
            try:
                process.start()
            except RankerUnavailable as exc:
                self.fallback_reason = str(exc)
                return
            if self._closed:
                process.close()
                return
            self.process = process
            # The child holds the features; this process need not keep a copy.
            from screener.workflow.ranking import forget_features

            forget_features()

    def __call__(self, review: Review, reviewer: str) -> RankingUpdate:
        if self._closed:
            raise RankerUnavailable("the app is closing")
        self.warm_up()
        process = self.process
        if process is None:
            return default_ranker(review, reviewer)
        try:
            return process(review, reviewer)
        except RankerUnavailable as exc:
            if self._closed:
                raise
            self.fallback_reason = str(exc)
            self.process = None
            return default_ranker(review, reviewer)

    def close(self) -> None:
        """End the child; a child still starting is ended by `warm_up` when it is up."""
        self._closed = True
        process, self.process = self.process, None
        if process is not None:
            process.close()


class ScreenerApp(GatedKeysApp):
    """Screen one review as one reviewer at one stage."""

    CSS_PATH = "screener.tcss"
    ENABLE_COMMAND_PALETTE = False
    HORIZONTAL_BREAKPOINTS = [(0, "-compact"), (72, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (20, "-tall")]
    BINDINGS = [Binding(binding_key(DEFAULT_KEYS[a]), a, DESCRIPTIONS[a], id=a,
                        key_display=DEFAULT_KEYS[a], show=a not in ("theme", "panel"))
                for a in ("help", "quit", "theme", "panel")]

    class RankingApplied(Message):
        """A new ranking is now the order of the queue (tests and benchmarks wait on it)."""

        def __init__(self, update: RankingUpdate) -> None:
            super().__init__()
            self.update = update

    def __init__(self, review: Review, reviewer: str, stage: Stage | str = Stage.TITLE_ABSTRACT,
                 *, ranker: Ranker | None = None, progress_fn: ProgressFn | None = None,
                 keymap: KeyMap | None = None, user_keys_file: Path | None = None,
                 theme: str | None = None, settings_file: Path | None = None,
                 session: ScreeningSession | None = None,
                 background_delay: float = 0.15, progress_delay: float = 1.0,
                 rank_on_open: bool | None = None, gc_idle_seconds: float | None = None,
                 min_view_s: float = 0.0, quit_on_signals: bool = False,
                 protocol_check_s: float = PROTOCOL_CHECK_S) -> None:
        super().__init__()
        self.review = review
        self.stage = Stage(stage)
        self.session = session or ScreeningSession(review, reviewer, self.stage)
        self.reviewer = self.session.reviewer
        self.process_ranker = ProcessRanker(review) if ranker is None else None
        self.ranker: Ranker = ranker or self.process_ranker or default_ranker
        self.progress_fn: ProgressFn = progress_fn or panel_progress
        self.keymap = keymap or load_keymap(review.protocol.keys, user_keys_file)
        self._keymap_given = keymap is not None
        self.user_keys_file = user_keys_file
        self.session.shown_protocol = review.protocol_hash
        self.background_delay = background_delay
        """Seconds of pause after a decision before re-ranking starts (0: at once, and
        progress too)."""
        self.progress_delay = progress_delay
        """Seconds of pause before the full progress (stopping statistics) is recomputed."""
        self.rank_on_open = ranker is None if rank_on_open is None else rank_on_open
        """Rank at once when the screen opens on a review with no ranking yet (cold start:
        similarity to the protocol), rather than after the first decision. Default: with
        the default ranker only."""
        self.min_view_s = min_view_s
        """Seconds a record is on screen before a decision key takes effect: a key held
        down or bounced must not decide a record nobody read (`run_app` sets `MIN_VIEW_S`;
        0, the default here, for scripted use)."""
        self.quit_on_signals = quit_on_signals
        """Quit on SIGTERM and SIGHUP as on the quit key (`run_app` sets it; the command
        line turns them into Ctrl-C, which must not be raised in the middle of the app)."""
        self.protocol_check_s = protocol_check_s
        """Seconds between two looks for an amendment made in another shell (0: none): the
        screen follows it while the reviewer only reads, not at the next decision key."""
        self.rankings_applied = 0
        """How many re-rankings have been applied (for tests and the benchmark)."""
        self.gc_idle_seconds = gc_idle_seconds
        self.idle_gc = IdleCollector(self.set_timer, gc_idle_seconds or GC_IDLE_S,
                                     after_frame=self.call_after_refresh)
        self.title = review.protocol.title  # the protocol in force (an amendment may retitle)
        self.sub_title = f"{self.reviewer} · {self.stage.label}"
        self.settings_file = settings_file or ui_settings_path()
        theme = theme or saved_theme(self.settings_file)
        if theme is not None:
            self.theme = THEMES.get(theme, theme)
        self.set_class(not saved_side_panel(self.settings_file), "-no-side")
        self.drafts_files = drafts_paths(review, self.settings_file.parent)
        """Where notes not yet stored with a decision are kept when the UI is closed from
        outside (`quit_on_signals`), for the next session: the review folder's file, else
        the one beside `settings_file` (given back from either)."""
        self.exit_notes: list[str] = []
        """What to say on stderr once the UI has quit (`run_app`): Textual holds stderr
        while it runs."""
        self.stopped_by: BaseException | None = None
        """The error the UI could not open on (`stop_on`), raised by `run_app` once it has
        closed."""
        self.bidi_filter = BidiControlFilter()
        """One instance for the app's life: Textual keeps each line's filtered form by filter."""

    def get_line_filters(self) -> list[LineFilter]:
        """Textual's filters (colours), then `BidiControlFilter`: a bidirectional control
        in a record's text never reaches the terminal, wherever the text is shown."""
        return [*super().get_line_filters(), self.bidi_filter]

    def get_default_screen(self) -> Screen[None]:
        return ScreeningScreen()

    def on_mount(self) -> None:
        if self.gc_idle_seconds is not None:  # once the first record is on screen
            self.call_after_refresh(self.idle_gc.start)
        if self.process_ranker is not None and self.stage == Stage.TITLE_ABSTRACT:
            # After the first record is on screen: starting the child costs CPU.
            self.set_timer(WARM_UP_DELAY, self._warm_up)
        self.apply_keymap()
        from screener.workflow.importing import dedup_note

        waiting = dedup_note(self.review)  # an update search imported, not deduplicated
        if waiting:
            self.notify(waiting, title="Not deduplicated", severity="warning", timeout=15)
        from screener.workflow.review import (
            network_drive_note,
            other_copies,
            other_copies_note,
            protocol_copy_note,
        )

        for title, said in (("Another copy of the review",
                             other_copies_note(other_copies(self.review))),
                            ("Network drive", network_drive_note(self.review)),
                            ("Protocol file", protocol_copy_note(self.review))):
            if said:
                self.notify(said, title=title, severity="warning", timeout=20)
        if self.quit_on_signals:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGHUP):
                if signal.getsignal(signum) is not signal.SIG_IGN:  # (nohup: stays ignored)
                    loop.add_signal_handler(signum, self.closed_from_outside)
            self.set_interval(TERMINAL_CHECK_S, self._check_terminal)

    def _check_terminal(self) -> None:
        """Quit as on SIGHUP once the terminal has hung up without one (SIGHUP ignored): an
        orphaned UI kept a core busy for hours and its review open (a tester's run)."""
        if terminal_gone():
            self.closed_from_outside()

    def closed_from_outside(self) -> None:
        """Quit on SIGHUP (the terminal closed) or SIGTERM, where nobody can be asked: the
        notes not yet stored with a decision, the one being typed too, are kept in
        `drafts_files` and given back next time (`take_drafts`)."""
        for place, notes in self.unsaved_notes_by_place().items():
            said = keep_drafts_somewhere(self.drafts_files, self.review, self.reviewer,
                                         self.stage, notes, place)
            if said:  # (the review folder could not take them; a terminal log keeps it)
                self.exit_notes.append(said)
        self.exit()

    def stop_on(self, error: BaseException) -> None:
        """Close the UI, which cannot go on because of `error` (a database refusing the
        account, a server lost): `run_app` raises it once the terminal is given back, for
        the command to say it as it says any error, without a traceback."""
        self.stopped_by = error
        self.exit()

    def take_drafts(self, place: str = SCREENING) -> dict[int, str]:
        """The notes kept when the UI was last closed from outside, typed on the screen
        `place` (`drafts_place`), said in a message."""
        notes: dict[int, str] = {}
        for path in reversed(self.drafts_files):  # (the review folder's first)
            notes.update(take_drafts(path, self.review, self.reviewer, self.stage, place))
        if notes:
            records = ", ".join(str(record_id) for record_id in sorted(notes))
            waits = ("decision on its record" if place == SCREENING
                     else "resolution of its conflict")
            self.notify(f"{'A note' if len(notes) == 1 else f'{len(notes)} notes'} you had not "
                        f"saved when screening was closed (record{'s' * (len(notes) > 1)} "
                        f"{records}) {'waits' if len(notes) == 1 else 'wait'} for your next "
                        f"{waits}, as before", title="Notes kept", timeout=15)
        return notes

    def apply_keymap(self) -> None:
        self.set_keymap({action: key for action, key in self.keymap.keys.items()
                         if key != DEFAULT_KEYS[action]})
        for problem in self.keymap.problems:
            self.notify(problem, title="Key map", severity="warning", timeout=10)

    def follow_protocol_keys(self) -> None:
        """Bind the keys of the protocol in force (after an amendment; the user's keys.yaml
        still wins), unless the app was given its key map."""
        if not self._keymap_given:
            self.keymap = load_keymap(self.review.protocol.keys, self.user_keys_file)
            self.apply_keymap()

    def _warm_up(self) -> None:
        if self.process_ranker is not None:
            self.run_worker(self.process_ranker.warm_up, thread=True, group="ranker-start")

    def on_unmount(self) -> None:
        """End the ranking process with the app (a worker waiting on it gets an error), and
        give up the record on screen: others may be offered it at once."""
        from screener.workflow import USER_ERRORS

        self.idle_gc.stop()
        if self.process_ranker is not None:
            self.process_ranker.close()
        try:
            self.session.release()
        except USER_ERRORS:  # (the database is unreachable: the claim lapses by itself)
            pass

    @property
    def screening(self) -> ScreeningScreen:
        screen = self.get_default_screen_instance()
        return screen

    def get_default_screen_instance(self) -> ScreeningScreen:
        for screen in self.screen_stack:
            if isinstance(screen, ScreeningScreen):
                return screen
        raise LookupError("the screening screen is not mounted")

    @property
    def current_record_id(self) -> int | None:
        """Id of the record on screen (None when nothing is left)."""
        record = self.screening.record
        return record.id if record else None

    def initial_decisions(self) -> dict[int, Decision]:
        return my_decisions(self.review, self.reviewer, self.stage)

    def initial_progress(self, mine: dict[int, Decision]) -> Progress:
        """Counts from the reviewer's decisions (`initial_decisions`: in screening order,
        so the irrelevant run is status's); the worker adds stopping statistics."""
        labels = [d.label for d in mine.values()]
        return from_labels(self.reviewer, self.stage, labels, self.session.total)

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """As Textual's, always as plain text: messages quote titles, reviewer names and
        searches, whose square brackets ("[corrected]", "[/]") are not markup. A path's
        bytes that are not UTF-8 are shown as the command line shows them, 'r\\xe9sum\\xe9'
        (`escaped_bytes`), not as Python's stand-ins for them."""
        super().notify(escaped_bytes(message), title=escaped_bytes(title), severity=severity,
                       timeout=timeout, markup=False)

    def on_screener_app_ranking_applied(self, message: RankingApplied) -> None:
        self.rankings_applied += 1

    # -- app-wide actions ---------------------------------------------------------------
    def unsaved_notes(self) -> dict[int, str]:
        """Notes typed on any open screen and not yet stored with a decision."""
        notes: dict[int, str] = {}
        for held in self.unsaved_notes_by_place().values():
            notes.update(held)
        return notes

    def unsaved_notes_by_place(self) -> dict[str, dict[int, str]]:
        """`unsaved_notes` by the screen they were typed on (a screen's `drafts_place`; a
        dialog's notes belong to the screen under it), to be given back there."""
        notes: dict[str, dict[int, str]] = {}
        place = SCREENING
        for screen in self.screen_stack:
            place = getattr(screen, "drafts_place", place)
            held = getattr(screen, "unsaved_notes", None)
            if callable(held):
                notes.setdefault(place, {}).update(held())
        return notes

    async def action_quit(self) -> None:
        """Quit; a note not yet stored with a decision is never lost silently: the
        reviewer is asked first (only y quits; n, Esc or Enter go back to screening)."""
        notes = self.unsaved_notes()
        if not notes:
            self.exit()
            return
        if any(isinstance(screen, ConfirmScreen) and screen.id == "confirm-quit"
               for screen in self.screen_stack):
            return
        record_id, note = next(iter(notes.items()))
        what = (f"record {record_id}: {note!r}" if len(notes) == 1
                else f"{len(notes)} records, e.g. record {record_id}: {note!r}")
        dialog = ConfirmScreen(
            "Quit and lose your note?",
            f"You have a note not saved with a decision ({what}). A note is stored with "
            "your next decision on its record. Quit and lose it?",
            enter_is_yes=False, hint="y: quit, the note is lost · n / Esc / Enter: stay")
        dialog.id = "confirm-quit"

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        await self.push_screen(dialog, answered)

    def action_help_quit(self) -> None:
        """Ctrl+C quits as the quit key does (Textual's default only says to press Ctrl+Q)."""
        self.call_later(self.action_quit)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)
            return
        # the conflicts key only to whom it serves (a screener's says who resolves them)
        keys = {action: key for action, key in self.keymap.keys.items()
                if action != "conflicts" or self.reconciles}
        self.push_screen(HelpScreen(keys, self.sub_title, self.help_notes(),
                                    self.review.protocol.exclusion_reasons))

    @property
    def reconciles(self) -> bool:
        """This reviewer lists and resolves conflicts: the adjudicator, or in consensus
        mode a screener."""
        return (self.session.role == Role.ADJUDICATOR
                or self.review.protocol.screening.resolution == Resolution.CONSENSUS)

    def help_notes(self) -> dict[str, str]:
        """Help's words for the keys that do nothing at this stage or for this reviewer, or
        something else (the adjudicator's decision keys resolve the conflict open)."""
        screening = self.review.protocol.screening
        notes: dict[str, str] = {}
        if self.session.role == Role.ADJUDICATOR:
            notes = {"include": "Resolve the open conflict: include (conflicts list)",
                     "exclude": "Resolve the open conflict: exclude (conflicts list)",
                     "maybe": "Resolve the open conflict: maybe (conflicts list)",
                     "note": "Note with the open conflict's resolution",
                     "undo": "Reopen your last resolution (conflicts list)"
                             + ("; take back a not-retrieved mark" if self.stage == Stage.FULL_TEXT
                                else "")}
        if self.stage == Stage.TITLE_ABSTRACT:
            return {**notes, "fulltext_not_retrieved": "Not retrieved (full-text stage only)"}
        notes["maybe"] = "Maybe (title/abstract only)"
        if (screening.dual and screening.blind
                and self.session.role != Role.ADJUDICATOR):
            notes["fulltext_not_retrieved"] = "Not retrieved (the adjudicator marks reports)"
        return notes

    def action_theme(self) -> None:
        """Switch between dark and light, and keep the choice for the next session."""
        name = "light" if self.theme == THEMES["dark"] else "dark"
        self.theme = THEMES[name]
        problem = save_setting(self.settings_file, "theme", name, "theme")
        if problem:
            self.notify(problem, title="Theme", severity="warning", timeout=8)

    def action_panel(self) -> None:
        """Hide or show the side panel (progress, stopping figures, criteria): a small
        terminal gives the record its width. The choice is kept for the next session."""
        hidden = not self.has_class("-no-side")
        self.set_class(hidden, "-no-side")
        screening = self.screen_stack[0]
        if isinstance(screening, ScreeningScreen):
            screening.show_status()  # the counts move to the card's border, or back
        problem = save_setting(self.settings_file, "side_panel", not hidden, "side panel")
        if problem:
            self.notify(problem, title="Side panel", severity="warning", timeout=8)


def run_app(review: Review, reviewer: str, stage: Stage | str = Stage.TITLE_ABSTRACT,
            theme: str | None = None) -> int:
    """Open the screening UI in this terminal; returns when the reviewer quits, with the
    app's return code (not 0 when it stopped on an error, whose traceback Textual printed).
    An error the UI could not open on (`ScreenerApp.stop_on`) is raised once it has closed."""
    app = ScreenerApp(review, reviewer, stage, theme=theme, min_view_s=MIN_VIEW_S,
                      gc_idle_seconds=GC_IDLE_S, quit_on_signals=True)
    app.run()
    for note in app.exit_notes:
        try:
            print(f"screener: {note}", file=sys.stderr, flush=True)
        except OSError:  # (the terminal is gone)
            pass
    if app.stopped_by is not None:
        raise app.stopped_by
    return app.return_code or 0
