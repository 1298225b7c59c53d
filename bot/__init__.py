"""techmatch: the Telegram front door of a programme placing specialists in enterprises."""

import os

# Opt in to python-telegram-bot's coming timedelta durations (RetryAfter.retry_after) now:
# the bot reads none of them, and the opt-in silences a deprecation warning per 429.
os.environ.setdefault("PTB_TIMEDELTA", "1")
