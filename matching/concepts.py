"""Finding glossary concepts in text, in both languages and through homophone typos.

The bilingual glossary lists, per concept, Chinese and English terms: the
canonical one first, then synonyms and the lay words enterprises use (焊缝开裂
for a weld crack). Finding any of them in a text yields the concept id, so a
Chinese demand and an English profile meet on the same ids.

Matching runs on whole batches: every term is a sequence of integers (code
points for Chinese, stemmed-word keys for English), every window of the
batch stream of a term's length gets a polynomial hash (uint64 arithmetic,
wrapping), and windows whose hash is a term's hash are hits.

Homophone typos: people pick a wrong character of the right sound with pinyin
input (汗接 for 焊接). A window also matches a Chinese term when exactly one
character differs and has the same toneless syllable. Matching by sound alone
is far too loose (two-syllable homophones abound: it found 换热器结垢 in a text
about welds), but one wrong character of the same sound is what such a typo
is. It is done with one extra hash table per term length and typo position:
the term's hash with that position's character replaced by its syllable.
A window that is itself a word (结构 is no typo of 结垢, 电机 none of 电积) is
not a typo: jieba's dictionary of 349,000 words decides (read once, 0.1 s).
Only demands are read this way; profiles are written with care.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import jieba
import numpy as np
from numpy.typing import NDArray

from matching.pinyin import syllables
from matching.text import Bag, Stream, english_tokens, is_cjk, normalise

_BASE = np.uint64(0x9E3779B97F4A7C15)
_SOUND = 1 << 24
"""Offset of syllable ids in a mixed sequence, above every code point."""
TYPO_WEIGHT = 0.7
"""Weight of a concept found through a homophone typo (a written term weighs 1)."""
_SEEN_BITS = np.uint64((1 << 18) - 1)
"""Low bits of a hash marked in a table's filter (256 KiB of flags a table)."""
LONGEST_TYPO_TERM = 6
"""Terms up to this many characters are also matched with one homophone typo."""


class Concept(Protocol):
    """A glossary entry: Chinese and English terms, canonical first."""

    @property
    def zh(self) -> tuple[str, ...]: ...

    @property
    def en(self) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class _Table:
    """Term hashes, sorted, and the concept of each; ``seen`` marks the low bits of the
    hashes, so most windows are ruled out by one gather before any binary search (a
    round's demands hold millions of windows, a table a few thousand terms)."""

    hashes: NDArray[np.uint64]
    concepts: NDArray[np.int64]
    seen: NDArray[np.bool_]

    @staticmethod
    def of(pairs: list[tuple[int, int]]) -> _Table:
        pairs.sort()
        hashes = np.array([h for h, _ in pairs], dtype=np.uint64)
        seen = np.zeros(_SEEN_BITS + 1, dtype=bool)
        seen[hashes & _SEEN_BITS] = True
        return _Table(hashes, np.array([c for _, c in pairs], dtype=np.int64), seen)

    def lookup(self, hashes: NDArray[np.uint64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(window position, concept) of every window hash found in the table."""
        if self.hashes.size == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        maybe = np.flatnonzero(self.seen[hashes & _SEEN_BITS])
        position, concept = self._search(hashes[maybe])
        return maybe[position], concept

    def _search(self, hashes: NDArray[np.uint64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        left = np.searchsorted(self.hashes, hashes)
        hits = np.flatnonzero(self.hashes[np.minimum(left, self.hashes.size - 1)] == hashes)
        left = left[hits]
        counts = np.searchsorted(self.hashes, hashes[hits], side="right") - left
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        return np.repeat(hits, counts), self.concepts[np.repeat(left, counts) + offsets]


def _hit_keys(hits: NDArray[np.int64]) -> NDArray[np.int64]:
    """One integer per (start, length, concept) row, to compare hits as sets."""
    return (hits[:, 0] * 8 + hits[:, 1]) << 24 | hits[:, 2]


@cache
def dictionary_words() -> frozenset[str]:
    """The words of jieba's dictionary (without loading jieba's segmenter)."""
    with jieba.get_dict_file() as lines:
        return frozenset(line.split(b" ", 1)[0].decode("utf-8") for line in lines)


def _hash(values: Sequence[int]) -> int:
    total = 0
    for value in values:
        total = (total * int(_BASE) + value) % (1 << 64)
    return total


def _windows(stream: NDArray[np.int64], longest: int) -> Iterator[tuple[int, NDArray[np.uint64]]]:
    """(length, hash of every window of that length), for lengths 1..longest."""
    window = stream.astype(np.uint64)
    with np.errstate(over="ignore"):
        for length in range(1, longest + 1):
            if length > 1:
                window = window[:-1] * _BASE + stream[length - 1 :].astype(np.uint64)
            if window.size == 0:
                return
            yield length, window


@dataclass(frozen=True, slots=True)
class Found:
    """Concepts found in a batch, and which stream positions some term covers."""

    bag: Bag
    covered: NDArray[np.bool_]


@dataclass
class _Hits:
    """Hits collected over window lengths: start position, length, concept."""

    start: list[NDArray[np.int64]]
    length: list[NDArray[np.int64]]
    concept: list[NDArray[np.int64]]

    @staticmethod
    def empty() -> _Hits:
        nothing = np.zeros(0, np.int64)
        return _Hits([nothing], [nothing], [nothing])

    def add(self, start: NDArray[np.int64], length: int, concept: NDArray[np.int64]) -> None:
        self.start.append(start)
        self.length.append(np.full(start.size, length, dtype=np.int64))
        self.concept.append(concept)

    def arrays(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        return np.concatenate(self.start), np.concatenate(self.length), np.concatenate(self.concept)


def _covered(size: int, start: NDArray[np.int64], length: NDArray[np.int64]) -> NDArray[np.bool_]:
    edges = np.zeros(size + 1, dtype=np.int64)
    np.add.at(edges, start, 1)
    np.add.at(edges, start + length, -1)
    return np.cumsum(edges[:-1]) > 0


class ConceptMatcher:
    """Finds glossary concepts in batches of normalised text."""

    def __init__(self, glossary: Sequence[Concept]) -> None:
        chars: dict[int, list[tuple[int, int]]] = defaultdict(list)
        typos: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
        words: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for concept_id, concept in enumerate(glossary):
            for term in {normalise(term) for term in (*concept.zh, *concept.en)}:
                codepoints = np.array([ord(char) for char in term], dtype=np.int64)
                if codepoints.size and is_cjk(codepoints).any():
                    chars[len(term)].append((_hash(codepoints.tolist()), concept_id))
                    if 2 <= len(term) <= LONGEST_TYPO_TERM and is_cjk(codepoints).all():
                        sounds = (syllables(codepoints) + _SOUND).tolist()
                        for at in range(len(term)):
                            points = codepoints.tolist()
                            mixed = [*points[:at], sounds[at], *points[at + 1 :]]
                            typos[len(term), at].append((_hash(mixed), concept_id))
                elif keys := [key for _, key in english_tokens(term)]:
                    words[len(keys)].append((_hash(keys), concept_id))
        self._chars = {length: _Table.of(pairs) for length, pairs in chars.items()}
        self._typos = {place: _Table.of(pairs) for place, pairs in typos.items()}
        self._words = {length: _Table.of(pairs) for length, pairs in words.items()}

    def find(self, chars: Stream, words: Stream, *, typos: bool = False) -> Found:
        """Concepts of each document (a concept twice if written twice).

        ``covered`` runs over the character stream, then the word stream.
        With ``typos``, Chinese terms written with one homophone typo count too,
        at TYPO_WEIGHT.
        """
        written = self._written(chars.values, self._chars)
        start, length, concept = written.arrays()
        char_bag = Bag.of(chars.doc[start], concept)
        covered = _covered(chars.values.size, start, length)
        if typos:
            typo_start, typo_length, typo_concept = self._typos_of(chars.values, written)
            char_bag = Bag.join(
                (char_bag, Bag.of(chars.doc[typo_start], typo_concept, TYPO_WEIGHT))
            )
            covered |= _covered(chars.values.size, typo_start, typo_length)
        word_start, word_length, word_concept = self._written(words.values, self._words).arrays()
        return Found(
            Bag.join((char_bag, Bag.of(words.doc[word_start], word_concept))),
            np.concatenate((covered, _covered(words.values.size, word_start, word_length))),
        )

    @staticmethod
    def _written(stream: NDArray[np.int64], tables: dict[int, _Table]) -> _Hits:
        hits = _Hits.empty()
        for length, window in _windows(stream, max(tables, default=0)):
            if (table := tables.get(length)) is not None:
                position, concept = table.lookup(window)
                hits.add(position, length, concept)
        return hits

    def _typos_of(
        self, stream: NDArray[np.int64], written: _Hits
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """Windows equal to a term but for one character of the same sound."""
        sound = syllables(stream)
        delta = np.where(sound > 0, sound + _SOUND - stream, 0).astype(np.uint64)
        hits = _Hits.empty()
        with np.errstate(over="ignore"):
            for length, window in _windows(stream, LONGEST_TYPO_TERM):
                for at in range(length):
                    table = self._typos.get((length, at))
                    if table is None:
                        continue
                    power = np.uint64(pow(int(_BASE), length - 1 - at, 1 << 64))
                    mixed = window + delta[at : at + window.size] * power
                    position, concept = table.lookup(mixed)
                    hits.add(position, length, concept)
        found = np.stack(hits.arrays(), axis=1)
        found = found[~np.isin(_hit_keys(found), _hit_keys(np.stack(written.arrays(), axis=1)))]
        words = dictionary_words()
        unique = {
            (start, length, concept)
            for start, length, concept in found.tolist()
            if "".join(map(chr, stream[start : start + length].tolist())) not in words
        }
        if not unique:
            nothing = np.zeros(0, np.int64)
            return nothing, nothing, nothing
        rows = np.array(sorted(unique), dtype=np.int64)
        return rows[:, 0], rows[:, 1], rows[:, 2]
