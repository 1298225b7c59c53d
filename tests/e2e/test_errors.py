"""When a handler fails, the user hears about it in their language and coordinators get a short report."""

from __future__ import annotations

from tests.e2e.conftest import COORDINATOR_ID, Journey


async def test_a_failing_reply_is_reported_to_user_and_coordinators(journey: Journey) -> None:
    user = journey.user(3001, "Ann", "en")
    coordinator = journey.user(COORDINATOR_ID, "Coordinator", "zh-hans")
    await journey.send(
        coordinator, "/start"
    )  # Telegram lets a bot write only to users who wrote first
    sent_before = journey.emulator.stats.sent["sendMessage"]
    # More 429s than the rate limiter retries: the /help reply fails for good.
    journey.emulator.inject_429(count=4, retry_after=0.01, method="sendMessage")
    [apology] = await journey.send(user, "/help")
    assert (
        apology.text
        == "Sorry, something went wrong and the coordinators have been told. Please try again later."
    )
    report = journey.emulator.last(COORDINATOR_ID)
    assert report.text.startswith("⚠️ 处理消息时出错：RetryAfter")
    assert (
        journey.emulator.stats.sent["sendMessage"] - sent_before == 2
    )  # the apology and the report
