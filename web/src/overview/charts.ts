// Charts of the overview parts: ECharts, tree-shaken to the two chart types and the components
// used. Every instance is kept in one registry so a part swapped out has its charts disposed
// first — a screen that runs for days keeps the same number of instances.
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
    title: title(data, theme, big),
    tooltip: { trigger: "axis", renderMode: "richText", valueFormatter: (v) => `${String(v)} ${data.unit ?? ""}` },
    grid: { left: 8, right: 8, top: 28, bottom: 4, containLabel: true },
    xAxis: {
      type: "category",
      data: data.labels,
      axisLabel: { color: theme.muted, fontSize: big ? 12 : 11, rotate: data.rotate && many ? 40 : 0, interval: 0, fontFamily: theme.font },
      axisLine: { lineStyle: { color: theme.axis } },
      axisTick: { show: false },
    },
    yAxis: {
      type: "value",
      minInterval: 1,
      axisLabel: { color: theme.muted, fontSize: 11 },
      splitLine: { lineStyle: { color: theme.split } },
    },
    series: [
      {
        type: "bar",
        data: data.values,
        barMaxWidth: 28,
        cursor: data.hrefs ? "pointer" : "default",
        label: { show: !many, position: "top", color: theme.text, fontSize: 11 },
        itemStyle: { borderRadius: [3, 3, 0, 0] },
      },
    ],
  };
}

function pieOption(data: ChartData, theme: Theme, big: boolean): Option {
  const items = data.labels.map((name, i) => ({ name, value: data.values[i] ?? 0 }));
  if (items.length === 0 || items.every((item) => !item.value)) {
    return {
      title: [
        title(data, theme, big),
        { text: data.empty ?? "暂无数据", left: "center", top: "middle", textStyle: { fontSize: 13, color: theme.muted, fontWeight: 400 } },
      ],
    };
  }
  return {
    color: theme.palette,
    title: title(data, theme, big),
    tooltip: { trigger: "item", renderMode: "richText" },
    legend: {
      bottom: 0,
      itemWidth: 10,
      itemHeight: 10,
      itemGap: 8,
      textStyle: { color: theme.muted, fontSize: 11, fontFamily: theme.font },
    },
    series: [
      {
        type: "pie",
        radius: ["30%", "54%"],
        center: ["50%", "52%"],
        data: items,
        label: { color: theme.text, fontSize: big ? 12 : 11, formatter: "{d}%" },
        labelLine: { length: 4, length2: 4 },
      },
    ],
  };
}

function readData(element: HTMLElement): ChartData | null {
  try {
    return JSON.parse(element.dataset["chartData"] ?? "null") as ChartData | null;
  } catch {
    return null;
  }
}

/** Draw every chart under `root` that is not drawn yet. */
export function initCharts(root: ParentNode, theme: Theme, pixelRatio: number, navigate: (href: string) => void): void {
  const big = theme === DARK;
  for (const element of root.querySelectorAll<HTMLElement>("[data-chart]")) {
    const data = readData(element);
    if (data === null || getInstanceByDom(element) !== undefined) {
      continue;
    }
    const chart = init(element, undefined, { renderer: "canvas", devicePixelRatio: pixelRatio });
    chart.setOption(element.dataset["chart"] === "pie" ? pieOption(data, theme, big) : barOption(data, theme, big));
    const hrefs = data.hrefs;
    if (hrefs !== undefined) {
      chart.on("click", (params) => {
        const href = hrefs[params.dataIndex];
        if (href) {
          navigate(href);
        }
      });
    }
    registry.add(chart);
  }
  document.body.dataset["charts"] = String(registry.size);
}

/** Dispose the charts under (or at) `root`, before it leaves the page. */
export function disposeCharts(root: Element): void {
  const elements = [...(root.matches("[data-chart]") ? [root] : []), ...root.querySelectorAll("[data-chart]")];
  for (const element of elements) {
    const chart = getInstanceByDom(element as HTMLElement);
    if (chart !== undefined) {
      registry.delete(chart);
      chart.dispose();
    }
  }
  document.body.dataset["charts"] = String(registry.size);
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
