// The overview page and the big screen: charts drawn from each part's data, the map, and the live
// feed that swaps in (HTMX) the parts a notice names. Charts are carried over into the swapped-in
// part and updated in place (disposed when the part no longer has them); everything is released
// when the page goes away, so a hall screen that runs for days holds a constant number of charts,
// one map, one stream, one clock and one resize listener.
import htmx from "htmx.org";
import { DARK, LIGHT, adoptCharts, chartCount, disposeCharts, drawnBars, holdCharts, initCharts, releaseHeld, resizeCharts } from "./overview/charts";
import type { DrawnBar } from "./overview/charts";
import { LiveFeed, toLogin } from "./overview/live";
import { startMap } from "./overview/map";
import type { OverviewMap } from "./overview/map";
import { fitStage, startClock } from "./overview/stage";

interface OverviewConfig {
  code: string;
  stream: string;
  part: string;
  style: string;
  worker: string;
  screen: boolean;
}

function readConfig(): OverviewConfig {
  const element = document.getElementById("overview-config");
  return JSON.parse(element?.textContent ?? "null") as OverviewConfig;
}

const config = readConfig();
const theme = config.screen ? DARK : LIGHT;
const stage = document.getElementById("stage");
let scale = config.screen && stage !== null ? fitStage(stage) : 1;
let overviewMap: OverviewMap | null = null;

const ratio = (): number => (window.devicePixelRatio || 1) * scale;

/** Follow a drill-down link: on the big screen, to the child's big screen. */
function navigate(href: string): void {
  window.location.assign(config.screen ? href.replace(/^\/overview\//, "/screen/") : href);
}

initCharts(document, theme, ratio(), navigate);

const mapElement = document.getElementById("ov-map");
if (mapElement !== null) {
  startMap(mapElement, config.style, config.worker, ratio(), navigate)
    .then((started) => {
      overviewMap = started;
    })
    .catch((error: unknown) => {
      mapElement.dataset["mapState"] = "error";
      mapElement.textContent = error instanceof Error ? error.message : String(error);
    });
}

htmx.on("htmx:beforeSwap", (event) => {
  const detail = (event as CustomEvent<{ target: Element; xhr: XMLHttpRequest; shouldSwap: boolean }>).detail;
  if (detail.xhr.status === 401) {
    toLogin();
    return;
  }
  if (detail.shouldSwap) {
    holdCharts(detail.target);
  }
});

// Right after the swap, before the browser paints: the held charts take the new part's places, so
// no frame shows an empty chart box.
htmx.on("htmx:afterSwap", (event) => {
  const target = (event as CustomEvent<{ target: Element }>).detail.target;
  const swapped = target.id ? document.getElementById(target.id) : null;
  if (swapped !== null) {
    adoptCharts(swapped, theme, ratio(), navigate);
  }
});

// When a request has ended, whatever its outcome, no chart may stay held: a swap that threw, or
// one whose content lacked the part's id, would otherwise keep its old charts alive for ever.
// htmx fires these on the requesting part, or on its nearest ancestor left in the page.
for (const name of ["htmx:afterRequest", "htmx:swapError", "htmx:onLoadError"]) {
  htmx.on(name, releaseHeld);
}

htmx.on("htmx:load", (event) => {
  const element = (event as CustomEvent<{ elt: Element }>).detail.elt;
  adoptCharts(element, theme, ratio(), navigate);
  if (element.id === "part-map") {
    overviewMap?.refresh();
  }
});

const live = new LiveFeed(
  config.stream,
  (parts) => {
    for (const key of parts) {
      const element = document.getElementById(`part-${key}`);
      if (element !== null && element.hasAttribute("hx-get")) {
        htmx.trigger(element, "ov-refresh");
      }
    }
  },
  document.getElementById("ov-live"),
);
live.start();

const clock = document.getElementById("screen-clock");
const stopClock = clock !== null ? startClock(clock) : (): void => undefined;

let resizing: number | undefined;
function onResize(): void {
  window.clearTimeout(resizing);
  resizing = window.setTimeout(() => {
    if (config.screen && stage !== null) {
      const previous = scale;
      scale = fitStage(stage);
      if (previous !== scale) {
        // Redraw at the new pixel ratio so a 4K wall stays sharp.
        disposeCharts(document.body);
        initCharts(document, theme, ratio(), navigate);
        overviewMap?.map.setPixelRatio(ratio());
      }
    } else {
      resizeCharts();
      overviewMap?.map.resize();
    }
  }, 150);
}
window.addEventListener("resize", onResize);

window.addEventListener("pagehide", () => {
  live.stop();
  stopClock();
  window.removeEventListener("resize", onResize);
  disposeCharts(document.body);
  overviewMap?.remove();
  overviewMap = null;
});

/** What the end-to-end tests and the soak read: live chart instances and drawn bar heights. */
(window as unknown as { cityopsOverview: { charts: () => number; bars: (e: HTMLElement) => DrawnBar[] | null } }).cityopsOverview = {
  charts: chartCount,
  bars: drawnBars,
};
