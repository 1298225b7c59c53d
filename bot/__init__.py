"""techmatch: the chat front door of a programme placing specialists in enterprises."""
