"""Ranking quality on the hand-made development set (tests/matching/data/dev).

45 demands (lay wording, homophone typos, English, Chinese to English and back)
against 40 specialists, written for this test and never tuned against eval/.
"""

from __future__ import annotations

import json
from pathlib import Path

from bot.match_eval import demand_from, read_jsonl, specialist_from
from matching.index import SpecialistIndex

DEV = Path(__file__).parent / "data" / "dev"


def test_engine_ranks_a_right_specialist_first_on_the_development_set() -> None:
    index = SpecialistIndex.build(read_jsonl(DEV / "specialists.jsonl", specialist_from))
    demands = read_jsonl(DEV / "demands.jsonl", demand_from)
    labels = {
        row["demand_id"]: set(row["relevant"])
        for row in map(json.loads, (DEV / "labels.jsonl").read_text("utf-8").splitlines())
    }
    first = [index.rank(demand, top=1)[0].specialist_id in labels[demand.id] for demand in demands]
    assert sum(first) / len(first) >= 0.95
