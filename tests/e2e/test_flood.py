"""A user sending more than 20 updates in 10 seconds gets one polite message; others carry on."""

from __future__ import annotations

import pytest

from handlers.flood import LIMIT, FloodGate
from tests.e2e.conftest import Journey


@pytest.fixture
def flood_limit() -> int:
    return LIMIT


async def test_a_flood_is_cut_with_one_message_and_others_are_served(journey: Journey) -> None:
    # Written in Chinese: WeCom tells the bot no language, and asking for English first
    # would be updates of the flood's own.
    flooder = journey.user(5001, "Flood", "zh-hans")
    calm = journey.user(5002, "Calm", "en")
    mark = journey.emulator.mark()
    # A command first: a newcomer's first words would open the conversation instead, and
    # typing during the welcome is answered differently from typing outside a dialogue.
    journey.emulator.send_message(flooder, "/help")
    for _ in range(29):
        journey.emulator.send_message(flooder, "hello")
    reactions = await journey.send(calm, "/help")
    assert len(reactions) == 1 and "/language" in reactions[0].text
    texts = [m.text for m in journey.reactions(flooder, mark)]
    assert len(texts) == 21
    assert texts.count("您发得太快了，请过几秒再试。") == 1
    assert texts[-1] == "您发得太快了，请过几秒再试。"


def test_the_gate_reopens_after_the_window() -> None:
    now = [0.0]
    gate = FloodGate(limit=3, window=10, now=lambda: now[0])
    assert [gate.admit("telegram:1") for _ in range(5)] == [True, True, True, None, False]
    assert gate.admit("telegram:2") is True  # another person is not affected
    now[0] = 10.5
    assert gate.admit("telegram:1") is True
    gate.forget_idle()
    now[0] = 30
    gate.forget_idle()
    assert gate.recent == {}
