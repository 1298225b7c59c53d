"""A small programme with a known history, for the figures of storage.stats and the digest.

Built with the storage factories and rows stated directly, each stamped at a known time
before `now`, so every figure the digest prints can be worked out by hand from this map.

    enterprises  A 鞍山 (anshan), B 大连 (dalian), C 沈阳 (shenyang)
    specialists  s1 陈教授 大连理工大学 460 approved · s2 李研究员 东北大学 460 approved, new
                 s3 王工 pending, new · s4 赵教授 东北大学 430 approved, silent for 9 days
    demands      d1 A 20d matched · d2 B 10d open, no yes · d3 C 8d open, a yes 6d ago
                 d4 A 2h open · d5 B 12d closed · d6 C 30d matched
    proposals    p1 d1-s1 selected · p2 d6-s1 selected · p3 d2-s4 declined no_time 12h ago
                 p4 d2-s1 expired 2d ago · p5 d3-s1 accepted 6d ago · p6 d4-s1 proposed 1h ago
                 p7 d4-s4 declined too_far 30m ago · p8 d3-s4 expired 20h ago
                 p9 d2-s2 declined not_my_field 1h ago
    engagements  e1 p1 started 10d ago (active) · e2 p2 started 25d ago, completed 5h ago
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from storage.db import Database
from storage.models import (
    Demand,
    DemandStatus,
    Engagement,
    EngagementStatus,
    Enterprise,
    Proposal,
    ProposalStatus,
    Specialist,
    SpecialistStatus,
)
from tests.storage import factories

H, D = dt.timedelta(hours=1), dt.timedelta(days=1)


@dataclass
class Programme:
    enterprises: dict[str, Enterprise]
    specialists: dict[str, Specialist]
    demands: dict[str, Demand]
    proposals: dict[str, Proposal]


async def _add(db: Database, row: object) -> None:
    async with db.transaction() as session:
        session.add(row)


async def build(db: Database, now: dt.datetime) -> Programme:
    old = now - 40 * D
    enterprises = {
        "A": await factories.enterprise(db, old, "鞍山精密铸造有限公司"),
        "B": await factories.enterprise(db, old, "大连重工机械有限公司"),
        "C": await factories.enterprise(db, old, "沈阳新材料科技有限公司"),
    }
    async with db.transaction() as session:
        for key, city in (("B", "dalian"), ("C", "shenyang")):
            enterprise = await session.get(Enterprise, enterprises[key].id)
            assert enterprise is not None
            enterprise.city = enterprises[key].city = city

    specialists = {
        "s1": await factories.specialist(db, old, "陈教授"),
        "s2": await factories.specialist(db, now - 3 * H, "李研究员"),
        "s3": await factories.specialist(db, now - 5 * H, "王工"),
        "s4": await factories.specialist(db, old, "赵教授"),
    }
    changes = {
        "s1": {"disciplines": ["46020"]},
        "s2": {"disciplines": ["46015"], "institution": "东北大学"},
        "s3": {"status": SpecialistStatus.PENDING.value},
        "s4": {
            "disciplines": ["43050"],
            "institution": "东北大学",
            "not_responding_since": now - 9 * D,
        },
    }
    async with db.transaction() as session:
        for key, values in changes.items():
            row = await session.get(Specialist, specialists[key].id)
            assert row is not None
            for name, value in values.items():
                setattr(row, name, value)
                setattr(specialists[key], name, value)

    plan = {
        "d1": ("A", "铸件气孔", ["46020"], 20 * D, DemandStatus.MATCHED),
        "d2": ("B", "轴承异响", ["46015"], 10 * D, DemandStatus.OPEN),
        "d3": ("C", "涂层脱落", ["43050"], 8 * D, DemandStatus.OPEN),
        "d4": ("A", "焊缝裂纹", ["46020"], 2 * H, DemandStatus.OPEN),
        "d5": ("B", "废水处理", ["610"], 12 * D, DemandStatus.CLOSED),
        "d6": ("C", "模具寿命", ["46020"], 30 * D, DemandStatus.MATCHED),
    }
    demands = {}
    for key, (owner, title, fields, age, status) in plan.items():
        demand = await factories.demand(db, now - age, enterprises[owner].id, title)
        async with db.transaction() as session:
            row = await session.get(Demand, demand.id)
            assert row is not None
            row.fields, row.status = fields, status.value
        demand.fields, demand.status = fields, status.value
        demands[key] = demand

    S = ProposalStatus
    moves = {  # demand, specialist, status, proposed, answered, decided, decline reason
        "p1": ("d1", "s1", S.SELECTED, 19 * D, 18 * D, 10 * D, None),
        "p2": ("d6", "s1", S.SELECTED, 29 * D, 28 * D, 25 * D, None),
        "p3": ("d2", "s4", S.DECLINED, 9 * D, 12 * H, None, "no_time"),
        "p4": ("d2", "s1", S.EXPIRED, 5 * D, None, 2 * D, None),
        "p5": ("d3", "s1", S.ACCEPTED, 7 * D, 6 * D, None, None),
        "p6": ("d4", "s1", S.PROPOSED, 1 * H, None, None, None),
        "p7": ("d4", "s4", S.DECLINED, 1 * H, H / 2, None, "too_far"),
        "p8": ("d3", "s4", S.EXPIRED, 4 * D, None, 20 * H, None),
        "p9": ("d2", "s2", S.DECLINED, 2 * H, 1 * H, None, "not_my_field"),
    }
    proposals = {}
    for key, (d, s, status, proposed, answered, decided, reason) in moves.items():
        proposal = Proposal(
            demand_id=demands[d].id,
            specialist_id=specialists[s].id,
            status=status.value,
            proposed_at=now - proposed,
            notified_at=now - proposed,
            answered_at=now - answered if answered else None,
            decided_at=now - decided if decided else None,
            decline_reason=reason,
        )
        await _add(db, proposal)
        proposals[key] = proposal
    await _add(
        db,
        Engagement(
            proposal_id=proposals["p1"].id,
            demand_id=demands["d1"].id,
            specialist_id=specialists["s1"].id,
            started_at=now - 10 * D,
        ),
    )
    await _add(
        db,
        Engagement(
            proposal_id=proposals["p2"].id,
            demand_id=demands["d6"].id,
            specialist_id=specialists["s1"].id,
            status=EngagementStatus.COMPLETED.value,
            started_at=now - 25 * D,
            ended_at=now - 5 * H,
        ),
    )
    return Programme(enterprises, specialists, demands, proposals)
