"""Coordinate reference systems: published vectors, inverses, routing, GeoJSON, bad input."""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Iterator

import numpy as np
import pytest
from pyproj import Geod, Transformer

from cityops.geo.crs import (
    CRS,
    SH2000,
    CRSError,
    CRSNotConfiguredError,
    GeoJSONError,
    UnknownCRSError,
    china,
    register_local_crs,
    resolve_crs,
    route,
    supported_crs,
    transform,
    transform_array,
    transform_geojson,
    unregister_local_crs,
)

# Published vectors from the "Map platform" issue.
WGS = (121.2279, 31.0322)
GCJ = (121.232316727, 31.030080633)
BD = (121.238818233, 31.036034126)
GK40 = (617234.497, 3435191.997)

# A made-up transverse Mercator used only to exercise registration. It is NOT the official
# 上海2000 definition (whose parameters are not public) and must never be used as such.
FAKE_LOCAL = "+proj=tmerc +lat_0=0 +lon_0=121.5 +k=1 +x_0=0 +y_0=0 +ellps=GRS80 +units=m +no_defs"

GEOD = Geod(ellps="WGS84")
RNG_SEED = 20261124


def metres(lon_a: np.ndarray, lat_a: np.ndarray, lon_b: np.ndarray, lat_b: np.ndarray) -> float:
    """The largest geodesic distance in metres between paired WGS84 points."""
    _, _, dist = GEOD.inv(lon_a, lat_a, lon_b, lat_b)
    return float(np.max(dist))


def songjiang_grid(n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """An n×n grid over Songjiang district, flattened."""
    lon, lat = np.meshgrid(np.linspace(121.0, 121.45, n), np.linspace(30.85, 31.20, n))
    return lon.ravel(), lat.ravel()


def china_sample(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random points over the whole GCJ-02 box."""
    rng = np.random.default_rng(RNG_SEED)
    return rng.uniform(72.01, 137.83, n), rng.uniform(0.83, 55.82, n)


@pytest.fixture
def local_crs() -> Iterator[str]:
    """Register the made-up local grid as `testgrid` for one test."""
    register_local_crs("testgrid", FAKE_LOCAL)
    yield "testgrid"
    unregister_local_crs("testgrid")


# --- published vectors --------------------------------------------------------------------------


def test_wgs84_to_gcj02_matches_the_published_vector() -> None:
    lon, lat = transform(*WGS, "wgs84", "gcj02")
    assert (round(lon, 9), round(lat, 9)) == GCJ
    xs, ys = transform_array([WGS[0]], [WGS[1]], "wgs84", "gcj02")
    assert (round(float(xs[0]), 9), round(float(ys[0]), 9)) == GCJ


def test_gcj02_to_bd09_matches_the_published_vector() -> None:
    assert tuple(round(v, 9) for v in transform(*WGS, "wgs84", "bd09")) == BD
    gcj = transform(*WGS, "wgs84", "gcj02")
    assert tuple(round(v, 9) for v in transform(*gcj, "gcj02", "bd09")) == BD


def test_published_gcj02_and_bd09_vectors_invert_to_the_wgs84_point() -> None:
    for point, src in ((GCJ, "gcj02"), (BD, "bd09")):
        lon, lat = transform(*point, src, "wgs84")
        # The published values are rounded to 1e-9°, about 0.1 mm.
        assert abs(lon - WGS[0]) < 3e-9
        assert abs(lat - WGS[1]) < 3e-9


@pytest.mark.parametrize("src", ["wgs84", "cgcs2000", "EPSG:4326", "EPSG:4490"])
def test_wgs84_to_gauss_kruger_zone_40_matches_the_published_vector(src: str) -> None:
    east, north = transform(*WGS, src, "epsg:4549")
    assert abs(east - GK40[0]) < 1e-3
    assert abs(north - GK40[1]) < 1e-3
    xs, ys = transform_array([WGS[0]], [WGS[1]], src, "EPSG:4549")
    assert abs(xs[0] - GK40[0]) < 1e-3
    assert abs(ys[0] - GK40[1]) < 1e-3


# --- GCJ-02 ---------------------------------------------------------------------------------------


def test_gcj02_round_trip_over_songjiang_is_below_1_mm() -> None:
    lon, lat = songjiang_grid(200)
    glon, glat = transform_array(lon, lat, "wgs84", "gcj02")
    assert metres(lon, lat, glon, glat) > 100.0  # the offset really was applied
    blon, blat = transform_array(glon, glat, "gcj02", "wgs84")
    assert metres(lon, lat, blon, blat) < 1e-3


def test_scalar_gcj02_round_trip_is_below_1_mm() -> None:
    lon, lat = songjiang_grid(25)
    back = np.array(
        [
            transform(*transform(a, b, "wgs84", "gcj02"), "gcj02", "wgs84")
            for a, b in zip(lon, lat, strict=True)
        ]
    )
    assert metres(lon, lat, back[:, 0], back[:, 1]) < 1e-3


def test_gcj02_inverse_is_below_1_mm_across_china() -> None:
    lon, lat = china_sample(50_000)
    inside = (lon > 72.1) & (lon < 137.7) & (lat > 0.95) & (lat < 55.7)  # stay off the box edge
    lon, lat = lon[inside], lat[inside]
    blon, blat = transform_array(*transform_array(lon, lat, "wgs84", "gcj02"), "gcj02", "wgs84")
    assert metres(lon, lat, blon, blat) < 1e-3


def test_vectorised_gcj02_kernel_matches_the_published_series() -> None:
    lon, lat = china_sample(100_000)
    glon, glat = transform_array(lon, lat, "wgs84", "gcj02")
    ref = np.array(
        [china._wgs_to_gcj(a, b) for a, b in zip(lon.tolist(), lat.tolist(), strict=True)]
    )
    assert np.max(np.abs(glon - ref[:, 0])) < 1e-12
    assert np.max(np.abs(glat - ref[:, 1])) < 1e-12


@pytest.mark.parametrize(
    "point",
    [
        (139.6917, 35.6895),
        (-0.1276, 51.5072),
        (151.2093, -33.8688),
        (0.0, 0.0),
        (72.0, 30.0),
        (121.47, 56.0),
    ],
)
def test_points_outside_china_are_unchanged_by_gcj02(point: tuple[float, float]) -> None:
    assert transform(*point, "wgs84", "gcj02") == point
    assert transform(*point, "gcj02", "wgs84") == point
    xs, ys = transform_array([point[0]], [point[1]], "wgs84", "gcj02")
    assert (xs[0], ys[0]) == point
    xs, ys = transform_array([point[0]], [point[1]], "gcj02", "wgs84")
    assert (xs[0], ys[0]) == point


def test_points_inside_china_are_offset_by_hundreds_of_metres() -> None:
    lon, lat = transform(116.3975, 39.9087, "wgs84", "gcj02")  # Beijing
    assert (
        100.0
        < metres(np.array([116.3975]), np.array([39.9087]), np.array([lon]), np.array([lat]))
        < 1000.0
    )


# --- BD-09 --------------------------------------------------------------------------------------


def test_bd09_round_trip_is_below_1_mm() -> None:
    lon, lat = songjiang_grid(100)
    blon, blat = transform_array(lon, lat, "wgs84", "bd09")
    back_lon, back_lat = transform_array(blon, blat, "bd09", "wgs84")
    assert metres(lon, lat, back_lon, back_lat) < 1e-3
    glon, glat = transform_array(lon, lat, "wgs84", "gcj02")
    g2_lon, g2_lat = transform_array(*transform_array(glon, glat, "gcj02", "bd09"), "bd09", "gcj02")
    assert metres(glon, glat, g2_lon, g2_lat) < 1e-3


def test_bd09_to_gcj02_refines_the_published_closed_form() -> None:
    gcj = transform(*BD, "bd09", "gcj02")
    assert tuple(round(v, 9) for v in transform(*gcj, "gcj02", "bd09")) == BD
    # The closed-form inverse alone is within about a centimetre.
    x, y = BD[0] - 0.0065, BD[1] - 0.006
    z = math.hypot(x, y) - 0.00002 * math.sin(y * math.pi * 3000.0 / 180.0)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * math.pi * 3000.0 / 180.0)
    closed = (z * math.cos(theta), z * math.sin(theta))
    _, _, gap = GEOD.inv(closed[0], closed[1], gcj[0], gcj[1])
    assert gap < 0.02


def test_gcj02_and_bd09_convert_directly() -> None:
    assert route._route("bd09", "gcj02") == (["bd09"], [])
    assert route._route("gcj02", "bd09") == ([], ["bd09"])
    assert route._route("bd09", "epsg:4549") == (["bd09", "gcj02"], ["epsg:4549"])
    assert transform(*GCJ, "gcj02", "bd09") == china._gcj_to_bd(*GCJ)


# --- projections --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "epsg"), [("webmercator", 3857), ("epsg:3857", 3857), ("epsg:4550", 4550)]
)
def test_projections_match_pyproj(name: str, epsg: int) -> None:
    lon, lat = songjiang_grid(50)
    ref_x, ref_y = Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
    xs, ys = transform_array(lon, lat, "wgs84", name)
    np.testing.assert_allclose(xs, ref_x, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ys, ref_y, rtol=0, atol=1e-6)
    back_lon, back_lat = transform_array(xs, ys, name, "wgs84")
    assert metres(lon, lat, back_lon, back_lat) < 1e-6


def test_projection_to_projection_goes_through_wgs84() -> None:
    x, y = transform(*GK40, "epsg:4549", "webmercator")
    ref = Transformer.from_crs(4326, 3857, always_xy=True).transform(*WGS)
    assert abs(x - ref[0]) < 1e-3
    assert abs(y - ref[1]) < 1e-3


def test_gcj02_to_gauss_kruger_round_trip() -> None:
    east, north = transform(*GCJ, "gcj02", "epsg:4549")
    assert abs(east - GK40[0]) < 1e-3
    assert abs(north - GK40[1]) < 1e-3
    back = transform(east, north, "epsg:4549", "gcj02")
    assert abs(back[0] - GCJ[0]) < 1e-9
    assert abs(back[1] - GCJ[1]) < 1e-9


# --- scalar and vectorised agree, shapes, identity ---------------------------------------------

PAIRS = [
    ("wgs84", "gcj02"),
    ("gcj02", "wgs84"),
    ("wgs84", "bd09"),
    ("bd09", "wgs84"),
    ("bd09", "gcj02"),
    ("wgs84", "webmercator"),
    ("cgcs2000", "epsg:4549"),
    ("gcj02", "epsg:4550"),
    ("bd09", "webmercator"),
]


@pytest.mark.parametrize(("src", "dst"), PAIRS)
def test_scalar_and_vectorised_paths_agree(src: str, dst: str) -> None:
    lon, lat = songjiang_grid(30)
    xs, ys = transform_array(lon, lat, "wgs84", src)
    vx, vy = transform_array(xs, ys, src, dst)
    for i in range(0, xs.size, 7):
        sx, sy = transform(float(xs[i]), float(ys[i]), src, dst)
        # metres, or degrees: the iterative inverses stop within ~1e-11° (1 µm) of the answer
        tolerance = 1e-5 if abs(sx) > 1000.0 else 1e-10
        assert abs(sx - vx[i]) < tolerance
        assert abs(sy - vy[i]) < tolerance


def test_transform_array_keeps_shape_and_leaves_inputs_alone() -> None:
    lon, lat = songjiang_grid(10)
    lon2, lat2 = lon.reshape(4, 25), lat.reshape(4, 25)
    before = lon2.copy()
    xs, ys = transform_array(lon2, lat2, "wgs84", "bd09")
    assert xs.shape == ys.shape == (4, 25)
    assert xs.dtype == np.float64
    np.testing.assert_array_equal(lon2, before)
    same_x, _ = transform_array(lon2, lat2, "wgs84", "cgcs2000")
    np.testing.assert_array_equal(same_x, lon2)
    assert same_x is not lon2


def test_transform_array_takes_lists_scalars_and_empty_arrays() -> None:
    xs, ys = transform_array([121.2279, 121.3], [31.0322, 31.0], "wgs84", "gcj02")
    assert xs.shape == ys.shape == (2,)
    x0, y0 = transform_array(121.2279, 31.0322, "wgs84", "gcj02")
    assert x0.shape == y0.shape == ()
    assert round(float(x0), 9) == GCJ[0]
    for src, dst in PAIRS:
        ex, ey = transform_array(np.array([]), np.array([]), src, dst)
        assert ex.shape == ey.shape == (0,)


def test_transform_array_refuses_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="shape"):
        transform_array([1.0, 2.0], [1.0], "wgs84", "gcj02")


def test_cgcs2000_is_taken_as_wgs84() -> None:
    assert transform(*WGS, "wgs84", "cgcs2000") == WGS
    assert transform(*WGS, "cgcs2000", "gcj02") == transform(*WGS, "wgs84", "gcj02")


# --- names ---------------------------------------------------------------------------------------


def test_names_and_epsg_codes_resolve_case_insensitively() -> None:
    assert resolve_crs("EPSG:4326") == "wgs84"
    assert resolve_crs(" WGS84 ") == "wgs84"
    assert resolve_crs("epsg:4490") == "cgcs2000"
    assert resolve_crs("EPSG:3857") == "webmercator"
    assert resolve_crs("EPSG:4549") == CRS.GK_ZONE_40
    assert resolve_crs(CRS.BD09) == "bd09"
    assert supported_crs()[:7] == [c.value for c in CRS]


@pytest.mark.parametrize("name", ["wgs-84", "epsg:9999", "", "gcj", "EPSG:4547", "x" * 500])
def test_unknown_crs_names_raise_a_value_error(name: str) -> None:
    with pytest.raises(UnknownCRSError, match="unknown coordinate reference system") as caught:
        transform(121.0, 31.0, name, "wgs84")
    assert isinstance(caught.value, ValueError)
    assert "wgs84, cgcs2000, gcj02" in str(caught.value)
    assert len(str(caught.value)) < 400
    with pytest.raises(UnknownCRSError):
        transform_array([121.0], [31.0], "wgs84", name)
    with pytest.raises(UnknownCRSError):
        transform_geojson({"type": "Point", "coordinates": [121.0, 31.0]}, name, "wgs84")


def test_a_non_string_crs_raises_unknown_crs() -> None:
    with pytest.raises(UnknownCRSError):
        resolve_crs(4326)  # type: ignore[arg-type]


def test_sh2000_without_parameters_raises_not_configured() -> None:
    assert SH2000 not in supported_crs()
    with pytest.raises(CRSNotConfiguredError, match="register_local_crs") as caught:
        transform(121.47, 31.23, "wgs84", "sh2000")
    assert isinstance(caught.value, ValueError)
    assert "not configured" in str(caught.value)


# --- local grids -----------------------------------------------------------------------------


def test_a_registered_local_grid_works_like_a_built_in(local_crs: str) -> None:
    assert local_crs in supported_crs()
    ref = Transformer.from_crs(4326, FAKE_LOCAL, always_xy=True).transform(*WGS)
    x, y = transform(*WGS, "wgs84", "TestGrid")
    assert abs(x - ref[0]) < 1e-6
    assert abs(y - ref[1]) < 1e-6
    xs, ys = transform_array([GCJ[0]], [GCJ[1]], "gcj02", local_crs)
    assert abs(xs[0] - ref[0]) < 1e-3
    assert abs(ys[0] - ref[1]) < 1e-3
    lon, lat = transform(x, y, local_crs, "wgs84")
    assert abs(lon - WGS[0]) < 1e-9
    assert abs(lat - WGS[1]) < 1e-9


def test_sh2000_becomes_usable_once_registered() -> None:
    register_local_crs("SH2000", FAKE_LOCAL)  # made-up parameters, see FAKE_LOCAL
    try:
        assert resolve_crs("sh2000") == "sh2000"
        assert math.isfinite(transform(*WGS, "wgs84", "sh2000")[0])
    finally:
        unregister_local_crs("sh2000")
    with pytest.raises(CRSNotConfiguredError):
        resolve_crs("sh2000")


@pytest.mark.parametrize(
    ("name", "definition", "message"),
    [
        ("wgs84", FAKE_LOCAL, "cannot name"),
        ("epsg:4326", FAKE_LOCAL, "cannot name"),
        ("bad name", FAKE_LOCAL, "cannot name"),
        ("grid", "+proj=nonsense", "cannot read"),
        ("grid", "EPSG:4978", "2D projected or geographic"),  # geocentric
        ("grid", "EPSG:4979", "2D projected or geographic"),  # 3D geographic
    ],
)
def test_bad_local_registrations_are_refused(name: str, definition: str, message: str) -> None:
    with pytest.raises(CRSError, match=message):
        register_local_crs(name, definition)
    assert "grid" not in supported_crs()


# --- GeoJSON -------------------------------------------------------------------------------------


def test_geojson_transform_keeps_every_geometry_type_and_structure() -> None:
    ring = [[121.2, 31.0], [121.3, 31.0], [121.3, 31.1], [121.2, 31.0]]
    hole = [[121.22, 31.02], [121.25, 31.02], [121.25, 31.05], [121.22, 31.02]]
    geometry = {
        "type": "GeometryCollection",
        "geometries": [
            {"type": "Point", "coordinates": [*WGS, 4.5]},
            {"type": "MultiPoint", "coordinates": [[121.2, 31.0], [121.3, 31.1]]},
            {"type": "LineString", "coordinates": ring[:3]},
            {"type": "MultiLineString", "coordinates": [ring[:2], ring[1:3]]},
            {"type": "Polygon", "coordinates": [ring, hole], "bbox": [121.2, 31.0, 121.3, 31.1]},
            {"type": "MultiPolygon", "coordinates": [[ring], [hole]]},
            {
                "type": "GeometryCollection",
                "geometries": [{"type": "Point", "coordinates": list(WGS)}],
            },
        ],
    }
    original = copy.deepcopy(geometry)
    out = transform_geojson(geometry, "wgs84", "gcj02")
    assert geometry == original
    members = out["geometries"]
    assert [m["type"] for m in members] == [m["type"] for m in geometry["geometries"]]
    point = members[0]["coordinates"]
    assert len(point) == 3
    assert point[2] == 4.5
    assert (round(point[0], 9), round(point[1], 9)) == GCJ
    assert members[6]["geometries"][0]["coordinates"] == point[:2]
    polygon = members[4]
    assert [len(r) for r in polygon["coordinates"]] == [4, 4]
    assert polygon["coordinates"][0][0] == polygon["coordinates"][0][-1]
    xs = [p[0] for r in polygon["coordinates"] for p in r]
    ys = [p[1] for r in polygon["coordinates"] for p in r]
    assert polygon["bbox"] == [min(xs), min(ys), max(xs), max(ys)]
    assert [len(p[0]) for p in members[5]["coordinates"]] == [4, 4]
    back = transform_geojson(out, "gcj02", "wgs84")
    flat_back = np.array([p for r in back["geometries"][4]["coordinates"] for p in r])
    flat_orig = np.array([p for r in original["geometries"][4]["coordinates"] for p in r])
    assert metres(flat_back[:, 0], flat_back[:, 1], flat_orig[:, 0], flat_orig[:, 1]) < 1e-3


def test_geojson_to_a_projection_and_empty_geometries() -> None:
    out = transform_geojson(
        {"type": "Point", "coordinates": list(WGS), "crs": {"x": 1}}, "wgs84", "epsg:4549"
    )
    assert "crs" not in out
    assert abs(out["coordinates"][0] - GK40[0]) < 1e-3
    empty = transform_geojson(
        {"type": "LineString", "coordinates": [], "bbox": [0, 0, 1, 1]}, "wgs84", "bd09"
    )
    assert empty == {"type": "LineString", "coordinates": []}
    three_d = transform_geojson(
        {
            "type": "LineString",
            "coordinates": [[121.2, 31.0, 1.0], [121.3, 31.1, 9.0]],
            "bbox": [121.2, 31.0, 1.0, 121.3, 31.1, 9.0],
        },
        "wgs84",
        "webmercator",
    )
    assert three_d["bbox"][2] == 1.0
    assert three_d["bbox"][5] == 9.0
    assert three_d["bbox"][0] == three_d["coordinates"][0][0]


@pytest.mark.parametrize(
    "geometry",
    [
        {"type": "Feature", "geometry": None},
        {"type": "Point", "coordinates": [121.0]},
        {"type": "Point", "coordinates": ["121", 31.0]},
        {"type": "Point", "coordinates": [True, 31.0]},
        {"type": "LineString", "coordinates": [121.0, 31.0]},
        {"type": "Polygon", "coordinates": "nope"},
        {"type": "GeometryCollection"},
        {"type": "Point", "coordinates": [121.0, 31.0], "bbox": [1, 2, 3]},
        [121.0, 31.0],
    ],
)
def test_malformed_geojson_raises_geojson_error(geometry: object) -> None:
    with pytest.raises(GeoJSONError):
        transform_geojson(geometry, "wgs84", "gcj02")  # type: ignore[arg-type]


def test_deeply_nested_collections_are_refused() -> None:
    geometry: dict[str, object] = {"type": "Point", "coordinates": [121.0, 31.0]}
    for _ in range(20):
        geometry = {"type": "GeometryCollection", "geometries": [geometry]}
    with pytest.raises(GeoJSONError, match="nested"):
        transform_geojson(geometry, "wgs84", "gcj02")


# --- non-finite input ----------------------------------------------------------------------------

ALL_NAMES = ["wgs84", "cgcs2000", "gcj02", "bd09", "webmercator", "epsg:4549", "epsg:4550"]


@pytest.mark.parametrize("dst", ALL_NAMES)
@pytest.mark.parametrize("src", ALL_NAMES)
def test_nan_and_inf_never_raise_or_warn(src: str, dst: str) -> None:
    nan = [(math.nan, 31.0), (121.2, math.nan), (math.nan, math.inf)]
    inf = [(math.inf, 31.0), (121.2, -math.inf), (-math.inf, math.inf)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for x, y in nan:
            assert not all(map(math.isfinite, transform(x, y, src, dst)))
        for x, y in inf:
            transform(x, y, src, dst)  # PROJ decides; Web Mercator sends y = ±inf to the pole
        xs, ys = transform_array([p[0] for p in nan + inf], [p[1] for p in nan + inf], src, dst)
    assert not np.any(np.isfinite(xs[:3]) & np.isfinite(ys[:3]))


@pytest.mark.parametrize(
    ("src", "dst"), [("wgs84", "gcj02"), ("gcj02", "wgs84"), ("wgs84", "bd09"), ("bd09", "wgs84")]
)
def test_offset_systems_pass_non_finite_points_through_and_convert_the_rest(
    src: str, dst: str
) -> None:
    xs = np.array([math.nan, math.inf, WGS[0], -math.inf])
    ys = np.array([31.0, 31.0, WGS[1], math.nan])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ox, oy = transform_array(xs, ys, src, dst)
    np.testing.assert_array_equal(ox[[0, 1, 3]], xs[[0, 1, 3]])
    np.testing.assert_array_equal(oy[[0, 1, 3]], ys[[0, 1, 3]])
    assert (ox[2], oy[2]) == transform(*WGS, src, dst)
    assert transform(math.inf, 31.0, src, dst) == (math.inf, 31.0)
