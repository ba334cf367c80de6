// What the embeddable map (/map/embed) and the overview's map share: the CJK font stack labels
// are drawn with (no glyph server: the style has no glyphs URL) and the style request.
import type { MapOptions } from "maplibre-gl";

export const FONT_FAMILY =
  "'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', 'PingFang SC', sans-serif";

export interface StyleLayerDoc {
  id: string;
  type: string;
  source?: string;
  layout?: Record<string, unknown>;
  filter?: unknown;
}

export interface StyleDoc {
  layers: StyleLayerDoc[];
  [key: string]: unknown;
}

export type Style = Exclude<MapOptions["style"], string | undefined>;

/** Fetch the platform's style.json; the error says why in Chinese. */
export async function fetchStyle(url: string, headers: Record<string, string> = {}): Promise<StyleDoc> {
  const reply = await fetch(url, { headers, credentials: "same-origin" });
  if (!reply.ok) {
    throw new Error(reply.status === 401 ? "地图令牌无效或已过期" : `样式加载失败（${reply.status}）`);
  }
  return (await reply.json()) as StyleDoc;
}
