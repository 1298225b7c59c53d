"""One package per messaging platform; each receives its platform's events, turns them into
the core's events (handlers.core.events) and renders the core's views for it."""
