"""Geofence: a device's reported position outside (or inside) a polygon."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache

from shapely import Point, Polygon, prepare

from cityops.iot.scenarios.kinds.base import (
    Clearing,
    Firing,
    Outcome,
    Params,
    Sample,
    is_late,
    no_outcome,
    number,
)

#: A polygon has at most this many vertices (bounds the work of one evaluation).
MAX_VERTICES = 1000


@dataclass(frozen=True, slots=True)
class GeofenceState:
    """Per device: the newest longitude and latitude with their times, and whether it fires."""

    lon: float | None = None
    lat: float | None = None
    lon_ts: datetime | None = None
    lat_ts: datetime | None = None
    active: bool = False


@lru_cache(maxsize=256)
def fence(ring: tuple[tuple[float, float], ...]) -> Polygon:
    """The prepared polygon of a ring of (lon, lat) pairs (cached: params repeat)."""
    polygon = Polygon(ring)
    prepare(polygon)
    return polygon


def ring_of(params: Params) -> tuple[tuple[float, float], ...]:
    """The polygon parameter as a hashable ring."""
    return tuple((float(p[0]), float(p[1])) for p in params["polygon"])


class Geofence:
    """Fire when the position leaves the polygon (`mode` = `leave`) or enters it (`enter`).

    Params: `lon_key`, `lat_key`, `polygon` ([[lon, lat], ...], WGS 84), `mode`. The position
    is judged when both coordinates have arrived with the same reading time.
    """

    kind = "geofence"

    def keys(self, params: Params) -> frozenset[str] | None:
        """The two coordinate keys."""
        return frozenset({str(params["lon_key"]), str(params["lat_key"])})

    def start(self, params: Params, now: datetime) -> GeofenceState:
        """Nothing heard yet."""
        return GeofenceState()

    def step(
        self, params: Params, state: GeofenceState, sample: Sample
    ) -> tuple[GeofenceState, Sequence[Outcome]]:
        """Take one coordinate; judge the point once both share a time."""
        value = number(sample.value)
        axis = "lon" if sample.key == params["lon_key"] else "lat"
        if value is None or is_late(getattr(state, f"{axis}_ts"), sample.ts):
            return no_outcome(state)
        if axis == "lon":
            new = replace(state, lon=value, lon_ts=sample.ts)
        else:
            new = replace(state, lat=value, lat_ts=sample.ts)
        if new.lon is None or new.lat is None or new.lon_ts != new.lat_ts:
            return new, ()
        inside = fence(ring_of(params)).contains(Point(new.lon, new.lat))
        wrong = inside if params["mode"] == "enter" else not inside
        where = f"({new.lon:.6f}, {new.lat:.6f})"
        if wrong and not state.active:
            text = "进入" if params["mode"] == "enter" else "离开"
            return replace(new, active=True), (Firing(sample.ts, 0, where, f"{text}围栏 {where}"),)
        if state.active and not wrong:
            return replace(new, active=False), (Clearing(sample.ts, f"回到允许区域 {where}"),)
        return new, ()

    def resume(self, params: Params, level: int, now: datetime) -> GeofenceState:
        """The state of a device whose scene event is still open (after a restart)."""
        return GeofenceState(active=True)

    def tick(
        self, params: Params, state: GeofenceState, now: datetime
    ) -> tuple[GeofenceState, Sequence[Outcome]]:
        """Time alone changes nothing."""
        return no_outcome(state)
