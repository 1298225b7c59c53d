"""Updates per second through the full bot next to a bare python-telegram-bot echo bot.

    .venv/bin/python -m bench.throughput [--updates 1000] [--soak-seconds 60]

Both bots poll the same in-process Bot API emulator over real HTTP, in one
run, so the ratio is what matters on a shared machine:
- echo: a bare PTB Application that echoes text (no database);
- full: the real bot on a fresh SQLite file, playing first contact: half the
  updates are /start from new users (user row, dialogue row, reply), half are
  the consent button (consent, dialogue, edit, next question);
- steady: the full bot fed 50 updates/s for --soak-seconds: per-update handler
  latency p50/p99 (from the update processor) and resident memory sampled
  every few seconds (first, last, peak), to show memory stays flat.
Rate limiting is off in both bots here: PTB's limiter would cap replies at
Telegram's 30 messages/s, which measures Telegram's rule, not the bot.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.config import Settings
from bot.emulator import BotApiEmulator
from bot.local import POLL_TIMEOUT, LocalBot
from bot.processing import CountingUpdateProcessor
from storage.clock import SystemClock
from storage.migrate import upgrade


class TimedProcessor(CountingUpdateProcessor):
    """Keeps every update's processing time, for percentiles."""

    def __init__(self) -> None:
        super().__init__()
        self.durations: list[float] = []

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        started = time.perf_counter()
        await super().do_process_update(update, coroutine)
        self.durations.append(time.perf_counter() - started)


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


async def measure_echo(updates: int) -> float:
    emulator = BotApiEmulator()
    await emulator.start()
    processor = CountingUpdateProcessor()
    application: Application = (
        ApplicationBuilder()
        .token(emulator.token)
        .base_url(emulator.base_url)
        .concurrent_updates(processor)
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    async with application:
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=POLL_TIMEOUT)
        await application.start()
        users = [emulator.add_user(10_000 + i, f"u{i}") for i in range(updates)]
        started = time.perf_counter()
        for user in users:
            emulator.send_message(user, "ping")
        await processor.wait_processed(updates, timeout=600)
        elapsed = time.perf_counter() - started
        await application.updater.stop()
        await application.stop()
    await emulator.stop()
    return updates / elapsed


async def full_bot(folder: Path) -> tuple[BotApiEmulator, LocalBot]:
    url = f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    emulator = BotApiEmulator()
    await emulator.start()
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    bot = LocalBot(
        settings, emulator, SystemClock(), processor_factory=TimedProcessor, rate_limit=False
    )
    await bot.start()
    return emulator, bot


async def measure_full(updates: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        emulator, bot = await full_bot(Path(folder))
        users = [
            emulator.add_user(20_000 + i, f"u{i}", language_code="zh-hans")
            for i in range(updates // 2)
        ]
        started = time.perf_counter()
        for user in users:
            emulator.send_message(user, "/start")
        await bot.processor.wait_processed(len(users), timeout=600)
        for user in users:
            emulator.press_callback(user, emulator.last(user.id).message_id, "start:agree")
        await bot.processor.wait_processed(2 * len(users), timeout=600)
        elapsed = time.perf_counter() - started
        await bot.stop()
        await emulator.stop()
    return 2 * len(users) / elapsed


async def measure_steady(rate: int, seconds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        emulator, bot = await full_bot(Path(folder))
        assert isinstance(bot.processor, TimedProcessor)
        samples: list[float] = []
        interval = 1 / rate
        started = time.perf_counter()
        sent = 0
        pending: list[Any] = []
        next_sample = started
        while (now := time.perf_counter()) - started < seconds:
            if now >= next_sample:
                samples.append(rss_mib())
                next_sample += max(1.0, seconds / 20)
            answered = [u for u in pending if emulator.chat(u.id)]
            if answered and sent % 2 == 1:
                user = answered[0]
                pending.remove(user)
                emulator.press_callback(user, emulator.last(user.id).message_id, "start:agree")
            else:
                user = emulator.add_user(30_000 + sent, "u", language_code="en")
                emulator.send_message(user, "/start")
                pending.append(user)
            sent += 1
            await asyncio.sleep(max(0.0, started + sent * interval - time.perf_counter()))
        await bot.processor.wait_processed(sent, timeout=120)
        samples.append(rss_mib())
        durations = sorted(bot.processor.durations)
        await bot.stop()
        await emulator.stop()
    return {
        "sent": sent,
        "p50_ms": 1000 * statistics.median(durations),
        "p99_ms": 1000 * durations[int(0.99 * (len(durations) - 1))],
        "rss_first": samples[0],
        "rss_last": samples[-1],
        "rss_peak": max(samples),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--soak-seconds", type=int, default=60)
    parser.add_argument("--rate", type=int, default=50)
    args = parser.parse_args()
    echo_rate = await measure_echo(args.updates)
    full_rate = await measure_full(args.updates)
    steady = await measure_steady(args.rate, args.soak_seconds)
    rows = [
        ("echo bot (bare PTB), updates/s", f"{echo_rate:.0f}", "1.00"),
        (
            "full bot, first contact with DB, updates/s",
            f"{full_rate:.0f}",
            f"{full_rate / echo_rate:.2f}",
        ),
        ("handler latency p50 at steady rate, ms", f"{steady['p50_ms']:.1f}", ""),
        ("handler latency p99 at steady rate, ms", f"{steady['p99_ms']:.1f}", ""),
        (
            "resident memory first / last / peak, MiB",
            f"{steady['rss_first']:.0f} / {steady['rss_last']:.0f} / {steady['rss_peak']:.0f}",
            "",
        ),
    ]
    print(
        f"\n{args.updates} updates per bot, rate limiter off; steady phase: {args.rate} updates/s "
        f"for {args.soak_seconds} s ({steady['sent']:.0f} updates)"
    )
    print(f"{'case':<44}{'value':>16}{'ratio':>8}")
    for case, value, ratio in rows:
        print(f"{case:<44}{value:>16}{ratio:>8}")


if __name__ == "__main__":
    asyncio.run(main())
