"""The scenario kinds: one pure evaluator each (no I/O, no clock), by kind name."""

from __future__ import annotations

from typing import Any

from cityops.iot.scenarios.kinds.base import (
    Clearing,
    Evaluator,
    Firing,
    Outcome,
    Params,
    Sample,
)
from cityops.iot.scenarios.kinds.composite import Composite
from cityops.iot.scenarios.kinds.geofence import Geofence
from cityops.iot.scenarios.kinds.nodata import NoData
from cityops.iot.scenarios.kinds.rate import RateOfChange
from cityops.iot.scenarios.kinds.threshold import Threshold

#: Every shipped kind by its name (the engine takes this mapping, so tests may add to it).
KINDS: dict[str, Evaluator[Any]] = {
    e.kind: e for e in (Threshold(), RateOfChange(), NoData(), Composite(), Geofence())
}

__all__ = ["KINDS", "Clearing", "Evaluator", "Firing", "Outcome", "Params", "Sample"]
