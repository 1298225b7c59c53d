"""Skipping ahead runs exactly the scheduled jobs whose time was jumped over, once each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

import pytest

from bot.scheduler import Scheduler
from bot.skip_ahead import skip_ahead
from storage.clock import ManualClock, OffsetClock

SHANGHAI = ZoneInfo("Asia/Shanghai")


def record(
    runs: list[tuple[str, dt.datetime]], clock: ManualClock, name: str
) -> Callable[[], Awaitable[None]]:
    async def body() -> None:
        runs.append((name, clock.now()))

    return body


async def test_each_job_due_in_the_skipped_interval_runs_once_at_the_new_time() -> None:
    # Monday 2026-03-02 09:00 in Shanghai.
    clock = ManualClock(dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC))
    runs: list[tuple[str, dt.datetime]] = []
    scheduler = Scheduler(SHANGHAI)
    scheduler.daily("daily at 10", dt.time(10, 0), record(runs, clock, "daily at 10"))
    scheduler.daily("daily at 23", dt.time(23, 0), record(runs, clock, "daily at 23"))
    scheduler.on_demand("by name only", record(runs, clock, "by name only"))

    assert await skip_ahead(scheduler, clock, dt.timedelta(minutes=30)) == []
    assert await skip_ahead(scheduler, clock, dt.timedelta(hours=1)) == ["daily at 10"]
    assert runs == [("daily at 10", dt.datetime(2026, 3, 2, 2, 30, tzinfo=dt.UTC))]

    runs.clear()
    # A week holds seven 10:00s but the body reads the clock, so one run covers them; from
    # 10:30, tonight's 23:00 falls due before tomorrow's 10:00.
    assert await skip_ahead(scheduler, clock, dt.timedelta(weeks=1)) == [
        "daily at 23",
        "daily at 10",
    ]
    assert [name for name, _ in runs] == ["daily at 23", "daily at 10"]
    assert runs[-1][1] == clock.now()
    await scheduler.run("by name only")
    assert runs[-1][0] == "by name only"


async def test_a_job_exactly_at_the_old_time_is_not_run_again() -> None:
    clock = ManualClock(dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC))  # 10:00 in Shanghai
    runs: list[tuple[str, dt.datetime]] = []
    scheduler = Scheduler(SHANGHAI)
    scheduler.daily("daily at 10", dt.time(10, 0), record(runs, clock, "daily at 10"))
    assert await skip_ahead(scheduler, clock, dt.timedelta(hours=23, minutes=59)) == []
    assert await skip_ahead(scheduler, clock, dt.timedelta(minutes=1)) == ["daily at 10"]


def test_offset_clock_follows_the_wall_and_only_moves_forward() -> None:
    clock = OffsetClock()
    before = dt.datetime.now(dt.UTC)
    moved = clock.advance(dt.timedelta(days=7))
    assert moved.tzinfo is not None
    assert dt.timedelta(days=7) <= moved - before < dt.timedelta(days=7, minutes=1)
    assert clock.offset == dt.timedelta(days=7)
    assert clock.now() >= moved
    with pytest.raises(ValueError, match="forward"):
        clock.advance(dt.timedelta(0))


async def test_jobs_run_in_the_order_they_first_fell_due_not_as_scheduled() -> None:
    """A digest scheduled before the deadlines job still reports after it: from 11:00, the
    23:00 deadlines come before the next morning's 08:00 digest."""
    clock = ManualClock(dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC))  # 11:00 in Shanghai
    runs: list[tuple[str, dt.datetime]] = []
    scheduler = Scheduler(SHANGHAI)
    scheduler.daily("digest at 8", dt.time(8, 0), record(runs, clock, "digest at 8"))
    scheduler.daily("deadlines at 23", dt.time(23, 0), record(runs, clock, "deadlines at 23"))
    ran = await skip_ahead(scheduler, clock, dt.timedelta(weeks=1))
    assert ran == ["deadlines at 23", "digest at 8"]
    assert [name for name, _ in runs] == ran
