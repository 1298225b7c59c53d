"""The bot's own HTTP server: the channels' webhook and callback routes, /healthz and /metrics.

/healthz answers 503 when the bot cannot do its work, whatever the process
looks like from outside: the database unreachable, the schema not at the
newest migration, a pipeline worker or the scheduler stopped, a channel that
stopped receiving, or an event kept for longer than HEALTH_MAX_WAIT_SECONDS
without being applied.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.app import BotCore
from storage.inbox import inbox_depth
from storage.migrate import head_revision, schema_revision
from storage.outbox import outbox_depth
from storage.proposals import proposals_by_state

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024


class BotServer:
    def __init__(self, core: BotCore, *, routes: bool = True) -> None:
        self.core = core
        self.app = web.Application(client_max_size=MAX_BODY)
        self.app.router.add_get("/healthz", self.health)
        self.app.router.add_get("/metrics", self.metrics)
        if routes:
            for channel in core.channels.values():
                for route in channel.routes():
                    self.app.router.add_route(route.method, route.path, route.handler)
        self._runner: web.AppRunner | None = None
        self._head = head_revision()

    async def health(self, _request: web.Request) -> web.Response:
        core = self.core
        body: dict[str, object] = {}
        healthy = True
        try:
            revision = await schema_revision(core.db)
            body["database"] = "ok"
            body["schema"] = "current" if revision == self._head else f"outdated ({revision})"
            healthy = revision == self._head
            wait = await core.inbox.oldest_wait()
            body["oldest_event_wait_seconds"] = round(wait, 1)
            if wait > core.settings.health_max_wait_seconds:
                healthy = False
        except Exception as error:  # any failure to reach the database is "unreachable"
            log.warning("health check: database unreachable (%s)", type(error).__name__)
            body["database"] = "unreachable"
            healthy = False
        parts = {
            "inbox": core.inbox.running(),
            "delivery": core.deliverer.running(),
            "scheduler": core.scheduler.running(),
        }
        for name, running in parts.items():
            body[name] = "running" if running else "stopped"
            healthy = healthy and running
        for platform, channel in core.channels.items():
            alive = channel.healthy()
            body[f"channel_{platform}"] = "receiving" if alive else "stopped"
            healthy = healthy and alive
        stats = core.inbox.stats
        body["events_applied"] = stats.applied
        body["last_event_at"] = stats.last_applied_at.isoformat() if stats.last_applied_at else None
        return web.json_response(body, status=200 if healthy else 503)

    async def metrics(self, _request: web.Request) -> web.Response:
        """Prometheus text format; depths and proposal states are read at scrape time."""
        core, metrics = self.core, self.core.metrics
        wall = core.services.outbox.wall()
        try:
            for state, count in (await proposals_by_state(db=core.db)).items():
                metrics.proposals.labels(state).set(count)
            inbox = await inbox_depth(db=core.db)
            metrics.inbox_waiting.set(inbox.waiting)
            metrics.inbox_age.set((wall - inbox.oldest).total_seconds() if inbox.oldest else 0)
            outbox = await outbox_depth(db=core.db)
            metrics.outbox_waiting.set(outbox.waiting)
            metrics.outbox_age.set((wall - outbox.oldest).total_seconds() if outbox.oldest else 0)
            metrics.outbox_failed.set(outbox.failed)
        except Exception as error:
            log.warning("metrics: database unreachable (%s); counters only", type(error).__name__)
        return web.Response(
            body=metrics.exposition(),
            content_type="text/plain",
            charset="utf-8",
            headers={"X-Content-Type-Options": "nosniff"},
        )

    async def start(self, host: str, port: int) -> int:
        """Listen; returns the port (useful with port 0)."""
        self._runner = web.AppRunner(self.app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        addresses = self._runner.addresses
        return int(addresses[0][1]) if addresses else port

    async def stop(self) -> None:
        """Stop accepting requests; those in flight finish first."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
