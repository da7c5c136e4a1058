// One ECharts chart in a titled card. The chart instance is created once per mount and only
// updated with setOption afterwards (refreshes every 10 s must not rebuild it), resized with
// its container, and re-coloured when the theme changes.

import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useRef } from "preact/hooks";
import { fmtBucket, fmtCompact } from "../format";
import type { Theme } from "../theme";
import { init, type ECharts, type EChartsCoreOption } from "./echarts";
import { PALETTES, type ChartPalette } from "./palette";

export interface PlotSeries {
  /** Stable key (a client id, a model, a metric): what `data-series` names it. */
  key: string;
  /** Legend label. */
  name: string;
  values: number[];
  /** Drawn emphasised (e.g. the "all surfaces" total line). */
  emphasis?: boolean;
}

export interface Plot {
  /** Bucket start times (Unix seconds) for time charts, category keys otherwise. */
  x: (number | string)[];
  series: PlotSeries[];
}

export interface ChartProps {
  testId: string;
  title: string;
  /** What the chart shows, in words: visible subtitle and the start of the aria description. */
  description: string;
  plot: Plot;
  /** `time`: x are bucket starts; `category`: x are labels (`xLabel` maps them). */
  xKind: "time" | "category";
  /** `stack`: stacked bars; `bars`: side-by-side bars; `lines`: one line per series. */
  kind: "stack" | "bars" | "lines";
  theme: Theme;
  week?: boolean;
  format: (n: number) => string;
  xLabel?: (x: string) => string;
  /** Export links and the like, shown under the title. */
  actions?: ComponentChildren;
  height?: number;
  emptyText?: string;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function buildOption(p: ChartProps, palette: ChartPalette): EChartsCoreOption {
  const time = p.xKind === "time";
  const xLabel = (v: unknown): string =>
    time ? fmtBucket(Number(v) / 1000, !!p.week) : p.xLabel ? p.xLabel(String(v)) : String(v);
  const series = p.plot.series.map((s, i) => {
    const color = palette.series[i % palette.series.length];
    const data = time ? s.values.map((v, j) => [Number(p.plot.x[j]) * 1000, v]) : s.values;
    const base = { id: s.key, name: s.name, data, itemStyle: { color }, lineStyle: { color } };
    if (p.kind === "lines") {
      return {
        ...base,
        type: "line",
        showSymbol: p.plot.x.length < 40,
        symbolSize: 5,
        lineStyle: { color, width: s.emphasis ? 3 : 1.5, type: s.emphasis ? "solid" : "dashed" },
        z: s.emphasis ? 3 : 2,
      };
    }
    return { ...base, type: "bar", stack: p.kind === "stack" ? "total" : undefined, barMaxWidth: 36 };
  });
  return {
    // The API's buckets are UTC days: axes and tooltips must not shift to the viewer's zone.
    useUTC: true,
    animation: false,
    backgroundColor: "transparent",
    aria: {
      enabled: true,
      label: { enabled: true, general: { withTitle: `${p.title}. ${p.description}. ` } },
    },
    textStyle: { color: palette.text, fontFamily: "inherit" },
    // Room at the bottom for the legend row under the axis labels.
    grid: { left: 8, right: 16, top: 16, bottom: 36, containLabel: true },
    legend: {
      type: "scroll",
      bottom: 0,
      textStyle: { color: palette.text },
      pageTextStyle: { color: palette.text },
      pageIconColor: palette.text,
      pageIconInactiveColor: palette.muted,
      inactiveColor: palette.muted,
    },
    tooltip: {
      trigger: "axis",
      confine: true,
      backgroundColor: palette.tooltipBg,
      borderColor: palette.grid,
      textStyle: { color: palette.text },
      axisPointer: { type: p.kind === "lines" ? "line" : "shadow" },
      formatter: (params: unknown) => {
        const items = (Array.isArray(params) ? params : [params]) as {
          axisValue?: unknown;
          marker?: string;
          seriesName?: string;
          value?: unknown;
        }[];
        const head = items[0] ? escapeHtml(xLabel(items[0].axisValue)) : "";
        const rows = items.map((it) => {
          const v = Array.isArray(it.value) ? Number(it.value[1]) : Number(it.value);
          return `${it.marker ?? ""}${escapeHtml(it.seriesName ?? "")}: <b>${escapeHtml(p.format(v))}</b>`;
        });
        return [`<b>${head}</b>`, ...rows].join("<br/>");
      },
    },
    xAxis: time
      ? {
          type: "time",
          axisLabel: { color: palette.muted, hideOverlap: true, formatter: (v: number) => xLabel(v) },
          axisLine: { lineStyle: { color: palette.grid } },
          splitLine: { show: false },
        }
      : {
          type: "category",
          data: p.plot.x.map(String),
          // Every category gets its label, wrapped to the bar's width rather than hidden.
          axisLabel: {
            color: palette.muted,
            interval: 0,
            width: Math.max(48, Math.floor(560 / Math.max(1, p.plot.x.length)) - 8),
            overflow: "break",
            formatter: (v: string) => xLabel(v),
          },
          axisLine: { lineStyle: { color: palette.grid } },
        },
    yAxis: {
      type: "value",
      // Axis ticks are round numbers: compact labels (1.5K, 2M) keep the plot area wide.
      axisLabel: { color: palette.muted, formatter: (v: number) => fmtCompact(v) },
      splitLine: { lineStyle: { color: palette.grid } },
    },
    series,
  };
}

/** What the chart plots, for tests: `{"x":[...],"series":{"key":[...]}}`. */
function seriesAttr(plot: Plot): string {
  const series: Record<string, number[]> = {};
  for (const s of plot.series) series[s.key] = s.values;
  return JSON.stringify({ x: plot.x, series });
}

export function Chart(props: ChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<ECharts | null>(null);

  useEffect(() => {
    if (!host.current) return undefined;
    const c = init(host.current, null, { renderer: "canvas" });
    chart.current = c;
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(host.current);
    return () => {
      ro.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);

  const option = useMemo(() => buildOption(props, PALETTES[props.theme]), [props.plot, props.theme, props.week, props.kind]);
  useEffect(() => {
    // replaceMerge: a surface or model that left the data must leave the chart too.
    chart.current?.setOption(option, { replaceMerge: ["series", "xAxis"] });
  }, [option]);

  const titleId = `${props.testId}-title`;
  const empty = props.plot.x.length === 0;
  return (
    <section class="card chart-card" aria-labelledby={titleId}>
      <div class="card-head">
        <h3 id={titleId}>{props.title}</h3>
        {props.actions}
      </div>
      <p class="card-sub">{props.description}</p>
      <div class="chart-wrap">
        <div
          ref={host}
          class="chart"
          style={{ height: `${props.height ?? 280}px` }}
          data-testid={props.testId}
          data-series={seriesAttr(props.plot)}
          role="img"
          aria-label={`${props.title}: ${props.description}`}
        />
        {empty && <p class="chart-empty">{props.emptyText ?? "No usage recorded in this range."}</p>}
      </div>
    </section>
  );
}
