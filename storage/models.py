"""The tables. Alembic migrations (storage/migrations) are the only way they are created.

Shaped for the proposal life cycle in DESIGN.md: every state column has its
allowed values listed beside it, and the uniqueness rules that guard
transitions are indexes, so two processes cannot both win.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.types import aware, json_column


class Role(StrEnum):
    ENTERPRISE = "enterprise"
    SPECIALIST = "specialist"


class DemandStatus(StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    MATCHED = "matched"
    CLOSED = "closed"


class SpecialistStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"  # said "no longer available" at a monthly check; may come back


class ProposalStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    SELECTED = "selected"
    NOT_SELECTED = "not_selected"
    WITHDRAWN = "withdrawn"


class EngagementStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class WorkLogStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DISPUTED = "disputed"


class User(SQLModel, table=True):
    """A person as the bot knows them, on whatever platforms they use (their identities);
    personal fields only after consent."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    first_name: str | None = Field(default=None, max_length=128)
    role: str | None = Field(default=None, max_length=16)  # Role
    is_coordinator: bool = False  # granted in the database; COORDINATOR_IDS also count
    locale: str | None = Field(default=None, max_length=8)
    consent_at: dt.datetime | None = Field(default=None, sa_column=aware())
    # Sharing contact details with a matched party is a consent of its own (handlers.privacy).
    contact_consent_at: dt.datetime | None = Field(default=None, sa_column=aware())
    # Personal data removed (at the user's request or after RETENTION_DAYS): storage.privacy.
    erased_at: dt.datetime | None = Field(default=None, sa_column=aware())
    created_at: dt.datetime = Field(sa_column=aware(nullable=False))
    last_seen_at: dt.datetime = Field(sa_column=aware(nullable=False, index=True))


class Identity(SQLModel, table=True):
    """One platform account of a person: how the bot recognises them there and reaches them.

    A person is one `users` row; each platform they write from is an identity of
    theirs, unique per platform. Messages to a person go to the identity they
    used last.
    """

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "account"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    platform: str = Field(max_length=16)  # telegram, wecom, feishu, dingtalk
    account: str = Field(max_length=128)  # the platform's id of the person
    address: str = Field(max_length=128)  # where messages to them go (a chat id, the account)
    language: str | None = Field(default=None, max_length=16)  # the platform's tag, if any
    created_at: dt.datetime = Field(sa_column=aware(nullable=False))
    last_seen_at: dt.datetime = Field(sa_column=aware(nullable=False))
    # Set when the platform said it will not deliver to them (blocked, left); cleared when
    # they write again.
    unreachable_at: dt.datetime | None = Field(default=None, sa_column=aware())
    # The buttons of the newest message with buttons sent here: a reply typed instead of a
    # press (a label, or a number where the platform could not show buttons) finds them.
    choices: dict[str, Any] | None = Field(default=None, sa_column=json_column(nullable=True))


class Dialogue(SQLModel, table=True):
    """Where a user is in a guided dialogue, and what they typed so far.

    Kept in SQL, not in process memory, so a restart or a second bot process
    carries on from the same step.
    """

    __tablename__ = "dialogues"

    user_id: int = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    flow: str = Field(max_length=32)
    step: str = Field(max_length=32)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    updated_at: dt.datetime = Field(sa_column=aware(nullable=False))


class Enterprise(SQLModel, table=True):
    __tablename__ = "enterprises"

    id: int | None = Field(default=None, primary_key=True)
    owner_user_id: int = Field(foreign_key="users.id", index=True, unique=True)
    name: str = Field(max_length=100)
    credit_code: str | None = Field(default=None, max_length=18)
    city: str = Field(max_length=64)  # a city code from the taxonomy, or free text for "other"
    industry_code: str = Field(max_length=8)
    size: str = Field(max_length=16)
    contact_name: str = Field(max_length=64)
    phone: str = Field(max_length=32)
    created_at: dt.datetime = Field(sa_column=aware(nullable=False))
    updated_at: dt.datetime = Field(sa_column=aware(nullable=False))


class Demand(SQLModel, table=True):
    __tablename__ = "demands"

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprises.id", index=True)
    title: str = Field(max_length=100)
    description: str = Field(max_length=2000)
    kind: str = Field(max_length=16)  # technology, talent, services
    fields: list[str] = Field(default_factory=list, sa_column=json_column())
    keywords: list[str] = Field(default_factory=list, sa_column=json_column())
    work_mode: str = Field(max_length=16)  # onsite, remote, either
    urgency: str = Field(max_length=16)
    desired_start: dt.date | None = None
    expected_outcome: str = Field(default="", max_length=1000)
    voucher_interest: bool = False
    status: str = Field(default=DemandStatus.OPEN, max_length=16, index=True)
    close_reason: str | None = Field(default=None, max_length=32)
    # Since when match rounds find no specialist with subject evidence for it (the digest's
    # "no suitable specialist yet"); cleared by a round that finds one.
    unsuited_since: dt.datetime | None = Field(default=None, sa_column=aware())
    created_at: dt.datetime = Field(sa_column=aware(nullable=False))
    updated_at: dt.datetime = Field(sa_column=aware(nullable=False))


class Specialist(SQLModel, table=True):
    __tablename__ = "specialists"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, unique=True)
    name: str = Field(max_length=64)
    institution: str = Field(max_length=128, index=True)
    institution_type: str = Field(max_length=24)
    location: str = Field(max_length=16)  # liaoning, other_province, abroad
    title: str = Field(default="", max_length=64)
    disciplines: list[str] = Field(default_factory=list, sa_column=json_column())
    expertise: str = Field(max_length=2000)
    keywords: list[str] = Field(default_factory=list, sa_column=json_column())
    team: list[dict[str, str]] = Field(default_factory=list, sa_column=json_column())
    cities: list[str] = Field(default_factory=list, sa_column=json_column())
    remote_only: bool = False
    days_per_month: int = 2
    available_from: dt.date | None = None
    available_to: dt.date | None = None
    capacity: int = 2
    phone: str = Field(max_length=32)
    status: str = Field(default=SpecialistStatus.PENDING, max_length=16, index=True)
    status_reason: str | None = Field(default=None, max_length=500)
    paused_until: dt.date | None = None
    not_responding_since: dt.datetime | None = Field(default=None, sa_column=aware())
    created_at: dt.datetime = Field(sa_column=aware(nullable=False))
    updated_at: dt.datetime = Field(sa_column=aware(nullable=False))


class AvailabilityCheck(SQLModel, table=True):
    """The monthly "still available?" question to one specialist and their answer.

    One row per specialist and month: the unique key is what makes a job that
    runs twice, a restart or a second process ask nobody twice.
    """

    __tablename__ = "availability_checks"
    __table_args__ = (UniqueConstraint("specialist_id", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    specialist_id: int = Field(foreign_key="specialists.id", ondelete="CASCADE")
    month: str = Field(max_length=7)  # "2026-03", in BOT_TIMEZONE
    asked_at: dt.datetime = Field(sa_column=aware(nullable=False))
    answered_at: dt.datetime | None = Field(default=None, sa_column=aware())
    answer: str | None = Field(default=None, max_length=16)  # available, pause, leave


class Proposal(SQLModel, table=True):
    """One demand proposed to one specialist; `version` rises with every transition
    so a button printed for an older state is recognised as stale."""

    __tablename__ = "proposals"
    __table_args__ = (UniqueConstraint("demand_id", "specialist_id"),)

    id: int | None = Field(default=None, primary_key=True)
    demand_id: int = Field(foreign_key="demands.id", index=True)
    specialist_id: int = Field(foreign_key="specialists.id", index=True)
    status: str = Field(default=ProposalStatus.PROPOSED, max_length=16, index=True)
    version: int = 1
    score: float = 0.0
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_column=json_column())
    decline_reason: str | None = Field(default=None, max_length=32)
    decline_text: str | None = Field(default=None, max_length=500)
    proposed_at: dt.datetime = Field(sa_column=aware(nullable=False))
    notified_at: dt.datetime | None = Field(default=None, sa_column=aware())  # sent to specialist
    reminded_at: dt.datetime | None = Field(default=None, sa_column=aware())
    answered_at: dt.datetime | None = Field(default=None, sa_column=aware())
    enterprise_reminded_at: dt.datetime | None = Field(default=None, sa_column=aware())
    decided_at: dt.datetime | None = Field(default=None, sa_column=aware())


class Engagement(SQLModel, table=True):
    __tablename__ = "engagements"
    # At most one active engagement per demand, whatever races happen.
    __table_args__ = (
        Index(
            "uq_engagements_active_demand",
            "demand_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposals.id", unique=True)
    demand_id: int = Field(foreign_key="demands.id", index=True)
    specialist_id: int = Field(foreign_key="specialists.id", index=True)
    status: str = Field(default=EngagementStatus.ACTIVE, max_length=16, index=True)
    started_at: dt.datetime = Field(sa_column=aware(nullable=False))
    ended_at: dt.datetime | None = Field(default=None, sa_column=aware())
    end_reason: str | None = Field(default=None, max_length=500)
    completion_proposed_by: str | None = Field(default=None, max_length=16)  # Role of the side
    completion_proposed_at: dt.datetime | None = Field(default=None, sa_column=aware())
    log_nudged_at: dt.datetime | None = Field(default=None, sa_column=aware())  # "please log"
    rating_of_specialist: int | None = None  # 1-5, given by the enterprise once completed
    rating_of_enterprise: int | None = None  # 1-5, given by the specialist once completed
    comment_on_specialist: str | None = Field(default=None, max_length=300)  # with the rating
    comment_on_enterprise: str | None = Field(default=None, max_length=300)
    outcome: str | None = Field(default=None, max_length=16)  # solved, partly, not_solved
    # Any of new_product, patent, rd_platform, trained; None until the enterprise records them.
    results: list[str] | None = Field(default=None, sa_column=json_column(nullable=True))
    outcome_at: dt.datetime | None = Field(default=None, sa_column=aware())
    # Contact details go to both sides once, when both agreed to share them (handlers.privacy);
    # the side still to agree is asked again at most once, when the other side agrees.
    contacts_shared_at: dt.datetime | None = Field(default=None, sa_column=aware())
    contacts_reminded_at: dt.datetime | None = Field(default=None, sa_column=aware())


class WorkLog(SQLModel, table=True):
    __tablename__ = "work_logs"

    id: int | None = Field(default=None, primary_key=True)
    engagement_id: int = Field(foreign_key="engagements.id", index=True)
    work_date: dt.date
    mode: str = Field(max_length=16)  # onsite, remote
    hours: float
    summary: str = Field(max_length=1000)
    status: str = Field(default=WorkLogStatus.PENDING, max_length=16)
    created_at: dt.datetime = Field(sa_column=aware(nullable=False))
    decided_at: dt.datetime | None = Field(default=None, sa_column=aware())
    dispute_reason: str | None = Field(default=None, max_length=300)  # the enterprise's words


class EngagementCheckin(SQLModel, table=True):
    """The monthly "is the work going well?" question to an enterprise, and its answer.

    One row per engagement and month: the unique key is what makes a job that runs
    twice, a restart or a second process ask nobody twice.
    """

    __tablename__ = "engagement_checkins"
    __table_args__ = (UniqueConstraint("engagement_id", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    engagement_id: int = Field(foreign_key="engagements.id")
    month: str = Field(max_length=7)  # "2026-03", in BOT_TIMEZONE
    asked_at: dt.datetime = Field(sa_column=aware(nullable=False))
    answered_at: dt.datetime | None = Field(default=None, sa_column=aware(index=True))
    answer: str | None = Field(default=None, max_length=8)  # good, partly, no


class Voucher(SQLModel, table=True):
    """A technology innovation voucher granted for one engagement (at most one each).

    The daily rate in force when it was recorded is kept with it, so changing the
    setting later does not rewrite what earlier vouchers allowed.
    """

    __tablename__ = "vouchers"

    id: int | None = Field(default=None, primary_key=True)
    engagement_id: int = Field(foreign_key="engagements.id", unique=True)
    amount: int  # yuan
    purpose: str = Field(max_length=200)
    daily_rate: int  # yuan per confirmed service day (8 confirmed hours)
    recorded_by_user_id: int = Field(foreign_key="users.id")
    recorded_at: dt.datetime = Field(sa_column=aware(nullable=False))


class AuditEvent(SQLModel, table=True):
    """Who did what to which record; ids only, never personal text."""

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(sa_column=aware(nullable=False, index=True))
    actor_user_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    action: str = Field(max_length=64)
    target_type: str | None = Field(default=None, max_length=32)
    target_id: int | None = None
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())


class JobRun(SQLModel, table=True):
    """One scheduled job's run for one slot (its due time): claimed by inserting, so with
    several bot processes, or a job that fires twice, exactly one run does the work."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("name", "slot"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    slot: dt.datetime = Field(sa_column=aware(nullable=False))
    started_at: dt.datetime = Field(sa_column=aware(nullable=False))
    finished_at: dt.datetime | None = Field(default=None, sa_column=aware())
    failed: bool = False


class DigestSend(SQLModel, table=True):
    """One coordinator's daily digest for one day (in BOT_TIMEZONE): claimed by inserting
    before sending, so a restart, a job that fires twice or a second bot process sends
    nobody two digests on the same day."""

    __tablename__ = "digest_sends"
    __table_args__ = (UniqueConstraint("user_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    day: dt.date
    claimed_at: dt.datetime = Field(sa_column=aware(nullable=False))
    sent_at: dt.datetime | None = Field(default=None, sa_column=aware())


class BroadcastStatus(StrEnum):
    DRAFT = "draft"  # previewed, waiting for the coordinator's go
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class Broadcast(SQLModel, table=True):
    """A coordinator's notice to many users: previewed, then sent once (the move from draft
    to sending is guarded, so a double tap or a second process cannot send it twice)."""

    __tablename__ = "broadcasts"

    id: int | None = Field(default=None, primary_key=True)
    coordinator_user_id: int = Field(foreign_key="users.id", index=True)
    audience: str = Field(max_length=16)  # specialists, enterprises, city
    city: str | None = Field(default=None, max_length=64)  # a city code, for a city's audience
    text: str = Field(max_length=4096)
    status: str = Field(default=BroadcastStatus.DRAFT, max_length=16)
    recipients: int = 0
    delivered: int = 0
    failed: int = 0
    created_at: dt.datetime = Field(sa_column=aware(nullable=False))
    started_at: dt.datetime | None = Field(default=None, sa_column=aware())
    finished_at: dt.datetime | None = Field(default=None, sa_column=aware())


class InboxEvent(SQLModel, table=True):
    """Something a person did on a platform, kept before the platform is told it arrived.

    Unique per (platform, event id), so a redelivery is recognised; processed from
    here in arrival order per person; kept a while after processing (for that
    recognition), then pruned. Times are the wall clock's: they pace the pipeline.
    """

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("platform", "event_id"),
        Index("ix_inbox_person_state", "person", "state", "id"),
        Index("ix_inbox_state_due", "state", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    event_id: str = Field(max_length=128)
    person: str = Field(max_length=160)  # "platform:account": events of one person in order
    body: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    flood: str | None = Field(default=None, max_length=8)  # None, "warn" or "drop"
    state: str = Field(default="pending", max_length=8)  # pending, done, failed
    attempts: int = 0
    received_at: dt.datetime = Field(sa_column=aware(nullable=False))
    due_at: dt.datetime = Field(sa_column=aware(nullable=False))
    finished_at: dt.datetime | None = Field(default=None, sa_column=aware(index=True))
    error: str | None = Field(default=None, max_length=300)


class OutboxMessage(SQLModel, table=True):
    """Something the bot sends: written with the change that caused it, delivered after.

    Rows of one address go out in id order. A sent message keeps its `ref` (what
    flows hold), the platform's message id (what a press names) and the view it
    shows now (`shown`), so an edit that changes nothing is never sent.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_address_state", "platform", "address", "state", "id"),
        Index("ix_outbox_state_due", "state", "due_at"),
        Index("ix_outbox_platform_message", "platform", "address", "platform_message_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=24, unique=True)
    platform: str = Field(max_length=16)
    address: str = Field(max_length=128)
    user_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    kind: str = Field(max_length=8)  # send, edit, strip, answer, file, menu
    target: str | None = Field(default=None, max_length=24)  # the ref an edit or strip changes
    body: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    blob: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    key: str | None = Field(default=None, max_length=120, unique=True)  # idempotency key
    # pending, sending, sent, failed, unreachable
    state: str = Field(default="pending", max_length=12)
    attempts: int = 0
    created_at: dt.datetime = Field(sa_column=aware(nullable=False))
    due_at: dt.datetime = Field(sa_column=aware(nullable=False))
    lease_until: dt.datetime | None = Field(default=None, sa_column=aware())
    sent_at: dt.datetime | None = Field(default=None, sa_column=aware(index=True))
    platform_message_id: str | None = Field(default=None, max_length=64)
    shown: dict[str, Any] | None = Field(default=None, sa_column=json_column(nullable=True))
    error: str | None = Field(default=None, max_length=300)


class ButtonToken(SQLModel, table=True):
    """What a button means: platforms carry only its short opaque token, and a press is
    honoured only from the person the button was drawn for."""

    __tablename__ = "buttons"

    token: str = Field(max_length=24, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    data: str = Field(max_length=64)
    issued_at: dt.datetime = Field(sa_column=aware(nullable=False, index=True))


class PlatformToken(SQLModel, table=True):
    """A platform's access token, shared by every bot process: WeCom limits how often one
    may be fetched, and each process fetching its own would draw on that limit."""

    __tablename__ = "platform_tokens"

    platform: str = Field(max_length=16, primary_key=True)
    value: str = Field(max_length=512)
    expires_at: dt.datetime = Field(sa_column=aware(nullable=False))


class _Meaning(SQLModel):
    """A text's vector from the matching engine's sentence-embedding model (see
    matching.semantic), kept so a round embeds only what is new or changed."""

    model: str = Field(max_length=64)  # which model made it: another model's is stale
    digest: str = Field(max_length=40)  # sha1 of the text embedded: a changed text is stale
    vector: bytes = Field(sa_type=LargeBinary)  # float32, unit length


class SpecialistMeaning(_Meaning, table=True):
    __tablename__ = "specialist_meanings"

    specialist_id: int = Field(foreign_key="specialists.id", primary_key=True)


class DemandMeaning(_Meaning, table=True):
    __tablename__ = "demand_meanings"

    demand_id: int = Field(foreign_key="demands.id", primary_key=True)
