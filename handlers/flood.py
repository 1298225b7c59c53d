"""A per-person flood gate: past 20 events in 10 seconds, one polite message, then silence.

Kept in process memory on purpose: it is a rate limit, not a record. The
verdict is given when an event arrives (the inbox keeps it with the event), so
a backlog applied quickly after an outage is not mistaken for a flood. Time is
the process's monotonic clock, since the limit is about real seconds.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

LIMIT = 20
WINDOW = 10.0  # seconds


class FloodGate:
    def __init__(
        self, limit: int = LIMIT, window: float = WINDOW, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.window, self.now = limit, window, now
        self.recent: dict[str, deque[float]] = {}
        self.warned: dict[str, float] = {}

    def admit(self, person: str) -> bool | None:
        """True to handle, None to drop after a warning, False to drop silently."""
        now = self.now()
        stamps = self.recent.setdefault(person, deque())
        while stamps and now - stamps[0] > self.window:
            stamps.popleft()
        if len(stamps) < self.limit:
            stamps.append(now)
            return True
        warned = self.warned.get(person)
        if warned is None or now - warned > self.window:
            self.warned[person] = now
            return None
        return False

    def forget_idle(self) -> None:
        """Drop users quiet for a whole window, so memory follows active users only."""
        now = self.now()
        for person in [p for p, s in self.recent.items() if not s or now - s[-1] > self.window]:
            del self.recent[person]
            self.warned.pop(person, None)
