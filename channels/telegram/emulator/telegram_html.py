"""Telegram's ``parse_mode=HTML``, reimplemented so the emulator rejects what Telegram rejects.

The algorithm and the error texts follow tdlib's ``parse_html`` (td/telegram/MessageEntity.cpp),
the parser behind the Bot API server, so a message that fails here fails on Telegram with the
same ``can't parse entities: ...`` reason, and the entities it yields carry the same UTF-16
offsets the bot would get back from Telegram.

One deliberate difference, on by default (``strict=True``): an ``&`` that does not start one
of the entities Telegram decodes (``&lt; &gt; &amp; &quot;`` and numeric ``&#...;``) is an
error here, while Telegram shows it literally. A bare ``&`` in bot output almost always means
user text was interpolated without ``html.escape``; the same text containing ``&lt;`` would be
silently rendered as ``<``, so the emulator fails loudly instead. Pass ``strict=False`` to get
Telegram's lenient behaviour.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ALLOWED_TAGS",
    "HtmlParseError",
    "ParsedText",
    "parse_html",
    "trim_formatted",
    "utf16_len",
]

#: Tag names Telegram accepts (``span`` only with ``class="tg-spoiler"``).
ALLOWED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)

# tdlib walks a NUL-terminated buffer and counts NUL as a space; _Parser.ch() returns "\0"
# past the end so the loops below read exactly like the C++ ones.
_SPACES = frozenset(" \t\r\n\0\v\f")
_SIMPLE_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_LINK_SCHEMES = ("http", "https", "tg", "ton", "tonsite")
_TRIM = " \t\r\n"
_NAMED_ENTITY_RE = re.compile(r"&[A-Za-z][A-Za-z0-9]*;")


class HtmlParseError(ValueError):
    """The text is not valid Telegram HTML.

    ``reason`` is the text Telegram puts after ``can't parse entities: ``;
    ``byte_offset`` is the UTF-8 byte offset it names, or None for the few reasons without one.
    """

    def __init__(self, reason: str, byte_offset: int | None = None) -> None:
        self.reason = reason
        self.byte_offset = byte_offset
        super().__init__(self.description)

    @property
    def description(self) -> str:
        """The text after ``Bad Request: `` in Telegram's answer."""
        return f"can't parse entities: {self.reason}"


@dataclass(frozen=True)
class ParsedText:
    """Plain text and Bot API ``MessageEntity`` dicts (UTF-16 offsets), sorted like Telegram."""

    text: str
    entities: list[dict[str, Any]]


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets and length limits."""
    # Characters outside the BMP take a surrogate pair; counting them beats re-encoding.
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def _units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def _decode_entity(src: str, pos: int) -> tuple[str, int] | None:
    """Decode an HTML entity at ``src[pos] == "&"`` like tdlib: (character, next index) or None.

    As in tdlib the closing ``;`` is optional and numeric references are limited in length.
    """
    n = len(src)
    end = pos + 1
    if end < n and src[end] == "#":
        end += 1
        if end < n and src[end] == "x":
            end += 1
            start = end
            while end < n and src[end] in string.hexdigits:
                end += 1
            code = int(src[start:end], 16) if end > start else 0
        else:
            start = end
            while end < n and src[end] in string.digits:
                end += 1
            code = int(src[start:end]) if end > start else 0
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None
        if 0xD800 <= code <= 0xDFFF:  # lone surrogates cannot be text; tdlib emits garbage
            return None
        char = chr(code)
    else:
        while end < n and src[end].isascii() and src[end].isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(src[pos + 1 : end])
        if named is None:
            return None
        char = named
    if end < n and src[end] == ";":
        end += 1
    return char, end


def _normalize_link(url: str) -> str | None:
    """Approximation of tdlib's ``LinkManager::check_link``: None drops the entity silently."""
    url = url.strip()
    if not url or any(c in url for c in " \t\r\n"):
        return None
    scheme, sep, _rest = url.partition(":")
    if not sep or not scheme.isascii() or not scheme.isalpha():
        return "http://" + url  # Telegram prefixes scheme-less links
    if scheme.lower() not in _LINK_SCHEMES:
        return None  # javascript:, file:, ... never become links
    return url


@dataclass
class _Open:
    tag: str
    argument: str
    utf16_offset: int
    text_index: int


class _Parser:
    def __init__(self, src: str, strict: bool) -> None:
        self.src = src
        self.n = len(src)
        self.strict = strict
        self.out: list[str] = []
        self.utf16 = 0
        self.stack: list[_Open] = []
        self.entities: list[dict[str, Any]] = []

    def ch(self, i: int) -> str:
        return self.src[i] if i < self.n else "\0"

    def error(self, reason: str, index: int | None) -> HtmlParseError:
        if index is None:
            return HtmlParseError(reason)
        offset = len(self.src[:index].encode("utf-8", "surrogatepass"))
        return HtmlParseError(f"{reason} at byte offset {offset}", offset)

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.utf16 += sum(_units(c) for c in text)

    def parse(self) -> ParsedText:
        i = 0
        while i < self.n:
            c = self.src[i]
            if c == "&":
                decoded = _decode_entity(self.src, i)
                if decoded is not None:
                    self.emit(decoded[0])
                    i = decoded[1]
                    continue
                if self.strict:
                    match = _NAMED_ENTITY_RE.match(self.src, i)
                    if match:
                        raise self.error(f'Unsupported HTML entity "{match.group()}"', i)
                    raise self.error('Unescaped "&"', i)
            if c != "<":
                self.emit(c)
                i += 1
                continue
            i = self.end_tag(i) if self.ch(i + 1) == "/" else self.start_tag(i)
        if self.stack:
            raise HtmlParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"'
            )
        entities = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return ParsedText("".join(self.out), entities)

    def start_tag(self, begin: int) -> int:
        i = begin + 1
        while self.ch(i) not in _SPACES and self.ch(i) != ">":
            i += 1
        if i >= self.n:
            raise self.error("Unclosed start tag", begin)
        tag = self.src[begin + 1 : i].lower()
        if tag not in ALLOWED_TAGS:
            raise self.error(f'Unsupported start tag "{tag}"', begin)

        argument = ""
        while self.ch(i) != ">":
            while i < self.n and self.ch(i) in _SPACES:
                i += 1
            if self.ch(i) == ">":
                break
            attr_begin = i
            while self.ch(i) not in _SPACES and self.ch(i) not in "=>":
                i += 1
            name = self.src[attr_begin:i]
            if not name:
                raise self.error(f'Empty attribute name in the tag "{tag}"', begin)
            while i < self.n and self.ch(i) in _SPACES:
                i += 1
            if tag == "blockquote" and name == "expandable" and self.ch(i) != "=":
                argument = "1"  # the one valueless attribute Telegram knows
                continue
            if self.ch(i) != "=":
                raise self.error(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}"',
                    begin,
                )
            i += 1
            while i < self.n and self.ch(i) in _SPACES:
                i += 1
            if i >= self.n:
                raise self.error(f'Unclosed start tag "{tag}"', begin)
            value, i = self.attribute_value(i)
            if i >= self.n:
                raise self.error("Unclosed start tag", begin)
            if tag == "a" and name == "href":
                argument = value
            elif tag == "code" and name == "class" and value.startswith("language-"):
                argument = value[len("language-") :]
            elif tag == "span" and name == "class" and value.startswith("tg-"):
                argument = value[len("tg-") :]
            elif tag == "tg-emoji" and name == "emoji-id":
                argument = value
        if tag == "span" and argument != "spoiler":
            raise self.error('Tag "span" must have class "tg-spoiler"', begin)
        self.stack.append(_Open(tag, argument, self.utf16, len(self.out)))
        return i + 1  # past ">"

    def attribute_value(self, i: int) -> tuple[str, int]:
        quote = self.ch(i)
        if quote not in "'\"":
            # An unquoted HTML name token: letters, digits, periods, hyphens; case-insensitive.
            start = i
            while self.ch(i).isascii() and (self.ch(i).isalnum() or self.ch(i) in ".-"):
                i += 1
            if self.ch(i) not in _SPACES and self.ch(i) != ">":
                raise self.error("Unexpected end of name token", start)
            return self.src[start:i].lower(), i
        i += 1
        parts: list[str] = []
        while i < self.n and self.src[i] != quote:
            if self.src[i] == "&":
                decoded = _decode_entity(self.src, i)
                if decoded is not None:
                    parts.append(decoded[0])
                    i = decoded[1]
                    continue
            parts.append(self.src[i])
            i += 1
        if i < self.n:
            i += 1  # closing quote
        return "".join(parts), i

    def end_tag(self, begin: int) -> int:
        if not self.stack:
            raise self.error("Unexpected end tag", begin)
        i = begin + 2
        while self.ch(i) not in _SPACES and self.ch(i) != ">":
            i += 1
        # Lower-cased like start tags (tdlib may compare case-sensitively; no bot writes </B>).
        end_name = self.src[begin + 2 : i].lower()
        while i < self.n and self.ch(i) in _SPACES:
            i += 1
        if self.ch(i) != ">":
            raise self.error("Unclosed end tag", begin)
        opened = self.stack[-1]
        if end_name and end_name != opened.tag:
            offset = len(self.src[:begin].encode("utf-8", "surrogatepass"))
            raise HtmlParseError(
                f"Unmatched end tag at byte offset {offset}, expected "
                f'"</{opened.tag}>", found "</{end_name}>"',
                offset,
            )
        self.close(opened)
        self.stack.pop()
        return i + 1

    def close(self, opened: _Open) -> None:
        offset = opened.utf16_offset
        length = self.utf16 - offset
        if length <= 0:
            return  # Telegram drops empty entities (and so never validates an empty tg-emoji)
        tag = opened.tag
        if tag in _SIMPLE_TYPES:
            self.entities.append({"type": _SIMPLE_TYPES[tag], "offset": offset, "length": length})
        elif tag == "a":
            url = opened.argument or "".join(self.out[opened.text_index :])
            link = _normalize_link(url)
            if link is not None:
                self.entities.append(
                    {"type": "text_link", "offset": offset, "length": length, "url": link}
                )
        elif tag == "code":
            entity: dict[str, Any] = {"type": "code", "offset": offset, "length": length}
            if opened.argument:
                entity["language"] = opened.argument  # promoted to pre's language below
            self.entities.append(entity)
        elif tag == "pre":
            last = self.entities[-1] if self.entities else None
            if (
                last is not None
                and last["type"] == "code"
                and last["offset"] == offset
                and last["length"] == length
                and last.get("language")
            ):
                last["type"] = "pre"  # <pre><code class="language-x"> is one pre entity
            else:
                self.entities.append({"type": "pre", "offset": offset, "length": length})
        elif tag == "blockquote":
            kind = "expandable_blockquote" if opened.argument else "blockquote"
            self.entities.append({"type": kind, "offset": offset, "length": length})
        elif tag == "tg-emoji":
            if not opened.argument.isdigit() or int(opened.argument) == 0:
                raise HtmlParseError("Invalid custom emoji identifier specified")
            self.entities.append(
                {
                    "type": "custom_emoji",
                    "offset": offset,
                    "length": length,
                    "custom_emoji_id": opened.argument,
                }
            )


def parse_html(source: str, *, strict: bool = True) -> ParsedText:
    """Parse Telegram HTML into plain text and entities; raise HtmlParseError like Telegram.

    The result is not trimmed; see trim_formatted for the whitespace Telegram strips.
    """
    parsed = _Parser(source, strict).parse()
    for entity in parsed.entities:
        # Only pre carries "language" in the Bot API; a lone <code class=...> drops it.
        if entity["type"] == "code":
            entity.pop("language", None)
    return parsed


def trim_formatted(text: str, entities: list[dict[str, Any]]) -> ParsedText:
    """Strip leading/trailing whitespace as Telegram does, shifting and clipping entities.

    Telegram stores messages trimmed, so ``"  hi\\n"`` comes back as ``"hi"``: comparing the
    stored text (and "message is not modified" checks) must use the trimmed form.
    """
    stripped_left = text.lstrip(_TRIM)
    lead = utf16_len(text[: len(text) - len(stripped_left)])
    trimmed = stripped_left.rstrip(_TRIM)
    total = utf16_len(trimmed)
    result: list[dict[str, Any]] = []
    for entity in entities:
        start = max(0, int(entity["offset"]) - lead)
        end = min(total, int(entity["offset"]) + int(entity["length"]) - lead)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return ParsedText(trimmed, result)
