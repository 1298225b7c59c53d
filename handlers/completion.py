"""Completing an engagement: one side proposes, the other confirms, then both rate.

    card [🏁 complete] ─> proposed ─> the other side: [✅ confirm] [not yet]
        not yet ─> back to active, the proposer told
        confirm ─> completed, both sides get [⭐ rate]
    [⭐ rate] ─> enterprise: rating of the specialist ─> problem solved? ─> results (any)
              specialist: rating of the enterprise
              ─> a comment (optional)
              ─> summary ─confirm─> stored once (a second form finds it recorded)

Buttons carry the engagement id; storage finds it only for the pressing user's
own side, and each step is a guarded change, so a double tap applies once.
"""

from __future__ import annotations

import re

from handlers import form
from handlers.actor import Actor
from handlers.callbacks import pack, pattern
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.core.views import Keyboard, inline
from handlers.engagement_views import (
    CMP,
    OUTCOMES,
    RESULTS,
    counterpart,
    rated,
    reader_for,
    send_to,
    stars,
)
from handlers.engagements import engagement_view, show
from handlers.form import Draft, Field, Form, Option, open_form
from handlers.validators import Invalid, text_between
from storage.engagements import (
    Change,
    EngagementCard,
    Side,
    answer_completion,
    engagement_for,
    other_side,
    propose_completion,
    rate_enterprise,
    record_outcome,
)
from storage.models import Dialogue, EngagementStatus

BUTTON = pattern(CMP, "prop|yes|not|rate", r"\d{1,9}")
OUTCOME_FLOW, RATING_FLOW = "rte", "rts"
# Told to the other side (the key) after this side acted.
TOLD_PROPOSED = {
    "specialist": "completion.told_proposed_specialist",
    "enterprise": "completion.told_proposed_enterprise",
}
DONE_ANSWER = {
    "prop": "completion.proposed",
    "yes": "completion.completed",
    "not": "completion.kept_active",
}


def rating_options(actor: Actor, draft: Draft) -> list[Option]:
    return [Option(str(n), stars(n)) for n in range(5, 0, -1)]


TYPED_STARS = re.compile(r"([1-5一二三四五])\s*(分|星|颗星|stars?|points?)?", re.IGNORECASE)
CHINESE_DIGITS = {"一": "1", "二": "2", "三": "3", "四": "4", "五": "5"}


def typed_rating(text: str, actor: Actor, draft: Draft) -> str:
    """A rating typed as its number: "5", "4分", "五星", "3 stars"."""
    match = TYPED_STARS.fullmatch(text.strip())
    if match is None:
        raise Invalid("invalid.use_buttons")
    return CHINESE_DIGITS.get(match.group(1), match.group(1))


def outcome_options(actor: Actor, draft: Draft) -> list[Option]:
    return [Option(code, actor.t(msgid)) for code, msgid in OUTCOMES.items()]


def result_options(actor: Actor, draft: Draft) -> list[Option]:
    return [Option(code, actor.t(msgid)) for code, msgid in RESULTS.items()]


def named(actor: Actor, draft: Draft) -> dict[str, object]:
    return {"name": draft["name"], "title": draft["title"]}


RATING = Field(
    "rating",
    "completion.ask_rating",
    "completion.label_rating",
    options=rating_options,
    parse=typed_rating,
    prompt_params=named,
)
COMMENT_MAX = 300
COMMENT = Field(
    "comment",
    "completion.ask_comment",
    "completion.label_comment",
    parse=lambda text, actor, draft: text_between(text, low=2, high=COMMENT_MAX),
    optional=True,
    prompt_params=lambda actor, draft: {"name": draft["name"], "high": COMMENT_MAX},
)


async def confirm_outcome(chat: Chat, draft: Draft) -> None:
    actor = chat.actor
    svc = actor.services
    change = await record_outcome(
        db=svc.db,
        engagement_id=draft["engagement_id"],
        user_id=actor.user_id,
        rating=int(draft["rating"]),
        outcome=draft["outcome"],
        results=draft.get("results") or [],
        now=svc.clock.now(),
        comment=draft.get("comment"),
    )
    await _thank(chat, change)


async def confirm_rating(chat: Chat, draft: Draft) -> None:
    actor = chat.actor
    svc = actor.services
    change = await rate_enterprise(
        db=svc.db,
        engagement_id=draft["engagement_id"],
        user_id=actor.user_id,
        rating=int(draft["rating"]),
        now=svc.clock.now(),
        comment=draft.get("comment"),
    )
    await _thank(chat, change)


async def _thank(chat: Chat, change: Change) -> None:
    actor = chat.actor
    done = change.result == "done"
    await chat.reply(
        actor.t("completion.thanks") if done else actor.t("completion.already_recorded")
    )


OUTCOME = Form(
    flow=OUTCOME_FLOW,
    fields=(
        RATING,
        Field(
            "outcome", "completion.ask_outcome", "completion.label_outcome", options=outcome_options
        ),
        Field(
            "results",
            "completion.ask_results",
            "completion.label_results",
            options=result_options,
            multi=True,
            optional=True,
        ),
        COMMENT,
    ),
    summary="completion.summary",
    confirm=confirm_outcome,
)
RATING_FORM = Form(
    flow=RATING_FLOW,
    fields=(RATING, COMMENT),
    summary="completion.summary",
    confirm=confirm_rating,
)
FORMS = {OUTCOME_FLOW: OUTCOME, RATING_FLOW: RATING_FORM}


async def open_rating(chat: Chat, card: EngagementCard, side: Side) -> None:
    """The enterprise rates and records the outcome; the specialist rates the enterprise."""
    draft = {
        "engagement_id": card.id,
        "title": card.demand.title,
        "name": card.specialist.name if side == "enterprise" else card.enterprise.name,
    }
    await open_form(OUTCOME if side == "enterprise" else RATING_FORM, chat, draft)


async def on_button(chat: Chat) -> None:
    """Propose, confirm, not yet, rate: on the user's own engagement, in the state it is in."""
    match = chat.match
    assert match is not None
    actor = chat.actor
    action = match["action"]
    svc = actor.services
    found = (
        await engagement_for(db=svc.db, engagement_id=int(match["arg"]), user_id=actor.user_id)
        if match["arg"]
        else None
    )
    if found is None:
        await chat.notice(actor.t("engagement.not_found"))
        return
    card, side = found
    if action == "rate":
        if card.engagement.status == EngagementStatus.COMPLETED and not rated(card, side):
            await chat.notice()
            await chat.strip()
            await open_rating(chat, card, side)
        else:
            await chat.notice(actor.t("completion.already_recorded"))
        return
    now = svc.clock.now()
    if action == "prop":
        change = await propose_completion(
            db=svc.db, engagement_id=card.id, user_id=actor.user_id, now=now
        )
    else:
        change = await answer_completion(
            db=svc.db, engagement_id=card.id, user_id=actor.user_id, agree=action == "yes", now=now
        )
    if change.result != "done" or change.card is None:
        await chat.notice(actor.t("engagement.changed_meanwhile"))
        await show(chat, *await engagement_view(actor, change.card or card, side))
        return
    await chat.notice(actor.t(DONE_ANSWER[action]))
    await show(chat, *await engagement_view(actor, change.card, side))
    await _tell_other_side(actor, change.card, side, action)


async def _tell_other_side(actor: Actor, card: EngagementCard, side: Side, action: str) -> None:
    """The other side learns what this side did, with the buttons that now apply to them."""
    other = other_side(side)
    user = card.user_of(other)
    reader = reader_for(actor.services, user)
    params = {"title": card.demand.title, "other": counterpart(reader, card, other)}
    markup: Keyboard
    if action == "prop":
        text = reader.t(TOLD_PROPOSED[other], **params)
        markup = inline(
            [
                [
                    (reader.t("completion.confirm"), pack(CMP, "yes", card.id)),
                    (reader.t("completion.not_yet"), pack(CMP, "not", card.id)),
                ]
            ]
        )
    elif action == "yes":
        text = reader.t("completion.told_completed", **params)
        markup = inline([[(reader.t("completion.rate"), pack(CMP, "rate", card.id))]])
    else:
        text = reader.t("completion.told_not_yet", **params)
        markup = ()
    await send_to(actor.services, user, text, markup)


async def on_input(chat: Chat, dialogue: Dialogue) -> None:
    await form.on_input(FORMS[dialogue.flow], chat, dialogue)


def register(router: Router) -> None:
    router.button(BUTTON, on_button)
    for flow, form_ in FORMS.items():
        form.register(form_, router)
        router.dialogue(flow, on_input)
