"""`python -m bot match-eval`: rank specialists for demands from JSON Lines, offline.

Ranking only: no rules, capacities or database, so the engine can be measured
on its own. Input lines (fields may be missing or empty):
  specialist {"id", "name", "expertise", "keywords": [...], "institution", "city"}
  demand     {"id", "title", "description", "keywords": [...], "city"}
Output, one line per demand, in input order:
  {"demand_id", "candidates": [{"specialist_id", "score", "reasons": [...], "below_floor"}]}
``below_floor``: the pair lacks subject evidence, so a round would not propose it.
Demands are ranked in one batch, and all demands count in how common a word is.
With the semantic channel (MATCH_EMBEDDINGS, default e5) every text is embedded
first: about 0.06 s a short text and 0.3 s an abstract on 2 cores.
A broken line or a missing id is reported on stderr with file and line; exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from handlers.i18n import SUPPORTED_LOCALES, read_catalogs
from matching import semantic
from matching.explain import render
from matching.index import SpecialistIndex
from matching.types import DemandProfile, Reason, SpecialistProfile

T = TypeVar("T")


class InputError(Exception):
    """A line of an input file that cannot be used; the message names file and line."""


def _text(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    return "" if value is None else str(value)


def _words(record: dict[str, Any], name: str) -> tuple[str, ...]:
    value = record.get(name)
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    if not isinstance(value, list):
        raise ValueError(f"{name} must be a list of strings")
    return tuple(str(item) for item in value if item is not None and str(item).strip())


def specialist_from(record: dict[str, Any]) -> SpecialistProfile:
    """A specialist of the CLI contract (city is where they are based)."""
    return SpecialistProfile(
        id=_text(record, "id"),
        name=_text(record, "name"),
        expertise=_text(record, "expertise"),
        keywords=_words(record, "keywords"),
        institution=_text(record, "institution"),
        city=_text(record, "city"),
    )


def demand_from(record: dict[str, Any]) -> DemandProfile:
    """A demand of the CLI contract."""
    return DemandProfile(
        id=_text(record, "id"),
        title=_text(record, "title"),
        description=_text(record, "description"),
        keywords=_words(record, "keywords"),
        city=_text(record, "city"),
    )


def read_jsonl(path: Path, parse: Callable[[dict[str, Any]], T]) -> list[T]:
    """Parse every non-blank line; InputError names the file and line of the first bad one."""
    return list(_read(path, parse))


def _read(path: Path, parse: Callable[[dict[str, Any]], T]) -> Iterator[T]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read: {error}") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            if record.get("id") in (None, ""):
                raise ValueError('missing "id"')
            yield parse(record)
        except ValueError as error:
            raise InputError(f"{path}:{number}: {error}") from error


def _arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot match-eval", description="Rank specialists for demands (JSON Lines)."
    )
    parser.add_argument("--specialists", type=Path, required=True)
    parser.add_argument("--demands", type=Path, required=True)
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--locale", choices=SUPPORTED_LOCALES, default="zh_CN")
    parser.add_argument(
        "--embeddings",
        default=os.environ.get("MATCH_EMBEDDINGS", "e5"),
        help="the semantic channel: e5 (default, MATCH_EMBEDDINGS), a model file, or off",
    )
    return parser.parse_args(argv)


def reason_texts(reasons: Sequence[Reason], locale: str) -> list[str]:
    """Reasons as sentences of the locale's PO catalog (plain text, not HTML)."""
    catalog = read_catalogs()[locale]
    texts = []
    for reason in reasons:
        msgid, params = render(reason, locale)
        template = catalog[msgid]
        assert isinstance(template, str), f"{msgid} counts nothing, so has one form"
        texts.append(template.format(**params))
    return texts


def main(argv: list[str]) -> int:
    """Run the CLI; returns the exit status (2 for bad input)."""
    args = _arguments(argv)
    try:
        specialists = read_jsonl(args.specialists, specialist_from)
        demands = read_jsonl(args.demands, demand_from)
    except InputError as error:
        print(f"match-eval: {error}", file=sys.stderr)
        return 2
    index = SpecialistIndex.build(
        specialists, background=demands, embedder=semantic.load(args.embeddings)
    )
    out = sys.stdout
    for demand, candidates in zip(
        demands, index.rank_all(demands, top=max(args.top, 0)), strict=True
    ):
        line = {
            "demand_id": demand.id,
            "candidates": [
                {
                    "specialist_id": candidate.specialist_id,
                    "score": candidate.score,
                    "reasons": reason_texts(candidate.reasons, args.locale),
                    "below_floor": not candidate.evident,
                }
                for candidate in candidates
            ],
        }
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
