"""The one source of time: real in production, movable in tests and the playground."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class ManualClock:
    """A clock that only moves when told to, starting from a given instant."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or dt.datetime.now(dt.UTC)
        if self._now.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        self._now += delta
        return self._now

    def set(self, instant: dt.datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = instant


class OffsetClock:
    """System time plus an offset that only grows: the playground's "skip ahead" clock.

    Time keeps flowing as on the wall, so the bot behaves as in production, and a
    person can jump forward to watch what a day or a week later brings.
    """

    def __init__(self) -> None:
        self._offset = dt.timedelta()

    @property
    def offset(self) -> dt.timedelta:
        return self._offset

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self._offset

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        if delta <= dt.timedelta():
            raise ValueError("the clock only moves forward")
        self._offset += delta
        return self.now()
