"""The conversation core: events, views, capabilities, the chat handler object, the router
and the outbox writer. Flows and channels both import it; it imports neither."""
