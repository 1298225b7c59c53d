"""Prometheus metrics of one bot process, in a registry of its own.

Counted where python-telegram-bot offers public extension points: the update
processor (updates by type, handler latency) and the rate limiter (requests
sent, 429s received); job runs are counted by the job wrapper.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter

METRICS_KEY = "metrics"  # where the Application keeps its Metrics in bot_data, for jobs


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "techmatch_updates_total",
            "Updates processed, by type",
            ["type"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "techmatch_handler_seconds",
            "Time to process one update",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
            registry=self.registry,
        )
        self.requests = Counter(
            "techmatch_bot_requests_total",
            "Bot API requests made, by method",
            ["method"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "techmatch_telegram_429_total",
            "429 Too Many Requests answers received",
            registry=self.registry,
        )
        self.jobs = Counter(
            "techmatch_job_runs_total",
            "Scheduled job runs, by job and result",
            ["job", "result"],
            registry=self.registry,
        )
        self.proposals = Gauge(
            "techmatch_proposals", "Proposals by state", ["state"], registry=self.registry
        )

    def observe_update(self, update: object, seconds: float) -> None:
        self.updates.labels(update_type(update)).inc()
        self.latency.observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def update_type(update: object) -> str:
    """The kind of update: message, callback_query, ... (what Telegram calls the field)."""
    if isinstance(update, Update):
        for name in ("message", "edited_message", "callback_query", "my_chat_member"):
            if getattr(update, name) is not None:
                return name
        return "other"
    return type(update).__name__


class MeasuredRateLimiter(AIORateLimiter):
    """PTB's limiter (about 30 messages/s overall, 1/s per chat, retries on 429), counted."""

    def __init__(self, metrics: Metrics, max_retries: int = 3) -> None:
        super().__init__(max_retries=max_retries)
        self.metrics = metrics

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        metrics = self.metrics

        async def counted(*call_args: Any, **call_kwargs: Any) -> Any:
            try:
                result = await callback(*call_args, **call_kwargs)
            except RetryAfter:
                metrics.rate_limited.inc()
                raise
            metrics.requests.labels(endpoint).inc()
            return result

        return await super().process_request(counted, args, kwargs, endpoint, data, rate_limit_args)
