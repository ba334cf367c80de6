"""Coordinate reference systems of the map platform: names, conversions, GCJ-02 and BD-09.

Every conversion routes through WGS84 (EPSG:4326) longitude/latitude; x is always longitude or
easting and y latitude or northing. CGCS2000 (EPSG:4490) is taken as WGS84: the two frames
differ by centimetres, below anything city work resolves. Projections (Web Mercator, the
CGCS2000 3° Gauss-Krüger zones 40 and 41, registered local grids such as 上海2000) go through
pyproj with cached, thread-safe `Transformer` objects built with ``always_xy=True``.

GCJ-02 (the 国测局 offset every map published in China must carry; AMap, Tencent) and BD-09
(Baidu's further offset of GCJ-02) are not in PROJ and are computed here from the published
formulas. They belong at the edges only: coordinates are stored in WGS84/CGCS2000 and converted
when drawn on, or received from, such a base map. The GCJ-02 offset applies only inside the
usual out-of-China bounding box (lon 72.004–137.8347°E, lat 0.8293–55.8271°N); a point outside
it is returned unchanged. BD-09's own shift is applied everywhere, as the published formula is.

Non-finite input (NaN, ±inf) never raises: GCJ-02 and BD-09 return such a point unchanged, and
PROJ returns inf or NaN for a point it cannot convert.
"""

from __future__ import annotations

import copy
import math
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from enum import StrEnum
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from pyproj import CRS as ProjCRS
from pyproj import Transformer
from pyproj.enums import TransformDirection
from pyproj.exceptions import CRSError as ProjCRSError
from pyproj.exceptions import ProjError

FloatArray = npt.NDArray[np.float64]


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

# GCJ-02 as published (Krasovsky 1940 ellipsoid, empirical sine series in lon − 105°, lat − 35°,
# out-of-China box), e.g. in the documentation of github.com/wandergis/coordtransform
# ("constants and helper functions") and github.com/googollee/eviltransform.
_A = 6378245.0
_EE = 0.00669342162296594323
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)
# BD-09 as published by the same sources: x_pi = π·3000/180 and a fixed shift.
_X_PI = math.pi * 3000.0 / 180.0
_BD_DLON = 0.0065
_BD_DLAT = 0.006

#: Iterative inverses stop once a correction is below this (degrees, ≈ 0.1 mm). Each step shrinks
#: the error by the offset's slope (< 0.01), so what is left is < 1e-11° ≈ 1 µm.
_TOL = 1e-9
_MAX_ITER = 12
#: Points per block of the vectorised GCJ-02 kernel: its temporaries stay in cache.
_BLOCK = 16_384

_D2R = math.pi / 180.0
_SIN35 = math.sin(35.0 * _D2R)
_COS35 = math.cos(35.0 * _D2R)
#: Taylor coefficients of sin θ up to θ¹³; for |θ| < 0.6 the truncation error is < 4e-16.
_SIN_TAYLOR = tuple((-1) ** k / math.factorial(2 * k + 1) for k in range(7))
#: Series units → degrees of latitude (× w^1.5) and of longitude (× √w / cos φ).
_KLAT = 180.0 / (math.pi * _A * (1.0 - _EE))
_KLON = 180.0 / (math.pi * _A)


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


# --- routing ----------------------------------------------------------------------------------


def _chain(name: str) -> list[str]:
    """The names passed from `name` up to WGS84, WGS84 excluded (the tree's root)."""
    if name in (CRS.WGS84, CRS.CGCS2000):
        return []
    if name == CRS.BD09:
        return [CRS.BD09, CRS.GCJ02]
    return [name]


def _route(src: str, dst: str) -> tuple[list[str], list[str]]:
    """The steps up from `src` and down to `dst`; a shared tail (bd09 ↔ gcj02) is skipped."""
    up, down = _chain(resolve_crs(src)), _chain(resolve_crs(dst))
    while up and down and up[-1] == down[-1]:
        up.pop()
        down.pop()
    return up, down[::-1]


def transform(x: float, y: float, src: str, dst: str) -> tuple[float, float]:
    """Convert one point from `src` to `dst` (lon/lat in degrees or easting/northing in m)."""
    up, down = _route(src, dst)
    fx, fy = float(x), float(y)
    for name in up:
        fx, fy = _to_parent(name, fx, fy)
    for name in down:
        fx, fy = _from_parent(name, fx, fy)
    return fx, fy


def transform_array(
    xs: npt.ArrayLike, ys: npt.ArrayLike, src: str, dst: str
) -> tuple[FloatArray, FloatArray]:
    """Convert arrays of points of one shape; returns new float64 arrays of that shape."""
    ax = np.asarray(xs, dtype=np.float64)
    ay = np.asarray(ys, dtype=np.float64)
    if ax.shape != ay.shape:
        raise ValueError(f"xs and ys differ in shape: {ax.shape} and {ay.shape}")
    up, down = _route(src, dst)
    fx, fy = _run_array(up, down, ax.ravel(), ay.ravel())
    return fx.reshape(ax.shape), fy.reshape(ay.shape)


def _run_array(
    up: Sequence[str], down: Sequence[str], xs: FloatArray, ys: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Apply a route to 1-D arrays; the inputs are never modified."""
    if not up and not down:
        return xs.copy(), ys.copy()
    for name in up:
        xs, ys = _to_parent_array(name, xs, ys)
    for name in down:
        xs, ys = _from_parent_array(name, xs, ys)
    return xs, ys


def _from_parent(name: str, x: float, y: float) -> tuple[float, float]:
    """One step down the tree: WGS84 → `name`, or GCJ-02 → BD-09."""
    if name == CRS.GCJ02:
        return _wgs_to_gcj(x, y)
    if name == CRS.BD09:
        return _gcj_to_bd(x, y)
    px, py = _projection(name).transform(x, y)
    return float(px), float(py)


def _to_parent(name: str, x: float, y: float) -> tuple[float, float]:
    """One step up the tree: `name` → WGS84, or BD-09 → GCJ-02."""
    if name == CRS.GCJ02:
        return _gcj_to_wgs(x, y)
    if name == CRS.BD09:
        return _bd_to_gcj(x, y)
    px, py = _projection(name).transform(x, y, direction=TransformDirection.INVERSE)
    return float(px), float(py)


def _from_parent_array(name: str, xs: FloatArray, ys: FloatArray) -> tuple[FloatArray, FloatArray]:
    """`_from_parent` for arrays."""
    if name == CRS.GCJ02:
        return _wgs_to_gcj_array(xs, ys)
    if name == CRS.BD09:
        return _gcj_to_bd_array(xs, ys)
    px, py = _projection(name).transform(xs, ys)
    return np.asarray(px, dtype=np.float64), np.asarray(py, dtype=np.float64)


def _to_parent_array(name: str, xs: FloatArray, ys: FloatArray) -> tuple[FloatArray, FloatArray]:
    """`_to_parent` for arrays."""
    if name == CRS.GCJ02:
        return _gcj_to_wgs_array(xs, ys)
    if name == CRS.BD09:
        return _bd_to_gcj_array(xs, ys)
    px, py = _projection(name).transform(xs, ys, direction=TransformDirection.INVERSE)
    return np.asarray(px, dtype=np.float64), np.asarray(py, dtype=np.float64)


# --- GCJ-02, scalar: the published formula as written ------------------------------------------


def _in_china(lon: float, lat: float) -> bool:
    """Whether a point is inside the GCJ-02 box; False for NaN."""
    return _CHINA_LON[0] <= lon <= _CHINA_LON[1] and _CHINA_LAT[0] <= lat <= _CHINA_LAT[1]


def _series_lat(x: float, y: float) -> float:
    """The published latitude series (x = lon − 105, y = lat − 35), in metres-like units."""
    pi = math.pi
    s = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    s += (20.0 * math.sin(6.0 * pi * x) + 20.0 * math.sin(2.0 * pi * x)) * 2.0 / 3.0
    s += (20.0 * math.sin(pi * y) + 40.0 * math.sin(pi * y / 3.0)) * 2.0 / 3.0
    s += (160.0 * math.sin(pi * y / 12.0) + 320.0 * math.sin(pi * y / 30.0)) * 2.0 / 3.0
    return s


def _series_lon(x: float, y: float) -> float:
    """The published longitude series (x = lon − 105, y = lat − 35), in metres-like units."""
    pi = math.pi
    s = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    s += (20.0 * math.sin(6.0 * pi * x) + 20.0 * math.sin(2.0 * pi * x)) * 2.0 / 3.0
    s += (20.0 * math.sin(pi * x) + 40.0 * math.sin(pi * x / 3.0)) * 2.0 / 3.0
    s += (150.0 * math.sin(pi * x / 12.0) + 300.0 * math.sin(pi * x / 30.0)) * 2.0 / 3.0
    return s


def _gcj_offset(lon: float, lat: float) -> tuple[float, float]:
    """The GCJ-02 offset (Δlon, Δlat) in degrees at a WGS84 point; zero outside China."""
    if not _in_china(lon, lat):
        return 0.0, 0.0
    x, y = lon - 105.0, lat - 35.0
    phi = lat * _D2R
    sin_phi = math.sin(phi)
    w = 1.0 - _EE * sin_phi * sin_phi
    # Units → degrees through the Krasovsky radii M = a(1 − e²)/w^1.5 and N·cos φ = a·cos φ/√w.
    dlat = _series_lat(x, y) * 180.0 / (_A * (1.0 - _EE) / (w * math.sqrt(w)) * math.pi)
    dlon = _series_lon(x, y) * 180.0 / (_A / math.sqrt(w) * math.cos(phi) * math.pi)
    return dlon, dlat


def _wgs_to_gcj(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 → GCJ-02 for one point."""
    dlon, dlat = _gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


def _gcj_to_wgs(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 → WGS84 for one point: iterate w = g − offset(w) until it moves < _TOL."""
    dlon = dlat = 0.0
    for _ in range(_MAX_ITER):
        nlon, nlat = _gcj_offset(lon - dlon, lat - dlat)
        moved = max(abs(nlon - dlon), abs(nlat - dlat))
        dlon, dlat = nlon, nlat
        if moved <= _TOL:
            break
    return lon - dlon, lat - dlat


# --- GCJ-02, vectorised -----------------------------------------------------------------------


def _sin_cos_small(theta: FloatArray) -> tuple[FloatArray, FloatArray]:
    """sin θ and cos θ for |θ| < π/2 from a Taylor series: no libm call per element."""
    t2 = theta * theta
    s = t2 * _SIN_TAYLOR[-1]
    for coefficient in reversed(_SIN_TAYLOR[1:-1]):
        s += coefficient
        s *= t2
    s += 1.0
    s *= theta
    c = s * s
    np.subtract(1.0, c, out=c)
    np.sqrt(c, out=c)
    return s, c


def _gcj_offset_block(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The published series for a block of points inside China (others give garbage).

    Each sine of the series is a whole multiple of θ = v·π/180 with v = lon − 105 or lat − 35:
    πv/30 = 6θ, πv/12 = 15θ, πv/3 = 60θ, πv = 180θ, 2πv = 360θ, 6πv = 1080θ; the latitude is
    θ_y + 35°. Inside the box |θ| < 0.6, so sin θ and cos θ come from `_sin_cos_small` and the
    multiples from triple-, double- and sum-angle identities, on both rows of [x; y] at once.
    It matches the scalar formula to ~1e-14°.
    """
    v = np.empty((2, lon.shape[0]))
    np.subtract(lon, 105.0, out=v[0])
    np.subtract(lat, 35.0, out=v[1])
    s1, c1 = _sin_cos_small(v * _D2R)
    q = 4.0 * s1 * s1
    s3, c3 = s1 * (3.0 - q), c1 * (1.0 - q)  # cos 3θ = cos θ (4cos²θ − 3) = cos θ (1 − 4sin²θ)
    s6, c6 = 2.0 * s3 * c3, 1.0 - 2.0 * s3 * s3
    s12, c12 = 2.0 * s6 * c6, 1.0 - 2.0 * s6 * s6
    s15, c15 = s12 * c3 + c12 * s3, c12 * c3 - s12 * s3
    s30, c30 = 2.0 * s15 * c15, 1.0 - 2.0 * s15 * s15
    s60 = 2.0 * s30 * c30
    s120 = 2.0 * s60[0] * (1.0 - 2.0 * s30[0] * s30[0])
    s360 = s120 * (3.0 - 4.0 * s120 * s120)
    # (20 sin 6πx + 20 sin 2πx)·2/3 = (160/3)·s(1 − s²) with s = sin 2πx, in both series.
    shared = (160.0 / 3.0) * s360 * (1.0 - s360 * s360)
    # (20 sin πv + 40 sin(πv/3))·2/3 = u(200/3 − (160/3)u²) with u = sin(πv/3).
    third = s60 * ((200.0 / 3.0) - (160.0 / 3.0) * s60 * s60)
    x, y = v[0], v[1]
    xy = 0.1 * x * y
    root = 0.1 * np.sqrt(np.abs(x))
    series_lat = -100.0 + 2.0 * x + y * (3.0 + 0.2 * y) + xy + 2.0 * root + shared + third[1]
    series_lat += (320.0 / 3.0) * s15[1] + (640.0 / 3.0) * s6[1]
    series_lon = 300.0 + x * (1.0 + 0.1 * x) + 2.0 * y + xy + root + shared + third[0]
    series_lon += 100.0 * s15[0] + 200.0 * s6[0]
    sin_phi = s1[1] * _COS35 + c1[1] * _SIN35
    cos_phi = c1[1] * _COS35 - s1[1] * _SIN35
    w = 1.0 - _EE * sin_phi * sin_phi
    sqrt_w = np.sqrt(w)
    series_lat *= _KLAT * w * sqrt_w
    series_lon *= _KLON * sqrt_w / cos_phi
    return series_lon, series_lat


def _in_china_array(lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
    """Which points are inside the GCJ-02 box; False for NaN."""
    inside = lon >= _CHINA_LON[0]
    inside &= lon <= _CHINA_LON[1]
    inside &= lat >= _CHINA_LAT[0]
    inside &= lat <= _CHINA_LAT[1]
    return inside


def _gcj_offset_array(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The GCJ-02 offsets of 1-D arrays of WGS84 points, block by block; zero outside China."""
    dlon = np.zeros_like(lon)
    dlat = np.zeros_like(lat)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        for start in range(0, lon.shape[0], _BLOCK):
            block = slice(start, start + _BLOCK)
            inside = _in_china_array(lon[block], lat[block])
            if inside.any():
                ox, oy = _gcj_offset_block(lon[block], lat[block])
                np.copyto(dlon[block], ox, where=inside)
                np.copyto(dlat[block], oy, where=inside)
    return dlon, dlat


def _wgs_to_gcj_array(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """WGS84 → GCJ-02 for 1-D arrays."""
    dlon, dlat = _gcj_offset_array(lon, lat)
    dlon += lon
    dlat += lat
    return dlon, dlat


def _gcj_to_wgs_array(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 → WGS84 for 1-D arrays, iterating as `_gcj_to_wgs` does until all converge."""
    dlon = np.zeros_like(lon)
    dlat = np.zeros_like(lat)
    for _ in range(_MAX_ITER if lon.size else 0):
        nlon, nlat = _gcj_offset_array(lon - dlon, lat - dlat)
        moved = max(float(np.max(np.abs(nlon - dlon))), float(np.max(np.abs(nlat - dlat))))
        dlon, dlat = nlon, nlat
        if moved <= _TOL:
            break
    return lon - dlon, lat - dlat


# --- BD-09 --------------------------------------------------------------------------------------


def _gcj_to_bd(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 → BD-09 for one point by the published formula; non-finite points pass through."""
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return lon, lat
    if not within_limit(lon, lat):  # the formula overflows: no such place
        return math.nan, math.nan
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.cos(theta) + _BD_DLON, z * math.sin(theta) + _BD_DLAT


def _bd_to_gcj(lon: float, lat: float) -> tuple[float, float]:
    """BD-09 → GCJ-02: the published inverse, then refined so `_gcj_to_bd` maps it back."""
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return lon, lat
    if not within_limit(lon, lat):  # the formula overflows: no such place
        return math.nan, math.nan
    x, y = lon - _BD_DLON, lat - _BD_DLAT
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    gx, gy = z * math.cos(theta), z * math.sin(theta)
    for _ in range(_MAX_ITER):
        bx, by = _gcj_to_bd(gx, gy)
        gx, gy = gx - (bx - lon), gy - (by - lat)
        if max(abs(bx - lon), abs(by - lat)) <= _TOL:
            break
    return gx, gy


def _gcj_to_bd_array(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """`_gcj_to_bd` for 1-D arrays."""
    finite = np.isfinite(lon) & np.isfinite(lat)
    with np.errstate(invalid="ignore"):
        z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
        theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
        bx = np.where(finite, z * np.cos(theta) + _BD_DLON, lon)
        by = np.where(finite, z * np.sin(theta) + _BD_DLAT, lat)
    return bx, by


def _bd_to_gcj_array(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """`_bd_to_gcj` for 1-D arrays."""
    finite = np.isfinite(lon) & np.isfinite(lat)
    with np.errstate(invalid="ignore"):
        x, y = lon - _BD_DLON, lat - _BD_DLAT
        z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
        theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
        gx, gy = z * np.cos(theta), z * np.sin(theta)
        for _ in range(_MAX_ITER):
            bx, by = _gcj_to_bd_array(gx, gy)
            bx -= lon
            by -= lat
            gx -= bx
            gy -= by
            if not (np.any(np.abs(bx) > _TOL) or np.any(np.abs(by) > _TOL)):
                break
        return np.where(finite, gx, lon), np.where(finite, gy, lat)


# --- GeoJSON ------------------------------------------------------------------------------------

#: Nesting depth of positions in `coordinates`, per geometry type.
_DEPTH = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}
_MAX_COLLECTION_NESTING = 8


def transform_geojson(geometry: Mapping[str, Any], src: str, dst: str) -> dict[str, Any]:
    """A converted copy of a GeoJSON geometry, structure and z kept, `bbox` recomputed.

    Handles Point, MultiPoint, LineString, MultiLineString, Polygon, MultiPolygon and
    GeometryCollection; all positions go through `transform_array` in one batch. A legacy
    `crs` member is dropped (it would now be wrong); other members are copied.
    """
    up, down = _route(src, dst)
    xs: list[float] = []
    ys: list[float] = []
    _collect(geometry, xs, ys, 0)
    tx, ty = _run_array(up, down, np.array(xs, dtype=np.float64), np.array(ys, dtype=np.float64))
    return _rebuild(geometry, zip(tx.tolist(), ty.tolist(), strict=True))


def _is_number(value: object) -> bool:
    """Whether a JSON value is a number (booleans are not)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _collect(geometry: object, xs: list[float], ys: list[float], nesting: int) -> None:
    """Validate a geometry and append its positions' x and y, in document order."""
    if not isinstance(geometry, Mapping):
        raise GeoJSONError("a GeoJSON geometry must be an object")
    kind = geometry.get("type")
    bbox = geometry.get("bbox")
    if bbox is not None and not (
        isinstance(bbox, list | tuple) and len(bbox) in (4, 6) and all(map(_is_number, bbox))
    ):
        raise GeoJSONError("bbox must be an array of 4 or 6 numbers")
    if kind == "GeometryCollection":
        members = geometry.get("geometries")
        if not isinstance(members, list | tuple):
            raise GeoJSONError("a GeometryCollection needs a 'geometries' array")
        if nesting >= _MAX_COLLECTION_NESTING:
            raise GeoJSONError("GeometryCollections are nested too deeply")
        for member in members:
            _collect(member, xs, ys, nesting + 1)
        return
    if not isinstance(kind, str) or kind not in _DEPTH:
        raise GeoJSONError(f"unsupported GeoJSON geometry type {str(kind)[:40]!r}")
    coordinates = geometry.get("coordinates")
    if isinstance(coordinates, list | tuple) and not coordinates:
        return  # an empty geometry (RFC 7946 §3.1)
    _collect_positions(coordinates, _DEPTH[kind], xs, ys)


def _collect_positions(coords: object, depth: int, xs: list[float], ys: list[float]) -> None:
    """Append the positions nested `depth` arrays deep in `coords`."""
    if not isinstance(coords, list | tuple):
        raise GeoJSONError("coordinates must be nested arrays of positions")
    if depth == 0:
        if len(coords) < 2 or not all(map(_is_number, coords)):
            raise GeoJSONError("a position must be an array of at least two numbers")
        if not within_limit(float(coords[0]), float(coords[1])):
            raise GeoJSONError(f"a position must lie within ±{COORD_LIMIT:g}")
        xs.append(float(coords[0]))
        ys.append(float(coords[1]))
        return
    for child in coords:
        _collect_positions(child, depth - 1, xs, ys)


def _rebuild(geometry: Mapping[str, Any], points: Iterator[tuple[float, float]]) -> dict[str, Any]:
    """A copy of a validated geometry with positions taken in order from `points`."""
    out: dict[str, Any] = {}
    for key, value in geometry.items():
        if key == "coordinates" and geometry["type"] != "GeometryCollection":
            out[key] = _rebuild_positions(value, _DEPTH[geometry["type"]], points)
        elif key == "geometries" and geometry["type"] == "GeometryCollection":
            out[key] = [_rebuild(member, points) for member in value]
        elif key != "crs":
            out[key] = copy.deepcopy(value)
    if "bbox" in out:
        bbox = _bbox(out, out["bbox"])
        if bbox is None:
            del out["bbox"]
        else:
            out["bbox"] = bbox
    return out


def _rebuild_positions(coords: Any, depth: int, points: Iterator[tuple[float, float]]) -> Any:
    """The nested arrays of `coords` with each position's x and y replaced, extra ordinates kept."""
    if depth == 0:
        return [*next(points), *coords[2:]] if coords else []
    return [_rebuild_positions(child, depth - 1, points) for child in coords]


def _positions(geometry: Mapping[str, Any]) -> Iterator[Sequence[float]]:
    """Every position of a rebuilt geometry."""
    if geometry["type"] == "GeometryCollection":
        for member in geometry["geometries"]:
            yield from _positions(member)
        return
    stack: list[tuple[Any, int]] = [(geometry["coordinates"], _DEPTH[geometry["type"]])]
    while stack:
        coords, depth = stack.pop()
        if depth == 0:
            if coords:
                yield coords
        else:
            stack.extend((child, depth - 1) for child in coords)


def _bbox(geometry: Mapping[str, Any], old: Sequence[float]) -> list[float] | None:
    """The x/y extent of a rebuilt geometry, z range kept from `old`; None when empty."""
    positions = list(_positions(geometry))
    if not positions:
        return None
    xs = [p[0] for p in positions]
    ys = [p[1] for p in positions]
    if len(old) == 6:
        return [min(xs), min(ys), old[2], max(xs), max(ys), old[5]]
    return [min(xs), min(ys), max(xs), max(ys)]


def register_settings_crs(app: Any) -> None:
    """Register the local grids the app's settings define (`CITYOPS_LOCAL_CRS`)."""
    for name, definition in app.state.settings.local_crs.items():
        register_local_crs(name, definition)
