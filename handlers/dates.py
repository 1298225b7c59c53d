"""Calendar arithmetic: a month later, the first working day of a month, calendar weeks."""

from __future__ import annotations

import calendar
import datetime as dt


def months_after(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, or that month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_month(today: dt.date) -> dt.date:
    """The first day of next month: a round date to give as an example of one ahead."""
    return months_after(today.replace(day=1), 1)


def first_working_day(year: int, month: int) -> dt.date:
    """The month's first Monday-to-Friday day.

    Public holidays (and China's swapped working weekends) are ignored on purpose:
    a check that arrives on 1 October or 1 May is answered a day or two later, which
    is harmless, while a holiday calendar would need yearly upkeep.
    """
    day = dt.date(year, month, 1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def week_starts(today: dt.date, weeks: int) -> list[dt.date]:
    """The Mondays of the last `weeks` calendar weeks (Monday to Sunday), this one last."""
    monday = today - dt.timedelta(days=today.weekday())
    return [monday - dt.timedelta(weeks=weeks - 1 - n) for n in range(weeks)]
