"""The DingTalk emulator speaks the Stream protocol as the real `dingtalk_stream` client
expects it, and refuses what DingTalk refuses with DingTalk's error codes, so a bot that
passes against it does not lean on leniency DingTalk does not have.

The SDK runs as in production, on a thread of its own: its HTTP calls (connections/open,
the access token) block, and would stall the emulator's loop if they shared it."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import dingtalk_stream
import dingtalk_stream.stream
import pytest
from dingtalk_stream import AckMessage, CallbackMessage, CardCallbackMessage, ChatbotMessage

from channels.dingtalk.emulator import (
    BATCH_SEND,
    BOT_TOPIC,
    CARD_DELIVER,
    CARD_TOPIC,
    CARD_UPDATE,
    OAUTH,
    OPEN,
    UPLOAD,
    DingTalkEmulator,
    Message,
    plain,
    pointed_sdk,
    sdk_patches,
)
from storage.clock import ManualClock

START = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
QUIET = logging.getLogger("tests.dingtalk.sdk")
QUIET.setLevel(logging.CRITICAL)


class QuickAsyncio:
    """asyncio as dingtalk_stream.stream sees it, its pauses before reconnecting (3 s and
    10 s, written into the SDK) cut to a few milliseconds."""

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    async def sleep(delay: float, result: Any = None) -> Any:
        return await asyncio.sleep(min(delay, 0.02), result)


class Bot(dingtalk_stream.ChatbotHandler):
    """Acks what arrives, after failing (no ack) the first `fail_first` times."""

    def __init__(self, fail_first: int = 0, reply: str | None = None) -> None:
        super().__init__()
        self.seen: list[ChatbotMessage] = []
        self.fail_first = fail_first
        self.reply = reply

    async def process(self, callback: CallbackMessage) -> tuple[int, str]:
        message = ChatbotMessage.from_dict(callback.data)
        self.seen.append(message)
        if self.fail_first > 0:
            self.fail_first -= 1
            raise RuntimeError("this one goes unacknowledged")
        if self.reply is not None:
            self.reply_text(self.reply, message)
        return AckMessage.STATUS_OK, "OK"


class Cards(dingtalk_stream.CallbackHandler):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[CardCallbackMessage] = []

    async def process(self, callback: CallbackMessage) -> tuple[int, dict[str, Any]]:
        self.seen.append(CardCallbackMessage.from_dict(callback.data))
        return AckMessage.STATUS_OK, {}


class Sdk:
    """The real DingTalkStreamClient, started on its own thread and event loop."""

    def __init__(self, emulator: DingTalkEmulator, secret: str | None = None) -> None:
        credential = dingtalk_stream.Credential(
            emulator.client_id, secret or emulator.client_secret
        )
        self.client = dingtalk_stream.DingTalkStreamClient(credential, logger=QUIET)
        self.bot = Bot()
        self.cards = Cards()
        self.client.register_callback_handler(ChatbotMessage.TOPIC, self.bot)
        self.client.register_callback_handler(
            dingtalk_stream.Card_Callback_Router_Topic, self.cards
        )
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.client.start(), self.loop)

    def stop(self) -> None:
        """Cancel everything: the SDK catches one cancellation and sleeps, so thrice."""

        def cancel_all() -> None:
            for task in asyncio.all_tasks(self.loop):
                task.cancel()

        for _ in range(3):
            self.loop.call_soon_threadsafe(cancel_all)
            time.sleep(0.02)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
async def dingtalk() -> AsyncIterator[DingTalkEmulator]:
    emulator = DingTalkEmulator(clock=ManualClock(START), ack_timeout=0.3, disconnect_grace=0.3)
    await emulator.start()
    emulator.add_user("zhangsan", "张三")
    emulator.add_user("lisi", "李四")
    emulator.add_template("tpl.schema")
    yield emulator
    await emulator.stop()


@pytest.fixture
def pointed(dingtalk: DingTalkEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    for target, name, value in sdk_patches(dingtalk.base_url):
        monkeypatch.setattr(target, name, value)
    monkeypatch.setattr(dingtalk_stream.stream, "asyncio", QuickAsyncio())


@pytest.fixture
async def sdk(dingtalk: DingTalkEmulator, pointed: None) -> AsyncIterator[Sdk]:
    client = Sdk(dingtalk)
    client.start()
    await dingtalk.wait_until(lambda: bool(dingtalk.connections))
    yield client
    await asyncio.to_thread(client.stop)


async def post(
    dingtalk: DingTalkEmulator,
    path: str,
    body: dict[str, Any],
    token: str | None = None,
    method: str = "POST",
) -> tuple[int, dict[str, Any]]:
    headers = {"x-acs-dingtalk-access-token": token} if token else {}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, dingtalk.base_url + path, json=body, headers=headers) as answer,
    ):
        text = await answer.text()
        return answer.status, (json.loads(text) if text else {})


async def token(dingtalk: DingTalkEmulator) -> str:
    body = {"appKey": dingtalk.client_id, "appSecret": dingtalk.client_secret}
    status, answer = await post(dingtalk, OAUTH, body)
    assert status == 200
    return str(answer["accessToken"])


def text_to(users: list[str], content: str = "你好", robot: str | None = None) -> dict[str, Any]:
    return {
        "robotCode": robot or "dingemulatedappkey01",
        "userIds": users,
        "msgKey": "sampleText",
        "msgParam": json.dumps({"content": content}),
    }


def card_to(userid: str, track: str, buttons: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "cardTemplateId": "tpl.schema",
        "outTrackId": track,
        "callbackType": "STREAM",
        "cardData": {
            "cardParamMap": {
                "title": "选择语言",
                "markdown": "**请选择**",
                "buttons": json.dumps(buttons, ensure_ascii=False),
            }
        },
        "openSpaceId": f"dtv1.card//IM_ROBOT.{userid}",
        "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT"},
    }


# --- the Stream gateway, through the real SDK ---------------------------------------------


async def test_a_text_reaches_the_sdks_handler_and_is_acked(
    dingtalk: DingTalkEmulator, sdk: Sdk
) -> None:
    opened = dingtalk.opens[0]
    assert {"type": "CALLBACK", "topic": BOT_TOPIC} in opened["subscriptions"]
    assert {"type": "CALLBACK", "topic": CARD_TOPIC} in opened["subscriptions"]
    assert opened["ua"].startswith("dingtalk-sdk-python/")
    sent = await dingtalk.send_text("zhangsan", "我要找专家")
    await dingtalk.wait_acked(sent)
    [message] = sdk.bot.seen
    assert message.text.content == "我要找专家"
    assert (message.sender_staff_id, message.sender_nick) == ("zhangsan", "张三")
    assert message.conversation_type == "1" and message.robot_code == dingtalk.robot_code
    assert message.message_id.startswith("msg") and message.sender_id
    [ack] = [a for a in dingtalk.acks if a.message_id == sent]
    assert ack.code == 200
    assert dingtalk.events[sent].attempts == 1


async def test_an_event_not_acked_in_time_comes_again(dingtalk: DingTalkEmulator, sdk: Sdk) -> None:
    sdk.bot.fail_first = 1
    sent = await dingtalk.send_text("zhangsan", "在吗")
    await dingtalk.wait_acked(sent)
    assert [m.message_id for m in sdk.bot.seen] == [sdk.bot.seen[0].message_id] * 2
    assert dingtalk.events[sent].attempts == 2


async def test_an_event_never_acked_is_given_up_after_its_attempts(
    dingtalk: DingTalkEmulator, sdk: Sdk
) -> None:
    dingtalk.ack_timeout, dingtalk.max_attempts = 0.05, 2
    sdk.bot.fail_first = 5
    sent = await dingtalk.send_text("zhangsan", "在吗")
    await dingtalk.wait_until(lambda: bool(dingtalk.undelivered))
    assert dingtalk.undelivered[0].message_id == sent and len(sdk.bot.seen) == 2


async def test_an_event_can_come_twice_even_after_its_ack(
    dingtalk: DingTalkEmulator, sdk: Sdk
) -> None:
    dingtalk.faults.redeliver_after_ack = 1
    sent = await dingtalk.send_text("zhangsan", "一次")
    await dingtalk.wait_until(lambda: len([a for a in dingtalk.acks if a.message_id == sent]) == 2)
    first, second = sdk.bot.seen
    assert first.message_id == second.message_id
    other = await dingtalk.send_text("zhangsan", "两次")
    await dingtalk.wait_acked(other)
    assert len(sdk.bot.seen) == 3


async def test_a_disconnect_notice_makes_the_sdk_register_again_with_a_new_ticket(
    dingtalk: DingTalkEmulator, sdk: Sdk
) -> None:
    first = dingtalk.connections[0].id
    await dingtalk.disconnect(notice=True)
    await dingtalk.wait_until(
        lambda: dingtalk.connections_made == 2 and len(dingtalk.connections) == 1
    )
    notice = next(f for f in dingtalk.frames if f["headers"]["topic"] == "disconnect")
    assert notice["type"] == "SYSTEM"
    assert any(a.message_id == notice["headers"]["messageId"] for a in dingtalk.acks)
    assert len(dingtalk.opens) == 2 and all(t.used for t in dingtalk.tickets.values())
    assert len(dingtalk.tickets) == 2
    assert dingtalk.connections[0].id != first
    sent = await dingtalk.send_text("zhangsan", "重连以后")
    await dingtalk.wait_acked(sent)
    assert sdk.bot.seen[-1].text.content == "重连以后"


async def test_messages_typed_while_no_socket_is_up_arrive_once_one_is(
    dingtalk: DingTalkEmulator, sdk: Sdk
) -> None:
    await dingtalk.drop()
    sent = await dingtalk.send_text("zhangsan", "断线时")
    await dingtalk.wait_acked(sent)
    assert dingtalk.connections_made == 2
    assert sdk.bot.seen[-1].text.content == "断线时"


async def test_a_close_without_notice_and_a_refused_registration_are_recovered_from(
    dingtalk: DingTalkEmulator, sdk: Sdk
) -> None:
    dingtalk.faults.refuse_open = 1
    await dingtalk.disconnect(notice=False)
    await dingtalk.wait_until(lambda: dingtalk.connections_made == 2 and bool(dingtalk.connections))
    assert len(dingtalk.opens) == 3  # one refused with 503, then a ticket
    assert not any(f["headers"]["topic"] == "disconnect" for f in dingtalk.frames)


async def test_the_sdk_answers_the_gateways_ping(dingtalk: DingTalkEmulator, sdk: Sdk) -> None:
    assert await dingtalk.ping()


async def test_the_sdks_session_webhook_reply_reaches_the_chat(
    dingtalk: DingTalkEmulator, sdk: Sdk
) -> None:
    sdk.bot.reply = "收到"
    await dingtalk.send_text("zhangsan", "你好")
    await dingtalk.wait_until(lambda: bool(dingtalk.chat("zhangsan")))
    assert dingtalk.last("zhangsan").text == "收到"


async def test_the_sdk_gets_its_access_token_here(dingtalk: DingTalkEmulator, sdk: Sdk) -> None:
    issued = await asyncio.to_thread(sdk.client.get_access_token)
    assert issued in dingtalk.tokens and dingtalk.token_fetches == 1


async def test_a_card_click_reaches_the_sdks_card_handler(
    dingtalk: DingTalkEmulator, sdk: Sdk
) -> None:
    key = await token(dingtalk)
    buttons = [
        {"text": "中文", "params": {"action": "lang", "value": "zh"}},
        {"text": "English", "params": {"action": "lang", "value": "en"}, "id": "en"},
    ]
    status, answer = await post(dingtalk, CARD_DELIVER, card_to("zhangsan", "t1", buttons), key)
    assert status == 200 and answer["success"]
    assert answer["result"]["deliverResults"][0]["success"]
    card = dingtalk.last("zhangsan")
    assert (card.kind, card.text, card.labels) == ("card", "选择语言\n请选择", ["中文", "English"])
    sent = await dingtalk.press("zhangsan", "English")
    await dingtalk.wait_acked(sent)
    [click] = sdk.cards.seen
    assert (click.card_instance_id, click.user_id) == ("t1", "zhangsan")
    private = click.content["cardPrivateData"]
    assert private == {"actionIds": ["en"], "params": {"action": "lang", "value": "en"}}


# --- the gateway's own refusals -----------------------------------------------------------


async def test_registration_needs_the_apps_secret_and_a_ticket_opens_one_socket_once(
    dingtalk: DingTalkEmulator,
) -> None:
    subscriptions = [{"type": "CALLBACK", "topic": BOT_TOPIC}]
    body = {"clientId": dingtalk.client_id, "clientSecret": "wrong", "subscriptions": subscriptions}
    status, answer = await post(dingtalk, OPEN, body)
    assert (status, answer["code"]) == (401, "authFailed")
    status, answer = await post(dingtalk, OPEN, {**body, "clientSecret": dingtalk.client_secret})
    assert status == 200
    url = f"{answer['endpoint']}?ticket={answer['ticket']}"
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url):
            await dingtalk.wait_until(lambda: bool(dingtalk.connections))
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(url)
        assert refused.value.status == 401
        _, late = await post(dingtalk, OPEN, {**body, "clientSecret": dingtalk.client_secret})
        assert dingtalk.clock is not None
        dingtalk.clock.advance(dt.timedelta(seconds=dingtalk.ticket_lifetime + 1))
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await http.ws_connect(f"{late['endpoint']}?ticket={late['ticket']}")


# --- the APIs ------------------------------------------------------------------------------


async def test_the_token_lasts_two_hours_comes_back_renewed_and_refusals_are_dingtalks(
    dingtalk: DingTalkEmulator,
) -> None:
    status, answer = await post(dingtalk, OAUTH, {"appKey": dingtalk.client_id, "appSecret": "x"})
    assert status == 400 and answer["code"] == "invalidClientSecret"
    first = await token(dingtalk)
    assert await token(dingtalk) == first and dingtalk.token_fetches == 2
    assert (await post(dingtalk, BATCH_SEND, text_to(["zhangsan"]), first))[0] == 200
    assert dingtalk.clock is not None
    dingtalk.clock.advance(dt.timedelta(seconds=7200))
    status, answer = await post(dingtalk, BATCH_SEND, text_to(["zhangsan"]), first)
    assert (status, answer["code"]) == (400, "InvalidAuthentication")
    assert answer["message"] == "不合法的access_token" and answer["requestid"]
    fresh = await token(dingtalk)
    assert fresh != first
    dingtalk.revoke_tokens()
    assert (await post(dingtalk, BATCH_SEND, text_to(["zhangsan"]), fresh))[0] == 400
    assert (await post(dingtalk, BATCH_SEND, text_to(["zhangsan"])))[0] == 400
    renewed = await token(dingtalk)
    dingtalk.expire_tokens()
    assert (await post(dingtalk, BATCH_SEND, text_to(["zhangsan"]), renewed))[0] == 400


async def test_batch_send_takes_twenty_known_users_and_draws_markdown_as_words(
    dingtalk: DingTalkEmulator,
) -> None:
    key = await token(dingtalk)
    status, answer = await post(dingtalk, BATCH_SEND, text_to(["zhangsan"] * 21), key)
    assert (status, answer["code"]) == (400, "invalidParameter.userIds.overMax")
    status, answer = await post(dingtalk, BATCH_SEND, text_to([]), key)
    assert answer["code"] == "invalidParameter.userIds.empty"
    status, answer = await post(dingtalk, BATCH_SEND, text_to(["zhangsan"], robot="other"), key)
    assert answer["code"] == "invalidParameter.robotCode.auth"
    bad_key = {**text_to(["zhangsan"]), "msgKey": "sampleNothing"}
    assert (await post(dingtalk, BATCH_SEND, bad_key, key))[1]["code"] == (
        "invalidParameter.msgKey.invalid"
    )
    not_json = {**text_to(["zhangsan"]), "msgParam": "{"}
    assert (await post(dingtalk, BATCH_SEND, not_json, key))[1]["code"] == (
        "invalidParameter.msgParam.invalid"
    )
    status, answer = await post(dingtalk, BATCH_SEND, text_to(["zhangsan", "wangwu"], "早"), key)
    assert status == 200 and answer["processQueryKey"]
    assert answer["invalidStaffIdList"] == ["wangwu"] and answer["flowControlledStaffIdList"] == []
    assert [m.text for m in dingtalk.chat("zhangsan")] == ["早"]
    markdown = {
        "robotCode": dingtalk.robot_code,
        "userIds": ["lisi"],
        "msgKey": "sampleMarkdown",
        "msgParam": json.dumps({"title": "需求", "text": "### 需求\n**标题**：耐火材料\n- 大连"}),
    }
    assert (await post(dingtalk, BATCH_SEND, markdown, key))[0] == 200
    shown = dingtalk.last("lisi")
    assert (shown.kind, shown.title, shown.text) == (
        "markdown",
        "需求",
        "需求\n标题：耐火材料\n• 大连",
    )
    assert [path for path, _ in dingtalk.calls].count(BATCH_SEND) == 7


async def test_rate_limits_injected_failures_lost_answers_and_lost_messages(
    dingtalk: DingTalkEmulator,
) -> None:
    key = await token(dingtalk)
    dingtalk.fail_next(503, "Forbidden.AccessDenied.QpsLimitForApi")
    assert (await post(dingtalk, BATCH_SEND, text_to(["zhangsan"]), key))[0] == 503
    status, answer = await post(dingtalk, BATCH_SEND, text_to(["zhangsan"]), key)
    assert (status, answer["code"]) == (403, "Forbidden.AccessDenied.QpsLimitForApi")
    assert dingtalk.chat("zhangsan") == []
    dingtalk.faults.lose_answers[BATCH_SEND] = 1
    assert (await post(dingtalk, BATCH_SEND, text_to(["zhangsan"], "一"), key))[0] == 502
    assert [m.text for m in dingtalk.chat("zhangsan")] == ["一"]
    dingtalk.faults.losing = True
    assert (await post(dingtalk, BATCH_SEND, text_to(["zhangsan"], "二"), key))[0] == 200
    assert [m.text for m in dingtalk.chat("zhangsan")] == ["一"]
    assert [(u, m.text) for u, m in dingtalk.lost] == [("zhangsan", "二")]


async def test_calls_past_the_qps_limit_are_refused(dingtalk: DingTalkEmulator) -> None:
    dingtalk.qps = 2
    key = await token(dingtalk)
    statuses = [(await post(dingtalk, BATCH_SEND, text_to(["lisi"]), key))[0] for _ in range(3)]
    assert statuses == [200, 200, 403]
    assert len(dingtalk.chat("lisi")) == 2


async def test_a_person_past_the_flow_control_is_listed_and_not_sent_to(
    dingtalk: DingTalkEmulator,
) -> None:
    dingtalk.per_user_minute = 1
    key = await token(dingtalk)
    await post(dingtalk, BATCH_SEND, text_to(["zhangsan"], "一"), key)
    _, answer = await post(dingtalk, BATCH_SEND, text_to(["zhangsan", "lisi"], "二"), key)
    assert answer["flowControlledStaffIdList"] == ["zhangsan"]
    assert [m.text for m in dingtalk.chat("zhangsan")] == ["一"]
    assert [m.text for m in dingtalk.chat("lisi")] == ["二"]


async def test_a_file_is_uploaded_with_the_old_api_then_sent(dingtalk: DingTalkEmulator) -> None:
    key = await token(dingtalk)
    form = aiohttp.FormData()
    form.add_field("media", b"a,b\n1,2\n", filename="demands.csv", content_type="text/csv")
    async with aiohttp.ClientSession() as http:
        url = f"{dingtalk.base_url}{UPLOAD}?access_token=nope&type=file"
        async with http.post(url, data=form) as answer:
            assert (await answer.json())["errcode"] == 40014
        form = aiohttp.FormData()
        form.add_field("media", b"a,b\n1,2\n", filename="demands.csv", content_type="text/csv")
        url = f"{dingtalk.base_url}{UPLOAD}?access_token={key}&type=file"
        async with http.post(url, data=form) as answer:
            uploaded = await answer.json()
    assert uploaded["errcode"] == 0 and uploaded["media_id"].startswith("@")
    param = {"mediaId": uploaded["media_id"], "fileName": "需求.csv", "fileType": "csv"}
    body = {
        "robotCode": dingtalk.robot_code,
        "userIds": ["zhangsan"],
        "msgKey": "sampleFile",
        "msgParam": json.dumps(param),
    }
    assert (await post(dingtalk, BATCH_SEND, body, key))[0] == 200
    shown = dingtalk.last("zhangsan")
    assert (shown.kind, shown.name, shown.media) == ("file", "需求.csv", b"a,b\n1,2\n")
    unknown = {**body, "msgParam": json.dumps({**param, "mediaId": "@nothing"})}
    assert (await post(dingtalk, BATCH_SEND, unknown, key))[0] == 400


async def test_cards_need_a_known_template_a_new_out_track_id_and_string_values(
    dingtalk: DingTalkEmulator,
) -> None:
    key = await token(dingtalk)
    body = card_to("zhangsan", "t1", [])
    status, answer = await post(dingtalk, CARD_DELIVER, {**body, "cardTemplateId": "nope"}, key)
    assert (status, answer["code"]) == (400, "invalidParameter.cardTemplate.notFound")
    numbers = {**body, "cardData": {"cardParamMap": {"title": 1}}}
    assert (await post(dingtalk, CARD_DELIVER, numbers, key))[1]["code"] == "param.invalid"
    group = {**body, "openSpaceId": "dtv1.card//IM_GROUP.cid123"}
    assert (await post(dingtalk, CARD_DELIVER, group, key))[1]["code"] == "param.openSpaceIdInvalid"
    assert (await post(dingtalk, CARD_DELIVER, body, key))[0] == 200
    assert (await post(dingtalk, CARD_DELIVER, body, key))[0] == 400
    stranger = card_to("wangwu", "t2", [])
    _, answer = await post(dingtalk, CARD_DELIVER, stranger, key)
    assert answer["result"]["deliverResults"][0]["success"] is False
    status, answer = await post(dingtalk, CARD_UPDATE, {"outTrackId": "t9"}, key, "PUT")
    assert status == 400


async def test_a_sent_card_is_updated_by_key_or_whole(dingtalk: DingTalkEmulator) -> None:
    changes: list[tuple[str, str, Message]] = []
    dingtalk.watchers.append(lambda change, user, message: changes.append((change, user, message)))
    key = await token(dingtalk)
    buttons = [{"text": "接受", "params": {"a": "yes"}}, {"text": "拒绝", "params": {"a": "no"}}]
    await post(dingtalk, CARD_DELIVER, card_to("zhangsan", "t1", buttons), key)
    by_key = {
        "outTrackId": "t1",
        "cardData": {"cardParamMap": {"buttons": "[]", "markdown": "已接受"}},
        "cardUpdateOptions": {"updateCardDataByKey": True},
    }
    status, answer = await post(dingtalk, CARD_UPDATE, by_key, key, "PUT")
    assert status == 200 and answer == {"success": True, "result": True}
    [card] = dingtalk.chat("zhangsan")
    assert (card.text, card.buttons) == ("选择语言\n已接受", ())
    whole = {"outTrackId": "t1", "cardData": {"cardParamMap": {"markdown": "完"}}}
    await post(dingtalk, CARD_UPDATE, whole, key, "PUT")
    assert dingtalk.last("zhangsan").text == "完"
    assert [(c, u) for c, u, _ in changes] == [("sent", "zhangsan")] + [("updated", "zhangsan")] * 2


async def test_clicks_need_a_card_sent_for_stream_callbacks(dingtalk: DingTalkEmulator) -> None:
    key = await token(dingtalk)
    http_card = {**card_to("zhangsan", "t1", []), "callbackType": "HTTP"}
    await post(dingtalk, CARD_DELIVER, http_card, key)
    with pytest.raises(ValueError, match="STREAM"):
        await dingtalk.click("zhangsan", "t1", {})
    with pytest.raises(LookupError):
        await dingtalk.click("zhangsan", "t9", {})


# --- helpers -------------------------------------------------------------------------------


def test_markdown_reads_as_plain_words() -> None:
    source = (
        "## 标题\n\n> 引用 **粗体** 和 *斜体*\n\n1. 第一\n* 项目\n"
        "[链接](https://x.cn) <font color=red>红</font>\\*星\\*\n---\n`代码` snake_case"
    )
    assert (
        plain(source)
        == "标题\n\n引用 粗体 和 斜体\n\n1. 第一\n• 项目\n链接 红*星*\n代码 snake_case"
    )


def test_the_sdk_is_pointed_here_and_back() -> None:
    before = dingtalk_stream.stream.DingTalkStreamClient.OPEN_CONNECTION_API
    with pointed_sdk("http://127.0.0.1:1"):
        assert dingtalk_stream.stream.DingTalkStreamClient.OPEN_CONNECTION_API == (
            "http://127.0.0.1:1" + OPEN
        )
        assert dingtalk_stream.stream.DINGTALK_OPENAPI_ENDPOINT == "http://127.0.0.1:1"
    assert before == dingtalk_stream.stream.DingTalkStreamClient.OPEN_CONNECTION_API
