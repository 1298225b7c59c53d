"""PLACEMENT_TARGETS: "COUNT@YYYY-MM-DD,..." read into targets, earliest first; bad values
stop start-up with one line that names the variable."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.config import SettingsError, load_settings
from handlers.services import PlacementTarget


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLACEMENT_TARGETS", raising=False)


def test_targets_are_read_and_sorted_by_date() -> None:
    settings = load_settings(
        _env_file=None, placement_targets=" 1000@2026-12-31 , 300 @ 2026-06-30,"
    )
    assert settings.placement_targets == (
        PlacementTarget(300, dt.date(2026, 6, 30)),
        PlacementTarget(1000, dt.date(2026, 12, 31)),
    )
    assert load_settings(_env_file=None).placement_targets == ()
    assert load_settings(_env_file=None, placement_targets="").placement_targets == ()


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("300", "expected COUNT@YYYY-MM-DD items like 300@2026-06-30, got '300'"),
        ("300@30/06/2026", "expected COUNT@YYYY-MM-DD"),
        ("300@2026-02-30", "no such date: '2026-02-30'"),
        ("0@2026-06-30", "a target counts at least 1 placement"),
        ("300@2026-06-30,500@2026-06-30", "two targets for the same date"),
    ],
)
def test_bad_targets_are_explained(value: str, says: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(_env_file=None, placement_targets=value)
    assert str(raised.value).startswith("PLACEMENT_TARGETS: ")
    assert says in str(raised.value)
