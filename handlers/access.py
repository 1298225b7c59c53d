"""Role checks shared by every flow."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import CallbackContext

from handlers.actor import Actor, get_actor

ActorCallback = Callable[[Update, CallbackContext, Actor], Coroutine[Any, Any, None]]


def coordinators_only(
    callback: ActorCallback,
) -> Callable[[Update, CallbackContext], Coroutine[Any, Any, None]]:
    """Run callback for coordinators; refuse anyone else politely and change nothing."""

    @functools.wraps(callback)
    async def guarded(update: Update, context: CallbackContext) -> None:
        actor = await get_actor(update, context)
        if actor.is_coordinator:
            await callback(update, context, actor)
            return
        if update.callback_query:
            await update.callback_query.answer(actor.t("access.coordinators_only"), show_alert=True)
        elif update.effective_message:
            await update.effective_message.reply_text(actor.t("access.coordinators_only"))

    return guarded
