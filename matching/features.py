"""One pass over a batch of texts yields every channel the engine scores on.

- surface: Chinese character n-grams and English word stems (the workhorse);
- concepts: glossary concept ids, which let Chinese and English meet and map
  lay wording to academic wording;
- sounds: pinyin syllable pairs, an extra signal for homophone typos.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from matching.concepts import Concept, ConceptMatcher
from matching.generic import generic_concepts
from matching.pinyin import syllables
from matching.text import (
    Bag,
    Stream,
    cjk_ngrams,
    english_tokens,
    is_cjk,
    normalise,
    word_ngrams,
)


@dataclass(frozen=True, slots=True)
class Features:
    """The channels of a batch of documents, and which scripts each document has."""

    size: int
    surface: Bag
    concepts: Bag
    sounds: Bag
    has_zh: NDArray[np.bool_]
    has_en: NDArray[np.bool_]
    coverage: NDArray[np.float32]


def _syllable_pairs(chars: Stream) -> Bag:
    sound = syllables(chars.values)
    pair = (sound[:-1] != 0) & (sound[1:] != 0)
    return Bag.of(chars.doc[:-1][pair], (sound[:-1][pair] << 10) | sound[1:][pair])


WORD_LENGTH = 2
"""An English word counts as much text as two Chinese characters (a typical Chinese word)."""


def _coverage(
    chars: Stream, words: Stream, covered: NDArray[np.bool_], size: int
) -> NDArray[np.float32]:
    """Share of each document's text (Chinese characters, English words) inside glossary terms.

    It says how far the concept channel speaks for the whole text: a demand
    that is all glossary terms can be judged on concepts alone, one with a
    single glossary word cannot.
    """
    cjk = is_cjk(chars.values)
    word = words.values != 0
    counted = np.concatenate((cjk, word))
    weight = np.concatenate((np.ones(cjk.size), np.full(word.size, WORD_LENGTH)))
    doc = np.concatenate((chars.doc, words.doc))
    total = np.bincount(doc[counted], weights=weight[counted], minlength=size)
    inside = counted & covered
    hit = np.bincount(doc[inside], weights=weight[inside], minlength=size)
    return np.divide(hit, total, out=np.zeros(size), where=total > 0).astype(np.float32)


class Analyzer:
    """Turns texts into features; holds the glossary matcher, built once."""

    def __init__(self, glossary: Sequence[Concept]) -> None:
        self.concepts = ConceptMatcher(glossary)
        self.generic_concepts = generic_concepts(glossary)

    def analyze(self, texts: Sequence[str], *, typos: bool = False) -> Features:
        """Features of each text (empty texts give empty rows).

        ``typos``: also find glossary terms written with one homophone typo
        (for demands, typed on phones; profiles are written with care).
        """
        normalised = [normalise(text) for text in texts]
        chars = Stream.of_texts(normalised)
        words = Stream.of_words([[key for _, key in english_tokens(t)] for t in normalised])
        surface = Bag.join((cjk_ngrams(chars), word_ngrams(words)))
        size = len(texts)
        has_zh = np.zeros(size, dtype=bool)
        has_zh[np.unique(surface.doc[surface.key < (1 << 60)])] = True
        has_en = np.zeros(size, dtype=bool)
        has_en[np.unique(surface.doc[surface.key >= (1 << 60)])] = True
        found = self.concepts.find(chars, words, typos=typos)
        return Features(
            size=size,
            surface=surface,
            concepts=found.bag,
            sounds=_syllable_pairs(chars),
            has_zh=has_zh,
            has_en=has_en,
            coverage=_coverage(chars, words, found.covered, size),
        )
