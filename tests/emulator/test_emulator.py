"""The Bot API emulator driven by python-telegram-bot's real Bot and Application over HTTP."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
import telegram
from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, InvalidToken
from telegram.ext import AIORateLimiter, Application, ExtBot

from channels.telegram.emulator import BotApiEmulator, utf16_len

TOKEN = "123456:TEST"  # the token the conftest emulator is built with


def _keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


# ---------------------------------------------------------------------- transport and auth


async def test_get_me_wrong_token_and_unknown_method(emu: BotApiEmulator) -> None:
    async with telegram.Bot(TOKEN, base_url=emu.base_url) as bot:
        assert bot.username == "techmatch_bot"  # initialize() called getMe

    with pytest.raises(InvalidToken):
        async with telegram.Bot("999:WRONG", base_url=emu.base_url):
            pass

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{emu.base_url}999:WRONG/getMe") as response:
            assert response.status == 401
            assert await response.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with http.post(f"{emu.base_url}{TOKEN}/noSuchMethod") as response:
            assert response.status == 404
            assert (await response.json())["description"] == "Not Found"
        # Method names are case-insensitive; JSON bodies work as well as forms.
        async with http.post(f"{emu.base_url}{TOKEN}/GETME", json={}) as response:
            assert (await response.json())["result"]["username"] == "techmatch_bot"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])
async def test_non_loopback_host_refused(host: str) -> None:
    with pytest.raises(ValueError, match=r"(?i)non-loopback"):
        await BotApiEmulator().start(host=host)


# ---------------------------------------------------------------------- with an Application


async def test_application_round_trip_and_button(emu: BotApiEmulator, app: Application) -> None:
    user = emu.add_user(user_id=1001, first_name="王工", language_code="zh-hans")

    emu.send_message(user, "hello 世界")
    reply = await emu.wait_for_message(user.id)
    assert reply.text == "echo: hello 世界"

    emu.send_message(user, "/start enterprise")
    welcome = await emu.wait_for_message(user.id)
    assert welcome.text == "Welcome to TechMatch"
    assert welcome.html == "<b>Welcome</b> to TechMatch"
    assert welcome.entities == ({"type": "bold", "offset": 0, "length": 7},)
    assert welcome.buttons == ["Enterprise", "专家"]

    query_id = emu.press_button(user, "专家")
    edited = await emu.wait_for_message(user.id, predicate=lambda m: m.edited)
    assert edited.message_id == welcome.message_id
    assert edited.text == "You chose role:expert"
    assert edited.buttons == []  # the edit did not repeat the keyboard
    await emu.wait_until_idle(timeout=3)
    [answer] = emu.callback_answers(user.id)
    assert (answer.query_id, answer.text, answer.show_alert) == (
        query_id,
        "chose role:expert",
        False,
    )
    assert emu.pending_updates == []

    with pytest.raises(LookupError, match=r"(?i)available"):
        emu.press_button(user, "Nope")


async def test_wait_for_message_timeout_lists_history(
    emu: BotApiEmulator, app: Application
) -> None:
    user = emu.add_user(1002, "Ann")
    emu.send_message(user, "ping")
    await emu.wait_for_message(user.id)
    mark = emu.mark()
    with pytest.raises(TimeoutError, match=r"(?i)echo: ping"):
        await emu.wait_for_message(user.id, after=mark, timeout=0.2)


# ---------------------------------------------------------------------- limits via a plain Bot


@pytest.fixture
def chat_id(emu: BotApiEmulator) -> int:
    user = emu.add_user(2001, "Li")
    emu.send_message(user, "hi")  # a chat exists once its user has written
    return user.id


async def test_chat_not_found_until_user_writes(emu: BotApiEmulator, bot: telegram.Bot) -> None:
    emu.add_user(2002, "Silent")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(2002, "hello")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(424242, "hello")


async def test_html_entities_accepted_with_utf16_offsets(
    emu: BotApiEmulator, bot: telegram.Bot, chat_id: int
) -> None:
    message = await bot.send_message(
        chat_id,
        '😀 <b>粗体</b> <a href="https://example.com">link</a> &lt;x&gt; &amp; '
        '<pre><code class="language-python">x = 1</code></pre>',
        parse_mode=ParseMode.HTML,
    )
    assert message.text == "😀 粗体 link <x> & x = 1"
    kinds = [(e.type, e.offset, e.length) for e in message.entities]
    # The emoji is two UTF-16 code units, so bold starts at 3.
    assert kinds == [("bold", 3, 2), ("text_link", 6, 4), ("pre", 17, 5)]
    assert message.entities[1].url == "https://example.com"
    assert message.entities[2].language == "python"


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("if a < b then", 'unsupported start tag "" at byte offset 5'),
        ("<blink>x</blink>", 'unsupported start tag "blink" at byte offset 0'),
        ("<b>bold", 'can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", "unmatched end tag at byte offset 4"),
        ("x</b>", "unexpected end tag at byte offset 1"),
        ("R&D", 'unescaped "&" at byte offset 1'),
        ("王<i>x", "can't find end tag"),
    ],
)
async def test_html_rejected_like_telegram(
    bot: telegram.Bot, chat_id: int, html: str, reason: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        await bot.send_message(chat_id, html, parse_mode=ParseMode.HTML)
    # python-telegram-bot strips "Bad Request: " and capitalize()s the rest.
    assert caught.value.message.lower() == f"can't parse entities: {reason}".lower() or (
        reason.lower() in caught.value.message.lower()
    )


async def test_markdown_refused_clearly(bot: telegram.Bot, chat_id: int) -> None:
    with pytest.raises(BadRequest, match=r"(?i)only HTML"):
        await bot.send_message(chat_id, "*x*", parse_mode=ParseMode.MARKDOWN_V2)


async def test_text_length_limits(emu: BotApiEmulator, bot: telegram.Bot, chat_id: int) -> None:
    await bot.send_message(chat_id, "x" * 4096)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(chat_id, "x" * 4097)
    # Counted after entity parsing: tags do not count, entities do not either.
    await bot.send_message(chat_id, "<b>" + "y" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    # UTF-16 code units: an emoji counts twice.
    await bot.send_message(chat_id, "😀" * 2048)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(chat_id, "😀" * 2048 + "x")
    for empty in ("", "   ", "<b></b>"):
        with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
            await bot.send_message(chat_id, empty, parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_document(chat_id, b"data", filename="a.txt", caption="c" * 1025)
    assert [utf16_len(m.text) for m in emu.chat(chat_id)] == [4096, 4096, 4096]


async def test_callback_data_counted_in_utf8_bytes(bot: telegram.Bot, chat_id: int) -> None:
    fits = "a" + "专" * 21  # 1 + 63 = 64 bytes
    too_long = "ab" + "专" * 21  # 65 bytes, although only 23 characters
    assert len(fits.encode()) == 64 and len(too_long.encode()) == 65
    await bot.send_message(chat_id, "ok", reply_markup=_keyboard([("A", fits)]))
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(chat_id, "no", reply_markup=_keyboard([("A", too_long)]))


async def test_too_many_inline_buttons(bot: telegram.Bot, chat_id: int) -> None:
    hundred = [[(f"b{r}{c}", f"d{r}{c}") for c in range(5)] for r in range(20)]
    await bot.send_message(chat_id, "100 buttons", reply_markup=_keyboard(*hundred))
    with pytest.raises(BadRequest, match=r"(?i)reply markup is too long"):
        await bot.send_message(chat_id, "101", reply_markup=_keyboard(*hundred, [("x", "x")]))
    with pytest.raises(BadRequest, match=r"(?i)reply markup is too long"):
        await bot.send_message(
            chat_id, "9 in a row", reply_markup=_keyboard([(str(i), str(i)) for i in range(9)])
        )


async def test_reply_keyboard_and_reply_to(
    emu: BotApiEmulator, bot: telegram.Bot, chat_id: int
) -> None:
    sent = await bot.send_message(
        chat_id,
        "share?",
        reply_markup=ReplyKeyboardMarkup([["Yes", "No"]], one_time_keyboard=True),
        reply_to_message_id=1,
    )
    assert sent.reply_markup is None  # Telegram only echoes inline keyboards
    assert sent.reply_to_message is not None and sent.reply_to_message.text == "hi"
    assert emu.reply_keyboard(chat_id) == [["Yes", "No"]]
    emu.send_message(chat_id, "Yes")
    assert emu.reply_keyboard(chat_id) is None  # one-time keyboard hidden after use
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(chat_id, "x", reply_to_message_id=999)


async def test_answer_callback_query_rules(
    emu: BotApiEmulator, bot: telegram.Bot, chat_id: int
) -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    emu.set_clock(lambda: now)
    await bot.send_message(chat_id, "pick", reply_markup=_keyboard([("Go", "go")]))
    first = emu.press_button(chat_id, "data:go")
    with pytest.raises(BadRequest, match=r"(?i)MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(first, text="x" * 201)
    assert await bot.answer_callback_query(first, text="x" * 200, show_alert=True)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(first)  # already answered
    with pytest.raises(BadRequest, match=r"(?i)query id is invalid"):
        await bot.answer_callback_query("123")

    second = emu.press_button(chat_id, "Go")
    now += timedelta(seconds=16)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(second)
    assert [(a.query_id, a.show_alert) for a in emu.callback_answers(chat_id)] == [(first, True)]


async def test_forged_callback_for_missing_message(
    emu: BotApiEmulator, bot: telegram.Bot, chat_id: int
) -> None:
    emu.press_callback(chat_id, 999, "admin:delete_all")
    updates = await bot.get_updates()
    query = updates[-1].callback_query
    assert query is not None and query.data == "admin:delete_all"
    # date 0 marks an inaccessible message; PTB keeps the Message class but says so.
    assert query.message is not None and not query.message.is_accessible


async def test_edit_not_modified_and_not_found(
    emu: BotApiEmulator, bot: telegram.Bot, chat_id: int
) -> None:
    markup = _keyboard([("A", "a")])
    message = await bot.send_message(chat_id, "<b>v1</b>", parse_mode="HTML", reply_markup=markup)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "<b>v1</b>", chat_id, message.message_id, parse_mode="HTML", reply_markup=markup
        )
    # Same text without the bold entity is a modification.
    edited = await bot.edit_message_text("v1", chat_id, message.message_id, reply_markup=markup)
    assert isinstance(edited, telegram.Message) and not edited.entities
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(chat_id, message.message_id, reply_markup=markup)
    await bot.edit_message_reply_markup(chat_id, message.message_id, reply_markup=None)
    assert emu.last(chat_id).buttons == [] and emu.last(chat_id).edited

    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id, 999)
    assert await bot.delete_message(chat_id, message.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id, message.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(chat_id, message.message_id)
    assert emu.chat(chat_id)[-1].deleted
    kinds = [e.kind for e in emu.events(chat_id)]
    assert kinds == ["user_message", "bot_message", "bot_edit", "bot_edit", "message_deleted"]


async def test_429_injection_with_aio_rate_limiter(emu: BotApiEmulator, chat_id: int) -> None:
    emu.inject_429(count=3, retry_after=1, method="sendMessage")
    limited = ExtBot(TOKEN, base_url=emu.base_url, rate_limiter=AIORateLimiter(max_retries=3))
    texts = [f"message {i}" for i in range(5)]
    async with limited:
        started = time.monotonic()
        await asyncio.gather(*(limited.send_message(chat_id, text) for text in texts))
        elapsed = time.monotonic() - started
    assert sorted(m.text for m in emu.chat(chat_id)) == texts  # each exactly once
    assert emu.stats.served_429["sendMessage"] == 3
    assert emu.stats.sent["sendMessage"] == 5
    assert 1.0 <= elapsed < 4  # the limiter waited retry_after + 0.1 s


async def test_429_body_shape(emu: BotApiEmulator, chat_id: int) -> None:
    emu.inject_429(count=1, retry_after=2)
    async with aiohttp.ClientSession() as http:
        url = f"{emu.base_url}{TOKEN}/sendMessage"
        async with http.post(url, data={"chat_id": str(chat_id), "text": "x"}) as response:
            assert response.status == 429
            assert await response.json() == {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 2",
                "parameters": {"retry_after": 2},
            }
        async with http.post(url, data={"chat_id": str(chat_id), "text": "x"}) as response:
            assert response.status == 200


async def test_enforced_rate_limits_per_chat(emu: BotApiEmulator, chat_id: int) -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    emu.set_clock(lambda: now)
    emu.enforce_rate_limits = True
    async with telegram.Bot(TOKEN, base_url=emu.base_url) as bot:
        for i in range(3):  # the burst
            await bot.send_message(chat_id, f"burst {i}")
        with pytest.raises(telegram.error.RetryAfter) as caught:
            await bot.send_message(chat_id, "one too many")
        # channels.telegram opts in to PTB's timedelta durations (see its __init__).
        assert caught.value.retry_after == timedelta(seconds=1)
        now += timedelta(seconds=1)
        await bot.send_message(chat_id, "after a second")
    assert emu.stats.served_429["sendMessage"] == 1


async def test_document_and_photo_upload_kept(
    emu: BotApiEmulator, bot: telegram.Bot, chat_id: int
) -> None:
    payload = bytes(range(256)) * 10
    message = await bot.send_document(
        chat_id,
        payload,
        filename="报告.pdf",
        caption="<b>Report</b> for you",
        parse_mode="HTML",
    )
    assert message.document is not None and message.document.file_name == "报告.pdf"
    assert message.caption == "Report for you" and message.caption_entities[0].type == "bold"
    stored = emu.last(chat_id)
    assert stored.kind == "document" and stored.document == ("报告.pdf", payload)

    photo = await bot.send_photo(chat_id, b"\x89PNG fake bytes")
    assert photo.photo and emu.last(chat_id).photo == b"\x89PNG fake bytes"
    by_id = await bot.send_document(chat_id, message.document.file_id)
    assert emu.last(chat_id).document == ("报告.pdf", payload)
    assert by_id.document is not None

    async with aiohttp.ClientSession() as http:
        url = f"{emu.url}/_emulator/chats/{chat_id}/files/{message.message_id}"
        async with http.get(url) as response:
            assert await response.read() == payload
            assert response.content_type == "application/pdf"


async def test_user_document_downloadable_by_bot(emu: BotApiEmulator, bot: telegram.Bot) -> None:
    user = emu.add_user(3001, "Zhao")
    emu.send_document(user, "cv.txt", b"curriculum vitae")
    [update] = await bot.get_updates()
    assert update.message is not None and update.message.document is not None
    file = await update.message.document.get_file()
    assert bytes(await file.download_as_bytearray()) == b"curriculum vitae"


async def test_long_poll_returns_promptly(emu: BotApiEmulator, bot: telegram.Bot) -> None:
    user = emu.add_user(4001, "Wang")
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await emu.wait_for_poller()
    started = time.monotonic()
    emu.send_message(user, "wake up")
    updates = await poll
    assert time.monotonic() - started < 0.5
    assert [u.message.text for u in updates if u.message] == ["wake up"]
    # offset confirms: the update is gone after the next call with offset = id + 1.
    assert await bot.get_updates(offset=updates[-1].update_id + 1) == ()
    assert emu.pending_updates == []


async def test_webhook_delivery_secret_retry_and_conflict(
    emu: BotApiEmulator, bot: telegram.Bot
) -> None:
    received: list[tuple[int, str | None]] = []
    arrived = asyncio.Event()
    failures_left = 1

    async def hook(request: web.Request) -> web.Response:
        nonlocal failures_left
        if failures_left:
            failures_left -= 1
            return web.Response(status=500)  # Telegram retries, and so does the emulator
        body = await request.json()
        received.append(
            (body["message"]["text"], request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        )
        if len(received) == 2:
            arrived.set()
        return web.Response()

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    runner = web.AppRunner(receiver)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        with pytest.raises(BadRequest, match=r"(?i)loopback"):
            await bot.set_webhook("https://example.com/hook")
        with pytest.raises(BadRequest, match=r"(?i)secret token"):
            await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="bad token!")
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cr_et-1")
        user = emu.add_user(5001, "Hook")
        emu.send_message(user, "first")
        emu.send_message(user, "second")
        await asyncio.wait_for(arrived.wait(), 5)
        assert received == [("first", "s3cr_et-1"), ("second", "s3cr_et-1")]
        assert emu.stats.webhook_retries == 1 and emu.stats.webhook_deliveries == 2
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook") and info.pending_update_count == 0
        assert info.last_error_message is not None and "500" in info.last_error_message
        with pytest.raises(Conflict, match=r"(?i)webhook is active"):
            await bot.get_updates()
        assert await bot.delete_webhook()
        assert await bot.get_updates() == ()
    finally:
        await runner.cleanup()


async def test_webhook_gives_up_and_records(emu: BotApiEmulator, bot: telegram.Bot) -> None:
    emu.webhook_backoff = 0.01
    # Nothing listens on this port (it was just released), so every attempt fails.
    probe = web.AppRunner(web.Application())
    await probe.setup()
    site = web.TCPSite(probe, "127.0.0.1", 0)
    await site.start()
    port = probe.addresses[0][1]
    await probe.cleanup()
    await bot.set_webhook(f"http://127.0.0.1:{port}/hook")
    user = emu.add_user(5002, "Lost")
    update = emu.send_message(user, "into the void")
    await emu.wait_until_idle(timeout=3)
    assert emu.stats.webhook_failed_update_ids == [update["update_id"]]
    assert emu.stats.webhook_failures == 1 and emu.stats.webhook_retries == 3


async def test_commands_per_scope_and_language(emu: BotApiEmulator, bot: telegram.Bot) -> None:
    await bot.set_my_commands([("start", "Start"), ("help", "Help")])
    await bot.set_my_commands([("start", "开始")], language_code="zh")
    await bot.set_my_commands(
        [("admin", "Admin")], scope=telegram.BotCommandScopeChat(chat_id=1001)
    )
    assert emu.commands() == [("start", "Start"), ("help", "Help")]
    assert emu.commands(language_code="zh") == [("start", "开始")]
    assert emu.commands(scope={"type": "chat", "chat_id": 1001}) == [("admin", "Admin")]
    assert [c.command for c in await bot.get_my_commands(language_code="zh")] == ["start"]
    user = emu.add_user(1002, "王工", language_code="zh-hans")
    assert emu.visible_commands(user) == [("start", "开始")]
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Start", "uppercase")])
    with pytest.raises(BadRequest, match=r"(?i)language_code"):
        await bot.set_my_commands([("start", "x")], language_code="zh-hans")
    assert await bot.delete_my_commands(language_code="zh")
    assert emu.commands(language_code="zh") == []


async def test_harmless_methods(emu: BotApiEmulator, bot: telegram.Bot, chat_id: int) -> None:
    assert await bot.send_chat_action(chat_id, "typing")
    assert await bot.set_chat_menu_button(chat_id, telegram.MenuButtonCommands())
    assert isinstance(await bot.get_chat_menu_button(chat_id), telegram.MenuButtonCommands)
    chat = await bot.get_chat(chat_id)
    assert chat.first_name == "Li" and chat.type == "private"
    assert await bot.set_my_description("Matches problems with experts")
    assert (await bot.get_my_description()).description == "Matches problems with experts"


async def test_playground_http_api(emu: BotApiEmulator, app: Application) -> None:
    base = f"{emu.url}/_emulator"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/users", json={"user_id": 7001, "first_name": "Web"}) as r:
            assert (await r.json())["result"]["id"] == 7001
        async with http.post(f"{base}/users/7001/message", json={"text": "/start"}) as r:
            since = (await r.json())["result"]["seq"]
        async with http.get(f"{base}/chats/7001", params={"since": since, "wait": 5}) as r:
            events = (await r.json())["result"]["events"]
        assert events[0]["kind"] == "bot_message"
        message = events[0]["message"]
        assert message["buttons"] == ["Enterprise", "专家"]
        async with http.post(
            f"{base}/users/7001/press",
            json={"message_id": message["message_id"], "callback_data": "role:ent"},
        ) as r:
            assert (await r.json())["result"]["callback_query_id"]
        await emu.wait_until_idle(timeout=3)
        async with http.get(f"{base}/chats/7001") as r:
            kinds = [e["kind"] for e in (await r.json())["result"]["events"]]
        assert kinds[-3:] == ["callback_query", "callback_answer", "bot_edit"] or kinds[-3:] == [
            "callback_query",
            "bot_edit",
            "callback_answer",
        ]
        async with http.get(f"{base}/users") as r:
            assert [u["id"] for u in (await r.json())["result"]] == [7001]
        # Errors come back as envelopes; a form post (possible cross-site) is refused.
        async with http.post(f"{base}/users/9/message", json={"text": "x"}) as r:
            assert r.status == 404
        async with http.post(f"{base}/users", data={"first_name": "csrf"}) as r:
            assert r.status == 415
        async with http.get(f"{base}/users", headers={"Host": "evil.example:80"}) as r:
            assert r.status == 403


async def test_second_poller_terminates_the_first(emu: BotApiEmulator, bot: telegram.Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await emu.wait_for_poller()
    # A second bot instance (PTB's own getUpdates pool has one connection).
    async with telegram.Bot(TOKEN, base_url=emu.base_url) as other:
        assert await other.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates"):
        await first


async def test_negative_offset_and_limit(emu: BotApiEmulator, bot: telegram.Bot) -> None:
    user = emu.add_user(4002, "Many")
    for i in range(5):
        emu.send_message(user, f"m{i}")
    assert [u.message.text for u in await bot.get_updates(limit=2) if u.message] == ["m0", "m1"]
    latest = await bot.get_updates(offset=-2)
    assert [u.message.text for u in latest if u.message] == ["m3", "m4"]
    assert len(emu.pending_updates) == 2  # older ones were forgotten


async def test_user_media_shapes_parse_in_ptb(emu: BotApiEmulator, bot: telegram.Bot) -> None:
    user = emu.add_user(4003, "Media", username="media_user")
    emu.send_contact(user, phone_number="+8613800000000")
    emu.send_contact(user, phone_number="+8613900000000", first_name="Other", user_id=None)
    emu.send_photo(user, caption="look")
    emu.send_sticker(user)
    emu.send_voice(user)
    messages: list[Any] = [u.message for u in await bot.get_updates()]  # PTB de_json'd them
    contact, foreign, photo, sticker, voice = messages
    assert contact.contact.user_id == user.id and contact.contact.phone_number == "+8613800000000"
    assert foreign.contact.user_id is None and foreign.contact.first_name == "Other"
    assert photo.photo[-1].width == 1 and photo.caption == "look"
    assert sticker.sticker.emoji == "👍"
    assert voice.voice.mime_type == "audio/ogg"
    assert contact.from_user.username == "media_user"


async def test_wait_until_idle_after_a_burst(emu: BotApiEmulator, app: Application) -> None:
    users = [emu.add_user(6000 + i, f"U{i}") for i in range(5)]
    for user in users:
        for n in range(3):
            emu.send_message(user, f"{user.first_name}-{n}")
    await emu.wait_until_idle(timeout=5)
    for user in users:
        assert [m.text for m in emu.chat(user.id)] == [
            f"echo: {user.first_name}-{n}" for n in range(3)
        ]


async def test_blocked_user_gives_forbidden(emu: BotApiEmulator, bot: telegram.Bot) -> None:
    user = emu.add_user(4004, "Gone")
    emu.send_message(user, "bye")
    emu.set_blocked(user)
    with pytest.raises(telegram.error.Forbidden, match=r"(?i)blocked by the user"):
        await bot.send_message(user.id, "still there?")
