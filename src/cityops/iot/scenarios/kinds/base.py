"""What every evaluator shares: a sample in, outcomes out, and the line arithmetic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading as an evaluator sees it: a key, a value and the device's time."""

    key: str
    value: float | bool | str
    ts: datetime


@dataclass(frozen=True, slots=True)
class Firing:
    """The condition holds: raise a scene event at `level` (0 is the first line)."""

    at: datetime
    level: int
    value: float | str
    detail: str


@dataclass(frozen=True, slots=True)
class Clearing:
    """The condition no longer holds: clear the active scene event."""

    at: datetime
    detail: str


Outcome = Firing | Clearing
Params = Mapping[str, Any]


class Evaluator(Protocol[S]):
    """A pure state machine of one kind: explicit state in, new state and outcomes out."""

    kind: str

    def keys(self, params: Params) -> frozenset[str] | None:
        """The telemetry keys it listens to (None: every key)."""
        ...

    def start(self, params: Params, now: datetime) -> S:
        """The state of a device not heard yet (`now`: when the engine began to watch it)."""
        ...

    def resume(self, params: Params, level: int, now: datetime) -> S:
        """The state of a device whose scene event at `level` is still open (after a restart)."""
        ...

    def step(self, params: Params, state: S, sample: Sample) -> tuple[S, Sequence[Outcome]]:
        """Take one reading; late and duplicate readings return the state unchanged."""
        ...

    def tick(self, params: Params, state: S, now: datetime) -> tuple[S, Sequence[Outcome]]:
        """Let time pass without a reading (only the no-data kind reacts)."""
        ...


def number(value: float | bool | str) -> float | None:
    """A reading's value as a number (booleans are 1 and 0), or None when it is text."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    return None


def beyond(value: float, line: float, direction: str) -> bool:
    """Whether a value is past a line: above it (`above`) or below it (`below`)."""
    return value >= line if direction == "above" else value <= line


def back_within(value: float, line: float, direction: str, hysteresis: float) -> bool:
    """Whether a value came back past the line by the hysteresis band (so it may clear)."""
    if direction == "above":
        return value < line - hysteresis
    return value > line + hysteresis


def is_late(last: datetime | None, ts: datetime) -> bool:
    """Whether a reading is not newer than the last one taken (late, or a duplicate)."""
    return last is not None and ts <= last


def no_outcome(state: S) -> tuple[S, Sequence[Outcome]]:
    """The state unchanged and nothing to do."""
    return state, ()
