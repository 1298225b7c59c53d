"""The specialists' texts as sparse matrices, and the cosines of demands against them.

Layout (float32 CSR):
- surface, transposed (features x specialists): character 1-3-grams, English
  stems and pairs, and the glossary concepts found in the text, in one TF-IDF
  space. Single characters stay in: a lay 焊的地方 still shares 焊 with 焊接,
  and on the evaluation set dropping them cost more than any other choice.
  One vector for the whole profile beat scoring sentences and keywords one
  by one and keeping the best (the FIELD-NOTES result on abstracts did not
  carry over to short profiles).
- concepts, transposed (concepts x specialists): glossary concepts alone, the
  only bridge between a Chinese and an English text.
- sounds, transposed (syllable pairs x specialists): pinyin, kept for the
  shortlisted pairs only.

Stored transposed, a product with demand rows walks only the posting lists of
the demand's features, which keeps one demand against 100,000 specialists
within milliseconds and a whole round within seconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from matching.features import Analyzer, Features
from matching.generic import (
    COMMON_MIN_DOCUMENTS,
    COMMON_SHARE,
    GENERIC_WEIGHT,
    RARE_CHARACTER,
    RARE_CHARACTER_WEIGHT,
    generic_keys,
)
from matching.text import Bag
from matching.vectors import Frequencies, Matrix, Transposed, Vocabulary, counts

CHUNK = 5_000
"""Profiles analysed at once while indexing (bounds the peak of intermediate arrays)."""
BLOCK_CELLS = 4_000_000
"""Demand rows x specialists scored at once: bounds the dense blocks' memory."""
CONCEPT_KEY = 3 << 60
"""Flag that puts concept ids beside the n-gram and word keys of the surface space."""
CONCEPT_TF = 1.0
"""Term frequency a found concept adds to the surface vector: a glossary term
(often a synonym or lay word of what the other side wrote) counts like one
more word."""


def surface_bag(features: Features) -> Bag:
    """Surface features with the text's concepts added as extra words."""
    concepts = features.concepts
    return Bag.join(
        (
            features.surface,
            Bag(concepts.doc, concepts.key | CONCEPT_KEY, concepts.weight * CONCEPT_TF),
        )
    )


def _specific(vocabulary: Vocabulary, generic: NDArray[np.int64]) -> sp.csr_matrix:
    """Diagonal of 1 for surface features that are subject evidence, 0 for the rest:
    single Chinese characters, generic words and, in a corpus large enough to
    tell, features of more than COMMON_SHARE of the documents."""
    keys = vocabulary.keys
    specific = ~np.isin(keys, generic) & (keys >= 1 << 21)
    weight = specific.astype(np.float32)
    if vocabulary.documents >= COMMON_MIN_DOCUMENTS:
        share = vocabulary.df / vocabulary.documents
        weight[share > COMMON_SHARE] = 0
        weight[(keys < 1 << 21) & (share <= RARE_CHARACTER)] = RARE_CHARACTER_WEIGHT
    return sp.diags(weight, format="csr")


def _chunks(analyzer: Analyzer, texts: Sequence[str]) -> Iterator[tuple[int, Features]]:
    """The texts analysed CHUNK at a time (bounds the analysis's intermediate arrays);
    no texts are one empty chunk."""
    for start in range(0, max(len(texts), 1), CHUNK):
        yield start, analyzer.analyze(texts[start : start + CHUNK])


def _transposed(matrix: Matrix) -> Matrix:
    """The features x documents CSR of a documents x features CSR (one copy at a time)."""
    columns = matrix.tocsc()
    return sp.csr_matrix(
        (columns.data, columns.indices, columns.indptr), shape=(matrix.shape[1], matrix.shape[0])
    )


@dataclass(frozen=True, slots=True)
class DemandVectors:
    """A batch of demands in the index's feature spaces."""

    surface: Matrix
    concepts: Matrix
    sounds: Matrix
    has_zh: NDArray[np.bool_]
    has_en: NDArray[np.bool_]
    coverage: NDArray[np.float32]

    def rows(self, start: int, stop: int) -> DemandVectors:
        return DemandVectors(
            self.surface[start:stop],
            self.concepts[start:stop],
            self.sounds[start:stop],
            self.has_zh[start:stop],
            self.has_en[start:stop],
            self.coverage[start:stop],
        )


@dataclass(frozen=True, slots=True)
class Channels:
    """For a block of demands and every specialist: each channel's cosine (dense)."""

    surface: NDArray[np.float32]
    concepts: NDArray[np.float32]
    same_script: NDArray[np.bool_]
    coverage: NDArray[np.float32]
    evidence: NDArray[np.float32]
    """The part of the surface cosine that specific features make (``_specific``)."""
    sounds: NDArray[np.float32]
    """The pinyin cosine."""


class Corpus:
    """Sparse TF-IDF matrices of all specialists' texts, built once."""

    def __init__(
        self, analyzer: Analyzer, texts: Sequence[str], background: Sequence[str] = ()
    ) -> None:
        self.analyzer = analyzer
        self.size = len(texts)
        # First reading: document frequencies only (and the small concept matrix), so
        # the idf is known before any row is written; the second writes the TF-IDF rows
        # straight into the transposed matrices. Reading twice costs time, but holding
        # every chunk's counts and a documents x features copy cost 0.8 GiB at 100,000
        # long profiles.
        surface, sounds, others = Frequencies(), Frequencies(), Frequencies()
        concepts: list[tuple[Matrix, NDArray[np.int64]]] = []
        has_zh, has_en = [], []
        for _, chunk in _chunks(analyzer, texts):
            surface.add(surface_bag(chunk), chunk.size)
            sounds.add(chunk.sounds, chunk.size)
            concepts.append(counts(chunk.concepts, chunk.size))
            has_zh.append(chunk.has_zh)
            has_en.append(chunk.has_en)
        for _, chunk in _chunks(analyzer, background):
            others.add(surface_bag(chunk), chunk.size)
        generic = np.concatenate((generic_keys(), analyzer.generic_concepts | CONCEPT_KEY))
        self.surface = Vocabulary.of((surface, others), generic, GENERIC_WEIGHT)
        self.specific = _specific(self.surface, generic)
        self.sound_vocabulary = Vocabulary.of((sounds,))
        surface_t = Transposed(self.surface.per_key(surface), self.size)
        sounds_t = Transposed(self.sound_vocabulary.per_key(sounds), self.size)
        for start, chunk in _chunks(analyzer, texts):
            surface_t.add(start, self.surface.vectors(surface_bag(chunk), chunk.size))
            sounds_t.add(start, self.sound_vocabulary.vectors(chunk.sounds, chunk.size))
        self.surface_t, self.sounds_t = surface_t.matrix(), sounds_t.matrix()
        self.concept_vocabulary, self.concepts = Vocabulary.fit(concepts)
        self.concepts_t = _transposed(self.concepts)
        self.has_zh = np.concatenate(has_zh)
        self.has_en = np.concatenate(has_en)

    def vectorise(self, texts: Sequence[str]) -> DemandVectors:
        """Demand texts in the index's feature spaces (homophone typos read too)."""
        features = self.analyzer.analyze(texts, typos=True)
        rows = features.size
        return DemandVectors(
            surface=self.surface.vectors(surface_bag(features), rows),
            concepts=self.concept_vocabulary.vectors(features.concepts, rows),
            sounds=self.sound_vocabulary.vectors(features.sounds, rows),
            has_zh=features.has_zh,
            has_en=features.has_en,
            coverage=features.coverage,
        )

    def channels(self, demands: DemandVectors) -> Channels:
        """Cosines of every demand in the batch with every specialist."""
        same_script = (demands.has_zh[:, None] & self.has_zh[None, :]) | (
            demands.has_en[:, None] & self.has_en[None, :]
        )
        return Channels(
            surface=(demands.surface @ self.surface_t).toarray(),
            concepts=(demands.concepts @ self.concepts_t).toarray(),
            same_script=same_script,
            coverage=np.broadcast_to(demands.coverage[:, None], same_script.shape),
            evidence=((demands.surface @ self.specific) @ self.surface_t).toarray(),
            sounds=(demands.sounds @ self.sounds_t).toarray(),
        )

    def blocks(self, demands: DemandVectors) -> Iterator[tuple[int, Channels]]:
        """Channels for consecutive blocks of demands, so memory stays bounded."""
        rows = demands.surface.shape[0]
        step = max(1, BLOCK_CELLS // max(self.size, 1))
        for start in range(0, rows, step):
            yield start, self.channels(demands.rows(start, min(rows, start + step)))

    def shared_concepts(
        self, demands: DemandVectors, rows: NDArray[np.int64], columns: NDArray[np.int64]
    ) -> list[list[int]]:
        """Glossary concepts each (demand row, specialist column) pair shares, weightiest first."""
        shared = demands.concepts[rows].multiply(self.concepts[columns]).tocsr()
        keys = self.concept_vocabulary.keys
        out = []
        for i in range(len(rows)):
            start, stop = shared.indptr[i], shared.indptr[i + 1]
            order = np.argsort(-shared.data[start:stop], kind="stable")
            out.append(keys[shared.indices[start:stop][order]].tolist())
        return out
