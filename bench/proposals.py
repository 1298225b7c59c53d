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
import tempfile
import time
from pathlib import Path

from bot.config import Settings
from bot.local import LocalBot, telegram_on
from channels.telegram.emulator import BotApiEmulator
from handlers.rounds import deliver
from storage.clock import SystemClock
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


async def seed(bot: LocalBot, count: int) -> None:
    """One enterprise with `count` demands and `count` approved specialists, one proposal each."""
    now = bot.clock.now()

    def account(user: User, telegram_id: int) -> Identity:
        return Identity(
            user_id=user.id or 0,
            platform="telegram",
            account=str(telegram_id),
            address=str(telegram_id),
            created_at=now,
            last_seen_at=now,
        )

    async with bot.db.transaction() as session:
        owner = User(role="enterprise", consent_at=now, created_at=now, last_seen_at=now)
        session.add(owner)
        await session.flush()
        session.add(account(owner, 1))
        enterprise = Enterprise(
            owner_user_id=owner.id or 0,
            name="沈阳重型机械",
            city="shenyang",
            industry_code="34",
            size="large",
            contact_name="张工",
            phone="+8613800000000",
            created_at=now,
            updated_at=now,
        )
        session.add(enterprise)
        await session.flush()
        for i in range(count):
            person = User(role="specialist", consent_at=now, created_at=now, last_seen_at=now)
            session.add(person)
            await session.flush()
            session.add(account(person, 10_000 + i))
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
        for i in range(args.proposals):
            emulator.add_user(10_000 + i, f"u{i}", started=True)
        settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
        bot = LocalBot(settings, lambda: [telegram_on(emulator, quick=False)], SystemClock())
        await bot.start()
        await seed(bot, args.proposals)
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
