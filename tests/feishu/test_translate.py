"""Feishu's events as the core's: what a person typed, clicked or sent, and what is ignored."""

from __future__ import annotations

import json
from typing import Any

import pytest

from channels.feishu.channel import CARD_BYTES, card_for
from channels.feishu.translate import NotAnEvent, translate
from handlers.core.events import Attachment, Command, Press, Text


def message(kind: str, content: dict[str, Any], **changes: Any) -> dict[str, Any]:
    event = {
        "sender": {"sender_id": {"open_id": "ou_abc"}, "sender_type": "user"},
        "message": {
            "message_id": "om_123",
            "chat_type": "p2p",
            "message_type": kind,
            "content": json.dumps(content, ensure_ascii=False),
        },
    }
    event["message"].update(changes)
    header = {"event_id": "e1", "event_type": "im.message.receive_v1"}
    return {"schema": "2.0", "header": header, "event": event}


def click(value: Any, event_id: str = "ev9") -> dict[str, Any]:
    event = {
        "operator": {"open_id": "ou_abc"},
        "action": {"value": value, "tag": "button"},
        "context": {"open_message_id": "om_card"},
    }
    header = {"event_id": event_id, "event_type": "card.action.trigger"}
    return {"schema": "2.0", "header": header, "event": event}


def test_a_text_is_deduplicated_on_its_message_id_not_the_event_id() -> None:
    first = translate(message("text", {"text": "我们需要焊接专家"}))
    again = translate(
        {
            **message("text", {"text": "我们需要焊接专家"}),
            "header": {"event_id": "e2", "event_type": "im.message.receive_v1"},
        }
    )
    assert first is not None and again is not None
    assert first.body == Text("我们需要焊接专家")
    assert first.id == again.id == "mom_123"
    assert first.sender.account == first.sender.address == "ou_abc"


def test_a_command_and_a_mention_are_read_as_typed() -> None:
    found = translate(message("text", {"text": "@_user_1 /start specialist"}))
    assert found is not None and found.body == Command("start", "specialist")


def test_rich_text_is_read_as_its_words() -> None:
    post = {
        "title": "需求",
        "content": [[{"tag": "text", "text": "耐火材料"}, {"tag": "a", "text": "链接"}]],
    }
    found = translate(message("post", {"zh_cn": post}))
    assert found is not None and found.body == Text("需求\n耐火材料链接")


def test_a_picture_is_an_attachment_and_a_group_message_is_ignored() -> None:
    photo = translate(message("image", {"image_key": "img_1"}))
    assert photo is not None and photo.body == Attachment("photo")
    assert translate(message("text", {"text": "hi"}, chat_type="group")) is None


def test_a_click_carries_the_token_its_card_and_the_event_to_answer() -> None:
    found = translate(click({"t": "tok123"}))
    assert found is not None
    assert found.body == Press(token="tok123", message="om_card", handle="ev9")
    assert found.id == "cev9"


@pytest.mark.parametrize(
    "payload",
    [
        {"header": {}, "event": {}},  # no schema 2.0
        click("not a dict"),
        click({"t": ""}),
        message("text", {"text": "x"}, message_id=""),
        {
            **click({"t": "x"}),
            "event": {"operator": {"open_id": "ou bad id"}, "action": {"value": {"t": "x"}}},
        },
    ],
)
def test_what_is_not_an_event_is_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(NotAnEvent):
        translate(payload)


def test_a_card_has_one_row_per_row_of_buttons_and_refuses_what_is_too_long() -> None:
    body = {"text": "<b>选择</b>", "keyboard": [[["是", "a"], ["否", "b"]], [["返回", "c"]]]}
    card = card_for(body)
    assert card is not None and card["config"]["update_multi"] is True
    text, *rows = card["body"]["elements"]
    assert text["text"]["content"] == "选择"
    values = [[c["elements"][0]["behaviors"][0]["value"]["t"] for c in r["columns"]] for r in rows]
    assert values == [["a", "b"], ["c"]]
    assert card_for({"text": "长" * (CARD_BYTES // 3 + 1)}) is None
    # Near the limit, a card is sent only if its request (the card a JSON string within
    # the JSON request, Chinese as UTF-8) is within Feishu's 30 KB.
    for size in (8000, 9000, 9800, 10_200):
        text = "长" * size + '"\n' * 50
        card = card_for({"text": text, "keyboard": [[["是", "a"]]]})
        if card is not None:
            request = {"receive_id": "ou_x", "msg_type": "interactive", "uuid": "r" * 24}
            request["content"] = json.dumps(card, ensure_ascii=False)
            assert len(json.dumps(request, ensure_ascii=False).encode()) <= 30 * 1024
    assert card_for({"text": "长" * 9000}) is not None
