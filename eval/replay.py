"""Replaying rounds with and without what earlier pairings taught (matching.signals).

    .venv/bin/python eval/replay.py [--data eval/hard]

A labelled set stands in for the programme's records: its demands, in id
order, are filed in two halves. The first half is proposed in a round and
answered as the labels say: a proposed specialist not relevant to the demand
declines it as "not my field", the best relevant one proposed does the work
and is rated 5. Then two later rounds are proposed, each without and with
those outcomes: the second half (new problems), and the first half filed
again by other enterprises in their own words' stead (the same text: the
case the programme meets when a problem recurs in an industry). The table
gives hit@1 and hit@3 of the proposals (best first) and how many proposals
repeat a pairing declined before on a demand like it (surface cosine >=
NEAR_COPY). The lexical engine runs (no embeddings), as in the test suite.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.match_eval import demand_from, read_jsonl, specialist_from
from matching.corpus import Corpus
from matching.index import SpecialistIndex, demand_text
from matching.round import plan_round
from matching.signals import NEAR_COPY, Signal
from matching.types import DemandProfile, MatchConfig, SpecialistState

TODAY = dt.date(2026, 12, 7)
CONFIG = MatchConfig(top_k=3)


def proposed(
    index: SpecialistIndex, demands: Sequence[DemandProfile], signals: Sequence[Signal]
) -> dict[str, list[str]]:
    """Each demand's proposals, best first, from one round with room for everyone."""
    states = {sid: SpecialistState(capacity=len(demands) * 3) for sid in index.ids}
    config = MatchConfig(top_k=3, max_new_per_specialist=len(demands) * 3)
    plan = plan_round(index, demands, states, today=TODAY, config=config, signals=signals)
    chosen: dict[str, list[str]] = {d.id: [] for d in demands}
    for proposal in plan.proposals:
        chosen[proposal.demand_id].append(proposal.specialist_id)
    return chosen


def taught(
    demands: Sequence[DemandProfile], chosen: dict[str, list[str]], labels: dict[str, list[str]]
) -> list[Signal]:
    """The answers the labels give to a round's proposals."""
    signals = []
    for demand in demands:
        relevant = labels[demand.id]
        right = [sid for sid in chosen[demand.id] if sid in relevant]
        signals += [
            Signal(demand, sid, "not_my_field") for sid in chosen[demand.id] if sid not in relevant
        ]
        if right:
            signals.append(Signal(demand, right[0], "worked"))
    return signals


def near_copies(
    index: SpecialistIndex,
    chosen: dict[str, list[str]],
    demands: Sequence[DemandProfile],
    signals: Sequence[Signal],
) -> int:
    """Proposals that repeat a "not my field" on a demand like the declined one."""
    declined = [s for s in signals if s.kind == "not_my_field"]
    if not declined:
        return 0
    earlier = Corpus(index.corpus.analyzer, [demand_text(s.demand) for s in declined])
    likeness = earlier.vectorise([demand_text(d) for d in demands]).surface @ earlier.surface_t
    dense = likeness.toarray()
    return sum(
        1
        for row, demand in enumerate(demands)
        for sid in chosen[demand.id]
        for n, signal in enumerate(declined)
        if signal.specialist_id == sid and dense[row, n] >= NEAR_COPY
    )


def scores(chosen: dict[str, list[str]], labels: dict[str, list[str]]) -> tuple[float, float]:
    hit1 = sum(bool(c) and c[0] in labels[d] for d, c in chosen.items())
    hit3 = sum(any(s in labels[d] for s in c[:3]) for d, c in chosen.items())
    return hit1 / len(chosen), hit3 / len(chosen)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=Path(__file__).parent / "hard")
    args = parser.parse_args(argv)
    specialists = read_jsonl(args.data / "specialists.jsonl", specialist_from)
    labels = {
        row["demand_id"]: list(row["relevant"])
        for row in map(json.loads, (args.data / "labels.jsonl").read_text("utf-8").splitlines())
        if row.get("relevant")
    }
    demands = sorted(
        (d for d in read_jsonl(args.data / "demands.jsonl", demand_from) if d.id in labels),
        key=lambda d: d.id,
    )
    first, later = demands[: len(demands) // 2], demands[len(demands) // 2 :]
    index = SpecialistIndex.build(specialists, background=demands)
    signals = taught(first, proposed(index, first, ()), labels)
    kinds = {kind: sum(s.kind == kind for s in signals) for kind in ("not_my_field", "worked")}
    print(f"{args.data}: {len(first)} demands answered first ({kinds}), {len(later)} later")
    again = [dataclasses.replace(d, id=f"{d.id}-again") for d in first]
    labels |= {f"{d.id}-again": labels[d.id] for d in first}
    print(f"{'later round':<36} {'hit@1':>6} {'hit@3':>6} {'near copies':>12}")
    for round_name, filed in (("new problems", later), ("the first half again", again)):
        for name, given in (("without", ()), ("with signals", signals)):
            chosen = proposed(index, filed, given)
            hit1, hit3 = scores(chosen, labels)
            repeats = near_copies(index, chosen, filed, signals)
            label = f"{round_name}, {name}"
            print(f"{label:<36} {hit1:6.3f} {hit3:6.3f} {repeats:12d}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
