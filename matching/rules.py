"""Who may be proposed for what: the programme's rules, as masks over the index.

- a specialist who is not approved, is paused, or is outside their service
  period gets nothing;
- a specialist at capacity gets nothing new, and at most
  ``max_new_per_specialist`` new proposals in one round;
- an on-site demand needs a specialist who serves its city (their own city
  counts); a remote demand needs one who works remotely or serves the city;
  a demand open to either way takes anyone;
- a pair that was declined, or is already proposed, is never proposed again.

Masks are boolean arrays over the index's specialists so the engine shortlists
only among eligible specialists instead of filtering a ranking afterwards
(which can leave a demand with nobody when its top few are all busy).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from matching.index import SpecialistIndex
from matching.lookups import Lookups
from matching.types import DemandProfile, MatchConfig, SpecialistProfile, SpecialistState

Pair = tuple[str, str]
"""(demand id, specialist id)."""


def available(state: SpecialistState, today: dt.date) -> bool:
    """Approved, not paused, inside the service period, below capacity."""
    return (
        state.approved
        and (state.paused_until is None or state.paused_until < today)
        and (state.period_from is None or state.period_from <= today)
        and (state.period_to is None or today <= state.period_to)
        and state.open_count < state.capacity
    )


def new_slots(state: SpecialistState, config: MatchConfig) -> int:
    """How many new proposals a specialist may get in one round."""
    return max(0, min(config.max_new_per_specialist, state.capacity - state.open_count))


def served_cities(profile: SpecialistProfile, lookups: Lookups) -> set[str]:
    """City codes a specialist works in: those they serve and their own."""
    codes = {lookups.city_code(name) for name in (*profile.cities_served, profile.city) if name}
    return {code for code in codes if code is not None}


class Eligibility:
    """The rules for one round (or one ranking) over one index."""

    def __init__(
        self,
        index: SpecialistIndex,
        states: Mapping[str, SpecialistState],
        today: dt.date,
        *,
        excluded: Collection[Pair] = (),
        lookups: Lookups | None = None,
    ) -> None:
        """``states`` lacks a specialist -> that specialist is not available.

        ``excluded`` holds declined pairs and pairs already proposed.
        """
        self.index = index
        self.lookups = lookups or index.lookups
        self.specialists = np.fromiter(
            (sid in states and available(states[sid], today) for sid in index.ids),
            dtype=bool,
            count=len(index),
        )
        self.remote = np.fromiter((p.remote for p in index.profiles), bool, len(index))
        self.served = [served_cities(p, self.lookups) for p in index.profiles]
        self._serving: dict[str, NDArray[np.bool_]] = {}
        self.excluded: dict[str, list[int]] = {}
        for demand_id, specialist_id in excluded:
            column = index.position.get(specialist_id)
            if column is not None:
                self.excluded.setdefault(demand_id, []).append(column)

    def serving(self, city: str) -> NDArray[np.bool_]:
        """Specialists who work in a city (computed once per city)."""
        code = self.lookups.city_code(city) if city else None
        if code is None:
            return np.zeros(len(self.index), dtype=bool)
        if code not in self._serving:
            self._serving[code] = np.fromiter(
                (code in cities for cities in self.served), bool, len(self.served)
            )
        return self._serving[code]

    def allowed(self, demand: DemandProfile) -> NDArray[np.bool_]:
        """Specialists that may be proposed for a demand."""
        mask = self.specialists.copy()
        if demand.mode == "onsite":
            mask &= self.serving(demand.city)
        elif demand.mode == "remote":
            mask &= self.remote | self.serving(demand.city)
        mask[self.excluded.get(demand.id, [])] = False
        return mask

    def mask(self, demands: Sequence[DemandProfile]) -> MaskFunction:
        """The ``mask`` argument of ``SpecialistIndex.score_all`` for these demands."""
        return MaskFunction(self, demands)


class MaskFunction:
    """Rows [start, stop) of the demands -> their allowed specialists (a block)."""

    def __init__(self, eligibility: Eligibility, demands: Sequence[DemandProfile]) -> None:
        self.eligibility = eligibility
        self.demands = demands

    def __call__(self, start: int, stop: int) -> NDArray[np.bool_]:
        return np.stack([self.eligibility.allowed(d) for d in self.demands[start:stop]])
