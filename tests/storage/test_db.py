"""The unit of work each update runs in, on every backend: all or nothing, savepoints on request."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from storage.clock import ManualClock
from storage.db import Database
from storage.dialogues import load_dialogue, save_dialogue
from storage.inbox import accept_event
from storage.jobs import claim_job_run
from storage.models import JobRun
from tests.people import get_user, touch_user


async def test_a_failing_operation_undoes_the_whole_update_and_the_rest_still_runs(
    db: Database, clock: ManualClock
) -> None:
    now = clock.now()
    await claim_job_run(db=db, name="digest", slot=now, now=now)
    async with db.unit_of_work():
        user = await touch_user(db=db, telegram_id=42, now=now)
        await save_dialogue(db=db, user_id=user.id or 0, flow="f", step="a", data={}, now=now)
        with pytest.raises(IntegrityError):
            async with db.transaction() as session:
                await session.execute(
                    insert(JobRun).values(name="digest", slot=now, started_at=now, failed=False)
                )
        # What follows in the same update (the error handler, a reply) can still read and write.
        assert await get_user(db=db, telegram_id=42) is None
        await touch_user(db=db, telegram_id=43, now=now)
    assert await get_user(db=db, telegram_id=42) is None  # half an update is never kept
    assert await get_user(db=db, telegram_id=43) is not None


async def test_a_savepoint_keeps_what_came_before_a_lost_race(
    db: Database, clock: ManualClock
) -> None:
    now = clock.now()
    assert await claim_job_run(db=db, name="digest", slot=now, now=now) is not None
    async with db.unit_of_work():
        user = await touch_user(db=db, telegram_id=44, now=now)
        assert await claim_job_run(db=db, name="digest", slot=now, now=now) is None
        await save_dialogue(db=db, user_id=user.id or 0, flow="f", step="b", data={}, now=now)
    kept = await load_dialogue(db=db, user_id=user.id or 0)
    assert kept is not None and kept.step == "b"


async def test_an_update_seen_before_is_refused_and_changes_nothing(
    db: Database, clock: ManualClock
) -> None:
    now = clock.now()

    async def keep() -> bool:
        return await accept_event(
            db=db,
            platform="telegram",
            event_id="7",
            person="telegram:45",
            body={},
            flood=None,
            now=now,
        )

    async with db.unit_of_work():
        assert await keep()
    async with db.unit_of_work():
        assert not await keep()
        await touch_user(db=db, telegram_id=45, now=now)
    assert await get_user(db=db, telegram_id=45) is not None


async def test_tasks_of_one_process_take_turns_instead_of_failing(
    db: Database, clock: ManualClock
) -> None:
    """Units and lone transactions at once (updates beside jobs): none fails on a lock, and
    every write lands."""
    now = clock.now()

    async def update(n: int) -> None:
        async with db.unit_of_work():
            await touch_user(db=db, telegram_id=1000 + n, now=now)
            await asyncio.sleep(0)  # a reply being sent while the unit is open
            await touch_user(db=db, telegram_id=2000 + n, now=now)

    async def job(n: int) -> None:
        await touch_user(db=db, telegram_id=3000 + n, now=now)

    await asyncio.gather(*(update(n) for n in range(20)), *(job(n) for n in range(20)))
    for base in (1000, 2000, 3000):
        for n in range(20):
            assert await get_user(db=db, telegram_id=base + n) is not None
