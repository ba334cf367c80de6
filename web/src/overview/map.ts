// The overview's map part: MapLibre on the platform's own style and tiles (as /map/embed), fitted
// to the area, the area outlined, its child areas clickable to drill down to their overviews.
// The map element is kept across part swaps (hx-preserve); only the case layer is refreshed.
import { Map as MapLibreMap, setWorkerUrl } from "maplibre-gl";
import type { FilterSpecification, VectorTileSource } from "maplibre-gl";
import { FONT_FAMILY, fetchStyle } from "../map-common";
import type { Style } from "../map-common";

/** The shortest time between two reloads of the case tiles. */
const REFRESH_MS = 3000;

interface MapSpec {
  bounds: [number, number, number, number] | null;
  layers: string[];
  child_layer: string | null;
  child_filter: [string, string] | null;
  highlight: string;
  highlight_layer: string;
}

interface ChildLink {
  code: string;
  href: string | null;
}

/** The child areas and their links, as the latest map part lists them. */
function childLinks(): Map<string, string> {
  // A data attribute, not a JSON <script>: HTMX drops script elements from swapped parts.
  const holder = document.querySelector<HTMLElement>("#part-map .ov-map-children");
  const links = new Map<string, string>();
  try {
    for (const child of JSON.parse(holder?.dataset["children"] ?? "[]") as ChildLink[]) {
      if (child.href) {
        links.set(child.code, child.href);
      }
    }
  } catch {
    // a malformed list leaves the map without drill-down rather than broken
  }
  return links;
}

function childFills(map: MapLibreMap, source: string | null): string[] {
  if (source === null) {
    return [];
  }
  return map
    .getStyle()
    .layers.filter((layer) => layer.type === "fill" && "source" in layer && layer.source === source)
    .map((layer) => layer.id);
}

/** Draw only the area's own children (a town's communities, a community's grids). */
function limitChildren(map: MapLibreMap, spec: MapSpec): void {
  if (spec.child_layer === null || spec.child_filter === null) {
    return;
  }
  const [property, value] = spec.child_filter;
  const mine: FilterSpecification = ["==", ["get", property], value];
  for (const layer of map.getStyle().layers) {
    if (!("source" in layer) || layer.source !== spec.child_layer || layer.id.endsWith("-highlight")) {
      continue;
    }
    const current = map.getFilter(layer.id);
    map.setFilter(layer.id, current ? (["all", current, mine] as FilterSpecification) : mine);
  }
}

export interface OverviewMap {
  map: MapLibreMap;
  refresh(): void;
  remove(): void;
}

/** Start the map in its element; null when the element has no usable spec. */
export async function startMap(
  element: HTMLElement,
  styleUrl: string,
  workerUrl: string,
  pixelRatio: number,
  navigate: (href: string) => void,
): Promise<OverviewMap | null> {
  const spec = JSON.parse(element.dataset["map"] ?? "null") as MapSpec | null;
  if (spec === null) {
    return null;
  }
  setWorkerUrl(workerUrl);
  const style = await fetchStyle(`${styleUrl}?layers=${spec.layers.join(",")}`);
  const map = new MapLibreMap({
    container: element,
    style: style as unknown as Style,
    ...(spec.bounds ? { bounds: spec.bounds, fitBoundsOptions: { padding: 24 } } : {}),
    attributionControl: false,
    dragRotate: false,
    pitchWithRotate: false,
    maxPitch: 0,
    pixelRatio,
    localIdeographFontFamily: FONT_FAMILY,
  });
  (window as unknown as { cityopsOverviewMap: MapLibreMap }).cityopsOverviewMap = map;
  map.once("load", () => {
    limitChildren(map, spec);
    const id = `${spec.highlight_layer}-highlight`;
    if (map.getLayer(id) !== undefined) {
      const filter: FilterSpecification = ["==", ["get", "code"], spec.highlight];
      map.setLayoutProperty(id, "visibility", "visible");
      map.setFilter(id, filter);
    }
  });
  map.on("idle", () => {
    element.dataset["mapState"] = "idle";
  });
  const hit = (point: { x: number; y: number }): string | null => {
    const layers = childFills(map, spec.child_layer);
    if (layers.length === 0) {
      return null;
    }
    const links = childLinks();
    for (const feature of map.queryRenderedFeatures([point.x, point.y], { layers })) {
      const href = links.get(String(feature.properties["code"] ?? ""));
      if (href !== undefined) {
        return href;
      }
    }
    return null;
  };
  map.on("click", (event) => {
    const href = hit(event.point);
    if (href !== null) {
      navigate(href);
    }
  });
  map.on("mousemove", (event) => {
    map.getCanvas().style.cursor = hit(event.point) !== null ? "pointer" : "";
  });
  // New case tiles after a case event: the same URLs with a fresh query string. At most one
  // reload per REFRESH_MS (the last notice of a burst is never lost: a trailing reload follows),
  // so a busy feed does not make a wall reload its tiles several times a second.
  let lastRefresh = 0;
  let pending: number | undefined;
  const reload = (): void => {
    pending = undefined;
    lastRefresh = Date.now();
    const source = map.getSource<VectorTileSource>("cases");
    const tiles = source?.tiles;
    if (source !== undefined && tiles !== undefined) {
      source.setTiles(tiles.map((url) => `${url.split("?")[0] ?? url}?v=${String(lastRefresh)}`));
    }
  };
  return {
    map,
    refresh(): void {
      if (pending === undefined) {
        pending = window.setTimeout(reload, Math.max(0, lastRefresh + REFRESH_MS - Date.now()));
      }
    },
    remove(): void {
      window.clearTimeout(pending);
      map.remove();
    },
  };
}
