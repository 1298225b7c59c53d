"""The playground page's JSON API without a browser: who may call it, what it serves, the clock.

The page and the personas' chats live on one aiohttp app; these tests call it
over real HTTP, as the page does, with the real bot attached.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import Settings
from bot.playground import (
    COORDINATOR_PERSONA,
    DINGTALK_PERSONAS,
    FEISHU_PERSONAS,
    PERSONAS,
    Playground,
    start_playground,
)
from bot.playground_page import WEB_DIR
from channels.dingtalk.emulator import Message as DingTalkMessage
from channels.feishu.emulator import Message as FeishuMessage
from channels.telegram.channel import TelegramChannel

ENTERPRISE = PERSONAS[0]
FEISHU_ENTERPRISE = FEISHU_PERSONAS[0]
DINGTALK_SPECIALIST = DINGTALK_PERSONAS[1]


def settings_for(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{tmp_path / 'playground.db'}",
        coordinator_ids=frozenset(),
    )


@pytest.fixture
async def playground(tmp_path: Path) -> AsyncIterator[Playground]:
    started = await start_playground(settings_for(tmp_path), port=0)
    yield started
    await started.stop()


@pytest.fixture
async def http(playground: Playground) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=playground.page.url) as session:
        yield session


async def call(
    http: aiohttp.ClientSession, path: str, body: dict[str, Any] | None = None, status: int = 200
) -> Any:
    if body is None:
        response = await http.get(path)
    else:
        response = await http.post(path, json=body)
    assert response.status == status, await response.text()
    data = await response.json()
    return data["result"] if status == 200 else data["description"]


async def poll_until(http: aiohttp.ClientSession, since: int, kind: str) -> dict[str, Any]:
    """Long-poll as the page does until an event of this kind came; everything since `since`."""
    events: list[dict[str, Any]] = []
    result: dict[str, Any] = {}
    while not any(e["kind"] == kind for e in events):
        result = await call(http, f"/api/events?since={since}&wait=10")
        assert result["events"], f"no {kind} within the long poll"
        events += result["events"]
        since = result["last_seq"]
    return {**result, "events": events}


async def test_a_message_typed_on_the_page_reaches_the_bot_and_comes_back_as_events(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    state = await call(http, "/api/state")
    assert [p["user_id"] for p in state["personas"]] == [p.user_id for p in PERSONAS]
    assert ("telegram", str(COORDINATOR_PERSONA)) in playground.bot.settings.coordinator_ids
    await call(http, f"/api/chats/{ENTERPRISE.user_id}/message", {"text": "/start"})
    result = await poll_until(http, 0, "bot_message")
    assert result["events"][0]["kind"] == "user_message"
    consent = next(e["message"] for e in result["events"] if e["kind"] == "bot_message")
    assert consent["chat_id"] == ENTERPRISE.user_id and consent["entities"]
    assert result["keyboards"] == {str(p.user_id): None for p in PERSONAS}
    # Nothing new: the long poll waits, then answers empty from where the page is.
    later = await call(http, f"/api/events?since={result['last_seq']}&wait=0.2")
    assert later["events"] == [] and later["last_seq"] == result["last_seq"]

    data = consent["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await call(
        http,
        f"/api/chats/{ENTERPRISE.user_id}/press",
        {"message_id": consent["message_id"], "callback_data": data},
    )
    pressed = await poll_until(http, result["last_seq"], "callback_answer")
    assert pressed["events"][0]["kind"] == "callback_query"
    commands = await call(http, f"/api/chats/{ENTERPRISE.user_id}/commands")
    assert {"start", "help"} <= {c["command"] for c in commands}


async def test_only_loopback_hosts_and_json_posts_are_served(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    response = await http.get("/api/state", headers={"Host": "evil.example:8080"})
    assert response.status == 403
    response = await http.post(
        f"/api/chats/{ENTERPRISE.user_id}/message", data="text=/start"
    )  # a cross-site form would post like this
    assert response.status == 415
    assert playground.emulator.events() == []
    assert "not a persona" in await call(http, "/api/chats/42/commands", status=404)
    assert "integer" in await call(http, "/api/chats/abc/commands", status=400)
    page = await http.get("/")
    assert page.status == 200 and "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"


async def test_files_the_bot_sends_are_downloads_and_only_images_show_inline(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    playground.emulator.send_message(ENTERPRISE.user_id, "/help")  # the chat is open now
    assert playground.bot.core is not None
    bot = playground.bot.core.channels["telegram"]
    assert isinstance(bot, TelegramChannel)
    document = await bot.bot.send_document(
        ENTERPRISE.user_id, document=b"<script>alert(1)</script>", filename="报告.html"
    )
    response = await http.get(f"/api/chats/{ENTERPRISE.user_id}/files/{document.message_id}")
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename*=UTF-8''%E6%8A%A5%E5%91%8A.html"
    )
    png = b"\x89PNG\r\n\x1a\n" + bytes(32)
    photo = await bot.bot.send_photo(ENTERPRISE.user_id, photo=png)
    response = await http.get(f"/api/chats/{ENTERPRISE.user_id}/files/{photo.message_id}")
    assert response.headers["Content-Type"] == "image/png"
    assert await response.read() == png
    # A "photo" whose bytes are a page is not shown: it can only be downloaded.
    fake = await bot.bot.send_photo(ENTERPRISE.user_id, photo=b"<html><script>x()</script>")
    response = await http.get(f"/api/chats/{ENTERPRISE.user_id}/files/{fake.message_id}")
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "no file" in await call(http, f"/api/chats/{ENTERPRISE.user_id}/files/999", status=404)


async def test_the_clock_only_skips_forward_and_reports_the_jobs_it_ran(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    assert "between" in await call(http, "/api/clock/advance", {"seconds": 30}, status=400)
    assert "between" in await call(http, "/api/clock/advance", {"seconds": -3600}, status=400)
    before = await call(http, "/api/clock")
    assert before["offset_seconds"] == 0
    moved = await call(http, "/api/clock/advance", {"seconds": 86400})
    assert moved["clock"]["offset_seconds"] == 86400
    assert playground.clock.offset == dt.timedelta(days=1)
    assert isinstance(moved["ran"], list)
    assert moved["clock"]["now"] > before["now"]


async def test_a_persona_can_be_added_by_name_but_not_without_one(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    added = await call(http, "/api/personas", {"name": "Dr. Keller", "language_code": "en"})
    assert added["user_id"] == max(p.user_id for p in PERSONAS) + 1
    assert added["role"] == "guest" and added["phone"].startswith("+86")
    assert playground.emulator.user(added["user_id"]).language_code == "en"
    assert "name" in await call(http, "/api/personas", {"name": " "}, status=400)
    assert "demo" in await call(http, "/api/personas", {"demo_id": 1}, status=404)


def _catalog(locale: str) -> dict[str, Any]:
    return json.loads((WEB_DIR / "i18n" / f"{locale}.json").read_text(encoding="utf-8"))


def test_the_page_strings_exist_in_both_languages_with_the_same_placeholders() -> None:
    zh, en = _catalog("zh_CN"), _catalog("en")
    assert zh.keys() == en.keys()
    for key in zh:
        assert set(re.findall(r"\{(\w+)\}", str(zh[key]))) == set(
            re.findall(r"\{(\w+)\}", str(en[key]))
        ), key
    assert len(zh["weekdays"]) == len(en["weekdays"]) == 7
    used = set(re.findall(r'data-i18n(?:-placeholder|-aria)?="([\w.]+)"', _read("index.html")))
    script = _read("app.js")
    used |= set(re.findall(r'\bt\("([\w.]+)"', script))
    used |= set(re.findall(r'translated\("\w+", "[\w-]*", "([\w.]+)"', script))
    personas = (*PERSONAS, *FEISHU_PERSONAS, *DINGTALK_PERSONAS)
    used |= {f"role.{p.role}" for p in personas} | {"role.guest"}
    # A WeCom, Feishu or DingTalk column names its keys after its platform (app.js, MemberPane).
    platforms = ("wecom", "feishu", "dingtalk")
    used |= {f"{platform}.{key}" for platform in platforms for key in MEMBER_PANE_KEYS}
    assert used and used <= zh.keys(), used - zh.keys()


MEMBER_PANE_KEYS = ("platform", "short", "empty", "placeholder")


def _read(name: str) -> str:
    return (WEB_DIR / name).read_text(encoding="utf-8")


async def test_a_wecom_member_plays_the_same_programme_through_encrypted_callbacks(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    state = await call(http, "/api/state")
    assert state["wecom_personas"] == [{"userid": "zhaogong", "name": "赵工", "role": "enterprise"}]
    await call(http, "/api/wecom/zhaogong/message", {"text": "你好"})
    await playground.bot.wait_idle(10)
    you, notice, card = (await call(http, "/api/wecom/zhaogong"))["messages"]
    assert you == {"from": "member", "text": "你好"}
    assert notice["kind"] == "text" and "我们保存什么" in notice["text"]
    assert [b["label"] for b in card["buttons"]] == ["✅ 同意", "不同意", "English"]
    agree = card["buttons"][0]["key"]
    await call(http, "/api/wecom/zhaogong/click", {"task_id": card["task_id"], "key": agree})
    await playground.bot.wait_idle(10)
    shown = (await call(http, "/api/wecom/zhaogong"))["messages"]
    assert shown[2]["greyed"] == "✓" and shown[-1]["text"] == "请选择语言："
    # A greyed card's button, or one that never was, is refused and nothing is sent.
    click = {"task_id": card["task_id"], "key": agree}
    assert "no such button" in await call(http, "/api/wecom/zhaogong/click", click, status=400)
    assert "not a WeCom persona" in await call(http, "/api/wecom/nobody", status=404)


async def test_after_a_restart_whoever_wrote_can_be_written_to_and_guests_come_back(
    tmp_path: Path,
) -> None:
    """The bot's reminders to people who wrote before the restart reach them (Telegram
    knows their chats), and personas added on the page are there again."""
    settings = settings_for(tmp_path)
    first = await start_playground(settings, port=0)
    try:
        async with aiohttp.ClientSession(base_url=first.page.url) as http:
            guest = await call(http, "/api/personas", {"name": "Dr. Keller", "language_code": "en"})
            since = 0
            for who in (ENTERPRISE.user_id, guest["user_id"]):
                await call(http, f"/api/chats/{who}/message", {"text": "/start"})
                since = (await poll_until(http, since, "bot_message"))["last_seq"]
    finally:
        await first.stop()

    again = await start_playground(settings, port=0)
    try:
        async with aiohttp.ClientSession(base_url=again.page.url) as http:
            state = await call(http, "/api/state")
        assert guest["user_id"] in [p["user_id"] for p in state["personas"]]
        emulator = again.emulator
        async with aiohttp.ClientSession() as bot_api:

            async def reaches(chat_id: int) -> bool:
                url = f"{emulator.base_url}{emulator.token}/sendMessage"
                async with bot_api.post(url, json={"chat_id": chat_id, "text": "…"}) as response:
                    return bool((await response.json())["ok"])

            assert await reaches(ENTERPRISE.user_id) and await reaches(guest["user_id"])
            assert not await reaches(PERSONAS[1].user_id)  # never wrote: Telegram says no
    finally:
        await again.stop()


def rows(card: dict[str, Any]) -> list[list[str]]:
    """A Feishu card's buttons as the page lays them out: a row per column set."""
    return [[b["label"] for b in e["buttons"]] for e in card["elements"] if "buttons" in e]


def button(card: dict[str, Any], label: str) -> dict[str, Any]:
    return next(b for e in card["elements"] for b in e.get("buttons", []) if b["label"] == label)


async def test_a_feishu_persona_plays_the_same_programme_over_the_long_connection(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    state = await call(http, "/api/state")
    assert state["feishu_personas"] == [
        {"open_id": "ou_qianjingli", "name": "钱经理", "role": "enterprise"},
        {"open_id": "ou_zhouyanjiuyuan", "name": "周研究员", "role": "specialist"},
    ]
    chat = f"/api/feishu/{FEISHU_ENTERPRISE.open_id}"
    await call(http, f"{chat}/message", {"text": "/start"})
    await playground.bot.wait_idle(10)
    you, card = (await call(http, chat))["messages"]
    assert you == {"from": "member", "text": "/start"}
    assert card["kind"] == "interactive" and "我们保存什么" in card["elements"][0]["text"]
    assert rows(card) == [["✅ 同意", "不同意"], ["English"]]
    agree = {"message_id": card["message_id"], "value": button(card, "✅ 同意")["value"]}
    clicked = await call(http, f"{chat}/click", agree)
    assert clicked["toast"] == {"type": "info", "content": "谢谢！"}
    await playground.bot.wait_idle(10)
    shown = (await call(http, chat))["messages"]
    # The card changed where it was: the same message, its text kept, its buttons gone.
    assert shown[1]["message_id"] == card["message_id"] and rows(shown[1]) == []
    assert shown[1]["elements"] == card["elements"][:1]
    assert shown[-1]["text"] == "请选择语言：" and rows(shown[-1]) == [["中文"], ["English"]]
    # A button the card no longer has, or never had, is refused and nothing is sent.
    assert "no such button" in await call(http, f"{chat}/click", agree, status=400)
    assert "not a Feishu persona" in await call(http, "/api/feishu/ou_nobody", status=404)

    # A file goes as Feishu sends one, with no caption; the bot asks for a click.
    document = {"kind": "document", "name": "简介.pdf"}
    await call(http, f"{chat}/attachment", document)
    await playground.bot.wait_idle(10)
    shown = (await call(http, chat))["messages"]
    sent = shown.index({"from": "member", "kind": "document", "name": "简介.pdf"})
    assert shown[sent + 1]["text"] == "请点击上面消息中的按钮。"


async def test_files_the_bot_sends_on_feishu_are_downloads_and_only_images_show_inline(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    open_id = FEISHU_ENTERPRISE.open_id
    png = b"\x89PNG\r\n\x1a\n" + bytes(32)
    playground.feishu.chats[open_id] += [
        FeishuMessage("om_file", "file", "", media=b"<script>x()</script>", name="报告.html"),
        FeishuMessage("om_image", "image", "", media=png),
        FeishuMessage("om_fake", "image", "", media=b"<html><script>x()</script>"),
    ]
    shown = (await call(http, f"/api/feishu/{open_id}"))["messages"]
    assert shown[0]["name"] == "报告.html" and shown[0]["size"] == 20
    response = await http.get(shown[0]["url"])
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename*=UTF-8''%E6%8A%A5%E5%91%8A.html"
    )
    response = await http.get(shown[1]["url"])
    assert response.headers["Content-Type"] == "image/png" and await response.read() == png
    response = await http.get(shown[2]["url"])
    assert response.headers["Content-Disposition"].startswith("attachment")
    missing = f"/api/feishu/{open_id}/files/om_nothing"
    assert "no file" in await call(http, missing, status=404)


async def test_a_guest_can_be_added_as_a_feishu_user(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    added = await call(http, "/api/personas", {"name": "孙工", "platform": "feishu"})
    assert added["name"] == "孙工" and added["role"] == "guest"
    assert re.fullmatch(r"ou_[0-9a-f]{32}", added["open_id"])
    assert playground.feishu.users[added["open_id"]].name == "孙工"
    assert added in (await call(http, "/api/state"))["feishu_personas"]
    await call(http, f"/api/feishu/{added['open_id']}/message", {"text": "/start"})
    await playground.bot.wait_idle(10)
    assert rows((await call(http, f"/api/feishu/{added['open_id']}"))["messages"][-1])
    assert "name" in await call(http, "/api/personas", {"platform": "feishu"}, status=400)


async def test_after_a_restart_feishu_guests_come_back_and_their_chats_go_on(
    tmp_path: Path,
) -> None:
    """A Feishu user added on the page who wrote is in the app's range again, under the
    name the page gave them (Feishu tells the bot none), and the bot answers them."""
    settings = settings_for(tmp_path)
    first = await start_playground(settings, port=0)
    try:
        async with aiohttp.ClientSession(base_url=first.page.url) as http:
            guest = await call(http, "/api/personas", {"name": "孙工", "platform": "feishu"})
            silent = await call(http, "/api/personas", {"name": "没说话", "platform": "feishu"})
            await call(http, f"/api/feishu/{guest['open_id']}/message", {"text": "/start"})
            await first.bot.wait_idle(10)
    finally:
        await first.stop()

    again = await start_playground(settings, port=0)
    try:
        async with aiohttp.ClientSession(base_url=again.page.url) as http:
            state = await call(http, "/api/state")
            assert state["feishu_personas"] == [
                *({"open_id": p.open_id, "name": p.name, "role": p.role} for p in FEISHU_PERSONAS),
                guest,
            ]
            assert silent["open_id"] not in again.feishu.users  # never wrote: not known
            chat = f"/api/feishu/{guest['open_id']}"
            await call(http, f"{chat}/message", {"text": "/start"})
            await again.bot.wait_idle(10)
            card = (await call(http, chat))["messages"][-1]
            assert card["from"] == "bot" and rows(card)
    finally:
        await again.stop()


async def test_a_dingtalk_persona_plays_the_same_programme_with_cards_over_the_stream(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    state = await call(http, "/api/state")
    assert state["dingtalk_personas"] == [
        {"userid": "zhengzhuren", "name": "郑主任", "role": "enterprise"},
        {"userid": "wulaoshi", "name": "吴老师", "role": "specialist"},
    ]
    chat = f"/api/dingtalk/{DINGTALK_SPECIALIST.userid}"
    await call(http, f"{chat}/message", {"text": "/start"})
    await playground.bot.wait_idle(10)
    you, card = (await call(http, chat))["messages"]
    assert you == {"from": "member", "text": "/start"}
    assert card["kind"] == "card" and "我们保存什么" in card["text"]
    labels = [b["label"] for b in card["buttons"]]
    assert labels == ["✅ 同意", "不同意", "English"]
    agree = {
        "out_track_id": card["out_track_id"],
        "params": next(b["params"] for b in card["buttons"] if b["label"] == "✅ 同意"),
    }
    assert await call(http, f"{chat}/click", agree) == {}
    await playground.bot.wait_idle(10)
    await playground.dingtalk.wait_until(
        lambda: len(playground.dingtalk.chat(DINGTALK_SPECIALIST.userid)) >= 3
    )
    shown = (await call(http, chat))["messages"]
    # The card changed where it was: the same message, its text kept, its buttons gone.
    assert shown[1]["message_id"] == card["message_id"] and shown[1]["buttons"] == []
    assert "我们保存什么" in shown[1]["text"]
    # DingTalk's cards show no toast: the click's answer is a short message of its own.
    assert any(m["text"] == "谢谢！" for m in shown[2:]), shown
    last = shown[-1]
    assert "请选择语言" in last["text"] and [b["label"] for b in last["buttons"]] == [
        "中文",
        "English",
    ]
    # A button the card no longer has, or never had, is refused and nothing is sent.
    assert "no such button" in await call(http, f"{chat}/click", agree, status=400)
    assert "not a DingTalk persona" in await call(http, "/api/dingtalk/nobody", status=404)

    # A file goes as DingTalk sends one, with no caption; the bot asks for a click.
    document = {"kind": "document", "name": "简介.pdf"}
    await call(http, f"{chat}/attachment", document)
    await playground.bot.wait_idle(10)
    shown = (await call(http, chat))["messages"]
    sent = shown.index({"from": "member", "kind": "document", "name": "简介.pdf"})
    assert len(shown) > sent + 1 and shown[sent + 1]["from"] == "bot"


async def test_files_the_bot_sends_on_dingtalk_are_downloads_and_only_images_show_inline(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    userid = DINGTALK_SPECIALIST.userid
    png = b"\x89PNG\r\n\x1a\n" + bytes(32)
    playground.dingtalk.chats[userid] += [
        DingTalkMessage("m_file", "file", "", media=b"<script>x()</script>", name="报告.html"),
        DingTalkMessage("m_image", "file", "", media=png, name="图.png"),
        DingTalkMessage("m_fake", "file", "", media=b"<html><script>x()</script>", name="a.png"),
    ]
    shown = (await call(http, f"/api/dingtalk/{userid}"))["messages"]
    assert shown[0]["name"] == "报告.html" and shown[0]["size"] == 20
    response = await http.get(shown[0]["url"])
    assert response.headers["Content-Type"] == "application/octet-stream"
    response = await http.get(shown[1]["url"])
    assert response.headers["Content-Type"] == "image/png" and await response.read() == png
    response = await http.get(shown[2]["url"])
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "no file" in await call(http, f"/api/dingtalk/{userid}/files/m_no", status=404)


async def test_a_guest_can_be_added_as_a_dingtalk_member_and_comes_back_after_a_restart(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path)
    first = await start_playground(settings, port=0)
    try:
        async with aiohttp.ClientSession(base_url=first.page.url) as http:
            guest = await call(http, "/api/personas", {"name": "冯工", "platform": "dingtalk"})
            assert guest["name"] == "冯工" and guest["role"] == "guest"
            assert first.dingtalk.users[guest["userid"]].name == "冯工"
            assert guest in (await call(http, "/api/state"))["dingtalk_personas"]
            await call(http, f"/api/dingtalk/{guest['userid']}/message", {"text": "/start"})
            await first.bot.wait_idle(10)
            shown = (await call(http, f"/api/dingtalk/{guest['userid']}"))["messages"]
            assert shown[-1]["buttons"]
    finally:
        await first.stop()

    again = await start_playground(settings, port=0)
    try:
        async with aiohttp.ClientSession(base_url=again.page.url) as http:
            state = await call(http, "/api/state")
            assert state["dingtalk_personas"][-1] == guest
            chat = f"/api/dingtalk/{guest['userid']}"
            await call(http, f"{chat}/message", {"text": "/start"})
            await again.bot.wait_idle(10)
            card = (await call(http, chat))["messages"][-1]
            assert card["from"] == "bot" and card["buttons"]
    finally:
        await again.stop()
