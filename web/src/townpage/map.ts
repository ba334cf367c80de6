// A map widget of a town page: MapLibre on the layers the town chose, fitted to the town. The
// style and its tiles come through the page's own paths, which carry a link's token when the
// page was opened by link — no cookie or header is needed, so it works inside an iframe.
import { Map as MapLibreMap, setWorkerUrl } from "maplibre-gl";
import type { VectorTileSource } from "maplibre-gl";
import { FONT_FAMILY, fetchStyle } from "../map-common";
import type { Style } from "../map-common";

interface MapWidgetSpec {
  style: string;
  bounds: [number, number, number, number] | null;
}

export interface WidgetMap {
  refresh(): void;
  resize(): void;
  remove(): void;
}

/** Start the map of one widget element. */
export async function startWidgetMap(element: HTMLElement, workerUrl: string): Promise<WidgetMap> {
  const spec = JSON.parse(element.dataset["map"] ?? "null") as MapWidgetSpec;
  setWorkerUrl(workerUrl);
  const style = await fetchStyle(spec.style);
  const map = new MapLibreMap({
    container: element,
    style: style as unknown as Style,
    ...(spec.bounds ? { bounds: spec.bounds, fitBoundsOptions: { padding: 16 } } : {}),
    attributionControl: false,
    dragRotate: false,
    pitchWithRotate: false,
    maxPitch: 0,
    localIdeographFontFamily: FONT_FAMILY,
  });
  map.on("idle", () => {
    element.dataset["mapState"] = "idle";
  });
  return {
    refresh(): void {
      // New case tiles after a case event: the same URLs with a fresh stamp.
      const source = map.getSource<VectorTileSource>("cases");
      const tiles = source?.tiles;
      if (source !== undefined && tiles !== undefined) {
        const stamp = `v=${Date.now()}`;
        source.setTiles(
          tiles.map((url) => {
            const bare = url.replace(/[?&]v=[0-9]+$/, "");
            return `${bare}${bare.includes("?") ? "&" : "?"}${stamp}`;
          }),
        );
      }
    },
    resize(): void {
      map.resize();
    },
    remove(): void {
      map.remove();
    },
  };
}
