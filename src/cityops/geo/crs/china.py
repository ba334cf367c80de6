"""GCJ-02 (国测局) and BD-09 (Baidu) offsets: the published formulas, scalar and vectorised.

Neither is in PROJ. GCJ-02 applies only inside the usual out-of-China bounding box; a point
outside it, or a non-finite one, is returned unchanged. BD-09's own shift applies everywhere, as
the published formula does. The inverses iterate the forward formula to ≈ 1 µm.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from cityops.geo.crs.names import within_limit

FloatArray = npt.NDArray[np.float64]

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
