"""SpecialistIndex: build once from profiles, then rank demands against it.

Ranking is two-staged. Every pair gets a cheap score from sparse products
(surface TF-IDF within a script, glossary concepts across scripts); the best
few per demand (a shortlist) are rescored with the channels that cost more
per pair (pinyin, rapidfuzz on keywords, disciplines), and only the pairs
finally shown are explained. Rules (who may be proposed at all) come in as a
mask, so the shortlist is drawn from eligible specialists only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from matching import score, semantic
from matching.concepts import Concept
from matching.corpus import Corpus, DemandVectors
from matching.explain import Explainer
from matching.features import Analyzer
from matching.fuzzy import keyword_scores, usable
from matching.lookups import Lookups, from_taxonomy
from matching.named import Field, Profile, named_fields
from matching.semantic import Embedder, Vectors
from matching.text import normalise
from matching.types import Candidate, DemandProfile, MatchConfig, Reason, SpecialistProfile

DEFAULT_CONFIG = MatchConfig()

Mask = Callable[[int, int], NDArray[np.bool_] | None]
"""Given demand rows [start, stop), which specialists each may get (None: all)."""


@dataclass(frozen=True, slots=True)
class Edges:
    """Scored (demand, specialist) pairs: positions in the demand list and the index."""

    demand: NDArray[np.int64]
    specialist: NDArray[np.int64]
    score: NDArray[np.float32]
    evidence: NDArray[np.float32]
    """Subject evidence of each pair in units of the floor: 1 or more may be proposed."""

    def taking(self, chosen: NDArray[np.int64]) -> Edges:
        return Edges(
            self.demand[chosen], self.specialist[chosen], self.score[chosen], self.evidence[chosen]
        )


def demand_text(demand: DemandProfile) -> str:
    """The text a demand is matched on: title, description, keywords."""
    return "。".join(part for part in (demand.title, demand.description, *demand.keywords) if part)


def profile_text(
    profile: SpecialistProfile, discipline_names: Callable[[str], Sequence[str]]
) -> str:
    """The text a specialist is matched on: keywords, expertise, disciplines, institution.

    The institution's name says something of the field (药科大学, 海洋大学).
    """
    disciplines = (name for code in profile.disciplines for name in discipline_names(code))
    parts = (*profile.keywords, profile.expertise, *disciplines, profile.institution)
    return "。".join(part for part in parts if part)


def meaning_text(profile: SpecialistProfile) -> str:
    """The text a specialist's meaning is embedded from: what they wrote of their work."""
    return "。".join(
        part for part in (profile.expertise, *profile.keywords, profile.institution) if part
    )


def field_similarity(fields: Sequence[str], disciplines: Sequence[str]) -> float:
    """1 for a shared discipline code, 0.5 for codes under the same first-level discipline."""
    best = 0.0
    for field in fields:
        for discipline in disciplines:
            if field == discipline:
                return 1.0
            if field[:3] == discipline[:3]:
                best = 0.5
    return best


@dataclass(frozen=True, slots=True)
class Scored:
    """A batch of demands, their scored shortlists, and what explaining them needs."""

    demands: Sequence[DemandProfile]
    texts: Sequence[str]
    vectors: DemandVectors
    edges: Edges


class SpecialistIndex:
    """All specialists' texts as sparse matrices plus what ranking needs per specialist."""

    def __init__(
        self,
        profiles: Sequence[SpecialistProfile],
        glossary: Sequence[Concept],
        lookups: Lookups | None = None,
        *,
        background: Sequence[DemandProfile] = (),
        embedder: Embedder | None = None,
        meanings: Vectors | None = None,
    ) -> None:
        self.lookups = lookups or Lookups()
        self.profiles = tuple(profiles)
        self.ids = tuple(profile.id for profile in self.profiles)
        self.position = {sid: column for column, sid in enumerate(self.ids)}
        names = self.lookups.discipline_names
        self.corpus = Corpus(
            Analyzer(glossary),
            [profile_text(p, names) for p in self.profiles],
            [demand_text(d) for d in background],
        )
        self.keywords = [
            [kw for kw in (normalise(k) for k in p.keywords) if usable(kw)] for p in self.profiles
        ]
        self._has_keywords = np.array([bool(k) for k in self.keywords], dtype=bool)
        self.explainer = Explainer(glossary, self.lookups)
        self._profiles: dict[int, Profile] = {}
        # per named field, per specialist: 1 has it, 0 has not, -1 not read yet
        self._fields_had: dict[str, NDArray[np.int8]] = {}
        self.embedder = embedder
        if meanings is None and embedder is not None:
            meanings = embedder.passages([meaning_text(p) for p in self.profiles])
        self.meanings = meanings
        """Unit vectors of the profiles' meaning (None: lexical only), as stored or embedded."""
        own = [self.lookups.city_code(p.city) if p.city else None for p in self.profiles]
        self.city = np.array([code or "" for code in own], dtype=object)
        self.liaoning = np.array(
            [code is not None and self.lookups.in_liaoning(code) for code in own], dtype=bool
        )

    @classmethod
    def build(
        cls,
        profiles: Sequence[SpecialistProfile],
        glossary: Sequence[Concept] | None = None,
        *,
        background: Sequence[DemandProfile] = (),
        embedder: Embedder | None = None,
        meanings: Vectors | None = None,
    ) -> SpecialistIndex:
        """Index profiles with the shipped bilingual glossary and taxonomy.

        ``background``: the demands that will be ranked (or others like them);
        their words count in how common a word is, not as documents to rank.
        ``embedder`` adds the semantic channel; ``meanings`` are the profiles'
        vectors if they were embedded already (when they were stored).
        """
        from matching import taxonomy  # the data files load only when an index is built

        chosen = taxonomy.glossary() if glossary is None else glossary
        return cls(
            profiles,
            chosen,
            from_taxonomy(),
            background=background,
            embedder=embedder,
            meanings=meanings,
        )

    def __len__(self) -> int:
        return len(self.ids)

    def rank(
        self,
        demand: DemandProfile,
        top: int = 3,
        *,
        allowed: NDArray[np.bool_] | None = None,
        config: MatchConfig = DEFAULT_CONFIG,
    ) -> list[Candidate]:
        """The best ``top`` specialists for one demand, best first, with reasons.

        ``allowed`` (a mask over the index, see ``matching.rules``) limits who
        may be ranked; the order is score plus the configured preferences.
        """
        mask = None if allowed is None else (lambda _start, _stop: allowed[None, :])
        return self.rank_all([demand], top, mask=mask, config=config)[0]

    def rank_all(
        self,
        demands: Sequence[DemandProfile],
        top: int = 3,
        *,
        mask: Mask | None = None,
        config: MatchConfig = DEFAULT_CONFIG,
        meanings: Vectors | None = None,
    ) -> list[list[Candidate]]:
        """``rank`` for a batch of demands at once (one pass over the index)."""
        scored = self.score_all(
            demands, per_demand=max(top, config.shortlist), mask=mask, meanings=meanings
        )
        edges = scored.edges
        value = edges.score + self.preference(scored, config)
        order = np.lexsort((edges.specialist, -value, edges.demand))
        first = np.searchsorted(edges.demand[order], np.arange(len(demands)))
        rank_in_demand = np.arange(order.size) - np.repeat(first, np.diff(np.r_[first, order.size]))
        picks = order[rank_in_demand < top]
        ranked: list[list[Candidate]] = [[] for _ in demands]
        for i, reasons in zip(picks, self.reasons(scored, picks), strict=True):
            ranked[edges.demand[i]].append(
                Candidate(
                    self.ids[edges.specialist[i]],
                    round(float(edges.score[i]), 4),
                    reasons,
                    bool(edges.evidence[i] >= config.min_evidence),
                )
            )
        return ranked

    def preference(self, scored: Scored, config: MatchConfig) -> NDArray[np.float64]:
        """Ordering bonus of each edge: Liaoning institution, same city as the demand."""
        cities = np.array(
            [self.lookups.city_code(d.city) if d.city else None for d in scored.demands],
            dtype=object,
        )
        edges = scored.edges
        same_city = cities[edges.demand] == self.city[edges.specialist]
        return (
            config.liaoning_bonus * self.liaoning[edges.specialist]
            + config.same_city_bonus * same_city
        ).astype(np.float64)

    def score_all(
        self,
        demands: Sequence[DemandProfile],
        *,
        per_demand: int = 30,
        per_specialist: int = 0,
        mask: Mask | None = None,
        meanings: Vectors | None = None,
    ) -> Scored:
        """Calibrated scores of each demand's shortlist (and each specialist's, if asked).

        The shortlist of a demand is its ``per_demand`` best allowed specialists
        by the cheap score; ``per_specialist`` adds each specialist's best
        demands, which an assignment needs when specialists are the scarce side.
        ``meanings``: the demands' vectors if they were embedded already.
        """
        texts = [demand_text(demand) for demand in demands]
        vectors = self.corpus.vectorise(texts)
        queries = self._queries(texts, meanings)
        found: list[_Found] = []
        by_specialist = _ColumnBest(len(self), per_specialist)
        for start, channels in self.corpus.blocks(vectors):
            raw = score.base(
                channels.surface, channels.concepts, channels.same_script, channels.coverage
            )
            cosine = np.zeros_like(raw)
            if queries is not None and self.meanings is not None:
                cosine = queries[start : start + raw.shape[0]] @ self.meanings.T
                raw = score.with_meaning(
                    raw,
                    self._meaning(cosine, vectors.has_zh[start : start + raw.shape[0], None], None),
                )
            allowed = None if mask is None else mask(start, start + raw.shape[0])
            if allowed is not None:
                raw = np.where(allowed, raw, -1).astype(np.float32)
            rows, columns = _top_per_row(raw, per_demand)
            kept = (channels.evidence, channels.sounds, cosine)  # gathered where chosen only
            found.append(
                _Found(rows + start, columns, raw[rows, columns], _at(kept, rows, columns))
            )
            by_specialist.add(raw, kept, start)
        found.append(by_specialist.found())
        pairs = _Found.union(found, len(self))
        value, evidence = self._rescore(demands, texts, vectors, queries, pairs)
        return Scored(demands, texts, vectors, Edges(pairs.rows, pairs.columns, value, evidence))

    def _meaning(
        self,
        cosine: NDArray[np.float32],
        demand_chinese: NDArray[np.bool_],
        columns: NDArray[np.int64] | None,
    ) -> score.Meaning:
        """The semantic channel of pairs (of every specialist when ``columns`` is None)."""
        chinese = self.corpus.has_zh if columns is None else self.corpus.has_zh[columns]
        if columns is None:
            chinese = chinese[None, :]
        return (
            cosine.astype(np.float32),
            semantic.unrelated(demand_chinese, chinese),
            demand_chinese == chinese,
        )

    def _queries(self, texts: Sequence[str], meanings: Vectors | None) -> Vectors | None:
        """The demands' vectors, embedded now unless given; None for a lexical index."""
        if self.meanings is None:
            return None
        if meanings is not None:
            return meanings
        if self.embedder is None:
            raise ValueError("an index with meanings needs an embedder or the demands' meanings")
        return self.embedder.queries(texts)

    def _rescore(
        self,
        demands: Sequence[DemandProfile],
        texts: Sequence[str],
        vectors: DemandVectors,
        queries: Vectors | None,
        pairs: _Found,
    ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """All channels for the chosen pairs, combined and calibrated; and their evidence."""
        rows, columns = pairs.rows, pairs.columns
        if rows.size == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.float32)
        wordings = {int(row): normalise(texts[row]) for row in np.unique(rows)}
        keywords = np.zeros(rows.size, dtype=np.float32)
        field = np.zeros(rows.size, dtype=np.float32)
        has_field = np.zeros(rows.size, dtype=bool)
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        for start, stop in zip(starts, np.r_[starts[1:], rows.size], strict=True):
            row = int(rows[start])
            keywords[start:stop] = keyword_scores(
                wordings[row], [self.keywords[c] for c in columns[start:stop]]
            )
            if fields := demands[row].fields:
                for i in range(start, stop):
                    disciplines = self.profiles[columns[i]].disciplines
                    has_field[i] = bool(disciplines)
                    field[i] = field_similarity(fields, disciplines)
        has_keywords = self._has_keywords[columns]
        sounds = pairs.kept[:, _SOUNDS]
        both_chinese = vectors.has_zh[rows] & self.corpus.has_zh[columns]
        raw = score.fine(
            pairs.base, (sounds, both_chinese), (keywords, has_keywords), (field, has_field)
        )
        meaning = None
        if queries is not None and self.meanings is not None:
            cosine = pairs.kept[:, _COSINE]
            meaning = self._meaning(cosine, vectors.has_zh[rows], columns)
            raw = score.with_meaning(raw, meaning)
        named = self._named_fields_had(wordings, rows, columns)
        value = score.calibrate(raw * score.named(named))
        return value, score.evidence(pairs.kept[:, _EVIDENCE], field, named, meaning)

    def _named_fields_had(
        self, wordings: dict[int, str], rows: NDArray[np.int64], columns: NDArray[np.int64]
    ) -> NDArray[np.bool_]:
        """Per pair: whether the specialist has a field the demand names (True if none named)."""
        had = np.ones(rows.size, dtype=bool)
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])  # rows come sorted
        for start, stop in zip(starts, np.r_[starts[1:], rows.size], strict=True):
            fields = named_fields(wordings[int(rows[start])])
            if not fields:
                continue
            block = columns[start:stop]
            found = np.zeros(block.size, dtype=bool)
            for field in fields:
                found |= self._have_field(field, block)
            if found.any():
                had[start:stop] = found
        return had

    def _have_field(self, name: str, columns: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Field.in_profile for these specialists, remembered: a round's demands name the
        same fields often."""
        known = self._fields_had.get(name)
        if known is None:
            known = self._fields_had[name] = np.full(len(self), -1, dtype=np.int8)
        unread = columns[known[columns] < 0]
        if unread.size:
            field = Field.of(name)
            known[unread] = [field.in_profile(self._read_profile(int(c))) for c in unread]
        return known[columns] == 1

    def _read_profile(self, column: int) -> Profile:
        if (read := self._profiles.get(column)) is None:
            profile = self.profiles[column]
            read = self._profiles[column] = Profile.of(
                profile_text(profile, self.lookups.discipline_names)
            )
        return read

    def reasons(self, scored: Scored, picks: NDArray[np.int64]) -> list[tuple[Reason, ...]]:
        """Reasons of the picked edges of a scored batch."""
        rows = scored.edges.demand[picks]
        columns = scored.edges.specialist[picks]
        shared = self.corpus.shared_concepts(scored.vectors, rows, columns)
        evident = scored.edges.evidence[picks] >= DEFAULT_CONFIG.min_evidence
        return [
            _with_meaning(
                self.explainer.reasons(
                    scored.demands[row], scored.texts[row], self.profiles[column], concepts
                ),
                bool(subject),
            )
            for row, column, concepts, subject in zip(rows, columns, shared, evident, strict=True)
        ]

    def explain(self, demand: DemandProfile, specialist_id: str) -> tuple[Reason, ...]:
        """Why a specialist fits a demand: shared terms, fields and places."""
        column = self.position[specialist_id]
        text = demand_text(demand)
        vectors = self.corpus.vectorise([text])
        concepts = self.corpus.shared_concepts(vectors, np.zeros(1, np.int64), np.array([column]))
        return self.explainer.reasons(demand, text, self.profiles[column], concepts[0])


def _with_meaning(reasons: tuple[Reason, ...], evident: bool) -> tuple[Reason, ...]:
    """A pair with subject evidence but no term or field to name (the meaning of the
    texts, or rare characters they share) says so first, before any place."""
    if not evident or any(reason.kind in ("terms", "field") for reason in reasons):
        return reasons
    return (Reason("meaning"), *reasons)


_EVIDENCE, _SOUNDS, _COSINE = 0, 1, 2
_KEPT = 3  # values per pair in _Found.kept


def _at(
    channels: tuple[NDArray[np.float32], ...], rows: NDArray[np.int64], columns: NDArray[np.int64]
) -> NDArray[np.float32]:
    """The channels' values at these cells, stacked on a last axis (see _EVIDENCE)."""
    return np.stack([channel[rows, columns] for channel in channels], axis=-1)


def _top_per_row(
    raw: NDArray[np.float32], count: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Positions of each row's ``count`` highest allowed (non-negative) values."""
    count = min(count, raw.shape[1])
    if count == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    best = np.argpartition(-raw, count - 1, axis=1)[:, :count]
    rows = np.repeat(np.arange(raw.shape[0]), count)
    columns = best.ravel()
    keep = raw[rows, columns] >= 0
    return rows[keep].astype(np.int64), columns[keep].astype(np.int64)


@dataclass(frozen=True, slots=True)
class _Found:
    """Shortlisted pairs with their base score from the cheap stage."""

    rows: NDArray[np.int64]
    columns: NDArray[np.int64]
    base: NDArray[np.float32]
    kept: NDArray[np.float32]
    """Per pair, what the rescoring needs of the cheap stage: evidence, pinyin cosine,
    the semantic channel's cosine."""

    @staticmethod
    def union(parts: Sequence[_Found], size: int) -> _Found:
        """All parts' pairs once each, ordered by demand row then specialist."""
        rows = np.concatenate([part.rows for part in parts])
        columns = np.concatenate([part.columns for part in parts])
        _, first = np.unique(rows * size + columns, return_index=True)
        return _Found(
            rows[first],
            columns[first],
            np.concatenate([p.base for p in parts])[first],
            np.concatenate([p.kept for p in parts])[first],
        )


class _ColumnBest:
    """Running best ``count`` demand rows of every specialist across blocks."""

    def __init__(self, size: int, count: int) -> None:
        self.count = count
        self.base = np.full((count, size), -1.0, dtype=np.float32)
        self.kept = np.zeros((count, size, _KEPT), dtype=np.float32)
        self.rows = np.zeros((count, size), dtype=np.int64)

    def add(
        self, base: NDArray[np.float32], kept: tuple[NDArray[np.float32], ...], start: int
    ) -> None:
        if self.count == 0:
            return
        both = np.concatenate((self.base, base))
        best = np.argpartition(-both, self.count - 1, axis=0)[: self.count]
        old = best < self.count  # a winner kept from earlier blocks, else one of this block
        columns = np.broadcast_to(np.arange(base.shape[1]), best.shape)
        self.base = np.take_along_axis(both, best, axis=0)
        self.kept = np.where(
            old[..., None],
            self.kept[np.minimum(best, self.count - 1), columns],
            _at(kept, np.maximum(best - self.count, 0), columns),
        )
        self.rows = np.where(
            old, self.rows[np.minimum(best, self.count - 1), columns], best - self.count + start
        )

    def found(self) -> _Found:
        keep = self.base >= 0
        columns = np.broadcast_to(np.arange(self.base.shape[1]), self.base.shape)
        return _Found(self.rows[keep], columns[keep], self.base[keep], self.kept[keep])
