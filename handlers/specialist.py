"""Specialist registration and profile: who they are, what they know, with whom, where
and how much they can give.

    begin_registration ─> name ─> institution [─> did you mean a listed or known one?]
        ─> institution type ─> location ─> title (may skip) ─> disciplines (two levels,
        or typed words) ─> expertise ─> keywords ─> team (may skip) ─> on site or remote
        [─> cities] ─> days a month ─> from ─> until (may skip) ─> capacity ─> mobile
        ─> summary ─confirm─> saved: new ones wait for a coordinator (handlers.approvals)
    show_profile ─> status, then the same form opened on its summary to edit

Built on the guided-form engine: every answer is kept in SQL as it is given, so
a restart loses nothing, and every step has Back and Cancel. Institutions are
typed, and compared with Liaoning's universities and institutes (shipped with
the bot, storage/data/institutions.json) and the spellings other specialists
used, so one university is not stored five ways.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from rapidfuzz import fuzz, process

from handlers import approvals, form
from handlers.actor import Actor
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.dates import months_after, next_month
from handlers.form import Draft, Field, Form, Option, open_form
from handlers.i18n import SUPPORTED_LOCALES
from handlers.specialist_views import (
    INSTITUTION_TYPES,
    LOCATIONS,
    REACH,
    TITLES,
    capacity_text,
    cities_text,
    days_text,
    disciplines_text,
    label,
    status_text,
    team_text,
)
from handlers.validators import (
    Invalid,
    date_on_or_after,
    integer_between,
    keyword_list,
    phone,
    text_between,
)
from matching import taxonomy
from storage.dialogues import load_dialogue
from storage.institutions import (
    close_institutions,
    institution_key,
    listed_institution,
    unit_as_typed,
)
from storage.models import Dialogue, Specialist
from storage.specialists import (
    SpecialistProfile,
    get_specialist,
    known_institutions,
    save_specialist,
)

FLOW = "spec"
NAME_MIN, NAME_MAX = 2, 64
INSTITUTION_MIN, INSTITUTION_MAX = 2, 128
TITLE_MIN, TITLE_MAX = 2, 64
EXPERTISE_MIN, EXPERTISE_MAX = 10, 1000
KEYWORDS_MOST, KEYWORD_LONGEST = 10, 30
TEAM_MOST = 10
MEMBER_NAME_MIN, MEMBER_NAME_MAX = 2, 32
MEMBER_FIELD_MIN, MEMBER_FIELD_MAX = 2, 64
DAYS_CHOICES, DAYS_MAX = (1, 2, 4, 6, 8, 10), 31
CAPACITY_CHOICES, CAPACITY_MAX = (1, 2, 3, 4, 5), 10
INSTITUTION_SUGGESTIONS, INSTITUTION_CUTOFF = 4, 85
KEEP_TYPED = "typed"


# --- institution: typed, checked against Liaoning's list and the spellings known -------


async def parse_institution(text: str, actor: Actor, draft: Draft) -> str | list[Option]:
    """A listed institution's official name when typed so (in the script typed), or a known
    spelling when only width, case or spaces differ; a school of a listed or known unit as
    typed; close names to choose from (or keep the typed one); otherwise the name as typed."""
    name = text_between(text, low=INSTITUTION_MIN, high=INSTITUTION_MAX)
    if listed := listed_institution(name):
        return listed.spelled_like(name)
    known = await known_institutions(db=actor.services.db)
    key = institution_key(name)
    if same := next((k for k in known if institution_key(k) == key), None):
        return same
    unit = unit_as_typed(name)
    if unit != name and (
        listed_institution(unit) or any(institution_key(k) == institution_key(unit) for k in known)
    ):
        return name  # "大连理工大学材料科学与工程学院" counts for its university as it is
    close = [
        spelling
        for spelling, _score, _index in process.extract(
            name,
            known,
            scorer=fuzz.WRatio,
            processor=institution_key,
            limit=INSTITUTION_SUGGESTIONS,
            score_cutoff=INSTITUTION_CUTOFF,
        )
    ]
    offered = {institution_key(spelling) for spelling in close}
    for institution in close_institutions(name, limit=INSTITUTION_SUGGESTIONS):
        if offered.isdisjoint({institution_key(institution.zh), institution_key(institution.en)}):
            close.append(institution.spelled_like(name))
            offered.add(institution_key(close[-1]))
    if not close:
        return name
    options = [Option(f"k{i}", k, keeps=k) for i, k in enumerate(close[:INSTITUTION_SUGGESTIONS])]
    return [*options, Option(KEEP_TYPED, actor.t("specialist.keep_typed") + name, keeps=name)]


# --- choices -------------------------------------------------------------------------


def coded(labels: dict[str, str]) -> Callable[[Actor, Draft], list[Option]]:
    """Options from a code -> message id mapping, in the user's language."""
    return lambda actor, draft: [Option(code, actor.t(msgid)) for code, msgid in labels.items()]


def parse_title(text: str, actor: Actor, draft: Draft) -> str:
    """A typed title: the code of a listed one when it is typed in any language, else the text."""
    title = text_between(text, low=TITLE_MIN, high=TITLE_MAX)
    catalogs = actor.services.catalogs
    for code, msgid in TITLES.items():
        if any(
            catalogs.translate(locale, msgid).casefold() == title.casefold()
            for locale in SUPPORTED_LOCALES
        ):
            return code
    return title


def _discipline_rank(code: str) -> tuple[int, str]:
    """Engineering first, then agriculture, medicine, sciences, humanities: what enterprises ask."""
    order = {"4": 0, "5": 0, "6": 0, "2": 1, "3": 2, "1": 3}
    return order.get(code[0], 4), code


def discipline_options(actor: Actor, draft: Draft) -> list[Option]:
    """First-level disciplines (those with branches open), or the opened one's branches."""
    group = DISCIPLINES.opened(draft)
    parent = taxonomy.discipline(group) if group else None
    if parent is not None:
        whole = Option(parent.code, f"{parent.name(actor.locale)} · {actor.t('specialist.whole')}")
        children = taxonomy.disciplines(parent.code)
        return [whole, *(Option(d.code, d.name(actor.locale)) for d in children)]
    tops = sorted(taxonomy.disciplines(), key=lambda d: _discipline_rank(d.code))
    return [
        Option(d.code, d.name(actor.locale), opens=bool(taxonomy.disciplines(d.code))) for d in tops
    ]


def search_disciplines(text: str, actor: Actor) -> list[Option]:
    """The disciplines typed words stand for, as an enterprise typing them would get."""
    return [Option(d.code, d.name(actor.locale)) for d in taxonomy.fields_for(text)]


def city_options(actor: Actor, draft: Draft) -> list[Option]:
    return [Option(c.code, c.name(actor.locale)) for c in taxonomy.cities()]


def search_cities(text: str, actor: Actor) -> list[Option]:
    """Cities typed by name, several at once: "大连 沈阳", "Dalian, Anshan"."""
    found = (taxonomy.city_by_name(word) for word in re.split(r"[,，、;；\s]+", text) if word)
    return list({c.code: Option(c.code, c.name(actor.locale)) for c in found if c}.values())


_TEAM_SEPARATORS = (" - ", " – ", " — ", "：", ":", "—", "－", "–", "，", ",", "-")


def parse_team(text: str, actor: Actor, draft: Draft) -> list[dict[str, str]]:
    """One member a line, "name - field"; up to TEAM_MOST members."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > TEAM_MOST:
        raise Invalid("specialist.invalid_team_size", high=TEAM_MOST, count=len(lines))
    members = []
    for number, line in enumerate(lines, 1):
        separator = next((s for s in _TEAM_SEPARATORS if s in line), None)
        name, _, field = line.partition(separator) if separator else (line, "", "")
        name, field = name.strip(), field.strip()
        if not (
            MEMBER_NAME_MIN <= len(name) <= MEMBER_NAME_MAX
            and MEMBER_FIELD_MIN <= len(field) <= MEMBER_FIELD_MAX
        ):
            raise Invalid("specialist.invalid_team_line", number=number, line=line[:40])
        members.append({"name": name, "field": field})
    return members


def number_options(choices: tuple[int, ...]) -> Callable[[Actor, Draft], list[Option]]:
    return lambda actor, draft: [Option(str(n), str(n)) for n in choices]


def start_options(actor: Actor, draft: Draft) -> list[Option]:
    today = actor.services.today()
    next_month = months_after(today.replace(day=1), 1)
    return [
        Option(today.isoformat(), actor.t("specialist.from_now")),
        Option(next_month.isoformat(), next_month.isoformat()),
    ]


def _start(actor: Actor, draft: Draft) -> dt.date:
    chosen = draft.get("available_from")
    return dt.date.fromisoformat(chosen) if chosen else actor.services.today()


def end_options(actor: Actor, draft: Draft) -> list[Option]:
    start = _start(actor, draft)
    return [
        Option(
            months_after(start, months).isoformat(),
            actor.t(msgid, date=months_after(start, months).isoformat()),
        )
        for months, msgid in (
            (3, "specialist.until_3_months"),
            (6, "specialist.until_6_months"),
            (12, "specialist.until_1_year"),
        )
    ]


def _date_text(actor: Actor, value: Any) -> str:
    """A date as stored (ISO), typed or picked alike."""
    return str(value)


DISCIPLINES = Field(
    "disciplines",
    "specialist.ask_disciplines",
    "specialist.label_disciplines",
    options=discipline_options,
    multi=True,
    search=search_disciplines,
    accepts=lambda code: taxonomy.discipline(code) is not None,
    render=disciplines_text,
)

FIELDS = (
    Field(
        "name",
        "specialist.ask_name",
        "specialist.label_name",
        parse=lambda text, actor, draft: text_between(text, low=NAME_MIN, high=NAME_MAX),
    ),
    Field(
        "institution",
        "specialist.ask_institution",
        "specialist.label_institution",
        parse=parse_institution,
    ),
    Field(
        "institution_type",
        "specialist.ask_institution_type",
        "specialist.label_institution_type",
        options=coded(INSTITUTION_TYPES),
    ),
    Field(
        "location",
        "specialist.ask_location",
        "specialist.label_location",
        options=coded(LOCATIONS),
    ),
    Field(
        "title",
        "specialist.ask_title",
        "specialist.label_title",
        options=coded(TITLES),
        parse=parse_title,
        optional=True,
        render=lambda actor, value: label(actor, TITLES, value),
    ),
    DISCIPLINES,
    Field(
        "expertise",
        "specialist.ask_expertise",
        "specialist.label_expertise",
        parse=lambda text, actor, draft: text_between(text, low=EXPERTISE_MIN, high=EXPERTISE_MAX),
        prompt_params=lambda actor, draft: {"high": EXPERTISE_MAX},
    ),
    Field(
        "keywords",
        "specialist.ask_keywords",
        "specialist.label_keywords",
        parse=lambda text, actor, draft: keyword_list(
            text, most=KEYWORDS_MOST, longest=KEYWORD_LONGEST
        ),
        prompt_params=lambda actor, draft: {"most": KEYWORDS_MOST},
    ),
    Field(
        "team",
        "specialist.ask_team",
        "specialist.label_team",
        parse=parse_team,
        optional=True,
        render=team_text,
        prompt_params=lambda actor, draft: {"most": TEAM_MOST},
    ),
    Field("reach", "specialist.ask_reach", "specialist.label_reach", options=coded(REACH)),
    Field(
        "cities",
        "specialist.ask_cities",
        "specialist.label_cities",
        options=city_options,
        multi=True,
        search=search_cities,
        when=lambda draft: draft.get("reach") == "onsite",
        render=cities_text,
    ),
    Field(
        "days_per_month",
        "specialist.ask_days",
        "specialist.label_days",
        options=number_options(DAYS_CHOICES),
        parse=lambda text, actor, draft: str(integer_between(text, low=1, high=DAYS_MAX)),
        render=days_text,
    ),
    Field(
        "available_from",
        "specialist.ask_from",
        "specialist.label_from",
        options=start_options,
        prompt_params=lambda actor, draft: {"example": next_month(actor.services.today())},
        parse=lambda text, actor, draft: date_on_or_after(
            text, earliest=actor.services.today()
        ).isoformat(),
        render=_date_text,
    ),
    Field(
        "available_to",
        "specialist.ask_to",
        "specialist.label_to",
        options=end_options,
        parse=lambda text, actor, draft: date_on_or_after(
            text, earliest=_start(actor, draft)
        ).isoformat(),
        optional=True,
        render=_date_text,
    ),
    Field(
        "capacity",
        "specialist.ask_capacity",
        "specialist.label_capacity",
        options=number_options(CAPACITY_CHOICES),
        parse=lambda text, actor, draft: str(integer_between(text, low=1, high=CAPACITY_MAX)),
        render=capacity_text,
        prompt_params=lambda actor, draft: {"high": CAPACITY_MAX},
    ),
    Field(
        "phone",
        "specialist.ask_phone",
        "specialist.label_phone",
        contact=True,
        parse=lambda text, actor, draft: phone(text),
    ),
)


# --- draft <-> stored record ---------------------------------------------------------


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def profile_from(draft: Draft) -> SpecialistProfile:
    remote = draft["reach"] == "remote"
    return SpecialistProfile(
        name=draft["name"],
        institution=draft["institution"],
        institution_type=draft["institution_type"],
        location=draft["location"],
        title=draft.get("title") or "",
        disciplines=list(draft["disciplines"]),
        expertise=draft["expertise"],
        keywords=list(draft["keywords"]),
        team=list(draft.get("team") or []),
        cities=[] if remote else list(draft.get("cities") or []),
        remote_only=remote,
        days_per_month=int(draft["days_per_month"]),
        available_from=_date(draft.get("available_from")),
        available_to=_date(draft.get("available_to")),
        capacity=int(draft["capacity"]),
        phone=draft["phone"],
    )


def draft_from(specialist: Specialist) -> Draft:
    s = specialist
    draft: Draft = {
        "name": s.name,
        "institution": s.institution,
        "institution_type": s.institution_type,
        "location": s.location,
        "title": s.title or None,
        "disciplines": list(s.disciplines),
        "expertise": s.expertise,
        "keywords": list(s.keywords),
        "team": list(s.team) or None,
        "reach": "remote" if s.remote_only else "onsite",
        "days_per_month": str(s.days_per_month),
        "available_from": s.available_from.isoformat() if s.available_from else None,
        "available_to": s.available_to.isoformat() if s.available_to else None,
        "capacity": str(s.capacity),
        "phone": s.phone,
    }
    if not s.remote_only:
        draft["cities"] = list(s.cities)
    return draft


# --- the flow ------------------------------------------------------------------------


async def confirm_profile(chat: Chat, draft: Draft) -> None:
    """Save; a new (or resubmitted, or still pending) profile goes to the coordinators."""
    actor = chat.actor
    profile = profile_from(draft)
    if (
        profile.available_to
        and profile.available_from
        and profile.available_to < profile.available_from
    ):
        await chat.reply(actor.t("specialist.invalid_period"))
        await open_form(PROFILE, chat, draft)
        return
    saved = await save_specialist(
        db=actor.services.db, user_id=actor.user_id, profile=profile, now=actor.services.clock.now()
    )
    if saved.needs_review:
        await chat.reply(actor.t("specialist.submitted"))
        await approvals.request_approval(actor.services, saved.specialist)
        return
    await chat.reply(
        actor.t(
            "specialist.saved", status=status_text(actor, saved.specialist, actor.services.today())
        )
    )


PROFILE = Form(flow=FLOW, fields=FIELDS, summary="specialist.summary", confirm=confirm_profile)


async def begin_registration(chat: Chat) -> None:
    """Start the specialist dialogue; resume it when one is under way, or edit a stored profile."""
    actor = chat.actor
    dialogue = await load_dialogue(db=actor.services.db, user_id=actor.user_id)
    if dialogue is not None and dialogue.flow == FLOW:
        await form.resume_form(PROFILE, chat, dialogue)
        return
    existing = await get_specialist(db=actor.services.db, user_id=actor.user_id)
    if existing is not None:
        await open_form(PROFILE, chat, draft_from(existing))
        return
    await chat.reply(actor.t("specialist.intro"))
    await open_form(PROFILE, chat)


async def show_profile(chat: Chat) -> None:
    """/profile for a specialist: their status, then the form on its summary to edit any field."""
    actor = chat.actor
    specialist = await get_specialist(db=actor.services.db, user_id=actor.user_id)
    dialogue = await load_dialogue(db=actor.services.db, user_id=actor.user_id)
    if specialist is None or (dialogue is not None and dialogue.flow == FLOW):
        await begin_registration(chat)
        return
    await chat.reply(
        actor.t(
            "specialist.profile_status",
            status=status_text(actor, specialist, actor.services.today()),
        )
    )
    await open_form(PROFILE, chat, draft_from(specialist))


async def on_input(chat: Chat, dialogue: Dialogue) -> None:
    await form.on_input(PROFILE, chat, dialogue)


def register(router: Router) -> None:
    form.register(PROFILE, router)
    router.dialogue(FLOW, on_input)
