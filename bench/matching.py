"""Benchmark of the matching engine; prints one table measured in one run.

    .venv/bin/python -m bench.matching [--quick]

Cases (each in its own subprocess, so peak memory is that case's alone, read
from getrusage's maxrss):
- round: a full round (rules, shortlists, rescoring, assignment, reasons) of
  10,000 open demands against 1,000 specialists;
- rank 1k / rank 100k: one new demand against 1,000 and 100,000 specialists
  (median of 20 demands after one warm-up), index already built;
- build 100k: building the index of 100,000 specialists;
- naive: the same 10,000 x 1,000 pairs scored with rapidfuzz WRatio on the
  concatenated texts in one process, timed on 200 demands and scaled
  linearly to 10,000 (the table says so).
Profiles are synthetic, generated with a fixed seed from the glossary and the
discipline list: Chinese and (one in ten) English specialists with keywords,
expertise sentences, cities served; demands in lay wording (the glossary's
synonyms) with one homophone typo in one demand of ten.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rapidfuzz import fuzz, process

from matching import taxonomy
from matching.index import SpecialistIndex, demand_text
from matching.pinyin import syllable_table
from matching.round import plan_round
from matching.types import (
    DemandProfile,
    SpecialistProfile,
    SpecialistState,
    WorkMode,
)

SEED = 20240501
TODAY = dt.date(2025, 3, 1)
TARGETS = {
    "round": "< 10 s, >= 20x naive",
    "rank 100k": "< 300 ms",
    "build 100k": "peak < 1 GiB",
}


class Generator:
    """Deterministic synthetic specialists and demands."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.concepts = list(taxonomy.glossary())
        self.disciplines = [d for d in taxonomy.all_disciplines() if d.terms_zh]
        self.cities = [city.zh for city in taxonomy.cities()]
        table, _ = syllable_table()
        self.homophones: dict[int, list[str]] = {}
        for codepoint in range(0x4E00, 0x9FA6):
            self.homophones.setdefault(int(table[codepoint]), []).append(chr(codepoint))

    def _terms(self, count: int, english: bool) -> list[str]:
        chosen = self.random.sample(self.concepts, count)
        return [(c.en if english and c.en else c.zh)[0] for c in chosen]

    def specialist(self, number: int) -> SpecialistProfile:
        pick = self.random
        english = pick.random() < 0.1
        discipline = pick.choice(self.disciplines)
        field_terms = list(discipline.terms_en if english else discipline.terms_zh)
        terms = pick.sample(field_terms, min(2, len(field_terms))) + self._terms(4, english)
        if english:
            expertise = (
                f"Research on {terms[0]} and {terms[1]}. Projects in {terms[2]}, {terms[3]} "
                f"for industry; experience with {terms[4]}."
            )
        else:
            expertise = (
                f"主要从事{terms[0]}与{terms[1]}研究。承担{terms[2]}、{terms[3]}等企业项目，"
                f"熟悉{terms[4]}。"
            )
        city = pick.choice(self.cities)
        return SpecialistProfile(
            id=f"s{number}",
            name=f"专家{number}",
            expertise=expertise,
            disciplines=(discipline.code,),
            keywords=tuple(terms[:3]),
            institution=f"{city}理工大学",
            city=city,
            cities_served=tuple(pick.sample(self.cities, 2)),
            remote=pick.random() < 0.5,
        )

    def _lay(self, concept_terms: tuple[str, ...]) -> str:
        return self.random.choice(concept_terms[1:] or concept_terms)

    def _typo(self, text: str) -> str:
        table, _ = syllable_table()
        spots = [i for i, char in enumerate(text) if "\u4e00" <= char <= "\u9fa5"]
        if not spots:
            return text
        at = self.random.choice(spots)
        same = self.homophones.get(int(table[ord(text[at])]), [text[at]])
        return text[:at] + self.random.choice(same) + text[at + 1 :]

    def demand(self, number: int) -> DemandProfile:
        pick = self.random
        chosen = pick.sample(self.concepts, 3)
        lay = [self._lay(c.zh) for c in chosen if c.zh]
        while len(lay) < 3:
            lay.append("设备")
        description = f"我们厂在{lay[0]}方面遇到问题，{lay[1]}不稳定，想找专家帮忙解决{lay[2]}。"
        if pick.random() < 0.1:
            description = self._typo(description)
        mode: WorkMode = pick.choice(("onsite", "remote", "either"))
        return DemandProfile(
            id=f"d{number}",
            title=f"{lay[0]}问题",
            description=description,
            city=pick.choice(self.cities),
            mode=mode,
        )


def _specialists(count: int) -> list[SpecialistProfile]:
    generator = Generator(SEED)
    return [generator.specialist(i) for i in range(count)]


def _demands(count: int) -> list[DemandProfile]:
    generator = Generator(SEED + 1)
    return [generator.demand(i) for i in range(count)]


def _states(specialists: list[SpecialistProfile]) -> dict[str, SpecialistState]:
    pick = random.Random(SEED + 2)
    return {
        s.id: SpecialistState(capacity=pick.choice((2, 3, 5)), open_count=pick.choice((0, 0, 1)))
        for s in specialists
    }


def case_round() -> dict[str, Any]:
    specialists, demands = _specialists(1_000), _demands(10_000)
    states = _states(specialists)
    index = SpecialistIndex.build(specialists)
    index.rank(demands[0])  # a running bot has its dictionaries loaded
    started = time.perf_counter()
    proposals = plan_round(index, demands, states, today=TODAY)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "note": f"{len(proposals)} proposals, index built before"}


def _case_rank(size: int) -> dict[str, Any]:
    index = SpecialistIndex.build(_specialists(size))
    demands = _demands(21)
    index.rank(demands[0])
    times = []
    for demand in demands[1:]:
        started = time.perf_counter()
        index.rank(demand)
        times.append(time.perf_counter() - started)
    return {"seconds": statistics.median(times), "note": "median of 20, top 3 with reasons"}


def case_rank_1k() -> dict[str, Any]:
    return _case_rank(1_000)


def case_rank_100k() -> dict[str, Any]:
    return _case_rank(100_000)


def case_build_100k() -> dict[str, Any]:
    specialists = _specialists(100_000)
    started = time.perf_counter()
    index = SpecialistIndex.build(specialists)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "note": f"{len(index)} specialists"}


def case_naive() -> dict[str, Any]:
    specialists, demands = _specialists(1_000), _demands(10_000)
    sample = demands[:200]
    texts = [" ".join((s.expertise, *s.keywords, s.institution)) for s in specialists]
    started = time.perf_counter()
    process.cdist([demand_text(d) for d in sample], texts, scorer=fuzz.WRatio, workers=1)
    seconds = (time.perf_counter() - started) * len(demands) / len(sample)
    return {"seconds": seconds, "note": "WRatio, 1 process, 200 demands timed, x50"}


CASES: dict[str, Callable[[], dict[str, Any]]] = {
    "round": case_round,
    "rank 1k": case_rank_1k,
    "rank 100k": case_rank_100k,
    "build 100k": case_build_100k,
    "naive": case_naive,
}


def run_case(name: str) -> None:
    """Run one case in this process and print its result as JSON."""
    result = CASES[name]()
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--case", choices=sorted(CASES))
    parser.add_argument("--only", nargs="*", choices=sorted(CASES))
    args = parser.parse_args()
    if args.case:
        run_case(args.case)
        return 0
    results = {}
    for name in args.only or CASES:
        out = subprocess.run(
            # As a module from the repository root: by path, this file would shadow `matching`.
            [sys.executable, "-m", "bench.matching", "--case", name],
            cwd=Path(__file__).resolve().parent.parent,
            check=True,
            capture_output=True,
            text=True,
        )
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{'case':<11} {'time':>10} {'peak MiB':>9}  {'target':<22} note")
    for name, result in results.items():
        seconds = result["seconds"]
        shown = f"{seconds * 1000:8.1f}ms" if seconds < 1 else f"{seconds:9.2f}s"
        target = TARGETS.get(name, "")
        print(f"{name:<11} {shown:>10} {result['peak_mib']:9.0f}  {target:<22} {result['note']}")
    if "round" in results and "naive" in results:
        ratio = results["naive"]["seconds"] / results["round"]["seconds"]
        print(f"full round is {ratio:.0f}x faster than naive WRatio over all pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
