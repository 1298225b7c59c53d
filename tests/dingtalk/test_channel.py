"""What the DingTalk channel makes of the core's views and of DingTalk's callbacks, without
a connection: markdown a person reads as the text was written, parts a robot message
holds, the card's variables, and the events callbacks become."""

from __future__ import annotations

import json

import pytest

from bot.config import Settings
from channels.dingtalk.channel import MSG_PARAM_BYTES, card_params, parts, to_markdown
from channels.dingtalk.emulator import plain
from channels.dingtalk.translate import NotAnEvent, click, message
from handlers.core.events import Attachment, Command, Press, Text

TEXTS = [
    "1. 第一项\n2. 第二项",
    "- 不是列表\n# 不是标题\n> 不是引用",
    "**不粗** _不斜_ `不是代码` [不是链接](x) ~~ 2*3*4 a_b_c",
    "标题\n\n正文第一行\n正文第二行\n\n\n结尾",
    "Q235 \\ 反斜杠 | 竖线 {花括号} !感叹",
]


@pytest.mark.parametrize("text", TEXTS)
def test_markdown_reads_as_the_text_was_written(text: str) -> None:
    expected = "\n".join(line.rstrip() for line in text.split("\n")).replace("\n\n\n", "\n\n")
    assert plain(to_markdown(text)) == expected


def test_a_long_text_is_split_into_parts_each_message_holds() -> None:
    text = "\n".join(f"第{n}行：" + "*" * 40 for n in range(2000))
    pieces = parts(text)
    assert len(pieces) > 1 and "\n".join(pieces) == text
    for piece in pieces:
        param = {"title": piece[:30], "text": to_markdown(piece)}
        assert len(json.dumps(param, ensure_ascii=False).encode()) <= MSG_PARAM_BYTES


def test_a_view_becomes_the_templates_variables() -> None:
    params = card_params({"text": "请选择语言：\n<b>说明</b>", "keyboard": [[["中文", "t1"]]]})
    assert params is not None
    assert params["title"] == "请选择语言：" and plain(params["markdown"]) == "说明"
    assert json.loads(params["buttons"]) == [{"text": "中文", "params": {"t": "t1"}}]
    assert card_params({"text": "x" * 20_000}) is None  # longer than a card: messages


def incoming(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "msgId": "msgABC",
        "msgtype": "text",
        "text": {"content": " /start specialist "},
        "conversationType": "1",
        "senderStaffId": "zhangsan",
        "senderNick": "张三",
    }
    return data | changes


def test_messages_become_commands_texts_and_attachments() -> None:
    event = message(incoming())
    assert event is not None and event.id == "mmsgABC"
    assert event.body == Command("start", "specialist")
    assert (event.sender.account, event.sender.name) == ("zhangsan", "张三")
    typed = message(incoming(text={"content": "你好"}))
    assert typed is not None and typed.body == Text("你好")
    picture = message(incoming(msgtype="picture", content={"downloadCode": "x"}))
    assert picture is not None and picture.body == Attachment("photo")
    assert message(incoming(conversationType="2")) is None  # a group chat
    with pytest.raises(NotAnEvent):
        message(incoming(senderStaffId=None))


def test_a_click_carries_its_token_and_card() -> None:
    data = {
        "userId": "zhangsan",
        "outTrackId": "ref123",
        "content": json.dumps({"cardPrivateData": {"actionIds": ["a"], "params": {"t": "tok"}}}),
    }
    event = click("frame_1", data)
    assert event.id == "cframe_1"
    assert event.body == Press(token="tok", message="ref123", handle="frame_1")
    with pytest.raises(NotAnEvent):
        click("frame_2", {**data, "content": "{}"})


def test_dingtalk_needs_its_secret_and_its_template_needs_the_app() -> None:
    with pytest.raises(ValueError, match="DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET"):
        Settings(_env_file=None, dingtalk_client_id="dingabc")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="need DINGTALK_CLIENT_ID"):
        Settings(_env_file=None, dingtalk_card_template_id="x.schema")  # type: ignore[call-arg]
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        dingtalk_client_id="dingabc",
        dingtalk_client_secret="secret",
    )
    assert settings.dingtalk_api_base_url == "https://api.dingtalk.com"
