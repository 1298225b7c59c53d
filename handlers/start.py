"""First contact: consent, language, role; plus /help, /language and /cancel.

    /start ──> consent ──agree──> language ──> role ──> welcome
                 │  └─ notice in the other language      (skipped for a deep
                 └─decline──> nothing kept                link role or a coordinator)

The step lives in the `dialogues` table, so buttons sent before a restart
still work afterwards, and /start resumes the step the user was at.
"""

from __future__ import annotations

import dataclasses

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import (
    Application,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
)

from handlers import enterprise, specialist
from handlers.actor import Actor, get_actor
from handlers.callbacks import pack, pattern
from handlers.i18n import SUPPORTED_LOCALES, Markup
from handlers.keyboards import column, inline, redraw, remove_keyboard
from handlers.menus import set_chat_menu
from storage.dialogues import end_dialogue, load_dialogue, save_dialogue
from storage.models import Dialogue, Role
from storage.users import record_consent, set_locale, set_role

FLOW = "start"
CONSENT, LANGUAGE, ROLE = "consent", "language", "role"
ROLES = tuple(role.value for role in Role)
LOCALES = "|".join(SUPPORTED_LOCALES)

START_BUTTON = pattern(FLOW, "agree|decline|notice|lang|role", rf"{LOCALES}|enterprise|specialist")
LANGUAGE_BUTTON = pattern("lang", "set", LOCALES)


def language_buttons(actor: Actor, flow: str, action: str) -> list[tuple[str, str]]:
    """Each language named in itself, so anyone can find theirs."""
    catalogs = actor.services.catalogs
    return [
        (catalogs.translate(locale, "language.self_name"), pack(flow, action, locale))
        for locale in SUPPORTED_LOCALES
    ]


def step_prompt(actor: Actor, step: str) -> tuple[Markup, InlineKeyboardMarkup]:
    """The question of a step and its buttons."""
    if step == CONSENT:
        switch = [
            b for b in language_buttons(actor, FLOW, "notice") if not b[1].endswith(actor.locale)
        ]
        answers = [
            (actor.t("start.agree"), pack(FLOW, "agree")),
            (actor.t("start.decline"), pack(FLOW, "decline")),
        ]
        return actor.t("start.consent"), inline([answers, switch])
    if step == LANGUAGE:
        return actor.t("start.choose_language"), column(language_buttons(actor, FLOW, "lang"))
    roles = [(actor.t(f"role.{role}"), pack(FLOW, "role", role)) for role in ROLES]
    return actor.t("start.choose_role"), column(roles)


async def send_step(message: Message, actor: Actor, step: str) -> None:
    """Ask the question of a step (again)."""
    text, keyboard = step_prompt(actor, step)
    await message.reply_text(text, reply_markup=keyboard)


async def start(update: Update, context: CallbackContext) -> None:
    """/start [enterprise|specialist]: begin, or resume, the first-contact dialogue."""
    actor = await get_actor(update, context)
    message = update.effective_message
    assert message is not None
    deep_role = context.args[0] if context.args and context.args[0] in ROLES else None
    dialogue = await load_dialogue(db=actor.services.db, user_id=actor.user_id)
    if dialogue is not None and dialogue.flow == FLOW:
        if deep_role:
            await _save(actor, dialogue.step, {**dialogue.data, "role": deep_role})
        await send_step(message, actor, dialogue.step)
        return
    if actor.user.consent_at is None:
        step = CONSENT
    elif actor.user.role is None and not actor.is_coordinator:
        step = ROLE
    else:
        await message.reply_text(actor.t("start.welcome_back") + "\n\n" + help_text(actor))
        return
    await _save(actor, step, {"role": deep_role} if deep_role else {})
    await send_step(message, actor, step)


async def on_button(update: Update, context: CallbackContext) -> None:
    """A button of the first-contact dialogue; stale ones change nothing."""
    query = update.callback_query
    assert query is not None and query.data is not None and query.message is not None
    match = START_BUTTON.match(query.data)
    assert match is not None
    action, arg = match["action"], match["arg"]
    actor = await get_actor(update, context)
    dialogue = await load_dialogue(db=actor.services.db, user_id=actor.user_id)
    expected = {
        "agree": CONSENT,
        "decline": CONSENT,
        "notice": CONSENT,
        "lang": LANGUAGE,
        "role": ROLE,
    }
    if dialogue is None or dialogue.flow != FLOW or dialogue.step != expected[action]:
        await query.answer(actor.t("button.stale"))
        return
    message = query.message
    assert isinstance(message, Message)
    svc = actor.services
    if action == "notice" and arg in SUPPORTED_LOCALES:
        await set_locale(db=svc.db, user_id=actor.user_id, locale=arg)
        actor = dataclasses.replace(actor, locale=arg)
        await query.answer()
        await redraw(message, *step_prompt(actor, CONSENT))
        return
    if action == "decline":
        await end_dialogue(db=svc.db, user_id=actor.user_id)
        await query.answer()
        await redraw(message, actor.t("start.declined"))
        return
    if action == "agree":
        name = update.effective_user.first_name if update.effective_user else None
        await record_consent(db=svc.db, user_id=actor.user_id, first_name=name, now=svc.clock.now())
        await query.answer(actor.t("start.thanks"))
        await remove_keyboard(message)
        await _advance(message, actor, dialogue, LANGUAGE)
        return
    if action == "lang" and arg in SUPPORTED_LOCALES:
        await set_locale(db=svc.db, user_id=actor.user_id, locale=arg)
        actor = dataclasses.replace(actor, locale=arg)
        await query.answer()
        await redraw(message, actor.t("language.set", language=actor.t("language.self_name")))
        chosen_role = dialogue.data.get("role")
        if chosen_role in ROLES:
            await _finish(message, actor, chosen_role)
        elif actor.is_coordinator or actor.user.role is not None:
            await _finish(message, actor, actor.user.role)
        else:
            await _advance(message, actor, dialogue, ROLE)
        return
    if action == "role" and arg in ROLES:
        await query.answer()
        await redraw(message, actor.t("start.role_chosen", role=actor.t(f"role.{arg}")))
        await _finish(message, actor, arg)
        return
    await query.answer(actor.t("button.unknown"))


async def _save(actor: Actor, step: str, data: dict[str, object]) -> None:
    await save_dialogue(
        db=actor.services.db,
        user_id=actor.user_id,
        flow=FLOW,
        step=step,
        data=data,
        now=actor.services.clock.now(),
    )


async def _advance(message: Message, actor: Actor, dialogue: Dialogue, step: str) -> None:
    await _save(actor, step, dialogue.data)
    await send_step(message, actor, step)


async def _finish(message: Message, actor: Actor, role: str | None) -> None:
    """Store the role, end the dialogue and show what this role can do."""
    svc = actor.services
    if role in ROLES:
        await set_role(db=svc.db, user_id=actor.user_id, role=Role(role))
    await end_dialogue(db=svc.db, user_id=actor.user_id)
    actor = dataclasses.replace(actor, user=actor.user.model_copy(update={"role": role}))
    await set_chat_menu(
        message.get_bot(),
        svc.catalogs,
        chat_id=message.chat_id,
        locale=actor.locale,
        role=role,
        is_coordinator=actor.is_coordinator,
    )
    await message.reply_text(help_text(actor))
    # Straight on to registering, so a new user is never left wondering what to do next.
    if role == Role.ENTERPRISE:
        await enterprise.begin_registration(message, actor)
    elif role == Role.SPECIALIST:
        await specialist.begin_registration(message, actor)


def help_text(actor: Actor) -> Markup:
    """What this user can do, by role."""
    role = actor.user.role or "none"
    parts = [actor.t(f"help.{role}"), actor.t("help.common")]
    if actor.is_coordinator:
        parts.append(actor.t("help.coordinator"))
    return Markup("\n\n".join(parts))


async def help_command(update: Update, context: CallbackContext) -> None:
    """/help adapted to the user's role."""
    actor = await get_actor(update, context)
    assert update.effective_message is not None
    await update.effective_message.reply_text(help_text(actor))


async def language_command(update: Update, context: CallbackContext) -> None:
    """/language: pick the language at any time."""
    actor = await get_actor(update, context)
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        actor.t("start.choose_language"),
        reply_markup=column(language_buttons(actor, "lang", "set")),
    )


async def on_language_button(update: Update, context: CallbackContext) -> None:
    """Save the chosen language and redo this chat's menu in it."""
    query = update.callback_query
    assert query is not None and query.data is not None
    match = LANGUAGE_BUTTON.match(query.data)
    assert match is not None and isinstance(query.message, Message)
    actor = await get_actor(update, context)
    if match["arg"] is None:
        await query.answer(actor.t("button.unknown"))
        return
    await set_locale(db=actor.services.db, user_id=actor.user_id, locale=match["arg"])
    actor = dataclasses.replace(actor, locale=match["arg"])
    await query.answer()
    await redraw(query.message, actor.t("language.set", language=actor.t("language.self_name")))
    if actor.user.role or actor.is_coordinator:
        await set_chat_menu(
            query.get_bot(),
            actor.services.catalogs,
            chat_id=query.message.chat_id,
            locale=actor.locale,
            role=actor.user.role,
            is_coordinator=actor.is_coordinator,
        )


async def cancel_command(update: Update, context: CallbackContext) -> None:
    """/cancel: leave whatever dialogue the user is in; its draft is dropped."""
    actor = await get_actor(update, context)
    assert update.effective_message is not None
    ended = await end_dialogue(db=actor.services.db, user_id=actor.user_id)
    await update.effective_message.reply_text(
        actor.t("cancel.done") if ended else actor.t("cancel.nothing")
    )


async def on_input(
    update: Update, context: CallbackContext, actor: Actor, dialogue: Dialogue
) -> None:
    """Typed text during first contact: point at the buttons and ask again."""
    message = update.effective_message
    assert message is not None
    await message.reply_text(actor.t("start.use_buttons"))
    await send_step(message, actor, dialogue.step)


def register(application: Application, group: int) -> None:
    application.add_handler(CommandHandler("start", start), group)
    application.add_handler(CommandHandler("help", help_command), group)
    application.add_handler(CommandHandler("language", language_command), group)
    application.add_handler(CommandHandler("cancel", cancel_command), group)
    application.add_handler(CallbackQueryHandler(on_button, pattern=START_BUTTON), group)
    application.add_handler(
        CallbackQueryHandler(on_language_button, pattern=LANGUAGE_BUTTON), group
    )
