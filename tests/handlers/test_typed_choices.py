"""A reply typed where the choices were drawn as numbered lines (WeCom, more buttons than a
card holds): a label, or a line's number, stands for its button."""

from __future__ import annotations

from handlers.core.capabilities import choice_for
from handlers.core.views import Button

CITIES = [Button("沈阳", "c:1"), Button("大连", "c:2"), Button("鞍山", "c:3")]
DAYS = [Button(str(n), f"d:{n}") for n in (1, 2, 4, 6, 8, 10)] + [Button("◀ 上一步", "back")]


def test_a_number_is_the_line_of_that_number() -> None:
    assert choice_for(CITIES, True, "3") == Button("鞍山", "c:3")
    assert choice_for(CITIES, True, "大连") == Button("大连", "c:2")
    assert choice_for(CITIES, False, "3") is None  # drawn as buttons: no numbers to type
    assert choice_for(CITIES, True, "4") is None  # no such line: the text goes to the flow


def test_where_labels_are_numbers_a_typed_number_is_the_value_meant() -> None:
    """The days question ("tap, or type 1–31"): 3 typed is three days, not the third
    line (4 days), and 4 is the button labelled 4."""
    assert choice_for(DAYS, True, "3") is None
    assert choice_for(DAYS, True, "4") == Button("4", "d:4")
    assert choice_for(DAYS, True, "◀ 上一步") == Button("◀ 上一步", "back")
