"""The local playground: the Bot API emulator on 127.0.0.1 with the real bot attached.

`make run` without a token lands here. A web page on PLAYGROUND_PORT is the
chat client for a few personas (an enterprise, a specialist, a coordinator and
any added there, on Telegram's emulator; an enterprise on the WeCom emulator's,
whose callbacks reach the bot encrypted as WeCom's do; an enterprise, a
specialist and any added there on the Feishu emulator's, whose events reach the
bot over the real long connection; an enterprise, a specialist and any added there
on the DingTalk emulator's, over the real Stream connection, every view a card of
the channel's template), with a clock that skips ahead
(bot/playground_page.py) and resumes where it was after a restart on the same
database (bot/playground_clock.py); the Bot API emulator listens on the next port,
where its /_emulator/ API serves other clients such as curl. When stdin is a
terminal, the terminal is a chat client too. `--demo` first fills the database
with a small programme (bot/demo/).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import logging
import re
import signal
import sys
import time
from dataclasses import dataclass

from bot.config import Settings
from bot.demo import load_demo, people
from bot.local import LocalBot, telegram_on
from bot.playground_clock import kept_offset
from bot.playground_guests import guest_names
from bot.playground_page import (
    DingTalkPersona,
    FeishuPersona,
    Persona,
    PlaygroundPage,
    WeComPersona,
)
from channels.dingtalk.channel import DingTalkApp, DingTalkChannel
from channels.dingtalk.emulator import DingTalkEmulator
from channels.feishu.channel import FeishuApp, FeishuChannel
from channels.feishu.emulator import FeishuEmulator
from channels.telegram.emulator import BotApiEmulator
from channels.telegram.emulator.models import SentMessage, User
from channels.wecom.channel import WeComApp, WeComChannel
from channels.wecom.emulator import WeComEmulator
from storage.clock import OffsetClock, SystemClock
from storage.db import Database
from storage.identities import known_accounts
from storage.migrate import upgrade

log = logging.getLogger(__name__)

COORDINATOR_PERSONA = 1003
HELP = """\
Or talk to the bot here as {name} (user {user_id}):
  any text          send it as a message (commands too: /start, /help, ...)
  #N                press button N of the newest message with buttons
  :contact PHONE    share a phone number through Telegram's contact button
  :as ID            play another persona: 1001 enterprise, 1002 specialist, 1003 coordinator
  :quit             stop
Or over HTTP, from another terminal:
  curl -s -X POST {url}/_emulator/users/1001/message \\
       -H 'Content-Type: application/json' -d '{{"text": "/start"}}'
  curl -s {url}/_emulator/chats/1001
"""
# The same programme on WeCom: a member of the corp's app, drawn as WeCom draws cards.
WECOM_PERSONAS = (WeComPersona("zhaogong", "赵工", "enterprise"),)
# And on Feishu: users of the corp's custom app, its cards drawn as Feishu draws them.
FEISHU_PERSONAS = (
    FeishuPersona("ou_qianjingli", "钱经理", "enterprise"),
    FeishuPersona("ou_zhouyanjiuyuan", "周研究员", "specialist"),
)
# And on DingTalk (钉钉): staff of the organisation, every view a card of the template.
DINGTALK_PERSONAS = (
    DingTalkPersona("zhengzhuren", "郑主任", "enterprise"),
    DingTalkPersona("wulaoshi", "吴老师", "specialist"),
)
# The card template the DingTalk channel fills (deploy/dingtalk/), registered on the emulator.
DINGTALK_TEMPLATE = "techmatch.view"
PERSONAS = (
    Persona(1001, "王经理", "enterprise", "+8613800001001", "zh-hans"),
    Persona(1002, "李教授", "specialist", "+8613900001002", "zh-hans"),
    Persona(COORDINATOR_PERSONA, "Coordinator Zhang", "coordinator", "+8613700001003", "en"),
)


@dataclass
class Console:
    """A line-based chat client over the emulator's user side."""

    emulator: BotApiEmulator
    bot: LocalBot
    user: User

    async def settle(self) -> None:
        # Updates the web page sent meanwhile are waited for too.
        await self.emulator.wait_until_idle(timeout=30)
        await self.bot.wait_idle(30)
        await self.emulator.wait_until_idle(timeout=30)

    def show(self, since: int) -> None:
        latest: dict[int, SentMessage] = {}
        for event in self.emulator.events(chat_id=self.user.id, since=since):
            if event.message is not None and not event.message.deleted:
                latest[event.message.message_id] = event.message
        for message in latest.values():
            print(f"\n[bot] {plain(message.text)}")
            for number, label in enumerate(message.buttons, 1):
                print(f"   #{number} {label}")

    async def handle(self, line: str) -> bool:
        """One line typed by the person at the terminal; False to stop."""
        mark = self.emulator.mark()
        if line == ":quit":
            return False
        if match := re.fullmatch(r":as\s+(\d+)", line):
            self.user = self.emulator.user(int(match.group(1)))
            print(f"now playing user {self.user.id} ({self.user.first_name})")
            return True
        if match := re.fullmatch(r":contact\s+(\+?[\d\s-]+)", line):
            self.emulator.send_contact(self.user, phone_number=match.group(1).strip())
        elif match := re.fullmatch(r"#(\d+)", line):
            try:
                self.press(int(match.group(1)))
            except LookupError as exc:
                print(exc)
                return True
        else:
            self.emulator.send_message(self.user, line)
        await self.settle()
        self.show(mark)
        return True

    def press(self, number: int) -> None:
        for message in reversed(self.emulator.chat(self.user.id)):
            if message.buttons and not message.deleted:
                labels = message.buttons
                if not 1 <= number <= len(labels):
                    raise LookupError(f"the newest message has buttons #1-#{len(labels)}")
                data = message.callback_data[number - 1]
                self.emulator.press_callback(self.user, message.message_id, data)
                return
        raise LookupError("no message with buttons yet")


def plain(text: str) -> str:
    """Telegram HTML as terminal text."""
    return html.unescape(re.sub(r"</?[a-z-]+[^>]*>", "", text))


@dataclass
class Playground:
    """Everything `make run` starts without a token; tests drive the same assembly."""

    emulator: BotApiEmulator
    bot: LocalBot
    page: PlaygroundPage
    clock: OffsetClock
    wecom: WeComEmulator
    feishu: FeishuEmulator
    dingtalk: DingTalkEmulator

    async def stop(self) -> None:
        await self.page.stop()
        await self.bot.stop()
        await self.emulator.stop()
        await self.wecom.stop()
        await self.feishu.stop()
        await self.dingtalk.stop()


async def start_playground(
    settings: Settings, *, demo: bool = False, port: int | None = None
) -> Playground:
    """Migrate (and fill with the demo when asked), then start the emulator, bot and page.

    The page listens on `port`, PLAYGROUND_PORT by default, and the emulator on the
    next port; port 0 (tests) lets both pick free ones.
    """
    port = settings.playground_port if port is None else port
    upgrade(settings.database_url)
    demo_people = people() if demo else []
    clock = OffsetClock()
    db = Database(settings.database_url)
    try:
        # The simulated time goes on from where the last playground on this database left it.
        ahead = await kept_offset(db=db, wall=SystemClock().now())
        if ahead > dt.timedelta():
            clock.advance(ahead)
            log.info("simulated time resumes %s ahead of the wall", ahead)
        known = await known_accounts(db=db, platform="telegram")
        feishu_known = await known_accounts(db=db, platform="feishu")
        feishu_names = await guest_names(db=db, platform="feishu")
        dingtalk_known = await known_accounts(db=db, platform="dingtalk")
        dingtalk_names = await guest_names(db=db, platform="dingtalk")
        if demo:
            added = await load_demo(db=db, now=clock.now())
            log.info(
                "demo programme: %d enterprises, %d demands and %d specialists added "
                "(nothing is added twice)",
                added.enterprises,
                added.demands,
                added.specialists,
            )
    finally:
        await db.dispose()
    settings = settings.model_copy(
        update={
            "coordinator_ids": settings.coordinator_ids | {("telegram", str(COORDINATOR_PERSONA))}
        }
    )
    # Update ids go on rising across restarts on the same database, as Telegram's do: the
    # inbox remembers the ids it applied and would take a repeat for a redelivery.
    emulator = BotApiEmulator(clock=clock.now, first_update_id=_rising_update_id())
    await emulator.start(port=_free_port_after(port))
    # Whoever wrote before a restart may be written to at once, and guests come back.
    wrote = {int(account) for account, _, _ in known if account.isdigit()}
    guests = _guests(known, {p.user_id for p in PERSONAS} | {p.telegram_id for p in demo_people})
    for persona in [*PERSONAS, *guests]:
        emulator.add_user(
            persona.user_id,
            persona.name,
            language_code=persona.language_code,
            started=persona.user_id in wrote,
        )
    for person in demo_people:
        # They talked to the bot when they registered, so it may write to them.
        language = "zh-hans" if person.locale.startswith("zh") else "en"
        emulator.add_user(person.telegram_id, person.name, language_code=language, started=True)
    wecom = WeComEmulator(clock=clock)
    await wecom.start()
    for member in WECOM_PERSONAS:
        wecom.add_member(member.userid, member.name)
    app = WeComApp(
        wecom.corp_id, wecom.agent_id, wecom.secret, wecom.token, wecom.aes_key, wecom.base_url
    )
    # Feishu waits 3 s for an event's acknowledgement before it delivers the event again.
    feishu = FeishuEmulator(clock=clock, ack_timeout=3.0)
    await feishu.start()
    feishu_guests = [
        FeishuPersona(account, feishu_names.get(account) or name or account, "guest")
        for account, name, _ in feishu_known
        if account not in {p.open_id for p in FEISHU_PERSONAS}
    ]
    for user in [*FEISHU_PERSONAS, *feishu_guests]:
        feishu.add_user(user.open_id, user.name)
    feishu_app = FeishuApp(
        feishu.app_id,
        feishu.app_secret,
        feishu.encrypt_key,
        feishu.verification_token,
        domain=feishu.base_url,
    )
    # DingTalk waits some seconds for an event's ack before it sends the event again.
    dingtalk = DingTalkEmulator(clock=clock)
    dingtalk.add_template(DINGTALK_TEMPLATE)
    await dingtalk.start()
    dingtalk_guests = [
        DingTalkPersona(account, dingtalk_names.get(account) or name or account, "guest")
        for account, name, _ in dingtalk_known
        if account not in {p.userid for p in DINGTALK_PERSONAS}
    ]
    for staff in [*DINGTALK_PERSONAS, *dingtalk_guests]:
        dingtalk.add_user(staff.userid, staff.name)
    dingtalk_app = DingTalkApp(
        dingtalk.client_id,
        dingtalk.client_secret,
        dingtalk.robot_code,
        card_template_id=DINGTALK_TEMPLATE,
        api_base=dingtalk.base_url,
    )
    bot = LocalBot(
        settings,
        lambda db: [
            telegram_on(emulator, quick=False),
            WeComChannel(app, db),
            FeishuChannel(feishu_app, db),
            DingTalkChannel(dingtalk_app, db),
        ],
        clock,
    )
    await bot.start()
    wecom.callback_url = f"http://127.0.0.1:{bot.port}{app.callback_path}"
    page = PlaygroundPage(
        emulator=emulator,
        wecom=wecom,
        wecom_personas=list(WECOM_PERSONAS),
        feishu=feishu,
        feishu_personas=[*FEISHU_PERSONAS, *feishu_guests],
        dingtalk=dingtalk,
        dingtalk_personas=[*DINGTALK_PERSONAS, *dingtalk_guests],
        bot=bot,
        clock=clock,
        timezone=settings.timezone,
        personas=[*PERSONAS, *guests],
        demo_people=demo_people,
    )
    await page.start(port)
    return Playground(emulator, bot, page, clock, wecom, feishu, dingtalk)


def _guests(known: list[tuple[str, str | None, str | None]], taken: set[int]) -> list[Persona]:
    """Personas added on the page before a restart: the accounts the bot knows that are
    neither the fixed personas nor demo people (erased people are no longer known)."""
    return [
        Persona(
            int(account),
            name or account,
            "guest",
            f"+86137{int(account):08d}",
            "en" if (language or "").startswith("en") else "zh-hans",
        )
        for account, name, language in known
        if account.isdigit() and int(account) not in taken
    ]


async def serve(settings: Settings, *, demo: bool = False) -> None:
    """Run the playground until interrupted; the terminal chats too when it is one."""
    playground = await start_playground(settings, demo=demo)
    emulator = playground.emulator
    console = Console(emulator, playground.bot, emulator.user(PERSONAS[0].user_id))
    print(f"Playground: open {playground.page.url} in a browser (no Telegram token needed)")
    print(f"Bot API emulator: {emulator.url}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        if sys.stdin.isatty():
            print(
                HELP.format(name=console.user.first_name, user_id=console.user.id, url=emulator.url)
            )
            await _chat(console, stop)
        else:
            await stop.wait()
    finally:
        await playground.stop()


def _rising_update_id() -> int:
    """An update id above any this playground gave before: a thousand a second since 2026."""
    return max(1, int((time.time() - 1_767_225_600) * 1000))


def _free_port_after(port: int) -> int:
    """The emulator's port: the one after the page's, or any free one if the page's is 0."""
    return 0 if port == 0 else port % 65535 + 1


async def _chat(console: Console, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        reader = loop.run_in_executor(None, sys.stdin.readline)
        stopper = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if reader not in done:
            return
        line = reader.result()
        if not line:  # end of input
            return
        with contextlib.suppress(ValueError):
            if line.strip() and not await console.handle(line.strip()):
                return
