// The embeddable district map (/map/embed): MapLibre on the platform's own style and tiles, and
// the postMessage API a town portal drives it with. Nothing here requests another origin: the
// style, tiles, worker and coordinate conversions all come from the page's own origin, and the
// token travels only to that origin.
import { Map as MapLibreMap, setWorkerUrl } from "maplibre-gl";
import type { MapGeoJSONFeature, MapOptions, RequestParameters } from "maplibre-gl";
import { FONT_FAMILY, fetchStyle } from "./map-common";
import type { Style, StyleDoc } from "./map-common";

/** What the server hands the page in #cityops-map-config. */
interface EmbedConfig {
  origin: string;
  style: string;
  transform: string;
  workerUrl: string;
  token: string | null;
  allowedOrigins: string[];
  layers: string[];
  center: [number, number] | null;
  zoom: number | null;
  crs: string;
  bounds: [number, number, number, number] | null;
}

type Lonlat = [number, number];

/** Messages a parent page may send. */
type Command =
  | { type: "cityops:setCenter"; center: Lonlat; zoom?: number }
  | { type: "cityops:showLayer"; layer: string }
  | { type: "cityops:hideLayer"; layer: string }
  | { type: "cityops:highlight"; layer: string; code: string | null };

const WGS84 = new Set(["wgs84", "cgcs2000"]);
type Filter = Parameters<MapLibreMap["setFilter"]>[1];
const HIGHLIGHT_NONE: Filter = ["==", ["get", "code"], "\u0000"];

function readConfig(): EmbedConfig {
  const element = document.getElementById("cityops-map-config");
  if (element === null || element.textContent === null) {
    throw new Error("map configuration missing");
  }
  return JSON.parse(element.textContent) as EmbedConfig;
}

const config = readConfig();
const allowed = new Set(config.allowedOrigins);

/** Headers for a request to the platform: the token when the page was given one. */
function authHeaders(): Record<string, string> {
  return config.token ? { Authorization: `Bearer ${config.token}` } : {};
}

/** Whether a URL is on this platform's origin (the only place the token may go). */
function isOwn(url: string): boolean {
  try {
    return new URL(url, window.location.href).origin === config.origin;
  } catch {
    return false;
  }
}

function transformRequest(url: string): RequestParameters {
  return isOwn(url) ? { url, headers: authHeaders(), credentials: "same-origin" } : { url };
}

/** Convert points between the page's `crs` and WGS84 through the platform's transform API. */
async function convert(points: Lonlat[], from: string, to: string): Promise<Lonlat[]> {
  if (from === to || (WGS84.has(from) && WGS84.has(to))) {
    return points;
  }
  const reply = await fetch(config.transform, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...authHeaders() },
    credentials: "same-origin",
    body: JSON.stringify({ from, to, points }),
  });
  if (!reply.ok) {
    throw new Error(`coordinate conversion failed (${reply.status})`);
  }
  const body = (await reply.json()) as { points: Lonlat[] };
  return body.points;
}

/** The origin of the page framing us, when the browser tells and it is allowed. */
function parentOrigin(): string | null {
  const ancestors = window.location.ancestorOrigins;
  if (ancestors !== undefined && ancestors.length > 0) {
    const first = ancestors.item(0);
    return first !== null && allowed.has(first) ? first : null;
  }
  try {
    const referrer = document.referrer ? new URL(document.referrer).origin : "";
    return allowed.has(referrer) ? referrer : null;
  } catch {
    return null;
  }
}

/** Post an event to the framing page, only if it is one of the allowed origins. */
function emit(message: Record<string, unknown>): void {
  if (window.parent === window) {
    return;
  }
  const target = parentOrigin();
  if (target !== null) {
    window.parent.postMessage(message, target);
  }
}

function showError(text: string): void {
  const element = document.getElementById("map-error");
  if (element !== null) {
    element.textContent = text;
    element.hidden = false;
  }
}

async function loadStyle(): Promise<StyleDoc> {
  const style = await fetchStyle(config.style, authHeaders());
  const visible = new Set(config.layers);
  for (const layer of style.layers) {
    if (layer.source !== undefined && !visible.has(layer.source)) {
      layer.layout = { ...(layer.layout ?? {}), visibility: "none" };
    }
  }
  return style;
}

function layersOf(map: MapLibreMap, source: string): string[] {
  return map
    .getStyle()
    .layers.filter((layer) => "source" in layer && layer.source === source)
    .map((layer) => layer.id);
}

function visibleSources(map: MapLibreMap): Set<string> {
  const shown = new Set<string>();
  for (const layer of map.getStyle().layers) {
    if ("source" in layer && map.getLayoutProperty(layer.id, "visibility") !== "none") {
      shown.add(layer.source);
    }
  }
  return shown;
}

/** Layers a click can hit: fills and circles, highlights excluded, topmost first. */
function clickable(map: MapLibreMap): string[] {
  return map
    .getStyle()
    .layers.filter((layer) => (layer.type === "fill" || layer.type === "circle") && !layer.id.endsWith("-highlight"))
    .map((layer) => layer.id);
}

/** Show the approximate-boundary notice and the synthetic legend while such features are drawn. */
function updateNotices(map: MapLibreMap): void {
  const fills = clickable(map).filter((id) => map.getLayoutProperty(id, "visibility") !== "none");
  const rendered = fills.length > 0 ? map.queryRenderedFeatures({ layers: fills }) : [];
  const approximate = rendered.some((feature) => feature.properties["approximate"] === true);
  const synthetic = rendered.some((feature) => feature.properties["synthetic"] === true);
  const notice = document.getElementById("approximate-notice");
  if (notice !== null) {
    notice.hidden = !approximate;
  }
  const legend = document.getElementById("legend-synthetic");
  if (legend !== null) {
    legend.hidden = !synthetic;
  }
  const shown = visibleSources(map);
  for (const key of document.querySelectorAll<HTMLElement>("[data-layer]")) {
    key.hidden = !shown.has(key.dataset["layer"] ?? "");
  }
}

function setVisible(map: MapLibreMap, source: string, visible: boolean): boolean {
  const ids = layersOf(map, source);
  for (const id of ids) {
    map.setLayoutProperty(id, "visibility", visible ? "visible" : "none");
  }
  return ids.length > 0;
}

function highlight(map: MapLibreMap, layer: string, code: string | null): boolean {
  const id = `${layer}-highlight`;
  if (map.getLayer(id) === undefined) {
    return false;
  }
  map.setLayoutProperty(id, "visibility", "visible");
  const filter: Filter = code === null ? HIGHLIGHT_NONE : ["==", ["get", "code"], code];
  map.setFilter(id, filter);
  return true;
}

function isLonlat(value: unknown): value is Lonlat {
  return Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === "number" && Number.isFinite(v));
}

/** A message from an allowed origin, checked field by field; anything else is ignored. */
function parseCommand(data: unknown): Command | null {
  if (typeof data !== "object" || data === null) {
    return null;
  }
  const message = data as Record<string, unknown>;
  switch (message["type"]) {
    case "cityops:setCenter": {
      const zoom = message["zoom"];
      if (!isLonlat(message["center"]) || (zoom !== undefined && (typeof zoom !== "number" || zoom < 0 || zoom > 22))) {
        return null;
      }
      return zoom === undefined
        ? { type: "cityops:setCenter", center: message["center"] }
        : { type: "cityops:setCenter", center: message["center"], zoom };
    }
    case "cityops:showLayer":
    case "cityops:hideLayer":
      return typeof message["layer"] === "string" ? { type: message["type"], layer: message["layer"] } : null;
    case "cityops:highlight": {
      const code = message["code"];
      if (typeof message["layer"] !== "string" || (code !== null && typeof code !== "string")) {
        return null;
      }
      return { type: "cityops:highlight", layer: message["layer"], code };
    }
    default:
      return null;
  }
}

async function obey(map: MapLibreMap, command: Command): Promise<void> {
  switch (command.type) {
    case "cityops:setCenter": {
      const [center] = await convert([command.center], config.crs, "wgs84");
      if (center !== undefined) {
        map.jumpTo(command.zoom === undefined ? { center } : { center, zoom: command.zoom });
      }
      return;
    }
    case "cityops:showLayer":
    case "cityops:hideLayer":
      if (!setVisible(map, command.layer, command.type === "cityops:showLayer")) {
        emit({ type: "cityops:error", message: `unknown layer ${command.layer}` });
      }
      return;
    case "cityops:highlight":
      if (!highlight(map, command.layer, command.code)) {
        emit({ type: "cityops:error", message: `layer ${command.layer} cannot be highlighted` });
      }
      return;
  }
}

function describe(feature: MapGeoJSONFeature | undefined): Record<string, unknown> {
  if (feature === undefined) {
    return { layer: null, code: null, name: null };
  }
  const properties = feature.properties;
  const code = properties["code"] ?? feature.id ?? null;
  return { layer: feature.source, code, name: properties["name"] ?? null, properties };
}

async function lngLatOut(lngLat: { lng: number; lat: number }): Promise<Lonlat> {
  const [converted] = await convert([[lngLat.lng, lngLat.lat]], "wgs84", config.crs);
  return converted ?? [lngLat.lng, lngLat.lat];
}

async function start(): Promise<void> {
  setWorkerUrl(config.workerUrl);
  const style = await loadStyle();
  const options: MapOptions = {
    container: "map",
    style: style as unknown as Style,
    transformRequest,
    localIdeographFontFamily: FONT_FAMILY,
    attributionControl: { compact: true },
    dragRotate: false,
    pitchWithRotate: false,
    maxPitch: 0,
  };
  const bounds = config.bounds;
  if (config.center !== null) {
    options.center = config.center;
  } else if (bounds !== null) {
    options.center = [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2];
  }
  if (config.zoom !== null) {
    options.zoom = config.zoom;
  } else if (config.center === null && bounds !== null) {
    options.bounds = bounds;
    options.fitBoundsOptions = { padding: { top: 56, bottom: 64, left: 24, right: 24 } };
  }
  const map = new MapLibreMap(options);
  (window as unknown as { cityopsMap: MapLibreMap }).cityopsMap = map;
  map.on("error", (event) => {
    const status = (event.error as { status?: number }).status;
    if (status === 401 || status === 403) {
      showError("地图令牌无效或已过期");
      emit({ type: "cityops:error", message: "unauthorized", status });
    }
  });
  map.on("idle", () => {
    updateNotices(map);
    document.body.dataset["mapState"] = "idle";
  });
  map.on("movestart", () => {
    document.body.dataset["mapState"] = "moving";
  });
  map.on("moveend", () => {
    void lngLatOut(map.getCenter()).then((center) => emit({ type: "cityops:moveend", center, zoom: map.getZoom() }));
  });
  map.on("click", (event) => {
    const hits = map.queryRenderedFeatures(event.point, { layers: clickable(map) });
    const described = describe(hits[0]);
    void lngLatOut(event.lngLat).then((lngLat) => emit({ type: "cityops:click", ...described, lngLat }));
  });
  window.addEventListener("message", (event: MessageEvent<unknown>) => {
    if (!allowed.has(event.origin)) {
      return;
    }
    const command = parseCommand(event.data);
    if (command !== null) {
      void obey(map, command).catch((error: unknown) => emit({ type: "cityops:error", message: String(error) }));
    }
  });
  map.once("load", () => {
    void lngLatOut(map.getCenter()).then((center) =>
      emit({ type: "cityops:ready", layers: config.layers, center, zoom: map.getZoom(), crs: config.crs }),
    );
  });
}

if (config.token !== null) {
  // The token stays in memory only: take it out of the address bar and the history entry.
  const url = new URL(window.location.href);
  url.searchParams.delete("token");
  window.history.replaceState(null, "", url.pathname + url.search + url.hash);
}

start().catch((error: unknown) => showError(error instanceof Error ? error.message : String(error)));
