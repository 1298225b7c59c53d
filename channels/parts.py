"""A long text in parts a platform takes in one message each."""

from __future__ import annotations


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
