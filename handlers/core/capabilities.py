"""What a platform can show and do, declared by its channel; the core fits views to it.

Flows never ask which platform they talk to. They build the richest view they
want; `fit` turns it into what the platform can draw (Rasa-style fallbacks):
too many buttons, or none allowed, become numbered lines answered by typing
the number; a phone request becomes a typed answer where there is no share
button. Edits that the platform cannot make become new messages (handled where
a message is replaced, handlers.core.chat).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from handlers.core.views import Button, View
from handlers.i18n import Markup, escape

Edits = Literal["any", "click", "none"]  # any time / once, answering the click / never


@dataclass(frozen=True)
class Capabilities:
    edits: Edits = "any"
    max_buttons: int = 100  # per message; 0: no buttons at all
    max_row: int = 8  # buttons side by side
    max_payload: int = 64  # bytes a button may carry (the core's tokens need 22)
    max_text: int = 4096  # what one message may hold
    text_unit: Literal["utf16", "bytes", "chars"] = "utf16"
    markup: Literal["html", "markdown", "plain"] = "html"
    # May the bot write to someone who has not written first? Within what window since
    # their last message (None: any time)?
    first_contact: bool = False
    reply_window: dt.timedelta | None = None
    share_contact: bool = False  # a "share my phone" button
    menus: bool = False  # a per-person command menu
    files: bool = True
    # Sending pace the platform tolerates: per address and overall, messages per second.
    per_address_rate: float = 1.0
    per_address_burst: int = 3
    overall_rate: float = 30.0


def fit(view: View, caps: Capabilities) -> View:
    """The view as the platform can show it: buttons it cannot draw become numbered lines."""
    if view.contact and not caps.share_contact:
        view = dataclasses.replace(view, contact=None)
    buttons = view.buttons
    too_wide = any(len(row) > caps.max_row for row in view.keyboard)
    if not buttons or (len(buttons) <= caps.max_buttons and not too_wide):
        return view
    if len(buttons) <= caps.max_buttons:
        rows = tuple(
            tuple(row[i : i + caps.max_row])
            for row in view.keyboard
            for i in range(0, len(row), caps.max_row)
        )
        return dataclasses.replace(view, keyboard=rows)
    return numbered(view)


def numbered(view: View) -> View:
    """Every button as a numbered line under the text; the buttons stay, unseen, so a
    typed number can find what it stands for."""
    lines = [f"{n}. {escape(button.label)}" for n, button in enumerate(view.buttons, 1)]
    text = Markup(view.text) + Markup("\n\n" + "\n".join(lines))
    return dataclasses.replace(view, text=text, numbered=True)


def choice_for(view_keyboard: list[Button], numbered_view: bool, typed: str) -> Button | None:
    """The button a typed reply stands for: its exact label, its label without emoji and
    marks ("同意" for "✅ 同意") or without what it says in brackets ("企业" for
    "🏭 企业（提出技术需求）") when only one button has it, or its number on a view whose
    buttons were drawn as numbered lines, unless some labels are numbers themselves (days,
    a count): there a typed number is the value meant, not a line's position."""
    wanted = " ".join(typed.split()).casefold()
    for button in view_keyboard:
        if " ".join(button.label.split()).casefold() == wanted:
            return button
    plain = bare(wanted)
    if plain and not plain.isdigit():  # "12" is an answer, not the pager's "1/2"
        for read in (bare, _bare_head):
            found = [button for button in view_keyboard if read(button.label) == plain]
            if len(found) == 1:
                return found[0]
            if found:
                return None  # two buttons read alike: the buttons decide
    numeric_labels = any(button.label.strip().isdigit() for button in view_keyboard)
    if numbered_view and not numeric_labels and wanted.isdigit() and wanted.isascii():
        number = int(wanted)
        if 1 <= number <= len(view_keyboard):
            return view_keyboard[number - 1]
    return None


def bare(text: str) -> str:
    """Letters and digits only, case folded: a label without its emoji, marks and spaces."""
    return "".join(c for c in text.casefold() if c.isalnum())


def _bare_head(label: str) -> str:
    """A label without what it says in brackets: "企业" of "🏭 企业（提出技术需求）"."""
    return bare(re.sub(r"[（(][^（）()]*[）)]", "", label))
