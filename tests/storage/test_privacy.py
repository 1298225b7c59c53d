"""Personal data in storage: every column classified, a user's rows found through the foreign
keys, exported without the other side's personal data, erased leaving only figures, consent
withdrawn and contact consent given and taken back."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import JSON, BigInteger, LargeBinary, String, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from storage.audit import audit
from storage.clock import ManualClock
from storage.db import Database
from storage.dialogues import save_dialogue
from storage.engagements import claim_contact_exchanges, claim_contact_reminder
from storage.identities import find_user
from storage.inbox import accept_event
from storage.models import (
    Demand,
    Engagement,
    Enterprise,
    Identity,
    Proposal,
    Specialist,
    User,
    WorkLog,
)
from storage.privacy import (
    BY_ACCOUNT,
    NO_PERSONAL_DATA,
    NOT_PERSONAL,
    OTHER_SIDE,
    PERSONAL,
    SHARED,
    edges,
    erase_personal_data,
    export_personal_data,
    inactive_users,
    reachable_tables,
    record_contact_consent,
    withdraw_consent,
    withdraw_contact_consent,
)


def classified_columns(table_name: str) -> set[str]:
    """Columns that may hold text, JSON, bytes or a platform id: each must be declared one way."""
    table = SQLModel.metadata.tables[table_name]
    # sqlmodel's AutoString wraps String as a TypeDecorator: look at what it stores.
    kinds = {c.name: getattr(c.type, "impl", c.type) for c in table.columns}
    return {
        name
        for name, kind in kinds.items()
        if isinstance(kind, String | JSON | BigInteger | LargeBinary)
    }


def test_every_table_is_reachable_from_users_or_declared_free_of_personal_data() -> None:
    tables = set(SQLModel.metadata.tables)
    reachable = reachable_tables()
    assert {"enterprises", "demands", "proposals", "engagements", "work_logs"} <= reachable
    assert {"dialogues", "audit_events", "specialists"} <= reachable
    assert reachable | NO_PERSONAL_DATA | BY_ACCOUNT == tables, (
        "classify the new table in storage/privacy.py"
    )
    assert not reachable & (NO_PERSONAL_DATA | BY_ACCOUNT)


def test_every_text_json_and_telegram_id_column_is_classified() -> None:
    for name in reachable_tables() | BY_ACCOUNT:
        personal = PERSONAL.get(name, frozenset())
        plain = NOT_PERSONAL.get(name)
        assert plain is not None, f"{name}: classify its columns in storage/privacy.py"
        assert not personal & plain, name
        assert classified_columns(name) == personal | plain, name


def test_declarations_name_real_columns_and_keys() -> None:
    tables = SQLModel.metadata.tables
    for declared in (PERSONAL, NOT_PERSONAL):
        for name, columns in declared.items():
            assert columns <= set(tables[name].columns.keys()), name
    keys = {(e.child, e.column) for e in edges()}
    assert keys >= OTHER_SIDE
    for table, column in SHARED:
        assert column in PERSONAL[table]


@dataclass
class Pairing:
    owner: User
    enterprise: Enterprise
    matched: Demand
    open_demand: Demand
    expert: User
    specialist: Specialist
    rival: Specialist
    engagement: Engagement


ENTERPRISE_TEXTS = (
    "锦州恒信阀门有限公司",
    "91210700MA0TEST01X",
    "钱晓梅",
    "+8613912345678",
    "阀门密封面泄漏",
    "高压阀门密封面使用三个月后开始泄漏，需要分析材料与工艺原因",
    "泄漏率降到万分之一",
    "密封堆焊",
    "草稿里的半句话",
    "钱经理",
)
SPECIALIST_TEXTS = ("孙立新", "+8613611112222", "东北大学", "堆焊与表面工程", "周助理", "孙教授")
RIVAL_DECLINE = "这个月在国外开会，没有时间"
WORK_SUMMARY = "现场检测了三台阀门的密封面"


async def person(db: Database, now: dt.datetime, telegram_id: int, name: str, role: str) -> User:
    """Someone who registered on Telegram: their row, their account, and what they last typed
    still in the inbox."""
    row = User(
        first_name=name,
        role=role,
        locale="zh_CN",
        consent_at=now,
        created_at=now,
        last_seen_at=now,
    )
    async with db.transaction() as session:
        session.add(row)
        await session.flush()
        account = str(telegram_id)
        session.add(
            Identity(
                user_id=row.id,
                platform="telegram",
                account=account,
                address=account,
                created_at=now,
                last_seen_at=now,
            )
        )
    await accept_event(
        db=db,
        platform="telegram",
        event_id=f"{telegram_id}-last",
        person=f"telegram:{account}",
        body={"text": f"{name} typed this"},
        flood=None,
        now=now,
    )
    return row


def expert_profile(
    user: User, now: dt.datetime, name: str, phone: str, *, own_words: bool = True
) -> Specialist:
    return Specialist(
        user_id=user.id,
        name=name,
        institution="东北大学" if own_words else "大连理工大学",
        institution_type="university",
        location="liaoning",
        disciplines=["43050"],
        expertise="堆焊与表面工程" if own_words else "铸造缺陷分析",
        keywords=["堆焊"],
        team=[{"name": "周助理", "field": "无损检测"}] if own_words else [],
        phone=phone,
        status="approved",
        created_at=now,
        updated_at=now,
    )


async def pairing(db: Database, now: dt.datetime) -> Pairing:
    """An enterprise with a matched demand (engagement and a work log) and an open one
    (the same specialist accepted it; a rival declined it with a note)."""
    owner = await person(db, now, 7_700_001, "钱经理", "enterprise")
    expert = await person(db, now, 7_700_002, "孙教授", "specialist")
    other = await person(db, now, 7_700_003, "赵工", "specialist")
    async with db.transaction() as session:
        enterprise = Enterprise(
            owner_user_id=owner.id,
            name="锦州恒信阀门有限公司",
            credit_code="91210700MA0TEST01X",
            city="jinzhou",
            industry_code="34",
            size="medium",
            contact_name="钱晓梅",
            phone="+8613912345678",
            created_at=now,
            updated_at=now,
        )
        session.add(enterprise)
        await session.flush()
        demands = [
            Demand(
                enterprise_id=enterprise.id,
                title=title,
                description="高压阀门密封面使用三个月后开始泄漏，需要分析材料与工艺原因",
                kind="technology",
                fields=["43050"],
                keywords=["密封堆焊"],
                work_mode="onsite",
                urgency="normal",
                expected_outcome="泄漏率降到万分之一",
                status=status,
                created_at=now,
                updated_at=now,
            )
            for title, status in (("阀门密封面泄漏", "matched"), ("阀体铸件砂眼", "open"))
        ]
        session.add_all(demands)
        specialist = expert_profile(expert, now, "孙立新", "+8613611112222")
        rival = expert_profile(other, now, "赵文", "+8613700000003", own_words=False)
        session.add_all([specialist, rival])
        await session.flush()
        matched, open_demand = demands
        chosen = Proposal(
            demand_id=matched.id,
            specialist_id=specialist.id,
            status="selected",
            reasons=[{"kind": "terms", "values": ["密封堆焊"]}],
            proposed_at=now,
        )
        session.add_all(
            [
                chosen,
                Proposal(
                    demand_id=open_demand.id,
                    specialist_id=specialist.id,
                    status="accepted",
                    proposed_at=now,
                    notified_at=now,
                ),
                Proposal(
                    demand_id=open_demand.id,
                    specialist_id=rival.id,
                    status="declined",
                    decline_reason="no_time",
                    decline_text=RIVAL_DECLINE,
                    proposed_at=now,
                ),
            ]
        )
        await session.flush()
        engagement = Engagement(
            proposal_id=chosen.id,
            demand_id=matched.id,
            specialist_id=specialist.id,
            started_at=now,
        )
        session.add(engagement)
        await session.flush()
        session.add(
            WorkLog(
                engagement_id=engagement.id,
                work_date=now.date(),
                mode="onsite",
                hours=6,
                summary=WORK_SUMMARY,
                created_at=now,
            )
        )
        audit(session, now=now, actor_user_id=owner.id, action="demand.created")
    await save_dialogue(
        db=db,
        user_id=owner.id,
        flow="dem",
        step="title",
        data={"description": "草稿里的半句话"},
        now=now,
    )
    return Pairing(owner, enterprise, matched, open_demand, expert, specialist, rival, engagement)


async def dump(db: Database) -> list[tuple[str, str, str]]:
    """Every value of every column of every table, as text."""
    values = []
    async with db.transaction() as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in (await session.execute(select(table))).mappings():
                values += [(table.name, name, str(value)) for name, value in row.items()]
    return values


def found(values: list[tuple[str, str, str]], needles: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(t, c) for t, c, v in values for needle in needles if needle in v]


async def test_export_holds_every_row_of_the_user_and_none_of_the_other_sides_data(
    db: Database, clock: ManualClock
) -> None:
    p = await pairing(db, clock.now())
    document = await export_personal_data(db=db, user_id=p.owner.id, now=clock.now())
    tables = document["tables"]
    assert set(tables) == {
        "users",
        "identities",
        "dialogues",
        "enterprises",
        "demands",
        "proposals",
        "engagements",
        "work_logs",
        "audit_events",
    }
    [me] = tables["users"]
    [account] = tables["identities"]
    assert (account["platform"], account["account"], me["first_name"]) == (
        "telegram",
        "7700001",
        "钱经理",
    )
    assert tables["enterprises"][0]["phone"] == "+8613912345678"
    assert [d["title"] for d in tables["demands"]] == ["阀门密封面泄漏", "阀体铸件砂眼"]
    assert tables["dialogues"][0]["data"] == {"description": "草稿里的半句话"}
    # Proposals on my demands: states and codes, not the specialists' own words.
    assert [(x["status"], x.get("decline_reason")) for x in tables["proposals"]] == [
        ("selected", None),
        ("accepted", None),
        ("declined", "no_time"),
    ]
    assert all("decline_text" not in x for x in tables["proposals"])
    assert tables["proposals"][0]["reasons"] == [{"kind": "terms", "values": ["密封堆焊"]}]
    assert "summary" not in tables["work_logs"][0] and tables["work_logs"][0]["hours"] == 6
    text = str(document)
    for needle in (*SPECIALIST_TEXTS, RIVAL_DECLINE, WORK_SUMMARY, "7700002", "+8613700000003"):
        assert needle not in text, needle

    theirs = await export_personal_data(db=db, user_id=p.expert.id, now=clock.now())
    assert theirs["tables"]["work_logs"][0]["summary"] == WORK_SUMMARY
    assert theirs["tables"]["specialists"][0]["team"] == [{"name": "周助理", "field": "无损检测"}]
    assert "demands" not in theirs["tables"] and "enterprises" not in theirs["tables"]
    assert "钱晓梅" not in str(theirs) and "+8613912345678" not in str(theirs)
    rival = await export_personal_data(db=db, user_id=p.rival.user_id, now=clock.now())
    assert rival["tables"]["proposals"][0]["decline_text"] == RIVAL_DECLINE


async def test_erasing_an_enterprise_leaves_figures_and_none_of_its_data(
    db: Database, clock: ManualClock
) -> None:
    p = await pairing(db, clock.now())
    before = await dump(db)
    assert found(before, ENTERPRISE_TEXTS)  # the needles are there to be found

    erasure = await erase_personal_data(db=db, user_id=p.owner.id, now=clock.now())
    assert erasure is not None and erasure.withdrawal.withdrawn == 1  # the accepted proposal
    [told] = erasure.told
    assert (told.user_id, told.demand_title, told.demand_reopened) == (
        p.expert.id,
        "阀门密封面泄漏",
        False,
    )

    after = await dump(db)
    assert found(after, ENTERPRISE_TEXTS) == []
    assert not [(t, c) for t, c, v in after if v in ("7700001",)]
    # The specialists' own words stay theirs; figures stay.
    assert found(after, (*SPECIALIST_TEXTS, RIVAL_DECLINE, WORK_SUMMARY))
    async with db.transaction() as session:
        owner = await session.get(User, p.owner.id)
        enterprise = await session.get(Enterprise, p.enterprise.id)
        demands = (await session.execute(select(Demand).order_by(Demand.id))).scalars().all()
        engagement = await session.get(Engagement, p.engagement.id)
        proposals = (await session.execute(select(Proposal).order_by(Proposal.id))).scalars().all()
    assert owner is not None and owner.erased_at is not None
    # Their account and what they typed are gone: a later message starts afresh.
    assert await find_user(db=db, platform="telegram", account="7700001") is None
    assert (owner.role, owner.consent_at, owner.first_name) == ("enterprise", None, None)
    assert enterprise is not None and (enterprise.city, enterprise.size, enterprise.phone) == (
        "jinzhou",
        "medium",
        "",
    )
    assert [(d.status, d.close_reason, d.title) for d in demands] == [("closed", "erased", "")] * 2
    assert engagement is not None and (engagement.status, engagement.end_reason) == (
        "cancelled",
        "erased",
    )
    assert [x.status for x in proposals] == ["selected", "withdrawn", "declined"]
    assert proposals[0].reasons == [] and proposals[2].decline_text == RIVAL_DECLINE

    assert await erase_personal_data(db=db, user_id=p.owner.id, now=clock.now()) is None
    assert await dump(db) == after


async def test_erasing_the_specialist_reopens_the_demand_and_tells_the_enterprise(
    db: Database, clock: ManualClock
) -> None:
    p = await pairing(db, clock.now())
    erasure = await erase_personal_data(db=db, user_id=p.expert.id, now=clock.now(), by_user=False)
    assert erasure is not None and erasure.withdrawal.withdrawn == 1
    [told] = erasure.told
    assert (told.user_id, told.demand_title, told.demand_reopened) == (
        p.owner.id,
        "阀门密封面泄漏",
        True,
    )
    after = await dump(db)
    assert found(after, (*SPECIALIST_TEXTS, WORK_SUMMARY)) == []
    assert found(after, ENTERPRISE_TEXTS) and found(after, (RIVAL_DECLINE,))
    async with db.transaction() as session:
        specialist = await session.get(Specialist, p.specialist.id)
        matched = await session.get(Demand, p.matched.id)
        rows = (await session.execute(select(WorkLog))).scalars().all()
    assert specialist is not None and specialist.status == "withdrawn" and specialist.team == []
    assert matched is not None and matched.status == "open"
    assert [(w.hours, w.summary) for w in rows] == [(6, "")]


async def test_withdrawing_consent_ends_open_proposals_both_ways_and_the_engagement(
    db: Database, clock: ManualClock
) -> None:
    p = await pairing(db, clock.now())
    departure = await withdraw_consent(db=db, user_id=p.expert.id, now=clock.now())
    assert departure is not None and departure.withdrawal.withdrawn == 1
    # The specialist's accepted proposal was the enterprise's candidate: the enterprise is told.
    assert departure.withdrawal.specialists == []
    [gone] = departure.withdrawal.enterprises
    assert (gone.owner.id, gone.demand.title, gone.specialist.name) == (
        p.owner.id,
        "阀体铸件砂眼",
        "孙立新",
    )
    # The engagement in progress ends too (no more nudges about the specialist's work), and
    # the enterprise's demand is open to other specialists again.
    [told] = departure.told
    assert (told.user_id, told.demand_title, told.demand_reopened) == (
        p.owner.id,
        "阀门密封面泄漏",
        True,
    )
    assert await withdraw_consent(db=db, user_id=p.expert.id, now=clock.now()) is None
    async with db.transaction() as session:
        statuses = (await session.execute(select(Proposal.status).order_by(Proposal.id))).all()
        expert = await session.get(User, p.expert.id)
        engagement = await session.get(Engagement, p.engagement.id)
        matched = await session.get(Demand, p.matched.id)
    assert [s for (s,) in statuses] == ["selected", "withdrawn", "declined"]
    assert expert is not None and expert.consent_at is None and expert.first_name == "孙教授"
    assert engagement is not None
    assert (engagement.status, engagement.end_reason) == ("cancelled", "consent_withdrawn")
    assert matched is not None and matched.status == "open"


async def test_an_enterprise_withdrawing_consent_names_the_specialists_to_tell(
    db: Database, clock: ManualClock
) -> None:
    p = await pairing(db, clock.now())
    departure = await withdraw_consent(db=db, user_id=p.owner.id, now=clock.now())
    assert departure is not None
    withdrawal = departure.withdrawal
    assert withdrawal.withdrawn == 1 and withdrawal.enterprises == []
    [ended] = withdrawal.specialists
    assert (ended.specialist_user.id, ended.demand.title, ended.proposal.status) == (
        p.expert.id,
        "阀体铸件砂眼",
        "withdrawn",
    )
    # The specialist of the engagement in progress is told; the demand is paused, for the
    # enterprise to resume if it agrees again (matched, with no engagement, it would be stuck).
    [told] = departure.told
    assert (told.user_id, told.demand_title, told.demand_reopened) == (
        p.expert.id,
        "阀门密封面泄漏",
        False,
    )
    async with db.transaction() as session:
        matched = await session.get(Demand, p.matched.id)
    assert matched is not None and matched.status == "paused"


async def test_contacts_are_exchanged_once_and_only_when_both_sides_agree(
    db: Database, clock: ManualClock
) -> None:
    p = await pairing(db, clock.now())
    now = clock.now()
    assert p.engagement.id is not None
    exchange = await claim_contact_exchanges(db=db, user_id=p.owner.id, now=now)
    assert exchange.shared == [] and [c.id for c in exchange.waiting] == [p.engagement.id]
    await record_contact_consent(db=db, user_id=p.owner.id, now=now)
    exchange = await claim_contact_exchanges(db=db, user_id=p.owner.id, now=now)
    assert exchange.shared == [] and len(exchange.waiting) == 1
    # The side still to agree is asked again once, however often the other side presses.
    assert await claim_contact_reminder(db=db, engagement_id=p.engagement.id, now=now)
    assert not await claim_contact_reminder(db=db, engagement_id=p.engagement.id, now=now)

    await record_contact_consent(db=db, user_id=p.expert.id, now=now)
    [shared] = (await claim_contact_exchanges(db=db, user_id=p.expert.id, now=now)).shared
    assert shared.id == p.engagement.id and shared.engagement.contacts_shared_at == now
    for user in (p.owner, p.expert):
        again = await claim_contact_exchanges(db=db, user_id=user.id, now=now)
        assert again.shared == [] and again.waiting == []
    # Someone else's claim reaches nothing of theirs.
    outsider = await claim_contact_exchanges(
        db=db, user_id=p.rival.user_id, now=now, engagement_id=p.engagement.id
    )
    assert outsider.shared == [] and outsider.waiting == []


async def shares_contacts(db: Database, user_id: int) -> bool:
    """May the user's contact details go to the party they are matched with?"""
    async with db.transaction() as session:
        user = await session.get(User, user_id)
    assert user is not None
    return user.consent_at is not None and user.contact_consent_at is not None


async def test_contact_consent_is_given_once_and_taken_back(
    db: Database, clock: ManualClock
) -> None:
    p = await pairing(db, clock.now())
    uid = p.owner.id
    assert not await shares_contacts(db, uid)
    assert await record_contact_consent(db=db, user_id=uid, now=clock.now())
    assert not await record_contact_consent(db=db, user_id=uid, now=clock.now())
    assert await shares_contacts(db, uid)
    assert await withdraw_contact_consent(db=db, user_id=uid, now=clock.now())
    assert not await shares_contacts(db, uid)
    # Withdrawing consent to the bot takes contact sharing with it; without it none is given.
    await record_contact_consent(db=db, user_id=uid, now=clock.now())
    await withdraw_consent(db=db, user_id=uid, now=clock.now())
    assert not await shares_contacts(db, uid)
    assert not await record_contact_consent(db=db, user_id=uid, now=clock.now())


async def test_inactive_users_are_those_not_seen_since_the_cut_and_not_erased(
    db: Database, clock: ManualClock
) -> None:
    old = await person(db, clock.now(), 7_800_001, "甲", "enterprise")
    gone = await person(db, clock.now(), 7_800_002, "乙", "enterprise")
    await erase_personal_data(db=db, user_id=gone.id, now=clock.now())
    clock.advance(dt.timedelta(days=10))
    await person(db, clock.now(), 7_800_003, "丙", "specialist")
    cut = clock.now() - dt.timedelta(days=5)
    assert await inactive_users(db=db, seen_before=cut, limit=10) == [old.id]


async def test_a_failing_statement_shows_no_values(db: Database, clock: ManualClock) -> None:
    """An error's text goes to the log and to the coordinators: without the values bound."""
    await person(db, clock.now(), 7_900_001, "甲", "enterprise")
    with pytest.raises(IntegrityError) as failure:
        await person(db, clock.now(), 7_900_001, "秘密的名字", "enterprise")
    # PostgreSQL's own DETAIL line still names the duplicate key; the values bound are hidden.
    assert "秘密的名字" not in str(failure.value) and "hidden" in str(failure.value)


async def test_both_sides_sharing_at_the_same_moment_in_two_processes_still_exchange(
    database_url: str, clock: ManualClock
) -> None:
    """Each process records its own side's consent, then claims the exchange, before the
    other has committed: without the lock on the engagement, neither saw the other's
    consent and the contacts never went out."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time; the race needs two PostgreSQL sessions")
    first, second = Database(database_url), Database(database_url)  # two bot processes
    p = await pairing(first, clock.now())
    now = clock.now()
    recorded = 0
    both_recorded = asyncio.Event()
    shared: dict[int, int] = {}

    async def press_share(db: Database, user_id: int) -> None:
        nonlocal recorded
        async with db.unit_of_work():
            await record_contact_consent(db=db, user_id=user_id, now=now)
            recorded += 1
            if recorded == 2:
                both_recorded.set()
            await asyncio.wait_for(both_recorded.wait(), 10)
            exchange = await claim_contact_exchanges(db=db, user_id=user_id, now=now)
            shared[user_id] = len(exchange.shared)

    try:
        await asyncio.gather(press_share(first, p.owner.id), press_share(second, p.expert.id))
        assert sorted(shared.values()) == [0, 1]  # exactly one of them sends the contacts
        async with first.transaction() as session:
            engagement = await session.get(Engagement, p.engagement.id)
        assert engagement is not None and engagement.contacts_shared_at is not None
    finally:
        await first.dispose()
        await second.dispose()


async def test_a_specialist_never_sent_the_proposal_is_not_told_it_ended(
    db: Database, clock: ManualClock
) -> None:
    """Stored but not yet delivered (or refused by Telegram): the specialist never saw the
    demand, so its title must not reach them when the enterprise leaves."""
    p = await pairing(db, clock.now())
    newcomer = await person(db, clock.now(), 7_700_004, "冯工", "specialist")
    async with db.transaction() as session:
        profile = expert_profile(newcomer, clock.now(), "冯立", "+8613700000004")
        session.add(profile)
        await session.flush()
        session.add(
            Proposal(
                demand_id=p.open_demand.id,
                specialist_id=profile.id,
                status="proposed",
                proposed_at=clock.now(),
            )
        )
    departure = await withdraw_consent(db=db, user_id=p.owner.id, now=clock.now())
    assert departure is not None and departure.withdrawal.withdrawn == 2
    told = [ctx.specialist_user.id for ctx in departure.withdrawal.specialists]
    assert told == [p.expert.id]
