"""What the programme has learnt about pairings, applied to later rounds.

Three signals, each tied to the demand it came from:
- a specialist declined a demand as "not my field": they are never proposed a
  near copy of it (surface cosine at least NEAR_COPY) and are lowered for
  demands like it in proportion to the likeness;
- an enterprise passed on an accepted candidate, or rated a completed
  engagement 2 or less: that specialist is lowered for demands like it;
- an engagement was completed and rated 4 or 5: that specialist is raised in
  the order (not in the score) for demands like it.
Likeness is the cosine of the two demands' surface vectors in the index's
space (the same characters, words and glossary concepts the engine matches on).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from matching.corpus import Corpus
from matching.features import Analyzer
from matching.index import demand_text
from matching.types import DemandProfile

SignalKind = Literal["not_my_field", "passed", "worked"]

NEAR_COPY = 0.5
"""Surface cosine from which a demand is a near copy of one the specialist declined."""
ALIKE = 0.25
"""Surface cosine from which a demand is like an earlier one at all: below it, demands
of one field share too little for an outcome to carry over (replayed on eval/hard, a
penalty from any likeness cost new problems 1 point of hit@1)."""
NOT_MY_FIELD = 0.6
"""Share of the score a "not my field" takes away from a near copy (less, down to none
at ALIKE, for one less alike)."""
PASSED = 0.4
"""The same for an enterprise's pass or a poor rating."""
WORKED = 0.05
"""Ordering bonus for a near copy after a well-rated engagement (less for less alike)."""


def _carried(likeness: float) -> float:
    """How much of an outcome carries over to a demand this alike: 0 at ALIKE, 1 at NEAR_COPY."""
    return min(max((likeness - ALIKE) / (NEAR_COPY - ALIKE), 0.0), 1.0)


@dataclass(frozen=True, slots=True)
class Signal:
    """One outcome of an earlier pairing: the demand, the specialist, what happened."""

    demand: DemandProfile
    specialist_id: str
    kind: SignalKind


@dataclass(frozen=True, slots=True)
class Adjustment:
    """Per scored pair: factor of the score, whether it is barred, ordering bonus."""

    factor: NDArray[np.float32]
    barred: NDArray[np.bool_]
    bonus: NDArray[np.float64]


def adjust(
    analyzer: Analyzer,
    texts: Sequence[str],
    signals: Sequence[Signal],
    rows: NDArray[np.int64],
    specialists: NDArray[np.int64],
    position: dict[str, int],
) -> Adjustment:
    """The signals' effect on scored (demand row, specialist column) pairs; ``texts``
    are the demands' texts by row."""
    size = rows.size
    factor = np.ones(size, dtype=np.float32)
    barred = np.zeros(size, dtype=bool)
    bonus = np.zeros(size, dtype=np.float64)
    known = [s for s in signals if s.specialist_id in position]
    by_specialist: dict[int, list[int]] = defaultdict(list)
    for n, signal in enumerate(known):
        by_specialist[position[signal.specialist_id]].append(n)
    touched = np.flatnonzero(np.isin(specialists, list(by_specialist)))
    if touched.size == 0:
        return Adjustment(factor, barred, bonus)
    # The earlier demands as a small corpus of their own: a demand's words that no
    # profile uses still count in how alike two demands are.
    earlier = Corpus(analyzer, [demand_text(s.demand) for s in known])
    asking = np.unique(rows[touched])
    now = earlier.vectorise([texts[row] for row in asking]).surface
    likeness = (now @ earlier.surface_t).toarray()  # asking demands x signals
    place = {int(row): n for n, row in enumerate(asking)}
    for i in touched:
        for n in by_specialist[int(specialists[i])]:
            like = float(likeness[place[int(rows[i])], n])
            kind, carried = known[n].kind, _carried(like)
            if kind == "worked":
                bonus[i] = max(bonus[i], WORKED * carried)
            elif kind == "not_my_field":
                barred[i] |= like >= NEAR_COPY
                factor[i] = min(factor[i], 1 - NOT_MY_FIELD * carried)
            else:
                factor[i] = min(factor[i], 1 - PASSED * carried)
    return Adjustment(factor, barred, bonus)
