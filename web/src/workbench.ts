// The event workbench's small helpers: the phone's location on the report pages, picking a
// point on the embedded map, highlighting a case on its map, and checking photos before upload.
// Everything works without this script too (the community list, plain forms); nothing here
// talks to another origin.

type Lonlat = [number, number];

function byId<T extends HTMLElement>(id: string): T | null {
  return document.getElementById(id) as T | null;
}

function setStatus(text: string, kind: "ok" | "error" | "wait"): void {
  const status = byId<HTMLElement>("geo-status");
  if (status !== null) {
    status.textContent = text;
    status.className = `geo-status geo-${kind}`;
  }
}

function setPoint([lon, lat]: Lonlat, how: string): void {
  const lonInput = byId<HTMLInputElement>("lon");
  const latInput = byId<HTMLInputElement>("lat");
  if (lonInput === null || latInput === null) {
    return;
  }
  lonInput.value = lon.toFixed(6);
  latInput.value = lat.toFixed(6);
  setStatus(`${how}：${lonInput.value}, ${latInput.value}`, "ok");
}

/** Ask the browser for the phone's position (WGS84 by the Geolocation API). */
function locate(): void {
  if (!("geolocation" in navigator)) {
    setStatus("此浏览器不支持定位：请在地图上选点或选择所在居村", "error");
    return;
  }
  setStatus("正在获取手机定位…", "wait");
  navigator.geolocation.getCurrentPosition(
    (position) => {
      const accuracy = Math.round(position.coords.accuracy);
      setPoint([position.coords.longitude, position.coords.latitude], `已定位（精度约 ${accuracy} 米）`);
    },
    (error) => {
      const why = error.code === error.PERMISSION_DENIED ? "未允许使用位置信息" : "暂时无法定位";
      setStatus(`${why}：请在地图上选点或选择所在居村`, "error");
    },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
  );
}

function isLonlat(value: unknown): value is Lonlat {
  return Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === "number" && Number.isFinite(v));
}

/** Messages from an embedded map of this origin (the map posts them only to allowed origins). */
function fromOwnFrame(event: MessageEvent<unknown>, frame: HTMLIFrameElement | null): Record<string, unknown> | null {
  if (frame === null || event.origin !== window.location.origin || event.source !== frame.contentWindow) {
    return null;
  }
  return typeof event.data === "object" && event.data !== null ? (event.data as Record<string, unknown>) : null;
}

function setUpReport(): void {
  const place = byId<HTMLElement>("place");
  if (place === null || !place.hasAttribute("data-geolocate")) {
    return;
  }
  byId<HTMLButtonElement>("geo-retry")?.addEventListener("click", locate);
  const lon = byId<HTMLInputElement>("lon");
  if (lon !== null && lon.value === "") {
    locate();
  }
  const pick = byId<HTMLDetailsElement>("map-pick");
  const frame = byId<HTMLIFrameElement>("pick-map");
  pick?.addEventListener("toggle", () => {
    if (pick.open && frame !== null && !frame.src && frame.dataset["src"]) {
      frame.src = frame.dataset["src"];
    }
  });
  window.addEventListener("message", (event: MessageEvent<unknown>) => {
    const data = fromOwnFrame(event, frame);
    if (data !== null && data["type"] === "cityops:click" && isLonlat(data["lngLat"])) {
      setPoint(data["lngLat"], "已在地图上选点");
    }
  });
}

/** Highlight the case on its map once the map says it is ready. */
function setUpCaseMap(): void {
  const frame = byId<HTMLIFrameElement>("case-map");
  const caseId = frame?.dataset["caseId"];
  if (frame === null || caseId === undefined) {
    return;
  }
  window.addEventListener("message", (event: MessageEvent<unknown>) => {
    const data = fromOwnFrame(event, frame);
    if (data !== null && data["type"] === "cityops:ready") {
      frame.contentWindow?.postMessage({ type: "cityops:highlight", layer: "cases", code: caseId }, window.location.origin);
    }
  });
}

/** Refuse too many or too large photos before they are sent. */
function checkPhotos(input: HTMLInputElement): void {
  const maxFiles = Number(input.dataset["maxFiles"] ?? "3");
  const maxBytes = Number(input.dataset["maxBytes"] ?? "0");
  const files = Array.from(input.files ?? []);
  let problem = "";
  if (files.length > maxFiles) {
    problem = `最多 ${maxFiles} 张照片`;
  } else if (maxBytes > 0 && files.some((file) => file.size > maxBytes)) {
    problem = `每张照片不超过 ${Math.round(maxBytes / 1048576)} MB`;
  }
  input.setCustomValidity(problem);
  const status = byId<HTMLElement>("photo-status");
  if (status !== null) {
    status.textContent = problem || (files.length > 0 ? `已选择 ${files.length} 张照片` : "");
  }
}

function setUpForms(): void {
  for (const input of document.querySelectorAll<HTMLInputElement>("input[type=file][data-max-files]")) {
    input.addEventListener("change", () => checkPhotos(input));
  }
  // One tap sends a form once: the button is disabled while the page waits for the answer.
  for (const form of document.querySelectorAll<HTMLFormElement>("form[method=post]")) {
    form.addEventListener("submit", () => {
      for (const button of form.querySelectorAll<HTMLButtonElement>("button[type=submit]")) {
        window.setTimeout(() => {
          button.disabled = true;
        }, 0);
      }
    });
  }
}

setUpReport();
setUpCaseMap();
setUpForms();
