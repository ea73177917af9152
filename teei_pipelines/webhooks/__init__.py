"""The ASGI webhook receiver (events-webhooks.md §1-4)."""
