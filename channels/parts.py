"""What comes and goes in parts: a long text cut to what a platform takes in one message,
and a callback's body read however many pieces it arrives in."""

from __future__ import annotations

from aiohttp import web


def split(text: str, limit: int) -> list[str]:
    """Parts of at most `limit` UTF-8 bytes, cut at line ends where a line allows."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate.encode()) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        while len(line.encode()) > limit:  # one line longer than a message: cut it
            cut = len(line.encode()[:limit].decode(errors="ignore"))
            parts.append(line[:cut])
            line = line[cut:]
        current = line
    parts.append(current)
    return parts


async def read_body(request: web.Request, limit: int) -> bytes | None:
    """The whole body, however many pieces it came in; None when it is over `limit`."""
    chunks, size = [], 0
    while chunk := await request.content.read(16 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
