"""Storage operations on users, their identities, dialogues and the inbox, on every backend."""

from __future__ import annotations

import asyncio
import datetime as dt

from storage.clock import ManualClock
from storage.coordinators import coordinators
from storage.db import Database
from storage.dialogues import end_dialogue, load_dialogue, save_dialogue
from storage.inbox import accept_event
from storage.models import Role
from storage.users import programme_counts, record_consent, set_locale, set_role
from tests.people import get_user, touch_user


async def test_first_contact_keeps_ids_only_until_consent(db: Database, clock: ManualClock) -> None:
    user = await touch_user(db=db, telegram_id=7_000_000_001, now=clock.now())
    assert user.first_name is None and user.consent_at is None
    clock.advance(dt.timedelta(minutes=5))
    await record_consent(db=db, user_id=user.id, first_name="李工", now=clock.now())
    stored = await get_user(db=db, telegram_id=7_000_000_001)
    assert stored is not None
    assert stored.first_name == "李工"
    assert stored.consent_at == clock.now()
    assert stored.consent_at.tzinfo is not None


async def test_touch_is_one_row_per_account(db: Database, clock: ManualClock) -> None:
    first = await touch_user(db=db, telegram_id=42, now=clock.now())
    clock.advance(dt.timedelta(hours=1))
    again = await touch_user(db=db, telegram_id=42, now=clock.now())
    assert again.id == first.id
    assert again.last_seen_at == clock.now()


async def test_locale_role_and_counts(db: Database, clock: ManualClock) -> None:
    a = await touch_user(db=db, telegram_id=1, now=clock.now())
    b = await touch_user(db=db, telegram_id=2, now=clock.now())
    await set_role(db=db, user_id=a.id, role=Role.ENTERPRISE)
    await set_role(db=db, user_id=b.id, role=Role.SPECIALIST)
    await set_locale(db=db, user_id=b.id, locale="en")
    stored = await get_user(db=db, telegram_id=2)
    assert stored is not None and stored.locale == "en" and stored.role == "specialist"
    counts = await programme_counts(db=db)
    assert counts["users_enterprise"] == 1 and counts["users_specialist"] == 1


async def test_coordinators_are_configured_plus_granted(db: Database, clock: ManualClock) -> None:
    from sqlalchemy import update

    from storage.models import User

    user = await touch_user(db=db, telegram_id=55, now=clock.now())
    async with db.transaction() as session:
        await session.execute(update(User).where(User.id == user.id).values(is_coordinator=True))
    found = await coordinators(
        db=db, configured=frozenset({("telegram", "9"), ("wecom", "zhang")}), now=clock.now()
    )
    # The configured ones are recorded (ids only) so that the bot can write to them first.
    assert sorted((i.platform, i.account) for _, i in found) == [
        ("telegram", "55"),
        ("telegram", "9"),
        ("wecom", "zhang"),
    ]
    assert all(u.consent_at is None and u.first_name is None for u, _ in found)


async def test_dialogue_survives_a_new_engine(database_url: str, clock: ManualClock) -> None:
    """What a restart looks like to storage: a new engine finds the same step and draft."""
    first = Database(database_url)
    user = await touch_user(db=first, telegram_id=3, now=clock.now())
    await save_dialogue(
        db=first, user_id=user.id, flow="demand", step="title", data={"a": 1}, now=clock.now()
    )
    await save_dialogue(
        db=first,
        user_id=user.id,
        flow="demand",
        step="description",
        data={"a": 1, "title": "焊缝气孔"},
        now=clock.now(),
    )
    await first.dispose()

    second = Database(database_url)
    dialogue = await load_dialogue(db=second, user_id=user.id)
    assert dialogue is not None
    assert (dialogue.flow, dialogue.step) == ("demand", "description")
    assert dialogue.data == {"a": 1, "title": "焊缝气孔"}
    assert await end_dialogue(db=second, user_id=user.id) is True
    assert await end_dialogue(db=second, user_id=user.id) is False
    assert await load_dialogue(db=second, user_id=user.id) is None
    await second.dispose()


async def test_an_event_is_kept_once_even_concurrently_and_forgotten_after_pruning(
    db: Database, clock: ManualClock
) -> None:
    async def keep(event_id: str) -> bool:
        return await accept_event(
            db=db,
            platform="telegram",
            event_id=event_id,
            person="telegram:1",
            body={},
            flood=None,
            now=clock.now(),
        )

    results = await asyncio.gather(*(keep("900") for _ in range(20)))
    assert results.count(True) == 1
    # The same id on another platform is another event.
    assert await accept_event(
        db=db,
        platform="wecom",
        event_id="900",
        person="wecom:a",
        body={},
        flood=None,
        now=clock.now(),
    )
