"""The bot's own HTTP server: Telegram's webhook, /healthz and /metrics.

The webhook follows python-telegram-bot's custom-webhook pattern: the updater
is not used; each accepted request is put on application.update_queue. A
request without the right X-Telegram-Bot-Api-Secret-Token gets 403 and
nothing is queued (compared in constant time).
"""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.processing import CountingUpdateProcessor
from storage.db import Database
from storage.proposals import proposals_by_state

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


class BotServer:
    """Routes on one aiohttp app; the webhook route only when a secret is given."""

    def __init__(
        self,
        application: Application,
        *,
        db: Database,
        processor: CountingUpdateProcessor,
        webhook_path: str | None = None,
        secret: str | None = None,
    ) -> None:
        self.application = application
        self.db = db
        self.processor = processor
        self.secret = secret
        self.app = web.Application(client_max_size=1024 * 1024)
        self.app.router.add_get("/healthz", self.health)
        self.app.router.add_get("/metrics", self.metrics)
        if webhook_path is not None:
            if not secret:
                raise ValueError("a webhook needs a secret token")
            self.app.router.add_post(webhook_path, self.webhook)
        self._runner: web.AppRunner | None = None

    async def webhook(self, request: web.Request) -> web.Response:
        """One update from Telegram: checked, queued, answered 200 at once."""
        assert self.secret is not None
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return web.Response(status=403)
        try:
            payload = await request.json()
            update = Update.de_json(payload, self.application.bot)
        except (json.JSONDecodeError, ValueError, TypeError, KeyError):
            log.warning("webhook body was not an update")
            return web.Response(status=400)
        await self.application.update_queue.put(update)
        return web.Response()

    async def health(self, _request: web.Request) -> web.Response:
        """Alive when the database answers and the scheduler runs; 503 otherwise."""
        try:
            database = await self.db.ping()
        except Exception:  # any failure to reach the database is "down", with the reason logged
            log.exception("health check: database unreachable")
            database = False
        queue = self.application.job_queue
        scheduler = bool(queue is not None and queue.scheduler.running)
        last = self.processor.last_update_at
        body = {
            "database": "ok" if database else "unreachable",
            "scheduler": "running" if scheduler else "stopped",
            "last_update_at": last.isoformat() if last else None,
            "updates_processed": self.processor.processed,
        }
        return web.json_response(body, status=200 if database and scheduler else 503)

    async def metrics(self, _request: web.Request) -> web.Response:
        """Prometheus text format; proposal states are read from the database at scrape time."""
        metrics = self.processor.metrics
        for state, count in (await proposals_by_state(db=self.db)).items():
            metrics.proposals.labels(state).set(count)
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
