"""The map platform's layer registry: what a map layer is, and where modules add theirs.

A layer answers three questions for the tile, feature and style endpoints: which data version is
current (`version`), which features lie in a box for a caller (`features`, always limited to the
caller's data scope), and how to draw them (`style_layers`). Tiles are cached under
(layer, z, x, y, version, `scope_key(principal)`), so a layer's `version` must change whenever
its data does, and its `scope_key` must differ whenever two callers may see different features.

Adding a layer from another module (IoT devices, cameras, field resources …) — subclass
`BaseLayer`, query your own tables through your repository with the caller's scope, and
name the instance in your module's manifest (`map_layers`); the app puts it in the
registry when it is built::

    from shapely import points
    from cityops.geo.layers import BaseLayer, FeatureBatch, GeometryKind

    class DeviceLayer(BaseLayer):
        name = "devices"                      # [a-z][a-z0-9_]*, the URL segment
        title = "物联感知设备"
        geometry = GeometryKind.POINT
        min_zoom = 10
        order = 310                           # draw order: polygons 1xx, lines 2xx, points 3xx
        color = "#34d399"

        async def version(self, ctx):         # cheap: e.g. count and max(updated_at)
            return await device_repository.version(ctx.sessions)

        async def features(self, ctx, bbox, principal, version):  # bbox None: everything
            box = bbox.wgs84 if bbox is not None else None
            rows = await device_repository.in_box(ctx.sessions, box, principal.scope)
            return FeatureBatch.from_wgs84(
                points([r.lon for r in rows], [r.lat for r in rows]),
                [{"code": r.code, "name": r.name, "status": r.status} for r in rows],
            )

    LAYER = DeviceLayer()   # module.py: Module(..., map_layers=("cityops.iot.layers:LAYER",))

Every feature should carry `code` and `name` properties: the embeddable map reports them on a
click and highlights by `code`.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.strtree import STRtree
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.config import Settings
from cityops.geo import crs as crs_module
from cityops.geo.map.mvt import PropertyValue
from cityops.kit.scope import DataScope
from cityops.org.tree import OrgTreeCache

ObjectArray = NDArray[np.object_]
FeatureProperties = Mapping[str, PropertyValue | None]
StyleLayer = dict[str, Any]

#: The largest latitude Web Mercator draws; features are clamped to it before projecting.
MAX_LATITUDE = 85.0511287798066
_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


class GeometryKind(StrEnum):
    """What a layer's features are."""

    POINT = "Point"
    LINE = "LineString"
    POLYGON = "Polygon"


class BBox:
    """A query box in Web Mercator metres, and in WGS84 degrees on demand."""

    __slots__ = ("_wgs84", "mercator")

    def __init__(
        self,
        mercator: tuple[float, float, float, float],
        wgs84: tuple[float, float, float, float] | None = None,
    ) -> None:
        self.mercator = mercator
        self._wgs84 = wgs84

    @property
    def wgs84(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in degrees."""
        if self._wgs84 is None:
            minx, miny, maxx, maxy = self.mercator
            xs, ys = crs_module.transform_array(
                [minx, maxx], [miny, maxy], crs_module.CRS.WEB_MERCATOR, crs_module.CRS.WGS84
            )
            self._wgs84 = (float(xs[0]), float(ys[0]), float(xs[1]), float(ys[1]))
        return self._wgs84

    @classmethod
    def from_wgs84(cls, west: float, south: float, east: float, north: float) -> BBox:
        """A box from WGS84 bounds."""
        south, north = (max(-MAX_LATITUDE, min(MAX_LATITUDE, v)) for v in (south, north))
        xs, ys = crs_module.transform_array(
            [west, east], [south, north], crs_module.CRS.WGS84, crs_module.CRS.WEB_MERCATOR
        )
        return cls(
            (float(xs[0]), float(ys[0]), float(xs[1]), float(ys[1])), (west, south, east, north)
        )

    @classmethod
    def from_mercator(cls, minx: float, miny: float, maxx: float, maxy: float) -> BBox:
        """A box from Web Mercator bounds."""
        return cls((minx, miny, maxx, maxy))


def to_mercator(geometries: Sequence[object] | ObjectArray) -> ObjectArray:
    """WGS84 geometries projected to Web Mercator metres, in one vectorised pass."""
    array = np.asarray(geometries, dtype=object)
    if len(array) == 0:
        return array

    def project(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        lat = np.clip(coords[:, 1], -MAX_LATITUDE, MAX_LATITUDE)
        xs, ys = crs_module.transform_array(
            coords[:, 0], lat, crs_module.CRS.WGS84, crs_module.CRS.WEB_MERCATOR
        )
        return np.column_stack([xs, ys])

    projected: ObjectArray = shapely.transform(array, project)
    return projected


def label_points(geometries: ObjectArray) -> ObjectArray:
    """Where to write each polygon's name: its centroid when inside, else a point on it."""
    if len(geometries) == 0:
        return geometries
    centroids = shapely.centroid(geometries)
    inside = shapely.contains(geometries, centroids)
    placed: ObjectArray = np.where(inside, centroids, shapely.point_on_surface(geometries))
    return placed


@dataclass(frozen=True, slots=True)
class FeatureBatch:
    """Features of one layer: WGS84 and Web Mercator twins, properties, optional label points.

    `source` is the table and positions a batch was taken from; the tiler then reuses what it
    prepared for that table (per-zoom encodings, tags) instead of starting from the geometries.
    """

    wgs84: ObjectArray
    mercator: ObjectArray
    properties: Sequence[FeatureProperties]
    labels: ObjectArray | None = None
    source: tuple[FeatureTable, NDArray[np.int64]] | None = None

    @classmethod
    def from_wgs84(
        cls,
        geometries: Sequence[object] | ObjectArray,
        properties: Sequence[FeatureProperties],
        *,
        labels: bool = False,
    ) -> FeatureBatch:
        """Project WGS84 geometries (Shapely) for tiles; label points for polygons on request."""
        wgs84 = np.asarray(geometries, dtype=object)
        if len(wgs84) != len(properties):
            raise ValueError("one property mapping per geometry is required")
        mercator = to_mercator(wgs84)
        return cls(wgs84, mercator, list(properties), label_points(mercator) if labels else None)

    @classmethod
    def empty(cls) -> FeatureBatch:
        """No features."""
        none = np.empty(0, dtype=object)
        return cls(none, none, [], None)

    def __len__(self) -> int:
        return len(self.properties)

    def take(self, index: NDArray[np.int64]) -> FeatureBatch:
        """The features at the given positions."""
        source = None if self.source is None else (self.source[0], self.source[1][index])
        return FeatureBatch(
            self.wgs84[index],
            self.mercator[index],
            [self.properties[i] for i in index.tolist()],
            None if self.labels is None else self.labels[index],
            source,
        )


class FeatureTable:
    """A layer's features for one data version with a spatial index, ready to cut into tiles."""

    def __init__(self, batch: FeatureBatch, owners: Sequence[str], *, scoped: bool = True) -> None:
        self.batch = FeatureBatch(
            batch.wgs84,
            batch.mercator,
            batch.properties,
            batch.labels,
            (self, np.arange(len(batch), dtype=np.int64)),
        )
        self.owners = list(owners)
        self.scoped = scoped
        self.tree = STRtree(batch.mercator)
        self._masks: OrderedDict[frozenset[str], NDArray[np.bool_]] = OrderedDict()
        #: What the tiler derives from this table once (per-zoom encodings, tags), by key.
        self.derived: dict[Hashable, Any] = {}

    def __len__(self) -> int:
        return len(self.batch)

    def visible(self, scope: DataScope) -> NDArray[np.bool_]:
        """Which features a scope may see (remembered per scope)."""
        if not self.scoped:
            return np.ones(len(self), dtype=bool)
        mask = self._masks.get(scope.prefixes)
        if mask is None:
            mask = np.fromiter((scope.allows(o) for o in self.owners), bool, len(self.owners))
            self._masks[scope.prefixes] = mask
            if len(self._masks) > 256:
                self._masks.popitem(last=False)
        return mask

    def select(self, bbox: BBox | None, scope: DataScope) -> FeatureBatch:
        """The visible features that intersect the box (all visible ones without a box)."""
        if bbox is None:
            index = np.arange(len(self), dtype=np.int64)
        else:
            index = np.sort(self.tree.query(shapely.box(*bbox.mercator))).astype(np.int64)
        if len(index) == 0:
            return self.batch.take(index)
        index = index[self.visible(scope)[index]]
        return self.batch.take(index)


@dataclass(frozen=True, slots=True)
class LayerContext:
    """What a layer may use to read its data; `store` keeps per-app caches of layers."""

    sessions: async_sessionmaker[AsyncSession]
    tree: OrgTreeCache
    settings: Settings
    store: dict[str, Any] = field(default_factory=dict)


class Layer(Protocol):
    """A map layer served as vector tiles and GeoJSON features."""

    name: str
    title: str
    min_zoom: int
    max_zoom: int
    geometry: GeometryKind
    labels: bool
    order: int

    def visible_to(self, principal: Principal) -> bool:
        """Whether the caller may use this layer at all."""
        ...

    def scope_key(self, principal: Principal) -> str:
        """A key equal for two callers exactly when they see the same features."""
        ...

    async def version(self, ctx: LayerContext) -> str:
        """The current data version; it changes whenever the features do."""
        ...

    async def features(
        self, ctx: LayerContext, bbox: BBox | None, principal: Principal, version: str
    ) -> FeatureBatch:
        """The features in the box (all without one) that the caller may see."""
        ...

    def style_layers(self, source: str, principal: Principal) -> list[StyleLayer]:
        """MapLibre style layers that draw this layer from `source` for the caller."""
        ...


class BaseLayer:
    """Defaults for a layer: readable with org.read, scoped by the caller's prefixes."""

    name: str
    title: str
    min_zoom: int = 0
    max_zoom: int = 16
    geometry: GeometryKind = GeometryKind.POINT
    labels: bool = False
    order: int = 300
    color: str = "#38bdf8"

    def visible_to(self, principal: Principal) -> bool:
        """Readers of the org tree may use the layer."""
        return principal.can(Perm.ORG_READ)

    def scope_key(self, principal: Principal) -> str:
        """The caller's scope prefixes, sorted."""
        return scope_key(principal.scope)

    async def version(self, ctx: LayerContext) -> str:
        """The data version; override it."""
        raise NotImplementedError

    async def features(
        self, ctx: LayerContext, bbox: BBox | None, principal: Principal, version: str
    ) -> FeatureBatch:
        """The features; override it."""
        raise NotImplementedError

    def style_layers(self, source: str, principal: Principal) -> list[StyleLayer]:
        """A plain drawing for the geometry kind in the layer's colour."""
        return default_style_layers(source, self.name, self.geometry, self.color)


def scope_key(scope: DataScope) -> str:
    """A scope as a stable string."""
    return ",".join(sorted(scope.prefixes)) or "-"


def default_style_layers(
    source: str, source_layer: str, geometry: GeometryKind, color: str
) -> list[StyleLayer]:
    """Circles, lines or fills with outlines, in one colour."""
    base = {"source": source, "source-layer": source_layer}
    if geometry is GeometryKind.POINT:
        paint = {
            "circle-radius": 5,
            "circle-color": color,
            "circle-stroke-color": "#0b1220",
            "circle-stroke-width": 1.5,
        }
        return [{"id": f"{source}-circle", "type": "circle", **base, "paint": paint}]
    if geometry is GeometryKind.LINE:
        paint = {"line-color": color, "line-width": 2}
        return [{"id": f"{source}-line", "type": "line", **base, "paint": paint}]
    return [
        {
            "id": f"{source}-fill",
            "type": "fill",
            **base,
            "paint": {"fill-color": color, "fill-opacity": 0.15},
        },
        {
            "id": f"{source}-line",
            "type": "line",
            **base,
            "paint": {"line-color": color, "line-width": 1},
        },
    ]


class LayerRegistry:
    """The layers the platform serves, by name; modules register theirs at import or startup."""

    def __init__(self) -> None:
        self._layers: dict[str, Layer] = {}

    def register(self, layer: Layer, *, replace: bool = False) -> Layer:
        """Add a layer; a second layer of the same name is refused unless `replace`."""
        if not _NAME.fullmatch(layer.name):
            raise ValueError(f"layer name {layer.name!r} is not [a-z][a-z0-9_]{{0,31}}")
        if layer.name in self._layers and not replace:
            raise ValueError(f"a layer named {layer.name!r} is already registered")
        if not 0 <= layer.min_zoom <= layer.max_zoom <= 22:
            raise ValueError(f"layer {layer.name!r}: zooms must satisfy 0 <= min <= max <= 22")
        self._layers[layer.name] = layer
        return layer

    def unregister(self, name: str) -> None:
        """Remove a layer; unknown names are ignored."""
        self._layers.pop(name, None)

    def get(self, name: str) -> Layer | None:
        """A layer by name, or None."""
        return self._layers.get(name)

    def __iter__(self) -> Iterator[Layer]:
        return iter(sorted(self._layers.values(), key=lambda layer: (layer.order, layer.name)))

    def __contains__(self, name: object) -> bool:
        return name in self._layers

    def names(self) -> list[str]:
        """Registered names in drawing order."""
        return [layer.name for layer in self]


#: The process-wide registry the tile, feature and style endpoints serve from.
registry = LayerRegistry()
