"""The checks behind every typed answer: what passes, how it is cleaned, and what it is told."""

from __future__ import annotations

import datetime as dt

import pytest

from handlers.validators import (
    CREDIT_CODE_ALPHABET,
    Invalid,
    credit_code,
    credit_code_check,
    date_on_or_after,
    keyword_list,
    phone,
    text_between,
)

# Well-formed codes: their last characters were computed with the GB 32100-2015 algorithm
# (weights 3**i mod 31). The first four have the form of codes companies publish (Shenzhen,
# Beijing); the last two were built for Shenyang (2101) and Dalian (2102) with MA... bodies.
VALID_CODES = [
    "914403001922038216",
    "91110108551385082Q",
    "9144030071526726XG",
    "91110000100017643K",
    "91210100MA0P4K0Y26",
    "91210200MA0QDCTU3L",
]


def invalid(call: object) -> Invalid:
    assert callable(call)
    with pytest.raises(Invalid) as caught:
        call()
    return caught.value


@pytest.mark.parametrize("code", VALID_CODES)
def test_valid_credit_codes_pass(code: str) -> None:
    assert credit_code(code) == code


def test_the_check_character_is_the_weighted_sum_rule() -> None:
    # 31 minus (sum of value*weight mod 31), with 31 meaning 0, for the Huawei code.
    body = "91440300192203821"
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    total = sum(CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(body, weights, strict=True))
    assert total % 31 == 25
    assert credit_code_check(body) == CREDIT_CODE_ALPHABET[31 - 25] == "6"


def test_credit_code_is_cleaned_before_checking() -> None:
    assert credit_code(" 9111 0108 5513-8508 2q ") == "91110108551385082Q"
    assert credit_code("９１１１０１０８５５１３８５０８２Ｑ") == "91110108551385082Q"  # full-width


def test_a_wrong_check_character_is_named_as_such() -> None:
    error = invalid(lambda: credit_code("91110108551385082R"))
    assert error.msgid == "invalid.credit_code_check"
    # one mistyped digit in the body is caught the same way
    assert invalid(lambda: credit_code("91110108551835082Q")).msgid == "invalid.credit_code_check"


def test_a_wrong_length_names_the_length() -> None:
    error = invalid(lambda: credit_code("9111010855138508"))
    assert (error.msgid, error.params) == ("invalid.credit_code_length", {"length": 16})


@pytest.mark.parametrize(("code", "position", "char"), [("O1110108551385082Q", 1, "O")])
def test_a_letter_the_code_never_uses_is_pointed_at(code: str, position: int, char: str) -> None:
    error = invalid(lambda: credit_code(code))
    assert error.msgid == "invalid.credit_code_char"
    assert error.params == {"position": position, "char": char}


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("0086 13800138000", "+8613800138000"),
        ("+49 151 12345678", "+4915112345678"),
    ],
)
def test_phone_numbers_are_stored_in_one_form(typed: str, stored: str) -> None:
    assert phone(typed) == stored


@pytest.mark.parametrize("typed", ["12345", "12800138000", "024-12345678", "+86 12345", "phone"])
def test_bad_phone_numbers_are_refused(typed: str) -> None:
    assert invalid(lambda: phone(typed)).msgid == "invalid.phone"


TODAY = dt.date(2026, 3, 2)


@pytest.mark.parametrize(
    ("typed", "date"),
    [
        ("2026-05-01", dt.date(2026, 5, 1)),
        ("2026/5/1", dt.date(2026, 5, 1)),
        ("2026年5月1日", dt.date(2026, 5, 1)),
        ("2026-05", dt.date(2026, 5, 1)),
        ("2026年5月", dt.date(2026, 5, 1)),
        ("2026-03-02", TODAY),
    ],
)
def test_dates_in_the_usual_forms(typed: str, date: dt.date) -> None:
    assert date_on_or_after(typed, earliest=TODAY) == date


def test_a_past_date_names_the_earliest() -> None:
    error = invalid(lambda: date_on_or_after("2026-03-01", earliest=TODAY))
    assert (error.msgid, error.params) == ("invalid.date_past", {"earliest": "2026-03-02"})


@pytest.mark.parametrize("typed", ["2026-02-30", "next week", "5/1", "2026-13-01"])
def test_impossible_dates_are_refused(typed: str) -> None:
    assert invalid(lambda: date_on_or_after(typed, earliest=TODAY)).msgid == "invalid.date"


def test_text_limits_are_named() -> None:
    assert text_between("  焊缝开裂  ", low=2, high=10) == "焊缝开裂"
    error = invalid(lambda: text_between("x" * 2001, low=20, high=2000))
    assert (error.msgid, error.params) == ("invalid.too_long", {"high": 2000, "length": 2001})
    assert invalid(lambda: text_between("   ", low=1, high=5)).msgid == "invalid.empty"


def test_keywords_split_on_commas_and_dunhao_and_drop_repeats() -> None:
    assert keyword_list("激光焊接、气孔， laser welding;气孔", most=10, longest=30) == [
        "激光焊接",
        "气孔",
        "laser welding",
    ]


def test_keyword_limits_are_named() -> None:
    error = invalid(lambda: keyword_list("a" * 31, most=10, longest=30))
    assert error.msgid == "invalid.keyword_too_long" and error.params["high"] == 30
    error = invalid(lambda: keyword_list(",".join("abcdefghijk"), most=10, longest=30))
    assert (error.msgid, error.params) == ("invalid.keywords_too_many", {"high": 10, "count": 11})
    assert invalid(lambda: keyword_list("、，", most=10, longest=30)).msgid == "invalid.empty"
