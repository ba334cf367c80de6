// Charts of the overview parts: ECharts, tree-shaken to the two chart types and the components
// used. Every instance is kept in one registry. When the live feed swaps a part in, its charts are
// carried over into the new part and updated in place (no entrance animation replayed, no frame
// drawn from zero); a chart with no successor is disposed — a screen that runs for days keeps the
// same number of instances.
import { init, getInstanceByDom, use } from "echarts/core";
import type { ComposeOption, ECharts } from "echarts/core";
import { BarChart, PieChart } from "echarts/charts";
import type { BarSeriesOption, PieSeriesOption } from "echarts/charts";
import { GridComponent, LegendComponent, TitleComponent, TooltipComponent } from "echarts/components";
import type {
  GridComponentOption,
  LegendComponentOption,
  TitleComponentOption,
  TooltipComponentOption,
} from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

use([BarChart, PieChart, GridComponent, LegendComponent, TitleComponent, TooltipComponent, CanvasRenderer]);

type Option = ComposeOption<
  | BarSeriesOption
  | PieSeriesOption
  | GridComponentOption
  | LegendComponentOption
  | TitleComponentOption
  | TooltipComponentOption
>;

/** What a part hands a chart in its data-chart-data attribute. */
interface ChartData {
  labels: string[];
  values: (number | null)[];
  hrefs?: (string | null)[];
  unit?: string;
  title?: string;
  rotate?: boolean;
  empty?: string;
}

export interface Theme {
  text: string;
  muted: string;
  axis: string;
  split: string;
  palette: string[];
  font: string;
}

export const LIGHT: Theme = {
  text: "#1c2430",
  muted: "#5d6878",
  axis: "#c9d0da",
  split: "#eef1f5",
  palette: ["#2f7de1", "#22a55a", "#e39b2d", "#7c5cd6", "#d64545", "#1aa3b8", "#8a97a8", "#b5651d", "#5b8c2a"],
  font: "'Noto Sans CJK SC', 'Microsoft YaHei', 'PingFang SC', sans-serif",
};

export const DARK: Theme = {
  text: "#dbe7f5",
  muted: "#8ea4c0",
  axis: "#2b4a6f",
  split: "rgba(94, 234, 212, 0.08)",
  palette: ["#22d3ee", "#5eead4", "#fbbf24", "#a78bfa", "#f87171", "#60a5fa", "#94a3b8", "#fb923c", "#a3e635"],
  font: "'Noto Sans CJK SC', 'Microsoft YaHei', 'PingFang SC', sans-serif",
};

const registry = new Set<ECharts>();
/** Charts taken out of a part that is being swapped, by part id, kind and position. */
const held = new Map<string, HTMLElement>();
const numberFormat = new Intl.NumberFormat("zh-CN", { maximumFractionDigits: 2 });

/** A number with thousands separators ("1,909,713"); anything else as it is. */
export function formatNumber(value: unknown): string {
  return typeof value === "number" && Number.isFinite(value) ? numberFormat.format(value) : String(value ?? "");
}

function title(data: ChartData, theme: Theme, big: boolean): TitleComponentOption {
  return {
    text: data.title ?? "",
    left: 0,
    top: 0,
    textStyle: { fontSize: big ? 14 : 12, fontWeight: 500, color: theme.muted, fontFamily: theme.font },
  };
}

function barOption(data: ChartData, theme: Theme, big: boolean): Option {
  const many = data.labels.length > 8;
  return {
    color: theme.palette,
    // Updates land at once: a wall display must never show a bar between two values.
    animationDurationUpdate: 0,
    title: title(data, theme, big),
    tooltip: { trigger: "axis", renderMode: "richText", valueFormatter: (v) => `${formatNumber(v)} ${data.unit ?? ""}` },
    grid: { left: 8, right: 8, top: 28, bottom: 4, containLabel: true },
    xAxis: {
      type: "category",
      data: data.labels,
      axisLabel: {
        color: theme.muted,
        fontSize: big ? 12 : 11,
        rotate: data.rotate && many ? 40 : 0,
        interval: 0,
        fontFamily: theme.font,
        // Long names end in "…" (the tooltip has them whole) so the bars keep their height.
        ...(data.rotate && many ? { width: 52, overflow: "truncate" as const } : {}),
      },
      axisLine: { lineStyle: { color: theme.axis } },
      axisTick: { show: false },
    },
    yAxis: {
      type: "value",
      minInterval: 1,
      axisLabel: { color: theme.muted, fontSize: 11, formatter: (v: number) => formatNumber(v) },
      splitLine: { lineStyle: { color: theme.split } },
    },
    series: [
      {
        type: "bar",
        data: data.values,
        barMaxWidth: 28,
        cursor: data.hrefs ? "pointer" : "default",
        label: { show: !many, position: "top", color: theme.text, fontSize: 11, formatter: (p) => formatNumber(p.value) },
        itemStyle: { borderRadius: [3, 3, 0, 0] },
      },
    ],
  };
}

function pieOption(data: ChartData, theme: Theme, big: boolean, wide: boolean): Option {
  const items = data.labels.map((name, i) => ({ name, value: data.values[i] ?? 0 }));
  const empty = items.length === 0 || items.every((item) => !item.value);
  // One shape whether empty or not, so a live update merges into the drawn chart.
  return {
    color: theme.palette,
    animationDurationUpdate: 0,
    title: [
      title(data, theme, big),
      {
        text: empty ? (data.empty ?? "暂无数据") : "",
        left: "center",
        top: "middle",
        textStyle: { fontSize: 13, color: theme.muted, fontWeight: 400 },
      },
    ],
    tooltip: { trigger: "item", renderMode: "richText" },
    // The legend carries the shares ("网格巡查 46.9%") beside the ring: outside labels on a small
    // ring collide with the legend or get cut to "39....".
    // Wide boxes: the legend right of the ring; narrow ones: below it, one line per item.
    legend: {
      show: !empty,
      orient: "vertical",
      ...(wide ? { right: 0, top: "middle" } : { left: "center", bottom: 0 }),
      itemWidth: 10,
      itemHeight: 10,
      itemGap: 6,
      formatter: (name: string) => `${name} ${share(items, name)}`,
      textStyle: { color: theme.muted, fontSize: big ? 12 : 11, fontFamily: theme.font },
    },
    series: [
      {
        type: "pie",
        radius: wide ? ["34%", "62%"] : ["22%", "40%"],
        center: wide ? ["28%", "56%"] : ["50%", "38%"],
        data: empty ? [] : items,
        label: { show: false },
        labelLine: { show: false },
      },
    ],
  };
}

/** The share of one item in a pie, as "46.9%" (one decimal, the legend's width is small). */
function share(items: { name: string; value: number | null }[], name: string): string {
  const total = items.reduce((sum, item) => sum + (item.value ?? 0), 0);
  const value = items.find((item) => item.name === name)?.value ?? 0;
  return total > 0 ? `${((value / total) * 100).toFixed(1)}%` : "";
}

function readData(element: HTMLElement): ChartData | null {
  try {
    return JSON.parse(element.dataset["chartData"] ?? "null") as ChartData | null;
  } catch {
    return null;
  }
}

function option(element: HTMLElement, data: ChartData, theme: Theme): Option {
  const big = theme === DARK;
  const wide = element.clientWidth >= 1.4 * element.clientHeight;
  return element.dataset["chart"] === "pie" ? pieOption(data, theme, big, wide) : barOption(data, theme, big);
}

function chartElements(root: Element): HTMLElement[] {
  return [...(root.matches("[data-chart]") ? [root] : []), ...root.querySelectorAll("[data-chart]")] as HTMLElement[];
}

function heldKey(root: Element, element: HTMLElement, index: number): string {
  return `${root.id}|${element.dataset["chart"] ?? ""}|${String(index)}`;
}

function count(): void {
  document.body.dataset["charts"] = String(registry.size);
}

/** Draw every chart under `root` that is not drawn yet. */
export function initCharts(root: ParentNode, theme: Theme, pixelRatio: number, navigate: (href: string) => void): void {
  for (const element of root.querySelectorAll<HTMLElement>("[data-chart]")) {
    const data = readData(element);
    if (data === null || getInstanceByDom(element) !== undefined) {
      continue;
    }
    const chart = init(element, undefined, { renderer: "canvas", devicePixelRatio: pixelRatio });
    chart.setOption(option(element, data, theme));
    chart.on("click", (params) => {
      // The element's data is read at the click: a live update may have changed the links.
      const href = readData(element)?.hrefs?.[params.dataIndex];
      if (href) {
        navigate(href);
      }
    });
    registry.add(chart);
  }
  count();
}

/** Take the drawn charts out of a part about to be swapped out, to update them in its successor. */
export function holdCharts(root: Element): void {
  if (!root.id) {
    disposeCharts(root);
    return;
  }
  chartElements(root).forEach((element, index) => {
    if (getInstanceByDom(element) !== undefined) {
      held.set(heldKey(root, element, index), element);
    }
  });
}

/** Put the held charts of a part swapped in back in place with the new data, draw the rest. */
export function adoptCharts(root: Element, theme: Theme, pixelRatio: number, navigate: (href: string) => void): void {
  chartElements(root).forEach((fresh, index) => {
    const key = heldKey(root, fresh, index);
    const kept = held.get(key);
    const chart = kept === undefined ? undefined : getInstanceByDom(kept);
    const data = readData(fresh);
    if (kept === undefined || chart === undefined || data === null) {
      return;
    }
    held.delete(key);
    const unchanged = kept.dataset["chartData"] === fresh.dataset["chartData"];
    kept.dataset["chartData"] = fresh.dataset["chartData"] ?? "null";
    kept.className = fresh.className;
    kept.setAttribute("aria-label", fresh.getAttribute("aria-label") ?? "");
    fresh.replaceWith(kept);
    const resized = chart.getWidth() !== kept.clientWidth || chart.getHeight() !== kept.clientHeight;
    if (resized) {
      chart.resize(); // the new part laid its chart box out at another size
    }
    // Same numbers in the same box: the drawn chart is already right, so no redraw (most live
    // notices change one part's numbers, not every chart of it).
    if (resized || !unchanged) {
      chart.setOption(option(kept, data, theme));
    }
  });
  // Charts of this part that found no successor (the part lost a chart) go now.
  for (const [key, element] of held) {
    if (key.startsWith(`${root.id}|`)) {
      held.delete(key);
      disposeCharts(element);
    }
  }
  initCharts(root, theme, pixelRatio, navigate);
}

/**
 * Let go of charts still held after a request ended (a swap that failed, or swapped in content
 * without the part's id, or nothing): a chart still on the page stays as it is, one whose element
 * left the page is disposed. A swap runs in one task, so nothing is legitimately held here.
 */
export function releaseHeld(): void {
  for (const [key, element] of held) {
    held.delete(key);
    if (!element.isConnected) {
      disposeCharts(element);
    }
  }
  // A chart that left the page without being held (its part removed by other means) goes too.
  for (const chart of registry) {
    if (!chart.getDom().isConnected) {
      registry.delete(chart);
      chart.dispose();
    }
  }
  count();
}

/** Dispose the charts under (or at) `root`, before it leaves the page. */
export function disposeCharts(root: Element): void {
  for (const element of chartElements(root)) {
    const chart = getInstanceByDom(element);
    if (chart !== undefined) {
      registry.delete(chart);
      chart.dispose();
    }
  }
  count();
}

/** Fit every chart to its container again (after the window changed size). */
export function resizeCharts(): void {
  for (const chart of registry) {
    chart.resize();
  }
}

/** How many chart instances are alive. */
export function chartCount(): number {
  return registry.size;
}

/** One drawn bar: its value, the height drawn on the canvas and the height the axis gives it. */
export interface DrawnBar {
  value: number;
  drawn: number;
  expected: number;
}

interface BarGraphic {
  shape?: { height?: number };
}

interface BarData {
  count(): number;
  getItemGraphicEl(index: number): BarGraphic | undefined;
}

/** What a bar chart has drawn right now (the tests compare it with the data). */
export function drawnBars(element: HTMLElement): DrawnBar[] | null {
  const chart = getInstanceByDom(element);
  const data = readData(element);
  if (chart === undefined || data === null || element.dataset["chart"] !== "bar") {
    return null;
  }
  // The series' list data and graphic elements: what zrender paints on the next frame.
  const model = (chart as unknown as { getModel(): { getSeriesByIndex(i: number): { getData(): BarData } } }).getModel();
  const list = model.getSeriesByIndex(0).getData();
  const bars: DrawnBar[] = [];
  for (let i = 0; i < list.count(); i++) {
    const value = data.values[i] ?? 0;
    const top = chart.convertToPixel({ seriesIndex: 0 }, [i, value]) as unknown as number[];
    const base = chart.convertToPixel({ seriesIndex: 0 }, [i, 0]) as unknown as number[];
    const drawn = Math.abs(list.getItemGraphicEl(i)?.shape?.height ?? 0);
    bars.push({ value, drawn, expected: Math.abs((base[1] ?? 0) - (top[1] ?? 0)) });
  }
  return bars;
}
