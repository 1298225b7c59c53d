"""What a platform adapter (a channel) does for the core, and what delivery can come to.

A channel receives its platform's events, turns each into a core `Event` and
hands it to `accept` before it acknowledges it to the platform (if `accept`
raises, the platform is not told and will deliver again). It renders the
outbox's rows in its platform's dialect and reports how each went: delivered
(with the platform's id of the message now showing it), retry later (a network
error, a rate limit, a 5xx), unreachable (the person blocked the bot or left)
or failed (the platform refused it for good: a bug, reported to coordinators).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from handlers.core.capabilities import Capabilities
from handlers.core.events import Event
from handlers.menus import Menus
from storage.outbox import Item

Accept = Callable[[Event], Awaitable[bool]]  # True: new; False: a redelivery


@dataclass(frozen=True)
class Delivered:
    message: str | None = None  # the platform's id of the message showing it


@dataclass(frozen=True)
class RetryLater:
    reason: str
    after: float | None = None  # seconds the platform asked for; None: the pipeline's backoff


@dataclass(frozen=True)
class Unreachable:
    reason: str


@dataclass(frozen=True)
class Failed:
    reason: str


Outcome = Delivered | RetryLater | Unreachable | Failed


@dataclass(frozen=True)
class Route:
    """An HTTP route a channel serves on the bot's own server (a webhook, a callback)."""

    method: str
    path: str
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]


class Channel(Protocol):
    platform: str
    capabilities: Capabilities

    def routes(self) -> list[Route]:
        """Routes for the bot's HTTP server (none for a channel that connects out)."""
        ...

    async def start(self, accept: Accept) -> None:
        """Begin receiving: poll, connect, or get ready to serve the routes."""
        ...

    async def stop(self) -> None:
        """Stop receiving; events already accepted are the pipeline's."""
        ...

    async def close(self) -> None:
        """Release what sending used, once the pipeline delivered what it could."""
        ...

    async def deliver(self, item: Item) -> Outcome:
        """Send one outbox row; never raises for a platform's answer."""
        ...

    async def announce(self, menus: Menus) -> None:
        """Default command menus: per chat and locale, or the app's one (handlers.menus)."""
        ...

    def healthy(self) -> bool:
        """Receiving works (its poller or connection is alive)."""
        ...
