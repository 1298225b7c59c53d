"""End-to-end harness: the real bot polling the project's Bot API emulator over HTTP.

A test plays users: `journey.send(user, text)` and `journey.press(user, label)`
return what the bot sent or edited in that user's chat in reaction, once the
bot has kept the update, applied it and delivered everything it caused
(watched in the emulator and in the pipeline, not guessed with sleeps).
`journey.restart()` stops the bot like a process exit and starts a new one on
the same database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import re
import socket
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.local import QUICK_PACE, LocalBot, telegram_on
from bot.runner import BotProcess
from channels.base import Outcome
from channels.dingtalk.channel import CARD_CAPABILITIES as DINGTALK_CARDS
from channels.dingtalk.channel import PLAIN_CAPABILITIES as DINGTALK_PLAIN
from channels.dingtalk.channel import DingTalkApp, DingTalkChannel
from channels.dingtalk.emulator import DingTalkEmulator
from channels.feishu.channel import CAPABILITIES as FEISHU
from channels.feishu.channel import FeishuApp, FeishuChannel
from channels.feishu.emulator import FeishuEmulator
from channels.telegram.emulator import BotApiEmulator
from channels.telegram.emulator.models import SentMessage, User
from channels.wecom.channel import CAPABILITIES as WECOM
from channels.wecom.channel import WeComApp, WeComChannel
from channels.wecom.emulator import WeComEmulator
from handlers.core.views import plain
from handlers.services import Services
from storage.buttons import resolve_token
from storage.clock import ManualClock
from storage.db import Database
from tests.e2e.dingtalk_people import DingTalkPeople
from tests.e2e.feishu_people import FeishuPeople
from tests.e2e.stub import StubChannel, StubPlatform
from tests.e2e.wecom_people import NUMBERED, WeComPeople
from tests.people import playing

COORDINATOR_ID = 900_001
PLATFORMS = ["telegram", "stub", "wecom", "feishu", "dingtalk"]
# DingTalk with its card template (deploy/dingtalk/) plays every journey; "dingtalk_plain",
# without one, plays those marked `played_on("dingtalk_plain")` (no buttons, no edits:
# the suite's journeys read buttons and edits in place, which it does not have).
DINGTALK_TEMPLATE = "techmatch.view"
SETTLE_TIMEOUT = 15.0
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:" + "T" * 35  # shaped like a real token, so Settings accept it
WEBHOOK_SECRET = "s3cret-" + "x" * 25
# A tag of the markup the bot sends, seen as characters: a text escaped twice.
LITERAL_MARKUP = re.compile(r"</?(?:b|i|u|s|a|code|pre|blockquote)(?:\s[^<>]*)?>")
# Journeys click faster than people: WeCom paced like an emulator that enforces nothing.
WECOM_QUICK = dataclasses.replace(
    WECOM, per_address_rate=1000.0, per_address_burst=1000, overall_rate=5000.0
)
FEISHU_QUICK = dataclasses.replace(
    FEISHU, per_address_rate=1000.0, per_address_burst=1000, overall_rate=5000.0
)
DINGTALK_QUICK = dataclasses.replace(
    DINGTALK_CARDS, per_address_rate=1000.0, per_address_burst=1000, overall_rate=5000.0
)
DINGTALK_PLAIN_QUICK = dataclasses.replace(
    DINGTALK_PLAIN, per_address_rate=1000.0, per_address_burst=1000, overall_rate=5000.0
)


@dataclass
class Journey:
    emulator: Any  # the Bot API emulator, or a StubPlatform: the same questions answered
    bot: LocalBot
    db: Database
    clock: ManualClock
    users: dict[str, User] = field(default_factory=dict)
    platform: str = "telegram"
    typed_markup: bool = False  # the test's people type markup, which they must see as typed
    _before: dict[int, str] = field(default_factory=dict)  # the actor's chat before an act
    _answered: int = 0  # how many answers the actor had before their last press

    def user(self, user_id: int, name: str = "测试", language_code: str | None = "zh-hans") -> User:
        return self.emulator.add_user(user_id=user_id, first_name=name, language_code=language_code)

    async def settle(self) -> None:
        """Wait until the bot kept everything it was sent (the emulator saw it confirmed),
        applied it, delivered what that caused, and went quiet."""
        await self.emulator.wait_until_idle(timeout=SETTLE_TIMEOUT)
        await self.bot.wait_idle(SETTLE_TIMEOUT)
        await self.emulator.wait_until_idle(timeout=SETTLE_TIMEOUT)

    def reactions(self, user: User, mark: int) -> list[SentMessage]:
        """Messages the bot sent or edited in the user's chat since mark, newest state, in order."""
        seen: dict[int, SentMessage] = {}
        for event in self.emulator.events(chat_id=user.id, since=mark):
            if event.message is not None:
                seen[event.message.message_id] = event.message
        return self.checked(list(seen.values()))

    def news(self, reactions: list[SentMessage]) -> list[SentMessage]:
        """Of the acting person's reactions, what they get to read: new messages, and
        messages whose text changed. A message that only lost its buttons is not news
        (on WeCom, a clicked card whose answer follows as a message of its own)."""
        return [m for m in reactions if self._before.get(m.message_id) != m.text]

    def shown(self, reactions: list[SentMessage]) -> list[SentMessage]:
        """The reactions the acting person reads: all of them where the platform edits any
        time; on WeCom, not a clicked card that only went grey, its answer following as a
        message of its own (a card is changed once, answering its click, into a card)."""
        if self.platform != "wecom":
            return reactions
        return [
            m
            for m in reactions
            if m.buttons or m.message_id not in self._before or self._before[m.message_id] != m.text
        ]

    @property
    def numbers_choices(self) -> bool:
        """More choices than a message holds come as numbered lines to type back (WeCom,
        Feishu and DingTalk: a card holds few buttons, or, without a card template, none)."""
        return self.platform in ("wecom", "feishu", "dingtalk", "dingtalk_plain")

    @property
    def edits(self) -> bool:
        """The platform changes a message the bot sent in place, any time (WeCom only in
        answer to a click, DingTalk without a card template never)."""
        return self.platform not in ("wecom", "dingtalk_plain")

    @property
    def menus(self) -> bool:
        """Each chat has a command menu of its own (not one for the whole app, set in the
        platform's console)."""
        return self.platform in ("telegram", "stub")

    @property
    def named_on_press(self) -> bool:
        """A press tells the bot the person's name: Telegram's updates name them; WeCom's
        and Feishu's callbacks and DingTalk's card clicks carry ids only (without a card
        template, a DingTalk choice is typed: a message, which names them)."""
        return self.platform in ("telegram", "stub", "dingtalk_plain")

    @property
    def shares_contact(self) -> bool:
        """The platform has a button that shares the person's phone number."""
        return self.platform in ("telegram", "stub")

    def choices(self, message: SentMessage) -> list[str]:
        """What the person can choose on a message: its buttons; on WeCom and Feishu, where
        more than a card holds come as numbered lines to type back, those lines' labels."""
        if message.buttons or not self.numbers_choices:
            return list(message.buttons)
        return [label for _, label in NUMBERED.findall(message.text)]

    def replaces(self, new: SentMessage, old: SentMessage) -> bool:
        """Whether the person reads `new` in place of `old`: the same message changed, where
        the platform edits any time; on WeCom, which changes a card only once in answer to
        its click and only into another card, the same card redrawn, or, for what a card
        cannot show, a later message while the old card's buttons went grey."""
        if new.message_id == old.message_id:
            return True
        if self.platform != "wecom" or new.message_id < old.message_id:
            return False
        now = {m.message_id: m for m in self.emulator.chat(new.chat_id)}
        return old.message_id in now and now[old.message_id].buttons == []

    def checked(self, messages: list[SentMessage]) -> list[SentMessage]:
        """What people see never shows markup as characters (a text escaped twice), unless
        the test typed markup itself (`typed_markup`)."""
        if not self.typed_markup:
            for message in messages:
                assert not LITERAL_MARKUP.search(message.text or ""), message.text
        return messages

    async def act(self, user: User, deliver: Callable[[], object]) -> list[SentMessage]:
        """One thing the user does (deliver queues its update); what the bot did in reaction."""
        ready = getattr(self.emulator, "ready", None)
        if ready is not None:
            await ready(user, self.settle)
        self._before = {m.message_id: m.text for m in self.emulator.chat(user.id)}
        mark = self.emulator.mark()
        deliver()
        await self.settle()
        return self.reactions(user, mark)

    async def send(self, user: User, text: str) -> list[SentMessage]:
        return await self.act(user, lambda: self.emulator.send_message(user, text))

    async def share_contact(self, user: User, phone: str) -> list[SentMessage]:
        return await self.act(user, lambda: self.emulator.send_contact(user, phone_number=phone))

    async def send_sticker(self, user: User) -> list[SentMessage]:
        return await self.act(user, lambda: self.emulator.send_sticker(user))

    async def send_photo(self, user: User) -> list[SentMessage]:
        return await self.act(user, lambda: self.emulator.send_photo(user))

    async def send_voice(self, user: User) -> list[SentMessage]:
        return await self.act(user, lambda: self.emulator.send_voice(user))

    async def press(
        self, user: User, label: str, message_id: int | None = None
    ) -> list[SentMessage]:
        self._answered = len(self.answers(user))
        return await self.act(user, lambda: self.emulator.press_button(user, label, message_id))

    def answered(
        self, user: User, reactions: list[SentMessage]
    ) -> tuple[str | None, list[SentMessage]]:
        """What the person was told in answer to their press, and the rest they read: the
        press's toast (WeCom's answer to a click is read as one); where the press was a
        number typed back (WeCom, more choices than a card holds), there is no click to
        answer and the answer is the message that came first."""
        if getattr(self.emulator, "typed", False):
            first, *rest = reactions
            assert not first.buttons, first
            return first.text, self.shown(rest)
        told = self.answers(user)[self._answered :]
        return (told[-1] if told else None), self.shown(reactions)

    async def press_data(self, user: User, message_id: int, data: str) -> list[SentMessage]:
        return await self.act(user, lambda: self.emulator.press_callback(user, message_id, data))

    async def data_behind(self, token: str) -> str:
        """The callback data a button's token stands for: pressed as raw data, it reaches the
        flows (as a button drawn before tokens existed would), whose own checks must hold."""
        found = await resolve_token(db=self.db, token=token)
        assert found is not None, token
        return found[1]

    def bot_messages(self) -> int:
        """How many messages the bot has sent, in every chat."""
        return sum(1 for event in self.emulator.events() if event.kind == "bot_message")

    def answers(self, user: User) -> list[str | None]:
        """Texts of the callback answers (toasts) the user got, in order."""
        return [answer.text for answer in self.emulator.callback_answers(chat_id=user.id)]

    async def run_job(self, name: str) -> list[SentMessage]:
        """Run a scheduled job now; what it sent, in every chat."""
        mark = self.emulator.mark()
        await self.bot.run_job(name)
        await self.settle()
        seen: dict[tuple[int, int], SentMessage] = {}
        for event in self.emulator.events(since=mark):
            if event.message is not None:
                seen[event.chat_id, event.message.message_id] = event.message
        return self.checked(list(seen.values()))

    async def restart(self) -> None:
        await self.bot.restart()

    @property
    def services(self) -> Services:
        assert self.bot.core is not None
        return self.bot.core.services

    def next_fire(self, job: str) -> dt.datetime | None:
        """When a scheduled job would fire next, from the wall clock's now."""
        assert self.bot.core is not None
        trigger = self.bot.core.scheduler.jobs[job].trigger
        assert trigger is not None
        found: dt.datetime | None = trigger.get_next_fire_time(None, dt.datetime.now(dt.UTC))
        return found


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    emulator = BotApiEmulator(token=TOKEN)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
def flood_limit() -> int:
    """Journeys click faster than people; the flood test sets the production limit."""
    return 10_000


@pytest.fixture
def settings(database_url: str, flood_limit: int) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        coordinator_ids=frozenset({("telegram", str(COORDINATOR_ID))}),
        default_locale="zh_CN",
        flood_limit=flood_limit,
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every journey plays on Telegram (through its emulator), on the stub platform, which
    has no Telegram in it, and on WeCom (through its emulator); a test about Telegram itself
    says so (`telegram_only`)."""
    if "platform" in metafunc.fixturenames:
        marked = metafunc.definition.get_closest_marker
        played_on = marked("played_on")
        if played_on is not None:
            metafunc.parametrize("platform", list(played_on.args))
            return
        metafunc.parametrize("platform", ["telegram"] if marked("telegram_only") else PLATFORMS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The stub platform and DingTalk without a card template play on SQLite only: what
    they check (the core fitting views to a platform without buttons or edits) does not
    depend on the database, and the other journeys cover PostgreSQL. Keeps the suite's
    time in minutes."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        params = getattr(item, "callspec", None)
        params = params.params if params is not None else {}
        sqlite_only = params.get("platform") in ("stub", "dingtalk_plain")
        both = sqlite_only and params.get("database_url") == "postgresql"
        (dropped if both else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
async def journey(
    settings: Settings,
    emulator: BotApiEmulator,
    db: Database,
    clock: ManualClock,
    platform: str,
) -> AsyncIterator[Journey]:
    played_on = "dingtalk" if platform == "dingtalk_plain" else platform
    playing(played_on)
    # The configured coordinator writes from the platform played.
    settings = settings.model_copy(
        update={"coordinator_ids": frozenset({(played_on, str(COORDINATOR_ID))})}
    )
    wecom: WeComEmulator | None = None
    feishu: FeishuEmulator | None = None
    dingtalk: DingTalkEmulator | None = None
    if platform == "stub":
        stub = StubPlatform()
        bot = LocalBot(settings, lambda _db: [StubChannel(stub)], clock)
        played: Any = stub
    elif platform == "wecom":
        wecom = WeComEmulator(clock=clock, per_member_minute=None)
        await wecom.start()
        people = WeComPeople(wecom)
        bot = LocalBot(settings, lambda db: [wecom_on(wecom, db, people)], clock)
        played = people
    elif platform == "feishu":
        feishu = FeishuEmulator(clock=clock, per_user_qps=None)
        await feishu.start()
        feishu_people = FeishuPeople(feishu)
        bot = LocalBot(settings, lambda db: [feishu_on(feishu, db, feishu_people)], clock)
        played = feishu_people
    elif platform in ("dingtalk", "dingtalk_plain"):
        dingtalk = DingTalkEmulator(clock=clock, qps=None)
        dingtalk.add_template(DINGTALK_TEMPLATE)
        await dingtalk.start()
        dingtalk_people = DingTalkPeople(dingtalk)
        cards = platform == "dingtalk"
        bot = LocalBot(
            settings, lambda db: [dingtalk_on(dingtalk, db, dingtalk_people, cards=cards)], clock
        )
        played = dingtalk_people
    else:
        bot = LocalBot(settings, lambda _db: [telegram_on(emulator)], clock)
        played = emulator
    await bot.start()
    assert bot.core is not None
    if wecom is not None:
        wecom.callback_url = f"http://127.0.0.1:{bot.port}/wecom"
    bot.core.scheduler.pause()  # jobs run when a test says so, at the test's time
    yield Journey(emulator=played, bot=bot, db=db, clock=clock, platform=platform)
    await bot.stop()
    if wecom is not None:
        await wecom.stop()
    if feishu is not None:
        await feishu.stop()
    if dingtalk is not None:
        await dingtalk.stop()
    playing("telegram")


def wecom_on(wecom: WeComEmulator, db: Database, people: WeComPeople) -> WeComChannel:
    """A WeCom channel for the emulator's app, paced like an emulator that enforces nothing,
    that tells the people which of its messages answer a click."""
    app = WeComApp(
        wecom.corp_id, wecom.agent_id, wecom.secret, wecom.token, wecom.aes_key, wecom.base_url
    )
    return AnsweringWeComChannel(app, db, people, capabilities=WECOM_QUICK, per_member_minute=None)


class AnsweringWeComChannel(WeComChannel):
    """The real WeCom channel; before it sends its answer to a click (a message of its own on
    WeCom, which has no notices) or a file's caption (a text just before the file), the
    journey's people learn what that message is."""

    def __init__(self, app: WeComApp, db: Database, people: WeComPeople, **kwargs: Any) -> None:
        super().__init__(app, db, **kwargs)
        self.people = people

    async def _deliver(self, run: Any) -> Outcome:
        body = run.item.body
        if run.item.kind == "answer" and body.get("text"):
            text = plain(body["text"])
            self.people.expect_answer(run.item.address, text, alert=bool(body.get("alert")))
        if run.item.kind == "file" and body.get("caption"):
            self.people.expect_caption(run.item.address, plain(body["caption"]))
        return await super()._deliver(run)


def feishu_on(feishu: FeishuEmulator, db: Database, people: FeishuPeople) -> FeishuChannel:
    """A Feishu channel over the emulator's long connection, paced like an emulator that
    enforces nothing, that tells the people which of its messages answer a click."""
    return AnsweringFeishuChannel(feishu_app(feishu), db, people, capabilities=FEISHU_QUICK)


def feishu_app(feishu: FeishuEmulator, **changes: Any) -> FeishuApp:
    app = FeishuApp(
        feishu.app_id,
        feishu.app_secret,
        feishu.encrypt_key,
        feishu.verification_token,
        domain=feishu.base_url,
    )
    return dataclasses.replace(app, **changes)


class AnsweringFeishuChannel(FeishuChannel):
    """The real Feishu channel; before it sends a click's answer as a message (too late
    for the toast) or a file's caption (a text just before the file), the journey's people
    learn what that message is."""

    def __init__(self, app: FeishuApp, db: Database, people: FeishuPeople, **kwargs: Any) -> None:
        super().__init__(app, db, **kwargs)
        self.people = people

    async def _answer(self, item: Any) -> None:
        body = item.body
        click = self._clicks.get(body.get("handle") or "")
        if body.get("text") and (click is None or click.toast.done()):
            alert = bool(body.get("alert"))
            self.people.expect_answer(item.address, plain(body["text"]), alert=alert)
        await super()._answer(item)

    async def _file(self, item: Any) -> None:
        if item.body.get("caption"):
            self.people.expect_caption(item.address, plain(item.body["caption"]))
        await super()._file(item)


def dingtalk_on(
    dingtalk: DingTalkEmulator, db: Database, people: DingTalkPeople, *, cards: bool
) -> DingTalkChannel:
    """A DingTalk channel over the emulator's Stream gateway (with the card template, or
    without one), paced like an emulator that enforces nothing, that tells the people which
    of its messages answer a click."""
    app = dingtalk_app(dingtalk, DINGTALK_TEMPLATE if cards else None)
    capabilities = DINGTALK_QUICK if cards else DINGTALK_PLAIN_QUICK
    return AnsweringDingTalkChannel(app, db, people, capabilities=capabilities)


def dingtalk_app(dingtalk: DingTalkEmulator, template: str | None) -> DingTalkApp:
    return DingTalkApp(
        dingtalk.client_id,
        dingtalk.client_secret,
        dingtalk.robot_code,
        card_template_id=template,
        api_base=dingtalk.base_url,
    )


class AnsweringDingTalkChannel(DingTalkChannel):
    """The real DingTalk channel; before it sends its answer to a click (a message of its
    own on DingTalk, whose cards show no notice) or a file's caption (a text just before the
    file), the journey's people learn what that message is."""

    def __init__(
        self, app: DingTalkApp, db: Database, people: DingTalkPeople, **kwargs: Any
    ) -> None:
        super().__init__(app, db, **kwargs)
        self.people = people

    async def _deliver(self, run: Any) -> Outcome:
        body = run.item.body
        if run.item.kind == "answer" and body.get("text"):
            text = plain(body["text"])
            self.people.expect_answer(run.item.address, text, alert=bool(body.get("alert")))
        if run.item.kind == "file" and body.get("caption"):
            self.people.expect_caption(run.item.address, plain(body["caption"]))
        return await super()._deliver(run)


async def spawn_bot(
    command: str, env: dict[str, str], *, stderr: int = asyncio.subprocess.STDOUT
) -> asyncio.subprocess.Process:
    """`python -m bot COMMAND` as production runs it, in its own process."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        command,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def webhook_env(database_url: str, emulator: BotApiEmulator, port: int) -> dict[str, str]:
    """The environment of a production webhook process talking to the emulator."""
    return {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": emulator.base_url,
        "DATABASE_URL": database_url,
        "WEBHOOK_URL": f"http://127.0.0.1:{port}",
        "WEBHOOK_PORT": str(port),
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "COORDINATOR_IDS": str(COORDINATOR_ID),
    }


@pytest.fixture
async def webhook_process(database_url: str, emulator: BotApiEmulator) -> AsyncIterator[BotProcess]:
    """The production process in webhook mode, in this test's event loop."""
    env = webhook_env(database_url, emulator, free_port())
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})  # type: ignore[arg-type]
    process = BotProcess(settings, webhook=True)
    # Paced for an emulator that enforces no limit (the production figures would make load
    # tests wait on Telegram's 30 messages a second and test nothing more).
    process.core.channels["telegram"].capabilities = QUICK_PACE
    await process.start()
    yield process
    await process.stop()
