"""Coordinators grant and revoke rights and propose specialists themselves (/match); everyone
else is refused politely by every coordinator command and button, and nothing changes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from handlers.coordinator import CHANGED
from handlers.i18n import SUPPORTED_LOCALES, read_catalogs
from storage.buttons import resolve_token
from storage.models import AuditEvent, Broadcast, Demand, DemandStatus, Proposal, User
from tests.e2e.conftest import COORDINATOR_ID, Journey
from tests.e2e.enterprise_steps import registered_enterprise, stored_enterprise
from tests.e2e.specialist_helpers import registered, specialist_user
from tests.people import get_user, touch_user
from tests.storage import factories

REFUSED = "Sorry, this command is for programme coordinators only."
NOT_YOURS = "This button was sent to someone else; it does nothing for you."
CATALOGS = read_catalogs()


async def audit_actions(j: Journey) -> list[tuple[str, int | None]]:
    async with j.db.transaction() as session:
        rows = await session.execute(
            select(AuditEvent.action, AuditEvent.target_id)
            .where(col(AuditEvent.action).startswith("coordinator."))
            .order_by(col(AuditEvent.id))
        )
        return [(action, target) for action, target in rows.tuples()]


async def row_counts(j: Journey) -> tuple[int, int, int, int]:
    async with j.db.transaction() as session:

        async def count(model: type) -> int:
            return int(
                (await session.execute(select(func.count()).select_from(model))).scalar_one()
            )

        coordinators = await session.execute(
            select(func.count()).select_from(User).where(col(User.is_coordinator))
        )
        return (
            await count(AuditEvent),
            await count(Proposal),
            await count(Broadcast),
            int(coordinators.scalar_one()),
        )


def test_every_coordinator_message_id_is_translated() -> None:
    """Ids looked up from tables (not literal in a call) exist in both languages."""
    from handlers.broadcast import AUDIENCES
    from handlers.digest import REASONS
    from handlers.exports import CAPTIONS

    ids = {*CHANGED.values(), *REASONS.values(), *CAPTIONS.values(), *AUDIENCES.values()}
    for locale in SUPPORTED_LOCALES:
        assert ids <= set(CATALOGS[locale]), locale


@pytest.mark.parametrize(
    "command",
    [
        "/digest",
        "/stats",
        "/stats 30",
        "/match 1 1",
        "/export",
        "/broadcast",
        "/add_coordinator 1",
        "/remove_coordinator 900001",
        "/pending",
    ],
)
async def test_others_are_refused_and_nothing_changes(journey: Journey, command: str) -> None:
    j = journey
    stranger = j.user(4001, "Stranger", "en")
    enterprise = await factories.enterprise(j.db, j.clock.now())
    await factories.demand(j.db, j.clock.now(), enterprise.id)
    await factories.specialist(j.db, j.clock.now())
    before = await row_counts(j)
    [reply] = await j.send(stranger, command)
    assert reply.text == REFUSED
    assert await row_counts(j) == before


async def test_forged_coordinator_buttons_change_nothing(journey: Journey) -> None:
    j = journey
    stranger = j.user(4002, "Stranger", "en")
    boss = j.user(COORDINATOR_ID, "Coordinator", "en")
    [prompt] = await j.send(boss, "/broadcast")
    await j.press(boss, "All specialists")
    await j.send(boss, "Meeting on Friday.")
    [_, preview] = await j.press(boss, "✅ Confirm")
    [refusal] = await j.send(stranger, "/stats")
    before = await row_counts(j)
    # The coordinator's own buttons (their tokens) are refused before any flow sees them;
    # the data behind them, forged, reaches the flows and is refused there.
    tokens = preview.callback_data
    behind = [found[1] for t in tokens if (found := await resolve_token(db=j.db, token=t))]
    assert len(behind) == len(tokens) == 2
    data = ("st:p:30", *behind, *tokens, "bc:pick:0:specialists")
    for forged in data:
        assert await j.press_data(stranger, refusal.message_id, forged) == []
    assert j.answers(stranger) == [REFUSED] * 3 + [NOT_YOURS] * 2 + [
        "This button is no longer active."
    ]
    assert await row_counts(j) == before
    assert prompt.buttons[0] == "All specialists"
    async with j.db.transaction() as session:
        [draft] = list(await session.scalars(select(Broadcast)))
    assert draft.status == "draft"


@pytest.mark.telegram_only
async def test_grant_and_revoke_coordinator_rights(journey: Journey) -> None:
    j = journey
    boss = j.user(COORDINATOR_ID, "Coordinator", "en")
    li = j.user(4010, "李处长", "zh-hans")
    [refused] = await j.send(li, "/stats")
    assert refused.text == "抱歉，这个命令只供项目协调员使用。"

    [reply] = await j.send(boss, "/add_coordinator 4010")
    assert reply.text == "✅ User 4010 is now a coordinator and has been told."
    assert j.emulator.last(li.id).text == "您已成为项目协调员。发送 /help 查看可以做什么。"
    menu = [name for name, _ in j.emulator.visible_commands(li)]
    assert {"digest", "stats", "export", "broadcast", "add_coordinator"} <= set(menu)
    [figures] = await j.send(li, "/stats")
    assert figures.text.startswith("📊 项目数据")

    [reply] = await j.send(boss, "/add_coordinator 4010")
    assert reply.text == "User 4010 is a coordinator already."
    [reply] = await j.send(li, "/remove_coordinator 900001")
    assert reply.text.startswith("用户 900001 是配置中的协调员（COORDINATOR_IDS）")
    [reply] = await j.send(boss, "/remove_coordinator 4010")
    assert reply.text == "User 4010 is no longer a coordinator and has been told."
    assert j.emulator.last(li.id).text == "您已不再是项目协调员。"
    assert "digest" not in [name for name, _ in j.emulator.visible_commands(li)]
    [refused] = await j.send(li, "/digest")
    assert refused.text == "抱歉，这个命令只供项目协调员使用。"
    [reply] = await j.send(boss, "/remove_coordinator 4010")
    assert reply.text == "User 4010 is not a coordinator."

    [reply] = await j.send(boss, "/add_coordinator 123456")
    assert reply.text.startswith("No one with the account 123456 has used the bot yet.")
    [reply] = await j.send(boss, "/add_coordinator wecom:zhang.san")
    assert reply.text.startswith("No one with the account wecom:zhang.san has used the bot yet.")
    for wrong in ("li", "slack:li", "telegram:li"):
        [reply] = await j.send(boss, f"/add_coordinator {wrong}")
        assert reply.text.startswith("Send /add_coordinator ACCOUNT"), wrong
    [reply] = await j.send(boss, "/remove_coordinator")
    assert reply.text.startswith("Send /remove_coordinator ACCOUNT")

    li_id = (await get_user(db=j.db, telegram_id=4010)).id
    assert await audit_actions(j) == [
        ("coordinator.grant", li_id),
        ("coordinator.stats", None),
        ("coordinator.revoke", li_id),
    ]
    stored = await get_user(db=j.db, telegram_id=4010)
    assert stored is not None and not stored.is_coordinator


async def open_demand(j: Journey, telegram_id: int) -> Demand:
    await registered_enterprise(j, telegram_id, "王工", "zh-hans")
    enterprise = await stored_enterprise(j, telegram_id)
    return await factories.demand(j.db, j.clock.now(), enterprise.id, "激光焊缝气孔")


async def test_a_coordinator_proposes_a_specialist_with_match(journey: Journey) -> None:
    j = journey
    boss = j.user(COORDINATOR_ID, "Coordinator", "en")
    demand = await open_demand(j, 4020)
    alice = await specialist_user(j, 4021, "Alice", "en")
    specialist = await registered(j, alice, name="Alice Martin", approve=True, disciplines=["430"])
    bob = await specialist_user(j, 4022, "Bob", "en")
    waiting = await registered(j, bob, name="Bob Stone")

    mark = j.emulator.mark()
    [reply] = await j.send(boss, f"/match {demand.id} {specialist.id}")
    async with j.db.transaction() as session:
        [proposal] = list(await session.scalars(select(Proposal)))
    assert reply.text == (
        f"✅ Proposal #{proposal.id}: demand #{demand.id} sent to Alice Martin "
        f"(#{specialist.id}). You will see the answer in the digest."
    )
    [card] = j.reactions(alice, mark)
    assert f"#{proposal.id}" in card.text and "激光焊缝气孔" in card.text
    assert CATALOGS["en"]["proposal.accept"] in card.buttons
    assert proposal.notified_at == j.clock.now()
    assert proposal.reasons == [{"kind": "field", "values": ["43050"]}]
    assert await audit_actions(j) == [("coordinator.match", proposal.id)]

    [reply] = await j.send(boss, f"/match #{demand.id} #{specialist.id}")
    assert (
        reply.text == f"Specialist #{specialist.id} was already proposed for demand #{demand.id}."
    )
    [reply] = await j.send(boss, f"/match {demand.id} {waiting.id}")
    assert reply.text == f"Specialist #{waiting.id} is not approved, so cannot be proposed."
    [reply] = await j.send(boss, f"/match 999 {specialist.id}")
    assert reply.text == "There is no demand #999."
    [reply] = await j.send(boss, f"/match {demand.id} 999")
    assert reply.text == "There is no specialist #999."
    [reply] = await j.send(boss, "/match 12")
    assert reply.text.startswith("Send /match DEMAND SPECIALIST")
    async with j.db.transaction() as session:
        row = await session.get(Demand, demand.id)
        assert row is not None
        row.status = DemandStatus.CLOSED.value
    [reply] = await j.send(boss, f"/match {demand.id} {specialist.id}")
    assert reply.text == f"Demand #{demand.id} is not open (paused, matched or closed)."
    async with j.db.transaction() as session:
        assert (await session.execute(select(func.count()).select_from(Proposal))).scalar_one() == 1


@pytest.mark.telegram_only
async def test_rights_granted_by_command_open_the_other_coordinator_commands(
    journey: Journey,
) -> None:
    j = journey
    boss = j.user(COORDINATOR_ID, "Coordinator", "en")
    deputy = j.user(4030, "Deputy", "en")
    await touch_user(db=j.db, telegram_id=4030, now=j.clock.now() - dt.timedelta(1))
    await j.send(boss, "/add_coordinator 4030")
    [reply] = await j.send(deputy, "/pending")
    assert reply.text != REFUSED
