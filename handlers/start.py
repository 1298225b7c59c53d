"""First contact: consent, language, role; plus /help, /language and /cancel.

    /start ──> consent ──agree──> language ──> role ──> welcome
                 │  └─ notice in the other language      (skipped for a deep
                 └─decline──> nothing kept                link role or a coordinator)
    /start again ──> welcome back [🔄 switch side] ──> role: each side keeps its own
                                                     registration, opened where it was

The step lives in the `dialogues` table, so buttons sent before a restart
still work afterwards, and /start resumes the step the user was at.
"""

from __future__ import annotations

import dataclasses

from handlers import enterprise, specialist
from handlers.actor import Actor
from handlers.callbacks import pack, pattern
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.core.views import Keyboard, column, inline
from handlers.form import ask_again
from handlers.i18n import SUPPORTED_LOCALES, Markup
from handlers.menus import set_chat_menu
from storage.dialogues import end_dialogue, load_dialogue, save_dialogue
from storage.models import Dialogue, Role
from storage.users import record_consent, set_locale, set_role

FLOW = "start"
CONSENT, LANGUAGE, ROLE = "consent", "language", "role"
ROLES = tuple(role.value for role in Role)
LOCALES = "|".join(SUPPORTED_LOCALES)

START_BUTTON = pattern(
    FLOW, "agree|decline|notice|lang|role|switch", rf"{LOCALES}|enterprise|specialist"
)
LANGUAGE_BUTTON = pattern("lang", "set", LOCALES)


def language_buttons(actor: Actor, flow: str, action: str) -> list[tuple[str, str]]:
    """Each language named in itself, so anyone can find theirs."""
    catalogs = actor.services.catalogs
    return [
        (catalogs.translate(locale, "language.self_name"), pack(flow, action, locale))
        for locale in SUPPORTED_LOCALES
    ]


def step_prompt(actor: Actor, step: str) -> tuple[Markup, Keyboard]:
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


async def send_step(chat: Chat, actor: Actor, step: str) -> None:
    """Ask the question of a step (again)."""
    text, keyboard = step_prompt(actor, step)
    await chat.reply(text, keyboard)


async def start(chat: Chat) -> None:
    """/start [enterprise|specialist]: begin, or resume, the first-contact dialogue."""
    actor = chat.actor
    args = chat.args
    deep_role = args[0] if args and args[0] in ROLES else None
    dialogue = await load_dialogue(db=actor.services.db, user_id=actor.user_id)
    if dialogue is not None and dialogue.flow == FLOW:
        if deep_role:
            await _save(actor, dialogue.step, {**dialogue.data, "role": deep_role})
        await send_step(chat, actor, dialogue.step)
        return
    if actor.user.consent_at is None:
        step = CONSENT
    elif actor.user.role is None and not actor.is_coordinator:
        step = ROLE
    else:
        switch = [(actor.t("start.switch"), pack(FLOW, "switch"))]
        text = actor.t("start.welcome_back") + "\n\n" + help_text(actor)
        await chat.reply(text, inline([switch]))
        return
    await _save(actor, step, {"role": deep_role} if deep_role else {})
    await send_step(chat, actor, step)


async def on_button(chat: Chat) -> None:
    """A button of the first-contact dialogue; stale ones change nothing."""
    assert chat.match is not None
    action, arg = chat.match["action"], chat.match["arg"]
    actor = chat.actor
    if action == "switch":
        await _switch(chat, actor)
        return
    dialogue = await load_dialogue(db=actor.services.db, user_id=actor.user_id)
    expected = {
        "agree": CONSENT,
        "decline": CONSENT,
        "notice": CONSENT,
        "lang": LANGUAGE,
        "role": ROLE,
    }
    if dialogue is None or dialogue.flow != FLOW or dialogue.step != expected[action]:
        await chat.notice(actor.t("button.stale"))
        return
    svc = actor.services
    if action == "notice" and arg in SUPPORTED_LOCALES:
        await set_locale(db=svc.db, user_id=actor.user_id, locale=arg)
        actor = dataclasses.replace(actor, locale=arg)
        await chat.notice()
        await chat.replace(chat.message, *step_prompt(actor, CONSENT))
        return
    if action == "decline":
        await end_dialogue(db=svc.db, user_id=actor.user_id)
        await chat.notice()
        await chat.replace(chat.message, actor.t("start.declined"))
        return
    if action == "agree":
        name = chat.event.sender.name
        await record_consent(db=svc.db, user_id=actor.user_id, first_name=name, now=svc.clock.now())
        await chat.notice(actor.t("start.thanks"))
        await chat.strip()
        await _advance(chat, actor, dialogue, LANGUAGE)
        return
    if action == "lang" and arg in SUPPORTED_LOCALES:
        await set_locale(db=svc.db, user_id=actor.user_id, locale=arg)
        actor = dataclasses.replace(actor, locale=arg)
        await chat.notice()
        await chat.replace(
            chat.message, actor.t("language.set", language=actor.t("language.self_name"))
        )
        chosen_role = dialogue.data.get("role")
        if chosen_role in ROLES:
            await _finish(chat, actor, chosen_role)
        elif actor.is_coordinator or actor.user.role is not None:
            await _finish(chat, actor, actor.user.role)
        else:
            await _advance(chat, actor, dialogue, ROLE)
        return
    if action == "role" and arg in ROLES:
        await chat.notice()
        await chat.replace(chat.message, actor.t("start.role_chosen", role=actor.t(f"role.{arg}")))
        await _finish(chat, actor, arg)
        return
    await chat.notice(actor.t("button.unknown"))


async def _switch(chat: Chat, actor: Actor) -> None:
    """The side question again, for someone who agreed already (from /start's welcome)."""
    if actor.user.consent_at is None:
        await chat.notice(actor.t("button.stale"))
        return
    await chat.notice()
    await chat.strip()
    await _save(actor, ROLE, {})
    await send_step(chat, actor, ROLE)


async def _save(actor: Actor, step: str, data: dict[str, object]) -> None:
    await save_dialogue(
        db=actor.services.db,
        user_id=actor.user_id,
        flow=FLOW,
        step=step,
        data=data,
        now=actor.services.clock.now(),
    )


async def _advance(chat: Chat, actor: Actor, dialogue: Dialogue, step: str) -> None:
    await _save(actor, step, dialogue.data)
    await send_step(chat, actor, step)


async def _finish(chat: Chat, actor: Actor, role: str | None) -> None:
    """Store the role, end the dialogue and show what this role can do."""
    svc = actor.services
    if role in ROLES:
        await set_role(db=svc.db, user_id=actor.user_id, role=Role(role))
    await end_dialogue(db=svc.db, user_id=actor.user_id)
    actor = dataclasses.replace(actor, user=actor.user.model_copy(update={"role": role}))
    chat.actor = actor
    await set_chat_menu(chat, role=role, is_coordinator=actor.is_coordinator)
    await chat.reply(help_text(actor))
    # Straight on to registering, so a new user is never left wondering what to do next.
    if role == Role.ENTERPRISE:
        await enterprise.begin_registration(chat)
    elif role == Role.SPECIALIST:
        await specialist.begin_registration(chat)


def help_text(actor: Actor) -> Markup:
    """What this user can do, by role."""
    role = actor.user.role
    # A coordinator needs no side: their commands, not "choose a side".
    parts = [] if role is None and actor.is_coordinator else [actor.t(f"help.{role or 'none'}")]
    parts.append(actor.t("help.common"))
    if actor.is_coordinator:
        parts.append(actor.t("help.coordinator"))
    return Markup("\n\n".join(parts))


async def help_command(chat: Chat) -> None:
    """/help adapted to the user's role."""
    await chat.reply(help_text(chat.actor))


async def language_command(chat: Chat) -> None:
    """/language: pick the language at any time."""
    actor = chat.actor
    await chat.reply(
        actor.t("start.choose_language"), column(language_buttons(actor, "lang", "set"))
    )


async def on_language_button(chat: Chat) -> None:
    """Save the chosen language and redo this person's menu in it."""
    assert chat.match is not None
    actor = chat.actor
    locale = chat.match["arg"]
    if locale is None:
        await chat.notice(actor.t("button.unknown"))
        return
    await set_locale(db=actor.services.db, user_id=actor.user_id, locale=locale)
    actor = chat.actor = dataclasses.replace(actor, locale=locale)
    await chat.notice()
    await chat.replace(
        chat.message, actor.t("language.set", language=actor.t("language.self_name"))
    )
    if actor.user.role or actor.is_coordinator:
        await set_chat_menu(chat, role=actor.user.role, is_coordinator=actor.is_coordinator)
    await ask_again(chat)  # in the middle of a form: its question, in the new language


async def cancel_command(chat: Chat) -> None:
    """/cancel: leave whatever dialogue the user is in; its draft is dropped."""
    actor = chat.actor
    ended = await end_dialogue(db=actor.services.db, user_id=actor.user_id)
    if ended:
        await chat.drop_choices()  # the dialogue's question: its buttons are stale now
    await chat.reply(actor.t("cancel.done") if ended else actor.t("cancel.nothing"))


async def on_input(chat: Chat, dialogue: Dialogue) -> None:
    """Typed text during first contact: point at the buttons and ask again."""
    actor = chat.actor
    await chat.reply(actor.t("start.use_buttons"))
    await send_step(chat, actor, dialogue.step)


def register(router: Router) -> None:
    router.command("start", start)
    router.command("help", help_command)
    router.command("language", language_command)
    router.command("cancel", cancel_command)
    router.button(START_BUTTON, on_button)
    router.button(LANGUAGE_BUTTON, on_language_button)
    router.dialogue(FLOW, on_input)
