"""The playground in a real browser: three personas click through the programme.

Headless Chromium (Debian's package, driven by Playwright) opens the page that
`make run` serves without a token, on a database filled by `--demo`. An
enterprise registers and files a demand (sharing its phone through the reply
keyboard), a specialist registers, the coordinator approves them and reads
/stats, the clock skips a week, the page switches to English, a demo person
joins, and a phone-sized window shows tabs. Between steps the test waits for the
bot to finish and the page to draw everything (no sleeps). Shorter tests check
the page's details: answers of several lines, a tab on a phone opening at the
newest message, the add-persona dialog and notices leaving room, files sent with
the paper clip, Feishu's cards and toasts, and the simulated time after a restart.

Screenshots go to the test's tmp folder; with PLAYGROUND_SCREENSHOT=docs/playground.png
the README's picture is written too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import os
import re
import shutil
import subprocess
import time
import wave
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from io import BytesIO
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from bot.config import Settings
from bot.playground import COORDINATOR_PERSONA, Playground, start_playground
from channels.telegram.channel import TelegramChannel
from handlers.flood import LIMIT as FLOOD_LIMIT
from handlers.flood import WINDOW as FLOOD_WINDOW
from handlers.i18n import Catalogs
from storage.clock import SystemClock
from storage.db import Database
from storage.jobs import claim_job_run
from storage.migrate import upgrade
from storage.models import Demand, Enterprise, JobRun, Specialist, SpecialistStatus, User
from tests.people import by_account

ROOT = Path(__file__).resolve().parents[2]
RENDER_JS = ROOT / "bot" / "playground_web" / "render.js"
README_PICTURE = ROOT / "docs" / "playground.png"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ENTERPRISE, SPECIALIST = 1001, 1002
LAPTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
CATALOGS = Catalogs.load("zh_CN")


def zh(msgid: str, **params: object) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", CATALOGS.translate("zh_CN", msgid, **params)))


def en(msgid: str, **params: object) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", CATALOGS.translate("en", msgid, **params)))


# Debian packages the page needs: the browser, and fonts for Chinese and emoji (looks only).
PACKAGES = {
    "chromium": CHROMIUM,
    "fonts-wqy-microhei": Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    "fonts-noto-color-emoji": Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"),
}


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, installed here when missing and we may (never a downloaded build)."""
    pytest.importorskip("playwright.async_api", reason="playwright missing: pip install '.[dev]'")
    missing = [name for name, path in PACKAGES.items() if not path.exists()]
    if missing and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False, capture_output=True)
        done = subprocess.run(
            ["apt-get", "install", "-y", "-qq", *missing],
            env=env,
            check=False,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 and not CHROMIUM.exists():
            pytest.skip(f"apt-get could not install chromium: {done.stderr.strip()[-300:]}")
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium, and no root apt-get here: apt-get install chromium")
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


def playground_settings(database: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{database}",
        coordinator_ids=frozenset(),
        default_locale="zh_CN",
    )


@pytest.fixture
async def playground(tmp_path: Path) -> AsyncIterator[Playground]:
    started = await start_playground(
        playground_settings(tmp_path / "playground.db"), demo=True, port=0
    )
    yield started
    await started.stop()


@pytest.fixture
async def bare_playground(tmp_path: Path) -> AsyncIterator[Playground]:
    """Without the demo programme: quicker, for what one person does on the page."""
    started = await start_playground(playground_settings(tmp_path / "playground.db"), port=0)
    yield started
    await started.stop()


@dataclass
class Screen:
    """The page as a person uses it, and the waits that make each step deterministic."""

    page: Any
    playground: Playground
    shots: Path
    recent: dict[int, deque[float]] = field(default_factory=dict)

    async def pace(self, user_id: int) -> None:
        """Stay under the bot's flood gate, which counts real seconds: a person is slower."""
        stamps = self.recent.setdefault(user_id, deque())
        while stamps and time.monotonic() - stamps[0] > FLOOD_WINDOW:
            stamps.popleft()
        if len(stamps) >= FLOOD_LIMIT - 2:
            await asyncio.sleep(FLOOD_WINDOW - (time.monotonic() - stamps.popleft()) + 0.2)
        stamps.append(time.monotonic())

    def pane(self, user_id: int) -> Any:
        return self.page.locator(f'section[data-persona="{user_id}"]')

    def last_bot_text(self, user_id: int) -> Any:
        return self.pane(user_id).locator(".msg.from-bot .text").last

    def _user_actions(self) -> int:
        return sum(
            1
            for e in self.playground.emulator.events()
            if e.kind in ("user_message", "callback_query")
        )

    async def settled(self, before: int) -> None:
        """The click reached the bot, the bot finished, and the page drew the outcome."""
        from playwright.async_api import expect

        emulator, bot = self.playground.emulator, self.playground.bot
        async with asyncio.timeout(15):
            while self._user_actions() <= before:  # the browser's request is on its way
                await emulator.wait_for_events(None, emulator.mark(), 15)
        await emulator.wait_until_idle(timeout=15)  # the bot kept it
        await bot.wait_idle(15)  # applied it and delivered what it caused
        await emulator.wait_until_idle(timeout=15)
        await expect(self.page.locator("body")).to_have_attribute(
            "data-seq",
            str(emulator.mark()),
            timeout=15_000,  # as above: a shared, busy machine
        )

    async def send(self, user_id: int, text: str) -> None:
        await self.pace(user_id)
        before = self._user_actions()
        box = self.pane(user_id).locator("[name=text]")
        await box.fill(text)
        await box.press("Enter")
        await self.settled(before)

    async def send_lines(self, user_id: int, lines: list[str]) -> None:
        """Type an answer of several lines as a person does: Shift+Enter between them."""
        await self.pace(user_id)
        before = self._user_actions()
        box = self.pane(user_id).locator("[name=text]")
        await box.click()
        for number, line in enumerate(lines):
            if number:
                await box.press("Shift+Enter")
            await box.press_sequentially(line)
        await box.press("Enter")
        await self.settled(before)

    async def attach(self, user_id: int, name: str, mime: str, data: bytes) -> None:
        """Pick a file with the column's paper clip."""
        await self.pace(user_id)
        before = self._user_actions()
        picker = self.pane(user_id).locator(".attach-input")
        await picker.set_input_files({"name": name, "mimeType": mime, "buffer": data})
        await self.settled(before)

    async def press(self, user_id: int, label: str) -> None:
        """The newest inline button with exactly this label."""
        await self.pace(user_id)
        before = self._user_actions()
        buttons = self.pane(user_id).locator(".inline-keyboard .kb-button")
        await buttons.filter(has_text=re.compile(f"^{re.escape(label)}$")).last.click(timeout=5000)
        await self.settled(before)

    async def reply_button(self, user_id: int, label: str) -> None:
        await self.pace(user_id)
        before = self._user_actions()
        await self.pane(user_id).locator(".reply-keyboard .kb-button", has_text=label).click()
        await self.settled(before)

    async def command(self, user_id: int, name: str) -> None:
        """Open the menu button's list and pick a command, as on a phone."""
        await self.pace(user_id)
        before = self._user_actions()
        pane = self.pane(user_id)
        await pane.locator(".menu-button").click()
        await pane.locator(".commands .command", has_text=f"/{name}").click()
        await self.settled(before)

    async def shot(self, name: str) -> None:
        await self.page.screenshot(path=str(self.shots / f"{name}.png"))


async def start_as(screen: Screen, user_id: int, locale: str, role_msgid: str | None) -> None:
    t = zh if locale == "zh_CN" else en
    await screen.send(user_id, "/start")
    await screen.press(user_id, t("start.agree"))
    await screen.press(user_id, t("language.self_name"))
    if role_msgid:
        await screen.press(user_id, t(role_msgid))


async def register_enterprise_and_file_a_demand(screen: Screen) -> None:
    from playwright.async_api import expect

    pane = screen.pane(ENTERPRISE)
    await pane.locator(".menu-button").click()
    await expect(pane.locator(".commands")).to_contain_text("/new_demand")
    await pane.locator(".menu-button").click()
    # Choosing the enterprise side at /start began the registration.
    await screen.send(ENTERPRISE, "鞍山华锐重工有限公司")
    await screen.press(ENTERPRISE, zh("form.skip"))
    await screen.press(ENTERPRISE, "鞍山")
    await screen.send(ENTERPRISE, "钢铁")
    await screen.press(ENTERPRISE, "黑色金属冶炼和压延加工业")
    await screen.press(ENTERPRISE, zh("enterprise.size_medium"))
    await screen.send(ENTERPRISE, "王建军")
    await expect(pane.locator(".reply-keyboard")).to_be_visible()
    await screen.reply_button(ENTERPRISE, zh("form.share_contact"))
    await expect(pane.locator(".msg.from-user").last).to_contain_text("+8613800001001")
    await screen.press(ENTERPRISE, zh("form.confirm"))
    await screen.command(ENTERPRISE, "new_demand")
    await screen.send(ENTERPRISE, "连铸坯中心偏析严重")
    await screen.send(
        ENTERPRISE, "高碳钢连铸方坯中心偏析和缩孔比较严重，轧制后出现断丝，想请专家分析原因。"
    )
    await screen.press(ENTERPRISE, zh("demand.kind_technology"))
    await screen.send(ENTERPRISE, "钢铁冶金")
    await screen.press(ENTERPRISE, zh("form.done"))
    await screen.press(ENTERPRISE, zh("form.skip"))
    await screen.press(ENTERPRISE, zh("demand.mode_either"))
    await screen.press(ENTERPRISE, zh("demand.urgency_normal"))
    await screen.press(ENTERPRISE, zh("demand.start_asap"))
    await screen.send(ENTERPRISE, "中心偏析降到1.0级以下")
    await screen.press(ENTERPRISE, zh("demand.voucher_no"))
    await screen.press(ENTERPRISE, zh("form.confirm"))
    await expect(screen.last_bot_text(ENTERPRISE)).to_contain_text("连铸坯中心偏析严重")


async def register_specialist(screen: Screen) -> None:
    from playwright.async_api import expect

    # Choosing the specialist side at /start began the registration.
    await screen.send(SPECIALIST, "李明华")
    await screen.send(SPECIALIST, "东北大学")
    await screen.press(SPECIALIST, zh("specialist.type_university"))
    await screen.press(SPECIALIST, zh("specialist.location_liaoning"))
    await screen.press(SPECIALIST, zh("specialist.title_professor"))
    await screen.send(SPECIALIST, "钢铁冶金")
    await screen.press(SPECIALIST, zh("form.done"))
    await screen.send(
        SPECIALIST, "连铸坯凝固组织与中心偏析控制，电磁搅拌和轻压下工艺，服务过多家钢厂。"
    )
    await screen.send(SPECIALIST, "连铸、中心偏析")
    # The team question takes one member a line: typed as two lines, sent as one answer.
    await screen.send_lines(SPECIALIST, ["张伟 - 连铸工艺", "刘洋 - 凝固组织模拟"])
    await screen.press(SPECIALIST, zh("specialist.reach_onsite"))
    await screen.press(SPECIALIST, "鞍山")
    await screen.press(SPECIALIST, zh("form.done"))
    await screen.press(SPECIALIST, "4")
    await screen.press(SPECIALIST, zh("specialist.from_now"))
    await screen.press(SPECIALIST, zh("form.skip"))
    await screen.press(SPECIALIST, "2")
    await screen.reply_button(SPECIALIST, zh("form.share_contact"))
    summary = screen.last_bot_text(SPECIALIST)
    await expect(summary).to_contain_text("张伟")
    await expect(summary).to_contain_text("刘洋")
    await screen.press(SPECIALIST, zh("form.confirm"))


async def wecom_member_agrees_and_becomes_an_enterprise(page: Any) -> None:
    """The WeCom column: the member's first words bring the notice as text and a card, the
    card's buttons grey out once clicked, and the next cards follow."""
    from playwright.async_api import expect

    pane = page.locator('section[data-persona="wecom:zhaogong"]')
    await pane.locator("[name=text]").fill("你好")
    await pane.locator("[name=text]").press("Enter")
    card = pane.locator(".msg.card").last
    await expect(card.locator(".card-title")).to_have_text(
        zh("start.consent").split("\n")[0], timeout=10_000
    )
    await card.locator(".kb-button", has_text=zh("start.agree")).click()
    await expect(pane.locator(".msg.card").first.locator(".kb-button")).to_have_text(["✓"])
    await expect(pane.locator(".msg.card").last.locator(".card-title")).to_have_text(
        zh("start.choose_language")
    )
    await pane.locator(".msg.card").last.locator(".kb-button", has_text="中文").click()
    role = pane.locator(".msg.card").last
    await expect(role.locator(".card-title")).to_have_text(zh("start.choose_role"))
    await role.locator(".kb-button", has_text=zh("role.enterprise")).click()
    await expect(pane.locator(".msg.card").last.locator(".card-title")).to_contain_text("企业名称")


async def feishu_user_agrees_and_becomes_an_enterprise(page: Any, open_id: str) -> None:
    """A Feishu column: /start brings the notice on a white card, a click shows the toast
    Feishu's answer carried and the card loses its buttons where it is, and the next cards
    follow with their buttons in rows."""
    from playwright.async_api import expect

    pane = page.locator(f'section[data-persona="feishu:{open_id}"]')
    await pane.locator("[name=text]").fill("/start")
    await pane.locator("[name=text]").press("Enter")
    consent = pane.locator(".msg.feishu-card").first
    await expect(consent.locator(".text").first).to_contain_text(
        zh("start.consent").split("\n")[0], timeout=10_000
    )
    rows = consent.locator(".card-row")
    await expect(rows).to_have_count(2)
    await expect(rows.first.locator(".kb-button")).to_have_text([zh("start.agree"), "不同意"])
    await rows.first.locator(".kb-button", has_text=zh("start.agree")).click()
    await expect(pane.locator(".toast")).to_have_text(zh("start.thanks"))
    await expect(pane.locator(".msg.feishu-card").first.locator(".kb-button")).to_have_count(0)
    await expect(pane.locator(".msg.feishu-card").first).to_contain_text(
        zh("start.consent").split("\n")[0]
    )
    language = pane.locator(".msg.feishu-card").last
    await expect(language.locator(".text")).to_have_text(zh("start.choose_language"))
    await language.locator(".kb-button", has_text="中文").click()
    role = pane.locator(".msg.feishu-card").last
    await expect(role.locator(".text")).to_have_text(zh("start.choose_role"))
    await role.locator(".kb-button", has_text=zh("role.enterprise")).click()
    await expect(pane.locator(".msg.feishu-card").last).to_contain_text("企业名称")
    await expect(pane.locator(".toast")).to_be_hidden()  # shown briefly


async def test_a_feishu_persona_and_a_feishu_guest_click_through_cards(
    browser: Any, bare_playground: Playground
) -> None:
    from playwright.async_api import expect

    page, errors = await opened(browser, bare_playground, LAPTOP)
    await expect(page.locator('section[data-persona^="feishu:"]')).to_have_count(2)
    await feishu_user_agrees_and_becomes_an_enterprise(page, "ou_qianjingli")

    await page.locator("#add-persona").click()
    await page.locator("select[name=platform]").select_option("feishu")
    await expect(page.locator("#persona-language")).to_be_hidden()
    await page.locator("input[name=name]").fill("孙工")
    await page.locator("#persona-form button[value=add]").click()
    guest = page.locator('section[data-persona^="feishu:"]').last
    await expect(guest.locator(".name")).to_have_text("孙工")
    await expect(guest.locator(".meta")).to_have_text("飞书 · 项目自建应用的用户")
    open_id = (await guest.get_attribute("data-persona")).removeprefix("feishu:")
    assert bare_playground.feishu.users[open_id].name == "孙工"
    await feishu_user_agrees_and_becomes_an_enterprise(page, open_id)
    assert errors == []


async def test_a_programme_officer_clicks_through_the_programme(
    browser: Any, playground: Playground, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    shots = tmp_path / "screenshots"
    shots.mkdir()
    page = await browser.new_page(viewport=LAPTOP)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    screen = Screen(page, playground, shots)
    await page.goto(playground.page.url)
    await expect(page.locator("h1")).to_have_text("科技特派员对接 · 体验台")
    # Three on Telegram, one on WeCom, two on Feishu, two on DingTalk.
    await expect(page.locator("section.pane")).to_have_count(8)
    await expect(screen.pane(ENTERPRISE).locator(".role-badge")).to_have_text("企业")
    await screen.shot("01-opened")

    await start_as(screen, ENTERPRISE, "zh_CN", "role.enterprise")
    await register_enterprise_and_file_a_demand(screen)
    await screen.shot("02-enterprise-filed-a-demand")

    await start_as(screen, COORDINATOR_PERSONA, "en", None)
    await start_as(screen, SPECIALIST, "zh_CN", "role.specialist")
    await register_specialist(screen)
    await expect(screen.pane(COORDINATOR_PERSONA).locator(".msg.from-bot").last).to_contain_text(
        "李明华"
    )
    await screen.press(COORDINATOR_PERSONA, en("approvals.approve"))
    await screen.command(COORDINATOR_PERSONA, "stats")
    demo_enterprises = 34
    await expect(screen.last_bot_text(COORDINATOR_PERSONA)).to_contain_text(
        f"{demo_enterprises + 1}"
    )
    await screen.shot("03-coordinator-approved-and-read-stats")

    await wecom_member_agrees_and_becomes_an_enterprise(page)
    await screen.shot("04-wecom-member")
    if target := os.environ.get("PLAYGROUND_SCREENSHOT"):
        await page.evaluate(
            "document.querySelectorAll('.toast').forEach(t => { t.hidden = true; })"
        )
        await page.screenshot(path=target)

    clock_before = await page.locator("#clock-time").text_content()
    before = playground.emulator.mark()
    await page.get_by_role("button", name="+1 周").click()
    # A week's jobs run before the answer: rounds, reminders and checks for a hundred
    # demo specialists, sent within Telegram's 30 messages a second.
    await expect(page.locator("#notice")).to_contain_text("时钟已拨到", timeout=90_000)
    await playground.emulator.wait_until_idle(timeout=30)
    await expect(page.locator("body")).not_to_have_attribute("data-seq", str(before))
    assert playground.clock.offset == dt.timedelta(weeks=1)
    assert await page.locator("#clock-time").text_content() != clock_before
    await expect(page.locator("#clock-offset")).to_contain_text("7")
    await screen.shot("05-a-week-later")

    await page.locator("#lang-toggle").click()
    await expect(page.locator("h1")).to_have_text("Tech specialist matching · Playground")
    await expect(screen.pane(SPECIALIST).locator(".role-badge")).to_have_text("Specialist")
    await expect(page.locator("#add-persona")).to_have_text("+ Add persona")

    await page.locator("#add-persona").click()
    await page.locator("select[name=demo_id]").select_option(label="王建军 · 鞍山华冶特钢有限公司")
    await page.locator("#persona-form button[value=add]").click()
    await expect(page.locator("section.pane")).to_have_count(9)
    demo_id = int(await page.locator("section.pane").last.get_attribute("data-persona"))
    await screen.send(demo_id, "/start")
    await expect(screen.last_bot_text(demo_id)).to_contain_text(zh("start.welcome_back"))
    await screen.shot("06-english-chrome-and-a-demo-person")

    # What the bot may send besides text: a document to download, a photo to look at.
    assert playground.bot.core is not None
    telegram = playground.bot.core.channels["telegram"]
    assert isinstance(telegram, TelegramChannel)
    png = await asyncio.to_thread(README_PICTURE.read_bytes)
    await telegram.bot.send_document(
        ENTERPRISE, document=b"demand,status\n1,open\n", filename="需求.csv"
    )
    await telegram.bot.send_photo(ENTERPRISE, photo=png, caption="<b>截图</b>", parse_mode="HTML")
    enterprise_pane = screen.pane(ENTERPRISE)
    # Seven columns overflow a laptop and the demo person's pane scrolled into view: back
    # to the first column, where the photo loads (lazily, once in view).
    await enterprise_pane.scroll_into_view_if_needed()
    download = enterprise_pane.locator(".doc-download").last
    await expect(download).to_have_attribute("download", "需求.csv")
    photo = enterprise_pane.locator("img.photo").last
    await expect(photo).to_be_visible()
    assert await photo.evaluate("img => img.complete && img.naturalWidth") == 1440
    await expect(enterprise_pane.locator(".msg.from-bot .text strong").last).to_have_text("截图")

    await page.set_viewport_size(PHONE)
    await expect(page.locator("#tabs")).to_be_visible()
    await page.locator(f'#tabs [data-persona="{SPECIALIST}"]').click()
    await expect(screen.pane(SPECIALIST)).to_be_visible()
    await expect(screen.pane(ENTERPRISE)).to_be_hidden()
    await screen.shot("07-phone")
    assert errors == []

    db = Database(playground.bot.settings.database_url)
    try:
        async with db.transaction() as session:
            enterprise = (
                await session.execute(
                    select(Enterprise).where(Enterprise.name == "鞍山华锐重工有限公司")
                )
            ).scalar_one()
            assert enterprise.phone == "+8613800001001"  # from the share-contact button
            demand = (
                await session.execute(select(Demand).where(Demand.enterprise_id == enterprise.id))
            ).scalar_one()
            assert demand.title == "连铸坯中心偏析严重" and demand.status == "open"
            specialist = (
                await session.execute(
                    select(Specialist)
                    .join(User, User.id == Specialist.user_id)
                    .where(by_account(SPECIALIST))
                )
            ).scalar_one()
            assert specialist.status == SpecialistStatus.APPROVED
    finally:
        await db.dispose()
    assert len(list(shots.glob("*.png"))) == 7


async def test_message_text_becomes_nodes_never_markup(browser: Any) -> None:
    """What the bot's entities allow is drawn; nothing in the text can add an element."""
    page = await browser.new_page()
    await page.set_content("<div id=out></div>")
    await page.add_script_tag(path=str(RENDER_JS))

    async def render(text: str, entities: list[dict[str, Any]]) -> str:
        return await page.evaluate(
            """([text, entities]) => {
                const out = document.getElementById("out");
                out.replaceChildren(TelegramText.render(text, entities));
                return out.innerHTML;
            }""",
            [text, entities],
        )

    hostile = '<img src=x onerror="alert(1)"> & <b>bold</b> <script>alert(2)</script>'
    assert await render(hostile, []) == html.escape(hostile, quote=False)
    assert await page.locator("#out img, #out script, #out b").count() == 0

    # Offsets are UTF-16 units: the emoji counts two.
    text = "😀 粗体 斜体 code"
    entities = [
        {"type": "bold", "offset": 3, "length": 5},
        {"type": "italic", "offset": 6, "length": 2},
        {"type": "code", "offset": 9, "length": 4},
    ]
    assert (
        await render(text, entities) == "😀 <strong>粗体 <em>斜体</em></strong> <code>code</code>"
    )

    links = "a b c"
    assert await render(
        links,
        [
            {"type": "text_link", "offset": 0, "length": 1, "url": "javascript:alert(1)"},
            {"type": "text_link", "offset": 2, "length": 1, "url": "https://example.org/x"},
            {"type": "spoiler", "offset": 4, "length": 1},
        ],
    ) == (
        '<span>a</span> <a href="https://example.org/x" target="_blank" '
        'rel="noopener noreferrer">b</a> <span class="spoiler" tabindex="0">c</span>'
    )
    # An entity running past its parent is cut at the parent's end; junk entities are ignored.
    assert (
        await render(
            "abcdef",
            [
                {"type": "bold", "offset": 0, "length": 3},
                {"type": "italic", "offset": 2, "length": 4},
                {"type": "bold", "offset": "0", "length": 2},
                {"type": "underline", "offset": 9, "length": 1},
            ],
        )
        == "<strong>ab<em>c</em></strong>def"
    )


# ---------------------------------------------------------------------- the page's details


async def opened(
    browser: Any, playground: Playground, viewport: dict[str, int]
) -> tuple[Any, list[str]]:
    """The page, drawn, and the script errors it will raise (none expected)."""
    from playwright.async_api import expect

    page = await browser.new_page(viewport=viewport)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(playground.page.url)
    await expect(page.locator("body")).to_have_class(re.compile(r"\bready\b"))
    return page, errors


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    """Whether two boxes share any area; edges that touch (to half a pixel) do not count."""
    slack = 0.5
    return (
        a["x"] + slack < b["x"] + b["width"]
        and b["x"] + slack < a["x"] + a["width"]
        and a["y"] + slack < b["y"] + b["height"]
        and b["y"] + slack < a["y"] + a["height"]
    )


def typed_by(playground: Playground, user_id: int) -> list[dict[str, Any]]:
    """What the person sent, as the bot received it."""
    return [e.payload for e in playground.emulator.events(user_id) if e.kind == "user_message"]


async def test_the_composer_takes_several_lines(browser: Any, bare_playground: Playground) -> None:
    """Shift+Enter starts a new line and Enter sends the lines as one message."""
    from playwright.async_api import expect

    page, errors = await opened(browser, bare_playground, LAPTOP)
    screen = Screen(page, bare_playground, Path())
    box = screen.pane(ENTERPRISE).locator("[name=text]")
    empty = (await box.bounding_box())["height"]
    await box.click()
    await box.press_sequentially("张伟 - 连铸工艺")
    assert (await box.bounding_box())["height"] == empty
    await box.press("Shift+Enter")
    await box.press_sequentially("刘洋 - 凝固组织模拟")
    await box.press("Shift+Enter")
    await box.press_sequentially("王芳 - 质量检测")
    await expect(box).to_have_value("张伟 - 连铸工艺\n刘洋 - 凝固组织模拟\n王芳 - 质量检测")
    assert typed_by(bare_playground, ENTERPRISE) == []  # nothing sent yet
    assert (await box.bounding_box())["height"] > empty  # the box grows with its lines

    before = screen._user_actions()
    await box.press("Enter")
    await screen.settled(before)
    [sent] = typed_by(bare_playground, ENTERPRISE)
    assert sent["text"] == "张伟 - 连铸工艺\n刘洋 - 凝固组织模拟\n王芳 - 质量检测"
    bubble = screen.pane(ENTERPRISE).locator(".msg.from-user .bubble").last
    assert (await bubble.inner_text()).startswith(sent["text"])
    await expect(box).to_have_value("")
    assert (await box.bounding_box())["height"] == empty
    await expect(screen.last_bot_text(ENTERPRISE)).not_to_be_empty()  # the bot answered
    assert errors == []


async def test_a_tab_opens_at_the_newest_message(browser: Any, bare_playground: Playground) -> None:
    """On a phone a column hidden behind its tab fills up; opened, it shows the newest."""
    from playwright.async_api import expect

    page, errors = await opened(browser, bare_playground, PHONE)
    screen = Screen(page, bare_playground, Path())
    await expect(screen.pane(ENTERPRISE)).to_be_visible()
    assert bare_playground.bot.core is not None
    telegram = bare_playground.bot.core.channels["telegram"]
    assert isinstance(telegram, TelegramChannel)
    emulator = bare_playground.emulator
    emulator.send_message(SPECIALIST, "/start")  # from elsewhere: the bot may write to them now
    await bare_playground.bot.wait_idle(15)
    for number in range(1, 31):
        await telegram.bot.send_message(SPECIALIST, f"第 {number} 条通知")
    await emulator.wait_until_idle(timeout=15)
    await expect(page.locator("body")).to_have_attribute("data-seq", str(emulator.mark()))
    await expect(page.locator(f'#tabs [data-persona="{SPECIALIST}"]')).to_have_class(
        re.compile("has-unread")
    )

    await page.locator(f'#tabs [data-persona="{SPECIALIST}"]').click()
    pane = screen.pane(SPECIALIST)
    newest = pane.locator(".msg.from-bot").last
    await expect(newest).to_contain_text("第 30 条通知")
    await expect(newest).to_be_in_viewport()
    overflows, below = await pane.locator(".messages").evaluate(
        "list => [list.scrollHeight > list.clientHeight,"
        " list.scrollHeight - list.scrollTop - list.clientHeight]"
    )
    assert overflows and below < 2  # a long chat, scrolled to its end
    assert errors == []


async def test_the_add_persona_dialog_reads_at_phone_width(
    browser: Any, playground: Playground
) -> None:
    """Heading, labels, fields and buttons each have their own room, in both languages."""
    from playwright.async_api import expect

    page, errors = await opened(browser, playground, PHONE)
    for language in ("中文", "English"):
        await page.locator("#add-persona").click()
        dialog = page.locator("#persona-dialog")
        await expect(dialog.locator("#demo-choice")).to_be_visible()  # the longest form
        parts = await dialog.locator("h2, .or, label > span, input, select, menu button").all()
        boxes = [await part.bounding_box() for part in parts]
        assert len(boxes) == 12 and all(boxes), language
        for (a, box_a), (b, box_b) in combinations(zip(parts, boxes, strict=True), 2):
            assert not overlap(box_a, box_b), (
                language,
                await a.evaluate("n => n.outerHTML.slice(0, 80)"),
                await b.evaluate("n => n.outerHTML.slice(0, 80)"),
            )
        for label in await dialog.locator("label").all():  # each label reads above its field
            text = await label.locator("span").bounding_box()
            field = await label.locator("input, select").bounding_box()
            assert text["y"] + text["height"] <= field["y"] + 0.5
        await dialog.locator("button[value=cancel]").click()
        await expect(dialog).to_be_hidden()
        await page.locator("#lang-toggle").click()
    assert errors == []


async def test_notices_leave_the_input_clear(browser: Any, bare_playground: Playground) -> None:
    """The clock's notice and a button's answer never cover where one types, on a phone or
    a laptop."""
    from playwright.async_api import expect

    page, errors = await opened(browser, bare_playground, PHONE)
    screen = Screen(page, bare_playground, Path())
    await screen.send(ENTERPRISE, "/start")
    consent = next(m for m in bare_playground.emulator.chat(ENTERPRISE) if m.buttons)

    async def clear_of_the_composers(notice: Any) -> None:
        covering = await notice.bounding_box()
        for composer in await page.locator("section.pane .composer").all():
            if await composer.is_visible():
                assert not overlap(covering, await composer.bounding_box())

    for viewport in (PHONE, LAPTOP):
        await page.set_viewport_size(viewport)
        await page.get_by_role("button", name="+1 小时").click()
        notice = page.locator("#notice")
        await expect(notice).to_contain_text("时钟已拨到")
        await clear_of_the_composers(notice)
        # A button the bot does not know: its answer shows as a toast in the column.
        before = screen._user_actions()
        bare_playground.emulator.press_callback(ENTERPRISE, consent.message_id, "no-such-button")
        await screen.settled(before)
        toast = screen.pane(ENTERPRISE).locator(".toast")
        await expect(toast).to_have_text(zh("button.unknown"))
        await clear_of_the_composers(toast)
    assert errors == []


def voice_note(seconds: int) -> bytes:
    """A recording as a browser decodes it: silence, as WAV."""
    out = BytesIO()
    with wave.open(out, "wb") as recording:
        recording.setnchannels(1)
        recording.setsampwidth(2)
        recording.setframerate(8000)
        recording.writeframes(b"\0\0" * 8000 * seconds)
    return out.getvalue()


async def test_photos_voice_notes_and_documents_reach_the_bot(
    browser: Any, bare_playground: Playground
) -> None:
    """The paper clip sends files as each platform delivers them, and the bot's answer shows.

    The enterprise's first question wants a name, so each file is answered with the bot's
    "this step needs text", which the page shows after the person's own bubble.
    """
    from playwright.async_api import expect

    page, errors = await opened(browser, bare_playground, LAPTOP)
    screen = Screen(page, bare_playground, Path())
    await start_as(screen, ENTERPRISE, "zh_CN", "role.enterprise")
    pane = screen.pane(ENTERPRISE)
    mine = pane.locator(".msg.from-user .sent-file")
    refusals = pane.locator(".msg.from-bot .text", has_text=zh("invalid.not_text"))

    png = await asyncio.to_thread(README_PICTURE.read_bytes)
    await screen.attach(ENTERPRISE, "车间.png", "image/png", png)
    photo = typed_by(bare_playground, ENTERPRISE)[-1]["photo"][-1]
    assert (photo["width"], photo["file_size"]) == (1440, len(png)) and photo["file_id"]
    await expect(mine.last).to_have_attribute("data-kind", "photo")
    await expect(mine.last).to_contain_text("照片")
    await expect(refusals).to_have_count(1)

    await screen.attach(ENTERPRISE, "录音.wav", "audio/wav", voice_note(2))
    voice = typed_by(bare_playground, ENTERPRISE)[-1]["voice"]
    assert voice["duration"] == 2 and voice["mime_type"] == "audio/ogg"  # as Telegram's apps record
    await expect(mine.last).to_contain_text("语音 2 秒")
    await expect(refusals).to_have_count(2)

    await pane.locator("[name=text]").fill("营业执照扫描件")  # goes along as the caption
    await screen.attach(ENTERPRISE, "营业执照.pdf", "application/pdf", b"%PDF-1.4\n%%EOF\n")
    sent = typed_by(bare_playground, ENTERPRISE)[-1]
    assert sent["caption"] == "营业执照扫描件"
    assert sent["document"]["file_name"] == "营业执照.pdf"
    assert sent["document"]["mime_type"] == "application/pdf"
    await expect(mine.last).to_contain_text("营业执照.pdf")
    await expect(pane.locator(".msg.from-user").last).to_contain_text("营业执照扫描件")
    await expect(pane.locator("[name=text]")).to_have_value("")
    await expect(refusals).to_have_count(3)

    # On WeCom a file arrives as a media id of its kind, with no caption.
    await wecom_member_agrees_and_becomes_an_enterprise(page)
    wecom = page.locator('section[data-persona="wecom:zhaogong"]')
    await wecom.locator(".attach-input").set_input_files(
        {"name": "车间.png", "mimeType": "image/png", "buffer": png}
    )
    await expect(wecom.locator(".msg.from-user .sent-file").last).to_have_attribute(
        "data-kind", "photo"
    )
    answer = wecom.locator(".msg.from-bot").filter(has_text=zh("invalid.not_text"))
    await expect(answer).to_have_count(1, timeout=10_000)
    assert errors == []


async def test_the_simulated_time_resumes_after_a_restart(browser: Any, tmp_path: Path) -> None:
    """A day skipped stays skipped when the playground starts again on its database, so
    nothing it recorded meanwhile lies in the clock's future."""
    from playwright.async_api import expect

    settings = playground_settings(tmp_path / "playground.db")
    first = await start_playground(settings, port=0)
    try:
        page, errors = await opened(browser, first, LAPTOP)
        await page.get_by_role("button", name="+1 天").click()
        await expect(page.locator("#notice")).to_contain_text("时钟已拨到", timeout=30_000)
        await page.close()
        assert first.clock.offset == dt.timedelta(days=1) and errors == []
    finally:
        await first.stop()

    again = await start_playground(settings, port=0)
    try:
        assert again.clock.offset == dt.timedelta(days=1)
        page, errors = await opened(browser, again, LAPTOP)
        await expect(page.locator("#clock-offset")).to_have_text("比现实快 1 天")
        assert errors == []
        db = Database(settings.database_url)
        try:
            async with db.transaction() as session:
                runs = (await session.execute(select(col(JobRun.started_at)))).scalars().all()
        finally:
            await db.dispose()
        assert runs and max(runs) <= again.clock.now()  # the skipped day's jobs ran
    finally:
        await again.stop()

    # A database moved by a playground that kept no offset: the clock starts no earlier
    # than the latest run it records.
    older = playground_settings(tmp_path / "older.db")
    upgrade(older.database_url)
    ahead = SystemClock().now() + dt.timedelta(days=3)
    db = Database(older.database_url)
    try:
        await claim_job_run(db=db, name="monthly_check", slot=ahead, now=ahead)
    finally:
        await db.dispose()
    resumed = await start_playground(older, port=0)
    try:
        assert resumed.clock.now() >= ahead
    finally:
        await resumed.stop()
