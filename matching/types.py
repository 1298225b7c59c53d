"""Plain data that goes into and comes out of the engine.

Everything is a frozen dataclass of strings, numbers, dates and tuples so the
engine can be fed from the database, from JSON Lines or from a test alike, and
so nothing it returns can be changed behind its back. Reasons are structured
(a kind and the values behind it), never sentences: the bot and the CLI turn
them into text in the reader's language with the PO catalogs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

WorkMode = Literal["onsite", "remote", "either"]
"""How a demand wants to be served: at the enterprise, at a distance, or either way."""

ReasonKind = Literal["terms", "field", "meaning", "city", "remote", "local", "same_city"]
"""terms: shared terms; field: shared discipline codes; meaning: the texts say the same
thing in other words; city: serves the demand's city;
remote: works remotely on a remote-friendly demand; local: a Liaoning institution;
same_city: the specialist's own city is the demand's city."""


@dataclass(frozen=True, slots=True)
class DemandProfile:
    """An enterprise's problem as the engine sees it."""

    id: str
    title: str = ""
    description: str = ""
    kind: str = ""
    fields: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    city: str = ""
    mode: WorkMode = "either"


@dataclass(frozen=True, slots=True)
class SpecialistProfile:
    """What a specialist knows and where they work.

    ``city`` is where the specialist's institution is; ``cities_served`` are the
    cities they travel to (their own city counts as served too).
    """

    id: str
    name: str = ""
    expertise: str = ""
    disciplines: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    institution: str = ""
    city: str = ""
    cities_served: tuple[str, ...] = ()
    remote: bool = False


@dataclass(frozen=True, slots=True)
class SpecialistState:
    """The part of a specialist that changes day to day and gates proposals."""

    approved: bool = True
    paused_until: dt.date | None = None
    period_from: dt.date | None = None
    period_to: dt.date | None = None
    capacity: int = 3
    open_count: int = 0


@dataclass(frozen=True, slots=True)
class Reason:
    """One explanation of a match: a kind and the values a reader should see."""

    kind: ReasonKind
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Candidate:
    """A specialist ranked for one demand, with a calibrated score in [0, 1].

    ``evident``: whether the pair clears the relevance floor (a round proposes
    only such pairs; a ranking lists the others after them by score).
    """

    specialist_id: str
    score: float
    reasons: tuple[Reason, ...] = ()
    evident: bool = True


@dataclass(frozen=True, slots=True)
class Proposal:
    """A pairing chosen by a round: the demand, the specialist and why."""

    demand_id: str
    specialist_id: str
    score: float
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True, slots=True)
class MatchConfig:
    """Knobs of ranking and of a round; defaults are the programme's.

    ``min_score`` compares across demands because scores are calibrated (see
    ``matching.score``); ``min_evidence`` is the relevance floor, in units of
    ``matching.score.evidence``: below it a pair is never proposed, whatever
    its score (city, remote work and generic words are no evidence).
    ``liaoning_bonus`` and ``same_city_bonus`` only move the order of candidates
    (and the round's objective); a candidate's score stays the match quality of
    the texts so it can be compared with ``min_score``.
    """

    top_k: int = 3
    min_score: float = 0.25
    min_evidence: float = 1.0
    max_new_per_specialist: int = 3
    liaoning_bonus: float = 0.03
    same_city_bonus: float = 0.01
    shortlist: int = 30
