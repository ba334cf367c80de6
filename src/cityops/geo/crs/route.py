"""Conversions between any two supported CRSs: every route goes through WGS84."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from pyproj.enums import TransformDirection

from cityops.geo.crs.china import (
    FloatArray,
    _bd_to_gcj,
    _bd_to_gcj_array,
    _gcj_to_bd,
    _gcj_to_bd_array,
    _gcj_to_wgs,
    _gcj_to_wgs_array,
    _wgs_to_gcj,
    _wgs_to_gcj_array,
)
from cityops.geo.crs.names import CRS, _projection, resolve_crs


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
