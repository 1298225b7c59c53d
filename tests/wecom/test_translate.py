"""WeCom callbacks as the core's events: a click's id tells WeCom's retries from new clicks."""

from __future__ import annotations

from channels.wecom.translate import translate
from handlers.core.events import Press


def click(code: str, when: str = "1772413200") -> dict[str, str]:
    return {
        "ToUserName": "corp",
        "FromUserName": "7122",
        "CreateTime": when,
        "MsgType": "event",
        "Event": "template_card_event",
        "EventKey": "token-of-eng-open-1",
        "TaskId": "task-1",
        "ResponseCode": code,
        "AgentID": "1000002",
    }


def test_a_retried_click_keeps_its_id() -> None:
    first, retry = translate(click("code-a")), translate(click("code-a"))
    assert first is not None and retry is not None and first.id == retry.id


def test_the_same_button_clicked_again_within_the_second_is_a_new_click() -> None:
    """A card redrawn with a button of the same key (the list's "open" and the cancel
    question's "back" both open the engagement) and clicked in the same second."""
    first, again = translate(click("code-a")), translate(click("code-b"))
    assert first is not None and again is not None and first.id != again.id
    assert isinstance(again.body, Press) and again.body.handle == "code-b"
