"""Prometheus metrics of one bot process, in a registry of its own.

Counted where the pipeline does the work: events kept and applied (by
platform and kind, with the time from receipt to applied), deliveries (by
platform, kind and outcome), job runs; the depth and age of the inbox and the
outbox and the proposals by state are read from the database at scrape time.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            "techmatch_events_total",
            "Events applied, by platform and kind",
            ["platform", "kind"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "techmatch_event_seconds",
            "Time to apply one event (its unit of work)",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
            registry=self.registry,
        )
        self.deliveries = Counter(
            "techmatch_deliveries_total",
            "Outbox rows handed to a platform, by platform, kind and outcome",
            ["platform", "kind", "outcome"],
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
        self.inbox_waiting = Gauge(
            "techmatch_inbox_waiting", "Events kept and not yet applied", registry=self.registry
        )
        self.inbox_age = Gauge(
            "techmatch_inbox_oldest_seconds",
            "How long the oldest event not yet applied has waited",
            registry=self.registry,
        )
        self.outbox_waiting = Gauge(
            "techmatch_outbox_waiting", "Messages not yet delivered", registry=self.registry
        )
        self.outbox_age = Gauge(
            "techmatch_outbox_oldest_seconds",
            "How long the oldest message not yet delivered has waited",
            registry=self.registry,
        )
        self.outbox_failed = Gauge(
            "techmatch_outbox_failed", "Messages given up on (reported)", registry=self.registry
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
