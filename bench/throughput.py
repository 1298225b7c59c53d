"""Updates per second through the full bot next to a bare python-telegram-bot echo bot.

    .venv/bin/python -m bench.throughput [--updates 1000] [--soak-seconds 120] [--rate 50]

Both bots poll the same Bot API emulator over real HTTP, in one run, so the
ratio is what matters on a shared machine. The emulator runs in a process of
its own (bench.remote_emulator), as Telegram would: what is measured here is
the bot's work, and the bot's memory.
- echo: a bare PTB Application that echoes text (no database);
- full: the real bot on a fresh SQLite file, playing first contact: half the
  updates are /start from new users (user and identity rows, dialogue row,
  reply), half are the consent button (consent, dialogue, answer, edit, next
  question). Every update is kept in the inbox before it is confirmed, applied
  in one transaction with its messages written to the outbox, and delivered
  after; the Bot API calls each update makes are counted, since they cost what
  the echo bot's one reply costs;
- steady: the full bot fed --rate updates/s for --soak-seconds: latency p50/p99
  from each update to the bot's first answer in that chat (measured in the
  emulator: what a person waits, including the inbox and the outbox), and the
  bot process's resident memory sampled through the run (first, last, peak).
Pacing is off in both bots here (the emulator enforces no limit): Telegram's 30
messages/s would measure Telegram's rule, not the bot.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import tempfile
import time
from pathlib import Path

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    ContextTypes,
    MessageHandler,
    filters,
)

from bench.remote_emulator import RemoteEmulator
from bot.config import Settings
from bot.local import POLL_TIMEOUT, LocalBot, telegram_on
from storage.clock import SystemClock
from storage.migrate import upgrade


class Counted(BaseUpdateProcessor):
    """PTB's sequential processing, telling when a number of updates finished (the echo bot's)."""

    def __init__(self, expected: int) -> None:
        super().__init__(1)
        self.done, self.expected = 0, expected
        self.finished = asyncio.Event()

    async def do_process_update(self, update: object, coroutine: object) -> None:
        await coroutine  # type: ignore[misc]
        self.done += 1
        if self.done >= self.expected:
            self.finished.set()

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free."""


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


async def measure_echo(emulator: RemoteEmulator, updates: int) -> float:
    processor = Counted(updates)
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
        await emulator.call("users", first=10_000, count=updates, language="en")
        started = time.perf_counter()
        await emulator.call("send", first=10_000, count=updates, text="ping")
        await asyncio.wait_for(processor.finished.wait(), 600)
        elapsed = time.perf_counter() - started
        await application.updater.stop()
        await application.stop()
    return updates / elapsed


async def full_bot(emulator: RemoteEmulator, folder: Path) -> LocalBot:
    url = f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    bot = LocalBot(settings, lambda _db: [telegram_on(emulator)], SystemClock())
    await bot.start()
    return bot


async def settle(emulator: RemoteEmulator, bot: LocalBot, timeout: float) -> None:  # noqa: ASYNC109
    """Until the bot kept every update, applied it and delivered what it caused."""
    await emulator.call("idle", timeout=timeout)
    await bot.wait_idle(timeout)
    await emulator.call("idle", timeout=timeout)


async def measure_full(emulator: RemoteEmulator, updates: int) -> tuple[float, float]:
    """Updates per second, and Bot API calls per update."""
    half = updates // 2
    with tempfile.TemporaryDirectory() as folder:
        bot = await full_bot(emulator, Path(folder))
        await emulator.call("users", first=20_000, count=half, language="zh-hans")
        calls_before = await bot_calls(emulator)
        started = time.perf_counter()
        await emulator.call("send", first=20_000, count=half, text="/start")
        await settle(emulator, bot, 600)
        await emulator.call("press_first", first=20_000, count=half)
        await settle(emulator, bot, 600)
        elapsed = time.perf_counter() - started
        calls = await bot_calls(emulator) - calls_before
        await bot.stop()
    return 2 * half / elapsed, calls / (2 * half)


async def bot_calls(emulator: RemoteEmulator) -> int:
    """Bot API calls the emulator has answered, long polls aside."""
    return int((await emulator.call("calls"))["calls"])


async def measure_steady(emulator: RemoteEmulator, rate: int, seconds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        bot = await full_bot(emulator, Path(folder))
        samples: list[float] = []

        async def sample() -> None:
            while True:
                samples.append(rss_mib())
                await asyncio.sleep(max(1.0, seconds / 40))

        sampler = asyncio.create_task(sample())
        sent = int(
            (await emulator.call("steady", first=30_000, rate=rate, seconds=seconds))["sent"]
        )
        # A rate above what the bot takes leaves a backlog: give it time to drain, so the
        # latencies say how far behind it fell instead of the run failing.
        await settle(emulator, bot, 120 + seconds)
        sampler.cancel()
        samples.append(rss_mib())
        latencies = sorted((await emulator.call("latencies", first=30_000))["latencies"])
        await bot.stop()
    return {
        "sent": sent,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "rss_first": samples[0],
        "rss_half": samples[len(samples) // 2],
        "rss_last": samples[-1],
        "rss_peak": max(samples),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--soak-seconds", type=int, default=120)
    parser.add_argument("--rate", type=int, default=50)
    args = parser.parse_args()
    emulator = RemoteEmulator()
    await emulator.start()
    try:
        echo_rate = await measure_echo(emulator, args.updates)
        full_rate, calls = await measure_full(emulator, args.updates)
        steady = await measure_steady(emulator, args.rate, args.soak_seconds)
    finally:
        await emulator.stop()
    rows = [
        ("echo bot (bare PTB), updates/s", f"{echo_rate:.0f}", "1.00"),
        (
            f"full bot, first contact with DB ({calls:.1f} calls/update), updates/s",
            f"{full_rate:.0f}",
            f"{full_rate / echo_rate:.2f}",
        ),
        ("update to first answer p50 at steady rate, ms", f"{steady['p50_ms']:.1f}", ""),
        ("update to first answer p99 at steady rate, ms", f"{steady['p99_ms']:.1f}", ""),
        (
            "bot's resident memory start / half-way / end / peak, MiB",
            " / ".join(
                f"{steady[k]:.0f}" for k in ("rss_first", "rss_half", "rss_last", "rss_peak")
            ),
            "",
        ),
    ]
    print(
        f"\n{args.updates} updates per bot, pacing off; steady phase: {args.rate} updates/s "
        f"for {args.soak_seconds} s ({steady['sent']:.0f} updates)"
    )
    width = max(len(case) for case, _, _ in rows) + 2
    print(f"{'case':<{width}}{'value':>22}{'ratio':>8}")
    for case, value, ratio in rows:
        print(f"{case:<{width}}{value:>22}{ratio:>8}")


if __name__ == "__main__":
    asyncio.run(main())
