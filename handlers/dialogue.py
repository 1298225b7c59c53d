"""Routes what a user types to the guided dialogue they are in, as stored in SQL.

Each flow module exposes `on_input(update, context, actor, dialogue)`; the step
and the draft come from the `dialogues` table, never from process memory, so a
restart or a second process carries on where the user was.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from telegram import Update
from telegram.ext import CallbackContext

from handlers.actor import Actor, get_actor
from storage.dialogues import load_dialogue
from storage.models import Dialogue

InputHandler = Callable[[Update, CallbackContext, Actor, Dialogue], Coroutine[Any, Any, None]]


def route_input(
    flows: Mapping[str, InputHandler],
) -> Callable[[Update, CallbackContext], Coroutine[Any, Any, None]]:
    """A message callback that hands input to the user's current flow."""

    async def on_message(update: Update, context: CallbackContext) -> None:
        actor = await get_actor(update, context)
        dialogue = await load_dialogue(db=actor.services.db, user_id=actor.user_id)
        handler = flows.get(dialogue.flow) if dialogue else None
        if dialogue is not None and handler is not None:
            await handler(update, context, actor, dialogue)
        elif update.effective_message:
            await update.effective_message.reply_text(actor.t("dialogue.none"))

    return on_message
