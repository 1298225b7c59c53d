"""Callback data: short ASCII strings `flow:action[:arg]`, parsed with anchored patterns.

Telegram allows 1-64 bytes, so no user text ever goes into callback data; ids
and codes only. Anything that does not match a pattern is answered as unknown.
Row ids are matched with at most 9 digits: anything longer overflows PostgreSQL's
32-bit integer columns and fails the query instead of finding nothing.
"""

from __future__ import annotations

import re

MAX_CALLBACK_BYTES = 64


def pack(*parts: str | int) -> str:
    data = ":".join(str(p) for p in parts)
    if len(data.encode()) > MAX_CALLBACK_BYTES or not re.fullmatch(r"[\w:.-]+", data):
        raise ValueError(f"callback data {data!r} breaks Telegram's 64-byte rule or our charset")
    return data


def pattern(flow: str, actions: str, arg: str | None = None) -> re.Pattern[str]:
    """An anchored pattern `^flow:(action)(:arg)?$` with named groups; arg may be absent."""
    tail = rf"(?::(?P<arg>{arg}))?" if arg else ""
    return re.compile(rf"^{flow}:(?P<action>{actions}){tail}$")
