"""The terminal playground: a person types lines, the real bot answers through the emulator."""

from __future__ import annotations

import logging

import pytest

from bot.__main__ import configure_logging
from bot.playground import Console
from tests.e2e.conftest import Journey


@pytest.mark.telegram_only
async def test_console_chats_and_presses_numbered_buttons(
    journey: Journey, capsys: pytest.CaptureFixture[str]
) -> None:
    user = journey.user(1001, "企业用户")
    console = Console(journey.emulator, journey.bot, user)
    assert await console.handle("/start")
    shown = capsys.readouterr().out
    assert "[bot] 欢迎使用科技特派员对接服务" in shown and "#1 ✅ 同意" in shown
    assert await console.handle("#1")
    assert "#2 English" in capsys.readouterr().out
    assert await console.handle("#9")
    assert "buttons #1-#2" in capsys.readouterr().out
    assert not await console.handle(":quit")


@pytest.mark.telegram_only
async def test_the_token_never_reaches_the_log(
    journey: Journey, caplog: pytest.LogCaptureFixture
) -> None:
    configure_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    user = journey.user(1002, "Li", "en")
    await journey.send(user, "/start")
    await journey.press(user, "✅ I agree")
    assert caplog.records, "nothing was logged: the check below would prove nothing"
    assert journey.emulator.token not in caplog.text
