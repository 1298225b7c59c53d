"""Reasons a person understands, as data: which terms, fields and places a pair shares.

The engine names what matched (焊接, 无损检测; a discipline code; a city) and
leaves the sentence to the PO catalogs, so the same reason reads right in
Chinese and in English. A term that the glossary knows is shown as the
glossary's canonical term in the reader's language (an English reader sees
"welding" where the demand said 焊接); other terms are shown as written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

from rapidfuzz import fuzz

from matching.concepts import Concept
from matching.fuzzy import usable
from matching.generic import is_generic
from matching.lookups import Lookups
from matching.text import WORD, english_tokens, normalise
from matching.types import DemandProfile, Reason, SpecialistProfile

MAX_TERMS = 4
KEYWORD_SEEN = 90.0
"""partial_ratio from which a specialist's keyword counts as written in the demand."""


def _shared_phrases(demand: str, profile: str) -> list[str]:
    """Maximal runs of two or more Chinese characters that both texts contain."""
    found: list[str] = []
    i = 0
    while i < len(demand) - 1:
        length = 1
        while (
            i + length < len(demand)
            and "\u3400" <= demand[i + length] <= "\u9fff"
            and demand[i : i + length + 1] in profile
        ):
            length += 1
        if length >= 2 and "\u3400" <= demand[i] <= "\u9fff":
            found.append(demand[i : i + length])
            i += length
        else:
            i += 1
    return sorted(set(found), key=lambda phrase: (-len(phrase), demand.index(phrase)))


def _shared_words(demand: str, profile: str) -> list[str]:
    """English content words of the demand whose stem the profile uses, as the demand wrote them."""
    theirs = {stem for stem, _ in english_tokens(profile)}
    return list(
        dict.fromkeys(
            word
            for word in WORD.findall(demand)
            if (t := english_tokens(word)) and t[0][0] in theirs
        )
    )


class Explainer:
    """Builds the reasons of a (demand, specialist) pair."""

    def __init__(self, glossary: Sequence[Concept], lookups: Lookups) -> None:
        self.glossary = glossary
        self.city_code = lookups.city_code
        self.in_liaoning = lookups.in_liaoning

    def reasons(
        self,
        demand: DemandProfile,
        text: str,
        profile: SpecialistProfile,
        concepts: Sequence[int],
    ) -> tuple[Reason, ...]:
        """Shared terms, fields, then where the specialist works relative to the demand.

        ``concepts`` are the glossary concepts both sides name, most telling first
        (the index knows them from its vectors).
        """
        reasons = []
        if terms := self.shared_terms(text, profile, concepts):
            reasons.append(Reason("terms", tuple(terms)))
        fields = tuple(code for code in demand.fields if code in profile.disciplines)
        if fields:
            reasons.append(Reason("field", fields))
        reasons.extend(self.place_reasons(demand, profile))
        return tuple(reasons)

    def shared_terms(
        self, text: str, profile: SpecialistProfile, concepts: Sequence[int]
    ) -> list[str]:
        """Shared glossary concepts, then the specialist's keywords the demand contains
        (Latin ones allowing a typo), then (if nothing else) phrases or words both use;
        never a generic word (优化, 工艺, process): it is no reason to meet."""
        profile_text = "。".join((*profile.keywords, profile.expertise))
        terms = [self.canonical(concept) for concept in concepts]
        normalised = normalise(text)
        for keyword in profile.keywords:
            wording = normalise(keyword)
            seen = wording in normalised or (
                usable(wording) and fuzz.partial_ratio(wording, normalised) >= KEYWORD_SEEN
            )
            if (
                seen
                and len(wording) >= 2
                and not any(
                    wording in normalise(term) or normalise(term) in wording for term in terms
                )
            ):
                terms.append(keyword)
        if not terms:
            terms = _shared_phrases(normalised, normalise(profile_text))
        if not terms:
            terms = _shared_words(normalised, normalise(profile_text))
        return [term for term in terms if not is_generic(term)][:MAX_TERMS]

    def canonical(self, concept: int) -> str:
        """The concept's canonical term: Chinese if it has one (rendering translates)."""
        entry = self.glossary[concept]
        return (entry.zh or entry.en)[0]

    def place_reasons(self, demand: DemandProfile, profile: SpecialistProfile) -> list[Reason]:
        """Serves the demand's city, same city, works remotely, Liaoning institution."""
        reasons = []
        city = self.city_code(demand.city) if demand.city else None
        own = self.city_code(profile.city) if profile.city else None
        served = {self.city_code(name) for name in profile.cities_served}
        if city is not None and city in served:
            reasons.append(Reason("city", (demand.city,)))
        elif city is not None and city == own:
            reasons.append(Reason("same_city", (demand.city,)))
        if demand.mode != "onsite" and profile.remote:
            reasons.append(Reason("remote"))
        if own is not None and self.in_liaoning(own):
            reasons.append(Reason("local", (profile.city,)))
        return reasons


class Wording:
    """Names in the reader's language: glossary terms, disciplines and cities."""

    def __init__(
        self,
        glossary: Sequence[Concept],
        field_name: Callable[[str, str], str] = lambda code, _locale: code,
        city_name: Callable[[str, str], str] = lambda name, _locale: name,
    ) -> None:
        self.terms: dict[str, Concept] = {}
        for concept in glossary:
            for term in (*concept.zh, *concept.en):
                self.terms.setdefault(normalise(term), concept)
        self.field_name = field_name
        self.city_name = city_name

    def term(self, term: str, locale: str) -> str:
        """The glossary's canonical term in the locale's language, else the term as written."""
        concept = self.terms.get(normalise(term))
        if concept is None:
            return term
        preferred = concept.zh if locale.startswith("zh") else concept.en
        return (preferred or concept.zh or concept.en)[0]


@cache
def shipped_wording() -> Wording:
    """Wording from the shipped glossary and taxonomy."""
    from matching import taxonomy  # loads the data files on first use only

    def field_name(code: str, locale: str) -> str:
        found = taxonomy.discipline(code)
        if found is None:
            return code
        return found.zh if locale.startswith("zh") else found.en

    def city_name(name: str, locale: str) -> str:
        found = taxonomy.city_by_name(name)
        if found is None:
            return name
        return found.zh if locale.startswith("zh") else found.en

    return Wording(taxonomy.glossary(), field_name, city_name)


def render(
    reason: Reason, locale: str, wording: Wording | None = None
) -> tuple[str, dict[str, str]]:
    """The PO message id of a reason and its placeholders' values in the locale."""
    words = wording or shipped_wording()
    separator = "、" if locale.startswith("zh") else ", "
    if reason.kind == "terms":
        terms = dict.fromkeys(words.term(term, locale) for term in reason.values)
        return "reason.terms", {"terms": separator.join(terms)}
    if reason.kind == "field":
        names = (words.field_name(code, locale) for code in reason.values)
        return "reason.field", {"fields": separator.join(names)}
    if reason.kind in ("remote", "meaning"):
        return f"reason.{reason.kind}", {}
    city = words.city_name(reason.values[0], locale) if reason.values else ""
    return f"reason.{reason.kind}", {"city": city}
