"""Reading what a journey's person sees where platforms draw the same view differently:
on WeCom, more choices than a card holds come as numbered lines under the text, typed back
(`Journey.choices` reads those lines)."""

from __future__ import annotations

from channels.telegram.emulator.models import SentMessage
from tests.e2e.conftest import Journey
from tests.e2e.wecom_people import NUMBERED


def body(j: Journey, message: SentMessage) -> str:
    """A message's text without its choices: on WeCom and Feishu, the text above the
    numbered lines that stand for buttons a card could not hold."""
    text = message.text
    if not j.numbers_choices or message.buttons or not j.choices(message):
        return text
    above, _, lines = text.rpartition("\n\n")
    assert all(NUMBERED.fullmatch(line) for line in lines.splitlines()), text
    return above


def whole(j: Journey, texts: list[SentMessage]) -> str:
    """A text as the person reads it where the platform may hold less in a message: on WeCom
    (2,048 bytes a message) its parts in order, line after line, none of them cut short by
    WeCom; elsewhere the one message it fits in."""
    if j.platform != "wecom":
        [text] = texts
        return text.text
    assert texts and all(m.kind == "text" for m in texts), texts
    assert not j.emulator.wecom.truncated, j.emulator.wecom.truncated
    return "\n".join(m.text for m in texts)
