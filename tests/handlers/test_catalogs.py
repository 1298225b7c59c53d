"""Every message id the code uses exists in every shipped locale with the same placeholders."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.telegram.emulator.telegram_html import parse_html, trim_formatted, utf16_len
from handlers.digest import VOUCHER_HEADINGS
from handlers.engagement_views import LEFT_REASONS
from handlers.errors import KINDS
from handlers.i18n import SUPPORTED_LOCALES, Catalogs, Markup, placeholders, read_catalogs
from handlers.menus import COMMON, COORDINATOR, commands_for
from handlers.privacy import PARTNER_LEFT
from storage.models import Role

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = read_catalogs()


def ids_in_code() -> set[str]:
    """Literal ids passed to Actor.t(msgid) or Catalogs.translate(locale, msgid), found by Babel."""
    found: set[str] = set()
    for folder in ("bot", "handlers"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords={"t": None, "translate": (2,)}
        ):
            if isinstance(message, str):
                found.add(message)
    return found


def dynamic_ids() -> set[str]:
    """Ids the code builds from names (roles, commands), which Babel cannot see."""
    ids = {f"role.{role.value}" for role in Role}
    ids |= {f"help.{role.value}" for role in Role} | {"help.none"}
    ids |= {f"error.kind.{kind}" for kind in KINDS}
    ids |= set(VOUCHER_HEADINGS.values()) | set(LEFT_REASONS.values())
    ids |= set(PARTNER_LEFT.values())
    names = set(COMMON) | set(COORDINATOR)
    for role in (None, *(r.value for r in Role)):
        names |= set(commands_for(role, is_coordinator=True))
    return ids | {f"command.{name}" for name in names}


def test_babel_finds_the_ids_the_code_uses() -> None:
    # Guards the extraction itself: if it found nothing the next test would prove nothing.
    assert {"start.consent", "access.coordinators_only", "error.user"} <= ids_in_code()


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_id_used_is_translated(locale: str) -> None:
    missing = (ids_in_code() | dynamic_ids()) - set(CATALOGS[locale])
    assert not missing, f"{locale} lacks {sorted(missing)}"


def test_locales_have_the_same_ids_and_placeholders() -> None:
    reference, *others = SUPPORTED_LOCALES
    for locale in others:
        assert set(CATALOGS[locale]) == set(CATALOGS[reference]), locale
        for msgid, text in CATALOGS[reference].items():
            assert placeholders(CATALOGS[locale][msgid]) == placeholders(text), (locale, msgid)
            plural = not isinstance(text, str)
            assert plural == (not isinstance(CATALOGS[locale][msgid], str)), (locale, msgid)


def test_values_are_escaped_but_markup_is_not() -> None:
    catalogs = Catalogs.load("zh_CN")
    text = catalogs.translate("en", "language.set", language="<b>&x")
    assert "&lt;b&gt;&amp;x" in text
    assert catalogs.translate("en", "language.set", language=Markup("<b>x</b>")).count("<b>") == 1


def test_a_plural_entry_takes_the_form_its_count_asks_for() -> None:
    catalogs = Catalogs.load("zh_CN")

    def rating(locale: str, count: object) -> str:
        return catalogs.translate(locale, "units.rating", average="4.0", count=count)

    assert [rating("en", n) for n in (0, 1, 2)] == [
        "⭐ 4.0 (0 ratings)",
        "⭐ 4.0 (1 rating)",
        "⭐ 4.0 (2 ratings)",
    ]
    assert [rating("zh_CN", n) for n in (1, 2)] == ["⭐ 4.0（1 个评分）", "⭐ 4.0（2 个评分）"]
    # Service days come written ("1", "1.5"): a fraction takes the plural.
    assert [rating("en", n) for n in ("1", "1.5")] == ["⭐ 4.0 (1 rating)", "⭐ 4.0 (1.5 ratings)"]
    with pytest.raises(TypeError, match=r"units\.rating"):
        catalogs.translate("en", "units.rating", average="4.0")


@pytest.mark.parametrize(
    ("saved", "telegram", "expected"),
    [
        ("en", "zh-hans", "en"),
        (None, "zh-hans", "zh_CN"),
        (None, "en-US", "en"),
        (None, "ru", "zh_CN"),
        (None, None, "zh_CN"),
    ],
)
def test_locale_rule(saved: str | None, telegram: str | None, expected: str) -> None:
    assert Catalogs.load("zh_CN").locale_for(saved, telegram) == expected


PIECES = [*"<>&\"'/abc 中文\n", "\u202e", "\u200f", "😀", "&amp;", "<b>", "</i>", "&#x1F600;"]
hostile = st.lists(st.sampled_from(PIECES), max_size=300).map(lambda parts: "".join(parts) * 17)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(hostile, min_size=1, max_size=4))
def test_every_template_takes_hostile_values_within_telegrams_rules(values: list[str]) -> None:
    """HTML, emoji, right-to-left marks and 5,000-character values in every placeholder:
    the result parses as Telegram HTML (strict emulator parser) and fits in one message."""
    catalogs = Catalogs.load("zh_CN")
    for locale in SUPPORTED_LOCALES:
        for msgid, template in CATALOGS[locale].items():
            names = sorted(placeholders(template))
            params: dict[str, object] = {n: values[i % len(values)] for i, n in enumerate(names)}
            if not isinstance(template, str):
                params["count"] = len(values[0])
            text = catalogs.translate(locale, msgid, **params)
            parsed = parse_html(text)
            shown = trim_formatted(parsed.text, parsed.entities).text
            assert 0 < utf16_len(shown) <= 4096, (locale, msgid)
