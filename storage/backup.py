"""Backups that are safe while the bot runs, and the matching restore.

SQLite: the online backup API copies a consistent snapshot page by page
(never copy the file itself mid-write). PostgreSQL: pg_dump in its custom
format, restored with pg_restore --clean. Restore with the bot stopped.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


def _sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError("a SQLite backup needs a database file")
    return Path(database)


def _libpq(url: str) -> tuple[str, list[str]]:
    """A libpq connection URI and the pg_dump schema option from a SQLAlchemy URL."""
    parsed = make_url(url)
    options = str(parsed.query.get("options", ""))
    schema = options.split("search_path=", 1)[1].split()[0] if "search_path=" in options else None
    plain = parsed.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    return plain, ([f"--schema={schema}"] if schema else [])


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} is not installed (PostgreSQL client tools)")
    return found


def backup(database_url: str, target: Path) -> None:
    """Write a consistent copy of the database to target."""
    if make_url(database_url).get_backend_name() == "sqlite":
        source = sqlite3.connect(_sqlite_file(database_url))
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
        return
    uri, schema = _libpq(database_url)
    subprocess.run(  # noqa: S603 (fixed program, arguments are not a shell)
        [_tool("pg_dump"), "--format=custom", f"--file={target}", *schema, uri], check=True
    )


def restore(database_url: str, source: Path) -> None:
    """Replace the database's content with a backup made by `backup`."""
    if not source.is_file():
        raise FileNotFoundError(f"no backup at {source}")
    if make_url(database_url).get_backend_name() == "sqlite":
        backup_db = sqlite3.connect(source)
        live = sqlite3.connect(_sqlite_file(database_url))
        try:
            backup_db.backup(live)
        finally:
            live.close()
            backup_db.close()
        return
    uri, schema = _libpq(database_url)
    subprocess.run(  # noqa: S603
        [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            f"--dbname={uri}",
            *schema,
            str(source),
        ],
        check=True,
    )
