"""Message catalogs and the per-user language rule.

Code holds message ids only (``start.consent``); the texts live in gettext PO
files under ``locales/<locale>/LC_MESSAGES/*.po``. Every PO file of a locale is
merged, so each flow can keep its own file. Texts are in the core's markup (the
HTML subset ``<b>``, ``<code>``, ``<a href>``; each channel renders it for its
platform); every value put into a placeholder is escaped unless it is
``Markup`` (a fragment the bot itself rendered).
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

SUPPORTED_LOCALES = ("zh_CN", "en")
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
# A message's visible text, in UTF-16 units: Telegram's limit, the strictest in characters of
# the platforms served (channels split longer texts where their limit is in bytes).
MESSAGE_LIMIT = 4096
_TAG = re.compile(r"<[^>]*>")


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


def placeholders(text: str) -> set[str]:
    """The named fields of a str.format template."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


class Catalogs:
    """All texts of all shipped locales, loaded once."""

    def __init__(self, messages: Mapping[str, Mapping[str, str]], default_locale: str) -> None:
        self.messages = messages
        self.default_locale = default_locale

    @classmethod
    def load(cls, default_locale: str, directory: Path = LOCALES_DIR) -> Catalogs:
        return cls(read_catalogs(directory), default_locale)

    def translate(self, locale: str, msgid: str, **params: object) -> Markup:
        """The text of msgid in locale with escaped params; falls back to the default locale."""
        template = self.messages.get(locale, {}).get(msgid) or self.messages[
            self.default_locale
        ].get(msgid)
        if template is None:
            raise KeyError(f"message id {msgid!r} is in no catalog")
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
def read_catalogs(directory: Path = LOCALES_DIR) -> dict[str, dict[str, str]]:
    """Read every PO file of every shipped locale into {locale: {msgid: text}}."""
    catalogs: dict[str, dict[str, str]] = {}
    for locale in SUPPORTED_LOCALES:
        merged: dict[str, str] = {}
        for path in sorted((directory / locale / "LC_MESSAGES").glob("*.po")):
            with path.open("rb") as handle:
                for message in read_po(handle, locale=locale):
                    if message.id and isinstance(message.id, str) and message.string:
                        merged[message.id] = str(message.string)
        catalogs[locale] = merged
    return catalogs
