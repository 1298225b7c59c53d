"""The one place that builds the Application: settings, storage, handlers, menus."""

from __future__ import annotations

import logging

from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, Defaults
from telegram.request import HTTPXRequest

import handlers
from bot.config import Settings
from bot.jobs import schedule_jobs
from bot.metrics import METRICS_KEY, MeasuredRateLimiter
from bot.processing import CountingUpdateProcessor
from bot.telegram_bot import TelegramBot
from handlers.flood import FloodGate
from handlers.i18n import Catalogs
from handlers.menus import set_default_menus
from handlers.rounds import round_soon
from handlers.services import SERVICES_KEY, Deadlines, Services
from storage.clock import Clock, SystemClock
from storage.db import Database

log = logging.getLogger(__name__)


def build_application(
    settings: Settings,
    *,
    db: Database,
    clock: Clock | None = None,
    token: str | None = None,
    base_url: str | None = None,
    processor: CountingUpdateProcessor | None = None,
    rate_limit: bool = True,
) -> Application:
    """Assemble the bot; token and base_url default to the settings (tests pass the emulator's)."""
    secret = token or (
        settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else None
    )
    if not secret:
        raise ValueError("a bot token is needed to build the application")
    catalogs = Catalogs.load(settings.default_locale)
    processor = processor or CountingUpdateProcessor()
    processor.database = db

    # Retries honour 429 retry_after; the limiter keeps ~30 msg/s overall and 1/s per chat.
    # Off only to measure processing capacity (bench/throughput.py) or where tests say why.
    limiter = MeasuredRateLimiter(processor.metrics, max_retries=3) if rate_limit else None
    bot = TelegramBot(
        token=secret,
        base_url=base_url or settings.telegram_api_base_url,
        defaults=Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.timezone),
        rate_limiter=limiter,
        # The pool sizes ApplicationBuilder would choose: many sends at once, one long poll.
        request=HTTPXRequest(connection_pool_size=256),
        get_updates_request=HTTPXRequest(connection_pool_size=1),
    )
    application = ApplicationBuilder().bot(bot).concurrent_updates(processor).build()
    application.bot_data[METRICS_KEY] = processor.metrics
    application.bot_data[SERVICES_KEY] = Services(
        db=db,
        catalogs=catalogs,
        clock=clock or SystemClock(),
        coordinator_ids=settings.coordinator_ids,
        timezone=settings.timezone,
        deadlines=Deadlines(
            reminder_hours=settings.proposal_reminder_hours,
            expiry_hours=settings.proposal_expiry_hours,
            choice_reminder_days=settings.choice_reminder_days,
        ),
        schedule_round=lambda: round_soon(application),
        placement_targets=settings.placement_targets,
        voucher_daily_rate=settings.voucher_daily_rate,
    )
    handlers.register(
        application,
        flood_gate=FloodGate(limit=settings.flood_limit, window=settings.flood_window_seconds),
    )
    schedule_jobs(application, settings)
    return application


async def announce(application: Application) -> None:
    """Once the bot is initialised: its command menus per language."""
    services = application.bot_data[SERVICES_KEY]
    await set_default_menus(application.bot, services.catalogs)
    log.info("bot @%s ready", application.bot.username)
