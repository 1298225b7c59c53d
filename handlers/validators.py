"""Checks for what users type. Each returns the clean value or raises Invalid with a
message id that tells the user what to type instead."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata


class Invalid(Exception):
    """Input that cannot be accepted; msgid and params name what is accepted."""

    def __init__(self, msgid: str, **params: object) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params


def text_between(value: str, *, low: int, high: int) -> str:
    """Trimmed text of low..high characters, inner whitespace runs kept as typed."""
    text = value.strip()
    if not text:
        raise Invalid("invalid.empty")
    if len(text) < low:
        raise Invalid("invalid.too_short", low=low, length=len(text))
    if len(text) > high:
        raise Invalid("invalid.too_long", high=high, length=len(text))
    return text


_SEPARATORS = re.compile(r"[\s\-()（）]")
_CN_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")
_INTERNATIONAL = re.compile(r"^\+[1-9]\d{6,14}$")


def phone(value: str) -> str:
    """A mainland mobile (stored as +86...) or an international number in E.164 form."""
    compact = _SEPARATORS.sub("", value.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if match := _CN_MOBILE.match(compact):
        return "+86" + match.group(1)
    if _INTERNATIONAL.match(compact) and not compact.startswith("+86"):
        return compact
    raise Invalid("invalid.phone")


def integer_between(value: str, *, low: int, high: int) -> int:
    text = value.strip().translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if not re.fullmatch(r"\d{1,6}", text):
        raise Invalid("invalid.integer", low=low, high=high)
    number = int(text)
    if not low <= number <= high:
        raise Invalid("invalid.integer", low=low, high=high)
    return number


_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})(?:[-/.月](\d{1,2})日?)?月?$")


def date_on_or_after(value: str, *, earliest: dt.date) -> dt.date:
    """A date as 2026-05-01 (or 2026/5/1, 2026年5月1日); a bare month means its first day."""
    match = _DATE.match(value.strip().replace(" ", ""))
    example = earliest.isoformat()  # one that would be accepted
    if not match:
        raise Invalid("invalid.date", example=example)
    year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3) or 1)
    try:
        date = dt.date(year, month, day)
    except ValueError:
        raise Invalid("invalid.date", example=example) from None
    if date < earliest:
        raise Invalid("invalid.date_past", earliest=earliest.isoformat())
    return date


# GB 32100-2015: 18 characters from 31 (no I, O, S, V, Z); the last one is a check character,
# 31 minus the weighted sum of the first 17 (weights 3**i mod 31) mod 31.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))


def credit_code_check(body: str) -> str:
    """The check character of the first 17 characters of a unified social credit code."""
    total = sum(
        CREDIT_CODE_ALPHABET.index(char) * weight
        for char, weight in zip(body, _CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_ALPHABET[-total % 31]


def credit_code(value: str) -> str:
    """A unified social credit code, upper-cased, spaces and full-width forms undone."""
    code = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", value)).upper()
    if len(code) != 18:
        raise Invalid("invalid.credit_code_length", length=len(code))
    for position, char in enumerate(code, 1):
        if char not in CREDIT_CODE_ALPHABET:
            raise Invalid("invalid.credit_code_char", position=position, char=char)
    if credit_code_check(code[:17]) != code[17]:
        raise Invalid("invalid.credit_code_check")
    return code


_KEYWORD_SEPARATORS = re.compile(r"[,，、;；\n]+")


def keyword_list(value: str, *, most: int, longest: int) -> list[str]:
    """Keywords separated by commas, 、 or semicolons: distinct, each at most `longest` long."""
    words = list(
        dict.fromkeys(w for w in (w.strip() for w in _KEYWORD_SEPARATORS.split(value)) if w)
    )
    if not words:
        raise Invalid("invalid.empty")
    if too_long := next((w for w in words if len(w) > longest), None):
        raise Invalid("invalid.keyword_too_long", high=longest, keyword=too_long)
    if len(words) > most:
        raise Invalid("invalid.keywords_too_many", high=most, count=len(words))
    return words
