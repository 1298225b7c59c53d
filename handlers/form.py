"""Guided forms: one question per step, then a summary to edit, confirm or cancel.

Every step offers Back and Cancel (and Skip when the field is optional); answers
come from buttons, typed text, or the platform's share-contact button. Bad input
gets a message saying what is accepted and the same question again; nothing
typed so far is lost, because the draft and the step are saved in the
`dialogues` table after every answer (so a restart changes nothing either).

    field 1 -> field 2 -> ... -> summary --confirm--> Form.confirm(draft)
       ^ back    ^ back              | edit field k -> field k -> summary

Callback data is `<flow>:<action>:<step>[:<value>]`; the step index makes a
button from an earlier question stale instead of silently answering another.

`parse` and `search` may be coroutines (to look things up in the database). A
parse may answer with suggestions (a list of Options) instead of a value; an
offered Option may `keep` a text that cannot travel in callback data, such as a
known spelling of an institution's name, and a tap on it stores that text.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from handlers.actor import Actor
from handlers.callbacks import pack
from handlers.core.capabilities import bare
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.core.views import Keyboard, Pair, inline
from handlers.i18n import Markup
from handlers.validators import Invalid
from storage.dialogues import end_dialogue, load_dialogue, save_dialogue
from storage.models import Dialogue

Draft = dict[str, Any]
SUMMARY = "summary"
PAGE_SIZE = 8
SUMMARY_VALUE_LIMIT = 600  # characters of one value shown in the summary
_EDITING = "_editing"  # draft key: answering returns to the summary
_PROMPT = "_prompt"  # draft key: message id of the question on screen
_OFFERED = "_offered"  # draft key: suggestions on screen for typed words, value -> kept


@dataclass(frozen=True)
class Option:
    value: str  # a short ASCII code: it travels in callback data
    label: str  # already in the user's language
    opens: bool = False  # a group: picking it lists its members instead of answering
    keeps: str | None = None  # offered for typed words: a tap stores this instead of value


@dataclass(frozen=True)
class Field:
    """One question. Values kept in the draft must be JSON types (str, int, list of str)."""

    name: str
    prompt: str  # message id of the question
    label: str  # message id of the field's name in the summary
    options: Callable[[Actor, Draft], Sequence[Option]] | None = None  # may read opened(draft)
    accepts: Callable[[str], bool] | None = None  # valid button values beyond the listed ones
    multi: bool = False
    parse: Callable[[str, Actor, Draft], Any] | None = None  # typed text -> value, or Invalid
    search: (  # typed words -> options
        Callable[[str, Actor], Sequence[Option] | Awaitable[Sequence[Option]]] | None
    ) = None
    contact: bool = False
    optional: bool = False
    when: Callable[[Draft], bool] | None = None
    render: Callable[[Actor, Any], str] | None = None
    prompt_params: Callable[[Actor, Draft], dict[str, object]] | None = None

    def asked(self, draft: Draft) -> bool:
        return self.when is None or self.when(draft)

    def opened(self, draft: Draft) -> str | None:
        """The group the user opened in a two-level list, if any."""
        group = draft.get(f"_open_{self.name}")
        return group if isinstance(group, str) else None

    def listed(self, actor: Actor, draft: Draft) -> list[Option]:
        return list(self.options(actor, draft)) if self.options else []

    def valid(self, value: str, actor: Actor, draft: Draft) -> bool:
        listed = any(o.value == value and not o.opens for o in self.listed(actor, draft))
        return listed or (self.accepts is not None and self.accepts(value))


Confirm = Callable[[Chat, Draft], Coroutine[Any, Any, None]]


# Every form by its flow, as defined at import: what a dialogue's flow names, when a
# command in the middle of a form (/language) must ask its question again.
_FORMS: dict[str, Form] = {}


@dataclass(frozen=True)
class Form:
    flow: str  # dialogue flow name and callback prefix: keep it short
    fields: tuple[Field, ...]
    summary: str  # message id of the summary heading
    confirm: Confirm

    def __post_init__(self) -> None:
        _FORMS[self.flow] = self

    def index(self, name: str) -> int:
        return next(i for i, field in enumerate(self.fields) if field.name == name)

    @property
    def button(self) -> re.Pattern[str]:
        return re.compile(
            rf"^{self.flow}:(?P<action>pick|tog|done|page|back|skip|cancel|edit|ok)"
            r":(?P<step>\d{1,3}|s)(?::(?P<arg>[\w.-]{1,40}))?$",
            re.ASCII,  # option values are ASCII codes; "²" is a digit to isdigit, not to int
        )


# --- opening and asking -------------------------------------------------------------


async def open_form(form: Form, chat: Chat, draft: Draft | None = None) -> None:
    """Start a form; with a draft of existing answers it opens on the summary to edit.

    Draft keys that are no field's name (which record the answers are about) only ride
    along to `confirm`: a draft of such keys alone starts at the first question.
    """
    draft = dict(draft or {})
    answered = any(field.name in draft for field in form.fields)
    step = SUMMARY if answered else _next_step(form, draft, -1)
    await _save(form, chat.actor, step, draft)
    await _ask(form, chat, step, draft)


async def resume_form(form: Form, chat: Chat, dialogue: Dialogue) -> None:
    """Ask the question the user is at again (a command in the middle of the form)."""
    await _ask(form, chat, dialogue.step, dict(dialogue.data))


async def ask_again(chat: Chat) -> None:
    """The question of the form the person is in, asked again (in their language now)."""
    actor = chat.actor
    dialogue = await load_dialogue(db=actor.services.db, user_id=actor.user_id)
    if dialogue is not None and dialogue.flow in _FORMS:
        await resume_form(_FORMS[dialogue.flow], chat, dialogue)


def _next_step(form: Form, draft: Draft, after: int) -> str:
    """The next field to ask after index `after`, or the summary.

    While editing from the summary, only questions an edit made relevant and that
    were never answered are asked before going back to it.
    """
    editing = draft.get(_EDITING)
    for field in form.fields[after + 1 :]:
        if field.asked(draft) and not (editing and field.name in draft):
            return field.name
    return SUMMARY


def _previous_step(form: Form, draft: Draft, before: int) -> str | None:
    for field in reversed(form.fields[:before]):
        if field.asked(draft):
            return field.name
    return None


async def _save(
    form: Form, actor: Actor, step: str, draft: Draft, *, answering: str | None = None
) -> bool:
    """Keep the step and the draft; with `answering`, only if the form still waits at that
    step (False when it moved on: the answer came for an earlier question)."""
    return await save_dialogue(
        db=actor.services.db,
        user_id=actor.user_id,
        flow=form.flow,
        step=step,
        data=draft,
        now=actor.services.clock.now(),
        answering=answering,
    )


async def _ask(form: Form, chat: Chat, step: str, draft: Draft, page: int = 0) -> None:
    """Send the question of a step as a new message and remember it."""
    actor = chat.actor
    draft.pop(_OFFERED, None)
    if step == SUMMARY:
        text, keyboard = summary_view(form, actor, draft)
    else:
        field = form.fields[form.index(step)]
        if field.contact and chat.services.outbox.caps(chat.target.platform).share_contact:
            # A share-contact button cannot share a message with other buttons.
            await chat.reply(actor.t("form.contact_hint"), contact=actor.t("form.share_contact"))
        text, keyboard = question_view(form, actor, field, draft, page)
    draft[_PROMPT] = await chat.reply(text, keyboard)
    await _save(form, actor, step, draft)


def question_view(
    form: Form, actor: Actor, field: Field, draft: Draft, page: int = 0
) -> tuple[Markup, Keyboard]:
    step = form.index(field.name)
    params = field.prompt_params(actor, draft) if field.prompt_params else {}
    text = actor.t(field.prompt, **params)
    rows: list[list[Pair]] = []
    if field.options:
        options = field.listed(actor, draft)
        chosen = set(draft.get(field.name) or []) if field.multi else set()
        if field.multi and chosen:
            text = Markup(
                text + "\n\n" + actor.t("form.selected", items=render_value(actor, field, draft))
            )
        pages = max(1, -(-len(options) // PAGE_SIZE))
        page = min(max(page, 0), pages - 1)
        shown = options[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        buttons = [
            _option_button(form, step, option, option.value in chosen, field.multi)
            for option in shown
        ]
        per_row = 2 if all(len(option.label) <= 10 for option in shown) else 1
        rows += [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
        if pages > 1:
            rows.append(
                [
                    ("‹", pack(form.flow, "page", step, (page - 1) % pages)),
                    (f"{page + 1}/{pages}", pack(form.flow, "page", step, page)),
                    ("›", pack(form.flow, "page", step, (page + 1) % pages)),
                ]
            )
        if field.multi:
            rows.append([(actor.t("form.done"), pack(form.flow, "done", step))])
    rows.append(_navigation(form, actor, field, step, draft))
    return text, inline(rows)


def _option_button(form: Form, step: int, option: Option, chosen: bool, multi: bool) -> Pair:
    if option.opens:
        return (option.label + " ›", pack(form.flow, "pick", step, option.value))
    if multi:
        return (
            ("✅ " if chosen else "") + option.label,
            pack(form.flow, "tog", step, option.value),
        )
    return (option.label, pack(form.flow, "pick", step, option.value))


def _navigation(form: Form, actor: Actor, field: Field, step: int, draft: Draft) -> list[Pair]:
    row: list[Pair] = []
    if draft.get(_EDITING) or field.opened(draft) or _previous_step(form, draft, step) is not None:
        row.append((actor.t("form.back"), pack(form.flow, "back", step)))
    if field.optional:
        row.append((actor.t("form.skip"), pack(form.flow, "skip", step)))
    row.append((actor.t("form.cancel"), pack(form.flow, "cancel", step)))
    return row


def summary_view(form: Form, actor: Actor, draft: Draft) -> tuple[Markup, Keyboard]:
    lines = [actor.t(form.summary)]
    edits: list[Pair] = []
    for step, field in enumerate(form.fields):
        if not field.asked(draft):
            continue
        value = render_value(actor, field, draft)
        lines.append(actor.t("form.summary_line", label=actor.t(field.label), value=value))
        edits.append(("✏️ " + actor.t(field.label), pack(form.flow, "edit", "s", step)))
    rows = [edits[i : i + 2] for i in range(0, len(edits), 2)]
    rows.append(
        [
            (actor.t("form.confirm"), pack(form.flow, "ok", "s")),
            (actor.t("form.cancel"), pack(form.flow, "cancel", "s")),
        ]
    )
    return Markup("\n".join(lines)), inline(rows)


def render_value(actor: Actor, field: Field, draft: Draft) -> str:
    """A stored value as the user reads it: option labels, or the text cut to a sensible length."""
    value = draft.get(field.name)
    if value in (None, "", []):
        return actor.t("form.empty_value")
    if field.render:
        text = field.render(actor, value)
    elif field.options:
        text = _labels(
            actor, field.listed(actor, draft), set(value) if isinstance(value, list) else {value}
        )
    else:
        text = actor.t("list.items").join(value) if isinstance(value, list) else str(value)
    return text if len(text) <= SUMMARY_VALUE_LIMIT else text[: SUMMARY_VALUE_LIMIT - 1] + "…"


def _labels(actor: Actor, options: Sequence[Option], values: set[str]) -> str:
    return actor.t("list.items").join(option.label for option in options if option.value in values)


# --- answers ------------------------------------------------------------------------


async def on_input(form: Form, chat: Chat, dialogue: Dialogue) -> None:
    """Something typed or shared while the form waits for an answer."""
    actor = chat.actor
    draft = dict(dialogue.data)
    if dialogue.step == SUMMARY:
        await chat.reply(actor.t("form.use_summary_buttons"))
        await _ask(form, chat, SUMMARY, draft)
        return
    field = form.fields[form.index(dialogue.step)]
    try:
        value = await _typed_value(field, chat, actor, draft)
    except Invalid as invalid:
        await chat.reply(actor.t(invalid.msgid, **invalid.params))
        await _ask(form, chat, dialogue.step, draft)
        return
    if isinstance(value, Option):  # a label typed loosely: say how it was read
        await chat.reply(Markup("→ ") + value.label)
        value = value.value
    if _suggestions(value) and not field.multi:
        await _offer(form, chat, field, draft, value)
        return
    if field.multi and _suggestions(value):
        chosen = list(dict.fromkeys([*(draft.get(field.name) or []), *(o.value for o in value)]))
        draft[field.name] = chosen
        added = actor.t("list.items").join(o.label for o in value)
        await chat.reply(actor.t("form.added", items=added))
        await _ask(form, chat, field.name, draft)
        return
    await _store(form, chat, field, draft, value)


async def _typed_value(field: Field, chat: Chat, actor: Actor, draft: Draft) -> Any:
    """The value of a typed answer; a list of Options means suggestions to choose from, one
    Option the button a typed answer stands for."""
    contact = chat.contact
    if field.contact and contact is not None:
        if not contact.own:
            raise Invalid("invalid.contact_not_yours")
        assert field.parse is not None
        return await _resolved(field.parse(contact.phone, actor, draft))
    if chat.text is None:
        raise Invalid("invalid.not_text")
    text = chat.text.strip()
    if not text:
        raise Invalid("invalid.empty")
    if field.parse:
        try:
            return await _resolved(field.parse(text, actor, draft))
        except Invalid:  # not a value as typed: perhaps a button's words ("半年")
            if bare(text).isdigit():  # a number or date out of range: "11" is not "1"
                raise
            option = _close_option(field.options(actor, draft) if field.options else [], text)
            if option is None or option.opens:
                raise
            return [option] if field.multi else option
    if field.search:
        found = list(await _resolved(field.search(text, actor)))
        if not found:
            raise Invalid("invalid.no_match")
        return found
    option = _close_option(field.options(actor, draft) if field.options else [], text)
    if option is None:
        raise Invalid("invalid.use_buttons")
    return [option] if field.multi else option


def _close_option(options: Sequence[Option], typed: str) -> Option | None:
    """The one option a typed answer to a button question stands for: its label without
    emoji or spaces, a little more ("小型企业" for "小型"), or a part of it ("maybe")."""
    wanted = bare(typed)
    if not wanted:
        return None
    for matches in (
        lambda label: label == wanted,
        lambda label: label in wanted and len(wanted) <= len(label) + 4,
        lambda label: len(wanted) >= 2 and wanted in label,
    ):
        found = [o for o in options if bare(o.label) and matches(bare(o.label))]
        if len(found) == 1:
            return found[0]
        if found:
            return None  # ambiguous: the buttons decide
    return None


def _suggestions(value: Any) -> bool:
    """Options to choose from, as opposed to a value (which may itself be a list)."""
    return isinstance(value, list) and bool(value) and all(isinstance(v, Option) for v in value)


async def _resolved(value: Any) -> Any:
    """The result of a parse or search that may be a coroutine."""
    return await value if inspect.isawaitable(value) else value


async def _offer(form: Form, chat: Chat, field: Field, draft: Draft, found: list[Option]) -> None:
    """Suggestions for typed words on a single-choice question: one tap picks."""
    actor = chat.actor
    step = form.index(field.name)
    rows = [
        [(option.label, pack(form.flow, "pick", step, option.value))]
        for option in found[:PAGE_SIZE]
    ]
    rows.append(_navigation(form, actor, field, step, draft))
    draft[_PROMPT] = await chat.reply(actor.t("form.did_you_mean"), inline(rows))
    draft[_OFFERED] = {option.value: option.keeps or option.value for option in found[:PAGE_SIZE]}
    await _save(form, actor, field.name, draft)


async def _store(form: Form, chat: Chat, field: Field, draft: Draft, value: Any) -> None:
    """Keep an answer and move on: the next question, or back to the summary when editing.

    Saved only while the form still waits at this question: an answer that arrives for
    a question already answered (the person was quicker than the bot) changes nothing.
    """
    actor = chat.actor
    draft[field.name] = value
    step = _next_step(form, draft, form.index(field.name))
    if step == SUMMARY:
        draft.pop(_EDITING, None)
    if not await _save(form, actor, step, draft, answering=field.name):
        await chat.reply(actor.t("form.step_moved"))
        current = await load_dialogue(db=actor.services.db, user_id=actor.user_id)
        if current is not None and current.flow == form.flow:
            await resume_form(form, chat, current)
        return
    if field.contact:
        await chat.reply(
            actor.t("form.noted", value=render_value(actor, field, draft)), ends_contact=True
        )
    # Take the buttons off the previous question so the chat reads cleanly.
    prompt = draft.get(_PROMPT)
    if isinstance(prompt, str):
        await chat.strip(prompt)
    await _ask(form, chat, step, draft)


async def on_button(form: Form, chat: Chat) -> None:
    """A button of this form: checked against the stored step, then applied."""
    match = chat.match
    assert match is not None
    actor = chat.actor
    dialogue = await load_dialogue(db=actor.services.db, user_id=actor.user_id)
    action, arg = match["action"], match["arg"]
    step = SUMMARY if match["step"] == "s" else match["step"]
    current = dialogue.step if dialogue and dialogue.flow == form.flow else None
    expected = SUMMARY if current == SUMMARY else (str(form.index(current)) if current else None)
    if dialogue is None or current is None or step != expected:
        await chat.notice(actor.t("button.stale"))
        return
    draft = dict(dialogue.data)
    if action == "cancel":
        await end_dialogue(db=actor.services.db, user_id=actor.user_id)
        await chat.notice()
        await chat.replace(chat.message, actor.t("form.cancelled"))
        return
    if step == SUMMARY:
        await _on_summary_button(form, chat, draft, action, arg)
        return
    field = form.fields[int(step)]
    await _on_field_button(form, chat, field, draft, action, arg)


async def _on_summary_button(
    form: Form, chat: Chat, draft: Draft, action: str, arg: str | None
) -> None:
    actor = chat.actor
    if action == "ok":
        await chat.notice()
        await chat.strip()
        if not await end_dialogue(db=actor.services.db, user_id=actor.user_id):
            return  # confirmed already (a double tap)
        clean = {key: value for key, value in draft.items() if not key.startswith("_")}
        await form.confirm(chat, clean)
        return
    if action == "edit" and arg is not None and arg.isdigit() and int(arg) < len(form.fields):
        field = form.fields[int(arg)]
        if field.asked(draft):
            await chat.notice()
            await chat.strip()
            draft[_EDITING] = True
            await _ask(form, chat, field.name, draft)
            return
    await chat.notice(actor.t("button.unknown"))


async def _on_field_button(
    form: Form, chat: Chat, field: Field, draft: Draft, action: str, arg: str | None
) -> None:
    actor = chat.actor
    step = form.index(field.name)
    group_key = f"_open_{field.name}"
    if (
        action == "pick"
        and arg is not None
        and any(o.value == arg and o.opens for o in field.listed(actor, draft))
    ):
        draft[group_key] = arg
        await _redraw(form, chat, field, draft, 0)
        return
    if action == "back" and draft.pop(group_key, None):
        await _redraw(form, chat, field, draft, 0)
        return
    if action == "back":
        await chat.notice()
        await chat.strip()
        if draft.pop(_EDITING, None):
            await _ask(form, chat, SUMMARY, draft)
            return
        previous = _previous_step(form, draft, step)
        await _ask(form, chat, previous or field.name, draft)
        return
    if action == "skip" and field.optional:
        await chat.notice()
        await _store(form, chat, field, draft, [] if field.multi else None)
        return
    if action == "page" and arg is not None and arg.isdigit():
        await _redraw(form, chat, field, draft, int(arg))
        return
    offered = draft.get(_OFFERED) or {}
    if (
        action == "pick"
        and not field.multi
        and arg is not None
        and (arg in offered or field.valid(arg, actor, draft))
    ):
        await chat.notice()
        draft.pop(group_key, None)
        value = offered.get(arg, arg)
        draft[field.name] = value
        await chat.annotate(Markup("→ ") + render_value(actor, field, draft), separator="\n")
        draft.pop(_PROMPT, None)
        await _store(form, chat, field, draft, value)
        return
    if action == "tog" and field.multi and arg is not None and field.valid(arg, actor, draft):
        chosen = list(draft.get(field.name) or [])
        chosen = [v for v in chosen if v != arg] if arg in chosen else [*chosen, arg]
        draft[field.name] = chosen
        listed = field.listed(actor, draft)
        page = next((i // PAGE_SIZE for i, o in enumerate(listed) if o.value == arg), 0)
        await _redraw(form, chat, field, draft, page)
        return
    if action == "done" and field.multi:
        if not draft.get(field.name) and not field.optional:
            await chat.notice(actor.t("invalid.choose_one"), alert=True)
            return
        await chat.notice()
        await chat.strip()
        draft.pop(_PROMPT, None)
        await _store(form, chat, field, draft, draft.get(field.name) or [])
        return
    await chat.notice(actor.t("button.unknown"))


async def _redraw(form: Form, chat: Chat, field: Field, draft: Draft, page: int) -> None:
    """Show the same question again in place (another page, group or selection)."""
    await _save(form, chat.actor, field.name, draft)
    await chat.notice()
    text, keyboard = question_view(form, chat.actor, field, draft, page)
    await chat.replace(chat.message, text, keyboard)


def register(form: Form, router: Router) -> None:
    """The form's buttons; typed input reaches `on_input` through the dialogue router."""

    async def buttons(chat: Chat) -> None:
        await on_button(form, chat)

    router.button(form.button, buttons)
