"""From channel similarities to one calibrated score in [0, 1].

The main evidence of a pair is one cosine on one scale:
- within a script (both sides have Chinese, or both English): the surface
  cosine (characters, n-grams, words and glossary concepts in one space);
- across scripts (a Chinese demand, an English profile): the concept cosine,
  times ACROSS_SCRIPTS to read it on the surface scale, times the demand's
  *trust*: how much of its text glossary terms cover. The part of a demand
  that no glossary term covers cannot be carried across languages, so a
  demand made of glossary terms reaches an English profile at full weight and
  one that shares a single glossary word with it does not;
- where the pinyin cosine (times HEARD) beats it, the pinyin cosine: a
  homophone typo outside the glossary.
Shortlisted pairs then take the weighted mean of that and of the channels
that apply to them: rapidfuzz keywords (Latin-script keywords of the
specialist) and disciplines (when both sides name any).

Every channel is a cosine or a ratio in [0, 1] computed the same way for every
demand (no per-demand normalisation, no rank-based rescaling), so the raw
score means the same thing across demands and ``calibrate`` only spreads it
out monotonically. Reading the calibrated score (measured on the hand-made
development set, where a specialist unrelated to a demand scores below 0.22
in 99 pairs of 100 and a right one has a median of about 0.6):
- below 0.2: nothing specific in common (a few common characters at most);
- about 0.3: some specific terms in common, a plausible but weak match;
- about 0.6: the same subject in the words of both sides, a strong match;
- above 0.8: near restatements of each other.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from matching import semantic

Floats = NDArray[np.float32]
Flags = NDArray[np.bool_]
Channel = tuple[Floats, Flags]
"""A channel's value per pair and whether it applies to the pair."""
Meaning = tuple[Floats, Floats, Flags]
"""Per pair: the model's cosine, the unrelated median of the pair's languages, and
whether both texts are in one language (see matching.semantic)."""

ACROSS_SCRIPTS = 0.5
"""Surface cosine that a concept cosine stands for. On the development set
(tests/matching/data/dev) pairs of the same subject and script have a median
surface cosine 0.52 times their concept cosine."""
HEARD = 1.1
"""Surface cosine that a pinyin cosine stands for (median ratio 1.14 on the same set)."""
FULL_TRUST_COVERAGE = 0.5
"""Share of a demand's text in glossary terms from which concepts weigh fully."""
KEYWORDS = 0.15
"""Weight of the rapidfuzz keyword channel beside the main evidence (weight 1)."""
FIELD = 0.15
"""Weight of the discipline channel beside the main evidence (weight 1)."""
MEANING = 0.1
"""Raw score a pair close in meaning gains (closeness 1); chosen on eval/data."""
SCALE = 0.25
"""Raw score that calibrates to 1 - 1/e (about 0.63): the median of right pairs."""


def trust(coverage: Floats) -> Floats:
    """How far the concept channel speaks for a demand, from its glossary coverage."""
    return np.clip(coverage / FULL_TRUST_COVERAGE, 0, 1).astype(np.float32)


def base(surface: Floats, concepts: Floats, same_script: Flags, coverage: Floats) -> Floats:
    """The main evidence: surface cosine within a script, trusted concepts across scripts."""
    across = ACROSS_SCRIPTS * trust(coverage) * concepts
    return np.where(same_script, surface, across).astype(np.float32)


def fine(main: Floats, sounds: Channel, keywords: Channel, field: Channel) -> Floats:
    """Raw score of shortlisted pairs: the main evidence (lifted by pinyin where it
    matches better) averaged with the keyword and discipline channels that apply."""
    lifted = np.maximum(main, HEARD * sounds[0] * sounds[1]).astype(np.float64)
    total = np.ones(main.shape, dtype=np.float64)
    for weight, (value, applies) in ((KEYWORDS, keywords), (FIELD, field)):
        total += weight * applies
        lifted += weight * applies * value
    return (lifted / total).astype(np.float32)


def calibrate(raw: Floats) -> Floats:
    """Monotone map of the raw score onto [0, 1): 1 - exp(-raw / SCALE)."""
    return (1 - np.exp(-np.clip(raw, 0, None) / SCALE)).astype(np.float32)


EVIDENCE_FLOOR = 0.03
"""Specific-feature cosine (``Corpus.evidence``) that is enough subject evidence alone."""
FIELD_EVIDENCE = 0.5
"""Share of the floor that a discipline both sides name makes (a shared field is
subject evidence, but a broad one: it takes some shared specific words too)."""


NAMED_FIELD_MISSED = 0.7
"""Raw score kept by a specialist without the field the demand names."""


def evidence(
    specific: Floats, field: Floats, named: Flags, meaning: Meaning | None = None
) -> Floats:
    """Subject evidence in units of the floor: specific words, fields and meaning in
    common; none where the demand names a field the specialist does not have.

    City, remote work and generic words are no evidence (see matching.generic).
    """
    found = specific / EVIDENCE_FLOOR + FIELD_EVIDENCE * (field >= 1)
    if meaning is not None:
        found = found + semantic.evidence(*meaning)
    return np.where(named, found, 0).astype(np.float32)


def with_meaning(raw: Floats, meaning: Meaning) -> Floats:
    """The raw score with the semantic channel added."""
    cosine, baseline, _ = meaning
    return (raw + MEANING * semantic.closeness(cosine, baseline)).astype(np.float32)


def named(had: Flags) -> Floats:
    """Factor of the raw score: 1, or NAMED_FIELD_MISSED without a field the demand names."""
    return np.where(had, 1, NAMED_FIELD_MISSED).astype(np.float32)
