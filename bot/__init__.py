"""techmatch: the Telegram front door of a programme placing specialists in enterprises."""
