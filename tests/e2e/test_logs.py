"""The log of a whole journey (an enterprise registers and files a demand, a specialist
registers and is approved) holds none of the phones, names or texts people typed: at INFO
from any logger, at DEBUG from the bot's own code.

Logging is set up as `python -m bot` sets it up (bot.__main__.configure_logging), so what
third-party libraries would log at INFO (SQL with its parameters, request URLs) is counted.
Third-party DEBUG records are not: python-telegram-bot logs whole API payloads at DEBUG,
which is why production runs at INFO (LOG_LEVEL).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.__main__ import configure_logging
from tests.e2e.conftest import COORDINATOR_ID, Journey
from tests.people import get_user

OURS = ("bot", "handlers", "storage", "matching")
NOT_OURS = (
    "channels.telegram.emulator",
)  # the emulator plays Telegram: it may log what Telegram sees
TYPED = {
    "Telegram first names": ("王工程师", "Alice"),
    "enterprise": ("鞍山精工钢构有限公司", "91210300MA0UQ0XX1W", "刘德明"),
    "phones": ("13800138000", "15112345678"),
    "specialist": ("Alice Martin", "Friction stir welding of aluminium ship panels"),
    "demand": ("焊缝经常开裂", "钢结构件焊接后焊缝经常出现裂纹", "裂纹率降到1%以下"),
}
DESCRIPTION = "钢结构件焊接后焊缝经常出现裂纹，返修率高，想找专家分析原因并改进焊接工艺。"


@pytest.fixture
def production_logging() -> Iterator[None]:
    """The bot's logging set-up for this test only (it sets third-party loggers' levels)."""
    touched = ("httpx", "httpcore", "alembic")
    levels = {name: logging.getLogger(name).level for name in touched}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


async def journey_of_both_sides(j: Journey) -> None:
    boss = j.user(COORDINATOR_ID, "协调员")
    await j.send(boss, "/help")
    wang = j.user(5701, "王工程师", "zh-hans")
    await j.send(wang, "/start enterprise")
    await j.press(wang, "✅ 同意")
    await j.press(wang, "中文")
    await j.send(wang, "鞍山精工钢构有限公司")
    await j.send(wang, "91210300MA0UQ0XX1W")
    await j.press(wang, "鞍山")
    [suggestions] = await j.send(wang, "钢铁")
    await j.press(wang, suggestions.buttons[0])
    await j.press(wang, "小型")
    await j.send(wang, "刘德明")
    await j.share_contact(wang, "13800138000")
    await j.press(wang, "✅ 确认提交")
    await j.send(wang, "/new_demand")
    await j.send(wang, "焊缝经常开裂")
    await j.send(wang, DESCRIPTION)
    await j.press(wang, "🔧 技术难题")
    await j.send(wang, "焊接")
    await j.press(wang, "✔ 选好了")
    await j.press(wang, "跳过")
    await j.press(wang, "都可以")
    await j.press(wang, "一般（三个月内）")
    await j.press(wang, "尽快")
    await j.send(wang, "裂纹率降到1%以下")
    await j.press(wang, "暂不需要")
    [*_, filed] = await j.press(wang, "✅ 确认提交")
    assert filed.text.startswith("✅ 需求“焊缝经常开裂”已发布。")

    alice = j.user(5702, "Alice", "en")
    await j.send(alice, "/start specialist")
    await j.press(alice, "✅ I agree")
    await j.press(alice, "English")
    await j.send(alice, "Alice Martin")
    await j.send(alice, "Dalian University of Technology")
    await j.press(alice, "University")
    await j.press(alice, "Abroad")
    await j.send(alice, "Visiting scholar")
    await j.send(alice, "welding")
    await j.press(alice, "✔ Done")
    await j.send(alice, "Friction stir welding of aluminium ship panels; residual stress.")
    await j.send(alice, "friction stir welding, aluminium, residual stress")
    await j.press(alice, "Skip")
    await j.press(alice, "🌐 Remote only")
    await j.send(alice, "3")
    await j.send(alice, "2026-04-01")
    await j.press(alice, "6 months (until 2026-10-01)")
    await j.press(alice, "1")
    await j.send(alice, "+49 151 1234 5678")
    [*_, submitted] = await j.press(alice, "✅ Confirm")
    assert submitted.text.startswith("✅ Submitted.")
    await j.press(boss, "✅ 通过")
    stored = await get_user(db=j.db, telegram_id=5702)
    assert stored is not None and stored.consent_at is not None


def leaks(records: list[logging.LogRecord]) -> list[tuple[str, str, str]]:
    found = []
    for record in records:
        ours = record.name.startswith(OURS) and not record.name.startswith(NOT_OURS)
        if record.levelno < logging.INFO and not ours:
            continue
        text = record.getMessage() + (record.exc_text or "")
        for kind, needles in TYPED.items():
            found += [(record.name, kind, needle) for needle in needles if needle in text]
    return found


@pytest.mark.parametrize("level", ["DEBUG", "INFO"])
@pytest.mark.telegram_only
async def test_a_whole_journey_logs_no_personal_data(
    journey: Journey,
    caplog: pytest.LogCaptureFixture,
    production_logging: None,
    level: str,
) -> None:
    configure_logging(level)
    caplog.set_level(level)
    await journey_of_both_sides(journey)
    records = caplog.records
    assert {r.name for r in records} >= ({"telegram.Bot"} if level == "DEBUG" else set())
    assert records  # the journey was logged at all
    assert leaks(records) == []
    # The check itself can fail: a record carrying a phone is found.
    probe = logging.makeLogRecord({"name": "handlers.x", "levelno": 20, "msg": "13800138000"})
    assert leaks([probe]) == [("handlers.x", "phones", "13800138000")]
