"""Helpers for the specialist journeys: a user who chose the specialist side, a profile
stored directly (for journeys that start after registration), and the monthly job."""

from __future__ import annotations

import dataclasses
import datetime as dt

from channels.telegram.emulator.models import User
from handlers.checkins import MONTHLY_CHECK
from storage.dialogues import end_dialogue
from storage.models import Specialist
from storage.specialists import (
    SpecialistProfile,
    decide_specialist,
    get_specialist,
    save_specialist,
)
from tests.e2e.conftest import COORDINATOR_ID, Journey
from tests.people import get_user, touch_user

PROFILE = SpecialistProfile(
    name="王建国",
    institution="大连理工大学",
    institution_type="university",
    location="liaoning",
    title="professor",
    disciplines=["460"],
    expertise="激光焊接工艺与焊缝缺陷控制，铝合金构件疲劳寿命评估。",
    keywords=["激光焊接", "铝合金"],
    team=[],
    cities=["dalian"],
    remote_only=False,
    days_per_month=4,
    available_from=dt.date(2026, 3, 2),
    available_to=None,
    capacity=2,
    phone="+8613800138000",
)


AGREE = {"zh-hans": "✅ 同意", "en": "✅ I agree"}
LANGUAGE = {"zh-hans": "中文", "en": "English"}


async def specialist_user(j: Journey, telegram_id: int, name: str, language_code: str) -> User:
    """A user who consented, chose a language and the specialist side (by the deep link);
    registration has begun and waits for their name."""
    user = j.user(telegram_id, name, language_code)
    await j.send(user, "/start specialist")
    await j.press(user, AGREE[language_code])
    await j.press(user, LANGUAGE[language_code])
    return user


async def user_id(j: Journey, telegram_id: int) -> int:
    user = await get_user(db=j.db, telegram_id=telegram_id)
    assert user is not None and user.id is not None
    return user.id


async def stored(j: Journey, telegram_id: int) -> Specialist:
    specialist = await get_specialist(db=j.db, user_id=await user_id(j, telegram_id))
    assert specialist is not None
    return specialist


async def registered(
    j: Journey, user: User, *, approve: bool = False, **changes: object
) -> Specialist:
    """Store a profile for a user without the dialogue; optionally approved by a coordinator."""
    profile = dataclasses.replace(PROFILE, **changes)  # type: ignore[arg-type]
    await end_dialogue(db=j.db, user_id=await user_id(j, user.id))  # the one /start began
    saved = await save_specialist(
        db=j.db, user_id=await user_id(j, user.id), profile=profile, now=j.clock.now()
    )
    specialist = saved.specialist
    if approve:
        boss = await touch_user(db=j.db, telegram_id=COORDINATOR_ID, now=j.clock.now())
        assert specialist.id is not None and boss.id is not None
        decided = await decide_specialist(
            db=j.db,
            specialist_id=specialist.id,
            coordinator_user_id=boss.id,
            decision="approve",
            now=j.clock.now(),
        )
        assert decided is not None
        specialist = decided[0]
    return specialist


async def run_monthly_check(j: Journey) -> None:
    """Run the daily job now, as the JobQueue would at 10:00 (the clock says what day it is)."""
    await j.run_job(MONTHLY_CHECK)


def local(year: int, month: int, day: int, hour: int = 10) -> dt.datetime:
    """An instant given in Shanghai time (BOT_TIMEZONE in the tests)."""
    return dt.datetime(year, month, day, hour, tzinfo=dt.timezone(dt.timedelta(hours=8)))
