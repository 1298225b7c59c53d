"""Running the bot in production: every configured platform in one process, with a
graceful stop.

Start-up refuses a database that is not at the newest migration, with one line
saying what to run. On SIGTERM (or SIGINT) the process stops receiving (closes
its listener, stops polling), applies every event it already kept, delivers
what is due, and exits; whatever is left waits in the database for the next
process.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from bot.app import BotCore
from bot.config import Settings
from bot.server import BotServer
from channels.base import Channel
from channels.dingtalk.channel import DingTalkApp, DingTalkChannel
from channels.feishu.channel import FeishuApp, FeishuChannel
from channels.telegram import TelegramChannel
from channels.wecom.channel import WeComApp, WeComChannel
from storage.clock import Clock
from storage.db import Database
from storage.migrate import require_current_schema

log = logging.getLogger(__name__)
POLL_TIMEOUT = 30  # seconds a getUpdates long poll may wait at Telegram


def configured_channels(settings: Settings, db: Database, *, webhook: bool) -> list[Channel]:
    """A channel for every platform the settings configure."""
    channels: list[Channel] = []
    app = wecom_app(settings)
    if app is not None:
        channels.append(WeComChannel(app, db))
    feishu = feishu_app(settings)
    if feishu is not None:
        channels.append(FeishuChannel(feishu, db))
    dingtalk = dingtalk_app(settings)
    if dingtalk is not None:
        channels.append(DingTalkChannel(dingtalk, db))
    if settings.telegram_bot_token is not None:
        secret = settings.webhook_secret
        channels.append(
            TelegramChannel(
                token=settings.telegram_bot_token.get_secret_value(),
                base_url=settings.telegram_api_base_url,
                webhook_url=settings.webhook_url if webhook else None,
                webhook_path=settings.webhook_path,
                secret=secret.get_secret_value() if secret else None,
                poll_timeout=POLL_TIMEOUT,
            )
        )
    return channels


def wecom_app(settings: Settings) -> WeComApp | None:
    """The WeCom app the settings name, if they name one (they name all of it or none)."""
    if settings.wecom_corp_id is None:
        return None
    assert settings.wecom_agent_id and settings.wecom_secret and settings.wecom_token
    assert settings.wecom_aes_key is not None
    return WeComApp(
        corp_id=settings.wecom_corp_id,
        agent_id=settings.wecom_agent_id,
        secret=settings.wecom_secret.get_secret_value(),
        token=settings.wecom_token.get_secret_value(),
        aes_key=settings.wecom_aes_key.get_secret_value(),
        api_base=settings.wecom_api_base_url.rstrip("/"),
        callback_path=settings.wecom_callback_path,
    )


def feishu_app(settings: Settings) -> FeishuApp | None:
    """The Feishu app the settings name, if they name one."""
    if settings.feishu_app_id is None or settings.feishu_app_secret is None:
        return None
    encrypt, verification = settings.feishu_encrypt_key, settings.feishu_verification_token
    return FeishuApp(
        app_id=settings.feishu_app_id,
        app_secret=settings.feishu_app_secret.get_secret_value(),
        encrypt_key=encrypt.get_secret_value() if encrypt else None,
        verification_token=verification.get_secret_value() if verification else None,
        domain=settings.feishu_domain.rstrip("/"),
        mode=settings.feishu_mode,
        callback_path=settings.feishu_callback_path,
    )


def dingtalk_app(settings: Settings) -> DingTalkApp | None:
    """The DingTalk app and robot the settings name, if they name one."""
    if settings.dingtalk_client_id is None or settings.dingtalk_client_secret is None:
        return None
    return DingTalkApp(
        client_id=settings.dingtalk_client_id,
        client_secret=settings.dingtalk_client_secret.get_secret_value(),
        robot_code=settings.dingtalk_robot_code or settings.dingtalk_client_id,
        card_template_id=settings.dingtalk_card_template_id,
        api_base=settings.dingtalk_api_base_url.rstrip("/"),
    )


class BotProcess:
    """One bot process: the core over its channels, its HTTP server, and the order they
    start and stop in."""

    def __init__(self, settings: Settings, *, webhook: bool, clock: Clock | None = None) -> None:
        if (
            webhook
            and settings.telegram_bot_token
            and not (settings.webhook_url and settings.webhook_secret)
        ):
            raise ValueError("a Telegram webhook needs WEBHOOK_URL and WEBHOOK_SECRET")
        self.settings = settings
        self.webhook = webhook
        self.db = Database(settings.database_url)
        self.core = BotCore(
            settings,
            db=self.db,
            channels=configured_channels(settings, self.db, webhook=webhook),
            clock=clock,
        )
        self.server = BotServer(self.core)
        self.port: int | None = None

    async def start(self) -> None:
        await require_current_schema(self.db)
        settings = self.settings
        serves = any(channel.routes() for channel in self.core.channels.values())
        port = settings.webhook_port if serves else settings.health_port
        if port is not None:
            self.port = await self.server.start(settings.webhook_listen, port)
            log.info("listening on %s:%s", settings.webhook_listen, self.port)
        await self.core.start()

    async def stop(self) -> None:
        """Stop taking events, finish the ones kept, then release everything."""
        log.info("stopping: applying the events already kept")
        await self.server.stop()
        await self.core.stop()
        await self.db.dispose()
        log.info("stopped")


async def serve(settings: Settings, *, webhook: bool) -> None:
    """Run until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    process = BotProcess(settings, webhook=webhook)
    try:
        await process.start()
    except BaseException:
        await process.db.dispose()
        raise
    await stop.wait()
    await process.stop()
