// The town page editor: widgets on a 12-column grid, moved by dragging and resized by their
// corner handle (or typed into the list), kept as JSON in the form's `widgets` field. The server
// validates everything again on save; this script only makes composing comfortable.
interface Widget {
  kind: "part" | "map" | "app";
  part?: string;
  layers?: string[];
  path?: string;
  title?: string;
  x: number;
  y: number;
  w: number;
  h: number;
  options?: { opacity?: number };
}

interface EditorConfig {
  parts: { key: string; title: string }[];
  layers: string[];
  layerTitles?: Record<string, string>;
  apps: string[];
  columns: number;
  rows: number;
  code: string;
}

const ROW_PX = 26;
const config = JSON.parse(document.getElementById("townpage-editor-config")?.textContent ?? "null") as EditorConfig;
const field = document.getElementById("tp-widgets-json") as HTMLTextAreaElement;
const canvas = document.getElementById("tp-edit-canvas") as HTMLElement;
const list = document.getElementById("tp-widget-list") as HTMLElement;
const partTitles = new Map(config.parts.map((p) => [p.key, p.title]));
/** A layer as people call it (行政区划, 案件), never its id. */
const layerTitle = (name: string): string => config.layerTitles?.[name] ?? name;
let widgets: Widget[] = parse(field.value);

function parse(text: string): Widget[] {
  try {
    const value = JSON.parse(text) as unknown;
    return Array.isArray(value) ? (value as Widget[]) : [];
  } catch {
    return [];
  }
}

const clamp = (value: number, low: number, high: number): number => Math.max(low, Math.min(high, value));

function label(w: Widget): string {
  if (w.kind === "part") return `部件：${partTitles.get(w.part ?? "") ?? w.part ?? ""}`;
  if (w.kind === "map") return `地图：${(w.layers ?? []).map(layerTitle).join("、")}`;
  return `应用页面：${w.path ?? ""}`;
}

function save(): void {
  field.value = JSON.stringify(widgets);
}

function place(box: HTMLElement, w: Widget): void {
  box.style.gridColumn = `${w.x + 1} / span ${w.w}`;
  box.style.gridRow = `${w.y + 1} / span ${w.h}`;
}

function drawCanvas(): void {
  const rows = Math.max(12, ...widgets.map((w) => w.y + w.h + 2));
  canvas.style.gridTemplateRows = `repeat(${Math.min(rows, config.rows)}, ${ROW_PX}px)`;
  canvas.replaceChildren(
    ...widgets.map((w, index) => {
      const box = document.createElement("div");
      box.className = `tp-edit-box tp-edit-${w.kind}`;
      box.dataset["index"] = String(index);
      box.textContent = w.title ? `${w.title}（${label(w)}）` : label(w);
      const handle = document.createElement("span");
      handle.className = "tp-edit-handle";
      handle.title = "拖动调整大小";
      box.append(handle);
      place(box, w);
      box.addEventListener("pointerdown", (event) => drag(event, box, w, event.target === handle));
      return box;
    }),
  );
}

/** Move (or resize from the handle) a widget by whole grid cells while the pointer is down. */
function drag(event: PointerEvent, box: HTMLElement, w: Widget, resize: boolean): void {
  event.preventDefault();
  const cell = canvas.clientWidth / config.columns;
  const start = { x: event.clientX, y: event.clientY, wx: w.x, wy: w.y, ww: w.w, wh: w.h };
  box.setPointerCapture(event.pointerId);
  box.classList.add("is-dragging");
  const move = (e: PointerEvent): void => {
    const dx = Math.round((e.clientX - start.x) / cell);
    const dy = Math.round((e.clientY - start.y) / ROW_PX);
    if (resize) {
      w.w = clamp(start.ww + dx, 1, config.columns - w.x);
      w.h = clamp(start.wh + dy, 1, Math.min(12, config.rows - w.y));
    } else {
      w.x = clamp(start.wx + dx, 0, config.columns - w.w);
      w.y = clamp(start.wy + dy, 0, config.rows - w.h);
    }
    place(box, w);
  };
  const up = (): void => {
    box.removeEventListener("pointermove", move);
    box.removeEventListener("pointerup", up);
    box.classList.remove("is-dragging");
    save();
    drawList();
  };
  box.addEventListener("pointermove", move);
  box.addEventListener("pointerup", up);
}

function numberInput(w: Widget, key: "x" | "y" | "w" | "h", text: string, low: number, high: number): HTMLElement {
  const wrap = document.createElement("label");
  wrap.className = "tp-inline tp-num";
  const input = document.createElement("input");
  input.type = "number";
  input.min = String(low);
  input.max = String(high);
  input.value = String(w[key]);
  input.name = `widget-${key}`;
  input.addEventListener("change", () => {
    w[key] = clamp(Number.parseInt(input.value, 10) || low, low, high);
    input.value = String(w[key]);
    changed();
  });
  wrap.append(text, input);
  return wrap;
}

function textInput(text: string, value: string, onChange: (value: string) => void, max = 30): HTMLElement {
  const wrap = document.createElement("label");
  wrap.className = "tp-inline";
  const input = document.createElement("input");
  input.type = "text";
  input.maxLength = max;
  input.value = value;
  input.addEventListener("change", () => {
    onChange(input.value);
    changed();
  });
  wrap.append(text, input);
  return wrap;
}

function layerBoxes(w: Widget): HTMLElement {
  const wrap = document.createElement("span");
  wrap.className = "tp-layers";
  for (const name of config.layers) {
    const item = document.createElement("label");
    item.className = "tp-inline";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = name;
    box.checked = (w.layers ?? []).includes(name);
    box.addEventListener("change", () => {
      const chosen = new Set(w.layers ?? []);
      if (box.checked) chosen.add(name);
      else chosen.delete(name);
      w.layers = config.layers.filter((n) => chosen.has(n));
      changed();
    });
    item.append(box, layerTitle(name));
    wrap.append(item);
  }
  return wrap;
}

function drawList(): void {
  list.replaceChildren(
    ...widgets.map((w, index) => {
      const row = document.createElement("div");
      row.className = "tp-widget-row";
      row.dataset["index"] = String(index);
      const name = document.createElement("strong");
      name.textContent = label(w);
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "btn btn-secondary tp-remove";
      remove.textContent = "删除";
      remove.addEventListener("click", () => {
        widgets.splice(index, 1);
        changed(true);
      });
      row.append(
        name,
        textInput("标题", w.title ?? "", (v) => (w.title = v)),
        numberInput(w, "x", "列", 0, config.columns - 1),
        numberInput(w, "y", "行", 0, config.rows - 1),
        numberInput(w, "w", "宽", 1, config.columns),
        numberInput(w, "h", "高", 1, 12),
      );
      if (w.kind === "map") row.append(layerBoxes(w));
      if (w.kind === "app") row.append(textInput("路径", w.path ?? "", (v) => (w.path = v), 300));
      row.append(remove);
      return row;
    }),
  );
}

function changed(relist = false): void {
  save();
  drawCanvas();
  if (relist) drawList();
}

function add(widget: Omit<Widget, "x" | "y" | "w" | "h">): void {
  const bottom = Math.max(0, ...widgets.map((w) => w.y + w.h));
  const y = clamp(bottom, 0, config.rows - 4);
  widgets.push({ ...widget, x: 0, y, w: 6, h: 4 });
  changed(true);
}

document.getElementById("tp-add-part-btn")?.addEventListener("click", () => {
  const select = document.getElementById("tp-add-part") as HTMLSelectElement;
  add({ kind: "part", part: select.value });
});
document.getElementById("tp-add-map-btn")?.addEventListener("click", () => {
  const preferred = ["units", "communities", "cases"].filter((n) => config.layers.includes(n));
  add({ kind: "map", layers: preferred.length > 0 ? preferred : config.layers.slice(0, 1) });
});
document.getElementById("tp-add-app-btn")?.addEventListener("click", () => {
  const input = document.getElementById("tp-add-app-path") as HTMLInputElement;
  add({ kind: "app", path: input.value.trim(), title: "应用页面" });
});
field.addEventListener("change", () => {
  widgets = parse(field.value);
  changed(true);
});

save();
drawCanvas();
drawList();
document.body.dataset["editor"] = "ready";
