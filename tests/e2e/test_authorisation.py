"""Who may press what: ten thousand random, forged and replayed button presses from users of
every role are all answered, break nothing, and change no row that is not the presser's.

Each press goes through the emulator and the real bot (polling over HTTP, kept in the inbox,
applied, answered through the outbox; nothing patched): the emulator must know a query to
accept its answer, and the HTTP round trips are part of what a press costs. Presses come in
batches of one presser, queued at once, which the bot works through as it would a busy
chat: about 16 ms a press, so 10,000 take under three minutes on SQLite (PostgreSQL runs
2,000).
The payloads come from hypothesis: random strings; strings built from every button
pattern the router registers (read from `router.buttons`, so a new flow's buttons are
covered without touching this file) with their numbers mostly replaced by ids of real
rows, most of them other people's (callback data that is not a token reaches the flows,
as a button drawn before tokens existed would); and the real buttons (tokens) the bot
sent to anyone, pressed by someone else. They are put on a message of the presser's own
chat, or on one the bot cannot see.

What must hold after every batch: no error reached the error handler and no message was
refused by the platform, the bot applied every event, every query got an answer, and every
row the presser has no say over (not reachable from their user row through the foreign
keys, see storage.privacy.user_rows) is as it was; coordinators may also decide on
specialists' vetting status, and a specialist who leaves an engagement opens its demand
to others again. The pipeline's own records (the events kept, the messages
and button tokens written) are logs of what happened, not anyone's rows.
"""

from __future__ import annotations

import re
import time
import traceback
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlmodel import SQLModel

from channels.telegram.emulator.models import User
from handlers import candidates, rounds
from handlers.core.events import Event, Press
from storage.demands import create_demand
from storage.outbox import Item
from storage.privacy import user_rows, withdraw_consent
from storage.proposals import NewProposal, accept_proposal, create_proposals
from storage.specialists import get_specialist, save_specialist
from tests.e2e.conftest import COORDINATOR_ID, Journey
from tests.e2e.engagement_steps import CASTING, approved_specialist, engage, enterprise, services
from tests.e2e.enterprise_steps import enterprise_user, user_id
from tests.e2e.specialist_helpers import PROFILE
from tests.people import get_user, touch_user

BATCHES, BATCH = 100, 100  # 10,000 presses; more per batch overruns hypothesis's entropy budget
POSTGRES_BATCH = 20  # 2,000 presses on PostgreSQL, from as many pressers, to keep the suite short
IGNORED = {"inbox", "outbox", "buttons", "job_runs"}  # the pipeline's logs: no one's rows
# What a coordinator may change in rows that are not theirs: a specialist's vetting status.
COORDINATOR_MAY = {"specialists": {"status", "status_reason", "updated_at"}}
# What a message to someone records about their account (the buttons a typed reply finds,
# whether the platform would deliver): the bot telling the other side is not the presser
# changing their data.
ANYONE_MAY = {"identities": {"choices", "unreachable_at"}}
# A specialist who leaves an engagement (cancelling it, or withdrawing consent) opens its
# demand to others again: that change, and only that, to a demand they were matched on.
LEFT = {"status": ("matched", "open")}
MAX_CALLBACK_BYTES = 64


@dataclass
class Cast:
    users: dict[str, User]
    buttons: list[str] = field(default_factory=list)  # callback data the bot really sent
    patterns: list[re.Pattern[str]] = field(default_factory=list)
    top_id: int = 0  # ids of rows run from 1 to about this
    errors: list[str] = field(default_factory=list)
    presses: int = 0
    seconds: float = 0.0


async def cast_of_every_role(j: Journey) -> Cast:
    """Two enterprises, an approved and a pending specialist, a coordinator, a newcomer, a
    user who withdrew consent and one never seen, each with the bot's buttons in their chat."""
    svc = services(j)
    owner = await enterprise(j, 7101, "王工")
    other = await enterprise(j, 7102, "Ann", "en", contact_name="Ann Lee")
    expert = await approved_specialist(j, 7103, "王建国")
    pending = j.user(7104, "赵工")
    await touch_user(db=j.db, telegram_id=7104, now=j.clock.now())
    await save_specialist(
        db=j.db, user_id=await user_id(j, 7104), profile=PROFILE, now=j.clock.now()
    )
    coordinator = j.user(COORDINATOR_ID, "协调员")
    newcomer = j.user(7105, "新人")
    withdrawn = await enterprise(j, 7106, "钱工")
    stranger = j.user(7107, "陌生人")
    for user in (owner, other, expert, pending, coordinator, withdrawn):
        await j.send(user, "/help")

    await engage(j, owner, expert)  # an active engagement
    specialist = await get_specialist(db=j.db, user_id=await user_id(j, 7103))
    assert specialist is not None and specialist.id is not None
    now = j.clock.now()
    waiting = await create_demand(
        db=j.db, owner_user_id=await user_id(j, 7101), details=CASTING, now=now
    )
    asked = await create_demand(
        db=j.db, owner_user_id=await user_id(j, 7102), details=CASTING, now=now
    )
    assert waiting is not None and waiting.id is not None and asked is not None and asked.id
    accepted, proposed = await create_proposals(
        db=j.db,
        proposals=[
            NewProposal(waiting.id, specialist.id, 0.7, []),
            NewProposal(asked.id, specialist.id, 0.6, []),
        ],
        now=now,
    )
    assert accepted.id is not None and proposed.id is not None
    await accept_proposal(
        db=j.db, proposal_id=accepted.id, version=1, specialist_id=specialist.id, now=now
    )
    async with j.services.db.unit_of_work():
        await candidates.send_candidate(svc, accepted.id)
    assert await rounds.deliver(svc) == 1  # the proposal, to the specialist
    await j.settle()
    gone = await get_user(db=j.db, telegram_id=7106)
    assert gone is not None and gone.id is not None
    await withdraw_consent(db=j.db, user_id=gone.id, now=now)

    for user, commands in (
        (owner, ("/my_demands", "/engagements", "/profile", "/privacy")),
        (other, ("/my_demands", "/privacy")),
        (expert, ("/availability", "/my_matches", "/engagements", "/privacy")),
        (pending, ("/availability",)),
        (coordinator, ("/pending", "/stats", "/privacy")),
        (newcomer, ("/start",)),
        (withdrawn, ("/privacy",)),
    ):
        for command in commands:
            await j.send(user, command)

    users = {
        "enterprise": owner,
        "other_enterprise": other,
        "specialist": expert,
        "pending_specialist": pending,
        "coordinator": coordinator,
        "newcomer": newcomer,
        "withdrew_consent": withdrawn,
        "never_seen": stranger,
    }
    buttons = sorted(
        {
            data
            for user in users.values()
            for m in j.emulator.chat(user.id)
            for data in m.callback_data
        }
    )
    assert j.bot.core is not None
    patterns = [pattern for pattern, _ in j.bot.core.router.buttons]
    async with j.db.transaction() as session:
        top = max(
            [
                int(row[0] or 0)
                for table in SQLModel.metadata.sorted_tables
                if "id" in table.c
                for row in (await session.execute(select(table.c.id))).all()
            ]
        )
    cast = Cast(users, buttons, patterns, top)

    async def record(event: Event, error: BaseException) -> None:
        frames = traceback.extract_tb(error.__traceback__)
        ours = [f for f in frames if "/handlers/" in f.filename or "/storage/" in f.filename]
        where = f"{ours[-1].filename.rsplit('/', 2)[-2:]}:{ours[-1].lineno}" if ours else "?"
        data = event.body.token if isinstance(event.body, Press) else None
        cast.errors.append(f"{type(error).__name__}: {error} at {where} for {data!r}")

    async def refused(item: Item, reason: str) -> None:
        cast.errors.append(f"{item.kind} refused by the platform: {reason}")

    j.bot.core.inbox.on_error = record
    j.bot.core.deliverer.report = refused
    return cast


def fit(data: str) -> str:
    """Telegram delivers 1-64 bytes of callback data."""
    return data.encode()[:MAX_CALLBACK_BYTES].decode(errors="ignore") or "x"


def payloads(cast: Cast) -> st.SearchStrategy[str]:
    """Random strings, strings the registered patterns accept (their numbers mostly replaced
    by ids of real rows), and buttons the bot really sent, to anyone."""
    ids = st.integers(min_value=0, max_value=cast.top_id + 2)

    def with_ids(text: str, chosen: list[int], replace: bool) -> str:
        numbers = iter(chosen)
        return re.sub(r"\d+", lambda m: str(next(numbers, m.group())), text) if replace else text

    built = st.one_of(*(st.from_regex(p, fullmatch=True) for p in cast.patterns))
    forged = st.builds(with_ids, built, st.lists(ids, min_size=4, max_size=4), st.booleans())
    real = st.sampled_from(cast.buttons)
    # Mostly well-formed data with other people's ids: where a missing check would show.
    return st.one_of(
        st.text(min_size=1, max_size=MAX_CALLBACK_BYTES), *[forged] * 4, real, real
    ).map(fit)


Rows = dict[tuple[str, Any], dict[str, Any]]
Key = tuple[str, Any]


async def beyond_reach(j: Journey, telegram_id: int, coordinator: bool) -> tuple[Rows, set[Key]]:
    """Every row the user has no say over, as it stands (for a coordinator without the
    columns of a vetting decision), and the demands of the engagements they are in."""
    user = await get_user(db=j.db, telegram_id=telegram_id)
    rows: Rows = {}
    async with j.db.transaction() as session:
        reach = await user_rows(session, user.id) if user and user.id else {}
        engaged = {
            ("demands", row["demand_id"]) for row, _ in reach.get("engagements", {}).values()
        }
        for table in SQLModel.metadata.sorted_tables:
            if table.name in IGNORED:
                continue
            [key] = table.primary_key.columns
            allowed = ANYONE_MAY.get(table.name, set()) | (
                COORDINATOR_MAY.get(table.name, set()) if coordinator else set()
            )
            for row in (await session.execute(select(table))).mappings():
                if row[key.name] not in reach.get(table.name, {}):
                    values = {k: v for k, v in row.items() if k not in allowed}
                    rows[(table.name, row[key.name])] = values
    return rows, engaged


@pytest.fixture
async def cast(journey: Journey) -> AsyncIterator[Cast]:
    made = await cast_of_every_role(journey)
    yield made
    # Hypothesis ran every batch (more when it shrinks a failure).
    size = BATCH if journey.db.is_sqlite else POSTGRES_BATCH
    assert made.presses >= BATCHES * size, made.presses
    print(f"\n{made.presses} presses in {made.seconds:.1f} s of batches")


@pytest.mark.telegram_only  # the stub platform would add minutes and prove nothing more
@settings(
    max_examples=BATCHES,
    deadline=None,
    database=None,
    # Batches change the bot's state, so a failing one cannot be replayed to shrink it:
    # the failure is reported with the batch as it was drawn.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_ten_thousand_presses_change_nothing_that_is_not_the_pressers(
    journey: Journey, cast: Cast, data: st.DataObject
) -> None:
    j = journey
    size = BATCH if j.db.is_sqlite else POSTGRES_BATCH
    role = data.draw(st.sampled_from(sorted(cast.users)), label="presser")
    presser = cast.users[role]
    own = [m.message_id for m in j.emulator.chat(presser.id)]
    # A message of the presser's own chat (by position, so a replayed example draws the same
    # way however many messages there are by then), or one the bot cannot see.
    mine = st.integers(min_value=0, max_value=999).map(lambda i: own[i % len(own)] if own else -1)
    messages = st.one_of(mine, mine, mine, st.integers(min_value=100_000, max_value=10**6))
    presses = data.draw(st.lists(st.tuples(payloads(cast), messages), min_size=size, max_size=size))

    coordinator = role == "coordinator"
    before, engaged = await beyond_reach(j, presser.id, coordinator)
    answered = len(j.emulator.callback_answers())
    assert j.bot.core is not None
    stats = j.bot.core.inbox.stats
    applied = stats.applied
    started = time.perf_counter()
    for payload, message_id in presses:
        j.emulator.press_callback(presser, message_id, payload)
    await j.settle()
    cast.seconds += time.perf_counter() - started
    cast.presses += len(presses)

    assert cast.errors == [], sorted(set(cast.errors))
    assert stats.applied - applied == len(presses) and stats.failed == 0
    assert len(j.emulator.callback_answers()) - answered == len(presses)
    after, _ = await beyond_reach(j, presser.id, coordinator)
    changed = {
        key: columns
        for key in before.keys() & after.keys()
        if (columns := differences(before[key], after[key]))
        and not (key in engaged and role == "specialist" and left(columns))
    }
    assert not changed, (role, sorted(changed.items())[:5])
    assert not after.keys() - before.keys(), (role, "rows of others appeared")
    assert not before.keys() - after.keys(), (role, "rows of others vanished")


def differences(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Each changed column's values, before and after."""
    return {
        column: (value, after[column]) for column, value in before.items() if after[column] != value
    }


def left(columns: dict[str, tuple[Any, Any]]) -> bool:
    """The demand was reopened, and nothing else of it changed but when."""
    return {c: v for c, v in columns.items() if c != "updated_at"} == LEFT


async def test_a_forged_number_no_int_can_read_is_an_unknown_button(journey: Journey) -> None:
    """A superscript two is a digit to str.isdigit but not to int(): form buttons match
    ASCII only."""
    j = journey
    wang = await enterprise_user(j, 7201, "王工", "zh-hans")
    [*_, question] = await j.send(wang, "/profile")  # registration opens on its first question
    await j.press_data(wang, question.message_id, "ent:page:0:²")
    assert j.answers(wang) == ["无法识别的按钮。"]
    assert j.bot.core is not None and j.bot.core.inbox.stats.failed == 0
