"""Words that say nothing of a subject: they weigh little and never make a match.

A welding professor and a refractories demand both "优化" something; a battery
recycler and a blast-furnace heat project both "回收". Such words are in most
profiles or most demands, so inverse document frequency already lowers them
when the corpus is large, but a programme starts with a few dozen people, and
the words that enterprises all use (问题, 希望, improve) are rare in profiles.
Two measures, both applied everywhere:
- this list, words of any field's work and of any request, weighs
  GENERIC_WEIGHT of their idf;
- the document frequency over specialists and demands together (see
  ``Vocabulary.of``), which finds the rest in the programme's own words.
Neither these words nor single Chinese characters nor any feature in more
than COMMON_SHARE of the documents count as subject evidence (``Corpus.evidence``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from matching.concepts import Concept
from matching.text import WORD_UNIGRAM, english_tokens, normalise

GENERIC_WEIGHT = 0.3
COMMON_SHARE = 0.2
"""A feature in more than this share of documents is common, not evidence ..."""
COMMON_MIN_DOCUMENTS = 40
"""... once there are this many documents to tell (a handful of profiles cannot)."""
RARE_CHARACTER = 0.05
"""A Chinese character in at most this share of documents (焊, 铸, 镁) is some evidence ..."""
RARE_CHARACTER_WEIGHT = 0.5
"""... at this weight: a lay 焊的地方 shares only 焊 with 焊接."""


def _sections() -> dict[str, tuple[str, ...]]:
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    text = (Path(__file__).parent / "data" / "generic.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
        elif line and not line.startswith("#"):
            current.extend(line.split())
    return {name: tuple(words) for name, words in sections.items()}


_SECTIONS = _sections()
GENERIC_ZH = frozenset(_SECTIONS["zh"])
"""Two-character words: every bigram of a Chinese word is a surface feature."""
VAGUE_ZH = frozenset(_SECTIONS["vague"])
GENERIC_EN = _SECTIONS["en"]


@cache
def _generic_words() -> frozenset[str]:
    stems = (stem for word in GENERIC_EN for stem, _ in english_tokens(word))
    return frozenset((*GENERIC_ZH, *stems))


def is_generic(term: str) -> bool:
    """Whether a term, as a reason would show it, is one generic word
    ("process control" is a subject, though both its words are generic)."""
    words = _generic_words()
    wording = normalise(term)
    tokens = english_tokens(wording)
    return (
        wording in words
        or _of_generic_words(wording)
        or (" " not in wording and len(tokens) == 1 and tokens[0][0] in words)
    )


def _of_generic_words(wording: str) -> bool:
    """Chinese made of vague two-character words only (工艺优化, 技术研究; but
    过程控制 and 质量管理 are subjects, though each of their words is generic)."""
    pairs = [wording[i : i + 2] for i in range(0, len(wording), 2)]
    return len(wording) % 2 == 0 and bool(pairs) and all(p in VAGUE_ZH for p in pairs)


def generic_concepts(glossary: Sequence[Concept]) -> NDArray[np.int64]:
    """Ids of glossary concepts that are generic words themselves (工艺改进|工艺优化)."""
    return np.array(
        [i for i, c in enumerate(glossary) if any(_of_generic_words(normalise(t)) for t in c.zh)],
        dtype=np.int64,
    )


@cache
def generic_keys() -> NDArray[np.int64]:
    """Surface keys of the generic words (Chinese bigrams, English word stems)."""
    keys = [(ord(word[0]) << 21) | ord(word[1]) for word in GENERIC_ZH if len(word) == 2]
    for word in GENERIC_EN:
        keys.extend(key | WORD_UNIGRAM for _, key in english_tokens(normalise(word)))
    return np.unique(np.array(keys, dtype=np.int64))
