"""Encode Mapbox Vector Tiles (specification 2.1) from Shapely geometries in tile pixel space.

The geometry commands of a whole layer are built at once with NumPy from Shapely's ragged-array
form (`shapely.to_ragged_array`): coordinates are rounded to the integer grid, repeated points
dropped, rings that collapse to nothing removed, exterior rings wound with a positive area (in
y-down tile coordinates, as the specification defines) and holes the other way, then
delta-, zigzag- and varint-encoded in one pass. Only the small protobuf framing of each feature
is written in Python. `mapbox-vector-tile` encodes the same format but walks every point in
Python; measured on this platform's tiles it was some 20-60× slower (see docs/geo.md).

Geometries handed in must already be clipped and transformed to tile space (0..extent, y down).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

EXTENT = 4096

PropertyValue = str | bool | int | float
Properties = Mapping[str, PropertyValue | None]
IntArray = NDArray[np.int64]

_MOVE_TO = 1
_LINE_TO = 2
_CLOSE_PATH = 7
_SMALL_VARINTS = [bytes([i]) for i in range(128)]
#: Varints of 0..16383 (one and two bytes), looked up rather than computed.
_VARINT_TABLE = _SMALL_VARINTS + [bytes([(i & 0x7F) | 0x80, i >> 7]) for i in range(128, 1 << 14)]
#: The smallest value that needs 2, 3, … 10 varint bytes.
_VARINT_LIMITS = np.array([1 << (7 * k) for k in range(1, 10)], dtype=np.uint64) - np.uint64(1)
#: Encoded Value messages by value, shared by every tile (names and codes repeat across tiles).
_VALUE_CACHE: dict[object, bytes] = {}
_VALUE_CACHE_MAX = 200_000
#: Up to this many features, tags are numbered in plain Python (faster than NumPy at that size).
_SMALL_TAG_ROWS = 24
#: Geometry family (0 none, 1 points, 2 lines, 3 polygons) by Shapely type id (+1: -1 is None).
_FAMILY_BY_TYPE = np.array([0, 1, 2, 0, 3, 1, 2, 3, 0], dtype=np.int64)


class GeomType(IntEnum):
    """The MVT geometry type of a feature."""

    POINT = 1
    LINESTRING = 2
    POLYGON = 3


@dataclass(frozen=True, slots=True)
class EncodedGeometries:
    """Command integers of several features, concatenated, and where each feature's run starts."""

    commands: NDArray[np.uint64]
    starts: IntArray  # len(features) + 1 offsets into commands
    features: IntArray  # the index, in the caller's list, of each encoded feature
    kind: GeomType


@dataclass(slots=True)
class TileLayer:
    """One named layer of a tile: geometries in tile space and a property mapping per feature."""

    name: str
    geometries: Sequence[object] | NDArray[np.object_]
    properties: Sequence[Properties]
    extent: int = EXTENT


def _varint(value: int) -> bytes:
    """One unsigned varint."""
    if value < 0x4000:
        return _VARINT_TABLE[value]
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _zigzag(values: IntArray) -> NDArray[np.uint64]:
    """Zigzag-encode signed integers."""
    return ((values << 1) ^ (values >> 63)).astype(np.uint64)


def _varints(values: NDArray[np.uint64]) -> tuple[bytes, IntArray]:
    """Varint-encode an array; returns the bytes and the byte offset of every value (+ the end)."""
    n = len(values)
    if n == 0 or int(values.max()) < 0x80:  # the usual case in a tile: one byte each
        return values.astype(np.uint8).tobytes(), np.arange(n + 1, dtype=np.int64)
    lengths = np.searchsorted(_VARINT_LIMITS, values, side="left").astype(np.int64) + 1
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    owner = np.repeat(np.arange(n), lengths)
    k = np.arange(offsets[-1], dtype=np.int64) - offsets[owner]
    shifted = values[owner] >> (7 * k).astype(np.uint64)
    more = (k < lengths[owner] - 1).astype(np.uint64) << np.uint64(7)
    data = ((shifted & np.uint64(0x7F)) | more).astype(np.uint8)
    return data.tobytes(), offsets


def _counts(ids: IntArray, size: int) -> IntArray:
    """How many entries of `ids` name each of 0..size-1."""
    return np.bincount(ids, minlength=size).astype(np.int64)


def _offsets(counts: IntArray) -> IntArray:
    """Exclusive running offsets of counts, with the total appended."""
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def _same_as_previous(xy: IntArray, part: IntArray) -> NDArray[np.bool_]:
    """Whether each point repeats the one before it in the same part."""
    same = np.zeros(len(xy), dtype=bool)
    if len(xy) > 1:
        same[1:] = (xy[1:] == xy[:-1]).all(axis=1) & (part[1:] == part[:-1])
    return same


def _deltas(xy: IntArray, feature: IntArray) -> IntArray:
    """Each point minus the previous point of the same feature (the cursor starts at 0,0)."""
    delta = xy.copy()
    if len(xy) > 1:
        delta[1:] -= xy[:-1]
        first = np.ones(len(xy), dtype=bool)
        first[1:] = feature[1:] != feature[:-1]
        delta[first] = xy[first]
    return delta


def _ragged(geometries: NDArray[np.object_]) -> tuple[IntArray, list[IntArray]]:
    """Rounded coordinates and offset arrays, always in the Multi* layout."""
    kind, coords, offsets = shapely.to_ragged_array(geometries)
    xy = np.rint(coords[:, :2]).astype(np.int64)
    levels = [np.asarray(o, dtype=np.int64) for o in offsets]
    n = len(geometries)
    if kind == shapely.GeometryType.POINT:
        levels = [np.arange(n + 1, dtype=np.int64)]
    elif kind in (shapely.GeometryType.LINESTRING, shapely.GeometryType.POLYGON):
        levels.append(np.arange(n + 1, dtype=np.int64))
    return xy, levels


def _member_ids(offsets: IntArray) -> IntArray:
    """For offsets of children per parent, the parent of each child."""
    return np.repeat(np.arange(len(offsets) - 1, dtype=np.int64), np.diff(offsets))


def _keep_points(
    xy: IntArray, part: IntArray, keep: NDArray[np.bool_]
) -> tuple[IntArray, IntArray]:
    """The points (and their part ids) that `keep` marks."""
    return xy[keep], part[keep]


def _encode_points(geometries: NDArray[np.object_]) -> EncodedGeometries:
    """MoveTo(n) and n coordinate pairs per (multi)point feature."""
    xy, (geom_off,) = _ragged(geometries)
    feature = _member_ids(geom_off)
    counts = np.diff(geom_off)
    lengths = np.where(counts > 0, 2 * counts + 1, 0)
    starts = _offsets(lengths)
    commands = np.zeros(starts[-1], dtype=np.uint64)
    has = counts > 0
    commands[starts[:-1][has]] = ((counts[has] << 3) | _MOVE_TO).astype(np.uint64)
    local = np.arange(len(xy), dtype=np.int64) - geom_off[feature]
    pos = starts[feature] + 1 + 2 * local
    zz = _zigzag(_deltas(xy, feature))
    commands[pos] = zz[:, 0]
    commands[pos + 1] = zz[:, 1]
    kept = np.flatnonzero(has)
    return EncodedGeometries(commands, np.append(starts[kept], starts[-1]), kept, GeomType.POINT)


def _encode_lines(geometries: NDArray[np.object_]) -> EncodedGeometries:
    """MoveTo(1), LineTo(n-1) per line part; parts shorter than two distinct points are dropped."""
    xy, (line_off, geom_off) = _ragged(geometries)
    line = _member_ids(line_off)
    xy, line = _keep_points(xy, line, ~_same_as_previous(xy, line))
    counts = _counts(line, len(line_off) - 1)
    good = counts >= 2
    keep = good[line]
    xy, line = xy[keep], line[keep]
    feature_of_line = _member_ids(geom_off)
    return _assemble(xy, line, counts, good, feature_of_line, len(geometries), closed=False)


def _encode_polygons(geometries: NDArray[np.object_]) -> EncodedGeometries:
    """MoveTo(1), LineTo(n-1), ClosePath per ring, wound as the specification requires."""
    xy, (ring_off, poly_off, geom_off) = _ragged(geometries)
    ring = _member_ids(ring_off)
    n_rings = len(ring_off) - 1
    closing = np.zeros(len(xy), dtype=bool)
    closing[ring_off[1:][np.diff(ring_off) > 0] - 1] = True
    xy, ring = _keep_points(xy, ring, ~closing & ~_same_as_previous(xy, ring))
    xy, ring = _drop_wraparound(xy, ring, n_rings)
    counts = _counts(ring, n_rings)
    area2 = _ring_areas(xy, ring, counts)
    poly_of_ring = _member_ids(poly_off)
    exterior = np.zeros(n_rings, dtype=bool)
    firsts = poly_off[:-1][np.diff(poly_off) > 0]
    exterior[firsts] = True
    ring_ok = (counts >= 3) & (area2 != 0)
    poly_ok = np.zeros(len(poly_off) - 1, dtype=bool)
    poly_ok[poly_of_ring[firsts]] = ring_ok[firsts]
    good = ring_ok & poly_ok[poly_of_ring]
    keep = good[ring]
    xy, ring = xy[keep], ring[keep]
    reverse = np.where(exterior, area2 < 0, area2 > 0)
    xy = _reverse_rings(xy, ring, counts, reverse & good)
    feature_of_ring = _member_ids(geom_off)[poly_of_ring]
    return _assemble(xy, ring, counts, good, feature_of_ring, len(geometries), closed=True)


def _drop_wraparound(xy: IntArray, ring: IntArray, n_rings: int) -> tuple[IntArray, IntArray]:
    """Drop a ring's last point when it equals its first (the ring closes on itself anyway)."""
    counts = _counts(ring, n_rings)
    off = _offsets(counts)
    multi = np.flatnonzero(counts >= 2)
    last = off[multi + 1] - 1
    same = (xy[off[multi]] == xy[last]).all(axis=1)
    keep = np.ones(len(xy), dtype=bool)
    keep[last[same]] = False
    return xy[keep], ring[keep]


def _ring_areas(xy: IntArray, ring: IntArray, counts: IntArray) -> NDArray[np.float64]:
    """Twice the signed (surveyor's formula) area of every ring."""
    off = _offsets(counts)
    nxt = np.arange(1, len(xy) + 1, dtype=np.int64)
    ends = off[1:][counts > 0] - 1
    nxt[ends] = off[:-1][counts > 0]
    x = xy[:, 0].astype(np.float64)
    y = xy[:, 1].astype(np.float64)
    cross = x * y[nxt] - x[nxt] * y if len(xy) else np.zeros(0)
    areas: NDArray[np.float64] = np.bincount(ring, weights=cross, minlength=len(counts)).astype(
        np.float64
    )
    return areas


def _reverse_rings(
    xy: IntArray, ring: IntArray, counts: IntArray, reverse: NDArray[np.bool_]
) -> IntArray:
    """Reverse the point order of the marked rings (points are grouped by ring, in order)."""
    if not reverse.any():
        return xy
    kept_counts = _counts(ring, len(counts))
    off = _offsets(kept_counts)
    index = np.arange(len(xy), dtype=np.int64)
    flip = reverse[ring]
    r = ring[flip]
    index[flip] = off[r] + off[r + 1] - 1 - index[flip]
    return xy[index]


def _assemble(
    xy: IntArray,
    part: IntArray,
    counts: IntArray,
    good: NDArray[np.bool_],
    feature_of_part: IntArray,
    n_features: int,
    *,
    closed: bool,
) -> EncodedGeometries:
    """Command integers for parts (lines or rings) of features, in order."""
    kept_parts = np.flatnonzero(good)
    n = counts[kept_parts]
    # MoveTo + pair + LineTo + (n-1) pairs (+ ClosePath for a ring).
    lengths = 2 * n + (3 if closed else 2)
    part_starts = _offsets(lengths)
    commands = np.zeros(part_starts[-1], dtype=np.uint64)
    first = part_starts[:-1]
    commands[first] = (1 << 3) | _MOVE_TO
    commands[first + 3] = (((n - 1) << 3) | _LINE_TO).astype(np.uint64)
    if closed:
        commands[part_starts[1:] - 1] = (1 << 3) | _CLOSE_PATH
    slot = np.full(len(counts), -1, dtype=np.int64)
    slot[kept_parts] = np.arange(len(kept_parts))
    point_part = slot[part]
    point_off = _offsets(n)
    local = np.arange(len(xy), dtype=np.int64) - point_off[point_part]
    pos = first[point_part] + 1 + 2 * local + (local > 0)
    feature = feature_of_part[kept_parts]
    zz = _zigzag(_deltas(xy, feature[point_part]))
    commands[pos] = zz[:, 0]
    commands[pos + 1] = zz[:, 1]
    per_feature = _offsets(_counts(feature, n_features))
    has = np.flatnonzero(np.diff(per_feature) > 0)
    starts = np.append(first[per_feature[has]], part_starts[-1])
    kind = GeomType.POLYGON if closed else GeomType.LINESTRING
    return EncodedGeometries(commands, starts, has, kind)


def encode_geometries(
    geometries: Sequence[object] | NDArray[np.object_],
) -> list[EncodedGeometries]:
    """Encode geometries in tile space, one result per geometry family present."""
    array = np.asarray(geometries, dtype=object)
    if len(array) == 0:
        return []
    family = _FAMILY_BY_TYPE[shapely.get_type_id(array) + 1]
    family[shapely.is_empty(array)] = 0
    results: list[EncodedGeometries] = []
    for code, encoder in ((1, _encode_points), (2, _encode_lines), (3, _encode_polygons)):
        chosen = np.flatnonzero(family == code)
        if len(chosen) == 0:
            continue
        part = encoder(array[chosen])
        results.append(
            EncodedGeometries(part.commands, part.starts, chosen[part.features], part.kind)
        )
    return results


#: Up to this many vertices, `encode_small` (plain Python) beats the vectorised path's overhead.
SMALL_VERTICES = 600


def _rounded(coords: Iterable[Sequence[float]]) -> list[tuple[int, int]]:
    """Coordinates on the integer grid with consecutive repeats dropped."""
    out: list[tuple[int, int]] = []
    last = None
    for c in coords:
        point = (round(c[0]), round(c[1]))
        if point != last:
            out.append(point)
            last = point
    return out


def _emit_path(
    points: Sequence[tuple[int, int]], cursor: list[int], out: list[int], *, closed: bool
) -> None:
    """MoveTo the first point, LineTo the rest (and ClosePath), deltas from the cursor."""
    cx, cy = cursor
    x0, y0 = points[0]
    out += [9, zigzag(x0 - cx), zigzag(y0 - cy), ((len(points) - 1) << 3) | _LINE_TO]
    px, py = x0, y0
    for x, y in points[1:]:
        out += [zigzag(x - px), zigzag(y - py)]
        px, py = x, y
    if closed:
        out.append((1 << 3) | _CLOSE_PATH)
    cursor[0], cursor[1] = px, py


def _ring(coords: Sequence[Sequence[float]], exterior: bool) -> list[tuple[int, int]] | None:
    """A ring on the grid, wound as the specification wants, or None if it collapsed."""
    points = _rounded(coords[:-1])
    if len(points) > 1 and points[-1] == points[0]:
        points.pop()
    if len(points) < 3:
        return None
    area2 = 0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
        area2 += x1 * y2 - x2 * y1
    if area2 == 0:
        return None
    if (area2 > 0) != exterior:
        points.reverse()
    return points


def _small_commands(geometry: Any) -> tuple[int, list[int]]:
    """The MVT type and command integers of one tile-space geometry, in plain Python."""
    if geometry is None or geometry.is_empty:
        return 0, []
    kind = geometry.geom_type
    parts = list(geometry.geoms) if kind.startswith("Multi") else [geometry]
    out: list[int] = []
    cursor = [0, 0]
    if kind in ("Point", "MultiPoint"):
        out.append((len(parts) << 3) | _MOVE_TO)
        for p in parts:
            x, y = round(p.x), round(p.y)
            out += [zigzag(x - cursor[0]), zigzag(y - cursor[1])]
            cursor = [x, y]
        return int(GeomType.POINT), out
    if kind in ("LineString", "MultiLineString"):
        for line in parts:
            points = _rounded(line.coords)
            if len(points) >= 2:
                _emit_path(points, cursor, out, closed=False)
        return (int(GeomType.LINESTRING) if out else 0), out
    for polygon in parts:
        shell = _ring(polygon.exterior.coords, exterior=True)
        if shell is None:
            continue
        _emit_path(shell, cursor, out, closed=True)
        for interior in polygon.interiors:
            hole = _ring(interior.coords, exterior=False)
            if hole is not None:
                _emit_path(hole, cursor, out, closed=True)
    return (int(GeomType.POLYGON) if out else 0), out


def encode_small(geometries: Iterable[Any]) -> tuple[list[int], list[bytes]]:
    """Type and geometry bytes per tile-space geometry, in plain Python (for a few features)."""
    kinds: list[int] = []
    chunks: list[bytes] = []
    for geometry in geometries:
        kind, commands = _small_commands(geometry)
        kinds.append(kind)
        table = _VARINT_TABLE
        chunks.append(b"".join([table[c] if c < 0x4000 else _varint(c) for c in commands]))
    return kinds, chunks


def encode_chunks(geometries: NDArray[np.object_]) -> tuple[list[int], list[bytes]]:
    """Type and geometry bytes per tile-space geometry, by whichever path is faster."""
    if int(shapely.get_num_coordinates(geometries).sum()) <= SMALL_VERTICES:
        return encode_small(geometries.tolist())
    return geometry_chunks(encode_geometries(geometries), len(geometries))


def zigzag(value: int) -> int:
    """Zigzag-encode one signed integer."""
    return (value << 1) ^ (value >> 63)


def varint(value: int) -> bytes:
    """One unsigned varint."""
    return _varint(value)


def zigzag_varints(values: IntArray) -> list[bytes]:
    """Each signed integer of an array zigzag- and varint-encoded."""
    encoded = _zigzag(values).tolist()
    table = _VARINT_TABLE
    return [table[v] if v < 0x4000 else _varint(v) for v in encoded]


def geometry_chunks(encoded: Sequence[EncodedGeometries], n: int) -> tuple[list[int], list[bytes]]:
    """Per feature: its MVT type (0 when nothing drawable is left) and geometry command bytes."""
    kinds = [0] * n
    chunks = [b""] * n
    for part in encoded:
        data, at = _varints(part.commands)
        byte_at = at[part.starts].tolist()
        kind = int(part.kind)
        for j, i in enumerate(part.features.tolist()):
            kinds[i] = kind
            chunks[i] = data[byte_at[j] : byte_at[j + 1]]
    return kinds, chunks


@dataclass(frozen=True, slots=True)
class SplitGeometries:
    """Features' commands split around the first point, which is the only tile-dependent part.

    In world pixel space (one integer grid per zoom, shared by every tile of that zoom) a
    feature's deltas are the same in every tile that holds it whole; only the first MoveTo's
    pair, taken from the cursor at 0,0, depends on the tile origin.
    """

    kinds: list[int]
    first: list[bytes]  # the MoveTo command integer before the first pair
    head: IntArray  # (n, 2) first point, world pixels
    tail: list[bytes]  # every command after the first pair


def split_geometries(encoded: Sequence[EncodedGeometries], n: int) -> SplitGeometries:
    """Split encoded world-pixel geometries for cheap reuse in any tile."""
    kinds = [0] * n
    first = [b""] * n
    tail = [b""] * n
    head = np.zeros((n, 2), dtype=np.int64)
    for part in encoded:
        data, at = _varints(part.commands)
        starts = part.starts[:-1]
        pair = part.commands[np.stack([starts + 1, starts + 2], axis=1)].astype(np.int64)
        head[part.features] = (pair >> 1) ^ -(pair & 1)
        a0, a1, a3 = at[starts].tolist(), at[starts + 1].tolist(), at[starts + 3].tolist()
        ends = at[part.starts[1:]].tolist()
        kind = int(part.kind)
        for j, i in enumerate(part.features.tolist()):
            kinds[i] = kind
            first[i] = data[a0[j] : a1[j]]
            tail[i] = data[a3[j] : ends[j]]
    return SplitGeometries(kinds, first, head, tail)


def _value(value: PropertyValue) -> bytes:
    """One Value message, wrapped as the layer's `values` field (remembered across tiles)."""
    key = _value_key(value)
    cached = _VALUE_CACHE.get(key)
    if cached is None:
        if len(_VALUE_CACHE) >= _VALUE_CACHE_MAX:
            _VALUE_CACHE.clear()
        cached = _VALUE_CACHE[key] = _encode_value(value)
    return cached


def _encode_value(value: PropertyValue) -> bytes:
    """One Value message, wrapped as the layer's `values` field."""
    if isinstance(value, bool):
        body = b"\x38" + _varint(int(value))
    elif isinstance(value, int):
        body = b"\x28" + _varint(value) if value >= 0 else b"\x30" + _varint(zigzag(value))
    elif isinstance(value, float):
        body = b"\x19" + struct.pack("<d", value)
    else:
        body = _field(1, str(value).encode())
    return _field(4, body)


def _value_key(value: PropertyValue) -> object:
    """Dictionary key of a value: 1, 1.0 and True are equal in Python but distinct in a tile."""
    return value if type(value) is str else (type(value), value)


class TagTable:
    """Keys, distinct values (encoded once) and a (features × keys) matrix of value ids."""

    def __init__(self, properties: Sequence[Properties]) -> None:
        self.keys = list(dict.fromkeys(key for p in properties for key in p))
        self.key_bytes = [_field(3, key.encode()) for key in self.keys]
        index: dict[object, int] = {}
        values: list[PropertyValue] = []
        self.ids = np.full((len(properties), len(self.keys)), -1, dtype=np.int64)
        for k, key in enumerate(self.keys):
            column: list[int] = []
            for p in properties:
                value = p.get(key)
                if value is None:
                    column.append(-1)
                    continue
                vkey = _value_key(value)
                i = index.get(vkey)
                if i is None:
                    i = index[vkey] = len(values)
                    values.append(value)
                column.append(i)
            self.ids[:, k] = column
        self.value_bytes = [_value(v) for v in values]

    def encode(self, rows: IntArray) -> tuple[list[bytes], list[bytes]]:
        """The encoded values some features use and each feature's packed tags, renumbered."""
        sub = self.ids[rows]
        if len(sub) <= _SMALL_TAG_ROWS:
            return self._encode_small(sub)
        present = sub >= 0
        flat = sub[present]
        mark = np.zeros(len(self.value_bytes), dtype=bool)
        mark[flat] = True
        used = np.flatnonzero(mark)
        renumber = np.zeros(len(self.value_bytes), dtype=np.int64)
        renumber[used] = np.arange(len(used), dtype=np.int64)
        rows_at, cols = np.nonzero(present)
        pairs = np.column_stack([cols, renumber[sub[rows_at, cols]]]).ravel().astype(np.uint64)
        data, at = _varints(pairs)
        per_row = at[_offsets(_counts(rows_at, len(sub)) * 2)].tolist()
        tags = [data[per_row[i] : per_row[i + 1]] for i in range(len(sub))]
        return [self.value_bytes[g] for g in used.tolist()], tags

    def _encode_small(self, sub: IntArray) -> tuple[list[bytes], list[bytes]]:
        """`encode` in plain Python, for a few features."""
        local: dict[int, int] = {}
        values: list[bytes] = []
        tags: list[bytes] = []
        for row in sub.tolist():
            parts: list[bytes] = []
            for k, g in enumerate(row):
                if g < 0:
                    continue
                i = local.get(g)
                if i is None:
                    i = local[g] = len(values)
                    values.append(self.value_bytes[g])
                parts.append(_varint(k))
                parts.append(_varint(i))
            tags.append(b"".join(parts))
        return values, tags


_TYPE_FIELD = {1: b"\x18\x01", 2: b"\x18\x02", 3: b"\x18\x03"}


def layer_message(
    name: str,
    kinds: Sequence[int],
    chunks: Sequence[bytes],
    tags: TagTable,
    rows: IntArray,
    extent: int = EXTENT,
) -> bytes:
    """A Layer message of features given as (type, geometry bytes), with tags from `rows`.

    Features of type 0 (nothing drawable) are left out; an empty layer encodes to nothing.
    """
    keep = [i for i, kind in enumerate(kinds) if kind]
    if not keep:
        return b""
    value_bytes, packed_tags = tags.encode(rows[keep])
    out = [b"\x78\x02", _field(1, name.encode())]
    table = _VARINT_TABLE
    limit = len(table)
    for packed, i in zip(packed_tags, keep, strict=True):
        geometry = chunks[i]
        n_tags, n_geometry = len(packed), len(geometry)
        tags_len = table[n_tags] if n_tags < limit else _varint(n_tags)
        geometry_len = table[n_geometry] if n_geometry < limit else _varint(n_geometry)
        size = (1 + len(tags_len) + n_tags if n_tags else 0) + 3 + len(geometry_len) + n_geometry
        out.append(b"\x12")
        out.append(table[size] if size < limit else _varint(size))
        if n_tags:
            out += (b"\x12", tags_len, packed)
        out += (_TYPE_FIELD[kinds[i]], b"\x22", geometry_len, geometry)
    out.extend(tags.key_bytes)
    out.extend(value_bytes)
    out.append(b"\x28" + _varint(extent))
    return b"".join(out)


def encode_layer(layer: TileLayer) -> bytes:
    """One Layer message from tile-space geometries; a layer without features is nothing."""
    n = len(layer.properties)
    kinds, chunks = encode_chunks(np.asarray(layer.geometries, dtype=object))
    rows = np.arange(n, dtype=np.int64)
    return layer_message(layer.name, kinds, chunks, TagTable(layer.properties), rows, layer.extent)


def tile_message(layers: Iterable[bytes]) -> bytes:
    """A tile from encoded Layer messages (empty ones skipped)."""
    return b"".join(_field(3, layer) for layer in layers if layer)


def encode_tile(layers: Iterable[TileLayer]) -> bytes:
    """A whole tile: its non-empty layers in order."""
    return tile_message(encode_layer(layer) for layer in layers)
