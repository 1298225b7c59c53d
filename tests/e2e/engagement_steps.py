"""Steps the engagement journeys share: an enterprise and an approved specialist engaged on a
demand, made with the storage operations the chat uses (file, propose, accept, choose, and
the contact exchange when both agreed to share contacts), and the daily check-in job run as
the JobQueue would."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from channels.telegram.emulator.models import SentMessage, User
from handlers.engagement_checkins import ENGAGEMENT_CHECKINS, ask_enterprises, send_log_nudges
from handlers.services import Services
from storage.demands import DemandDetails, create_demand
from storage.engagements import EngagementCard, claim_contact_exchanges, engagement_card
from storage.enterprises import save_enterprise
from storage.models import Proposal, Role
from storage.privacy import record_contact_consent
from storage.proposals import NewProposal, accept_proposal, create_proposals, select_candidate
from storage.specialists import decide_specialist, get_specialist, save_specialist
from storage.users import record_consent, set_locale, set_role
from tests.e2e.conftest import COORDINATOR_ID, Journey
from tests.e2e.enterprise_steps import WANG_STEEL, stored_enterprise, user_id
from tests.e2e.specialist_helpers import PROFILE
from tests.people import touch_user

CASTING = DemandDetails(
    title="铸件气孔问题",
    description="铝合金铸件内部气孔多，废品率高，想找专家分析成因并改进工艺。",
    kind="technology",
    fields=("43050",),
    keywords=("铸造",),
    work_mode="either",
    urgency="normal",
    desired_start=None,
    expected_outcome="废品率降到3%以下",
    voucher_interest=True,
)


@dataclass(frozen=True)
class Engaged:
    enterprise: User
    specialist: User
    engagement_id: int
    demand_id: int


def language(user: User) -> str:
    return "en" if (user.language_code or "").startswith("en") else "zh_CN"


async def known_user(
    j: Journey,
    telegram_id: int,
    name: str,
    language_code: str,
    role: Role,
    *,
    share_contacts: bool = True,
) -> tuple[User, int]:
    """Someone who talked to the bot before (so it may write to them), consented (also to
    share contact details once matched, unless told not to) and chose a side; their
    language saved as chosen."""
    user = j.emulator.add_user(
        user_id=telegram_id, first_name=name, language_code=language_code, started=True
    )
    now = j.clock.now()
    stored = await touch_user(db=j.db, telegram_id=telegram_id, now=now)
    assert stored.id is not None
    await record_consent(db=j.db, user_id=stored.id, first_name=name, now=now)
    await set_role(db=j.db, user_id=stored.id, role=role)
    await set_locale(db=j.db, user_id=stored.id, locale=language(user))
    if share_contacts:
        await record_contact_consent(db=j.db, user_id=stored.id, now=now)
    return user, stored.id


async def approved_specialist(
    j: Journey,
    telegram_id: int,
    name: str,
    language_code: str = "zh-hans",
    *,
    share_contacts: bool = True,
    **changes: object,
) -> User:
    """A specialist who registered and was approved, without the dialogues."""
    user, stored_id = await known_user(
        j, telegram_id, name, language_code, Role.SPECIALIST, share_contacts=share_contacts
    )
    now = j.clock.now()
    profile = dataclasses.replace(PROFILE, name=name, **changes)  # type: ignore[arg-type]
    saved = await save_specialist(db=j.db, user_id=stored_id, profile=profile, now=now)
    boss = await touch_user(db=j.db, telegram_id=COORDINATOR_ID, now=now)
    assert saved.specialist.id is not None and boss.id is not None
    decided = await decide_specialist(
        db=j.db,
        specialist_id=saved.specialist.id,
        coordinator_user_id=boss.id,
        decision="approve",
        now=now,
    )
    assert decided is not None
    return user


async def enterprise(
    j: Journey,
    telegram_id: int,
    first_name: str,
    language_code: str = "zh-hans",
    *,
    share_contacts: bool = True,
    **changes: str,
) -> User:
    """An enterprise user whose registration is stored (王工's steel company unless changed)."""
    user, stored_id = await known_user(
        j, telegram_id, first_name, language_code, Role.ENTERPRISE, share_contacts=share_contacts
    )
    details = dataclasses.replace(WANG_STEEL, **changes)
    await save_enterprise(db=j.db, owner_user_id=stored_id, details=details, now=j.clock.now())
    return user


async def engage(
    j: Journey, company: User, expert: User, details: DemandDetails = CASTING
) -> Engaged:
    """The enterprise files a demand, it is proposed to the specialist, who accepts; the
    enterprise chooses them: an active engagement, as the chat makes it (contacts
    exchanged when both sides agreed to share them)."""
    now = j.clock.now()
    demand = await create_demand(
        db=j.db, owner_user_id=await user_id(j, company.id), details=details, now=now
    )
    specialist = await get_specialist(db=j.db, user_id=await user_id(j, expert.id))
    assert demand is not None and demand.id is not None
    assert specialist is not None and specialist.id is not None
    [proposal] = await create_proposals(
        db=j.db, proposals=[NewProposal(demand.id, specialist.id, 0.8, [])], now=now
    )
    assert proposal.id is not None
    async with j.db.transaction() as session:  # delivered to the specialist, as a round does
        delivered = await session.get(Proposal, proposal.id)
        assert delivered is not None
        delivered.notified_at = now
    accepted = await accept_proposal(
        db=j.db, proposal_id=proposal.id, version=1, specialist_id=specialist.id, now=now
    )
    assert accepted == "done"
    owned = await stored_enterprise(j, company.id)
    assert owned.id is not None
    selection = await select_candidate(
        db=j.db, proposal_id=proposal.id, version=2, enterprise_id=owned.id, now=now
    )
    assert selection.engagement is not None and selection.engagement.id is not None
    await claim_contact_exchanges(
        db=j.db,
        user_id=await user_id(j, company.id),
        now=now,
        engagement_id=selection.engagement.id,
    )
    return Engaged(company, expert, selection.engagement.id, demand.id)


async def card(j: Journey, engagement_id: int) -> EngagementCard:
    found = await engagement_card(db=j.db, engagement_id=engagement_id)
    assert found is not None
    return found


def services(j: Journey) -> Services:
    return j.services


async def nudge(j: Journey) -> int:
    """The weekly "please log your work" part of the daily job, run now."""
    sent = await send_log_nudges(j.services)
    await j.settle()
    return sent


async def ask(j: Journey) -> int:
    """The monthly "is the work going well?" part of the daily job, run now."""
    asked = await ask_enterprises(j.services)
    await j.settle()
    return asked


async def run_daily_job(j: Journey) -> None:
    """The whole daily job, as the JobQueue runs it (claimed once per slot)."""
    await j.run_job(ENGAGEMENT_CHECKINS)


def local(year: int, month: int, day: int, hour: int = 10) -> dt.datetime:
    """An instant in Shanghai time (BOT_TIMEZONE in the tests)."""
    return dt.datetime(year, month, day, hour, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def last(messages: list[SentMessage]) -> SentMessage:
    assert messages, "the bot sent nothing"
    return messages[-1]


async def forge(j: Journey, user: User, data: str) -> str | None:
    """Press a button with made-up data on a message in the user's own chat; the toast."""
    [anchor] = await j.send(user, "/help")
    await j.press_data(user, anchor.message_id, data)
    return j.answers(user)[-1]
