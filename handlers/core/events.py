"""What a person did, on no particular platform: the one event schema every channel speaks.

A channel turns its platform's payload into an `Event` before anything else
happens; the event is what the inbox keeps (as JSON) and what flows receive.
Nothing here names a platform's objects: a press carries the opaque token the
core drew on the button, the platform's id of the message it was on, and the
handle the platform needs to answer it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

ATTACHMENT_KINDS = ("photo", "voice", "document", "sticker", "video", "other")
PLATFORMS = ("telegram", "wecom", "feishu", "dingtalk")
# platform:id as COORDINATOR_IDS and /add_coordinator take it; a bare number is a Telegram id.
_ACCOUNT = re.compile(
    rf"^(?:(?P<platform>{'|'.join(PLATFORMS)}):)?(?P<account>[A-Za-z0-9_.@-]{{1,128}})$"
)
_TELEGRAM_ID = re.compile(r"^\d{1,15}$")


@dataclass(frozen=True)
class Sender:
    """Who did it, as the platform names them."""

    platform: str  # telegram, wecom, feishu, dingtalk, ...
    account: str  # the platform's id of the person
    address: str  # where replies go (a chat id; on most platforms the account itself)
    name: str | None = None  # how the platform shows them (kept only after consent)
    language: str | None = None  # the platform's language tag, if it gives one

    @property
    def person(self) -> str:
        """The key that keeps one person's events in order."""
        return f"{self.platform}:{self.account}"


@dataclass(frozen=True)
class Command:
    """A command with what followed it: "/start specialist" -> ("start", "specialist")."""

    name: str
    arg: str = ""

    @property
    def args(self) -> list[str]:
        return self.arg.split()


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Press:
    """A button pressed: the core's token, the platform's id of the message it was on, and
    the platform's handle for answering the press (a query id, a response code)."""

    token: str
    message: str | None = None
    handle: str | None = None


@dataclass(frozen=True)
class Contact:
    """A phone number shared through the platform's own button; `own` when it is the
    sender's own number (as the platform says)."""

    phone: str
    own: bool = True


@dataclass(frozen=True)
class Attachment:
    """A file, photo, voice note or sticker: flows that want typed text say so."""

    kind: str


@dataclass(frozen=True)
class Opened:
    """The person opened the conversation (a platform's "enter" event, a start link)."""

    param: str | None = None


Body = Command | Text | Press | Contact | Attachment | Opened
_KINDS: dict[str, type[Body]] = {
    "command": Command,
    "text": Text,
    "press": Press,
    "contact": Contact,
    "attachment": Attachment,
    "opened": Opened,
}
_NAMES = {kind: name for name, kind in _KINDS.items()}


@dataclass(frozen=True)
class Event:
    """One thing one person did; `id` is the platform's, unique within it."""

    id: str
    sender: Sender
    body: Body

    @property
    def platform(self) -> str:
        return self.sender.platform

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "sender": asdict(self.sender),
            "kind": _NAMES[type(self.body)],
            "body": asdict(self.body),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        kind = _KINDS[data["kind"]]
        return cls(id=data["id"], sender=Sender(**data["sender"]), body=kind(**data["body"]))


def parse_account(text: str) -> tuple[str, str] | None:
    """(platform, account) of "wecom:zhang.san", or of "12345" (a Telegram user id); None
    for anything else."""
    match = _ACCOUNT.match(text.strip())
    if match is None:
        return None
    platform, account = match["platform"] or "telegram", match["account"]
    if platform == "telegram":
        if not _TELEGRAM_ID.match(account):
            return None
        account = str(int(account))
    return platform, account


def parse_command(text: str) -> Command | None:
    """A command typed as text ("/start x", "/start@bot x"), or None for other text."""
    if not text.startswith("/") or len(text) < 2:
        return None
    head, _, rest = text[1:].partition(" ")
    name = head.split("@")[0].lower()
    if not name or not all(c.isascii() and (c.isalnum() or c == "_") for c in name):
        return None
    return Command(name, rest.strip())
