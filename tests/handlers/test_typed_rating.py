"""A rating typed as its number is taken: the buttons are stars, which nobody types."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from handlers.actor import Actor
from handlers.completion import RATING, rating_options, typed_rating
from handlers.validators import Invalid

ACTOR = cast(Actor, SimpleNamespace(locale="zh_CN"))


@pytest.mark.parametrize(
    ("typed", "rating"),
    [("5", "5"), ("5分", "5"), (" 4 分 ", "4"), ("五星", "5"), ("三颗星", "3"), ("2 stars", "2")],
)
def test_a_rating_typed_as_its_number(typed: str, rating: str) -> None:
    assert typed_rating(typed, ACTOR, {}) == rating
    assert rating in {option.value for option in rating_options(ACTOR, {})}


@pytest.mark.parametrize("typed", ["6", "0", "很好", "55"])
def test_other_ratings_are_refused(typed: str) -> None:
    with pytest.raises(Invalid):
        typed_rating(typed, ACTOR, {})


def test_the_rating_question_reads_typed_numbers() -> None:
    parse: Any = RATING.parse
    assert parse is typed_rating
