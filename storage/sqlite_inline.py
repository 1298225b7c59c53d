"""SQLite on the event loop's own thread: aiosqlite's interface without its thread hops.

aiosqlite runs every call (cursor, execute, fetch, close, commit) in a worker
thread and wakes the loop when it is done: about four hops per statement, a
hundred per update, which cost the bot far more than the SQL (bench.throughput
measured it at a tenth of an echo bot's rate). A statement on a local SQLite
file takes microseconds, so running it inline is cheaper than handing it over.

What must never run inline is a wait for SQLite's write lock: the loop would
stop while the lock's holder, on the same loop, could not finish. So
`Database` takes `write_lock()` (one per database file and loop) before every
transaction: tasks of one process queue up on it and never meet inside SQLite.
Another process on the same file can still make SQLite wait (busy_timeout);
several bot processes are for PostgreSQL (README, Operations).
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite

_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def lock_key(path: str) -> str:
    """One name per database file, however the URL spelled it."""
    return str(Path(path).resolve()) if path not in ("", ":memory:") else path


def write_lock(key: str) -> asyncio.Lock:
    """The lock every transaction on this SQLite file (`lock_key`) takes first, in this
    event loop."""
    return _LOCKS.setdefault(asyncio.get_running_loop(), {}).setdefault(key, asyncio.Lock())


class _RunNow:
    """Stands in for aiosqlite's queue to its worker thread: runs each call at once."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:  # handed to the awaiting caller, as aiosqlite does
            if future is not None and not future.done():
                future.set_exception(error)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls complete before `await` returns."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunNow()  # type: ignore[assignment]

    def __await__(self) -> Any:
        return self._connect().__await__()  # no worker thread to start


def connector(path: str) -> Callable[[], Any]:
    """An `async_creator` for SQLAlchemy's aiosqlite dialect."""

    async def connect() -> InlineConnection:
        # check_same_thread off: the pool may close a connection from the GC's thread.
        return await InlineConnection(
            lambda: sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        )

    return connect
