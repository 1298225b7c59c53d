"""The handler object every flow talks through: one per event, on no particular platform.

Like Zulip's bot handler, flows receive it and never a platform's objects:
they read what the person did (`text`, `contact`, `args`, the pressed button's
data and message) and answer through it (`reply`, `replace`, `strip`,
`notice`, `send_file`, `set_menu`). Everything it sends is written to the
outbox in the event's own transaction, so an event that fails part-way sends
nothing, and one that succeeds sends everything even if the process dies
right after.
"""

from __future__ import annotations

import re

from handlers.actor import Actor
from handlers.core.events import Attachment, Command, Contact, Event, Press, Text
from handlers.core.outbox import Target
from handlers.core.views import File, Keyboard, View
from handlers.i18n import Markup
from handlers.services import Services
from storage.outbox import Shown


class Chat:
    def __init__(
        self,
        event: Event,
        actor: Actor,
        *,
        data: str | None = None,
        pressed: Shown | None = None,
    ) -> None:
        self.event = event
        self.actor = actor
        self.data = data  # the pressed button's callback data
        self.match: re.Match[str] | None = None  # the router's match of a button or command
        self.message = pressed.ref if pressed else None  # the message the button was on
        self._pressed = pressed
        self.target = Target.of(actor.identity)
        self._answered = False
        self._click_used = False

    # --- what the person did ----------------------------------------------------------

    @property
    def services(self) -> Services:
        return self.actor.services

    @property
    def text(self) -> str | None:
        body = self.event.body
        return body.text if isinstance(body, Text) else None

    @property
    def contact(self) -> Contact | None:
        body = self.event.body
        return body if isinstance(body, Contact) else None

    @property
    def attachment(self) -> Attachment | None:
        body = self.event.body
        return body if isinstance(body, Attachment) else None

    @property
    def args(self) -> list[str]:
        body = self.event.body
        return body.args if isinstance(body, Command) else []

    @property
    def is_press(self) -> bool:
        return isinstance(self.event.body, Press)

    @property
    def pressed_text(self) -> Markup:
        """The text of the message the button was on, as it shows now ('' if unknown)."""
        shown = self._pressed.shown if self._pressed else None
        return Markup((shown or {}).get("text", ""))

    # --- answering ----------------------------------------------------------------------

    async def reply(
        self,
        text: str,
        keyboard: Keyboard = (),
        *,
        contact: str | None = None,
        ends_contact: bool = False,
    ) -> str:
        """A new message to the person; returns its ref."""
        ref = await self.services.outbox.send(
            self.target, View(text, keyboard, contact=contact, ends_contact=ends_contact)
        )
        if keyboard:
            self._choices(ref)
        return ref

    async def replace(self, ref: str | None, text: str, keyboard: Keyboard = ()) -> str:
        """Show `text` (and these buttons) in place of the message `ref` where the platform
        can change it, else in a new message; returns the ref now showing it."""
        if ref is None:
            return await self.reply(text, keyboard)
        shown = await self.services.outbox.edit(
            self.target, ref, View(text, keyboard), handle=self._click(ref)
        )
        if keyboard or self.target.choices_ref == ref:
            self._choices(shown if keyboard else None)
        return shown

    async def annotate(self, note: str, *, separator: str = "\n\n") -> None:
        """Add `note` under the pressed message, its buttons gone: the question stays in the
        chat with its answer under it. Where the platform cannot change that message now,
        the note comes as a message of its own. Pressed again, it is not added twice."""
        question = self.pressed_text
        if question.endswith(note):
            shown = question
        else:
            shown = Markup(question + Markup(separator) + note) if question else Markup(note)
        if self.message is not None and self._editable(self.message):
            await self.replace(self.message, shown)
        else:
            await self.reply(note)

    async def strip(self, ref: str | None = None) -> None:
        """Take the buttons off a message (the pressed one by default)."""
        ref = ref or self.message
        if ref is not None:
            await self.services.outbox.strip(self.target, ref, handle=self._click(ref))
            if self.target.choices_ref == ref:
                self._choices(None)

    async def notice(self, text: str | None = None, *, alert: bool = False) -> None:
        """Answer the press with a short notice (once; later calls are ignored)."""
        body = self.event.body
        if not isinstance(body, Press) or self._answered:
            return
        self._answered = True
        if body.handle is None:  # a reply typed instead of a press: nothing to answer
            if text:
                await self.reply(text)
            return
        await self.services.outbox.answer(self.target, body.handle, text, alert=alert)

    async def send_file(self, file: File) -> str:
        return await self.services.outbox.file(self.target, file)

    async def set_menu(self, commands: list[tuple[str, str]]) -> None:
        await self.services.outbox.menu(self.target, commands)

    async def finish(self) -> None:
        """Every press gets an answer, even when the flow had nothing to say."""
        await self.notice()

    # --- inside ---------------------------------------------------------------------------

    def _editable(self, ref: str) -> bool:
        edits = self.services.outbox.caps(self.target.platform).edits
        body = self.event.body
        clicked = (
            isinstance(body, Press)
            and body.handle is not None
            and ref == self.message
            and not self._click_used
        )
        return edits == "any" or (edits == "click" and clicked)

    def _click(self, ref: str) -> str | None:
        """The press's handle, for platforms that change a message only in answer to a
        click on it, and only once."""
        body = self.event.body
        if not isinstance(body, Press) or ref != self.message or self._click_used:
            return None
        if self.services.outbox.caps(self.target.platform).edits == "click":
            self._click_used = True
        return body.handle

    async def drop_choices(self) -> None:
        """The newest buttons stop answering typed replies, and lose their buttons where the
        platform can change them now: the dialogue they belonged to has ended."""
        ref = self.target.choices_ref
        if ref is None:
            return
        await self.strip(ref)
        await self.services.outbox.forget_choices(self.target)
        self._choices(None)

    def _choices(self, ref: str | None) -> None:
        self.target = Target(
            self.target.platform,
            self.target.address,
            self.target.user_id,
            self.target.identity_id,
            ref,
        )
