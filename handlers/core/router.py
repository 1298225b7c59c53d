"""Which flow an event goes to: commands by name, buttons by pattern, typed input by the
dialogue the person is in, then the fallbacks.

    event ─> screens (in order; any may stop it) ─> command | button | dialogue input
                                                  └─> unknown command / button / no dialogue

Buttons are matched in registration order with anchored patterns over the
flow's callback data (the core resolved the platform's token into it); the
match is on `chat.match`. A dialogue's input handler also gets the stored
dialogue, so a restart or a second process carries on at the same step.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from handlers.core.chat import Chat
from handlers.core.events import Command, Opened, Press
from storage.dialogues import load_dialogue
from storage.models import Dialogue

Handler = Callable[[Chat], Awaitable[None]]
InputHandler = Callable[[Chat, Dialogue], Awaitable[None]]
Screen = Callable[[Chat], Awaitable[bool]]  # True: the event stops here

OPENED = "start"  # a conversation opened is /start (with its parameter)


@dataclass
class Router:
    screens: list[Screen] = field(default_factory=list)
    commands: dict[str, Handler] = field(default_factory=dict)
    buttons: list[tuple[re.Pattern[str], Handler]] = field(default_factory=list)
    inputs: dict[str, InputHandler] = field(default_factory=dict)
    unknown_command: Handler | None = None
    unknown_button: Handler | None = None
    no_dialogue: Handler | None = None

    def screen(self, screen: Screen) -> None:
        self.screens.append(screen)

    def command(self, name: str, handler: Handler) -> None:
        if name in self.commands:
            raise ValueError(f"/{name} is handled twice")
        self.commands[name] = handler

    def button(self, pattern: re.Pattern[str], handler: Handler) -> None:
        self.buttons.append((pattern, handler))

    def dialogue(self, flow: str, handler: InputHandler) -> None:
        if flow in self.inputs:
            raise ValueError(f"dialogue {flow!r} is handled twice")
        self.inputs[flow] = handler

    def handles_button(self, data: str) -> bool:
        return any(pattern.match(data) for pattern, _ in self.buttons)

    async def dispatch(self, chat: Chat) -> None:
        """Hand the event to the flow that takes it."""
        for screen in self.screens:
            if await screen(chat):
                return
        body = chat.event.body
        if isinstance(body, Opened):
            body = Command(OPENED, body.param or "")
        if isinstance(body, Command):
            await self._command(chat, body)
        elif isinstance(body, Press):
            await self._button(chat)
        else:
            await self._input(chat)

    async def _command(self, chat: Chat, command: Command) -> None:
        handler = self.commands.get(command.name)
        if handler is not None:
            await handler(chat)
        elif self.unknown_command is not None:
            await self.unknown_command(chat)

    async def _button(self, chat: Chat) -> None:
        data = chat.data or ""
        for pattern, handler in self.buttons:
            match = pattern.match(data)
            if match is not None:
                chat.match = match
                await handler(chat)
                return
        if self.unknown_button is not None:
            await self.unknown_button(chat)

    async def _input(self, chat: Chat) -> None:
        dialogue = await load_dialogue(db=chat.services.db, user_id=chat.actor.user_id)
        handler = self.inputs.get(dialogue.flow) if dialogue else None
        if dialogue is not None and handler is not None:
            await handler(chat, dialogue)
        elif self.no_dialogue is not None:
            await self.no_dialogue(chat)
