"""A round of 1,000 proposals sent through the emulator within Telegram's limits.

    .venv/bin/python -m bench.proposals [--proposals 1000] [--inject-every 2.0]

The real bot, paced as for Telegram (about 30 messages/s overall, about 1/s per
chat with short bursts; a 429 pauses that chat for its retry_after), writes
1,000 stored proposals to the outbox and delivers them to 1,000 specialists
while the emulator, which also enforces Telegram's limits, answers 429
(retry_after 1 s) to one request every couple of seconds. The table gives
messages per second, 429s served, and how many specialists got their proposal
exactly once (all of them, or the run failed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bot.config import Settings
from bot.local import LocalBot, telegram_on
from channels.telegram.emulator import BotApiEmulator
from handlers.rounds import deliver
from storage.clock import SystemClock
from storage.db import Database
from storage.migrate import upgrade
from storage.models import (
    Demand,
    Enterprise,
    Identity,
    Proposal,
    Specialist,
    SpecialistStatus,
    User,
)

TOKEN = "123456:" + "B" * 35


async def seed(db: Database, now: dt.datetime, owner: int, specialists: Sequence[int]) -> None:
    """One enterprise (Telegram account `owner`) with a demand for each approved specialist
    (their accounts `specialists`) and one proposal on each, none sent yet."""

    def account(user: User, telegram_id: int) -> Identity:
        return Identity(
            user_id=user.id or 0,
            platform="telegram",
            account=str(telegram_id),
            address=str(telegram_id),
            created_at=now,
            last_seen_at=now,
        )

    async with db.transaction() as session:
        boss = User(role="enterprise", consent_at=now, created_at=now, last_seen_at=now)
        session.add(boss)
        await session.flush()
        session.add(account(boss, owner))
        enterprise = Enterprise(
            owner_user_id=boss.id or 0,
            name="沈阳重型机械",
            city="shenyang",
            industry_code="C34",
            size="large",
            contact_name="张工",
            phone="+8613800000000",
            created_at=now,
            updated_at=now,
        )
        session.add(enterprise)
        await session.flush()
        for i, telegram_id in enumerate(specialists):
            person = User(role="specialist", consent_at=now, created_at=now, last_seen_at=now)
            session.add(person)
            await session.flush()
            session.add(account(person, telegram_id))
            specialist = Specialist(
                user_id=person.id or 0,
                name=f"专家{i}",
                institution="东北大学",
                institution_type="university",
                location="liaoning",
                expertise="轧制工艺",
                phone="+8613900000000",
                status=SpecialistStatus.APPROVED,
                created_at=now,
                updated_at=now,
            )
            demand = Demand(
                enterprise_id=enterprise.id or 0,
                title=f"轧辊磨损 {i}",
                description="热轧辊磨损快，想延长寿命。",
                kind="technology",
                work_mode="either",
                urgency="normal",
                created_at=now,
                updated_at=now,
            )
            session.add_all([specialist, demand])
            await session.flush()
            session.add(
                Proposal(
                    demand_id=demand.id or 0,
                    specialist_id=specialist.id or 0,
                    score=0.5,
                    reasons=[{"kind": "terms", "values": ["轧辊"]}],
                    proposed_at=now,
                )
            )


async def inject(emulator: BotApiEmulator, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        emulator.inject_429(count=1, retry_after=1, method="sendMessage")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--proposals", type=int, default=1000)
    parser.add_argument("--inject-every", type=float, default=2.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        emulator = BotApiEmulator(token=TOKEN, enforce_rate_limits=True)
        await emulator.start()
        specialists = [10_000 + i for i in range(args.proposals)]
        for i, telegram_id in enumerate(specialists):
            emulator.add_user(telegram_id, f"u{i}", started=True)
        settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
        bot = LocalBot(settings, lambda _db: [telegram_on(emulator, quick=False)], SystemClock())
        await bot.start()
        await seed(bot.db, bot.clock.now(), 1, specialists)
        assert bot.core is not None
        injector = asyncio.create_task(inject(emulator, args.inject_every))
        started = time.perf_counter()
        sent = await deliver(bot.core.services)
        await emulator.wait_until_idle(timeout=600)
        await bot.wait_idle(600)
        await emulator.wait_until_idle(timeout=600)
        elapsed = time.perf_counter() - started
        injector.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await injector
        once = sum(
            1
            for i in range(args.proposals)
            if sum(m.text.startswith("📋") for m in emulator.chat(10_000 + i)) == 1
        )
        served = emulator.stats.served_429["sendMessage"]
        await bot.stop()
        await emulator.stop()
    print(f"\n{args.proposals} proposals sent by the real bot, paced for Telegram, 429s injected")
    print(f"{'case':<44}{'value':>12}")
    print(f"{'messages per second':<44}{sent / elapsed:>12.1f}")
    print(f"{'wall time, s':<44}{elapsed:>12.1f}")
    print(f"{'429 answers served by the emulator':<44}{served:>12}")
    print(f"{'specialists who got their proposal once':<44}{once:>12}")
    print(f"{'lost or duplicated':<44}{args.proposals - once:>12}")


if __name__ == "__main__":
    asyncio.run(main())
