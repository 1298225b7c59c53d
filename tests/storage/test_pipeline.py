"""The inbox, the outbox and button tokens, on every backend: what the pipeline's promises
rest on (kept once, applied in order per person, delivered in order per chat, each row
claimed by one worker at a time, tokens only for their own person)."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import text

from bot.delivery import Deliverer
from bot.inbox import Inbox
from channels.base import Failed, Outcome
from handlers.core.capabilities import Capabilities
from handlers.core.events import Event, Sender, Text
from storage.buttons import issue_tokens, resolve_token, token_for
from storage.clock import ManualClock
from storage.db import Database
from storage.inbox import (
    accept_event,
    finish_event,
    inbox_depth,
    oldest_pending,
    postpone_event,
    prune_inbox,
    waiting_people,
)
from storage.outbox import (
    Due,
    Item,
    claim_next,
    due_addresses,
    enqueue,
    message_by_platform_id,
    next_due,
    outbox_depth,
    record_retry,
    record_sent,
)
from tests.people import touch_user

LEASE = dt.timedelta(seconds=30)


async def keep(db: Database, now: dt.datetime, event_id: str, person: str) -> bool:
    return await accept_event(
        db=db,
        platform="telegram",
        event_id=event_id,
        person=person,
        body={"n": event_id},
        flood=None,
        now=now,
    )


async def test_a_person_s_events_come_out_oldest_first_and_finished_ones_are_pruned(
    db: Database, clock: ManualClock
) -> None:
    now = clock.now()
    for n, person in enumerate(["telegram:1", "telegram:2", "telegram:1", "telegram:1"]):
        assert await keep(db, now, str(n), person)
    assert not await keep(db, now, "2", "telegram:1")  # a redelivery
    assert await waiting_people(db=db) == ["telegram:1", "telegram:2"]
    order = []
    while True:
        async with db.unit_of_work():
            pending = await oldest_pending(db=db, person="telegram:1")
            if pending is None:
                break
            order.append(pending.body["n"])
            await finish_event(db=db, event_id=pending.id, now=now)
    assert order == ["0", "2", "3"]
    depth = await inbox_depth(db=db)
    assert depth.waiting == 1 and depth.oldest == now
    assert await prune_inbox(db=db, before=now) == 0  # finished at `now`, not before it
    assert await prune_inbox(db=db, before=now + dt.timedelta(seconds=1)) == 3
    assert await keep(db, now, "0", "telegram:1")  # forgotten: new again


async def test_an_applied_event_is_never_turned_into_a_failed_one(
    db: Database, clock: ManualClock
) -> None:
    """Two processes on PostgreSQL: one applied the event while the other, whose attempt
    failed and rolled back, records the failure late. The event stays applied."""
    now = clock.now()
    assert await keep(db, now, "1", "telegram:1")
    pending = await oldest_pending(db=db, person="telegram:1")
    assert pending is not None
    await finish_event(db=db, event_id=pending.id, now=now)
    await finish_event(db=db, event_id=pending.id, now=now, failed="RuntimeError: late")
    async with db.connection() as connection:
        row = (
            await connection.execute(
                text("SELECT state, error FROM inbox WHERE id = :id"), {"id": pending.id}
            )
        ).one()
    assert (row.state, row.error) == ("done", None)


async def test_a_postponed_event_keeps_its_place_and_says_when(
    db: Database, clock: ManualClock
) -> None:
    now = clock.now()
    await keep(db, now, "1", "telegram:1")
    await keep(db, now, "2", "telegram:1")
    async with db.unit_of_work():
        first = await oldest_pending(db=db, person="telegram:1")
    assert first is not None
    later = now + dt.timedelta(seconds=4)
    await postpone_event(db=db, event_id=first.id, due=later, error="OperationalError")
    async with db.unit_of_work():
        again = await oldest_pending(db=db, person="telegram:1")
    assert again is not None and again.id == first.id
    assert again.due_at == later and again.attempts == 1


def row(ref: str, address: str, now: dt.datetime, **extra: object) -> dict[str, object]:
    return {
        "ref": ref,
        "platform": "telegram",
        "address": address,
        "user_id": None,
        "kind": "send",
        "target": None,
        "body": {"text": ref},
        "blob": None,
        "key": None,
        "created_at": now,
        "due_at": now,
        "shown": {"text": ref},
        **extra,
    }


async def test_rows_of_one_chat_go_out_in_order_one_at_a_time(
    db: Database, clock: ManualClock
) -> None:
    now = clock.now()
    await enqueue(db=db, rows=[row("a1", "1", now), row("b1", "2", now), row("a2", "1", now)])
    first = await claim_next(db=db, platform="telegram", address="1", now=now, lease=LEASE)
    assert first is not None and first.ref == "a1"
    # Held: the chat's next row waits until the first is finished.
    assert await claim_next(db=db, platform="telegram", address="1", now=now, lease=LEASE) is None
    other = await claim_next(db=db, platform="telegram", address="2", now=now, lease=LEASE)
    assert other is not None and other.ref == "b1"
    await record_sent(db=db, item=first, message="501", now=now)
    second = await claim_next(db=db, platform="telegram", address="1", now=now, lease=LEASE)
    assert second is not None and second.ref == "a2"
    found = await message_by_platform_id(db=db, platform="telegram", address="1", message="501")
    assert found is not None and found.ref == "a1" and found.shown == {"text": "a1"}


async def test_a_lease_that_runs_out_is_claimed_again_and_a_retry_waits(
    db: Database, clock: ManualClock
) -> None:
    now = clock.now()
    await enqueue(db=db, rows=[row("r", "7", now)])
    held = await claim_next(db=db, platform="telegram", address="7", now=now, lease=LEASE)
    assert held is not None and held.attempts == 1
    assert await due_addresses(db=db, now=now, platforms=["telegram"]) == []
    later = now + LEASE + dt.timedelta(seconds=1)
    assert await due_addresses(db=db, now=later, platforms=["telegram"]) == [
        ("telegram", "7")
    ]  # its process died
    again = await claim_next(db=db, platform="telegram", address="7", now=later, lease=LEASE)
    assert again is not None and again.attempts == 2
    due = later + dt.timedelta(seconds=8)
    await record_retry(db=db, item=again, due=due, error="429")
    assert await claim_next(db=db, platform="telegram", address="7", now=later, lease=LEASE) is None
    assert await next_due(db=db, platform="telegram", address="7") == Due(due, held=False)
    assert (await outbox_depth(db=db)).waiting == 1
    assert await claim_next(db=db, platform="telegram", address="7", now=due, lease=LEASE)


async def test_a_key_is_written_once_and_an_edit_delivered_anew_moves_the_ref(
    db: Database, clock: ManualClock
) -> None:
    now = clock.now()
    await enqueue(db=db, rows=[row("d1", "3", now, key="digest:2026-03-02:3")])
    await enqueue(db=db, rows=[row("d2", "3", now, key="digest:2026-03-02:3")])
    first = await claim_next(db=db, platform="telegram", address="3", now=now, lease=LEASE)
    assert first is not None and first.ref == "d1"
    await record_sent(db=db, item=first, message="10", now=now)
    assert await claim_next(db=db, platform="telegram", address="3", now=now, lease=LEASE) is None
    await enqueue(db=db, rows=[row("e1", "3", now, kind="edit", target="d1")])
    edit = await claim_next(db=db, platform="telegram", address="3", now=now, lease=LEASE)
    assert isinstance(edit, Item) and edit.target_message == "10"
    await record_sent(db=db, item=edit, message="11", now=now)  # the old message was gone
    moved = await message_by_platform_id(db=db, platform="telegram", address="3", message="11")
    assert moved is not None and moved.ref == "d1"


async def test_two_workers_never_hold_the_same_row(database_url: str, clock: ManualClock) -> None:
    """Two processes' workers claiming one chat at the same moment: one row, one holder."""
    now = clock.now()
    first, second = Database(database_url), Database(database_url)
    try:
        await enqueue(db=first, rows=[row(f"m{n}", "9", now) for n in range(3)])
        claims = await asyncio.gather(
            *(
                claim_next(db=db, platform="telegram", address="9", now=now, lease=LEASE)
                for db in (first, second, first, second)
            )
        )
        assert [c.ref for c in claims if c is not None] == ["m0"]
    finally:
        await first.dispose()
        await second.dispose()


async def test_a_token_is_the_same_for_the_same_button_and_resolves_to_its_person(
    db: Database, clock: ManualClock
) -> None:
    alice = await touch_user(db=db, telegram_id=1, now=clock.now())
    bob = await touch_user(db=db, telegram_id=2, now=clock.now())
    assert alice.id is not None and bob.id is not None
    tokens = await issue_tokens(db=db, user_id=alice.id, data=["pr:acc:12:1"], now=clock.now())
    again = await issue_tokens(db=db, user_id=alice.id, data=["pr:acc:12:1"], now=clock.now())
    assert tokens == again and len(tokens["pr:acc:12:1"]) <= 32
    assert token_for(bob.id, "pr:acc:12:1") != tokens["pr:acc:12:1"]
    assert await resolve_token(db=db, token=tokens["pr:acc:12:1"]) == (alice.id, "pr:acc:12:1")
    assert await resolve_token(db=db, token=token_for(bob.id, "pr:acc:12:1")) is None


async def test_an_event_whose_error_handler_fails_or_that_cannot_be_read_is_set_aside(
    db: Database,
) -> None:
    """Neither may hold up the person's later events, nor spin."""
    applied: list[str] = []

    async def apply(event: Event, flood: str | None) -> None:
        if isinstance(event.body, Text) and event.body.text == "boom":
            raise RuntimeError("the flow broke")
        applied.append(event.id)

    async def on_error(event: Event, error: BaseException) -> None:
        raise RuntimeError("and so did the error handler")

    inbox = Inbox(db, apply=apply, on_error=on_error, sweep_seconds=0.05)
    sender = Sender(platform="telegram", account="9", address="9")
    await accept_event(
        db=db,
        platform="telegram",
        event_id="old",
        person=sender.person,
        body={"id": "old", "kind": "renamed-since", "sender": {}, "body": {}},
        flood=None,
        now=dt.datetime.now(dt.UTC),
    )
    await inbox.start()
    try:
        await inbox.accept(Event(id="1", sender=sender, body=Text("boom")))
        await inbox.accept(Event(id="2", sender=sender, body=Text("after")))
        await inbox.wait_idle(10)
    finally:
        await inbox.stop(1)
    assert applied == ["2"]
    assert inbox.stats.failed == 2 and (await inbox_depth(db=db)).waiting == 0


async def test_a_refused_message_whose_report_fails_is_recorded_and_sent_once(
    db: Database,
) -> None:
    """What follows an outcome (here the report to coordinators) failing must not roll the
    outcome back: the row would be claimed and sent again each time its lease ran out."""
    tries: list[str] = []

    class Refusing:
        platform = "telegram"
        capabilities = Capabilities()

        async def deliver(self, item: Item) -> Outcome:
            tries.append(item.ref)
            return Failed("Bad Request: can't parse entities")

    async def report(item: Item, reason: str) -> None:
        raise RuntimeError("the coordinators' chat is broken too")

    deliverer = Deliverer(
        db,
        {"telegram": Refusing()},  # type: ignore[dict-item]
        report=report,
        lease=dt.timedelta(milliseconds=50),
        sweep_seconds=0.02,
    )
    await enqueue(db=db, rows=[row("bad", "5", dt.datetime.now(dt.UTC))])
    await deliverer.start()
    try:
        deliverer.wake("telegram", "5")
        await asyncio.sleep(0.5)  # ten leases' time: a rolled-back row would be tried again
    finally:
        await deliverer.stop(1)
    assert tries == ["bad"]
    assert (await outbox_depth(db=db)).failed == 1
