"""Calendar arithmetic the check-ins and the digest's chart rely on."""

from __future__ import annotations

import datetime as dt

from handlers.dates import first_working_day, week_starts


def test_weeks_are_calendar_weeks_from_monday_with_this_one_last() -> None:
    sunday, monday = dt.date(2026, 12, 13), dt.date(2026, 12, 7)
    # Activity of Monday 12-07 is in the week labelled 12-07, whichever day the chart is drawn.
    assert week_starts(monday, 3) == [dt.date(2026, 11, 23), dt.date(2026, 11, 30), monday]
    assert week_starts(sunday, 3) == week_starts(monday, 3)
    assert week_starts(dt.date(2026, 12, 14), 1) == [dt.date(2026, 12, 14)]


def test_the_first_working_day_skips_a_weekend() -> None:
    assert first_working_day(2026, 11) == dt.date(2026, 11, 2)  # 1 November is a Sunday
    assert first_working_day(2026, 12) == dt.date(2026, 12, 1)
