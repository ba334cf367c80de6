"""The names of coordinate reference systems, their errors and the registry of local grids."""

from __future__ import annotations

import math
import re
import threading
from enum import StrEnum
from functools import lru_cache

from pyproj import CRS as ProjCRS
from pyproj import Transformer
from pyproj.enums import TransformDirection
from pyproj.exceptions import CRSError as ProjCRSError
from pyproj.exceptions import ProjError


class CRS(StrEnum):
    """The built-in coordinate reference systems, by the name a `crs=` parameter takes."""

    WGS84 = "wgs84"
    CGCS2000 = "cgcs2000"
    GCJ02 = "gcj02"
    BD09 = "bd09"
    WEB_MERCATOR = "webmercator"
    GK_ZONE_40 = "epsg:4549"
    GK_ZONE_41 = "epsg:4550"


#: The reserved name of the Shanghai 2000 (上海2000) local grid; usable once registered.
SH2000 = "sh2000"

#: EPSG codes accepted for the built-ins that have a short name.
_ALIASES: dict[str, str] = {
    "epsg:4326": CRS.WGS84,
    "epsg:4490": CRS.CGCS2000,
    "epsg:3857": CRS.WEB_MERCATOR,
}

#: Names an operator must configure because their parameters are not public.
_RESERVED: dict[str, str] = {SH2000: "上海2000 (Shanghai 2000) local grid"}

#: Built-in projections: name → (geographic source CRS, projected CRS). The Gauss-Krüger zones
#: project CGCS2000 itself, so PROJ adds no datum step (CGCS2000 is WGS84 here).
_PROJECTED: dict[str, tuple[str, str]] = {
    CRS.WEB_MERCATOR: ("EPSG:4326", "EPSG:3857"),
    CRS.GK_ZONE_40: ("EPSG:4490", "EPSG:4549"),
    CRS.GK_ZONE_41: ("EPSG:4490", "EPSG:4550"),
}

_BUILTIN = frozenset(c.value for c in CRS)
_LOCAL_NAME = re.compile(r"[a-z][a-z0-9_.:-]{0,31}")
_local: dict[str, str] = {}
_local_lock = threading.Lock()


#: No coordinate on Earth exceeds this in any supported CRS (projected metres stay below 4e7);
#: the BD-09 formulas overflow on larger finite numbers, so inputs beyond it are refused.
COORD_LIMIT = 1e8


def within_limit(*values: float) -> bool:
    """Whether every value is finite and within ±COORD_LIMIT."""
    return all(math.isfinite(v) and abs(v) <= COORD_LIMIT for v in values)


class CRSError(ValueError):
    """A coordinate reference system cannot be used; the message says why."""


class UnknownCRSError(CRSError):
    """A CRS name that is neither built in nor registered."""

    def __init__(self, name: object) -> None:
        shown = repr(name) if len(repr(name)) <= 64 else repr(name)[:61] + "..."
        super().__init__(
            f"unknown coordinate reference system {shown}; supported: {', '.join(supported_crs())}"
        )
        self.name = name


class CRSNotConfiguredError(CRSError):
    """A reserved local CRS (such as sh2000) whose official parameters were not registered."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"coordinate reference system {name!r} ({_RESERVED[name]}) is not configured on "
            "this deployment: its official parameters are not public, so none ship with "
            f"cityops; register them with cityops.geo.crs.register_local_crs({name!r}, "
            "<PROJ string or WKT>)"
        )
        self.name = name


class GeoJSONError(ValueError):
    """A GeoJSON geometry that cannot be transformed; the message names the problem."""


def supported_crs() -> list[str]:
    """The names a `crs=` parameter accepts now: the built-ins, then registered local grids."""
    return [*(c.value for c in CRS), *sorted(_local)]


def resolve_crs(name: str) -> str:
    """The canonical name of a CRS name or EPSG code (case-insensitive), or raise CRSError."""
    if not isinstance(name, str):
        raise UnknownCRSError(name)
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key in _BUILTIN or key in _local:
        return key
    if key in _RESERVED:
        raise CRSNotConfiguredError(key)
    raise UnknownCRSError(name)


def register_local_crs(name: str, definition: str) -> None:
    """Register (or replace) a local grid from its PROJ string, WKT or AUTH:CODE definition."""
    key = name.strip().lower()
    taken = key in _BUILTIN or key in _ALIASES
    if taken or not _LOCAL_NAME.fullmatch(key):
        raise CRSError(f"{name!r} cannot name a local CRS (built in, or not [a-z][a-z0-9_.:-]*)")
    try:
        crs = ProjCRS.from_user_input(definition)
    except ProjCRSError as exc:
        raise CRSError(f"local CRS {key!r}: PROJ cannot read the definition: {exc}") from exc
    if not (crs.is_projected or crs.is_geographic) or len(crs.axis_info) != 2:
        raise CRSError(f"local CRS {key!r} must be a 2D projected or geographic CRS")
    _check_usable(key, definition)
    with _local_lock:
        _local[key] = definition


def unregister_local_crs(name: str) -> None:
    """Forget a registered local grid; unknown names are ignored."""
    with _local_lock:
        _local.pop(name.strip().lower(), None)


def _check_usable(key: str, definition: str) -> None:
    """Refuse a definition that cannot carry a point of central Shanghai there and back."""
    try:
        transformer = _transformer("EPSG:4326", definition)
        x, y = transformer.transform(121.47, 31.23)
        lon, lat = transformer.transform(x, y, direction=TransformDirection.INVERSE)
    except (ProjCRSError, ProjError) as exc:
        raise CRSError(f"local CRS {key!r}: PROJ cannot transform to it: {exc}") from exc
    if not all(map(math.isfinite, (x, y, lon, lat))) or abs(lon - 121.47) + abs(lat - 31.23) > 1e-6:
        raise CRSError(f"local CRS {key!r} cannot transform a point in Shanghai and back")


@lru_cache(maxsize=64)
def _transformer(source: str, definition: str) -> Transformer:
    """A cached transformer from a geographic CRS to `definition`, in lon/lat, x/y order."""
    return Transformer.from_crs(source, definition, always_xy=True)


def _projection(name: str) -> Transformer:
    """The WGS84/CGCS2000 → `name` transformer of a built-in projection or local grid."""
    if name in _PROJECTED:
        return _transformer(*_PROJECTED[name])
    definition = _local.get(name)
    if definition is None:
        raise UnknownCRSError(name)
    return _transformer("EPSG:4326", definition)
