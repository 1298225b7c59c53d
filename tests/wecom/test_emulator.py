"""The WeCom emulator refuses what WeCom refuses, with WeCom's error codes, so a bot that
passes against it does not learn to lean on leniency WeCom does not have."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from channels.wecom.emulator import WeComEmulator
from storage.clock import ManualClock


@pytest.fixture
async def wecom() -> AsyncIterator[WeComEmulator]:
    emulator = WeComEmulator(clock=ManualClock(dt.datetime(2026, 12, 7, tzinfo=dt.UTC)))
    await emulator.start()
    emulator.add_member("zhangsan")
    yield emulator
    await emulator.stop()


async def call(
    wecom: WeComEmulator, path: str, payload: dict[str, Any], token: str
) -> dict[str, Any]:
    url = f"{wecom.base_url}/cgi-bin/{path}?access_token={token}"
    async with aiohttp.ClientSession() as http, http.post(url, json=payload) as answer:
        return dict(await answer.json())


async def token(wecom: WeComEmulator, secret: str | None = None) -> dict[str, Any]:
    query = {"corpid": wecom.corp_id, "corpsecret": secret or wecom.secret}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{wecom.base_url}/cgi-bin/gettoken", params=query) as answer,
    ):
        return dict(await answer.json())


def card(task: str, buttons: int = 2, key: str = "k") -> dict[str, Any]:
    return {
        "touser": "zhangsan",
        "msgtype": "template_card",
        "agentid": 1000002,
        "template_card": {
            "card_type": "button_interaction",
            "task_id": task,
            "main_title": {"title": "标题"},
            "button_list": [{"text": f"b{i}", "key": f"{key}{i}"} for i in range(buttons)],
        },
    }


async def test_tokens_expire_after_two_hours_and_a_wrong_secret_gets_none(
    wecom: WeComEmulator,
) -> None:
    assert (await token(wecom, "wrong"))["errcode"] == 40001
    issued = await token(wecom)
    assert issued["expires_in"] == 7200
    text = {"touser": "zhangsan", "msgtype": "text", "agentid": 1000002, "text": {"content": "hi"}}
    assert (await call(wecom, "message/send", text, issued["access_token"]))["errcode"] == 0
    assert wecom.clock is not None
    wecom.clock.advance(dt.timedelta(seconds=7200))
    assert (await call(wecom, "message/send", text, issued["access_token"]))["errcode"] == 42001
    assert (await call(wecom, "message/send", text, "made-up"))["errcode"] == 40014


async def test_cards_hold_six_buttons_and_a_task_id_is_used_once(wecom: WeComEmulator) -> None:
    key = (await token(wecom))["access_token"]
    assert (await call(wecom, "message/send", card("t1", buttons=7), key))["errcode"] == 40058
    assert (await call(wecom, "message/send", card("t1", key="k" * 1025), key))["errcode"] == 40058
    sent = await call(wecom, "message/send", card("t1", buttons=6), key)
    assert sent["errcode"] == 0 and sent["response_code"]
    assert (await call(wecom, "message/send", card("t1"), key))["errcode"] == 40058


async def test_a_response_code_changes_a_card_once_and_only_within_72_hours(
    wecom: WeComEmulator,
) -> None:
    key = (await token(wecom))["access_token"]
    first = (await call(wecom, "message/send", card("t1"), key))["response_code"]
    second = (await call(wecom, "message/send", card("t2"), key))["response_code"]
    grey = {"userids": ["zhangsan"], "agentid": 1000002, "button": {"replace_name": "✓"}}
    assert (
        await call(wecom, "message/update_template_card", {**grey, "response_code": first}, key)
    )["errcode"] == 0
    assert wecom.chat("zhangsan")[0].greyed == "✓"
    assert (
        await call(wecom, "message/update_template_card", {**grey, "response_code": first}, key)
    )["errcode"] == 40058
    assert wecom.clock is not None
    wecom.clock.advance(dt.timedelta(hours=72, seconds=1))
    key = (await token(wecom))["access_token"]
    assert (
        await call(wecom, "message/update_template_card", {**grey, "response_code": second}, key)
    )["errcode"] == 40058


async def test_unknown_members_long_texts_and_a_flood_are_reported_as_wecom_does(
    wecom: WeComEmulator,
) -> None:
    key = (await token(wecom))["access_token"]
    text = {"msgtype": "text", "agentid": 1000002, "text": {"content": "x" * 2049}}
    gone = await call(wecom, "message/send", {**text, "touser": "nobody"}, key)
    assert (gone["errcode"], gone["invaliduser"]) == (81013, "nobody")
    assert (await call(wecom, "message/send", {**text, "touser": "zhangsan"}, key))["errcode"] == 0
    assert len(wecom.last("zhangsan").text.encode()) == 2048 and len(wecom.truncated) == 1
    short = {**text, "touser": "zhangsan", "text": {"content": "hi"}}
    for _ in range(40):  # WeCom answers ok, and drops what is over 30 a minute
        assert (await call(wecom, "message/send", short, key))["errcode"] == 0
    assert len(wecom.chat("zhangsan")) == 30 and len(wecom.dropped) == 11
