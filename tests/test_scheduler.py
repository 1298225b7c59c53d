"""Stopping the scheduler never cuts a run off: a round or a digest whose slot was claimed
would otherwise stay claimed and undone."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from bot.scheduler import Scheduler


async def test_stopping_waits_for_a_run_in_progress_to_finish() -> None:
    scheduler = Scheduler(ZoneInfo("Asia/Shanghai"))
    release = asyncio.Event()
    finished: list[str] = []

    async def slow_round() -> None:
        await release.wait()
        finished.append("round")

    scheduler.every("round", 3600, slow_round, first=3600)
    scheduler.start()
    run = asyncio.create_task(scheduler.run("round"))
    await asyncio.sleep(0.01)
    stopping = asyncio.create_task(scheduler.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done(), "stop returned while the round was still running"
    release.set()
    await stopping
    assert finished == ["round"]
    assert not scheduler.running()
    await run


async def test_a_run_fired_just_as_the_scheduler_stops_does_not_begin() -> None:
    """APScheduler may have created a run's task a moment before stop, not yet started: it
    must not claim its slot while the process shuts down around it (the next start's slot
    does the work)."""
    scheduler = Scheduler(ZoneInfo("Asia/Shanghai"))
    began: list[str] = []

    async def tick() -> None:
        began.append("tick")

    scheduler.every("tick", 3600, tick, first=3600)
    scheduler.start()
    fired = asyncio.get_running_loop().create_task(scheduler.run("tick"))  # not started yet
    await scheduler.stop()
    await fired
    assert began == []
