"""Match rounds and the proposal deadlines: the loop the programme runs on.

A round reads every open demand and every available specialist, lets the
engine choose all proposals at once (matching.round.plan_round: an
optimisation under capacity and per-round limits, not first-come), stores
them, then sends what was stored and not yet sent. Sending is driven by the
database (Proposal.notified_at): each batch is claimed and its messages written
to the outbox in one unit of work, so a restart between storing and sending
loses nothing, a round run twice sends nothing twice, and a proposal is marked
sent exactly when its message is on its way.

The deadline tick reminds specialists of unanswered proposals once, expires
them later, and reminds enterprises that have not chosen; each step claims its
rows in SQL in the unit of work that writes the messages, so it is safe to run
as often as wanted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

from handlers import candidates, proposals
from handlers.meanings import vectors_of
from handlers.notify import notify
from handlers.proposal_views import reader_for
from handlers.services import Services
from matching.index import SpecialistIndex, demand_text, meaning_text
from matching.round import plan_round
from matching.semantic import Vectors
from matching.signals import Signal, SignalKind
from matching.types import DemandProfile, MatchConfig, SpecialistProfile, SpecialistState
from storage.models import (
    Demand,
    DemandMeaning,
    Enterprise,
    Specialist,
    SpecialistMeaning,
    SpecialistStatus,
)
from storage.proposals import (
    NewProposal,
    claim_choice_reminders,
    claim_due_reminders,
    claim_unsent,
    create_proposals,
    expire_stale_proposals,
    proposal_context,
)
from storage.rounds import RoundRows, mark_unsuited, round_rows

log = logging.getLogger(__name__)
CONFIG = MatchConfig()
DELIVER_BATCH = 50  # proposals claimed and written to the outbox per unit of work


@dataclass(frozen=True)
class RoundReport:
    proposed: int
    demands: int
    specialists: int


def demand_profile(demand: Demand, enterprise: Enterprise) -> DemandProfile:
    mode = demand.work_mode if demand.work_mode in ("onsite", "remote") else "either"
    return DemandProfile(
        id=str(demand.id),
        title=demand.title,
        description=demand.description,
        kind=demand.kind,
        fields=tuple(demand.fields),
        keywords=tuple(demand.keywords),
        city=enterprise.city,
        mode=mode,  # type: ignore[arg-type]
    )


def specialist_profile(specialist: Specialist) -> SpecialistProfile:
    return SpecialistProfile(
        id=str(specialist.id),
        name=specialist.name,
        expertise=specialist.expertise,
        disciplines=tuple(specialist.disciplines),
        keywords=tuple(specialist.keywords),
        institution=specialist.institution,
        cities_served=tuple(specialist.cities),
        # Every specialist can advise at a distance; on-site work needs a city they serve.
        remote=True,
    )


def specialist_state(specialist: Specialist, load: int) -> SpecialistState:
    return SpecialistState(
        approved=specialist.status == SpecialistStatus.APPROVED,
        paused_until=specialist.paused_until,
        period_from=specialist.available_from,
        period_to=specialist.available_to,
        capacity=specialist.capacity,
        open_count=load,
    )


@dataclass(frozen=True)
class Planned:
    proposals: list[NewProposal]
    unsuited: list[int]  # demands nobody suits (see matching.round.RoundPlan)


def signal(demand: Demand, specialist_id: int, kind: str) -> Signal:
    """An outcome storage found, as the engine reads it (matching.signals)."""
    text = DemandProfile(
        str(demand.id), demand.title, demand.description, keywords=tuple(demand.keywords)
    )
    return Signal(text, str(specialist_id), cast(SignalKind, kind))


@dataclass(frozen=True)
class Meanings:
    """The semantic channel's vectors of a round's specialists and demands, in row order."""

    specialists: Vectors
    demands: Vectors


def plan(rows: RoundRows, today: dt.date, meanings: Meanings | None = None) -> Planned:
    """The engine's choice for this round (CPU work: run it off the event loop)."""
    demands = [demand_profile(d, e) for d, e in rows.demands]
    index = SpecialistIndex.build(
        [specialist_profile(s) for s in rows.specialists],
        background=demands,
        meanings=meanings.specialists if meanings else None,
    )
    chosen = plan_round(
        index,
        demands,
        {str(s.id): specialist_state(s, rows.load.get(s.id or 0, 0)) for s in rows.specialists},
        today=today,
        open_pairs={(str(d), str(s)) for d, s in rows.open_pairs},
        declined={(str(d), str(s)) for d, s in rows.tried_pairs},
        config=CONFIG,
        meanings=meanings.demands if meanings else None,
        signals=[signal(*learnt) for learnt in rows.learnt],
    )
    proposals = [
        NewProposal(
            int(p.demand_id),
            int(p.specialist_id),
            p.score,
            [{"kind": r.kind, "values": list(r.values)} for r in p.reasons],
        )
        for p in chosen.proposals
    ]
    return Planned(proposals, [int(d) for d in chosen.unsuited])


async def run_round(svc: Services) -> RoundReport:
    """Plan, store and send one round; mark the demands nobody suits for the digest."""
    rows = await round_rows(db=svc.db)
    now = svc.clock.now()
    considered = [d.id for d, _ in rows.demands if d.id is not None]
    if rows.demands and rows.specialists:
        meanings = await meanings_of(svc, rows)
        planned = await asyncio.to_thread(plan, rows, svc.today(), meanings)
        created = await create_proposals(db=svc.db, proposals=planned.proposals, now=now)
        unsuited = planned.unsuited
    else:
        created = []
        proposed = {d for d, _ in rows.open_pairs}
        unsuited = [d for d in considered if d not in proposed]
    await mark_unsuited(db=svc.db, considered=considered, unsuited=unsuited, now=now)
    await deliver(svc)
    log.info("round: %d proposals for %d demands", len(created), len(rows.demands))
    return RoundReport(len(created), len(rows.demands), len(rows.specialists))


class EmbeddingFailed(Exception):
    """The model could not embed a round's texts."""


def _guarded(embed: Callable[[Sequence[str]], Vectors]) -> Callable[[Sequence[str]], Vectors]:
    def run(texts: Sequence[str]) -> Vectors:
        try:
            return embed(texts)
        except Exception as error:
            raise EmbeddingFailed from error

    return run


async def meanings_of(svc: Services, rows: RoundRows) -> Meanings | None:
    """The round's vectors (None without the semantic channel), embedding only texts
    that are new or changed since they were kept. A model that fails leaves the round
    lexical rather than without proposals; the database's failures still fail it."""
    if (embedder := svc.embedder) is None:
        return None
    specialists = {s.id or 0: meaning_text(specialist_profile(s)) for s in rows.specialists}
    demands = {d.id or 0: demand_text(demand_profile(d, e)) for d, e in rows.demands}
    model = embedder.model
    try:
        return Meanings(
            await vectors_of(
                svc.db,
                SpecialistMeaning,
                specialists,
                model=model,
                embed=_guarded(embedder.passages),
            ),
            await vectors_of(
                svc.db, DemandMeaning, demands, model=model, embed=_guarded(embedder.queries)
            ),
        )
    except EmbeddingFailed:
        log.exception("round: the embedding model failed; this round is lexical only")
        return None


async def deliver(svc: Services) -> int:
    """Send every stored proposal not yet sent, a batch at a time: each batch is claimed
    and its messages written to the outbox in one unit of work, so each proposal is sent
    exactly once (delivery failures are the outbox's to retry)."""
    sent = 0
    while True:
        async with svc.db.unit_of_work():
            batch = await claim_unsent(db=svc.db, now=svc.clock.now(), limit=DELIVER_BATCH)
            for proposal_id in batch:
                sent += await proposals.send_proposal(svc, proposal_id)
        if not batch:
            return sent


async def tick_deadlines(svc: Services) -> None:
    """Reminders once, then expiry; enterprises that have not chosen get one reminder."""
    now, deadlines = svc.clock.now(), svc.deadlines
    await deliver(svc)
    async with svc.db.unit_of_work():
        reminded = await claim_due_reminders(
            db=svc.db, older_than=now - dt.timedelta(hours=deadlines.reminder_hours), now=now
        )
        for proposal in reminded:
            await proposals.send_proposal(svc, proposal.id or 0, reminder=True)
    async with svc.db.unit_of_work():
        expired = await expire_stale_proposals(
            db=svc.db, older_than=now - dt.timedelta(hours=deadlines.expiry_hours), now=now
        )
        for proposal in expired:
            ctx = await proposal_context(db=svc.db, proposal_id=proposal.id or 0)
            if ctx is not None:
                user = ctx.specialist_user
                assert user.id is not None
                reader = reader_for(svc, user)
                await notify(
                    svc,
                    user.id,
                    reader.t("proposal.expired", ref=ctx.proposal.id, title=ctx.demand.title),
                )
    async with svc.db.unit_of_work():
        waiting = await claim_choice_reminders(
            db=svc.db, older_than=now - dt.timedelta(days=deadlines.choice_reminder_days), now=now
        )
        for proposal_id in waiting:
            await candidates.send_candidate(svc, proposal_id, reminder=True)
