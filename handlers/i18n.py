"""Message catalogs and the per-user language rule.

Code holds message ids only (``start.consent``); the texts live in gettext PO
files under ``locales/<locale>/LC_MESSAGES/*.po``. Every PO file of a locale is
merged, so each flow can keep its own file. Texts are in the core's markup (the
HTML subset ``<b>``, ``<code>``, ``<a href>``; each channel renders it for its
platform); every value put into a placeholder is escaped unless it is
``Markup`` (a fragment the bot itself rendered).

A text that counts something is a gettext plural entry (``msgid_plural`` repeats the id,
``msgstr[0]``, ``msgstr[1]``, ... are its forms); its form is chosen by the ``count``
parameter with the locale's plural rule, so English says "1 new proposal" and "2 new
proposals" while Chinese has one form. A text that counts two things counts one and
names the other as a label ("open demands 3").
"""

from __future__ import annotations

import gettext
import html
import re
import string
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

SUPPORTED_LOCALES = ("zh_CN", "en")
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
# A message's visible text, in UTF-16 units: Telegram's limit, the strictest in characters of
# the platforms served (channels split longer texts where their limit is in bytes).
MESSAGE_LIMIT = 4096
_TAG = re.compile(r"<[^>]*>")

# A message's text: one string, or a plural entry's forms in the order of its locale's rule.
Template = str | tuple[str, ...]


class Markup(str):
    """A string that is already safe HTML and must not be escaped again.

    Joining keeps it safe: plain text added to it is escaped first.
    """

    __slots__ = ()

    def __add__(self, other: str) -> Markup:
        return Markup(str.__add__(self, escape(other)))

    def __radd__(self, other: str) -> Markup:
        return Markup(str.__add__(escape(other), self))


def escape(value: object) -> Markup:
    """Escape a value for the markup (only <, > and & matter outside attributes)."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value), quote=False))


def visible_length(text: str) -> int:
    """What counts against the limit: the text without tags, entities decoded."""
    plain = html.unescape(_TAG.sub("", text))
    return len(plain.encode("utf-16-le")) // 2


def shorten(text: str, limit: int) -> str:
    """Cut plain text to at most `limit` characters, marking the cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def placeholders(template: Template) -> set[str]:
    """The named fields of a str.format template (of all its forms, for a plural entry)."""
    return {
        field
        for text in forms(template)
        for _, field, _, _ in string.Formatter().parse(text)
        if field
    }


def forms(template: Template) -> tuple[str, ...]:
    """The texts of a template: one, or one per plural form."""
    return (template,) if isinstance(template, str) else template


@cache
def plural_rule(locale: str) -> Callable[[int], int]:
    """Which plural form a count takes in the locale (CLDR's rule, as PO headers state it)."""
    return gettext.c2py(get_plural(locale).plural_expr)


class Catalogs:
    """All texts of all shipped locales, loaded once."""

    def __init__(self, messages: Mapping[str, Mapping[str, Template]], default_locale: str) -> None:
        self.messages = messages
        self.default_locale = default_locale

    @classmethod
    def load(cls, default_locale: str, directory: Path = LOCALES_DIR) -> Catalogs:
        return cls(read_catalogs(directory), default_locale)

    def translate(self, locale: str, msgid: str, **params: object) -> Markup:
        """The text of msgid in locale with escaped params; falls back to the default locale.

        A plural entry takes the form its ``count`` parameter asks for."""
        found = self.messages.get(locale, {}).get(msgid)
        if not found:
            locale, found = self.default_locale, self.messages[self.default_locale].get(msgid)
        if found is None:
            raise KeyError(f"message id {msgid!r} is in no catalog")
        template = found if isinstance(found, str) else self._form(locale, msgid, found, params)
        text = template.format(**{key: escape(value) for key, value in params.items()})
        # Values come from users: shorten the longest plain one until the message fits.
        while visible_length(text) > MESSAGE_LIMIT:
            plain = {k: str(v) for k, v in params.items() if not isinstance(v, Markup)}
            if not plain:
                break
            longest = max(plain, key=lambda k: len(plain[k]))
            excess = visible_length(text) - MESSAGE_LIMIT
            params = {**params, longest: shorten(plain[longest], len(plain[longest]) - excess - 1)}
            text = template.format(**{key: escape(value) for key, value in params.items()})
        return Markup(text)

    @staticmethod
    def _form(locale: str, msgid: str, found: tuple[str, ...], params: Mapping[str, object]) -> str:
        """The plural form for params["count"]: a number, or one as written ("2.5")."""
        try:
            count = Decimal(str(params["count"]))
        except (KeyError, InvalidOperation):
            raise TypeError(f"plural message {msgid!r} needs a numeric count") from None
        if count != count.to_integral_value():
            return found[-1]  # fractions take the last form ("1.5 days")
        return found[min(plural_rule(locale)(int(count)), len(found) - 1)]

    def locale_for(self, saved: str | None, platform_code: str | None) -> str:
        """Saved choice, then the platform's language tag when we ship it, else the default."""
        if saved in SUPPORTED_LOCALES:
            return saved
        return match_language_code(platform_code) or self.default_locale


def match_language_code(code: str | None) -> str | None:
    """Map a platform's IETF tag (zh-hans, en-US, zh_CN, ...) to a shipped locale."""
    if not code:
        return None
    primary = code.replace("_", "-").split("-")[0].lower()
    return {"zh": "zh_CN", "en": "en"}.get(primary)


@cache
def read_catalogs(directory: Path = LOCALES_DIR) -> dict[str, dict[str, Template]]:
    """Read every PO file of every shipped locale into {locale: {msgid: template}}."""
    catalogs: dict[str, dict[str, Template]] = {}
    for locale in SUPPORTED_LOCALES:
        merged: dict[str, Template] = {}
        for path in sorted((directory / locale / "LC_MESSAGES").glob("*.po")):
            with path.open("rb") as handle:
                for message in read_po(handle, locale=locale):
                    if not message.id or not message.string:
                        continue
                    if isinstance(message.id, str):
                        merged[message.id] = str(message.string)
                    elif all(message.string):
                        merged[message.id[0]] = tuple(str(form) for form in message.string)
        catalogs[locale] = merged
    return catalogs
