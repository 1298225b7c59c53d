"""Demands: /new_demand files one in a guided dialogue, /my_demands lists and manages them.

    /new_demand ─(no enterprise yet)─> registration ─> demand form
                └────────────────────────────────────> demand form:
        title ─> description ─> kind ─> fields ─> keywords (may skip) ─> way of working
        ─> urgency ─> desired start (may skip) ─> expected outcome ─> voucher
        ─> summary ─confirm─> stored, status open

    /my_demands ─> list (paged) ─> one demand ─> edit (the form on its summary)
                                              ├─> pause / resume
                                              └─> close ─> reason

Only enterprises file demands. Every button reaches a demand through the
storage operations, which find only the user's own, so a forged id changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from handlers import enterprise, form
from handlers.actor import Actor
from handlers.callbacks import pack, pattern
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.core.views import Keyboard, Pair, inline
from handlers.dates import next_month
from handlers.form import Draft, Field, Form, Option, open_form, render_value, resume_form
from handlers.i18n import Markup
from handlers.validators import date_on_or_after, keyword_list, text_between
from matching import taxonomy
from storage.demands import (
    CLOSABLE,
    CLOSE_REASONS,
    EDITABLE,
    DemandDetails,
    DemandOverview,
    close_demand,
    create_demand,
    get_demand,
    list_demands,
    pause_demand,
    resume_demand,
    update_demand,
)
from storage.dialogues import load_dialogue
from storage.enterprises import get_enterprise
from storage.models import Demand, DemandStatus, Dialogue, Role

FLOW = "dem"
TITLE_MIN, TITLE_MAX = 4, 60
DESCRIPTION_MIN, DESCRIPTION_MAX = 20, 2000
OUTCOME_MIN, OUTCOME_MAX = 4, 1000
KEYWORDS_MOST, KEYWORD_LONGEST = 10, 30
ASAP = "asap"
LIST_PAGE = 5
TITLE_ON_BUTTON = 28  # characters of a title shown on its button in the list
# First-level disciplines offered as buttons, engineering first: what enterprises ask about.
# Humanities and social sciences (7xx-9xx) stay reachable by typed words.
BROWSED_CATEGORIES = "456231"

DEMAND_BUTTON = pattern(
    "dmy",
    "list|open|edit|pause|resume|close|reason",
    r"\d{1,9}(?:\.(?:" + "|".join(CLOSE_REASONS) + "))?",
)


def kind_options(actor: Actor, draft: Draft) -> list[Option]:
    return [
        Option("technology", actor.t("demand.kind_technology")),
        Option("talent", actor.t("demand.kind_talent")),
        Option("services", actor.t("demand.kind_services")),
    ]


def field_options(actor: Actor, draft: Draft) -> list[Option]:
    """An opened discipline and its sub-fields; else what is chosen so far (one tap removes it)
    followed by the first-level disciplines, those with sub-fields opening."""
    opened = taxonomy.discipline(DISCIPLINES.opened(draft) or "")
    if opened is not None:
        whole = actor.t("demand.field_whole", name=opened.name(actor.locale))
        return [Option(opened.code, whole)] + [
            Option(d.code, d.name(actor.locale)) for d in taxonomy.disciplines(opened.code)
        ]
    browsed = sorted(
        (d for d in taxonomy.disciplines() if d.code[0] in BROWSED_CATEGORIES),
        key=lambda d: (BROWSED_CATEGORIES.index(d.code[0]), d.code),
    )
    top = [
        Option(d.code, d.name(actor.locale), opens=bool(taxonomy.disciplines(d.code)))
        for d in browsed
    ]
    toggles = {o.value for o in top if not o.opens}
    chosen = [
        Option(d.code, d.name(actor.locale))
        for d in (taxonomy.discipline(code) for code in draft.get("fields") or [])
        if d is not None and d.code not in toggles
    ]
    return chosen + top


def is_discipline(code: str) -> bool:
    return taxonomy.discipline(code) is not None


def search_fields(text: str, actor: Actor) -> list[Option]:
    """The disciplines typed words stand for, as a specialist typing them would get."""
    return [Option(d.code, d.name(actor.locale)) for d in taxonomy.fields_for(text)]


def field_names(actor: Actor, codes: object) -> str:
    found = (taxonomy.discipline(str(code)) for code in codes) if isinstance(codes, list) else ()
    return actor.t("list.items").join(d.name(actor.locale) for d in found if d is not None)


def parse_keywords(text: str, actor: Actor, draft: Draft) -> list[str]:
    return keyword_list(text, most=KEYWORDS_MOST, longest=KEYWORD_LONGEST)


def mode_options(actor: Actor, draft: Draft) -> list[Option]:
    return [
        Option("onsite", actor.t("demand.mode_onsite")),
        Option("remote", actor.t("demand.mode_remote")),
        Option("either", actor.t("demand.mode_either")),
    ]


def urgency_options(actor: Actor, draft: Draft) -> list[Option]:
    return [
        Option("urgent", actor.t("demand.urgency_urgent")),
        Option("normal", actor.t("demand.urgency_normal")),
        Option("flexible", actor.t("demand.urgency_flexible")),
    ]


def start_options(actor: Actor, draft: Draft) -> list[Option]:
    return [Option(ASAP, actor.t("demand.start_asap"))]


def parse_start(text: str, actor: Actor, draft: Draft) -> str:
    return date_on_or_after(text, earliest=actor.services.today()).isoformat()


def start_text(actor: Actor, value: object) -> str:
    return actor.t("demand.start_asap") if value == ASAP else str(value)


def voucher_options(actor: Actor, draft: Draft) -> list[Option]:
    return [
        Option("yes", actor.t("demand.voucher_yes")),
        Option("no", actor.t("demand.voucher_no")),
    ]


def limits(low: int, high: int) -> dict[str, object]:
    return {"low": low, "high": high}


DISCIPLINES = Field(
    "fields",
    "demand.ask_fields",
    "demand.label_fields",
    options=field_options,
    accepts=is_discipline,
    multi=True,
    search=search_fields,
    render=field_names,
)

FIELDS = (
    Field(
        "title",
        "demand.ask_title",
        "demand.label_title",
        parse=lambda text, actor, draft: text_between(text, low=TITLE_MIN, high=TITLE_MAX),
        prompt_params=lambda actor, draft: limits(TITLE_MIN, TITLE_MAX),
    ),
    Field(
        "description",
        "demand.ask_description",
        "demand.label_description",
        parse=lambda text, actor, draft: text_between(
            text, low=DESCRIPTION_MIN, high=DESCRIPTION_MAX
        ),
        prompt_params=lambda actor, draft: limits(DESCRIPTION_MIN, DESCRIPTION_MAX),
    ),
    Field("kind", "demand.ask_kind", "demand.label_kind", options=kind_options),
    DISCIPLINES,
    Field(
        "keywords",
        "demand.ask_keywords",
        "demand.label_keywords",
        parse=parse_keywords,
        optional=True,
        prompt_params=lambda actor, draft: {"most": KEYWORDS_MOST},
    ),
    Field("work_mode", "demand.ask_mode", "demand.label_mode", options=mode_options),
    Field("urgency", "demand.ask_urgency", "demand.label_urgency", options=urgency_options),
    Field(
        "desired_start",
        "demand.ask_start",
        "demand.label_start",
        options=start_options,
        parse=parse_start,
        optional=True,
        render=start_text,
        prompt_params=lambda actor, draft: {"example": next_month(actor.services.today())},
    ),
    Field(
        "expected_outcome",
        "demand.ask_outcome",
        "demand.label_outcome",
        parse=lambda text, actor, draft: text_between(text, low=OUTCOME_MIN, high=OUTCOME_MAX),
        prompt_params=lambda actor, draft: limits(OUTCOME_MIN, OUTCOME_MAX),
    ),
    Field("voucher", "demand.ask_voucher", "demand.label_voucher", options=voucher_options),
)


def start_date(actor: Actor, value: str | None) -> dt.date | None:
    """ "As soon as possible" is the day the demand is confirmed, in the bot's time zone."""
    if value == ASAP:
        return actor.services.today()
    return dt.date.fromisoformat(value) if value else None


def details_from(actor: Actor, draft: Draft) -> DemandDetails:
    return DemandDetails(
        title=draft["title"],
        description=draft["description"],
        kind=draft["kind"],
        fields=tuple(draft["fields"]),
        keywords=tuple(draft.get("keywords") or ()),
        work_mode=draft["work_mode"],
        urgency=draft["urgency"],
        desired_start=start_date(actor, draft.get("desired_start")),
        expected_outcome=draft["expected_outcome"],
        voucher_interest=draft["voucher"] == "yes",
    )


def draft_of(demand: Demand) -> Draft:
    """A stored demand as a draft of the form; `demand_id` makes confirming an edit."""
    return {
        "demand_id": demand.id,
        "title": demand.title,
        "description": demand.description,
        "kind": demand.kind,
        "fields": list(demand.fields),
        "keywords": list(demand.keywords) or None,
        "work_mode": demand.work_mode,
        "urgency": demand.urgency,
        "desired_start": demand.desired_start.isoformat() if demand.desired_start else None,
        "expected_outcome": demand.expected_outcome,
        "voucher": "yes" if demand.voucher_interest else "no",
    }


async def confirm_demand(chat: Chat, draft: Draft) -> None:
    """File the new demand as open, or store the edit of an existing one."""
    actor = chat.actor
    svc = actor.services
    details = details_from(actor, draft)
    demand_id = draft.get("demand_id")
    if isinstance(demand_id, int):
        edited = await update_demand(
            db=svc.db,
            owner_user_id=actor.user_id,
            demand_id=demand_id,
            details=details,
            now=svc.clock.now(),
        )
        await chat.reply(actor.t("demand.updated") if edited else actor.t("demand.not_editable"))
        return
    demand = await create_demand(
        db=svc.db, owner_user_id=actor.user_id, details=details, now=svc.clock.now()
    )
    if demand is None:
        await chat.reply(actor.t("demand.register_first"))
        await open_form(REGISTER_FIRST, chat)
        return
    await chat.reply(actor.t("demand.filed", title=demand.title))
    svc.schedule_round()  # candidates now rather than at the next scheduled round


DEMAND = Form(flow=FLOW, fields=FIELDS, summary="demand.summary", confirm=confirm_demand)


async def register_then_file(chat: Chat, draft: Draft) -> None:
    """The registration /new_demand asked for is stored; the demand form follows at once."""
    actor = chat.actor
    await enterprise.save_registration(actor, draft)
    await chat.reply(actor.t("demand.registered_now_demand"))
    await open_form(DEMAND, chat)


# The registration form under its own flow name, so that confirming it continues to the demand.
REGISTER_FIRST = dataclasses.replace(
    enterprise.REGISTRATION, flow="entd", confirm=register_then_file
)
FORMS = {form_.flow: form_ for form_ in (DEMAND, REGISTER_FIRST)}


async def enterprise_actor(chat: Chat) -> Actor | None:
    """The acting user when they are an enterprise; anyone else is told how to become one."""
    actor = chat.actor
    if actor.user.role == Role.ENTERPRISE:
        return actor
    await chat.reply(actor.t("demand.enterprises_only"))
    return None


async def new_demand(chat: Chat) -> None:
    """/new_demand: the demand form, after registration for an enterprise not yet registered."""
    actor = await enterprise_actor(chat)
    if actor is None:
        return
    dialogue = await load_dialogue(db=actor.services.db, user_id=actor.user_id)
    forms = {**FORMS, enterprise.FLOW: enterprise.REGISTRATION}
    if dialogue is not None and dialogue.flow in forms:
        await chat.reply(actor.t("demand.in_progress"))
        await resume_form(forms[dialogue.flow], chat, dialogue)
        return
    if await get_enterprise(db=actor.services.db, owner_user_id=actor.user_id) is None:
        await chat.reply(actor.t("demand.register_first"))
        await chat.reply(actor.t("enterprise.intro"))
        await open_form(REGISTER_FIRST, chat)
        return
    await chat.reply(actor.t("demand.intro"))
    await open_form(DEMAND, chat)


# --- /my_demands ----------------------------------------------------------------------


def status_text(actor: Actor, demand: Demand) -> str:
    if demand.status == DemandStatus.CLOSED:
        reasons = close_reasons(actor)
        return actor.t("demand.status_closed", reason=reasons.get(demand.close_reason or "", ""))
    labels = {
        DemandStatus.OPEN: actor.t("demand.status_open"),
        DemandStatus.PAUSED: actor.t("demand.status_paused"),
        DemandStatus.MATCHED: actor.t("demand.status_matched"),
    }
    return labels.get(DemandStatus(demand.status), demand.status)


def close_reasons(actor: Actor) -> dict[str, str]:
    return {
        "solved": actor.t("demand.close_solved"),
        "not_needed": actor.t("demand.close_not_needed"),
        "elsewhere": actor.t("demand.close_elsewhere"),
    }


def counts_text(actor: Actor, overview: DemandOverview) -> Markup:
    counts = overview.counts
    return actor.t(
        "demand.counts",
        proposed=counts.proposed,
        accepted=counts.accepted,
        declined=counts.declined,
    )


async def list_view(actor: Actor, page: int) -> tuple[Markup, Keyboard]:
    """One page of the enterprise's demands, newest first, each with a button to open it."""
    total, overviews = await list_demands(
        db=actor.services.db,
        owner_user_id=actor.user_id,
        limit=LIST_PAGE,
        offset=page * LIST_PAGE,
    )
    if total == 0:
        return actor.t("demand.none_yet"), ()
    lines = [actor.t("demand.list_heading", total=total)]
    buttons: list[list[Pair]] = []
    for number, overview in enumerate(overviews, page * LIST_PAGE + 1):
        demand = overview.demand
        lines.append(
            actor.t(
                "demand.list_line",
                number=number,
                title=demand.title,
                status=status_text(actor, demand),
                counts=counts_text(actor, overview),
            )
        )
        title = demand.title
        short = title if len(title) <= TITLE_ON_BUTTON else title[: TITLE_ON_BUTTON - 1] + "…"
        buttons.append([(f"{number}. {short}", pack("dmy", "open", demand.id or 0))])
    pages = -(-total // LIST_PAGE)
    if pages > 1:
        buttons.append(
            [
                ("‹", pack("dmy", "list", (page - 1) % pages)),
                (f"{page + 1}/{pages}", pack("dmy", "list", page)),
                ("›", pack("dmy", "list", (page + 1) % pages)),
            ]
        )
    return Markup("\n".join(lines)), inline(buttons)


def demand_view(actor: Actor, overview: DemandOverview) -> tuple[Markup, Keyboard]:
    """One demand as filed, its status and counts, and what can be done to it now."""
    demand = overview.demand
    draft = draft_of(demand)
    lines = [
        actor.t("demand.view_heading", title=demand.title, status=status_text(actor, demand)),
        counts_text(actor, overview),
    ]
    for field in FIELDS[1:]:  # the title is the heading
        value = render_value(actor, field, draft)
        lines.append(actor.t("form.summary_line", label=actor.t(field.label), value=value))
    ref = demand.id or 0
    row: list[Pair] = []
    if demand.status in EDITABLE:
        row.append((actor.t("demand.edit"), pack("dmy", "edit", ref)))
    if demand.status == DemandStatus.OPEN:
        row.append((actor.t("demand.pause"), pack("dmy", "pause", ref)))
    if demand.status == DemandStatus.PAUSED:
        row.append((actor.t("demand.resume"), pack("dmy", "resume", ref)))
    if demand.status in CLOSABLE:
        row.append((actor.t("demand.close"), pack("dmy", "close", ref)))
    rows = [row] if row else []
    if demand.status == DemandStatus.MATCHED:
        rows.append([(actor.t("engagement.open_from_demand"), pack("eng", "dem", ref))])
    if overview.counts.waiting:
        rows.append([(actor.t("candidate.list_button"), pack("ca", "list", ref))])
    rows.append([(actor.t("demand.back_to_list"), pack("dmy", "list", 0))])
    return Markup("\n".join(lines)), inline(rows)


def close_view(actor: Actor, demand: Demand) -> tuple[Markup, Keyboard]:
    """Why the demand is being closed: one button per reason, or back to the demand."""
    ref = demand.id or 0
    rows = [
        [(label, pack("dmy", "reason", f"{ref}.{reason}"))]
        for reason, label in close_reasons(actor).items()
    ]
    rows.append([(actor.t("form.back"), pack("dmy", "open", ref))])
    return actor.t("demand.close_why", title=demand.title), inline(rows)


async def my_demands(chat: Chat) -> None:
    """/my_demands: the enterprise's demands with status and proposal counts."""
    actor = await enterprise_actor(chat)
    if actor is None:
        return
    text, keyboard = await list_view(actor, 0)
    await chat.reply(text, keyboard)


async def on_demand_button(chat: Chat) -> None:
    """A button of /my_demands, applied to the user's own demand only, guarded on its status."""
    match = chat.match
    assert match is not None
    actor = chat.actor
    action, arg = match["action"], match["arg"]
    # A page number never carries a close reason: "list:2.solved" is forged.
    if arg is None or (action == "list" and "." in arg):
        await chat.notice(actor.t("button.unknown"))
        return
    if action == "list":
        await chat.notice()
        await _show(chat, *await list_view(actor, int(arg)))
        return
    ref, _, reason = arg.partition(".")
    svc, demand_id = actor.services, int(ref)
    overview = await get_demand(db=svc.db, owner_user_id=actor.user_id, demand_id=demand_id)
    if overview is None:
        await chat.notice(actor.t("demand.not_found"))
        return
    demand = overview.demand
    if action == "edit" and demand.status in EDITABLE:
        await chat.notice()
        await chat.strip()
        await open_form(DEMAND, chat, draft_of(demand))
        return
    if action == "close" and demand.status in CLOSABLE:
        await chat.notice()
        await _show(chat, *close_view(actor, demand))
        return
    if (action == "reason") != bool(reason):
        await chat.notice(actor.t("button.unknown"))
        return
    if action == "open":
        await chat.notice()
    elif action in ("pause", "resume", "reason"):
        changed = await _apply(actor, action, demand_id, reason)
        await chat.notice(
            actor.t("demand.done") if changed else actor.t("demand.changed_meanwhile")
        )
    else:  # edit or close, pressed after the demand moved to a status that no longer allows it
        await chat.notice(actor.t("demand.changed_meanwhile"))
    fresh = await get_demand(db=svc.db, owner_user_id=actor.user_id, demand_id=demand_id)
    assert fresh is not None
    await _show(chat, *demand_view(actor, fresh))


async def _apply(actor: Actor, action: str, demand_id: int, reason: str) -> bool:
    """Pause, resume or close: True when the guarded change applied."""
    db, owner, now = actor.services.db, actor.user_id, actor.services.clock.now()
    if action == "pause":
        return await pause_demand(db=db, owner_user_id=owner, demand_id=demand_id, now=now)
    if action == "resume":
        return await resume_demand(db=db, owner_user_id=owner, demand_id=demand_id, now=now)
    return await close_demand(
        db=db, owner_user_id=owner, demand_id=demand_id, reason=reason, now=now
    )


async def _show(chat: Chat, text: str, keyboard: Keyboard) -> None:
    """Replace the pressed message in place (the list, a demand or the close question)."""
    await chat.replace(chat.message, text, keyboard)


async def on_input(chat: Chat, dialogue: Dialogue) -> None:
    """Typed or shared answers while the demand form (or the registration before it) waits."""
    await form.on_input(FORMS[dialogue.flow], chat, dialogue)


def register(router: Router) -> None:
    router.command("new_demand", new_demand)
    router.command("my_demands", my_demands)
    router.button(DEMAND_BUTTON, on_demand_button)
    for form_ in FORMS.values():
        form.register(form_, router)
        router.dialogue(form_.flow, on_input)
