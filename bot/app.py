"""The one place that builds a bot: the core (router, services, outbox), the pipeline (inbox,
delivery), the scheduled jobs, and the channels of every configured platform.

    platform ─channel─> Inbox.accept ─> person's worker ─> handle_event ─> router ─> flow
                                                                                    │
    platform <─channel.deliver─ Deliverer <─wake─ outbox rows (same transaction) <──┘

One process serves every configured platform at once; a person is one user
whichever platform they write from.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Sequence

import handlers
from bot.config import Settings
from bot.delivery import Deliverer
from bot.inbox import Inbox
from bot.jobs import schedule_jobs
from bot.metrics import Metrics
from bot.scheduler import Scheduler
from channels.base import Channel
from handlers import broadcast, errors
from handlers.core.events import Event
from handlers.core.handle import handle_event
from handlers.core.outbox import Outbox
from handlers.flood import FloodGate
from handlers.i18n import Catalogs
from handlers.menus import default_menus
from handlers.services import Deadlines, Services
from matching import semantic
from storage.clock import Clock, SystemClock
from storage.db import Database
from storage.outbox import Item

log = logging.getLogger(__name__)


class BotCore:
    """Everything one bot process runs, over the channels it was given."""

    def __init__(
        self,
        settings: Settings,
        *,
        db: Database,
        channels: Sequence[Channel],
        clock: Clock | None = None,
        inbox_sweep_seconds: float = 2.0,
        outbox_sweep_seconds: float = 1.0,
    ) -> None:
        self.settings = settings
        self.db = db
        self.metrics = Metrics()
        self.channels = {channel.platform: channel for channel in channels}
        self.router = handlers.build_router()
        self.deliverer = Deliverer(
            db,
            self.channels,
            report=self._undelivered,
            lease=dt.timedelta(seconds=settings.outbox_lease_seconds),
            sweep_seconds=outbox_sweep_seconds,
            metrics=self.metrics,
            settled=self._settled,
        )
        catalogs = Catalogs.load(settings.default_locale)
        self.services = Services(
            db=db,
            catalogs=catalogs,
            clock=clock or SystemClock(),
            outbox=Outbox(
                db,
                capabilities={p: c.capabilities for p, c in self.channels.items()},
                wake=self.deliverer.wake,
            ),
            coordinator_ids=settings.coordinator_ids,
            timezone=settings.timezone,
            deadlines=Deadlines(
                reminder_hours=settings.proposal_reminder_hours,
                expiry_hours=settings.proposal_expiry_hours,
                choice_reminder_days=settings.choice_reminder_days,
            ),
            placement_targets=settings.placement_targets,
            voucher_daily_rate=settings.voucher_daily_rate,
            retention_days=settings.retention_days,
            embedder=semantic.load(settings.match_embeddings),
            schedule_round=self._round_soon,
        )
        self.inbox = Inbox(
            db,
            apply=self._apply,
            on_error=self._failed,
            flood_gate=FloodGate(limit=settings.flood_limit, window=settings.flood_window_seconds),
            sweep_seconds=inbox_sweep_seconds,
        )
        self.scheduler = Scheduler(settings.timezone)
        schedule_jobs(self.scheduler, self.services, settings, self.metrics)
        self._background: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self.inbox.start()
        await self.deliverer.start()
        menus = default_menus(self.services.catalogs)
        for channel in self.channels.values():
            await channel.start(self.inbox.accept)
            await channel.announce(menus)
        self.scheduler.start()

    async def stop(self) -> None:
        """Stop receiving, finish the events already kept, deliver what is due, then stop."""
        await self.scheduler.stop()
        for channel in self.channels.values():
            await channel.stop()
        await self.inbox.stop()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self.deliverer.stop()
        for channel in self.channels.values():
            await channel.close()

    async def wait_idle(self, timeout: float = 15.0) -> None:  # noqa: ASYNC109
        """Until every kept event is applied and everything due is delivered."""
        async with asyncio.timeout(timeout):
            while True:
                await self.inbox.wait_idle(timeout)
                if self._background:
                    await asyncio.gather(*self._background, return_exceptions=True)
                    continue
                await self.deliverer.wait_idle(timeout)
                if self.inbox.idle and not self._background:
                    return

    # --- the pipeline's calls into the core ----------------------------------------------------

    async def _apply(self, event: Event, flood: str | None) -> None:
        started = time.perf_counter()
        await handle_event(event, flood=flood, svc=self.services, router=self.router)
        self.metrics.latency.observe(time.perf_counter() - started)
        self.metrics.events.labels(event.platform, type(event.body).__name__.lower()).inc()

    async def _failed(self, event: Event, error: BaseException) -> None:
        await errors.on_error(self.services, event, error)

    async def _undelivered(self, item: Item, reason: str) -> None:
        await errors.report_undelivered(self.services, item, reason)

    async def _settled(self, key: str, delivered: bool) -> None:
        await broadcast.delivery_settled(self.services, key, delivered)

    def _round_soon(self) -> None:
        """A match round right after the demand that asked for it is committed."""

        def start() -> None:
            task = asyncio.create_task(self.scheduler.run("match_round_now"))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

        self.db.after_commit(start)
