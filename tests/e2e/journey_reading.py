"""Reading what a journey's person sees where platforms draw the same view differently:
on WeCom, more choices than a card holds come as numbered lines under the text, typed back."""

from __future__ import annotations

from channels.telegram.emulator.models import SentMessage
from tests.e2e.conftest import Journey
from tests.e2e.wecom_people import NUMBERED


def offered(j: Journey, message: SentMessage) -> list[str]:
    """The labels the person can choose on a message: its buttons; on WeCom, where a view
    had more buttons than a card holds, the labels of its numbered lines."""
    if message.buttons or j.platform != "wecom":
        return list(message.buttons)
    return [label for _, label in NUMBERED.findall(message.text)]


def body(j: Journey, message: SentMessage) -> str:
    """A message's text without its choices: on WeCom, the text above the numbered lines
    that stand for buttons a card could not hold."""
    text = message.text
    if j.platform != "wecom" or message.buttons or not offered(j, message):
        return text
    above, _, lines = text.rpartition("\n\n")
    assert all(NUMBERED.fullmatch(line) for line in lines.splitlines()), text
    return above
