"""The MapLibre style the platform serves: its own tile sources, an operations-centre theme.

Every URL in the style is the platform's own (built from the request's origin), and there is
no `glyphs` or `sprite` URL at all: MapLibre GL JS draws label text itself with the browser's
local fonts (TinySDF) when a style has no glyphs URL, so labels need no glyph PBFs and no font
request. The `text-font` stack names the CJK fonts found on the machines that show the map
(Noto Sans CJK SC from Debian's fonts-noto-cjk, Microsoft YaHei on Windows, PingFang SC on
macOS) and the browser's sans-serif after them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cityops.auth.principal import Principal
from cityops.geo.layers import GeometryKind, Layer, StyleLayer
from cityops.geo.org_layers import LABEL_FONTS

API = "/api/v1/map"
DRAWINGS = "drawings"
BACKGROUND = "#06101f"
HIGHLIGHT = "#ffd166"
NO_MATCH = ["==", ["get", "code"], "\u0000"]


def tile_url(origin: str, layer: str) -> str:
    """The absolute tile URL template of a layer on this platform."""
    return f"{origin}{API}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt"


def _source(origin: str, layer: Layer, bounds: Sequence[float] | None) -> dict[str, Any]:
    source: dict[str, Any] = {
        "type": "vector",
        "tiles": [tile_url(origin, layer.name)],
        "minzoom": layer.min_zoom,
        "maxzoom": layer.max_zoom,
        "attribution": "cityops",
    }
    if bounds is not None:
        source["bounds"] = list(bounds)
    return source


def _highlight(layer: Layer) -> StyleLayer:
    """A layer that outlines the features whose code the embedding page asks to highlight."""
    base = {"id": f"{layer.name}-highlight", "source": layer.name, "source-layer": layer.name}
    if layer.geometry is GeometryKind.POINT:
        paint = {
            "circle-radius": 9,
            "circle-color": "rgba(0,0,0,0)",
            "circle-stroke-color": HIGHLIGHT,
            "circle-stroke-width": 3,
        }
        return {**base, "type": "circle", "filter": NO_MATCH, "paint": paint}
    paint = {"line-color": HIGHLIGHT, "line-width": 4, "line-blur": 0.5}
    return {**base, "type": "line", "filter": NO_MATCH, "paint": paint}


def _drawing_layers(source: str) -> list[StyleLayer]:
    """User drawings from the GeoJSON source, coloured by their own style properties."""
    polygon = ["==", ["geometry-type"], "Polygon"]
    color = ["coalesce", ["get", "color"], "#ff4d4f"]
    width = ["coalesce", ["get", "width"], 3]
    dashed = ["==", ["get", "dashed"], True]
    return [
        {
            "id": f"{source}-fill",
            "type": "fill",
            "source": source,
            "filter": polygon,
            "paint": {
                "fill-color": color,
                "fill-opacity": ["coalesce", ["get", "fill_opacity"], 0.2],
            },
        },
        {
            "id": f"{source}-line",
            "type": "line",
            "source": source,
            "filter": ["all", ["!=", ["geometry-type"], "Point"], ["!", dashed]],
            "paint": {"line-color": color, "line-width": width},
        },
        {
            "id": f"{source}-line-dashed",
            "type": "line",
            "source": source,
            "filter": ["all", ["!=", ["geometry-type"], "Point"], dashed],
            "paint": {"line-color": color, "line-width": width, "line-dasharray": [2, 1.5]},
        },
        {
            "id": f"{source}-circle",
            "type": "circle",
            "source": source,
            "filter": ["==", ["geometry-type"], "Point"],
            "paint": {
                "circle-radius": ["+", 3, width],
                "circle-color": color,
                "circle-stroke-color": "#ffffff",
                "circle-stroke-width": 1.5,
            },
        },
        {
            "id": f"{source}-label",
            "type": "symbol",
            "source": source,
            "layout": {
                "text-field": ["get", "name"],
                "text-font": LABEL_FONTS,
                "text-size": 13,
                "text-offset": [0, 1.2],
                "text-anchor": "top",
            },
            "paint": {
                "text-color": "#ffe4e6",
                "text-halo-color": "#1f0a10",
                "text-halo-width": 1.6,
            },
        },
    ]


def build_style(
    origin: str,
    layers: Sequence[Layer],
    principal: Principal,
    *,
    drawings: bool,
    bounds: Sequence[float] | None,
    center: Sequence[float] | None,
    zoom: float = 10.0,
) -> dict[str, Any]:
    """The style JSON for the given layers (in drawing order), labels above every shape."""
    sources: dict[str, Any] = {layer.name: _source(origin, layer, bounds) for layer in layers}
    shapes: list[StyleLayer] = []
    symbols: list[StyleLayer] = []
    for layer in layers:
        for item in layer.style_layers(layer.name, principal):
            (symbols if item["type"] == "symbol" else shapes).append(item)
    highlights = [_highlight(layer) for layer in layers]
    if drawings:
        sources[DRAWINGS] = {"type": "geojson", "data": f"{origin}{API}/drawings"}
        drawn = _drawing_layers(DRAWINGS)
        shapes.extend(item for item in drawn if item["type"] != "symbol")
        symbols.extend(item for item in drawn if item["type"] == "symbol")
    background = {
        "id": "background",
        "type": "background",
        "paint": {"background-color": BACKGROUND},
    }
    style: dict[str, Any] = {
        "version": 8,
        "name": "cityops operations centre (dark)",
        "metadata": {
            "cityops:layers": [layer.name for layer in layers],
            "cityops:fonts": LABEL_FONTS,
            "cityops:labels": "drawn locally by the browser: no glyphs URL",
        },
        "zoom": zoom,
        "sources": sources,
        # Symbols placed last are placed first: the coarser layers' names win collisions.
        "layers": [background, *shapes, *highlights, *reversed(symbols)],
    }
    if center is not None:
        style["center"] = list(center)
    return style
