"""Skipping ahead runs exactly the scheduled jobs whose time was jumped over, once each."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from zoneinfo import ZoneInfo

import pytest
from telegram.ext import Application, CallbackContext, Defaults

from bot.skip_ahead import skip_ahead
from storage.clock import ManualClock, OffsetClock

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def application() -> AsyncIterator[Application]:
    """An Application that never touches the network; its scheduler holds jobs but never fires."""
    app = Application.builder().token("123:TEST").defaults(Defaults(tzinfo=SHANGHAI)).build()
    assert app.job_queue is not None
    app.job_queue.scheduler.start(paused=True)
    yield app
    app.job_queue.scheduler.shutdown(wait=False)


def record(
    runs: list[tuple[str, dt.datetime]], clock: ManualClock
) -> Callable[[CallbackContext], Awaitable[None]]:
    async def callback(context: CallbackContext) -> None:
        assert context.job is not None
        runs.append((context.job.name or "", clock.now()))

    return callback


async def test_each_job_due_in_the_skipped_interval_runs_once_at_the_new_time(
    application: Application,
) -> None:
    # Monday 2026-03-02 09:00 in Shanghai.
    clock = ManualClock(dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC))
    runs: list[tuple[str, dt.datetime]] = []
    queue = application.job_queue
    assert queue is not None
    queue.run_daily(record(runs, clock), dt.time(10, 0), name="daily at 10")
    queue.run_monthly(record(runs, clock), dt.time(9, 0), day=1, name="monthly on the 1st")
    queue.run_daily(record(runs, clock), dt.time(9, 30), name="disabled").enabled = False

    assert await skip_ahead(application, clock, dt.timedelta(minutes=30)) == []
    assert await skip_ahead(application, clock, dt.timedelta(hours=1)) == ["daily at 10"]
    assert runs == [("daily at 10", dt.datetime(2026, 3, 2, 2, 30, tzinfo=dt.UTC))]

    runs.clear()
    # A week holds seven 10:00s but the body reads the clock, so one run covers them.
    assert await skip_ahead(application, clock, dt.timedelta(weeks=1)) == ["daily at 10"]
    assert await skip_ahead(application, clock, dt.timedelta(weeks=4)) == [
        "daily at 10",
        "monthly on the 1st",
    ]
    assert [name for name, _ in runs] == ["daily at 10", "daily at 10", "monthly on the 1st"]
    assert runs[-1][1] == clock.now()


async def test_a_job_exactly_at_the_old_time_is_not_run_again(application: Application) -> None:
    clock = ManualClock(dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC))  # 10:00 in Shanghai
    runs: list[tuple[str, dt.datetime]] = []
    assert application.job_queue is not None
    application.job_queue.run_daily(record(runs, clock), dt.time(10, 0), name="daily at 10")
    assert await skip_ahead(application, clock, dt.timedelta(hours=23, minutes=59)) == []
    assert await skip_ahead(application, clock, dt.timedelta(minutes=1)) == ["daily at 10"]


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
