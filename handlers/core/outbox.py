"""The one way anything leaves the bot: rows in the outbox, written in the caller's unit of
work, delivered by the pipeline once it commits.

Replies to an event, proposals of a round, reminders, digests, broadcasts and
exports all come here. Each view is fitted to the platform (capabilities), its
buttons' data swapped for tokens bound to the person, and the message given a
`ref` that flows keep to change it later. An edit that would change nothing is
not written at all; an edit the platform cannot make becomes a new message.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from handlers.core.capabilities import Capabilities, fit
from handlers.core.views import Button, File, View
from storage.buttons import issue_tokens
from storage.db import Database
from storage.identities import reachable_identity, set_choices
from storage.models import Identity
from storage.outbox import enqueue, set_shown, shown_message

log = logging.getLogger(__name__)
REF_BYTES = 12  # 16 characters of base64: unique enough, short in a draft


@dataclass(frozen=True)
class Target:
    """Where a message goes: a platform's address, and the person if the bot knows them."""

    platform: str
    address: str
    user_id: int | None = None
    identity_id: int | None = None
    choices_ref: str | None = None  # the message whose buttons a typed reply finds now

    @classmethod
    def of(cls, identity: Identity) -> Target:
        return cls(
            identity.platform,
            identity.address,
            identity.user_id,
            identity.id,
            (identity.choices or {}).get("ref"),
        )


def new_ref() -> str:
    return secrets.token_urlsafe(REF_BYTES)


class Outbox:
    def __init__(
        self,
        db: Database,
        *,
        capabilities: Mapping[str, Capabilities],
        wake: Callable[[str, str], None] = lambda platform, address: None,
        wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.db = db
        self.capabilities = capabilities
        self.wake = wake
        self.wall = wall

    def caps(self, platform: str) -> Capabilities:
        return self.capabilities.get(platform) or Capabilities()

    # --- to people ------------------------------------------------------------------

    async def to_user(self, user_id: int, view: View, *, key: str | None = None) -> str | None:
        """Send to a person wherever they wrote from last; None when they have no account
        the bot can reach (erased, or never wrote)."""
        identity = await reachable_identity(db=self.db, user_id=user_id)
        if identity is None:
            log.info("user %s has no account to send to", user_id)
            return None
        return await self.send(Target.of(identity), view, key=key)

    # --- the operations ---------------------------------------------------------------

    async def send(self, target: Target, view: View, *, key: str | None = None) -> str:
        """A new message; returns its ref. With a `key` used before, nothing is written (the
        ref returned then names nothing)."""
        ref = new_ref()
        fitted = await self._tokens(target, fit(view, self.caps(target.platform)))
        body = fitted.to_json()
        await self._write(target, ref=ref, kind="send", body=body, shown=body, key=key)
        await self._remember_choices(target, ref, fitted)
        return ref

    async def edit(
        self,
        target: Target,
        ref: str,
        view: View,
        *,
        handle: str | None = None,
    ) -> str:
        """Change a message the bot sent: in place where the platform can (for platforms that
        edit only in answer to a click, `handle` is that click's), else as a new message.
        Returns the ref now showing the view."""
        caps = self.caps(target.platform)
        current = await shown_message(db=self.db, ref=ref)
        editable = current is not None and current.state not in ("failed", "unreachable")
        if caps.edits == "none" or (caps.edits == "click" and handle is None) or not editable:
            shown = await self.send(target, view)
            if target.choices_ref == ref and not view.keyboard:
                # The old message stays drawn, but what it asked is over: typed replies no
                # longer stand for its buttons, as where it is changed in place.
                await self.forget_choices(target)
            return shown
        fitted = await self._tokens(target, fit(view, caps))
        body = fitted.to_json()
        if current is not None and current.shown == body:
            return ref  # showing exactly this already: an edit would change nothing
        await self._write(
            target, ref=new_ref(), kind="edit", changes=ref, body={**body, "handle": handle}
        )
        await set_shown(db=self.db, ref=ref, shown=body)
        await self._remember_choices(target, ref, fitted)
        return ref

    async def strip(self, target: Target, ref: str, *, handle: str | None = None) -> None:
        """Take a message's buttons away (where the platform can change it now)."""
        current = await shown_message(db=self.db, ref=ref)
        if current is None or not (current.shown or {}).get("keyboard"):
            return
        caps = self.caps(target.platform)
        if caps.edits == "none" or (caps.edits == "click" and handle is None):
            return
        bare = {k: v for k, v in current.shown.items() if k != "keyboard"}  # type: ignore[union-attr]
        await self._write(
            target, ref=new_ref(), kind="strip", changes=ref, body={**bare, "handle": handle}
        )
        await set_shown(db=self.db, ref=ref, shown=bare)
        if target.choices_ref == ref and target.identity_id is not None:
            await set_choices(db=self.db, identity_id=target.identity_id, choices=None)

    async def answer(
        self, target: Target, handle: str | None, text: str | None, *, alert: bool = False
    ) -> None:
        """Answer a press with a short notice (or nothing, to stop the platform's spinner)."""
        await self._write(
            target,
            ref=new_ref(),
            kind="answer",
            body={"handle": handle, "text": text, "alert": alert},
        )

    async def file(self, target: Target, file: File, *, key: str | None = None) -> str:
        ref = new_ref()
        body = {"name": file.name, "mime": file.mime, "caption": file.caption, "image": file.image}
        await self._write(target, ref=ref, kind="file", body=body, blob=file.data, key=key)
        return ref

    async def menu(self, target: Target, commands: Sequence[tuple[str, str]]) -> None:
        """The person's command menu: (command, description) pairs."""
        if self.caps(target.platform).menus:
            body = {"commands": [list(c) for c in commands]}
            await self._write(target, ref=new_ref(), kind="menu", body=body)

    # --- inside ---------------------------------------------------------------------------

    async def _tokens(self, target: Target, view: View) -> View:
        """Swap each button's callback data for the person's token of it."""
        if not view.keyboard:
            return view
        if target.user_id is None:
            raise ValueError("buttons need a known person: their presses are checked against it")
        tokens = await issue_tokens(
            db=self.db,
            user_id=target.user_id,
            data={button.data for button in view.buttons},
            now=self.wall(),
        )
        keyboard = tuple(
            tuple(Button(button.label, tokens[button.data]) for button in row)
            for row in view.keyboard
        )
        return dataclasses.replace(view, keyboard=keyboard)

    async def forget_choices(self, target: Target) -> None:
        """Typed replies no longer stand for any buttons."""
        if target.identity_id is not None:
            await set_choices(db=self.db, identity_id=target.identity_id, choices=None)

    async def _remember_choices(self, target: Target, ref: str, view: View) -> None:
        if target.identity_id is None:
            return
        if view.keyboard:
            choices: dict[str, Any] | None = {
                "ref": ref,
                "buttons": [list(button) for button in view.buttons],
                "numbered": view.numbered,
            }
        elif target.choices_ref == ref:
            choices = None
        else:
            return
        await set_choices(db=self.db, identity_id=target.identity_id, choices=choices)

    async def _write(
        self,
        target: Target,
        *,
        ref: str,
        kind: str,
        body: dict[str, Any],
        changes: str | None = None,
        shown: dict[str, Any] | None = None,
        blob: bytes | None = None,
        key: str | None = None,
    ) -> None:
        now = self.wall()
        await enqueue(
            db=self.db,
            rows=[
                {
                    "ref": ref,
                    "platform": target.platform,
                    "address": target.address,
                    "user_id": target.user_id,
                    "kind": kind,
                    "target": changes,
                    "body": body,
                    "blob": blob,
                    "key": key,
                    "created_at": now,
                    "due_at": now,
                    "shown": shown,
                }
            ],
        )
        platform, address = target.platform, target.address
        self.db.after_commit(lambda: self.wake(platform, address))
