"""Feishu: how fast a click on a card is answered under load (a toast within Feishu's 3 s),
and how long the long connection takes to come back after Feishu drops it.

    .venv/bin/python -m bench.feishu [--users 300] [--rate 30]

The bot runs as `python -m bot run` in its own process (SQLite, FEISHU_* pointing at the
emulator in this process), through the real lark-oapi long connection, as production
runs it. The baseline, in the same run: the SDK's own client in another process whose
handler answers every click at once with a fixed toast (what any Feishu bot pays for the
connection, the frames and the acknowledgement, and nothing else).
- clicks: --users users each got the consent card (/start), then click "✅ 同意", --rate a
  second; the time from each click to its answer, p50/p99/max, and how many answers
  carried the core's toast (the rest came too late for it and followed as a message).
- reconnect: Feishu drops the connection; the time until it is up again, and until a
  message typed meanwhile is answered. The emulator asks for no jitter (ReconnectNonce 0):
  on Feishu the SDK first waits a random part of the ReconnectNonce Feishu sets (the SDK's
  default is 30 s), which these figures leave out.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from channels.feishu.emulator import FeishuEmulator
from storage.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
AGREE = "✅ 同意"


def baseline(domain: str, app_id: str, app_secret: str) -> None:
    """The SDK's client, answering each click at once (run in its own process)."""
    import lark_oapi as lark
    from lark_oapi.event.callback.model.p2_card_action_trigger import (
        P2CardActionTriggerResponse,
    )

    def answer(_: object) -> P2CardActionTriggerResponse:
        return P2CardActionTriggerResponse({"toast": {"type": "info", "content": "谢谢！"}})

    handler = (
        lark.EventDispatcherHandler.builder("", "")
        .register_p2_im_message_receive_v1(lambda _: None)
        .register_p2_card_action_trigger(answer)
        .build()
    )
    client = lark.ws.Client(
        app_id, app_secret, event_handler=handler, domain=domain, log_level=lark.LogLevel.ERROR
    )
    client.start()


async def click_times(
    feishu: FeishuEmulator, users: list[str], rate: int, *, card_of: dict[str, str]
) -> tuple[list[float], int]:
    """Each user clicks "✅ 同意" on their card, `rate` a second: seconds until each click was
    answered (Feishu's 3 s if never), and how many answers carried a toast."""
    times: list[float] = []
    toasts = 0

    async def one(user: str) -> None:
        nonlocal toasts
        started = time.perf_counter()
        answer = await feishu.click(user, card_of[user], {"t": card_value(feishu, user)})
        times.append(time.perf_counter() - started)
        toasts += bool((answer or {}).get("toast"))

    tasks = []
    started = time.perf_counter()
    for n, user in enumerate(users):
        tasks.append(asyncio.create_task(one(user)))
        await asyncio.sleep(max(0.0, started + (n + 1) / rate - time.perf_counter()))
    await asyncio.gather(*tasks)
    return sorted(times), toasts


def card_value(feishu: FeishuEmulator, user: str) -> str:
    """The token the consent card's "agree" button carries (the baseline has none: any)."""
    for message in feishu.chat(user):
        for label, value in message.buttons:
            if label == AGREE:
                return str(value.get("t"))
    return "baseline"


def summary(times: list[float]) -> str:
    p99 = times[int(0.99 * (len(times) - 1))]
    return f"{1000 * statistics.median(times):.0f} / {1000 * p99:.0f} / {1000 * max(times):.0f}"


async def reconnect(feishu: FeishuEmulator, user: str) -> tuple[float, float]:
    """Seconds until the connection is back, and until what was typed meanwhile is answered."""
    before = len(feishu.chat(user))
    started = time.perf_counter()
    await feishu.drop_connections()
    typed = asyncio.create_task(feishu.send_text(user, "/help"))
    await feishu.wait_until(lambda: feishu.connected >= 1, timeout=120)
    back = time.perf_counter() - started
    await typed
    await feishu.wait_until(lambda: len(feishu.chat(user)) > before, timeout=120)
    return back, time.perf_counter() - started


async def main(args: argparse.Namespace) -> None:
    feishu = FeishuEmulator(ack_timeout=3.0, per_user_qps=None)
    await feishu.start()
    users = [f"ou_bench{n}" for n in range(args.users)]
    for user in [*users, "ou_bare", "ou_drop"]:
        feishu.add_user(user)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        upgrade(url)
        env = {**os.environ, **feishu.env(), "DATABASE_URL": url}
        env |= {"LOG_LEVEL": "WARNING", "FLOOD_LIMIT": "1000"}
        bare = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.feishu", "--baseline", feishu.base_url, cwd=ROOT
        )
        try:
            await feishu.wait_until(lambda: feishu.connected == 1, timeout=60)
            bare_times, _ = await click_times(
                feishu, users, args.rate, card_of=dict.fromkeys(users, "om_bare")
            )
            bare_back = await reconnect_bare(feishu)
        finally:
            bare.terminate()
            await bare.wait()
        await feishu.wait_until(lambda: feishu.connected == 0, timeout=30)
        bot = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=ROOT, env=env
        )
        try:
            await feishu.wait_until(lambda: feishu.connected == 1, timeout=60)
            for user in users:  # each gets the consent card, as a user's first /start
                await feishu.send_text(user, "/start")
            await feishu.wait_until(
                lambda: all(feishu.chat(u) for u in users), timeout=30 + args.users / 5
            )
            cards = {u: feishu.chat(u)[-1].message_id for u in users}
            bot_times, toasts = await click_times(feishu, users, args.rate, card_of=cards)
            await feishu.send_text("ou_drop", "/start")
            await feishu.wait_until(lambda: bool(feishu.chat("ou_drop")), timeout=30)
            back, answered = await reconnect(feishu, "ou_drop")
        finally:
            bot.terminate()
            await bot.wait()
            await feishu.stop()
    print(f"\n{args.users} users clicking at {args.rate}/s (Feishu waits 3 s for an answer)")
    rows = [
        ("click answer p50 / p99 / max, ms: the SDK answering at once", summary(bare_times)),
        (
            "click answer p50 / p99 / max, ms: the bot (kept, then the core's toast)",
            summary(bot_times),
        ),
        (
            "answers carrying the core's toast (the rest follow as a message)",
            f"{toasts} of {len(users)}",
        ),
        ("reconnect after Feishu drops it, ms: the SDK alone", f"{1000 * bare_back:.0f}"),
        (
            "reconnect, ms: the bot / until a message typed meanwhile is answered",
            f"{1000 * back:.0f} / {1000 * answered:.0f}",
        ),
    ]
    width = max(len(case) for case, _ in rows) + 2
    print(f"{'case':<{width}}{'value':>20}")
    for case, value in rows:
        print(f"{case:<{width}}{value:>20}")


async def reconnect_bare(feishu: FeishuEmulator) -> float:
    started = time.perf_counter()
    await feishu.drop_connections()
    await feishu.wait_until(lambda: feishu.connected >= 1, timeout=120)
    return time.perf_counter() - started


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--rate", type=int, default=30)
    parser.add_argument("--baseline", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.baseline:  # the SDK's client runs its own loop: outside asyncio.run
        emulated = FeishuEmulator()
        baseline(arguments.baseline, emulated.app_id, emulated.app_secret)
    else:
        asyncio.run(main(arguments))
