// The real-scene panorama (实景全景) behind a town page: an equirectangular (2:1) photo shown
// with Photo Sphere Viewer (MIT, bundled from npm; three.js inside), dragged to look around.
// Loaded only on pages whose background is a panorama.
import { Viewer } from "@photo-sphere-viewer/core";

/** Show the panorama in its element; return the function that releases it. */
export function startPanorama(element: HTMLElement, url: string): () => void {
  const viewer = new Viewer({
    container: element,
    panorama: url,
    caption: "全景（拖动浏览）",
    navbar: ["zoom", "caption"],
    defaultZoomLvl: 0,
    mousewheel: false,
    loadingTxt: "正在加载全景图…",
    lang: { zoom: "缩放", zoomOut: "缩小", zoomIn: "放大", loadError: "全景图无法加载" },
  });
  viewer.addEventListener("ready", () => {
    element.dataset["panorama"] = "ready";
  });
  return () => viewer.destroy();
}
