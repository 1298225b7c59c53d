"""Apply or roll back schema migrations; the only way a schema is made."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import exc, text

from storage.db import Database, ensure_sqlite_folder

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would eat a % in a password.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    ensure_sqlite_folder(database_url)
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


def head_revision() -> str:
    """The newest migration this code ships."""
    heads = ScriptDirectory(str(MIGRATIONS)).get_heads()
    return ",".join(sorted(heads))


async def schema_revision(db: Database) -> str | None:
    """The migration the database is at (None when it was never migrated)."""
    try:
        async with db.transaction() as session:
            rows = await session.execute(text("SELECT version_num FROM alembic_version"))
            found = sorted(str(row[0]) for row in rows)
    except exc.ProgrammingError:  # PostgreSQL: no such table
        return None
    except exc.OperationalError as error:  # SQLite: no such table; or the database is away
        if "no such table" in str(error):
            return None
        raise
    return ",".join(found) or None


class SchemaOutdated(Exception):
    """The database is not at the newest migration: the bot must not run on it."""


async def require_current_schema(db: Database) -> None:
    current, head = await schema_revision(db), head_revision()
    if current != head:
        raise SchemaOutdated(
            f"the database is at migration {current or 'none'}, this code needs {head}:"
            " run `python -m bot migrate` first"
        )
