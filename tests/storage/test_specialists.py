"""Storage operations on specialists, on every backend: registration and edits, guarded
coordinator decisions with their audit rows, own availability, and the monthly check."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

from sqlalchemy import select
from sqlmodel import col

from storage.clock import ManualClock
from storage.db import Database
from storage.models import AuditEvent, Specialist, SpecialistStatus
from storage.specialists import (
    SpecialistProfile,
    answer_check,
    claim_check,
    decide_specialist,
    due_for_check,
    get_specialist,
    known_institutions,
    mark_not_responding,
    not_responding_specialists,
    pause_specialist,
    pending_specialists,
    return_to_programme,
    save_specialist,
    set_capacity,
    set_days_per_month,
)
from tests.people import touch_user

PROFILE = SpecialistProfile(
    name="王建国",
    institution="大连理工大学",
    institution_type="university",
    location="liaoning",
    title="professor",
    disciplines=["460", "43020"],
    expertise="激光焊接工艺与焊缝缺陷控制，铝合金构件疲劳寿命评估。",
    keywords=["激光焊接", "铝合金"],
    team=[{"name": "李明", "field": "焊接工艺"}],
    cities=["dalian", "shenyang"],
    remote_only=False,
    days_per_month=4,
    available_from=dt.date(2026, 3, 2),
    available_to=None,
    capacity=2,
    phone="+8613800138000",
)


async def new_specialist(
    db: Database, clock: ManualClock, telegram_id: int, **changes: object
) -> tuple[int, int]:
    """A registered (pending) specialist: (user id, specialist id)."""
    user = await touch_user(db=db, telegram_id=telegram_id, now=clock.now())
    assert user.id is not None
    profile = dataclasses.replace(PROFILE, **changes)  # type: ignore[arg-type]
    saved = await save_specialist(db=db, user_id=user.id, profile=profile, now=clock.now())
    assert saved.specialist.id is not None
    return user.id, saved.specialist.id


async def coordinator(db: Database, clock: ManualClock) -> int:
    user = await touch_user(db=db, telegram_id=900_001, now=clock.now())
    assert user.id is not None
    return user.id


async def audit_actions(db: Database) -> list[tuple[str, int | None, dict]]:
    async with db.transaction() as session:
        rows = await session.execute(select(AuditEvent).order_by(col(AuditEvent.id)))
        return [(e.action, e.actor_user_id, e.detail) for e in rows.scalars()]


async def test_registration_is_pending_and_edits_keep_an_approval(
    db: Database, clock: ManualClock
) -> None:
    user_id, specialist_id = await new_specialist(db, clock, 501)
    stored = await get_specialist(db=db, user_id=user_id)
    assert stored is not None and stored.status == SpecialistStatus.PENDING
    assert stored.team == [{"name": "李明", "field": "焊接工艺"}]
    assert stored.available_from == dt.date(2026, 3, 2) and stored.created_at == clock.now()

    boss = await coordinator(db, clock)
    assert await decide_specialist(
        db=db,
        specialist_id=specialist_id,
        coordinator_user_id=boss,
        decision="approve",
        now=clock.now(),
    )
    clock.advance(dt.timedelta(days=3))
    edited = dataclasses.replace(PROFILE, capacity=3, keywords=["激光焊接"])
    saved = await save_specialist(db=db, user_id=user_id, profile=edited, now=clock.now())
    assert not saved.created and not saved.needs_review
    assert saved.changed == ("keywords", "capacity")
    assert saved.specialist.status == SpecialistStatus.APPROVED
    assert saved.specialist.capacity == 3 and saved.specialist.updated_at == clock.now()
    actions = await audit_actions(db)
    assert [a[0] for a in actions] == [
        "specialist.register",
        "specialist.approve",
        "specialist.update",
    ]
    assert actions[2][2] == {"fields": ["keywords", "capacity"]}


async def test_a_rejected_specialist_who_edits_is_submitted_again(
    db: Database, clock: ManualClock
) -> None:
    user_id, specialist_id = await new_specialist(db, clock, 502)
    boss = await coordinator(db, clock)
    decided = await decide_specialist(
        db=db,
        specialist_id=specialist_id,
        coordinator_user_id=boss,
        decision="reject",
        reason="incomplete",
        now=clock.now(),
    )
    assert decided is not None
    specialist, user = decided
    assert (
        specialist.status == SpecialistStatus.REJECTED and specialist.status_reason == "incomplete"
    )
    assert user.id == user_id
    saved = await save_specialist(
        db=db,
        user_id=user_id,
        profile=dataclasses.replace(PROFILE, title="研究员"),
        now=clock.now(),
    )
    assert saved.needs_review
    assert saved.specialist.status == SpecialistStatus.PENDING
    assert saved.specialist.status_reason is None
    assert (await audit_actions(db))[-1][0] == "specialist.resubmit"


async def test_decisions_apply_only_from_the_right_status(db: Database, clock: ManualClock) -> None:
    _, specialist_id = await new_specialist(db, clock, 503)
    boss = await coordinator(db, clock)

    async def decide(decision: str, reason: str | None = None) -> str | None:
        decided = await decide_specialist(
            db=db,
            specialist_id=specialist_id,
            coordinator_user_id=boss,
            decision=decision,  # type: ignore[arg-type]
            reason=reason,
            now=clock.now(),
        )
        return decided[0].status if decided else None

    assert await decide("suspend") is None  # only from approved
    assert await decide("reinstate") is None  # only from suspended
    assert await decide("approve") == "approved"
    assert await decide("approve") is None
    assert await decide("reject", "duplicate") is None  # only from pending
    assert await decide("suspend") == "suspended"
    assert await decide("reinstate") == "approved"
    actions = await audit_actions(db)
    assert [(a[0], a[1]) for a in actions[1:]] == [
        ("specialist.approve", boss),
        ("specialist.suspend", boss),
        ("specialist.reinstate", boss),
    ]
    assert actions[2][2] == {"from": "approved", "to": "suspended"}


async def test_two_coordinators_pressing_at_once_approve_once(
    db: Database, clock: ManualClock
) -> None:
    _, specialist_id = await new_specialist(db, clock, 504)
    boss = await coordinator(db, clock)
    results = await asyncio.gather(
        *(
            decide_specialist(
                db=db,
                specialist_id=specialist_id,
                coordinator_user_id=boss,
                decision="approve",
                now=clock.now(),
            )
            for _ in range(8)
        )
    )
    assert sum(result is not None for result in results) == 1
    assert [a[0] for a in await audit_actions(db)].count("specialist.approve") == 1


async def test_a_typed_reason_is_kept_but_not_audited(db: Database, clock: ManualClock) -> None:
    _, specialist_id = await new_specialist(db, clock, 505)
    boss = await coordinator(db, clock)
    decided = await decide_specialist(
        db=db,
        specialist_id=specialist_id,
        coordinator_user_id=boss,
        decision="reject",
        reason="请补充单位证明",
        now=clock.now(),
    )
    assert decided is not None and decided[0].status_reason == "请补充单位证明"
    assert (await audit_actions(db))[-1][2] == {
        "from": "pending",
        "to": "rejected",
        "reason": "typed",
    }


async def test_known_institutions_are_distinct_and_leave_out_rejected(
    db: Database, clock: ManualClock
) -> None:
    await new_specialist(db, clock, 506)
    await new_specialist(db, clock, 507)
    await new_specialist(db, clock, 508, institution="东北大学")
    _, rejected = await new_specialist(db, clock, 509, institution="某某野鸡大学")
    boss = await coordinator(db, clock)
    await decide_specialist(
        db=db, specialist_id=rejected, coordinator_user_id=boss, decision="reject", now=clock.now()
    )
    assert await known_institutions(db=db) == ["东北大学", "大连理工大学"]


async def test_own_availability_changes_and_counts_as_responding(
    db: Database, clock: ManualClock
) -> None:
    user_id, specialist_id = await new_specialist(db, clock, 510)
    async with db.transaction() as session:
        specialist = await session.get(Specialist, specialist_id)
        specialist.not_responding_since = clock.now()
    paused = await pause_specialist(
        db=db, user_id=user_id, until=dt.date(2026, 3, 16), now=clock.now()
    )
    assert paused is not None and paused.paused_until == dt.date(2026, 3, 16)
    assert paused.not_responding_since is None
    resumed = await pause_specialist(db=db, user_id=user_id, until=None, now=clock.now())
    assert resumed is not None and resumed.paused_until is None
    assert (await set_capacity(db=db, user_id=user_id, capacity=5, now=clock.now())).capacity == 5
    assert (
        await set_days_per_month(db=db, user_id=user_id, days=8, now=clock.now())
    ).days_per_month == 8
    stranger = await touch_user(db=db, telegram_id=511, now=clock.now())
    assert await set_capacity(db=db, user_id=stranger.id, capacity=1, now=clock.now()) is None


async def approved(
    db: Database, clock: ManualClock, telegram_id: int, **changes: object
) -> tuple[int, int]:
    user_id, specialist_id = await new_specialist(db, clock, telegram_id, **changes)
    await decide_specialist(
        db=db,
        specialist_id=specialist_id,
        coordinator_user_id=await coordinator(db, clock),
        decision="approve",
        now=clock.now(),
    )
    return user_id, specialist_id


async def test_each_specialist_is_asked_once_a_month(db: Database, clock: ManualClock) -> None:
    owner, first = await approved(db, clock, 520)
    _, second = await approved(db, clock, 521)
    await new_specialist(db, clock, 522)  # pending: never asked
    paused_user, _ = await approved(db, clock, 523)
    await pause_specialist(db=db, user_id=paused_user, until=dt.date(2026, 4, 10), now=clock.now())
    clock.advance(dt.timedelta(days=2))
    _, late = await approved(db, clock, 524)  # registered after the check day
    check_day = dt.datetime(2026, 3, 3, 16, 0, tzinfo=dt.UTC)

    due = await due_for_check(
        db=db, month="2026-03", registered_before=check_day, today=dt.date(2026, 3, 4)
    )
    assert due == [first, second]
    results = await asyncio.gather(
        *(
            claim_check(db=db, specialist_id=first, month="2026-03", now=clock.now())
            for _ in range(6)
        )
    )
    assert sum(r is not None for r in results) == 1
    recipient = next(r for r in results if r is not None)
    assert recipient.user_id == owner and recipient.locale is None
    due = await due_for_check(
        db=db, month="2026-03", registered_before=check_day, today=dt.date(2026, 3, 4)
    )
    assert due == [second]
    assert late not in due
    # A new month asks again.
    assert await due_for_check(
        db=db, month="2026-04", registered_before=clock.now(), today=dt.date(2026, 4, 1)
    ) == [first, second]


async def test_silence_for_a_week_is_marked_once_and_an_answer_clears_it(
    db: Database, clock: ManualClock
) -> None:
    user_id, specialist_id = await approved(db, clock, 530)
    recipient = await claim_check(
        db=db, specialist_id=specialist_id, month="2026-03", now=clock.now()
    )
    assert recipient is not None
    assert (
        await mark_not_responding(
            db=db, asked_before=clock.now() - dt.timedelta(days=7), now=clock.now()
        )
        == []
    )
    clock.advance(dt.timedelta(days=7))
    marked = await mark_not_responding(
        db=db, asked_before=clock.now() - dt.timedelta(days=7), now=clock.now()
    )
    assert [s.id for s in marked] == [specialist_id]
    assert marked[0].not_responding_since == clock.now()
    assert await mark_not_responding(db=db, asked_before=clock.now(), now=clock.now()) == []
    silent, total = await not_responding_specialists(db=db, limit=10)
    assert ([s.id for s in silent], total) == ([specialist_id], 1)

    stranger = await touch_user(db=db, telegram_id=531, now=clock.now())
    other = await answer_check(
        db=db,
        check_id=recipient.check_id,
        user_id=stranger.id,
        answer="leave",
        pause_until=dt.date(2026, 4, 9),
        now=clock.now(),
    )
    assert other.outcome == "unknown"
    answered = await answer_check(
        db=db,
        check_id=recipient.check_id,
        user_id=user_id,
        answer="pause",
        pause_until=dt.date(2026, 4, 9),
        now=clock.now(),
    )
    assert answered.outcome == "answered" and answered.specialist is not None
    assert answered.specialist.paused_until == dt.date(2026, 4, 9)
    assert answered.specialist.not_responding_since is None
    again = await answer_check(
        db=db,
        check_id=recipient.check_id,
        user_id=user_id,
        answer="leave",
        pause_until=dt.date(2026, 4, 9),
        now=clock.now(),
    )
    assert again.outcome == "already"
    assert (await get_specialist(db=db, user_id=user_id)).status == SpecialistStatus.APPROVED
    assert await not_responding_specialists(db=db, limit=10) == ([], 0)


async def test_only_the_latest_check_can_be_answered_and_leaving_withdraws(
    db: Database, clock: ManualClock
) -> None:
    user_id, specialist_id = await approved(db, clock, 540)
    march = await claim_check(db=db, specialist_id=specialist_id, month="2026-03", now=clock.now())
    clock.advance(dt.timedelta(days=31))
    april = await claim_check(db=db, specialist_id=specialist_id, month="2026-04", now=clock.now())
    assert march is not None and april is not None
    old = await answer_check(
        db=db,
        check_id=march.check_id,
        user_id=user_id,
        answer="available",
        pause_until=dt.date(2026, 5, 1),
        now=clock.now(),
    )
    assert old.outcome == "stale"
    left = await answer_check(
        db=db,
        check_id=april.check_id,
        user_id=user_id,
        answer="leave",
        pause_until=dt.date(2026, 5, 1),
        now=clock.now(),
    )
    assert left.specialist is not None and left.specialist.status == SpecialistStatus.WITHDRAWN
    assert (
        await claim_check(db=db, specialist_id=specialist_id, month="2026-05", now=clock.now())
        is None
    )
    back = await return_to_programme(db=db, user_id=user_id, now=clock.now())
    assert back is not None and back.status == SpecialistStatus.APPROVED
    assert await return_to_programme(db=db, user_id=user_id, now=clock.now()) is None
    assert (await audit_actions(db))[-1] == ("specialist.checkin", user_id, {"answer": "leave"})


async def test_pending_lists_the_oldest_first(db: Database, clock: ManualClock) -> None:
    ids = []
    for telegram_id in (550, 551, 552):
        ids.append((await new_specialist(db, clock, telegram_id))[1])
        clock.advance(dt.timedelta(minutes=1))
    shown, total = await pending_specialists(db=db, limit=2)
    assert [s.id for s in shown] == ids[:2] and total == 3
