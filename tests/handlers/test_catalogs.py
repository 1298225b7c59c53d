"""Every message id the code uses exists in every shipped locale with the same placeholders."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.telegram.emulator.telegram_html import parse_html, trim_formatted, utf16_len
from handlers.digest import VOUCHER_HEADINGS
from handlers.engagement_views import LEFT_REASONS
from handlers.errors import KINDS
from handlers.i18n import (
    SUPPORTED_LOCALES,
    Catalogs,
    Markup,
    forms,
    placeholders,
    read_catalogs,
)
from handlers.menus import APP_GROUPS, BY_ROLE, COMMON, COORDINATOR, commands_for
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
    ids |= set(PARTNER_LEFT.values()) | {title for title, _ in APP_GROUPS}
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


# --- wording: plurals in English, typography in Chinese ---------------------------------
# Each rule is a function of one text, tried first on the examples of issue #21, then on
# every message: "1 new proposals", "同时服务企业数：同时最多 2 家" and their kind.

PO_FILES = sorted(ROOT.glob("locales/*/LC_MESSAGES/*.po"))
# Countable nouns the texts put after a number.
PLURAL_NOUNS = (
    "proposals|demands|ratings|specialists|enterprises|engagements|units|recipients|records|"
    "rows|lines|members|characters|keywords|vouchers|logs|messages|entries|people|"
    "days|weeks|months|years|hours|minutes"
)
# A number (a placeholder, or a literal 1) then at most two words ("new", "confirmed service").
NUMBER_THEN_NOUN = re.compile(rf"(\{{(\w+)\}}|\b1)\s+(?:[a-z]+\s+){{0,2}}?(?:{PLURAL_NOUNS})\b")
# Bounds set in code (lengths, list sizes) are never 1, so "at most {high} characters" stays.
BOUNDS = {"low", "high", "most"}
HAN = "\u3400-\u4dbf\u4e00-\u9fff"
CHINESE_PUNCTUATION = re.escape("，。、；：？！（）“”‘’《》【】")
TAGS = re.compile(r"<[^>]*>")
HAN_PAIR = re.compile(f"[{HAN}]{{2}}")
PLACEHOLDER = re.compile(r"\{\w+\}")
CLAUSE_END = re.compile("[，。；：、（）·\n]")


def entries(locale: str) -> list[tuple[str, tuple[str, ...]]]:
    """(msgid, forms) of every message of a locale, its forms without tags."""
    return [
        (msgid, tuple(TAGS.sub("", text) for text in forms(template)))
        for msgid, template in CATALOGS[locale].items()
    ]


def counted(text: str) -> list[str]:
    """Each "number plural-noun" in a text, such as "{count} new proposals" or "1 days"."""
    return [m.group(0) for m in NUMBER_THEN_NOUN.finditer(text) if m.group(2) not in BOUNDS]


def miscounted(texts: tuple[str, ...]) -> list[str]:
    """What reads wrong for a count of 1: a counted noun in a text with one form, or a
    plural noun in the singular form."""
    if len(texts) == 1:
        wrong = [f"…{said}… is not a plural entry" for said in counted(texts[0])]
    else:
        singular = texts[0].replace("{count}", "1")
        wrong = [f"the singular form says …{said}…" for said in counted(singular)]
    return wrong + [f"…{said}…" for said in counted(texts[-1]) if said.startswith("1 ")]


def half_width_brackets(text: str) -> list[str]:
    return re.findall(rf"\([^()]*[{HAN}][^()]*\)|[{HAN}]\(|\)[{HAN}]", text)


def other_quotes(text: str) -> list[str]:
    """Quotes other than “” (GB/T 15834, and most of the catalog), or “” left unbalanced."""
    found = re.findall(r"[「」『』\"]", text)
    return found + (["“” unbalanced"] if text.count("“") != text.count("”") else [])


def spaced_punctuation(text: str) -> list[str]:
    """A space between full-width punctuation and a word, number or placeholder (one after an
    emoji or a · separator is layout)."""
    p = CHINESE_PUNCTUATION
    return re.findall(rf"[\w}}] +[{p}]|[{p}] +[\w{{]", text)


def ascii_list_separators(text: str) -> list[str]:
    return re.findall(rf"[{HAN}}}] *[,;] *[{HAN}{{]", text)


def han_pairs(text: str) -> set[str]:
    """The two-character runs of Chinese in a text: the unit a repeated word shows in."""
    return {text[i : i + 2] for i in range(len(text) - 1) if HAN_PAIR.fullmatch(text[i : i + 2])}


def repeated_around_values(text: str) -> list[str]:
    """Words said both before and after a value in one clause ("确认服务 {days} 个服务日"), or
    in a label and its value ("您的同意：{date} 已同意")."""
    repeated: set[str] = set()
    for clause in CLAUSE_END.split(text):
        if values := list(PLACEHOLDER.finditer(clause)):
            before, after = clause[: values[0].start()], clause[values[-1].end() :]
            repeated |= han_pairs(before) & han_pairs(after)
    for label, value in re.findall(r"([^，。；：\n]+)：([^，。；（·\n]+)", text):
        if PLACEHOLDER.search(value):
            repeated |= han_pairs(label) & han_pairs(value)
    return sorted(repeated)


CHINESE_RULES = [
    half_width_brackets,
    other_quotes,
    spaced_punctuation,
    ascii_list_separators,
    repeated_around_values,
]


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (half_width_brackets, "{name} (焊接工艺)"),
        (half_width_brackets, "(未填)"),
        (other_quotes, "为什么终止「{title}」的对接？"),
        (other_quotes, '点"跳过"'),
        (spaced_punctuation, "原因： {reason}"),
        (spaced_punctuation, "{title} ，已结束"),
        (ascii_list_separators, "激光焊接, 气孔"),
        (repeated_around_values, "🗓 确认服务 {days} 个服务日"),
        (repeated_around_values, "您的同意：{date} 已同意。"),
    ],
)
def test_each_chinese_rule_catches_its_example(rule: Callable[[str], list[str]], text: str) -> None:
    assert rule(text)


@pytest.mark.parametrize(
    "texts",
    [
        ("Round finished: {count} new proposals ({demands} open demands).",),
        ("⭐ {average} ({count} ratings)",),
        ("{count} ratings", "{count} ratings"),
        ("Pause for 1 weeks",),
    ],
)
def test_the_english_rule_catches_its_examples(texts: tuple[str, ...]) -> None:
    assert miscounted(texts)


def test_plural_forms_headers_follow_cldr() -> None:
    for path in PO_FILES:
        with path.open("rb") as handle:
            catalog = read_po(handle)
        expected = get_plural(path.parts[-3])
        assert (catalog.num_plurals, catalog.plural_expr) == expected, path
        for message in catalog:
            if message.pluralizable and message.string:
                assert len(message.string) == expected.num_plurals, (path, message.id)


def test_plural_entries_show_their_count() -> None:
    for locale in SUPPORTED_LOCALES:
        for msgid, template in CATALOGS[locale].items():
            if not isinstance(template, str):
                assert all("{count}" in text for text in template), (locale, msgid)


def test_english_counts_use_plural_entries() -> None:
    wrong = [f"{msgid}: {said}" for msgid, texts in entries("en") for said in miscounted(texts)]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("rule", CHINESE_RULES)
def test_chinese_typography(rule: Callable[[str], list[str]]) -> None:
    wrong = [
        f"{msgid}: {found}"
        for msgid, texts in entries("zh_CN")
        for text in texts
        if (found := rule(text))
    ]
    assert not wrong, "\n".join(wrong)


def test_no_space_after_the_other_side() -> None:
    """{other} ends in a full-width bracket ("👤 李明（大连理工大学）"): a space after it would
    stand next to the bracket ("…大学） 也同意后")."""
    wrong = [
        msgid
        for msgid, texts in entries("zh_CN")
        for text in texts
        if re.search(r"\{other\} +\S", text)
    ]
    assert not wrong, wrong


def test_chinese_values_do_not_repeat_their_label() -> None:
    """Summaries put `<flow>.label_<name>` before the text of `<flow>.<name>_value`:
    “同时服务企业数：同时最多 2 家” says 同时 twice."""
    catalog = CATALOGS["zh_CN"]
    wrong = []
    for msgid, label in catalog.items():
        flow, _, name = msgid.partition(".label_")
        value = catalog.get(f"{flow}.{name}_value")
        if name and value is not None:
            said = set().union(*map(han_pairs, forms(value)))
            if repeated := han_pairs(str(label)) & said:
                wrong.append(f"{msgid} and its value: {sorted(repeated)}")
    assert not wrong, wrong


def playground_texts(locale: str) -> dict[str, str]:
    """The playground page's own strings (bot/playground_web/i18n), lists flattened."""
    loaded = json.loads((ROOT / "bot/playground_web/i18n" / f"{locale}.json").read_text())
    return {
        f"{key}[{i}]" if isinstance(value, list) else key: item
        for key, value in loaded.items()
        for i, item in enumerate(value if isinstance(value, list) else [value])
    }


def test_playground_page_follows_the_same_rules() -> None:
    wrong = [
        f"{key}: {said}"
        for key, text in playground_texts("en").items()
        for said in miscounted((text,))
    ]
    wrong += [
        f"{key}: {found}"
        for key, text in playground_texts("zh_CN").items()
        for rule in CHINESE_RULES
        if (found := rule(text))
    ]
    assert not wrong, wrong


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_help_names_every_command_in_the_menu(locale: str) -> None:
    """/help by role names what the person's command menu offers: an enterprise's help
    once named /engagements only, not /new_demand or /my_demands."""
    catalog = CATALOGS[locale]
    for role, names in BY_ROLE.items():
        text = str(catalog[f"help.{role or 'none'}"]) + str(catalog["help.common"])
        missing = [name for name in (*COMMON, *names) if f"/{name}" not in text]
        assert not missing, (locale, role, missing)
    missing = [name for name in COORDINATOR if f"/{name}" not in str(catalog["help.coordinator"])]
    assert not missing, (locale, "coordinator", missing)


def test_english_examples_follow_a_sentence_not_a_bracket() -> None:
    """ "What outcome do you expect? (4–1000 characters) such as “…”" read as a fragment."""
    wrong = [
        msgid for msgid, texts in entries("en") for text in texts if re.search(r"\) such as", text)
    ]
    assert not wrong, wrong


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_ranges_take_an_en_dash(locale: str) -> None:
    """ "（5-500 字）" beside "（4–60 个字）": a range is written one way."""
    wrong = [msgid for msgid, texts in entries(locale) for t in texts if "{low}-{high}" in t]
    assert not wrong, wrong
