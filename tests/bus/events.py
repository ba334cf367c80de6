"""A test-only event type, so the bus tests need no domain module."""

from __future__ import annotations

from datetime import UTC, datetime

from cityops.kit.events import Event


class Ping(Event):
    """Synthetic: a numbered ping."""

    name = "test.ping"
    n: int


def ping(n: int, key: str | None = None) -> Ping:
    """Ping number n (its key is unique per n unless given)."""
    return Ping(owner_code="310117", key=key or f"ping-{n}", occurred_at=datetime.now(UTC), n=n)
