"""`make eval`: hit@1, hit@3 and MRR@10 of the engine and two baselines, in one run.

Reads eval/data/{specialists,demands,labels}.jsonl (the CLI's input format;
labels are {"demand_id", "relevant": [specialist ids]}) and ranks every
specialist for every demand three ways:
- engine: matching.SpecialistIndex, exactly as `python -m bot match-eval` runs it,
  with the semantic channel (MATCH_EMBEDDINGS, default e5: vectors are kept in
  .cache/eval so a rerun does not embed again); "lexical" is the same without it;
- WRatio: rapidfuzz WRatio between the concatenated texts of both sides;
- TF-IDF: cosine of character 1-3-gram TF-IDF (scikit-learn), which works for
  Chinese and English alike without segmentation.
Rows for Chinese and English demands follow the overall row, so a gain in one
language cannot hide a loss in the other. The engine's row also gives the
share of its top 3 below the relevance floor (pairs a round would not propose).

Sets, one table each (missing ones are skipped with a note):
- eval/hard: factory managers' demands against faculty-page profiles, with
  near misses in neighbouring fields (the set to steer by);
- eval/data: the first hand-written set (lay demands, typos, English);
- eval/public/csl_discipline: Chinese abstracts against researchers made of
  papers of one discipline, labels from CSL (public, Apache-2.0);
- eval/public/stelmakh2023: papers against reviewers, labels from the
  reviewers' own expertise ratings (built locally, see eval/public/README.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from rapidfuzz import fuzz, process
from sklearn.feature_extraction.text import TfidfVectorizer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.match_eval import demand_from, read_jsonl, specialist_from
from matching import semantic
from matching.index import SpecialistIndex, demand_text, meaning_text
from matching.semantic import Embedder, Vectors
from matching.types import DemandProfile, SpecialistProfile

DEPTH = 10
HERE = Path(__file__).parent
SETS = (
    HERE / "hard",
    HERE / "data",
    HERE / "public" / "csl_discipline",
    HERE / "public" / "stelmakh2023",
)
CACHE = HERE.parent / ".cache" / "eval"
"""Embeddings of each set's texts, by model and digest of the texts (make eval reruns fast)."""
Ranked = tuple[list[list[str]], float | None]
"""Ids best first per demand, and the share of the top 3 below the floor (if known)."""
Ranker = Callable[[Sequence[SpecialistProfile], Sequence[DemandProfile]], Ranked]
Meanings = tuple[Vectors, Vectors] | None
"""The specialists' and the demands' vectors, or None for the lexical engine alone."""


def profile_text(specialist: SpecialistProfile) -> str:
    """Everything a specialist wrote about their work, as one string (for the baselines)."""
    return " ".join((specialist.expertise, *specialist.keywords, specialist.institution))


def _top(scores: NDArray[np.float64], ids: Sequence[str]) -> list[list[str]]:
    order = np.argsort(-scores, axis=1, kind="stable")[:, :DEPTH]
    return [[ids[column] for column in row] for row in order]


def embedded(
    embedder: Embedder, specialists: Sequence[SpecialistProfile], demands: Sequence[DemandProfile]
) -> tuple[Vectors, Vectors]:
    """Both sides' vectors, from the cache when these texts were embedded before."""
    profiles = [meaning_text(s) for s in specialists]
    queries = [demand_text(d) for d in demands]
    key = hashlib.sha256(json.dumps([embedder.model, profiles, queries]).encode()).hexdigest()
    path = CACHE / f"{key}.npz"
    if path.exists():
        kept = np.load(path)
        return kept["profiles"], kept["queries"]
    vectors = embedder.passages(profiles), embedder.queries(queries)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, profiles=vectors[0], queries=vectors[1])
    return vectors


def engine(meanings: Meanings) -> Ranker:
    """The engine as match-eval runs it, with the given vectors (None: lexical only)."""

    def rank(specialists: Sequence[SpecialistProfile], demands: Sequence[DemandProfile]) -> Ranked:
        index = SpecialistIndex.build(
            specialists, background=demands, meanings=None if meanings is None else meanings[0]
        )
        ranked = index.rank_all(
            demands, top=DEPTH, meanings=None if meanings is None else meanings[1]
        )
        top = [candidate for candidates in ranked for candidate in candidates[:3]]
        below = sum(not candidate.evident for candidate in top) / max(len(top), 1)
        return [[candidate.specialist_id for candidate in row] for row in ranked], below

    return rank


def rank_wratio(
    specialists: Sequence[SpecialistProfile], demands: Sequence[DemandProfile]
) -> Ranked:
    scores = process.cdist(
        [demand_text(d) for d in demands],
        [profile_text(s) for s in specialists],
        scorer=fuzz.WRatio,
        processor=str.lower,
        workers=-1,
    )
    return _top(scores.astype(np.float64), [s.id for s in specialists]), None


def rank_tfidf(
    specialists: Sequence[SpecialistProfile], demands: Sequence[DemandProfile]
) -> Ranked:
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True)
    profiles = vectorizer.fit_transform([profile_text(s) for s in specialists])
    queries = vectorizer.transform([demand_text(d) for d in demands])
    return _top((queries @ profiles.T).toarray(), [s.id for s in specialists]), None


def metrics(rankings: Sequence[list[str]], relevant: Sequence[set[str]]) -> tuple[float, ...]:
    """hit@1, hit@3, MRR@10 over demands that have relevant specialists."""
    hits1 = hits3 = reciprocal = 0.0
    for ranking, wanted in zip(rankings, relevant, strict=True):
        first = next((i for i, sid in enumerate(ranking) if sid in wanted), None)
        hits1 += first == 0
        hits3 += first is not None and first < 3
        reciprocal += 0 if first is None else 1 / (first + 1)
    count = max(len(rankings), 1)
    return hits1 / count, hits3 / count, reciprocal / count


def _is_chinese(demand: DemandProfile) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in demand_text(demand))


def table(data: Path, embedder: Embedder | None) -> None:
    """Print one set's table: every ranker, overall then per language."""
    specialists = read_jsonl(data / "specialists.jsonl", specialist_from)
    demands = read_jsonl(data / "demands.jsonl", demand_from)
    labels = {
        record["demand_id"]: set(record["relevant"])
        for line in (data / "labels.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip() and (record := json.loads(line))
    }
    demands = [d for d in demands if labels.get(d.id)]
    relevant = [labels[d.id] for d in demands]
    chinese = [_is_chinese(d) for d in demands]
    slices = {"all": [True] * len(demands), "zh": chinese, "en": [not flag for flag in chinese]}
    print(f"\n{len(demands)} demands, {len(specialists)} specialists ({data})")
    rankers: dict[str, Ranker] = {"engine": engine(None)}
    if embedder is not None:
        started = time.perf_counter()
        meanings = embedded(embedder, specialists, demands)
        seconds = time.perf_counter() - started
        print(f"(semantic channel {embedder.model}: vectors in {seconds:.1f} s, or kept)")
        rankers = {"engine": engine(meanings), "lexical": engine(None)}
    rankers |= {"WRatio": rank_wratio, "TF-IDF": rank_tfidf}
    print(
        f"{'ranker':<8} {'demands':<10} {'hit@1':>6} {'hit@3':>6} {'MRR@10':>7}"
        f" {'<floor':>7} {'seconds':>8}"
    )
    for name, ranker in rankers.items():
        started = time.perf_counter()
        rankings, below = ranker(specialists, demands)
        seconds = time.perf_counter() - started
        for slice_name, members in slices.items():
            chosen = [i for i, member in enumerate(members) if member]
            if not chosen or (slice_name != "all" and len(chosen) == len(members)):
                continue
            hit1, hit3, mrr = metrics([rankings[i] for i in chosen], [relevant[i] for i in chosen])
            label = f"{slice_name} ({len(chosen)})"
            floor = f"{below:7.3f}" if below is not None and slice_name == "all" else ""
            timing = f"{seconds:8.2f}" if slice_name == "all" else ""
            print(
                f"{name:<8} {label:<10} {hit1:6.3f} {hit3:6.3f} {mrr:7.3f} {floor:>7} {timing:>8}"
            )


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, action="append", help="a set's folder (repeatable)")
    args = parser.parse_args(argv)
    embedder = semantic.load(os.environ.get("MATCH_EMBEDDINGS", "e5"))
    for data in args.data or SETS:
        if (data / "labels.jsonl").exists():
            table(data, embedder)
        else:
            print(f"\n({data}: not here; see eval/public/README.md to build it)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
