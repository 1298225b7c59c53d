"""Engine and transactions for SQLite (default) and PostgreSQL (production).

The bot runs on asyncio, so it talks to the database through SQLAlchemy's
async engine (aiosqlite / psycopg 3) and never blocks the event loop; Alembic
and scripts use the matching sync driver.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage import sqlite_inline

BUSY_TIMEOUT_MS = 1000  # how long SQLite waits for another process's write lock
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
_SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}


def _with_driver(url: str, drivers: dict[str, str]) -> str:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in drivers:
        raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
    return parsed.set(drivername=drivers[backend]).render_as_string(hide_password=False)


def async_url(url: str) -> str:
    return _with_driver(url, _ASYNC_DRIVERS)


def sync_url(url: str) -> str:
    return _with_driver(url, _SYNC_DRIVERS)


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite file so a fresh clone starts without set-up."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)


def configure_sqlite(sync_engine: Any) -> None:
    """WAL, foreign keys and BEGIN IMMEDIATE on every SQLite connection.

    WAL + synchronous=NORMAL is about 3x faster for one-row commits and survives
    application crashes; foreign keys are off unless asked for per connection;
    BEGIN IMMEDIATE takes the write lock up front so two writers wait (busy
    timeout) instead of failing on a lock upgrade.
    """

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below rule
        cursor = dbapi_connection.cursor()
        # First, so that switching to WAL also waits for a busy database instead of failing.
        # Short: statements run on the event loop's thread, so a wait here stops everything;
        # a lock held longer (another process, a backup) fails the transaction, and the
        # pipeline tries it again later (storage.db.is_transient).
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@dataclass
class _Unit:
    """The unit of work the current task runs in. The task is kept because asyncio copies
    context variables into tasks started from inside a unit, which must not join it."""

    database: Database
    connection: AsyncConnection
    task: asyncio.Task[Any] | None
    after_commit: list[Callable[[], None]] = field(default_factory=list)


_UNIT: ContextVar[_Unit | None] = ContextVar("unit", default=None)


class Database:
    """The engine plus a way to run one transaction.

    Inside `unit_of_work()` (the bot wraps each update in one) every
    `transaction()` joins the unit's transaction: the update's effects and its
    processed-update id commit together or not at all. An operation that fails
    rolls the whole unit back (a fresh transaction then serves the rest of the
    update, such as the error handler); one that expects a database error and
    goes on asks for a savepoint. Outside a unit (jobs, scripts, tests) each
    `transaction()` is a transaction of its own.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        ensure_sqlite_folder(url)
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        path = str(parsed.database or "")
        self._sqlite_lock = sqlite_inline.lock_key(path) if self.is_sqlite else None
        options: dict[str, Any] = {}
        if self.is_sqlite:
            options["async_creator"] = sqlite_inline.connector(path)
        else:
            # A connection left broken by a server restart is found before it is used, and
            # the pool is large enough for the inbox's and the outbox's workers together.
            options.update(pool_pre_ping=True, pool_size=10, max_overflow=10, pool_timeout=10)
        # Errors and echo show statements without their values: those are people's data,
        # and an error's text goes to the log and to the coordinators' chat.
        self.engine: AsyncEngine = create_async_engine(
            async_url(url), echo=echo, hide_parameters=True, **options
        )
        if self.is_sqlite:
            configure_sqlite(self.engine.sync_engine)
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[None]:
        """One transaction for everything the block does through this database."""
        if self._joined() is not None:
            yield
            return
        unit: _Unit | None = None
        async with self._exclusive(), self.engine.connect() as connection:
            await connection.begin()
            unit = _Unit(self, connection, asyncio.current_task())
            token = _UNIT.set(unit)
            try:
                yield
            except BaseException:
                await connection.rollback()
                raise
            else:
                await connection.commit()
            finally:
                _UNIT.reset(token)
        for callback in unit.after_commit:
            callback()

    def in_unit(self) -> bool:
        return self._joined() is not None

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run callback once the current unit of work committed (never if it rolls back)."""
        current = _UNIT.get()
        if current is None or self._joined() is None:
            raise RuntimeError("after_commit needs a unit of work")
        if callback not in current.after_commit:
            current.after_commit.append(callback)

    @asynccontextmanager
    async def transaction(self, *, savepoint: bool = False) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back on error. A fresh
        session each time, so no stale objects.

        Inside a unit of work it joins the unit's transaction; `savepoint=True` is for an
        operation that catches a database error (a unique key lost to a race) and carries
        on, which must roll back only its own part. Savepoints cost two statements, a
        third of an update's, so the others go without.
        """
        connection = self._joined()
        if connection is None:
            async with self._exclusive(), self._sessions() as session, session.begin():
                yield session
            return
        mode = "create_savepoint" if savepoint else "rollback_only"
        try:
            async with (
                AsyncSession(
                    bind=connection, join_transaction_mode=mode, expire_on_commit=False
                ) as session,
                session.begin(),
            ):
                yield session
        except BaseException:
            if not connection.in_transaction():  # the unit was rolled back: start afresh
                await connection.begin()
            raise

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection for Core statements, without an ORM session (the pipeline's hot
        statements): the unit's own inside a unit of work, else a transaction of its own."""
        joined = self._joined()
        if joined is not None:
            yield joined
            return
        async with self._exclusive(), self.engine.begin() as connection:
            yield connection

    def _joined(self) -> AsyncConnection | None:
        """The connection of this task's unit of work on this database, if any."""
        current = _UNIT.get()
        if (
            current is None
            or current.database is not self
            or current.task is not asyncio.current_task()
        ):
            return None
        return current.connection

    def _exclusive(self) -> AbstractAsyncContextManager[Any]:
        """SQLite runs inline (storage.sqlite_inline): one transaction at a time per file."""
        if self._sqlite_lock is None:
            return nullcontext()
        return sqlite_inline.write_lock(self._sqlite_lock)

    async def ping(self) -> bool:
        async with self._exclusive(), self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()


def conflict_insert(dialect: str) -> Callable[..., Any]:
    """The dialect's own INSERT, the one that can say ON CONFLICT (SQLite and PostgreSQL
    spell it alike, but SQLAlchemy builds it per dialect)."""
    return postgresql_insert if dialect == "postgresql" else sqlite_insert


def is_transient(error: BaseException) -> bool:
    """A failure of the database's availability, not of the statement: retry later.

    The server away or restarting, a connection lost, the pool exhausted, SQLite's write
    lock held too long by another process: none says anything about the work itself.
    """
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(
        error,
        exc.OperationalError | exc.InterfaceError | exc.TimeoutError | ConnectionError | OSError,
    )
