"""WeCom: how fast the bot answers callbacks under load, and how many messages a minute
one member gets without WeCom dropping any.

    .venv/bin/python -m bench.wecom [--members 600] [--rate 50] [--flood 60]

The bot runs as `python -m bot run` in its own process (SQLite, WECOM_* pointing at
the emulator in this process), as production runs it.
- callbacks: --members members each send /help, --rate a second, as WeCom posts them
  (encrypted, signed); the time from each POST to the bot's answer, p50/p99/max, next
  to a bare aiohttp server in its own process that only checks, decrypts and answers
  (the baseline: same callbacks, same run). WeCom gives up on an answer after 5 s.
- one member sends --flood commands at once: how many replies reach them in the first
  minute, and how many WeCom would have dropped (over 30 a minute to one member), with
  the bot's production pacing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import web

from channels.wecom.crypto import WeComCrypto
from channels.wecom.emulator import PER_MEMBER_MINUTE, WeComEmulator
from storage.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def baseline(port: int) -> None:
    """Check, decrypt, answer: what any callback server must do, and nothing else."""
    emulator = WeComEmulator()  # only for its settings
    crypto = WeComCrypto(emulator.token, emulator.aes_key, emulator.corp_id)

    async def answer(request: web.Request) -> web.Response:
        body = await request.text()
        encrypted = body.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
        query = request.query
        crypto.check(query["msg_signature"], query["timestamp"], query["nonce"], encrypted)
        crypto.decrypt(encrypted)
        return web.Response(text="")

    app = web.Application()
    app.router.add_post("/wecom", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


async def wait_for_port(port: int) -> None:
    for _ in range(300):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


async def answer_times(emulator: WeComEmulator, members: int, rate: int, first: int) -> list[float]:
    """Each member sends /help, `rate` a second; seconds until each callback was answered."""
    times: list[float] = []

    async def one(member: str) -> None:
        started = time.perf_counter()
        status = await emulator.send_text(member, "/help")
        assert status == 200, status
        times.append(time.perf_counter() - started)

    tasks = []
    started = time.perf_counter()
    for n in range(members):
        member = f"m{first + n}"
        emulator.add_member(member)
        tasks.append(asyncio.create_task(one(member)))
        await asyncio.sleep(max(0.0, started + (n + 1) / rate - time.perf_counter()))
    await asyncio.gather(*tasks)
    return sorted(times)


def summary(times: list[float]) -> str:
    p99 = times[int(0.99 * (len(times) - 1))]
    return f"{1000 * statistics.median(times):.1f} / {1000 * p99:.1f} / {1000 * max(times):.1f}"


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=600)
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--flood", type=int, default=60)
    parser.add_argument("--baseline", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        await baseline(args.baseline)
        return
    emulator = WeComEmulator()
    await emulator.start()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        upgrade(url)
        port, bare_port = free_port(), free_port()
        env = {**os.environ, **emulator.env(port), "DATABASE_URL": url, "WEBHOOK_PORT": str(port)}
        # The flood gate would answer the flooding member once and drop the rest: lifted,
        # so the pacing is what keeps them under WeCom's limit.
        env |= {"LOG_LEVEL": "WARNING", "FLOOD_LIMIT": "1000"}
        bot = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=ROOT, env=env
        )
        bare = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.wecom", "--baseline", str(bare_port), cwd=ROOT
        )
        try:
            await wait_for_port(port)
            await wait_for_port(bare_port)
            bot_url = emulator.callback_url
            emulator.callback_url = f"http://127.0.0.1:{bare_port}/wecom"
            bare_times = await answer_times(emulator, args.members, args.rate, 0)
            emulator.callback_url = bot_url
            bot_times = await answer_times(emulator, args.members, args.rate, args.members)

            emulator.add_member("flooder")
            started = time.monotonic()
            await asyncio.gather(
                *(emulator.send_text("flooder", "/help") for _ in range(args.flood))
            )
            await asyncio.sleep(max(0.0, 60 - (time.monotonic() - started)))
            first_minute = len(emulator.chat("flooder"))
            dropped = sum(1 for member, _ in emulator.dropped if member == "flooder")
        finally:
            bot.terminate()
            bare.terminate()
            await bot.wait()
            await bare.wait()
            await emulator.stop()
    print(
        f"\n{args.members} callbacks at {args.rate}/s to each server; one member sending "
        f"{args.flood} commands at once"
    )
    rows = [
        ("callback answer p50 / p99 / max, ms: bare check-and-decrypt server", summary(bare_times)),
        ("callback answer p50 / p99 / max, ms: the bot (kept before answered)", summary(bot_times)),
        (
            f"replies to the flooding member in the first minute (WeCom keeps {PER_MEMBER_MINUTE})",
            str(first_minute),
        ),
        ("replies WeCom would have dropped", str(dropped)),
    ]
    width = max(len(case) for case, _ in rows) + 2
    print(f"{'case':<{width}}{'value':>24}")
    for case, value in rows:
        print(f"{case:<{width}}{value:>24}")


if __name__ == "__main__":
    asyncio.run(main())
