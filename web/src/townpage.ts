// A town page (街镇页面): overview parts, maps and app pages laid over the town's real-scene
// background, updated live from the overview's stream. Opened by link (`?token=`), every
// request of the page carries the token in its URL and the page has no session at all.
import htmx from "htmx.org";
import { LIGHT, adoptCharts, chartCount, disposeCharts, holdCharts, initCharts, resizeCharts } from "./overview/charts";
import { LiveFeed, toLogin } from "./overview/live";
import { startWidgetMap } from "./townpage/map";
import type { WidgetMap } from "./townpage/map";

interface TownPageConfig {
  code: string;
  stream: string;
  worker: string;
  link: boolean;
  panorama: boolean;
}

const config = JSON.parse(document.getElementById("townpage-config")?.textContent ?? "null") as TownPageConfig;
const maps: WidgetMap[] = [];
let stopPanorama: () => void = () => undefined;

/** Links in a link view would need a login: they stay where they are. */
function navigate(href: string): void {
  if (!config.link) {
    window.location.assign(href);
  }
}

const ended = (): void => (config.link ? window.location.reload() : toLogin());

initCharts(document, LIGHT, window.devicePixelRatio || 1, navigate);

for (const element of document.querySelectorAll<HTMLElement>(".tp-map")) {
  startWidgetMap(element, config.worker)
    .then((map) => maps.push(map))
    .catch((error: unknown) => {
      element.dataset["mapState"] = "error";
      element.textContent = error instanceof Error ? error.message : String(error);
    });
}

const pano = document.getElementById("tp-pano");
const panoImage = pano?.querySelector("img");
if (pano !== null && panoImage) {
  const url = panoImage.src;
  pano.replaceChildren();
  import("./townpage/panorama")
    .then(({ startPanorama }) => {
      stopPanorama = startPanorama(pano, url);
    })
    .catch(() => {
      pano.textContent = "全景图无法加载";
    });
}

htmx.on("htmx:beforeSwap", (event) => {
  const detail = (event as CustomEvent<{ target: Element; xhr: XMLHttpRequest; shouldSwap: boolean }>).detail;
  if (detail.xhr.status === 401 || detail.xhr.status === 403) {
    ended();
    return;
  }
  if (detail.shouldSwap) {
    holdCharts(detail.target);
  }
});

// Right after the swap, before the browser paints: the held charts take the new part's places.
htmx.on("htmx:afterSwap", (event) => {
  const target = (event as CustomEvent<{ target: Element }>).detail.target;
  const swapped = target.id ? document.getElementById(target.id) : null;
  if (swapped !== null) {
    adoptCharts(swapped, LIGHT, window.devicePixelRatio || 1, navigate);
  }
});

htmx.on("htmx:load", (event) => {
  adoptCharts((event as CustomEvent<{ elt: Element }>).detail.elt, LIGHT, window.devicePixelRatio || 1, navigate);
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
    if (parts.includes("map")) {
      for (const map of maps) {
        map.refresh();
      }
    }
  },
  document.getElementById("ov-live"),
  ended,
  config.link ? null : "/api/v1/auth/me",
);
live.start();

let resizing: number | undefined;
function onResize(): void {
  window.clearTimeout(resizing);
  resizing = window.setTimeout(() => {
    resizeCharts();
    for (const map of maps) {
      map.resize();
    }
  }, 150);
}
window.addEventListener("resize", onResize);

window.addEventListener("pagehide", () => {
  live.stop();
  window.removeEventListener("resize", onResize);
  disposeCharts(document.body);
  for (const map of maps.splice(0)) {
    map.remove();
  }
  stopPanorama();
});

(window as unknown as { cityopsTownPage: { charts: () => number; maps: () => number } }).cityopsTownPage = {
  charts: chartCount,
  maps: () => maps.length,
};
