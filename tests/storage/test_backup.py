"""A backup taken while the database is in use restores exactly what it held."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from sqlalchemy import select

from storage.backup import backup
from storage.clock import ManualClock
from storage.db import Database
from storage.models import Identity
from tests.people import touch_user

ROOT = Path(__file__).resolve().parents[2]


async def telegram_ids(db: Database) -> set[int]:
    async with db.transaction() as session:
        accounts = await session.execute(
            select(Identity.account).where(Identity.platform == "telegram")
        )
        return {int(account) for account in accounts.scalars()}


async def test_backup_then_restore_with_the_cli(
    database_url: str, db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    await touch_user(db=db, telegram_id=1, now=clock.now())
    target = tmp_path / "techmatch.backup"
    backup(database_url, target)  # the engine still holds open connections: an online backup
    await touch_user(db=db, telegram_id=2, now=clock.now())
    assert await telegram_ids(db) == {1, 2}
    await db.dispose()

    env = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "restore",
        str(target),
        cwd=ROOT,
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    _, errors = await child.communicate()
    assert child.returncode == 0, errors.decode()
    restored = Database(database_url)
    assert await telegram_ids(restored) == {1}
    await restored.dispose()
