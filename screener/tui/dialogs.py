"""Modal dialogs: pick an exclusion reason, write a note, read the help.

Each dialog dismisses with its result; the screening screen decides what it means.
Must not import screener.storage or sqlalchemy.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from screener.core.protocol import ExclusionReason
from screener.tui.keys import DESCRIPTIONS

_Action = TypeVar("_Action", bound=Callable[..., Awaitable[None]])


def opens_dialog(action: _Action) -> _Action:
    """Mark an action of a `HoldsKeysForDialogs` screen that opens a screen on top: the
    keys typed right after its key are held and, once the action is done, given to that
    screen (or back to this one when it opened none)."""

    @functools.wraps(action)
    async def run(self: HoldsKeysForDialogs, *args: Any, **kwargs: Any) -> None:
        try:
            await action(self, *args, **kwargs)
        finally:
            self._release_held()

    run.opens_dialog = True  # type: ignore[attr-defined]
    return cast(_Action, run)


class HoldsKeysForDialogs(Screen[Any]):
    """Base of a screen whose actions (marked `opens_dialog`) open dialogs."""

    _held: list[tuple[str, str | None]] | None = None
    """Keys typed while a dialog is opening (None: not opening one)."""

    def on_key(self, event: events.Key) -> None:
        """Keys typed right after one that opens a dialog (a fast "e 3", or "n" and the
        note, over SSH often in one terminal read) reach this screen before the dialog is
        up. They are held until it is, then given to it, instead of being dropped."""
        if not self.is_attached:
            return
        if self._held is not None or self.app.screen is not self:
            event.stop()
            event.prevent_default()
            if self._held is not None:
                self._held.append((event.key, event.character))
            else:  # the dialog is up but the key was already on its way here
                self.app.post_message(events.Key(event.key, event.character))
            return
        active = self.active_bindings.get(event.key)
        if active is not None and active.enabled and getattr(
                getattr(self, f"action_{active.binding.action}", None), "opens_dialog", False):
            self._held = []

    def _release_held(self) -> None:
        """Hand the held keys to the app, which gives them to the screen now on top."""
        held, self._held = self._held or [], None
        for key, character in held:
            self.app.post_message(events.Key(key, character))



ResultT = TypeVar("ResultT")


@dataclass(frozen=True, slots=True)
class ReasonChoice:
    """The result of the reason dialog: a reason id, or None to exclude without one."""

    reason_id: str | None


class Dialog(ModalScreen[ResultT]):
    """A modal dialog that gives the keys typed right after the one that closes it (a fast
    "Enter i", or "3 m" in the reason dialog, often in one terminal read) to the screen
    below, instead of taking them itself while it is being closed."""

    _dismissed = False
    _after: list[tuple[str, str | None]]

    def dismiss(self, result: ResultT | None = None) -> AwaitComplete:
        self._dismissed, self._after = True, []
        self.set_focus(None)  # an Input would take the next characters before on_key
        return super().dismiss(result)

    def on_key(self, event: events.Key) -> None:
        if self._dismissed:
            event.stop()
            event.prevent_default()
            self._after.append((event.key, event.character))

    def on_unmount(self) -> None:
        # the dialog is off the stack: the screen below gets the keys, in order
        for key, character in self._after if self._dismissed else ():
            self.app.post_message(events.Key(key, character))


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
            yield Label(hint, classes="dialog-hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = None
        options.focus()

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
            yield Label(self.title_text, classes="dialog-title")
            yield Label(self.text, classes="dialog-text")
            yield Label(self.hint, classes="dialog-hint")

    def action_enter(self) -> None:
        self.action_answer(self.enter_is_yes)

    def action_answer(self, yes: bool) -> None:
        if not self._dismissed:
            self.dismiss(yes)


class _NoteInput(Input):
    """The note's input. Enter closes the dialog here, in the order the keys reach this
    input, not when the Submitted message comes round: a key typed right after Enter (in
    the same burst) then finds the dialog closed and goes to the screen below."""

    async def _on_key(self, event: events.Key) -> None:
        screen = self.screen
        if not isinstance(screen, NoteScreen):
            return
        if screen._dismissed:
            event.stop()
            event.prevent_default()
            screen._after.append((event.key, event.character))
        elif event.key == "enter":
            event.stop()
            event.prevent_default()
            screen.dismiss(self.value.strip())


class NoteScreen(Dialog[str | None]):
    """Write the note for the record shown; Enter keeps it, Escape cancels (None)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, note: str,
                 title: str = "Note (saved with your next decision on this record)") -> None:
        super().__init__()
        self.note = note
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(id="note-dialog", classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield _NoteInput(self.note, placeholder="e.g. check dose in full text",
                             id="note-input")
            yield Label("Enter keeps the note · Esc cancels", classes="dialog-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self._dismissed:
            self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


HELP_TEXT = """\
Screening: a decision is saved (committed) before the next record appears. The ranking
is refreshed in the background after each decision and used as soon as it arrives.

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
stored); Esc (or q) goes back to the queue without deciding; ? shows this help.
Search (/) opens browse with the search box: title and abstract, case-insensitive.

Conflicts (adjudicator): lists the records whose screeners disagree at this stage; Enter
shows the record and each screener's decision, reason and note; include, exclude (with a
reason) or maybe stores the adjudicator's decision and the conflict leaves the list. In a
blind review only the adjudicator may open it (doing so starts reconciliation).

Terms from the protocol are marked: include terms bold and underlined (green), exclude
terms reversed and struck through (red).

Keys can be remapped in the protocol (keys: action -> key) and in
$XDG_CONFIG_HOME/screener/keys.yaml (or ~/.config/screener/keys.yaml); the user file wins.
"""


def help_paragraphs() -> str:
    """HELP_TEXT with its source line breaks removed, so it wraps to the dialog's width."""
    return "\n\n".join(" ".join(p.split()) for p in HELP_TEXT.split("\n\n"))


class HelpScreen(ModalScreen[None]):
    """The key map in force and how screening works."""

    BINDINGS = [Binding("escape", "close", "Close"), Binding("q", "close", "Close")]

    def __init__(self, keys: dict[str, str], stage_label: str,
                 descriptions: dict[str, str] | None = None) -> None:
        super().__init__()
        self.keys = keys
        self.stage_label = stage_label
        self.descriptions = {**DESCRIPTIONS, **(descriptions or {})}
        """What each key does, said here where it cannot (e.g. "full-text stage only")."""

    def compose(self) -> ComposeResult:
        table = Text()
        for action, key in self.keys.items():
            table.append(f"{key:>6}  ", style="bold")
            table.append(f"{self.descriptions.get(action, action)}\n")
        table.append(f"{'1-9':>6}  ", style="bold")
        table.append("Exclusion reason (in the reason dialog)\n")
        with VerticalScroll(id="help-dialog", classes="dialog"):
            yield Label(f"Help · {self.stage_label}", classes="dialog-title")
            yield Static(table, id="help-keys")
            yield Static(help_paragraphs(), id="help-text")
            yield Label("Esc closes", classes="dialog-hint")

    def on_key(self, event: events.Key) -> None:
        if event.character is not None and event.character == self.keys.get("help"):
            event.stop()
            self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
