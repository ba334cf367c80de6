// The map-embed example's script, in a file so the page runs under script-src 'self'.
// The platform's origin. Here the example is served by the platform itself; a town portal
// writes the platform's address instead, e.g. "https://cityops.songjiang.example".
const PLATFORM = window.location.origin;
const frame = document.getElementById("map");
const events = document.getElementById("events");

function log(message) {
  const item = document.createElement("li");
  item.dataset.type = String(message && message.type);
  item.textContent = JSON.stringify(message);
  events.prepend(item);
}

function send(message) {
  // The target origin pins the receiver: the message goes to the platform's page only.
  frame.contentWindow.postMessage(message, PLATFORM);
}

function load(token) {
  const params = new URLSearchParams({ layers: "district,units,communities,drawings", token });
  frame.src = PLATFORM + "/map/embed?" + params.toString();
}

window.addEventListener("message", (event) => {
  // Accept events only from the framed map: right origin and right window.
  if (event.origin !== PLATFORM || event.source !== frame.contentWindow) return;
  log(event.data);
});

document.getElementById("load").addEventListener("click", () => load(document.getElementById("token").value.trim()));
document.getElementById("set-center").addEventListener("click", () => {
  const lon = Number(document.getElementById("lon").value);
  const lat = Number(document.getElementById("lat").value);
  const zoom = Number(document.getElementById("zoom").value);
  send({ type: "cityops:setCenter", center: [lon, lat], zoom });
});
for (const box of document.querySelectorAll("input[data-layer]")) {
  box.addEventListener("change", () =>
    send({ type: box.checked ? "cityops:showLayer" : "cityops:hideLayer", layer: box.dataset.layer }));
}
document.getElementById("highlight").addEventListener("click", () =>
  send({ type: "cityops:highlight", layer: document.getElementById("hl-layer").value, code: document.getElementById("hl-code").value }));
document.getElementById("unhighlight").addEventListener("click", () =>
  send({ type: "cityops:highlight", layer: document.getElementById("hl-layer").value, code: null }));

const fromHash = new URLSearchParams(window.location.hash.slice(1)).get("token");
if (fromHash) {
  history.replaceState(null, "", window.location.pathname);  // keep the token out of history
  document.getElementById("token").value = fromHash;
  load(fromHash);
}
