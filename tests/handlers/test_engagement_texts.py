"""Message ids the engagement flows build from codes exist in every locale, every code has a
label, and the small parsers of /log and /voucher read what people type."""

from __future__ import annotations

import pytest

from handlers import completion, engagement_checkins, engagements
from handlers.engagement_views import (
    CANCEL_REASONS,
    LOG_STATUSES,
    MODES,
    OUTCOMES,
    RESULTS,
    STATUSES,
    number,
    yuan,
)
from handlers.i18n import SUPPORTED_LOCALES, read_catalogs
from handlers.validators import Invalid
from handlers.vouchers import parse_amount
from handlers.worklog import parse_hours
from storage import engagements as stored
from storage.models import EngagementStatus, WorkLogStatus

MAPPED = [CANCEL_REASONS, LOG_STATUSES, MODES, OUTCOMES, RESULTS, STATUSES]
MAPPED += [engagements.NONE_YET, engagements.TOLD_CANCELLED]
MAPPED += [completion.TOLD_PROPOSED, completion.DONE_ANSWER]
MAPPED += [engagement_checkins.ANSWERS, engagement_checkins.NOTED]


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_ids_built_from_codes_are_translated(locale: str) -> None:
    ids = {msgid for mapping in MAPPED for msgid in mapping.values()}
    missing = ids - set(read_catalogs()[locale])
    assert not missing, f"{locale} lacks {sorted(missing)}"


def test_every_code_has_a_label() -> None:
    assert set(STATUSES) == {status.value for status in EngagementStatus}
    assert set(LOG_STATUSES) == {status.value for status in WorkLogStatus}
    assert set(CANCEL_REASONS) == set(stored.CANCEL_REASONS)
    assert set(OUTCOMES) == set(stored.OUTCOMES)
    assert set(RESULTS) == set(stored.RESULTS)
    assert set(MODES) == set(stored.WORK_MODES)
    assert set(engagement_checkins.ANSWERS) == set(stored.CHECKIN_ANSWERS)


@pytest.mark.parametrize(
    ("typed", "hours"),
    [("3", "3"), ("2.5", "2.5"), ("1,5", "1.5"), ("３小时", "3"), ("0.5 h", "0.5"), ("24", "24")],
)
def test_hours_as_typed(typed: str, hours: str) -> None:
    assert parse_hours(typed, None, {}) == hours  # type: ignore[arg-type]


@pytest.mark.parametrize("typed", ["0", "0.25", "24.5", "2.3", "两小时", "-1", "1e1"])
def test_hours_refused(typed: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_hours(typed, None, {})  # type: ignore[arg-type]
    assert refused.value.msgid == "log.invalid_hours"


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("20000", 20_000),
        ("20,000", 20_000),
        ("20 000", 20_000),
        ("¥20000", 20_000),
        ("２万", 20_000),
        ("2.5万元", 25_000),
        ("8000元", 8_000),
    ],
)
def test_amounts_as_typed(typed: str, amount: int) -> None:
    assert parse_amount(typed) == amount


@pytest.mark.parametrize(
    "typed", ["0", "两万", "20000.5", "10000001", "2,00", "-5", "9" * 400, "1.5e3"]
)
def test_amounts_refused(typed: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_amount(typed)
    assert refused.value.msgid == "voucher.invalid_amount"


def test_numbers_read_as_people_write_them() -> None:
    assert [number(3.0), number(3.5), number(3.5 / 8), yuan(1_234_567)] == [
        "3",
        "3.5",
        "0.44",
        "1,234,567",
    ]
