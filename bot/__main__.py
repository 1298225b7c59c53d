"""Command line: python -m bot {run,playground,migrate,match-eval}."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bot.config import SettingsError, load_settings

log = logging.getLogger("bot")


def configure_logging(level: str) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # APScheduler logs every job run at INFO; the bot logs what its jobs do.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "run",
        help="every configured platform (Telegram by long polling, WeCom callbacks on"
        " WEBHOOK_PORT, Feishu's long connection or webhook); the playground when none is",
    )
    sub.add_parser("webhook", help="serve Telegram's webhook (WEBHOOK_URL, WEBHOOK_SECRET)")
    playground = sub.add_parser("playground", help="the bot on a local emulator, in a web page")
    playground.add_argument(
        "--demo", action="store_true", help="first fill the database with a small programme"
    )
    sub.add_parser("migrate", help="apply database migrations")
    for name, what in (
        ("backup", "write a consistent backup"),
        ("restore", "restore a backup (bot stopped)"),
    ):
        sub.add_parser(name, help=what).add_argument("file", type=Path)
    sub.add_parser(
        "match-eval", help="rank specialists for demands from JSON Lines files", add_help=False
    )
    args, rest = parser.parse_known_args(argv)

    if args.command == "match-eval":
        from bot.match_eval import main as match_eval

        return match_eval(rest)
    if rest:
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if args.command in ("backup", "restore"):
        from storage import backup

        getattr(backup, args.command)(settings.database_url, args.file)
        log.info("%s done: %s", args.command, args.file)
        return 0
    if args.command == "migrate":
        from storage.migrate import upgrade

        upgrade(settings.database_url)
        log.info("database is at the newest schema")
        return 0
    platforms = (
        settings.telegram_bot_token
        or settings.wecom_corp_id
        or settings.feishu_app_id
        or settings.dingtalk_client_id
    )
    if args.command == "webhook" or (args.command == "run" and platforms):
        from bot.runner import serve as serve_bot
        from storage.migrate import SchemaOutdated

        webhook = args.command == "webhook"
        telegram_webhook = webhook and settings.telegram_bot_token
        missing = [
            name
            for name, value in (
                ("TELEGRAM_BOT_TOKEN, the WECOM_, FEISHU_ or DINGTALK_ settings", platforms),
                ("WEBHOOK_URL", settings.webhook_url if telegram_webhook else True),
                ("WEBHOOK_SECRET", settings.webhook_secret if telegram_webhook else True),
            )
            if not value
        ]
        if missing:
            print(f"configuration error: {', '.join(missing)} must be set", file=sys.stderr)
            return 2
        try:
            asyncio.run(serve_bot(settings, webhook=webhook))
        except SchemaOutdated as outdated:
            print(f"database error: {outdated}", file=sys.stderr)
            return 2
        return 0
    from bot.playground import serve

    asyncio.run(serve(settings, demo=getattr(args, "demo", False)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
