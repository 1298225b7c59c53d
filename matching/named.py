"""Fields an enterprise names ("请耐火材料方向的专家", "we need a tribology expert").

A demand that asks for a field is honoured: a specialist whose profile does
not have that field is no match for it, however many other words they share.
A field is had when the profile (with its disciplines' names) holds it, or at
least half of its character pairs that are not generic words (机器人控制 in
机器人感知与控制), or, in English, every content word of it. Where no
shortlisted specialist has it, the demand is read as if it named none: the
enterprise may have used a word (植保) that no profile writes that way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from matching.generic import GENERIC_ZH, is_generic
from matching.text import english_tokens, normalise

_ASK_ZH = re.compile(
    r"(?:请|找|需要|希望|想)(?:有|找|请)?(?:一位|一个|几位|个|位)?(?:懂)?"
    r"(?P<field>[\u4e00-\u9fffa-z0-9]{2,24}?)(?:两|几|多)?(?:方向|方面|领域|专业|行业)?的?"
    r"(?:专家|老师|教授|学者)"
)
_ASK_EN = re.compile(
    r"(?:need|want|looking for|seeking)\s+(?:an?\s+|some\s+)?"
    r"(?P<field>[a-z][a-z\- ]{2,40}?)\s+(?:expert|specialist|person|professor|scientist)s?\b"
)
_SPLIT = re.compile(r"[和与及或、,/]|\band\b|\bor\b")
_VAGUE = ("有", "这", "那", "相关", "专业", "经验")
"""Starts of what is not a field: 有经验的专家, 这方面的专家, 相关专家."""


def named_fields(wording: str) -> tuple[str, ...]:
    """The fields a demand's normalised text asks for by name, as written."""
    fields: list[str] = []
    for pattern in (_ASK_ZH, _ASK_EN):
        for found in pattern.finditer(wording):
            for part in _SPLIT.split(found["field"]):
                field = part.strip(" -的")
                if len(field) >= 2 and not field.startswith(_VAGUE) and not is_generic(field):
                    fields.append(field)
    return tuple(dict.fromkeys(fields))


@dataclass(frozen=True, slots=True)
class Profile:
    """A profile's normalised text, English stems and character pairs, read once for
    every field asked."""

    text: str
    stems: frozenset[str]
    pairs: frozenset[str]

    @staticmethod
    def of(text: str) -> Profile:
        wording = normalise(text)
        stems = frozenset(stem for stem, _ in english_tokens(wording))
        return Profile(wording, stems, frozenset(wording[i : i + 2] for i in range(len(wording))))


@dataclass(frozen=True, slots=True)
class Field:
    """A named field, read once: as written, its English stems, its specific pairs."""

    text: str
    stems: frozenset[str]
    pairs: frozenset[str]

    @staticmethod
    def of(field: str) -> Field:
        pairs = {field[i : i + 2] for i in range(len(field) - 1)} - set(GENERIC_ZH)
        stems = frozenset(stem for stem, _ in english_tokens(field))
        return Field(field, stems, frozenset(pairs))

    def in_profile(self, profile: Profile) -> bool:
        """Whether the profile has this field (see the module)."""
        if self.text in profile.text:
            return True
        if self.stems:
            return self.stems <= profile.stems
        found = len(self.pairs & profile.pairs)
        return bool(self.pairs) and found * 2 >= len(self.pairs)
