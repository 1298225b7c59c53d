"""The playground in a real browser: three personas click through the programme.

Headless Chromium (Debian's package, driven by Playwright) opens the page that
`make run` serves without a token, on a database filled by `--demo`. An
enterprise registers and files a demand (sharing its phone through the reply
keyboard), a specialist registers, the coordinator approves them and reads
/stats, the clock skips a week, the page switches to English, a demo person
joins, and a phone-sized window shows tabs. Between steps the test waits for the
bot to finish and the page to draw everything (no sleeps).

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
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.playground import COORDINATOR_PERSONA, Playground, start_playground
from channels.telegram.channel import TelegramChannel
from handlers.flood import LIMIT as FLOOD_LIMIT
from handlers.flood import WINDOW as FLOOD_WINDOW
from handlers.i18n import Catalogs
from storage.db import Database
from storage.models import Demand, Enterprise, Specialist, SpecialistStatus, User
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


@pytest.fixture
async def playground(tmp_path: Path) -> AsyncIterator[Playground]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{tmp_path / 'playground.db'}",
        coordinator_ids=frozenset(),
        default_locale="zh_CN",
    )
    started = await start_playground(settings, demo=True, port=0)
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
        box = self.pane(user_id).locator("input[name=text]")
        await box.fill(text)
        await box.press("Enter")
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
    await screen.press(SPECIALIST, zh("form.skip"))
    await screen.press(SPECIALIST, zh("specialist.reach_onsite"))
    await screen.press(SPECIALIST, "鞍山")
    await screen.press(SPECIALIST, zh("form.done"))
    await screen.press(SPECIALIST, "4")
    await screen.press(SPECIALIST, zh("specialist.from_now"))
    await screen.press(SPECIALIST, zh("form.skip"))
    await screen.press(SPECIALIST, "2")
    await screen.reply_button(SPECIALIST, zh("form.share_contact"))
    await screen.press(SPECIALIST, zh("form.confirm"))


async def wecom_member_agrees_and_becomes_an_enterprise(page: Any) -> None:
    """The WeCom column: the member's first words bring the notice as text and a card, the
    card's buttons grey out once clicked, and the next cards follow."""
    from playwright.async_api import expect

    pane = page.locator('section[data-persona="wecom:zhaogong"]')
    await pane.locator("input[name=text]").fill("你好")
    await pane.locator("input[name=text]").press("Enter")
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
    await expect(page.locator("section.pane")).to_have_count(4)  # three on Telegram, one on WeCom
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
    await expect(page.locator("section.pane")).to_have_count(5)
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
