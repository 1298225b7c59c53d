"""Dispatching units: the university or institute a specialist's school, department or lab
belongs to, read from the name as typed. Rewards and the coordinators' figures count units,
so "大连理工大学材料科学与工程学院" and "大连理工大学" are one.

Liaoning's universities and research institutes ship with the bot (data/institutions.json,
described in data/README.md): a fresh programme suggests real institutions from the first
registration, an English spelling of a listed one counts for the same unit, and each
reader sees a listed unit's name in their language.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pypinyin import lazy_pinyin
from rapidfuzz import fuzz

# The first that appears ends the unit's name, in this order: a university holds schools
# and institutes ("大连理工大学材料研究所"); an institute's name may hold an academy's
# ("中国科学院金属研究所" is the institute); a college is a unit of its own.
_ENDINGS = (("大学",), ("研究所", "研究院"), ("学院",))
_ENGLISH = ("university", "academy", "institute", "college")

# Short words people type for long ones in English names: "dalian univ of tech".
_ABBREVIATIONS = {
    "univ": "university",
    "uni": "university",
    "tech": "technology",
    "technol": "technology",
    "inst": "institute",
    "acad": "academy",
    "sci": "sciences",
    "med": "medical",
    "pharm": "pharmaceutical",
    "agr": "agricultural",
    "agri": "agricultural",
    "agric": "agricultural",
    "chem": "chemical",
    "eng": "engineering",
    "engg": "engineering",
    "natl": "national",
    "cas": "chinese academy of sciences",
    "caas": "chinese academy of agricultural sciences",
    "tcm": "traditional chinese medicine",
}
_OFFICIAL_CUTOFF = 85  # WRatio of an official name: as the stored spellings are compared
_SHORT_FORM_CUTOFF = 90  # a short form ("大工", "DUT") only as a whole, nearly exact
_SPREAD = 5  # below the best by more, a name is a neighbour's ("Dalian University"), not meant


@dataclass(frozen=True)
class Institution:
    """A university or research institute of Liaoning, by its official names."""

    zh: str
    en: str
    city: str  # a code of matching/data/cities.json
    type: str  # a code of the registration's institution types
    aliases: tuple[str, ...] = ()  # short forms and former names

    def name(self, locale: str | None) -> str:
        """The official name in a reader's language."""
        return self.en if (locale or "").startswith("en") else self.zh

    def spelled_like(self, typed: str) -> str:
        """The official name in the script the person typed in."""
        return self.zh if _has_han(typed) else self.en


def institution_key(name: str) -> str:
    """What two spellings of one institution share: width, case, spaces and punctuation aside."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(char for char in folded if char.isalnum())


def _has_han(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in text)


def _expanded(text: str) -> str:
    """English abbreviations written out: "Dalian Univ. of Tech." -> dalian university of
    technology."""
    words = re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(_ABBREVIATIONS.get(word, word) for word in words)


def _pinyin(text: str) -> str:
    """Toneless syllables: a homophone typed by pinyin input (大连里工大学) meets the name."""
    return "".join(lazy_pinyin(institution_key(text)))


@cache
def institutions() -> tuple[Institution, ...]:
    """The shipped list, in its order (universities first)."""
    path = Path(__file__).resolve().with_name("data") / "institutions.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    return tuple(
        Institution(i["zh"], i["en"], i["city"], i["type"], tuple(i.get("aliases") or ()))
        for i in raw
    )


@cache
def _by_key() -> dict[str, Institution]:
    return {
        institution_key(name): institution
        for institution in institutions()
        for name in (institution.zh, institution.en)
    }


@cache
def _compared() -> tuple[tuple[Institution, tuple[str, ...], tuple[str, ...], str], ...]:
    """Each institution with the keys a typed name is compared with: official names,
    short forms, the Chinese name's syllables."""
    return tuple(
        (
            i,
            (institution_key(i.zh), institution_key(i.en)),
            tuple(institution_key(alias) for alias in i.aliases),
            _pinyin(i.zh),
        )
        for i in institutions()
    )


def listed_institution(name: str) -> Institution | None:
    """The listed institution a name is an official name of (Chinese or English), if any."""
    return _by_key().get(institution_key(name))


def close_institutions(name: str, *, limit: int) -> list[Institution]:
    """Listed institutions a typed name may mean, the likeliest first: a misspelt or
    abbreviated official name, a homophone typed by pinyin input, or a short form."""
    typed = institution_key(name)
    expanded = institution_key(_expanded(name))
    syllables = _pinyin(name) if _has_han(name) else ""
    scored: list[tuple[float, int, Institution]] = []
    for order, (institution, officials, shorts, zh_syllables) in enumerate(_compared()):
        official = max(
            fuzz.WRatio(candidate, key) for key in officials for candidate in {typed, expanded}
        )
        short = max((fuzz.ratio(typed, key) for key in shorts), default=0.0)
        score = max(
            official if official >= _OFFICIAL_CUTOFF else 0.0,
            short if short >= _SHORT_FORM_CUTOFF else 0.0,
            100.0 if syllables == zh_syllables else 0.0,
        )
        if score:
            scored.append((-score, order, institution))
    scored.sort()
    best = -scored[0][0] if scored else 0.0
    return [i for score, _order, i in scored[:limit] if -score >= best - _SPREAD]


def _listed_in(text: str) -> Institution | None:
    """The listed institution whose English name a longer English name holds ("School of
    Materials, Dalian University of Technology"); the longest such name wins."""
    key = institution_key(_expanded(text))
    held = [i for i in institutions() if institution_key(i.en) in key]
    return max(held, key=lambda i: len(i.en)) if held else None


def dispatching_unit(name: str) -> str:
    """The unit a name belongs to (the name itself when it is one); a listed institution's
    unit is its Chinese official name, however it was spelled."""
    unit = unit_as_typed(name)
    listed = listed_institution(unit) or (None if _has_han(name) else _listed_in(name))
    return listed.zh if listed else unit


def unit_as_typed(name: str) -> str:
    """The unit's name as the name spells it: "大连理工大学" in "大连理工大学材料学院"."""
    text = name.strip()
    for endings in _ENDINGS:
        found = [i + len(e) for e in endings if (i := text.find(e)) > 0]
        if found:
            return text[: min(found)]
    parts = [part.strip() for part in re.split(r"[,，;；]", text) if part.strip()]
    if len(parts) > 1:  # "School of Materials, Dalian University of Technology"
        for word in _ENGLISH:
            for part in parts:
                if word in part.casefold():
                    return part
    return text


def unit_name(unit: str, locale: str | None) -> str:
    """A unit's name for a reader: a listed one in their language, others as spelled."""
    listed = listed_institution(unit)
    return listed.name(locale) if listed else unit
