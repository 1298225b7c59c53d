"""A question that takes a typed value and offers buttons takes a button's words, too:
"半年" for "半年（至 2027-06-10）", "从现在开始" on the start date."""

from __future__ import annotations

import asyncio
import datetime as dt
from types import SimpleNamespace
from typing import Any, cast

import pytest

from handlers import specialist
from handlers.actor import Actor
from handlers.core.chat import Chat
from handlers.form import Option, _typed_value
from handlers.i18n import Catalogs
from handlers.validators import Invalid

CATALOGS = Catalogs.load("zh_CN")
TODAY = dt.date(2026, 12, 8)


def _field(name: str) -> Any:
    return next(f for f in specialist.FIELDS if f.name == name)


def _read(name: str, typed: str, draft: dict[str, Any]) -> Any:
    actor = SimpleNamespace(
        locale="zh_CN",
        t=lambda msgid, **params: CATALOGS.translate("zh_CN", msgid, **params),
        services=SimpleNamespace(today=lambda: TODAY),
    )
    chat = SimpleNamespace(contact=None, text=typed)
    return asyncio.run(_typed_value(_field(name), cast(Chat, chat), cast(Actor, actor), draft))


@pytest.mark.parametrize(
    ("typed", "until"),
    [("半年", "2027-06-10"), ("1年", "2027-12-10"), ("3个月", "2027-03-10")],
)
def test_a_period_typed_as_its_button(typed: str, until: str) -> None:
    found = _read("available_to", typed, {"available_from": "2026-12-10"})
    assert isinstance(found, Option) and found.value == until


def test_a_date_typed_is_still_a_date() -> None:
    assert _read("available_to", "2027-05-01", {"available_from": "2026-12-10"}) == "2027-05-01"


def test_from_now_typed() -> None:
    found = _read("available_from", "从现在开始", {})
    assert isinstance(found, Option) and found.value == TODAY.isoformat()


def test_other_words_still_say_how_to_type_a_date() -> None:
    with pytest.raises(Invalid) as refused:
        _read("available_to", "以后再说", {"available_from": "2026-12-10"})
    assert refused.value.msgid == "invalid.date"


def test_a_number_typed_is_the_number_not_a_button_it_contains() -> None:
    assert _read("days_per_month", "20", {}) == "20"


@pytest.mark.parametrize(("name", "typed"), [("capacity", "11"), ("days_per_month", "32")])
def test_a_number_out_of_range_is_refused_not_read_as_a_button(name: str, typed: str) -> None:
    with pytest.raises(Invalid):
        _read(name, typed, {})
