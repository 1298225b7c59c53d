"""A user sending more than 20 updates in 10 seconds gets one polite message; others carry on."""

from __future__ import annotations

import pytest

from handlers.flood import LIMIT, FloodGate
from tests.e2e.conftest import Journey


@pytest.fixture
def flood_limit() -> int:
    return LIMIT


@pytest.mark.not_yet_on_wecom
async def test_a_flood_is_cut_with_one_message_and_others_are_served(journey: Journey) -> None:
    flooder = journey.user(5001, "Flood", "en")
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
    assert texts.count("You are sending too fast: please wait a few seconds and try again.") == 1
    assert texts[-1] == "You are sending too fast: please wait a few seconds and try again."


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
