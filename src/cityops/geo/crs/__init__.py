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

The package: `names` (the CRS names, errors, local grids), `china` (GCJ-02 and BD-09),
`route` (point and array conversions), `geojson` (geometries).
"""

from __future__ import annotations

from typing import Any

from cityops.geo.crs.china import FloatArray
from cityops.geo.crs.geojson import transform_geojson
from cityops.geo.crs.names import (
    COORD_LIMIT,
    CRS,
    SH2000,
    CRSError,
    CRSNotConfiguredError,
    GeoJSONError,
    UnknownCRSError,
    register_local_crs,
    resolve_crs,
    supported_crs,
    unregister_local_crs,
    within_limit,
)
from cityops.geo.crs.route import transform, transform_array

__all__ = [
    "COORD_LIMIT",
    "CRS",
    "SH2000",
    "CRSError",
    "CRSNotConfiguredError",
    "FloatArray",
    "GeoJSONError",
    "UnknownCRSError",
    "register_local_crs",
    "register_settings_crs",
    "resolve_crs",
    "supported_crs",
    "transform",
    "transform_array",
    "transform_geojson",
    "unregister_local_crs",
    "within_limit",
]


def register_settings_crs(app: Any) -> None:
    """Register the local grids the app's settings define (`CITYOPS_LOCAL_CRS`)."""
    for name, definition in app.state.settings.local_crs.items():
        register_local_crs(name, definition)
