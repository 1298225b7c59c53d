"""Fixtures shared by the suite: a migrated database on every backend under test.

Every test that takes `database_url` runs once on SQLite and, when
TEST_DATABASE_URL is set (CI sets it), once more on PostgreSQL, each in a fresh
schema made by the migrations, never by create_all.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from storage.clock import ManualClock
from storage.db import Database
from storage.migrate import upgrade

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
# The engine's semantic channel is measured by make eval and tested on its own
# (tests/matching/test_semantic.py); journeys keep the lexical engine, whose
# proposals the tests spell out, and bot processes they start inherit this.
os.environ.setdefault("MATCH_EMBEDDINGS", "off")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


def _postgres_conninfo(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty, migrated database of one backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
        upgrade(url)
        yield url
        return
    assert POSTGRES_URL is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    conninfo = _postgres_conninfo(POSTGRES_URL)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    # Each test sees only its own schema, so tests cannot leak rows into each other.
    url = str(
        make_url(POSTGRES_URL)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> ManualClock:
    """Monday 2026-03-02 09:00 in Shanghai, moved only by the test."""
    return ManualClock(dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC))
