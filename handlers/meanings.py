"""The semantic channel's vectors for a round: kept ones reused, new or changed texts
embedded (off the event loop) and kept, so a round embeds only what changed since."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import numpy as np

from matching.semantic import Vectors
from storage.db import Database
from storage.meanings import Owner, keep_vectors, kept_vectors


async def vectors_of(
    db: Database,
    table: Owner,
    texts: dict[int, str],
    *,
    model: str,
    embed: Callable[[Sequence[str]], Vectors],
) -> Vectors:
    """One unit vector per text, in the order of ``texts``."""
    kept = await kept_vectors(db=db, table=table, texts=texts, model=model)
    missing = [owner for owner in texts if owner not in kept]
    if missing:
        fresh = await asyncio.to_thread(embed, [texts[owner] for owner in missing])
        rows = [(owner, texts[owner], fresh[n].tobytes()) for n, owner in enumerate(missing)]
        await keep_vectors(db=db, table=table, rows=rows, model=model)
        kept.update((owner, vector) for owner, _, vector in rows)
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([np.frombuffer(kept[owner], dtype=np.float32) for owner in texts])
