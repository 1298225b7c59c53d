"""Telegram's HTML parse mode as the emulator implements it (tdlib's rules and texts)."""

from __future__ import annotations

import pytest

from channels.telegram.emulator.telegram_html import (
    HtmlParseError,
    parse_html,
    trim_formatted,
    utf16_len,
)


def test_utf16_len_counts_surrogate_pairs() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("王工") == 2
    assert utf16_len("😀") == 2
    assert utf16_len("👨‍👩‍👧") == 8  # three emoji and two zero-width joiners


@pytest.mark.parametrize(
    ("html", "text", "entities"),
    [
        ("<b>a</b><strong>b</strong>", "ab", [("bold", 0, 1), ("bold", 1, 1)]),
        ("<i>a</i><em>b</em>", "ab", [("italic", 0, 1), ("italic", 1, 1)]),
        ("<u>a</u><ins>b</ins>", "ab", [("underline", 0, 1), ("underline", 1, 1)]),
        (
            "<s>a</s><strike>b</strike><del>c</del>",
            "abc",
            [("strikethrough", i, 1) for i in range(3)],
        ),
        (
            '<span class="tg-spoiler">a</span><tg-spoiler>b</tg-spoiler>',
            "ab",
            [("spoiler", 0, 1), ("spoiler", 1, 1)],
        ),
        ("<code>x</code>", "x", [("code", 0, 1)]),
        ("<pre>x</pre>", "x", [("pre", 0, 1)]),
        ("<blockquote>q</blockquote>", "q", [("blockquote", 0, 1)]),
        ("<blockquote expandable>q</blockquote>", "q", [("expandable_blockquote", 0, 1)]),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍", [("custom_emoji", 0, 2)]),
        ("<B>upper</B>", "upper", [("bold", 0, 5)]),
        ("<b><i>both</i></b>", "both", [("bold", 0, 4), ("italic", 0, 4)]),
        ("<b></b>x", "x", []),  # empty entities vanish
        ("a &gt; b &quot;c&quot; &#20013;&#x6587;", 'a > b "c" 中文', []),
        ("1 > 0", "1 > 0", []),  # a bare ">" is fine
    ],
)
def test_accepted(html: str, text: str, entities: list[tuple[str, int, int]]) -> None:
    parsed = parse_html(html)
    assert parsed.text == text
    found = [(e["type"], e["offset"], e["length"]) for e in parsed.entities]
    assert sorted(found) == sorted(entities)


def test_links_and_languages() -> None:
    parsed = parse_html(
        "<a href=\"https://t.me/x?a=1&amp;b=2\">x</a> <a href='tg://user?id=1'>u</a> "
        '<a href="javascript:alert(1)">j</a> <a href="example.com">e</a> '
        '<pre><code class="language-python">p</code></pre> <code class="language-go">g</code>'
    )
    links = [e.get("url") for e in parsed.entities if e["type"] == "text_link"]
    assert links == ["https://t.me/x?a=1&b=2", "tg://user?id=1", "http://example.com"]
    # javascript: links are dropped silently, as Telegram does with invalid URLs
    assert {"type": "pre", "offset": 8, "length": 1, "language": "python"} in parsed.entities
    assert {"type": "code", "offset": 10, "length": 1} in parsed.entities


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("王<b", "Unclosed start tag at byte offset 3"),  # offsets are UTF-8 bytes
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        (
            "<a href>x</a>",
            'Expected equal sign in declaration of an attribute of the tag "a" at byte offset 0',
        ),
        ("<a href=x!>x</a>", "Unexpected end of name token at byte offset 8"),
        ("<tg-emoji emoji-id=abc>x</tg-emoji>", "Invalid custom emoji identifier specified"),
        ("R&D", 'Unescaped "&" at byte offset 1'),
        ("&nbsp;", 'Unsupported HTML entity "&nbsp;" at byte offset 0'),
    ],
)
def test_rejected(html: str, reason: str) -> None:
    with pytest.raises(HtmlParseError) as caught:
        parse_html(html)
    assert caught.value.reason == reason
    assert caught.value.description == f"can't parse entities: {reason}"


def test_lenient_mode_keeps_bare_ampersands_like_telegram() -> None:
    assert parse_html("R&D &nbsp;", strict=False).text == "R&D &nbsp;"


def test_trim_shifts_and_clips_entities() -> None:
    parsed = parse_html("\n  <b>😀 hi </b>\n")
    trimmed = trim_formatted(parsed.text, parsed.entities)
    assert trimmed.text == "😀 hi"
    assert trimmed.entities == [{"type": "bold", "offset": 0, "length": 5}]
