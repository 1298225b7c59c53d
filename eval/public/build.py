"""Build the public evaluation sets of eval/public/ from fetched raw data.

Two sets, both in the input format of `python -m bot match-eval` / `eval/evaluate.py --data`:

* ``stelmakh2023`` (English): the reviewer-paper expertise gold standard of
  Stelmakh, Wieting, Neubig and Shah (2023), github.com/niharshah/goldstandard-reviewer-paper-match.
  Demands = the papers the 58 participants rated; specialists = the 58 participants
  (profile = titles of their own most recent papers); relevant = the participants
  who rated the paper with expertise >= 4 on the 1-5 scale, best first.
* ``csl_discipline`` (Chinese): the CSL benchmark (dev + test, 2,000 papers) of
  github.com/ydli-ai/CSL. Specialists = synthetic researchers, each made of three
  papers of one discipline (titles + author keywords); demands = title + abstract of
  other papers (no keywords); relevant = the researchers of the paper's discipline.

Deterministic: fixed seed, sorted inputs, numpy's frozen legacy RandomState stream.
Standard library and numpy only. See eval/public/README.md.

    python eval/public/build.py --gold PATH/goldstandard-reviewer-paper-match --csl PATH/CSL
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

SEED = 20240611
OUT = Path(__file__).resolve().parent

# --- English: Stelmakh et al. gold standard ------------------------------------------
EXPERTISE_THRESHOLD = 4.0  # 1-5 scale; >= 4 = "high expertise" (see README)
PROFILE_PAPERS = 20  # most recent own papers listed in a reviewer's profile
PROFILE_CHARS = 1500  # and no longer than this

# --- Chinese: CSL -------------------------------------------------------------------
PAPERS_PER_RESEARCHER = 3
RESEARCHERS_PER_DISCIPLINE = 3
MIN_DEMANDS_PER_DISCIPLINE = 3  # a discipline needs 3*3 profile papers + this many demands
MAX_DEMANDS_PER_DISCIPLINE = 10  # cap, so the big engineering disciplines do not dominate


def _clean(text: str | None) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def _write(name: str, specialists: list[dict], demands: list[dict], labels: list[dict]) -> None:
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    for stem, rows in (("specialists", specialists), ("demands", demands), ("labels", labels)):
        with (folder / f"{stem}.jsonl").open("w", encoding="utf-8", newline="\n") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{name}: {len(specialists)} specialists, {len(demands)} demands, {len(labels)} labels")


def build_stelmakh(root: Path) -> None:
    data = root / "data"
    ratings: dict[str, dict[str, float]] = defaultdict(dict)  # paper -> participant -> expertise
    with (data / "evaluations.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            for i in range(1, 11):
                cell, value = row.get(f"Paper{i}") or "", row.get(f"Expertise{i}") or ""
                if cell.strip() and value.strip():
                    ratings[cell.strip()][row["ParticipantID"].strip()] = float(value)

    def load_paper(paper_id: str) -> dict[str, Any]:
        return json.loads((data / "papers" / f"{paper_id}.json").read_text(encoding="utf-8"))

    rated = set(ratings)
    specialists = []
    for path in sorted((data / "participants").glob("*.json")):
        person = json.loads(path.read_text(encoding="utf-8"))
        own = []
        for entry in person["papers"]:
            pid = entry["paperId"]
            # A rated paper never enters any profile (31 rated papers are in someone's profile).
            if pid in rated or not (data / "papers" / f"{pid}.json").exists():
                continue
            record = load_paper(pid)
            title = _clean(record.get("title"))
            if title:
                own.append((-(record.get("year") or 0), pid, title))
        titles: list[str] = []
        length = 0
        for _, _, title in sorted(own)[:PROFILE_PAPERS]:
            if titles and length + len(title) + 2 > PROFILE_CHARS:
                break
            titles.append(title)
            length += len(title) + 2
        specialists.append(
            {
                "id": f"ss{person['authorId']}",
                "name": "",
                "expertise": "; ".join(titles),
                "keywords": [],
                "institution": "",
                "city": "",
            }
        )

    demands, labels = [], []
    for pid in sorted(rated):
        high = [
            (-value, who) for who, value in ratings[pid].items() if value >= EXPERTISE_THRESHOLD
        ]
        if not high:
            continue
        record = load_paper(pid)
        demands.append(
            {
                "id": f"p{pid}",
                "title": _clean(record.get("title")),
                "description": _clean(record.get("abstract")),
                "keywords": [],
                "city": "",
            }
        )
        labels.append(
            {
                "demand_id": f"p{pid}",
                "relevant": [f"ss{who}" for _, who in sorted(high)],
                "grades": {f"ss{who}": -neg for neg, who in sorted(high)},
            }
        )
    _write("stelmakh2023", specialists, demands, labels)


def _tsv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8") as handle:
        return [line.rstrip("\n").split("\t") for line in handle if line.strip()]


def build_csl(root: Path) -> None:
    bench = root / "benchmark"
    papers: list[dict[str, Any]] = []  # the four tasks share one split, row by row: join them
    for split in ("dev", "test"):
        ctg, dcp = (
            _tsv(bench / "cls_ctg" / f"{split}.tsv"),
            _tsv(bench / "cls_dcp" / f"{split}.tsv"),
        )
        kg, ts = _tsv(bench / "kg" / f"{split}.tsv"), _tsv(bench / "ts" / f"{split}.tsv")
        if not len(ctg) == len(dcp) == len(kg) == len(ts):
            raise SystemExit(f"CSL {split}: task files differ in length")
        for row, (c, d, k, t) in enumerate(zip(ctg, dcp, kg, ts, strict=True)):
            title, abstract = c[1], d[1]
            if t[1] != abstract or t[2] != title or not k[1].startswith(abstract):
                raise SystemExit(f"CSL {split} row {row}: tasks are not aligned")
            papers.append(
                {
                    "id": f"csl-{split}-{row:04d}",
                    "title": _clean(title),
                    "abstract": _clean(abstract),
                    "keywords": [w.strip() for w in k[2].split("_") if w.strip()],
                    "discipline": d[2].strip(),
                    "category": c[2].strip(),
                }
            )

    rng = np.random.RandomState(SEED)
    by_discipline: dict[str, list[dict]] = defaultdict(list)
    for item in papers:
        by_discipline[item["discipline"]].append(item)
    needed = PAPERS_PER_RESEARCHER * RESEARCHERS_PER_DISCIPLINE + MIN_DEMANDS_PER_DISCIPLINE

    researchers: list[tuple[str, list[dict]]] = []  # (discipline, papers)
    held_out: list[dict] = []
    for discipline in sorted(by_discipline):
        pool = by_discipline[discipline]
        pool = [pool[i] for i in rng.permutation(len(pool))]
        # Small disciplines (< needed papers) give only distractor researchers, no demands.
        count = (
            RESEARCHERS_PER_DISCIPLINE
            if len(pool) >= needed
            else len(pool) // PAPERS_PER_RESEARCHER
        )
        count = min(count, RESEARCHERS_PER_DISCIPLINE)
        for r in range(count):
            researchers.append(
                (discipline, pool[r * PAPERS_PER_RESEARCHER : (r + 1) * PAPERS_PER_RESEARCHER])
            )
        if len(pool) >= needed:
            held_out.extend(pool[count * PAPERS_PER_RESEARCHER :][:MAX_DEMANDS_PER_DISCIPLINE])

    # Shuffle the researchers so ids carry no discipline order.
    researchers = [researchers[i] for i in rng.permutation(len(researchers))]
    specialists, members = [], defaultdict(list)
    profile_ids = set()
    for number, (discipline, own) in enumerate(researchers, start=1):
        sid = f"r{number:03d}"
        members[discipline].append(sid)
        keywords: list[str] = []
        for item in own:
            profile_ids.add(item["id"])
            keywords.extend(w for w in item["keywords"] if w not in keywords)
        specialists.append(
            {
                "id": sid,
                "name": "",
                "expertise": "；".join(item["title"] for item in own),
                "keywords": keywords,
                "institution": "",
                "city": "",
            }
        )

    held_out.sort(key=lambda item: item["id"])
    demands, labels = [], []
    for item in held_out:
        assert item["id"] not in profile_ids
        demands.append(
            {
                "id": item["id"],
                "title": item["title"],
                "description": item["abstract"],
                "keywords": [],
                "city": "",
            }
        )
        relevant = sorted(members[item["discipline"]])
        labels.append(
            {
                "demand_id": item["id"],
                "relevant": relevant,
                "grades": dict.fromkeys(relevant, 1),
                "discipline": item["discipline"],
            }
        )
    _write("csl_discipline", specialists, demands, labels)
    disciplines = {discipline: sorted(ids) for discipline, ids in sorted(members.items())}
    (OUT / "csl_discipline" / "researcher_disciplines.json").write_text(
        json.dumps(disciplines, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Build eval/public/ sets from fetched raw data.")
    parser.add_argument(
        "--gold", type=Path, help="checkout of niharshah/goldstandard-reviewer-paper-match"
    )
    parser.add_argument("--csl", type=Path, help="checkout of ydli-ai/CSL")
    args = parser.parse_args(argv)
    if not args.gold and not args.csl:
        parser.error("give --gold and/or --csl")
    if args.gold:
        build_stelmakh(args.gold)
    if args.csl:
        build_csl(args.csl)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
