"""The Feishu emulator speaks as Feishu does to the real lark-oapi client (its long
connection, its webhook handler) and refuses what Feishu refuses, with Feishu's codes, so
a bot that passes against it does not lean on leniency Feishu does not have."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import io
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import lark_oapi as lark
import lark_oapi.ws.client as ws_client
import pytest
from aiohttp import web
from Crypto.Cipher import AES
from lark_oapi.api.im.v1 import (
    CreateFileRequest,
    CreateFileRequestBody,
    CreateMessageRequest,
    CreateMessageRequestBody,
)
from lark_oapi.core.model import RawRequest
from lark_oapi.core.utils import AESCipher
from lark_oapi.event.callback.model.p2_card_action_trigger import (
    P2CardActionTrigger,
    P2CardActionTriggerResponse,
)

from channels.feishu import crypto
from channels.feishu.emulator import FeishuEmulator, Message
from storage.clock import ManualClock

USER = "ou_0123456789abcdef0123456789abcdef"
# lark-oapi's ping loop logs with the deprecated logger.warn when a dropped socket fails it.
pytestmark = pytest.mark.filterwarnings("ignore:The 'warn' method is deprecated:DeprecationWarning")


def card(*buttons: str, update_multi: bool = True, title: str = "标题") -> dict[str, Any]:
    return {
        "schema": "2.0",
        "config": {"update_multi": update_multi},
        "header": {"title": {"tag": "plain_text", "content": title}},
        "body": {
            "elements": [
                {"tag": "markdown", "content": "**正文**"},
                {
                    "tag": "column_set",
                    "columns": [
                        {
                            "tag": "column",
                            "elements": [
                                {
                                    "tag": "button",
                                    "text": {"tag": "plain_text", "content": label},
                                    "behaviors": [{"type": "callback", "value": {"b": label}}],
                                }
                                for label in buttons
                            ],
                        }
                    ],
                },
                {"tag": "div", "text": {"tag": "plain_text", "content": "脚注"}},
            ]
        },
    }


class Bot:
    """The real lark-oapi long-connection client(s), in a thread with their own loop: the
    SDK binds a module-level loop, so the thread sets it before starting."""

    def __init__(self, emulator: FeishuEmulator, *, clients: int = 1) -> None:
        self.emulator = emulator
        self.count = clients
        self.received: list[tuple[str, str, dict[str, Any]]] = []  # event id, message id, content
        self.clicks: list[dict[str, Any]] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._main, daemon=True)

    def handler(self, encrypt_key: str = "", token: str = "") -> lark.EventDispatcherHandler:
        def on_message(data: lark.im.v1.P2ImMessageReceiveV1) -> None:
            assert data.header is not None and data.event is not None
            message = data.event.message
            assert message is not None
            content = json.loads(message.content or "{}")
            self.received.append((data.header.event_id or "", message.message_id or "", content))

        def on_click(data: P2CardActionTrigger) -> P2CardActionTriggerResponse:
            assert data.event is not None and data.event.action is not None
            value = data.event.action.value or {}
            self.clicks.append(value)
            answer: dict[str, Any] = {"toast": {"type": "info", "content": "ok"}}
            if value.get("replace"):
                answer["card"] = {"type": "raw", "data": card("再来", title="已换")}
            return P2CardActionTriggerResponse(answer)

        return (
            lark.EventDispatcherHandler.builder(encrypt_key, token)
            .register_p2_im_message_receive_v1(on_message)
            .register_p2_card_action_trigger(on_click)
            .build()
        )

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        ws_client.loop = self.loop
        clients = [
            lark.ws.Client(
                self.emulator.app_id,
                self.emulator.app_secret,
                event_handler=self.handler(),
                domain=self.emulator.base_url,
                log_level=lark.LogLevel.CRITICAL,
            )
            for _ in range(self.count)
        ]
        with contextlib.suppress(RuntimeError):  # the loop stopped from outside
            if self.count == 1:
                clients[0].start()
            else:  # start() blocks: several clients share this loop, started as it would
                self.loop.run_until_complete(self._several(clients))
        tasks = asyncio.all_tasks(self.loop)
        for task in tasks:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self.loop.close()

    async def _several(self, clients: list[lark.ws.Client]) -> None:
        for client in clients:
            await client._connect()
            self.loop.create_task(client._ping_loop())
        await asyncio.Event().wait()

    def __enter__(self) -> Bot:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


async def eventually(done: Callable[[], bool], timeout: float = 3.0) -> None:  # noqa: ASYNC109
    """For what another thread changes: polled."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


@pytest.fixture
async def feishu() -> AsyncIterator[FeishuEmulator]:
    emulator = FeishuEmulator(
        clock=ManualClock(dt.datetime(2026, 12, 7, tzinfo=dt.UTC)),
        ack_timeout=0.5,
        retry_intervals=(0.02, 0.05),
        reconnect_interval=0.1,
    )
    await emulator.start()
    emulator.add_user(USER, "张三")
    yield emulator
    await emulator.stop()


@pytest.fixture
def bot(feishu: FeishuEmulator) -> Iterator[Bot]:
    with Bot(feishu) as started:
        yield started


async def api(
    feishu: FeishuEmulator,
    method: str,
    path: str,
    token: str | None,
    payload: dict[str, Any] | None = None,
    **kwargs: Any,
) -> tuple[int, dict[str, Any], Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            method, feishu.base_url + path, json=payload, headers=headers, **kwargs
        ) as answer,
    ):
        return answer.status, dict(await answer.json(content_type=None)), answer.headers


async def token(feishu: FeishuEmulator, secret: str | None = None) -> dict[str, Any]:
    body = {"app_id": feishu.app_id, "app_secret": secret or feishu.app_secret}
    return (
        await api(feishu, "POST", "/open-apis/auth/v3/tenant_access_token/internal", None, body)
    )[1]


async def send(
    feishu: FeishuEmulator, key: str, kind: str, content: Any, to: str = USER, **extra: Any
) -> tuple[int, dict[str, Any]]:
    body = {"receive_id": to, "msg_type": kind, "content": json.dumps(content), **extra}
    path = "/open-apis/im/v1/messages?receive_id_type=open_id"
    status, answer, _ = await api(feishu, "POST", path, key, body)
    return status, answer


# --- the long connection, with the real SDK ------------------------------------------------


async def test_a_text_arrives_over_the_long_connection_and_is_acked_once(
    feishu: FeishuEmulator, bot: Bot
) -> None:
    await feishu.wait_until(lambda: feishu.connected == 1 and len(feishu.pings) >= 1)
    message_id = await feishu.send_text(USER, "你好")
    assert [(m, c) for _, m, c in bot.received] == [(message_id, {"text": "你好"})]
    delivery = feishu.deliveries[-1]
    assert (delivery.status, delivery.attempts, delivery.answer) == ("acked", 1, {})
    assert feishu.endpoint_calls == 1
    await feishu.send_media(USER, "image")
    assert "image_key" in bot.received[-1][2]


async def test_an_unacked_event_is_delivered_again_with_the_same_ids(
    feishu: FeishuEmulator, bot: Bot
) -> None:
    await feishu.wait_until(lambda: feishu.connected == 1)
    feishu.faults.unacked = 1
    message_id = await feishu.send_text(USER, "再说一遍")
    delivery = feishu.deliveries[-1]
    assert delivery.outcomes == ["ignored", "acked"]
    assert len(bot.received) == 2 and {m for _, m, _ in bot.received} == {message_id}
    assert bot.received[0][0] == bot.received[1][0]  # the event id too


async def test_a_click_gets_the_bots_toast_and_a_raw_card_replaces_the_message(
    feishu: FeishuEmulator, bot: Bot
) -> None:
    key = (await token(feishu))["tenant_access_token"]
    _, sent = await send(feishu, key, "interactive", card("好", "换"))
    message_id = sent["data"]["message_id"]
    changes: list[tuple[str, str, Message]] = []
    feishu.watchers.append(lambda *change: changes.append(change))
    await feishu.wait_until(lambda: feishu.connected == 1)
    answer = await feishu.click_label(USER, "好")
    assert answer == {"toast": {"type": "info", "content": "ok"}}
    assert bot.clicks == [{"b": "好"}] and feishu.answers == [(USER, message_id, answer)]
    assert feishu.last(USER).labels == ["好", "换"] and not changes
    answer = await feishu.click(USER, message_id, {"replace": True})
    assert answer is not None and answer["card"]["type"] == "raw"
    assert feishu.last(USER).text == "已换\n**正文**\n脚注" and feishu.last(USER).labels == ["再来"]
    assert [change for change, _, _ in changes] == ["updated"]


async def test_a_dropped_connection_reconnects_and_queued_events_then_arrive(
    feishu: FeishuEmulator, bot: Bot
) -> None:
    await feishu.wait_until(lambda: feishu.connected == 1)
    feishu.faults.refuse_connect = 1  # the first reconnect finds Feishu busy
    await feishu.drop_connections()
    assert feishu.connected == 0
    message_id = await feishu.send_text(USER, "断线时发的")
    assert [m for _, m, _ in bot.received] == [message_id]
    delivery = feishu.deliveries[-1]
    assert (delivery.status, delivery.attempts) == ("acked", 1)  # it waited, not retried
    assert feishu.endpoint_calls == 3 and feishu.connected == 1


async def test_two_connections_share_events_round_robin_or_both_get_each(
    feishu: FeishuEmulator,
) -> None:
    with Bot(feishu, clients=2) as bot:
        await feishu.wait_until(lambda: feishu.connected == 2)
        await feishu.send_text(USER, "一")
        await feishu.send_text(USER, "二")
        assert len({d.connections[0] for d in feishu.deliveries}) == 2
        feishu.faults.both_connections = True
        message_id = await feishu.send_text(USER, "三")
        assert len(feishu.deliveries[-1].connections) == 2
        await eventually(lambda: [m for _, m, _ in bot.received].count(message_id) == 2)
        await feishu.stop()  # while the clients still answer the closing handshake


async def test_the_endpoint_refuses_a_wrong_secret_and_can_be_busy(feishu: FeishuEmulator) -> None:
    path = "/callback/ws/endpoint"
    wrong = {"AppID": feishu.app_id, "AppSecret": "wrong"}
    assert (await api(feishu, "POST", path, None, wrong))[1]["code"] not in (0, 1)
    feishu.faults.refuse_connect = 1
    right = {"AppID": feishu.app_id, "AppSecret": feishu.app_secret}
    assert (await api(feishu, "POST", path, None, right))[1] == {"code": 1, "msg": "system busy"}
    data = (await api(feishu, "POST", path, None, right))[1]["data"]
    assert data["URL"].startswith(f"ws://127.0.0.1:{feishu.port}/ws?device_id=")
    assert data["ClientConfig"]["ReconnectCount"] == -1 and feishu.endpoint_calls == 3


async def test_a_click_without_an_answer_in_time_is_not_sent_again(
    feishu: FeishuEmulator,
) -> None:
    feishu.click_deadline = 0.1
    feishu.queue_timeout = 0.2  # nobody connected
    assert await feishu.click(USER, "om_x", {"b": 1}) is None
    assert feishu.deliveries[-1].attempts == 0 and feishu.answers == [(USER, "om_x", None)]


# --- the REST API --------------------------------------------------------------------------


async def test_tokens_last_two_hours_are_reused_and_a_wrong_secret_gets_none(
    feishu: FeishuEmulator,
) -> None:
    assert (await token(feishu, "wrong"))["code"] == 10014
    first = await token(feishu)
    assert (first["code"], first["expire"]) == (0, 7200)
    assert first["tenant_access_token"].startswith("t-")
    assert (await token(feishu))["tenant_access_token"] == first["tenant_access_token"]
    key = first["tenant_access_token"]
    assert (await send(feishu, key, "text", {"text": "hi"}))[0] == 200
    assert feishu.clock is not None
    feishu.clock.advance(dt.timedelta(seconds=5401))  # under 30 minutes left: a new one
    second = (await token(feishu))["tenant_access_token"]
    assert second != key and feishu.token_fetches == 3
    feishu.clock.advance(dt.timedelta(seconds=1800))
    assert await send(feishu, key, "text", {"text": "hi"}) == (
        400,
        {"code": 99991677, "msg": "Authentication token expired."},
    )
    feishu.revoke_tokens()
    assert (await send(feishu, second, "text", {"text": "hi"}))[1]["code"] == 99991663
    assert (await send(feishu, "", "text", {"text": "hi"}))[1]["code"] == 99991663


async def test_texts_and_cards_reach_users_in_range_within_feishus_sizes(
    feishu: FeishuEmulator,
) -> None:
    key = (await token(feishu))["tenant_access_token"]
    status, answer = await send(feishu, key, "text", {"text": "你好"})
    assert status == 200 and answer["code"] == 0
    assert answer["data"]["message_id"].startswith("om_") and answer["data"]["msg_type"] == "text"
    status, answer = await send(feishu, key, "interactive", card("是", "否"))
    assert status == 200
    shown = feishu.last(USER)
    assert (shown.kind, shown.text, shown.update_multi) == (
        "interactive",
        "标题\n**正文**\n脚注",
        True,
    )
    assert shown.buttons == (("是", {"b": "是"}), ("否", {"b": "否"}))
    stranger = await send(feishu, key, "text", {"text": "hi"}, to="ou_stranger")
    assert stranger == (400, {"code": 230013, "msg": "Bot has NO availability to this user."})
    assert (await send(feishu, key, "text", {"text": "长" * 60_000}))[1]["code"] == 230025
    big = card("是")
    big["body"]["elements"].append({"tag": "markdown", "content": "x" * 31_000})
    assert (await send(feishu, key, "interactive", big))[1]["code"] == 230025
    old = {
        "config": {},
        "elements": [{"tag": "div", "text": {"tag": "plain_text", "content": "旧"}}],
    }
    assert (await send(feishu, key, "interactive", old))[1]["code"] == 230099
    bare = card("是")
    bare["body"]["elements"][1]["columns"][0]["elements"][0]["behaviors"] = [
        {"type": "callback", "value": "not a dict"}
    ]
    assert (await send(feishu, key, "interactive", bare))[1]["code"] == 230099
    assert len(feishu.chat(USER)) == 2 and len(feishu.calls) == 7


async def test_a_uuid_sends_once_within_an_hour(feishu: FeishuEmulator) -> None:
    key = (await token(feishu))["tenant_access_token"]
    first = await send(feishu, key, "text", {"text": "一次"}, uuid="u-1")
    again = await send(feishu, key, "text", {"text": "一次"}, uuid="u-1")
    assert first[1]["data"]["message_id"] == again[1]["data"]["message_id"]
    assert len(feishu.chat(USER)) == 1
    assert feishu.clock is not None
    feishu.clock.advance(dt.timedelta(hours=1, seconds=1))
    key = (await token(feishu))["tenant_access_token"]
    later = await send(feishu, key, "text", {"text": "一次"}, uuid="u-1")
    assert later[1]["data"]["message_id"] != first[1]["data"]["message_id"]
    assert len(feishu.chat(USER)) == 2


async def test_only_shared_cards_are_patched_and_only_within_14_days(
    feishu: FeishuEmulator,
) -> None:
    key = (await token(feishu))["tenant_access_token"]
    ids = {}
    for name, kind, content in (
        ("shared", "interactive", card("是")),
        ("own", "interactive", card("是", update_multi=False)),
        ("text", "text", {"text": "字"}),
    ):
        ids[name] = (await send(feishu, key, kind, content))[1]["data"]["message_id"]
    changes: list[str] = []
    feishu.watchers.append(lambda change, _user, _message: changes.append(change))

    async def patch(name: str, new: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        path = f"/open-apis/im/v1/messages/{ids.get(name, name)}"
        status, answer, _ = await api(feishu, "PATCH", path, key, {"content": json.dumps(new)})
        return status, answer

    assert await patch("shared", card("否", title="改了")) == (
        200,
        {"code": 0, "msg": "success", "data": {}},
    )
    assert feishu.chat(USER)[0].text.startswith("改了") and changes == ["updated"]
    assert (await patch("own", card("否")))[1]["code"] == 230001
    assert (await patch("text", card("否")))[1]["code"] == 230001
    assert (await patch("om_unknown", card("否")))[1]["code"] == 230001
    assert (await patch("shared", card("否", update_multi=False)))[1]["code"] == 230001
    assert feishu.clock is not None
    feishu.clock.advance(dt.timedelta(days=14, seconds=1))
    key = (await token(feishu))["tenant_access_token"]
    assert (await patch("shared", card("否")))[1]["code"] == 230001
    assert changes == ["updated"]


async def test_files_and_images_are_uploaded_then_sent_by_key(feishu: FeishuEmulator) -> None:
    key = (await token(feishu))["tenant_access_token"]
    form = aiohttp.FormData()
    form.add_field("file_type", "xls")
    form.add_field("file_name", "导出.xlsx")
    form.add_field("file", b"PK\x03\x04data", filename="导出.xlsx")
    status, answer, _ = await api(feishu, "POST", "/open-apis/im/v1/files", key, data=form)
    file_key = answer["data"]["file_key"]
    assert status == 200 and file_key.startswith("file_v3_")
    image = aiohttp.FormData()
    image.add_field("image_type", "message")
    image.add_field("image", b"\x89PNG", filename="a.png")
    status, answer, _ = await api(feishu, "POST", "/open-apis/im/v1/images", key, data=image)
    image_key = answer["data"]["image_key"]
    assert (await send(feishu, key, "file", {"file_key": file_key}))[0] == 200
    assert (feishu.last(USER).media, feishu.last(USER).name) == (b"PK\x03\x04data", "导出.xlsx")
    assert (await send(feishu, key, "image", {"image_key": image_key}))[0] == 200
    assert feishu.last(USER).kind == "image" and feishu.last(USER).media == b"\x89PNG"
    assert (await send(feishu, key, "file", {"file_key": "file_v3_nope"}))[1]["code"] == 230001


async def test_injected_faults_lost_answers_and_the_per_user_limit(feishu: FeishuEmulator) -> None:
    key = (await token(feishu))["tenant_access_token"]
    text = {"text": "hi"}
    feishu.fail_next(429, 502, 230020, 0)
    status, answer, headers = await api(
        feishu,
        "POST",
        "/open-apis/im/v1/messages?receive_id_type=open_id",
        key,
        {"receive_id": USER, "msg_type": "text", "content": json.dumps(text)},
    )
    assert (status, answer["code"], headers["x-ogw-ratelimit-reset"]) == (429, 99991400, "1")
    async with aiohttp.ClientSession() as http:
        url = f"{feishu.base_url}/open-apis/im/v1/messages?receive_id_type=open_id"
        async with http.post(url, headers={"Authorization": f"Bearer {key}"}, json={}) as lost:
            assert lost.status == 502
    assert (await send(feishu, key, "text", text))[1]["code"] == 230020
    assert (await send(feishu, key, "text", text))[0] == 200
    feishu.faults.lose_answers["send"] = 1
    async with aiohttp.ClientSession() as http:
        url = f"{feishu.base_url}/open-apis/im/v1/messages?receive_id_type=open_id"
        body = {"receive_id": USER, "msg_type": "text", "content": json.dumps(text)}
        async with http.post(url, headers={"Authorization": f"Bearer {key}"}, json=body) as lost:
            assert lost.status == 502
    assert len(feishu.chat(USER)) == 2  # it went out all the same
    codes = [(await send(feishu, key, "text", text))[1]["code"] for _ in range(5)]
    assert codes == [0, 0, 0, 230020, 230020]  # 5 a second to one user, 2 already used


# --- webhook mode ----------------------------------------------------------------------------


class Webhook:
    """The bot's side of webhook mode: lark-oapi's own handler behind a small server."""

    def __init__(self, feishu: FeishuEmulator) -> None:
        self.bot = Bot(feishu)
        self.handler = self.bot.handler(feishu.encrypt_key, feishu.verification_token)
        self.fail = 0
        self.bodies: list[tuple[dict[str, str], bytes]] = []

    async def serve(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.bodies.append((dict(request.headers), body))
        if self.fail:
            self.fail -= 1
            return web.Response(status=500)
        raw = RawRequest()
        raw.uri, raw.body, raw.headers = request.path, body, dict(request.headers)
        answer = self.handler.do(raw)
        return web.Response(status=answer.status_code or 500, body=answer.content)


@pytest.fixture
async def webhook(feishu: FeishuEmulator) -> AsyncIterator[Webhook]:
    hook = Webhook(feishu)
    app = web.Application()
    app.router.add_post("/feishu", hook.serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    feishu.callback_url = f"http://127.0.0.1:{port}/feishu"
    yield hook
    await runner.cleanup()


async def test_webhook_events_are_encrypted_signed_and_checked_by_lark_oapi(
    feishu: FeishuEmulator, webhook: Webhook
) -> None:
    assert feishu.env()["FEISHU_MODE"] == "webhook"
    assert await feishu.verify_url()
    message_id = await feishu.send_text(USER, "你好")
    assert [(m, c) for _, m, c in webhook.bot.received] == [(message_id, {"text": "你好"})]
    headers, body = webhook.bodies[-1]
    event = json.loads(AESCipher(feishu.encrypt_key).decrypt_str(json.loads(body)["encrypt"]))
    assert event["schema"] == "2.0" and event["header"]["event_type"] == "im.message.receive_v1"
    assert event["event"]["message"]["chat_type"] == "p2p"
    assert event["header"]["token"] == feishu.verification_token
    stamp, nonce = headers["X-Lark-Request-Timestamp"], headers["X-Lark-Request-Nonce"]
    expected = hashlib.sha256((stamp + nonce + feishu.encrypt_key).encode() + body).hexdigest()
    assert headers["X-Lark-Signature"] == expected
    answer = await feishu.click(USER, "om_x", {"b": "好"})
    assert answer == {"toast": {"type": "info", "content": "ok"}}


async def test_webhook_redelivers_after_an_error_and_can_duplicate(
    feishu: FeishuEmulator, webhook: Webhook
) -> None:
    webhook.fail = 1
    await feishu.send_text(USER, "一")
    assert feishu.deliveries[-1].outcomes == ["HTTP 500", "acked"]
    assert feishu.webhook_statuses == [500, 200] and len(webhook.bot.received) == 1
    feishu.faults.duplicate = True
    await feishu.send_text(USER, "二")
    assert len(webhook.bot.received) == 3
    assert webhook.bot.received[1] == webhook.bot.received[2]


def test_crypto_agrees_with_lark_oapi() -> None:
    key = "emulated-encrypt-key"
    sealed = crypto.encrypt(key, '{"text":"你好"}')
    assert AESCipher(key).decrypt_str(sealed) == '{"text":"你好"}'
    assert crypto.decrypt(key, sealed) == '{"text":"你好"}'
    # And what lark-oapi's AES (pycryptodome) seals, the channel opens.
    iv = b"0123456789abcdef"
    plain = b'{"challenge":"c"}'
    pad = 16 - len(plain) % 16
    sealed_by_them = AES.new(hashlib.sha256(key.encode()).digest(), AES.MODE_CBC, iv).encrypt(
        plain + bytes([pad]) * pad
    )
    assert crypto.decrypt(key, base64.b64encode(iv + sealed_by_them).decode()) == plain.decode()
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt("another key", sealed)
    body = b'{"encrypt":"x"}'
    signed = crypto.signature("1700000000", "nonce", key, body)
    assert signed == hashlib.sha256(b"1700000000nonce" + key.encode() + body).hexdigest()
    assert crypto.signature_ok("1700000000", "nonce", key, body, signed)


async def test_lark_oapis_rest_client_sends_uploads_and_reads_feishus_refusals() -> None:
    """The SDK's REST client, run in a thread: its `a*` methods fetch the tenant token with
    blocking `requests`, which would block an emulator on the same loop. Its token cache is
    process-wide and keyed by app id alone, so this app id is used by no other test."""
    feishu = FeishuEmulator(app_id="cli_emulated_rest")
    await feishu.start()
    feishu.add_user(USER)
    client = (
        lark.Client.builder()
        .app_id(feishu.app_id)
        .app_secret(feishu.app_secret)
        .domain(feishu.base_url)
        .log_level(lark.LogLevel.CRITICAL)
        .build()
    )

    def text(to: str) -> CreateMessageRequest:
        body = (
            CreateMessageRequestBody.builder()
            .receive_id(to)
            .msg_type("text")
            .content(json.dumps({"text": "你好"}))
            .uuid(f"once-{to}")
            .build()
        )
        return CreateMessageRequest.builder().receive_id_type("open_id").request_body(body).build()

    try:
        sent = await asyncio.to_thread(client.im.v1.message.create, text(USER))
        assert sent.code == 0 and sent.data.message_id == feishu.last(USER).message_id
        again = await asyncio.to_thread(client.im.v1.message.create, text(USER))
        assert again.data.message_id == sent.data.message_id and len(feishu.chat(USER)) == 1
        refused = await asyncio.to_thread(client.im.v1.message.create, text("ou_stranger"))
        assert (refused.code, refused.raw.status_code) == (230013, 400)
        upload = CreateFileRequest.builder().request_body(
            CreateFileRequestBody.builder()
            .file_type("stream")
            .file_name("说明.txt")
            .file(io.BytesIO(b"abc"))
            .build()
        )
        uploaded = await asyncio.to_thread(client.im.v1.file.create, upload.build())
        assert feishu.files[uploaded.data.file_key] == (b"abc", "说明.txt")
        assert feishu.token_fetches == 1
        feishu.revoke_tokens()  # the SDK keeps its cached token: Feishu's refusal comes back
        revoked = await asyncio.to_thread(client.im.v1.message.create, text(USER))
        assert revoked.code == 99991663
    finally:
        await feishu.stop()
