"""Enterprise registration: who the enterprise is, where, in which industry, whom to call.

    begin_registration ─> name ─> credit code (may skip) ─> city [─> other city]
        ─> industry (section › division, or typed words) ─> size ─> contact person
        ─> mobile (share-contact button or typed) ─> summary ─confirm─> saved
    show_profile ─> the details ─edit─> the same form, opened on its summary

Built on the guided-form engine, so every answer is kept in SQL as it is given
and a restart loses nothing. The mobile question says that contact details go
to a specialist only after both sides agree to work together.
"""

from __future__ import annotations

from handlers import form
from handlers.actor import Actor
from handlers.callbacks import pack, pattern
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.core.views import inline
from handlers.form import Draft, Field, Form, Option, open_form, render_value
from handlers.i18n import Markup
from handlers.validators import Invalid, credit_code, phone, text_between
from matching import taxonomy
from storage.enterprises import EnterpriseDetails, get_enterprise, save_enterprise
from storage.models import Dialogue, Enterprise

FLOW = "ent"
PROFILE_BUTTON = pattern("entp", "edit")
NAME_MIN, NAME_MAX = 2, 100
CITY_MIN, CITY_MAX = 2, 64
CONTACT_MIN, CONTACT_MAX = 2, 64
OTHER_CITY = "other"


def city_options(actor: Actor, draft: Draft) -> list[Option]:
    """Liaoning's 14 cities in the official order, then "other" for a typed name."""
    return [Option(c.code, c.name(actor.locale)) for c in taxonomy.cities()] + [
        Option(OTHER_CITY, actor.t("enterprise.city_other"))
    ]


def parse_city(text: str, actor: Actor, draft: Draft) -> str:
    """A Liaoning city typed by name (大连市, dalian, ...) instead of pressed."""
    found = taxonomy.city_by_name(text)
    if found is None:
        raise Invalid("enterprise.invalid_city")
    return found.code


def industry_options(actor: Actor, draft: Draft) -> list[Option]:
    """GB/T 4754-2017 sections, or the divisions of the section the user opened."""
    section = INDUSTRY.opened(draft)
    if section:
        return [Option(d.code, d.name(actor.locale)) for d in taxonomy.industry_divisions(section)]
    return [Option(s.code, s.name(actor.locale), opens=True) for s in taxonomy.industry_sections()]


def is_division(code: str) -> bool:
    return any(d.code == code for d in taxonomy.industry_divisions())


def search_industries(text: str, actor: Actor) -> list[Option]:
    return [Option(d.code, d.name(actor.locale)) for d in taxonomy.search_industries(text)]


def industry_name(actor: Actor, code: object) -> str:
    """Section › division, so a division reads clearly out of its list."""
    division = taxonomy.industry(str(code))
    section = taxonomy.industry(division.section) if division else None
    if division is None or section is None:
        return str(code)
    return f"{section.name(actor.locale)} › {division.name(actor.locale)}"


def size_options(actor: Actor, draft: Draft) -> list[Option]:
    return [
        Option("micro", actor.t("enterprise.size_micro")),
        Option("small", actor.t("enterprise.size_small")),
        Option("medium", actor.t("enterprise.size_medium")),
        Option("large", actor.t("enterprise.size_large")),
    ]


INDUSTRY = Field(
    "industry",
    "enterprise.ask_industry",
    "enterprise.label_industry",
    options=industry_options,
    accepts=is_division,
    search=search_industries,
    render=industry_name,
)

FIELDS = (
    Field(
        "name",
        "enterprise.ask_name",
        "enterprise.label_name",
        parse=lambda text, actor, draft: text_between(text, low=NAME_MIN, high=NAME_MAX),
        prompt_params=lambda actor, draft: {"low": NAME_MIN, "high": NAME_MAX},
    ),
    Field(
        "credit_code",
        "enterprise.ask_credit_code",
        "enterprise.label_credit_code",
        parse=lambda text, actor, draft: credit_code(text),
        optional=True,
    ),
    Field(
        "city",
        "enterprise.ask_city",
        "enterprise.label_city",
        options=city_options,
        parse=parse_city,
    ),
    Field(
        "city_other",
        "enterprise.ask_city_other",
        "enterprise.label_city_other",
        parse=lambda text, actor, draft: text_between(text, low=CITY_MIN, high=CITY_MAX),
        when=lambda draft: draft.get("city") == OTHER_CITY,
    ),
    INDUSTRY,
    Field("size", "enterprise.ask_size", "enterprise.label_size", options=size_options),
    Field(
        "contact_name",
        "enterprise.ask_contact_name",
        "enterprise.label_contact_name",
        parse=lambda text, actor, draft: text_between(text, low=CONTACT_MIN, high=CONTACT_MAX),
    ),
    Field(
        "phone",
        "enterprise.ask_phone",
        "enterprise.label_phone",
        contact=True,
        parse=lambda text, actor, draft: phone(text),
    ),
)


def details_from(draft: Draft) -> EnterpriseDetails:
    """The confirmed draft as stored: an "other" city typed as a Liaoning one becomes its code."""
    city = str(draft["city"])
    if city == OTHER_CITY:
        typed = str(draft["city_other"])
        found = taxonomy.city_by_name(typed)
        city = found.code if found else typed
    return EnterpriseDetails(
        name=draft["name"],
        credit_code=draft.get("credit_code"),
        city=city,
        industry_code=draft["industry"],
        size=draft["size"],
        contact_name=draft["contact_name"],
        phone=draft["phone"],
    )


def draft_of(enterprise: Enterprise) -> Draft:
    """A stored enterprise as a draft of the form, to view or edit it."""
    known = taxonomy.city(enterprise.city) is not None
    draft: Draft = {
        "name": enterprise.name,
        "credit_code": enterprise.credit_code,
        "city": enterprise.city if known else OTHER_CITY,
        "industry": enterprise.industry_code,
        "size": enterprise.size,
        "contact_name": enterprise.contact_name,
        "phone": enterprise.phone,
    }
    if not known:
        draft["city_other"] = enterprise.city
    return draft


async def save_registration(actor: Actor, draft: Draft) -> Enterprise:
    return await save_enterprise(
        db=actor.services.db,
        owner_user_id=actor.user_id,
        details=details_from(draft),
        now=actor.services.clock.now(),
    )


async def confirm_registration(chat: Chat, draft: Draft) -> None:
    """Store the confirmed registration and say what comes next."""
    actor = chat.actor
    await save_registration(actor, draft)
    await chat.reply(actor.t("enterprise.saved"))


REGISTRATION = Form(
    flow=FLOW, fields=FIELDS, summary="enterprise.summary", confirm=confirm_registration
)


async def begin_registration(chat: Chat) -> None:
    """Register the user's enterprise; one already registered opens on its summary to edit."""
    actor = chat.actor
    enterprise = await get_enterprise(db=actor.services.db, owner_user_id=actor.user_id)
    if enterprise is not None:
        await open_form(REGISTRATION, chat, draft_of(enterprise))
        return
    await chat.reply(actor.t("enterprise.intro"))
    await open_form(REGISTRATION, chat)


def profile_text(actor: Actor, draft: Draft) -> Markup:
    lines = [actor.t("enterprise.profile")]
    for field in FIELDS:
        if field.asked(draft):
            value = render_value(actor, field, draft)
            lines.append(actor.t("form.summary_line", label=actor.t(field.label), value=value))
    lines.append(actor.t("enterprise.contact_privacy"))
    return Markup("\n".join(lines))


async def show_profile(chat: Chat) -> None:
    """The registration as stored, with a button to edit it; registration when there is none."""
    actor = chat.actor
    enterprise = await get_enterprise(db=actor.services.db, owner_user_id=actor.user_id)
    if enterprise is None:
        await begin_registration(chat)
        return
    await chat.reply(
        profile_text(actor, draft_of(enterprise)),
        inline([[(actor.t("enterprise.edit"), pack("entp", "edit"))]]),
    )


async def on_profile_button(chat: Chat) -> None:
    """Edit: the registration form opens on its summary with the stored values."""
    actor = chat.actor
    enterprise = await get_enterprise(db=actor.services.db, owner_user_id=actor.user_id)
    if enterprise is None:
        await chat.notice(actor.t("button.stale"))
        return
    await chat.notice()
    await chat.strip()
    await open_form(REGISTRATION, chat, draft_of(enterprise))


async def on_input(chat: Chat, dialogue: Dialogue) -> None:
    """Typed or shared answers while the registration form waits for one."""
    await form.on_input(REGISTRATION, chat, dialogue)


def register(router: Router) -> None:
    form.register(REGISTRATION, router)
    router.button(PROFILE_BUTTON, on_profile_button)
    router.dialogue(FLOW, on_input)
