"""Vector tiles: tile arithmetic, cutting a layer's features into a tile, and the tile cache.

Tiles are EPSG:3857, extent 4096, buffer 64. Per zoom (once per data version for a
`FeatureTable`, per request for a dynamic batch) features are moved to that zoom's world pixels
(4096 per tile, y down: one integer grid shared by every tile of the zoom), simplified by half a
pixel of a 512 px tile and encoded. A tile then patches only the first point of each feature it
holds within `MARGIN` of its edges, and clips and encodes afresh only the features reaching
further. Polygon layers with labels also get a `labels` layer: one point per feature, in the
one tile that holds it, so a name is written once rather than once per tile the polygon crosses.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from cityops.geo.layers import FeatureBatch, GeometryKind, ObjectArray
from cityops.geo.map.mvt import (
    EXTENT,
    IntArray,
    SplitGeometries,
    TagTable,
    encode_chunks,
    encode_geometries,
    layer_message,
    split_geometries,
    tile_message,
    zigzag_varints,
)

#: Half the Web Mercator world, metres.
WORLD = 20037508.342789244
MAX_ZOOM = 22
#: Tile-space units drawn beyond each edge so lines and outlines join without seams.
BUFFER = 64
#: A feature whose box reaches no further than this beyond the tile is sent whole, unclipped:
#: renderers clip to the tile anyway, and its encoding is then shared by every tile of the zoom.
MARGIN = 1024
#: Douglas-Peucker tolerance in tile units: half a pixel of a 512 px tile.
SIMPLIFY = EXTENT / 512 / 2
#: Bump when the encoding or the tile content rules change, so old ETags stop matching.
TILE_FORMAT = "1"
LABELS_LAYER = "labels"
_MOVE_ONE = b"\x09"  # MoveTo with a count of 1
_EMPTY = shapely.Point()
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"

_POLYGONAL = (3, 6)
_LINEAR = (1, 5)
_PUNCTUAL = (0, 4)
_FAMILY = {
    GeometryKind.POLYGON: _POLYGONAL,
    GeometryKind.LINE: _LINEAR,
    GeometryKind.POINT: _PUNCTUAL,
}


class TileError(ValueError):
    """Tile coordinates that name no tile; the message says which part is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_tile(z: int, x: int, y: int) -> None:
    """Refuse z/x/y that name no tile."""
    if not 0 <= z <= MAX_ZOOM:
        raise TileError("z", f"zoom {z} is outside 0..{MAX_ZOOM}")
    size = 1 << z
    if not 0 <= x < size:
        raise TileError("x", f"x {x} is outside 0..{size - 1} at zoom {z}")
    if not 0 <= y < size:
        raise TileError("y", f"y {y} is outside 0..{size - 1} at zoom {z}")


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The tile's box in Web Mercator metres: (minx, miny, maxx, maxy)."""
    span = 2 * WORLD / (1 << z)
    minx = -WORLD + x * span
    maxy = WORLD - y * span
    return minx, maxy - span, minx + span, maxy


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The x and y of the zoom-z tile that holds a WGS84 point."""
    n = 1 << z
    lat_rad = math.radians(max(-85.0511, min(85.0511, lat)))
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(lat_rad)) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tiles_covering(
    west: float, south: float, east: float, north: float, z: int
) -> list[tuple[int, int]]:
    """Every zoom-z tile (x, y) that a WGS84 box touches."""
    x0, y0 = tile_of(west, north, z)
    x1, y1 = tile_of(east, south, z)
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def query_box(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The tile's box grown by the buffer: what a layer is asked for."""
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    pad = (maxx - minx) * BUFFER / EXTENT
    return minx - pad, miny - pad, maxx + pad, maxy + pad


def _to_world_pixels(geometries: ObjectArray, z: int) -> ObjectArray:
    """Web Mercator geometries in zoom-z world pixels: 4096 per tile, origin top left, y down."""
    scale = EXTENT * (1 << z) / (2 * WORLD)
    offset = np.array([WORLD, -WORLD])
    factor = np.array([scale, -scale])
    moved: ObjectArray = shapely.transform(geometries, lambda c: (c + offset) * factor)
    return moved


@dataclass(frozen=True, slots=True)
class ZoomEncoding:
    """A layer's features prepared for every tile of one zoom (built once per data version).

    Geometries are simplified once in world pixels, where every tile of the zoom shares one
    integer grid; a feature a tile holds whole then differs between tiles only in its first
    point, so cutting a tile patches that point and clips just the features crossing an edge.
    """

    pixels: ObjectArray
    bounds: NDArray[np.float64]
    split: SplitGeometries
    labels: IntArray | None


def build_zoom(
    mercator: ObjectArray, labels: ObjectArray | None, kind: GeometryKind, z: int
) -> ZoomEncoding:
    """Project, simplify and encode features for zoom z."""
    pixels = _to_world_pixels(mercator, z)
    if kind is not GeometryKind.POINT:
        pixels = shapely.simplify(pixels, SIMPLIFY, preserve_topology=False)
    pixels = _keep_family(pixels, kind)
    split = split_geometries(encode_geometries(pixels), len(pixels))
    bounds = shapely.bounds(pixels)
    label_px = None
    if labels is not None:
        label_px = np.rint(shapely.get_coordinates(_to_world_pixels(labels, z))).astype(np.int64)
    return ZoomEncoding(pixels, bounds, split, label_px)


def _keep_family(geometries: ObjectArray, kind: GeometryKind) -> ObjectArray:
    """Drop what clipping or simplifying left of another dimension (empty results stay)."""
    type_ids = shapely.get_type_id(geometries)
    mixed = type_ids == 7
    if not mixed.any():
        return geometries
    odd = np.flatnonzero(mixed & ~shapely.is_empty(geometries))
    out = geometries.copy()
    for i in odd.tolist():
        parts = shapely.get_parts(geometries[i])
        parts = parts[np.isin(shapely.get_type_id(parts), _FAMILY[kind])]
        out[i] = shapely.union_all(parts) if len(parts) else _EMPTY
    return out


def _zoom(
    batch: FeatureBatch, kind: GeometryKind, z: int
) -> tuple[ZoomEncoding, TagTable, IntArray]:
    """The zoom encoding and tag table for a batch: its table's (built once) or its own."""
    if batch.source is not None:
        table, index = batch.source
        derived = table.derived
        encoding = derived.get(("zoom", z))
        if encoding is None:
            encoding = derived[("zoom", z)] = build_zoom(
                table.batch.mercator, table.batch.labels, kind, z
            )
        tags = derived.get("tags")
        if tags is None:
            tags = derived["tags"] = TagTable(table.batch.properties)
        return encoding, tags, index
    encoding = build_zoom(batch.mercator, batch.labels, kind, z)
    return encoding, TagTable(batch.properties), np.arange(len(batch), dtype=np.int64)


def _shapes(
    enc: ZoomEncoding, index: IntArray, kind: GeometryKind, x: int, y: int
) -> tuple[list[int], list[bytes]]:
    """Each feature's type and geometry bytes in tile (x, y)."""
    ox, oy = x * EXTENT, y * EXTENT
    b = enc.bounds[index] - [ox, oy, ox, oy]
    whole = (b[:, :2] >= -MARGIN).all(axis=1) & (b[:, 2:] <= EXTENT + MARGIN).all(axis=1)
    low_x, low_y, high_x, high_y = (
        ox - BUFFER,
        oy - BUFFER,
        ox + EXTENT + BUFFER,
        oy + EXTENT + BUFFER,
    )
    split = enc.split
    kinds = [0] * len(index)
    chunks = [b""] * len(index)
    inside = np.flatnonzero(whole)
    origin = np.array([ox, oy], dtype=np.int64)
    head = zigzag_varints((split.head[index[inside]] - origin).ravel())
    first, tail, split_kinds = split.first, split.tail, split.kinds
    for n, (j, i) in enumerate(zip(inside.tolist(), index[inside].tolist(), strict=True)):
        if split_kinds[i]:
            kinds[j] = split_kinds[i]
            chunks[j] = b"".join((first[i], head[2 * n], head[2 * n + 1], tail[i]))
    crossing = np.flatnonzero(~whole)
    if len(crossing):
        clipped = shapely.clip_by_rect(enc.pixels[index[crossing]], low_x, low_y, high_x, high_y)
        origin = np.array([ox, oy], dtype=np.float64)
        moved = _keep_family(shapely.transform(clipped, lambda c: c - origin), kind)
        cut_kinds, cut_chunks = encode_chunks(moved)
        for j, k, chunk in zip(crossing.tolist(), cut_kinds, cut_chunks, strict=True):
            kinds[j], chunks[j] = k, chunk
    return kinds, chunks


def _labels(
    enc: ZoomEncoding, index: IntArray, x: int, y: int
) -> tuple[list[int], list[bytes], IntArray]:
    """Label points inside the tile proper (no buffer: each label is in exactly one tile)."""
    assert enc.labels is not None
    ox, oy = x * EXTENT, y * EXTENT
    p = enc.labels[index] - np.array([ox, oy], dtype=np.int64)
    inside = np.flatnonzero(
        (p[:, 0] >= 0) & (p[:, 0] < EXTENT) & (p[:, 1] >= 0) & (p[:, 1] < EXTENT)
    )
    pairs = zigzag_varints(p[inside].ravel())
    chunks = [_MOVE_ONE + pairs[2 * n] + pairs[2 * n + 1] for n in range(len(inside))]
    return [1] * len(chunks), chunks, index[inside]


def render_tile(
    name: str, kind: GeometryKind, batch: FeatureBatch, z: int, x: int, y: int
) -> bytes:
    """The encoded tile of one layer's features (and their label points)."""
    if len(batch) == 0:
        return b""
    enc, tags, index = _zoom(batch, kind, z)
    kinds, chunks = _shapes(enc, index, kind, x, y)
    layers = [layer_message(name, kinds, chunks, tags, index)]
    if enc.labels is not None:
        label_kinds, label_chunks, rows = _labels(enc, index, x, y)
        layers.append(layer_message(LABELS_LAYER, label_kinds, label_chunks, tags, rows))
    return tile_message(layers)


@dataclass(frozen=True, slots=True)
class TileKey:
    """What a cached tile depends on."""

    layer: str
    z: int
    x: int
    y: int
    version: str
    scope: str

    def etag(self) -> str:
        """A strong entity tag: a hash of the key and the tile format."""
        raw = "\x1f".join(
            [
                TILE_FORMAT,
                self.layer,
                str(self.z),
                str(self.x),
                str(self.y),
                self.version,
                self.scope,
            ]
        )
        return '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'


class TileCache:
    """A thread-safe LRU of encoded tiles, bounded by entries and by bytes."""

    def __init__(self, max_entries: int = 20_000, max_bytes: int = 128 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[TileKey, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: TileKey) -> bytes | None:
        """A cached tile, marked as recently used."""
        with self._lock:
            data = self._entries.get(key)
            if data is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return data

    def put(self, key: TileKey, data: bytes) -> None:
        """Keep a tile, evicting the least recently used ones beyond the bounds."""
        if len(data) > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._entries[key] = data
            self._bytes += len(data)
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped)

    def clear(self) -> None:
        """Drop every tile."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        """Bytes held."""
        return self._bytes


def etag_matches(header: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names the entity tag (weak comparison, RFC 9110)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))
