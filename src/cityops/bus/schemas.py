"""What the bus health endpoint answers."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ConsumerHealth(BaseModel):
    """One durable consumer (one subscriber, shared by every worker)."""

    name: str
    subject: str
    pending: int = Field(description="Events on the stream this consumer has not had yet (lag)")
    ack_pending: int = Field(description="Delivered, not yet acknowledged")
    redelivered: int = Field(description="Delivered more than once and still unacknowledged")
    dead_letters: int = Field(description="Events it gave up on (in the dead-letter stream)")
    handled_here: int = Field(description="Handled by this worker since it started")


class BusHealth(BaseModel):
    """Connected or not, the event stream, each consumer's lag, dead letters."""

    adapter: str
    connected: bool
    server: str | None = None
    stream: dict[str, int | str] | None = None
    consumers: list[ConsumerHealth] = Field(default_factory=list)
    dead_letters: int | None = None
    error: str | None = None
