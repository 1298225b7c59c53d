"""One worker task per key (a person for the inbox, an address for delivery), so each key's
work runs in order and different keys' at once, with a periodic sweep that wakes the keys
whose work no worker holds: what waited across a restart, another process's leftovers,
retries come due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Generic, TypeVar

from storage.db import is_transient

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)


class Workers(Generic[K]):
    def __init__(
        self,
        name: str,
        work: Callable[[K], Awaitable[None]],
        due: Callable[[], Awaitable[Iterable[K]]],
        sweep_seconds: float,
    ) -> None:
        self.name = name
        self.sweep_seconds = sweep_seconds
        self._work = work
        self._due = due
        self._tasks: dict[K, asyncio.Task[None]] = {}
        self._again: set[K] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False
        self._drain = asyncio.Event()

    def wake(self, key: K) -> None:
        """Start the key's worker, or tell the running one to look again before it ends."""
        if self._stopping:
            return
        if key in self._tasks:
            self._again.add(key)
            return
        self._idle.clear()
        self._tasks[key] = asyncio.create_task(self._run(key), name=f"{self.name} {key}")

    def woken_again(self, key: K) -> bool:
        """True (once) when a wake came for the key while its worker ran out of work."""
        if key in self._again:
            self._again.discard(key)
            return True
        return False

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def draining(self) -> bool:
        return self._drain.is_set()

    @property
    def idle(self) -> bool:
        return self._idle.is_set()

    async def drained_within(self, seconds: float) -> bool:
        """Wait up to `seconds`; True at once when the process starts to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drain.wait(), seconds)
        return self._drain.is_set()

    async def until_idle(self) -> None:
        await self._idle.wait()

    async def start(self) -> None:
        self._stopping = False
        self._drain.clear()
        self._sweeper = asyncio.create_task(self._sweep(), name=f"{self.name} sweep")

    async def stop(self, timeout: float) -> None:  # noqa: ASYNC109
        """Let the workers finish what they can (up to `timeout`), then cancel the rest."""
        self._drain.set()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
        self._stopping = True
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    def running(self) -> bool:
        return self._sweeper is not None and not self._sweeper.done()

    async def sweep_once(self) -> None:
        for key in await self._due():
            if key not in self._tasks:
                self.wake(key)

    async def _sweep(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except Exception as error:
                if not is_transient(error):
                    log.exception("%s sweep failed", self.name)
            await asyncio.sleep(self.sweep_seconds)

    async def _run(self, key: K) -> None:
        try:
            await self._work(key)
        except Exception:  # never let a worker die silently; the sweep starts another
            log.exception("%s worker stopped", self.name)
        finally:
            self._tasks.pop(key, None)
            self._again.discard(key)
            if not self._tasks:
                self._idle.set()
