"""Messages as flows build them, before any platform draws them.

A view is text in the core's small markup (the HTML subset `<b>`, `<code>` and
`<a href>`, entities escaped: see handlers.i18n.Markup), rows of buttons, and
optionally a request for the person's phone number. Each channel renders views
in its platform's dialect; the core degrades them first where the platform
cannot show them (handlers.core.capabilities).

Buttons carry the flow's own callback data (`pr:acc:12:1`); the core stores it
and puts a short opaque token on the platform's button instead.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

_TAG = re.compile(r"<[^>]*>")


class Button(NamedTuple):
    label: str
    data: str  # the flow's callback data: short ASCII, parsed with anchored patterns


Keyboard = tuple[tuple[Button, ...], ...]
Pair = tuple[str, str]  # (label, data), as flows build their buttons


def inline(rows: Iterable[Sequence[Pair]]) -> Keyboard:
    """Rows of (label, data) pairs as a keyboard."""
    return tuple(tuple(Button(label, data) for label, data in row) for row in rows)


def column(buttons: Iterable[Pair]) -> Keyboard:
    """One button per row: easiest to hit on a phone."""
    return inline([button] for button in buttons)


@dataclass(frozen=True)
class View:
    """What one message shows."""

    text: str
    keyboard: Keyboard = ()
    # A "share my phone number" button labelled so (where the platform has one).
    contact: str | None = None
    # Take away an earlier contact request's button (Telegram keeps it under the input).
    ends_contact: bool = False
    # Buttons the core could not draw: shown as numbered lines, answered by typing a number.
    numbered: bool = False

    @property
    def buttons(self) -> list[Button]:
        return [button for row in self.keyboard for button in row]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text}
        if self.keyboard:
            data["keyboard"] = [[list(button) for button in row] for row in self.keyboard]
        if self.contact:
            data["contact"] = self.contact
        if self.ends_contact:
            data["ends_contact"] = True
        if self.numbered:
            data["numbered"] = True
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> View:
        return cls(
            text=data["text"],
            keyboard=tuple(
                tuple(Button(label, value) for label, value in row)
                for row in data.get("keyboard", ())
            ),
            contact=data.get("contact"),
            ends_contact=bool(data.get("ends_contact")),
            numbered=bool(data.get("numbered")),
        )


@dataclass(frozen=True)
class File:
    """A file to send: its name, type and bytes, with an optional caption (markup)."""

    name: str
    mime: str
    data: bytes = field(repr=False)
    caption: str | None = None
    image: bool = False  # shown as a picture where the platform distinguishes


def plain(markup: str) -> str:
    """The markup as the reader sees it: tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", markup))
