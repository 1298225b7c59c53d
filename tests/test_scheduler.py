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
