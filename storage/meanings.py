"""Vectors of profiles and demands from the engine's embedding model, kept between rounds.

A vector is good while its model and the digest of the text it was made from
are those of today: a changed profile or another model makes it stale, and
the next round embeds it again. Rows are replaced whole (upsert by owner).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from storage.db import Database, conflict_insert
from storage.models import DemandMeaning, SpecialistMeaning

Owner = type[SpecialistMeaning] | type[DemandMeaning]
CHUNK = 500  # rows per statement (SQLite allows a few thousand parameters)


def digest(text: str) -> str:
    """What identifies the text a vector was made from (not a secret: sha1 is fine)."""
    return hashlib.sha1(text.encode()).hexdigest()  # noqa: S324


def _key(table: Owner) -> Any:
    return (
        col(SpecialistMeaning.specialist_id)
        if table is SpecialistMeaning
        else col(DemandMeaning.demand_id)
    )


async def kept_vectors(
    *, db: Database, table: Owner, texts: dict[int, str], model: str
) -> dict[int, bytes]:
    """The kept vectors still good for these owners' texts (owner id -> float32 bytes)."""
    key = _key(table)
    found: dict[int, bytes] = {}
    ids = list(texts)
    async with db.transaction() as session:
        for start in range(0, len(ids), CHUNK):
            rows = await session.execute(
                select(key, col(table.digest), col(table.vector)).where(
                    key.in_(ids[start : start + CHUNK]), col(table.model) == model
                )
            )
            for owner, kept, vector in rows.tuples():
                if kept == digest(texts[owner]):
                    found[owner] = vector
    return found


async def keep_vectors(
    *,
    db: Database,
    table: Owner,
    rows: Sequence[tuple[int, str, bytes]],
    model: str,
) -> None:
    """Keep (owner id, text, vector) rows, replacing what each owner had."""
    if not rows:
        return
    key = _key(table).key
    values = [
        {key: owner, "model": model, "digest": digest(text), "vector": vector}
        for owner, text, vector in rows
    ]
    async with db.transaction() as session:
        for start in range(0, len(values), CHUNK):
            insert = conflict_insert(session.bind.dialect.name)(table).values(
                values[start : start + CHUNK]
            )
            await session.execute(
                insert.on_conflict_do_update(
                    index_elements=[key],
                    set_={
                        "model": insert.excluded.model,
                        "digest": insert.excluded.digest,
                        "vector": insert.excluded.vector,
                    },
                )
            )
