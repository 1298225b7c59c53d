"""What the engine needs to know about disciplines and cities, as plain functions.

The engine takes these as arguments so tests and the CLI can run without the
taxonomy files; ``from_taxonomy`` wires the shipped data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from matching.text import normalise


def _no_names(_code: str) -> Sequence[str]:
    return ()


def _no_province(_code: str) -> bool:
    return False


def _written_city(name: str) -> str | None:
    return normalise(name).removesuffix("市") or None


@dataclass(frozen=True, slots=True)
class Lookups:
    """discipline_names: a code's names (both languages) to match on;
    city_code: one code for a city however written; in_liaoning: is a city code in Liaoning."""

    discipline_names: Callable[[str], Sequence[str]] = _no_names
    city_code: Callable[[str], str | None] = _written_city
    in_liaoning: Callable[[str], bool] = _no_province


def from_taxonomy() -> Lookups:
    """Lookups backed by matching/data (disciplines and Liaoning's cities)."""
    from matching import taxonomy  # loads the data files on first use only

    liaoning = {city.code for city in taxonomy.cities()}

    def discipline_names(code: str) -> Sequence[str]:
        found = taxonomy.discipline(code)
        return () if found is None else (found.zh, found.en)

    def city_code(name: str) -> str | None:
        found = taxonomy.city_by_name(name)
        return found.code if found is not None else _written_city(name)

    return Lookups(discipline_names, city_code, liaoning.__contains__)
