"""Modal dialogs: pick an exclusion reason, write a note, read the help.

Each dialog dismisses with its result; the screening screen decides what it means.
Must not import screener.storage or sqlalchemy.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.css.scalar import Scalar
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from screener.core.protocol import ExclusionReason
from screener.tui.keys import DESCRIPTIONS

_Action = TypeVar("_Action", bound=Callable[..., Awaitable[None]])
ResultT = TypeVar("ResultT")


def opens_dialog(action: _Action) -> _Action:
    """Mark an action of a `HoldsKeysForDialogs` screen that opens a screen on top: the
    keys typed right after its key are held and, once the action is done, given to that
    screen (or back to this one when it opened none)."""

    @functools.wraps(action)
    async def run(self: HoldsKeysForDialogs, *args: Any, **kwargs: Any) -> None:
        try:
            await action(self, *args, **kwargs)
        finally:
            self._unhold()

    run.opens_dialog = True  # type: ignore[attr-defined]
    return cast(_Action, run)


class KeyGate:
    """Holds the keys typed while a dialog opens or closes, and gives them back in the
    order they were typed once none is.

    A dialog opens (from its key until it is up) and closes (from the key that closes it
    until its result has been acted on, e.g. the decision saved and the next record shown,
    and it is gone) over several steps of the event loop. Keys typed meanwhile ("e 3 e 3"
    fast, or over SSH in one terminal read) would otherwise reach a screen that is going
    away or one not yet up, or overtake one another: the app, the screen that opened the
    dialog and the dialog each put such keys here, by the time they were typed, and the
    app replays them when the last hold ends. A hold that is never ended (a bug) is ended
    after `LIMIT_S` seconds, so the keyboard never stays dead."""

    LIMIT_S = 5.0

    def __init__(self, app: GatedKeysApp) -> None:
        self.app = app
        self.holds = 0
        self.keys: list[tuple[float, str, str | None]] = []
        self._limit: Any = None

    @property
    def closed(self) -> bool:
        """True while keys must wait (a hold is on, or held keys are not replayed yet)."""
        return self.holds > 0 or bool(self.keys)

    def hold(self) -> None:
        self.holds += 1
        if self.holds == 1:
            self._limit = self.app.set_timer(self.LIMIT_S, self._overdue)

    def unhold(self) -> None:
        self.holds = max(0, self.holds - 1)
        if self.holds == 0:
            if self._limit is not None:
                self._limit.stop()
                self._limit = None
            self.app.post_message(ReplayKeys())

    def keep(self, event: events.Key) -> None:
        """Hold `event` (stopped: nothing else handles it); with no hold on, it is replayed
        at once, after the keys held before it."""
        event.stop()
        event.prevent_default()
        self.keys.append((event.time, event.key, event.character))
        if not self.holds:
            self.app.post_message(ReplayKeys())

    def _overdue(self) -> None:
        self._limit = None
        if self.holds:
            self.holds = 1
            self.unhold()

    def take(self) -> list[events.Key]:
        """The held keys, oldest first, to be replayed (none while a hold is on)."""
        if self.holds:
            return []
        keys, self.keys = sorted(self.keys), []
        taken = []
        for time, key, character in keys:
            event = events.Key(key, character)
            event.time = time
            taken.append(event)
        return taken


class ReplayKeys(Message):
    """Replay the keys a `KeyGate` held (posted to the app when its last hold ends)."""


class GatedKeysApp(App[Any]):
    """An app whose keys wait in a `KeyGate` while a dialog opens or closes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_gate = KeyGate(self)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            if self.key_gate.closed:
                self.key_gate.keep(event)
                return
            if self._taken_by_screen(event):
                return
        await super().on_event(event)

    async def on_replay_keys(self, _message: ReplayKeys) -> None:
        """Give the held keys to the screens, oldest first, all in this one handler, so no
        key typed later overtakes them. A key that opens a dialog holds the gate again, and
        the keys after it, already on their way, come back to the gate in order."""
        for event in self.key_gate.take():
            if not self._taken_by_screen(event):
                await super().on_event(event)

    def _taken_by_screen(self, event: events.Key) -> bool:
        """True: a screen took the key as typed, or there is no screen left to give it to
        (held keys replayed while the app closes: the key is dropped)."""
        if not self.screen_stack:
            return True
        screen = self.screen
        return isinstance(screen, TakesTypedKeys) and screen.take_typed_key(event)


class TakesTypedKeys(Screen[Any]):
    """Base of a screen that may take a key as it is typed, before any binding or widget
    sees it (`take_typed_key`): the app asks it in the order the keys came, so a key
    typed after it (an Enter, a priority binding) finds what it did done."""

    def take_typed_key(self, event: events.Key) -> bool:
        """True: this key is taken (nothing else gets it)."""
        return False


def _gate(node: Screen[Any]) -> KeyGate | None:
    app = node.app
    return app.key_gate if isinstance(app, GatedKeysApp) else None


class HoldsKeysForDialogs(Screen[Any]):
    """Base of a screen whose actions (marked `opens_dialog`) open dialogs: from the key
    that opens one until it is up, and from the key that closes one until its result has
    been acted on, the keys typed wait in the app's `KeyGate`."""

    def on_key(self, event: events.Key) -> None:
        """Keys typed right after one that opens a dialog (a fast "e 3", or "n" and the
        note, over SSH often in one terminal read) reach this screen before the dialog is
        up. They are held until it is, then given to it, instead of being dropped."""
        gate = _gate(self)
        if not self.is_attached or gate is None:
            return
        if gate.holds or self.app.screen is not self:
            gate.keep(event)  # (a key on its way here when a dialog went up: replayed to it)
            return
        active = self.active_bindings.get(event.key)
        if active is not None and active.enabled and getattr(
                getattr(self, f"action_{active.binding.action}", None), "opens_dialog", False):
            gate.hold()

    def _unhold(self) -> None:
        gate = _gate(self)
        if gate is not None:
            gate.unhold()

    async def push_dialog(self, dialog: Dialog[ResultT],
                          callback: Callable[[ResultT | None], None]) -> None:
        """Open `dialog`; once it is dismissed, the keys typed from then on wait until
        `callback` has acted on its result (e.g. saved the decision and shown the next
        record) and the dialog is gone."""
        dialog.holds_keys = True

        def done(result: ResultT | None) -> None:
            try:
                callback(result)
            finally:
                self._unhold()

        await self.app.push_screen(dialog, done)


@dataclass(frozen=True, slots=True)
class ReasonChoice:
    """The result of the reason dialog: a reason id, or None to exclude without one."""

    reason_id: str | None


class Dialog(ModalScreen[ResultT]):
    """A modal dialog that gives the keys typed right after the one that closes it (a fast
    "Enter i", or "3 m" in the reason dialog, often in one terminal read) to the screen
    below, instead of taking them itself while it is being closed: from its dismissal until
    it is gone they wait in the app's `KeyGate`."""

    _dismissed = False
    holds_keys = False
    """Opened with `push_dialog`: the keys typed after it is dismissed also wait until its
    result has been acted on."""

    def dismiss(self, result: ResultT | None = None) -> AwaitComplete:
        gate = None if self._dismissed else _gate(self)
        self._dismissed = True
        self.set_focus(None)  # an Input would take the next characters before on_key
        if gate is not None:
            gate.hold()  # ended when this dialog is unmounted
            if self.holds_keys:
                gate.hold()  # ended by push_dialog's callback
        return super().dismiss(result)

    def on_key(self, event: events.Key) -> None:
        if self._dismissed:
            self.keep_after(event)

    def keep_after(self, event: events.Key) -> None:
        """A key typed after this dialog was dismissed: for the screen below."""
        gate = _gate(self)
        if gate is not None:
            gate.keep(event)

    def on_unmount(self) -> None:
        # the dialog is off the stack: the screen below gets the keys, in order
        gate = _gate(self) if self._dismissed else None
        if gate is not None:
            gate.unhold()


class ReasonScreen(Dialog[ReasonChoice | None]):
    """Pick an exclusion reason by its key (or arrows + Enter, or the mouse).

    When a reason is not required, Enter (with nothing highlighted) excludes without a
    reason. Escape always cancels the exclusion (an `e` pressed by mistake records nothing).
    Dismisses with None when cancelled.
    """

    BINDINGS = [Binding("escape", "skip", "Cancel")]

    def __init__(self, reasons: tuple[ExclusionReason, ...], required: bool) -> None:
        super().__init__()
        self.reasons = reasons
        self.required = required

    def compose(self) -> ComposeResult:
        with Vertical(id="reason-dialog", classes="dialog"):
            title = "Exclusion reason (required)" if self.required else "Exclusion reason"
            yield Label(title, classes="dialog-title")
            yield OptionList(*[Option(Text.assemble((f"[{r.key}] ", "bold"), r.label), id=r.id)
                               for r in self.reasons], id="reason-list")
            hint = ("Press a reason's key · Esc cancels" if self.required
                    else "Press a reason's key · Enter: exclude without a reason · Esc cancels")
            yield Label(hint, classes="dialog-hint", markup=False)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = None
        options.focus()
        self._tallest = options.styles.max_height  # (the style's: 14 rows)
        self.call_after_refresh(self._fit_list)

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._fit_list)

    def _fit_list(self) -> None:
        """The list gives up rows (it scrolls) before the hint under it is cut: in a short
        terminal, or with many reasons, the dialog (at most 90% of the screen) cut off the
        hint, "Esc cancels" with it."""
        if self._dismissed:
            return
        dialog = self.query_one("#reason-dialog")
        options = self.query_one(OptionList)
        hint = self.query_one(".dialog-hint")
        if dialog.styles.max_height is None or self._tallest is None:
            return
        most = int(dialog.styles.max_height.resolve(self.size, self.size))
        frame = dialog.outer_size.height - dialog.content_size.height
        # the title and the hint (as wrapped now: its text changes) with their gaps: every
        # row of the dialog but the list's
        width = dialog.content_size.width
        others = (options.region.y - dialog.content_region.y + hint.styles.margin.top
                  + hint.get_content_height(self.size, self.size, width))
        tallest = int(self._tallest.resolve(self.size, self.size))
        rows = max(3, min(tallest, most - frame - others))
        if options.styles.max_height != Scalar.from_number(rows):
            options.styles.max_height = rows

    def on_key(self, event: events.Key) -> None:
        if self._dismissed:
            return
        for reason in self.reasons:
            if event.character is not None and event.character == reason.key:
                event.stop()
                event.prevent_default()
                self.dismiss(ReasonChoice(reason.id))
                return
        if event.key == "enter" and self.query_one(OptionList).highlighted is None:
            event.stop()
            event.prevent_default()
            self.action_skip(enter=True)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(ReasonChoice(event.option.id))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # once the arrows highlight a reason, Enter stores it: the hint says so (it said
        # "Enter: exclude without a reason" while Enter stored the highlighted reason)
        if self.query_one(OptionList).highlighted is None:
            return  # (the list's first highlight, undone on mount: nothing is highlighted)
        reason = next((r for r in self.reasons if r.id == event.option.id), None)
        if reason is not None:
            self.query_one(".dialog-hint", Static).update(
                f"Enter: exclude with [{reason.key}] {reason.label} · Esc cancels")
            self.call_after_refresh(self._fit_list)  # (a longer hint may take more rows)

    def action_skip(self, enter: bool = False) -> None:
        if not enter:
            self.dismiss(None)  # Escape: cancel
        elif not self.required:
            self.dismiss(ReasonChoice(None))
        else:
            self.notify("Choose a reason: it is required here (Esc cancels)", severity="warning")


class ConfirmScreen(Dialog[bool]):
    """A yes/no question: y (or Enter) answers yes, n (or Esc) no. With `enter_is_yes`
    False (a question whose yes loses something), Enter answers no: only y says yes."""

    BINDINGS = [Binding("escape", "answer(False)", "No"), Binding("n", "answer(False)", "No"),
                Binding("y", "answer(True)", "Yes"), Binding("enter", "enter", "Yes")]

    def __init__(self, title: str, text: str, *, enter_is_yes: bool = True,
                 hint: str = "") -> None:
        super().__init__()
        self.title_text, self.text = title, text
        self.enter_is_yes = enter_is_yes
        self.hint = hint or ("y / Enter: yes · n / Esc: no" if enter_is_yes
                             else "y: yes · n / Esc / Enter: no")

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog", classes="dialog"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            yield Label(self.text, classes="dialog-text", markup=False)
            yield Label(self.hint, classes="dialog-hint", markup=False)

    def action_enter(self) -> None:
        self.action_answer(self.enter_is_yes)

    def action_answer(self, yes: bool) -> None:
        if not self._dismissed:
            self.dismiss(yes)


_SHOWN = {"\n": "↵", "\t": "⇥"}


def to_one_line(note: str) -> str:
    """A note as the one-line editor shows it: a line break as ↵, a tab as ⇥ (a note
    written with `screener decide --note` may hold them; written raw, they broke the
    dialog's layout)."""
    for raw, shown in _SHOWN.items():
        note = note.replace(raw, shown)
    return note


def from_one_line(text: str) -> str:
    """The note the editor's text stands for (`to_one_line` undone)."""
    for raw, shown in _SHOWN.items():
        text = text.replace(shown, raw)
    return text


class _NoteInput(Input):
    """The note's input. Enter closes the dialog here, in the order the keys reach this
    input, not when the Submitted message comes round: a key typed right after Enter (in
    the same burst) then finds the dialog closed and goes to the screen below."""

    async def _on_key(self, event: events.Key) -> None:
        screen = self.screen
        if not isinstance(screen, NoteScreen):
            return
        if screen._dismissed:
            screen.keep_after(event)
        elif event.key == "enter":
            event.stop()
            event.prevent_default()
            screen.dismiss(from_one_line(self.value).strip())


class NoteScreen(Dialog[str | None]):
    """Write the note for the record shown; Enter keeps it, Escape cancels (None)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, note: str,
                 title: str = "Note (saved with your next decision on this record)",
                 record_id: int | None = None) -> None:
        super().__init__()
        self.note = note
        self.title_text = title
        self.record_id = record_id
        """The record the note is for (the draft being typed is kept for it)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="note-dialog", classes="dialog"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            yield _NoteInput(to_one_line(self.note), placeholder="e.g. check dose in full text",
                             id="note-input")
            yield Label("Enter keeps the note · Esc cancels", classes="dialog-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self._dismissed:
            self.dismiss(from_one_line(event.value).strip())

    def action_cancel(self) -> None:
        self.dismiss(None)

    def unsaved_notes(self) -> dict[int, str]:
        """The note being typed, when it is not the one the dialog opened with."""
        typed = from_one_line(self.query_one(_NoteInput).value).strip()
        if self.record_id is None or self._dismissed or not typed or typed == self.note:
            return {}
        return {self.record_id: typed}


MIN_VIEW_S = 0.3
"""A decision key within this many seconds of a record appearing is not taken. Key
auto-repeat starts 0.25-0.66 s after the press and then comes every 30-40 ms, so a held key
decides one record, not a run of them; nobody reads a record in 0.3 s. (Here, where the
help says it; `run_app` applies it.)"""


HELP_TEXT = f"""\
Screening: a decision is saved (committed) before the next record appears. A decision
key pressed within {MIN_VIEW_S} s of a record appearing (held down, pressed twice) is not taken.
The ranking is refreshed in the background after each decision and used as soon as it
arrives.

Exclude asks for a reason by its key; at title/abstract Enter skips it unless the protocol
requires one; at full text a reason is always required. Esc cancels the exclusion.

Note: the note is kept with your next decision on this record (decisions are never
edited); it waits there if you move on. To add a note to a record you have decided, open it
from browse and decide again: a changed decision keeps the earlier note unless you edit it.

Undo withdraws your most recent standing decision and shows that record again (a changed
decision goes back to what it was before the change); press it again to step further back.
Esc leaves the record undecided for now: it waits at the end of the queue. Undo is refused
for a decision you could not make again, e.g. on a record the adjudicator has resolved.

Browse (b): lists records with filters (all, unscreened, included, excluded, maybe, with
notes): Left and Right change the filter, Shift+Left and Shift+Right scroll long titles,
Up and Down move through the records, Enter
opens the one under the cursor to see it and decide again (a new decision row is
stored); Esc (or q) goes back to the queue without deciding; ? shows this help; any other
letter typed there starts a search. Search (/) opens browse with the search box: title and
abstract, case-insensitive.

Conflicts (adjudicator): lists the records whose screeners disagree at this stage; Enter
shows the record and each screener's decision, reason and note; include, exclude (with a
reason) or maybe stores the adjudicator's decision and the conflict leaves the list; undo
there reopens the one resolved last, to resolve it again (the latest resolution stands). Only
the adjudicator (in consensus mode, the screeners) opens it; in a blind review doing so starts
reconciliation.

Side panel (its key is in the table above; the stopping figures are title/abstract's):
- Screened 40 of 282: your decisions at this stage / the records you are offered.
- Rank 3 · model 0.912: the record's place in your queue and its score (match: likeness to
the protocol, used before the model has an include and an exclude to learn from).
- Irrelevant run 12/50: records excluded in a row since the last include or maybe / the
run the protocol asks for.
- Stopping p-value: the stopping test (Callaghan & Müller-Hansen 2020); below 1 − the
protocol's confidence (e.g. 0.05), the recall target is probably reached.
- Est. recall 38% (≥25%): relevant found / found plus those estimated left; in brackets
the lower end, the recall the test supports.
- SAFE checklist (Boetje & van de Schoot 2024), ✓ met, ✗ not yet, – does not apply:
  - screened 12%/10%: share of the records screened / the protocol's minimum.
  - 2x relevant 43/186: records screened / twice the estimated relevant records; that
estimate, and so the target, moves as you screen.
  - irrelevant run: as above. key papers: share of the protocol's key papers included
(none set: the protocol lists none, so it neither holds back stopping nor was met).
- The stopping rule says stop when the p-value is below its level and every SAFE item is
met: the panel then reads "✓ Stopping rule met"; until then "✗ Stopping rule not met" and
what is missing. The figures are recomputed when you pause ("as of 120 screened" until
then).

Terms from the protocol are marked: include terms bold and underlined (green), exclude
terms reversed and struck through (red).

Keys can be remapped in the protocol (keys: action -> key) and in
$XDG_CONFIG_HOME/screener/keys.yaml (or ~/.config/screener/keys.yaml); the user file wins.
"""


def help_paragraphs() -> str:
    """HELP_TEXT with its source line breaks removed, so it wraps to the dialog's width;
    a line starting "- " (one figure of the side panel) starts a line of its own, "• ",
    and one starting "  - " (a part of it) one starting "  ◦ "."""
    paragraphs = []
    for paragraph in HELP_TEXT.split("\n\n"):
        lines = []
        for item in re.split(r"\n(?=(?:  )?- )", paragraph):
            words = " ".join(item.split())
            if words.startswith("- "):
                words = ("  ◦ " if item.startswith("  ") else "• ") + words[2:]
            lines.append(words)
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def reason_keys(keys: Sequence[str]) -> str:
    """The exclusion reasons' keys as the help lists them: runs of three or more digits
    in a row as a range ("1-4, 9", "1-8"), the others one by one ("" when none)."""
    parts: list[str] = []
    run: list[str] = []
    for key in [*keys, ""]:
        if run and key.isdigit() and run[-1].isdigit() and int(key) == int(run[-1]) + 1:
            run.append(key)
            continue
        if run:
            parts.append(f"{run[0]}-{run[-1]}" if len(run) > 2 else ", ".join(run))
        run = [key] if key else []
    return ", ".join(parts)


class HelpScreen(ModalScreen[None]):
    """The key map in force and how screening works."""

    BINDINGS = [Binding("escape", "close", "Close"), Binding("q", "close", "Close")]

    def __init__(self, keys: dict[str, str], stage_label: str,
                 descriptions: dict[str, str] | None = None,
                 reasons: Sequence[ExclusionReason] = ()) -> None:
        super().__init__()
        self.keys = keys
        self.stage_label = stage_label
        self.reasons = reason_keys([r.key for r in reasons])
        """The exclusion reasons' keys ("1-4, 9"), as the protocol in force gives them."""
        self.descriptions = {**DESCRIPTIONS, **(descriptions or {})}
        """What each key does, said here where it cannot (e.g. "full-text stage only")."""

    def compose(self) -> ComposeResult:
        table = Text()
        for action, key in self.keys.items():
            table.append(f"{key:>6}  ", style="bold")
            table.append(f"{self.descriptions.get(action, action)}\n")
        if self.reasons:
            table.append(f"{self.reasons:>6}  ", style="bold")
            table.append("Exclusion reason (in the reason dialog)\n")
        # the record scrolls with the usual keys; only its scroll bar said it runs on
        table.append(f"{'↑ ↓':>6}  ", style="bold")
        table.append("Scroll the record (PgUp, PgDn, Home, End too)\n")
        with VerticalScroll(id="help-dialog", classes="dialog") as dialog:
            # on the frame, seen without scrolling (at the end of a long help it was not)
            dialog.border_subtitle = "Esc closes · ↑ ↓ PgUp PgDn scroll"
            yield Label(f"Help · {self.stage_label}", classes="dialog-title")
            yield Static(table, id="help-keys")
            yield Static(help_paragraphs(), id="help-text", markup=False)

    def on_key(self, event: events.Key) -> None:
        if event.character is not None and event.character == self.keys.get("help"):
            event.stop()
            self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
