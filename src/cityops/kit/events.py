"""Typed, versioned domain events: the contract between a module that publishes and those that react.

An event names itself (`name`, `version`), says which org unit owns its subject (`owner_code`),
carries an idempotency key (`key`: a consumer that sees it twice does the work once) and the
time it happened (`occurred_at`). The publisher defines its events in its `events.py` and
exports them from its public face; consumers import them from there. Events serialise to one
JSON envelope, so the same contract crosses a network bus unchanged.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

#: Every concrete event type, by (name, version): how a serialised event finds its class.
EVENT_TYPES: dict[tuple[str, int], type[Event]] = {}


class UnknownEvent(ValueError):
    """A serialised event whose name and version no module defines."""


class Event(BaseModel):
    """A fact that happened; subclasses set `name` (and `version` when the schema changes)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: ClassVar[str] = ""
    version: ClassVar[int] = 1

    owner_code: str | None = Field(description="The org code that owns the subject")
    key: str = Field(min_length=1, max_length=200, description="Idempotency key")
    occurred_at: AwareDatetime

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            taken = EVENT_TYPES.get((cls.name, cls.version))
            if taken is not None and taken.__qualname__ != cls.__qualname__:
                raise TypeError(f"event {cls.name} v{cls.version} is already {taken.__qualname__}")
            EVENT_TYPES[(cls.name, cls.version)] = cls

    @property
    def subject(self) -> str:
        """The event's name, which is also its subject on the bus."""
        return self.name

    @property
    def payload(self) -> dict[str, Any]:
        """The event's fields as JSON values (aliases such as `from` included)."""
        return self.model_dump(mode="json", by_alias=True)

    def envelope(self) -> dict[str, Any]:
        """The JSON envelope: name, version and the fields."""
        return {"name": self.name, "version": self.version, "data": self.payload}

    def to_json(self) -> bytes:
        """The envelope as JSON bytes (what a network bus carries)."""
        return orjson.dumps(self.envelope())

    @classmethod
    def of(cls, data: dict[str, Any]) -> Self:
        """Validate a JSON object as this event type (raises `ValidationError`)."""
        return cls.model_validate(data)


def event_from(envelope: dict[str, Any] | bytes | str) -> Event:
    """The typed event of a JSON envelope; `UnknownEvent` or `ValidationError` if it is not one."""
    raw = orjson.loads(envelope) if isinstance(envelope, bytes | str) else envelope
    if not isinstance(raw, dict):
        raise UnknownEvent("an event envelope is a JSON object")
    name, version = raw.get("name"), raw.get("version", 1)
    event_type = EVENT_TYPES.get((str(name), version if isinstance(version, int) else -1))
    if event_type is None:
        raise UnknownEvent(f"no event type {name!r} version {version!r}")
    data = raw.get("data")
    if not isinstance(data, dict):
        raise UnknownEvent(f"event {name!r} has no data object")
    return event_type.of(data)


def decodes(envelope: dict[str, Any] | bytes | str) -> Event | None:
    """The typed event of an envelope, or None when it is not a valid one (the caller logs it)."""
    try:
        return event_from(envelope)
    except (UnknownEvent, ValidationError, orjson.JSONDecodeError):
        return None


class PointReport(Event):
    """Something observed at a point that may need handling: the shape cases opens a case from.

    IoT scene events, AI detections and video alarms each extend it in their own module; the
    idempotency key is the source key of the case it opens.
    """

    category: str = Field(min_length=1, max_length=64, description="Case category code")
    lon: float = Field(allow_inf_nan=False)
    lat: float = Field(allow_inf_nan=False)
    crs: str = Field(default="wgs84", max_length=32)
    text: str = Field(default="", max_length=2000)
