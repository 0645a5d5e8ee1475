/**
 * Chart options (Apache ECharts) of runs, comparisons and capacity searches, as pure functions of the
 * result. One option serves both outputs: the HTML report hands it to ECharts in the browser, and
 * `renderChartSvg` (svg.ts) hands it to ECharts' server-side SVG renderer for `--format svg|png` and
 * the markdown report's images. Options are JSON data; functions (axis labels, tooltips) are named
 * references resolved by chart-fns.ts.
 *
 * Units: latencies are plotted in µs (the histograms' unit) on log axes labelled µs/ms/s; rates in
 * requests/s; time in seconds since the steady phase began. Every plotted figure is read from the
 * result (histograms decoded, summaries, per-second points): nothing is interpolated or smoothed.
 * A log axis cannot show 0: a 0 µs latency (below the histograms' 1 µs resolution) and a second with
 * no responses (its e2e p99 is stored as 0) are left as gaps, and the charts say so.
 */
import * as hdr from 'hdr-histogram-js';
import type { CapacityResult, CapacityStep } from '../metrics/capacity.js';
import { CAPACITY_SCHEMA } from '../metrics/capacity.js';
import { parseThreshold } from '../metrics/thresholds.js';
import { decodeHistogram, type EncodedLatency, type LatencySummary } from '../metrics/histogram.js';
import type { ComparisonResult, RunResult, TimeSeriesPoint } from '../metrics/result.js';
import { SERVER_STAGES } from '../metrics/stages.js';
import { InvalidInputError } from '../errors.js';
import { fnRef } from './chart-fns.js';
import { capacitySlo } from './terminal.js';

/** Anything `gatectl report` renders: a run, a comparison or a capacity search. */
export type ReportInput = RunResult | ComparisonResult | CapacityResult;

/** The charts `--chart` can name. */
export const CHART_KINDS = ['spectrum', 'timeseries', 'stages', 'capacity'] as const;
/** One chart kind. */
export type ChartKind = (typeof CHART_KINDS)[number];

/** A chart ready to render. */
export interface ChartSpec {
  kind: ChartKind;
  /** heading of the chart in the HTML report and alt text of its image in markdown */
  title: string;
  /** suggested height in px (legends grow with the number of series); width is the page's or `--width` */
  height: number;
  /** the ECharts option: JSON data with `{ $fn }` function references (chart-fns.ts) */
  option: Record<string, unknown>;
  /** names of the series drawn, as in the legend */
  series: string[];
}

/** One side of a chart: a run and the prefix of its series names ('' for a single run). */
interface Side {
  prefix: string;
  run: RunResult;
  /** the "before" side of a comparison is drawn dashed */
  dashed: boolean;
}

/** ECharts 5's default palette, extended to 12 colours (one per latency of the spectrum). */
const PALETTE = ['#5470c6', '#91cc75', '#fac858', '#ee6666', '#73c0de', '#3ba272', '#fc8452', '#9a60b4', '#ea7ccc', '#2f4554', '#61a0a8', '#d48265'];

const BASE = { animation: false, backgroundColor: '#ffffff', textStyle: { fontFamily: 'Liberation Sans, Arial, Helvetica, sans-serif' } };

function kindOf(input: ReportInput): 'run' | 'comparison' | 'capacity' {
  return input.schema === CAPACITY_SCHEMA ? 'capacity' : input.schema === 'gatectl.compare/v1' ? 'comparison' : 'run';
}

function sidesOf(input: RunResult | ComparisonResult): Side[] {
  if (input.schema === 'gatectl.run/v1') return [{ prefix: '', run: input, dashed: false }];
  const [b, a] = sideNames(input.before.label, input.after.label);
  return [{ prefix: `${b}: `, run: input.before, dashed: true }, { prefix: `${a}: `, run: input.after, dashed: false }];
}

/** Names of a comparison's sides: the run labels, or `before`/`after` when the labels are the same. */
export function sideNames(before: string, after: string): [string, string] {
  return before === after ? ['before', 'after'] : [before, after];
}

/** The charts a result has, in display order: a run or comparison has spectrum and timeseries, stages when it has server figures, capacity when a comparison made capacity searches; a capacity search has capacity. */
export function availableCharts(input: ReportInput): ChartKind[] {
  if (input.schema === CAPACITY_SCHEMA) return ['capacity'];
  const sides = sidesOf(input);
  const out: ChartKind[] = ['spectrum', 'timeseries'];
  if (stageNames(sides).length > 0) out.push('stages');
  if (input.schema === 'gatectl.compare/v1' && input.extras?.capacity !== undefined) out.push('capacity');
  return out;
}

/**
 * The chart `kind` of a result. Throws InvalidInputError when the result has no such chart (e.g.
 * `capacity` of a plain run, `stages` of a run without server figures), listing the ones it has.
 */
export function buildChart(input: ReportInput, kind: ChartKind): ChartSpec {
  const have = availableCharts(input);
  if (!have.includes(kind)) {
    throw new InvalidInputError(`--chart ${kind}: a ${kindOf(input)} result has no ${kind} chart${kind === 'stages' ? ' (no server stage figures)' : ''}; use --chart ${have.join(' or --chart ')}`);
  }
  if (input.schema === CAPACITY_SCHEMA) return capacityChart([{ prefix: '', cap: input, dashed: false }]);
  const sides = sidesOf(input);
  switch (kind) {
    case 'spectrum': return spectrumChart(sides);
    case 'timeseries': return timeseriesChart(sides);
    case 'stages': return stagesChart(sides);
    case 'capacity': {
      const cap = (input as ComparisonResult).extras!.capacity!;
      return capacityChart([{ prefix: sides[0]!.prefix, cap: cap.before, dashed: true }, { prefix: sides[1]!.prefix, cap: cap.after, dashed: false }]);
    }
  }
}

/** Every chart of a result (availableCharts order). */
export function buildCharts(input: ReportInput): ChartSpec[] {
  return availableCharts(input).map((k) => buildChart(input, k));
}

// ---------------------------------------------------------------------------------------------
// spectrum

/**
 * HdrHistogram's percentile distribution of a µs histogram as points `[1/(1−p), value µs]`: the
 * rows of the `.hgrm` output (hdr-histogram-js' percentile iterator, 5 ticks per half distance)
 * without the last one (p = 100 %, infinite on this axis). Zero values become null (log axis).
 */
export function spectrumPoints(latency: EncodedLatency): [number, number | null][] {
  const h = decodeHistogram(latency.histogram) as unknown as hdr.JsHistogram;
  if (h.totalCount === 0) return [];
  const it = h.percentileIterator;
  it.reset(5);
  const out: [number, number | null][] = [];
  while (it.hasNext()) {
    const v = it.next();
    if (v.percentileLevelIteratedTo >= 100) break;
    out.push([1 / (1 - v.percentileLevelIteratedTo / 100), v.valueIteratedTo > 0 ? v.valueIteratedTo : null]);
  }
  return out;
}

/** Client latencies then server stages of the sides, in display order (SERVER_STAGES first), each with a count on some side. */
function spectrumMetrics(sides: Side[]): { name: string; pick: (r: RunResult) => EncodedLatency | undefined }[] {
  const client = (name: string) => (r: RunResult) => (r.client.latency as unknown as Record<string, EncodedLatency | undefined>)[name];
  const out = [{ name: 'e2e', pick: client('e2e') }];
  if (sides.some((s) => s.run.config.model !== 'closed' && s.run.client.latency.e2e_uncorrected !== undefined)) {
    out.push({ name: 'e2e_uncorrected', pick: (r) => (r.config.model === 'closed' ? undefined : r.client.latency.e2e_uncorrected) });
  }
  for (const st of stageNames(sides)) out.push({ name: st, pick: (r) => r.server?.stages[st] });
  return out;
}

/** Server stages with a count on some side: SERVER_STAGES order, then any other stage in the files. */
function stageNames(sides: Side[]): string[] {
  const names = new Set<string>();
  for (const s of sides) for (const k of Object.keys(s.run.server?.stages ?? {})) names.add(k);
  const ordered = [...SERVER_STAGES.filter((n) => names.has(n)), ...[...names].filter((n) => !(SERVER_STAGES as readonly string[]).includes(n))];
  return ordered.filter((n) => sides.some((s) => (s.run.server?.stages[n]?.summary.count ?? 0) > 0));
}

function lineStyle(dashed: boolean, width: number) {
  return { type: dashed ? 'dashed' : 'solid', width };
}

function legendHeight(n: number): number {
  return 110 + n * 21;
}

function spectrumChart(sides: Side[]): ChartSpec {
  const series: Record<string, unknown>[] = [];
  let xMax = 10;
  spectrumMetrics(sides).forEach((m, i) => {
    for (const side of sides) {
      const lat = m.pick(side.run);
      if (lat === undefined || typeof lat.histogram !== 'string' || lat.summary.count === 0) continue;
      const data = spectrumPoints(lat);
      xMax = Math.max(xMax, ...data.map((d) => d[0]));
      series.push({
        type: 'line', name: `${side.prefix}${m.name}`, showSymbol: false, connectNulls: false, data,
        lineStyle: lineStyle(side.dashed, m.name.startsWith('e2e') ? 2.5 : 1.5), itemStyle: { color: PALETTE[i % PALETTE.length] },
        emphasis: { focus: 'series' },
      });
    }
  });
  const ticks = [1, 2];
  for (let x = 10; ; x *= 10) {
    ticks.push(x);
    if (x >= xMax || x >= 1e7) break;
  }
  const names = series.map((s) => s.name as string);
  return {
    kind: 'spectrum', title: 'Latency spectrum', height: Math.max(460, legendHeight(names.length)), series: names,
    option: {
      ...BASE,
      title: { text: 'Latency spectrum', subtext: 'HdrHistogram percentile distribution · x: percentile as 1/(1−p), log · y: latency, log · 0 µs values not drawn' + (sides.length > 1 ? ' · dashed: before' : ''), left: 10 },
      tooltip: { trigger: 'item', formatter: fnRef('spectrumTooltip') },
      legend: { orient: 'vertical', right: 10, top: 60, data: names },
      grid: { left: 80, right: 260, top: 80, bottom: 50 },
      xAxis: {
        type: 'log', min: 1, max: ticks[ticks.length - 1], name: 'percentile', nameLocation: 'middle', nameGap: 28,
        axisLabel: { customValues: ticks, formatter: fnRef('percentileLabel') }, axisTick: { customValues: ticks }, splitLine: { show: true },
      },
      yAxis: { type: 'log', name: 'latency', nameLocation: 'middle', nameGap: 52, axisLabel: { formatter: fnRef('usLabel') } },
      series,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// time series

const KNOWN_POINT_FIELDS = new Set(['t_s', 'connected', 'requests', 'responses', 'errors', 'e2e_p99_us', 'e2e_p50_us', 'schedule_lag_p99_us']);

/** Extra numeric per-second fields a result may carry (newer writers): `*_us` go on the latency axis, others on the count axis. */
function extraFields(sides: Side[]): string[] {
  const names = new Set<string>();
  for (const s of sides) for (const p of s.run.timeseries) for (const [k, v] of Object.entries(p)) if (!KNOWN_POINT_FIELDS.has(k) && typeof v === 'number') names.add(k);
  return [...names].sort();
}

function timeseriesChart(sides: Side[]): ChartSpec {
  const counts: { field: string; name: string; axis: number }[] = [
    { field: 'requests', name: 'requests/s', axis: 0 }, { field: 'responses', name: 'responses/s', axis: 0 },
    { field: 'errors', name: 'errors/s', axis: 0 }, { field: 'connected', name: 'clients connected', axis: 1 },
  ];
  const latencies: { field: string; name: string }[] = [{ field: 'e2e_p99_us', name: 'e2e p99 per second' }];
  // per-second p50 and schedule lag p99 (issue 12), in results written since they were added
  if (sides.some((s) => s.run.timeseries.some((p) => p.e2e_p50_us !== undefined))) latencies.unshift({ field: 'e2e_p50_us', name: 'e2e p50 per second' });
  if (sides.some((s) => s.run.timeseries.some((p) => p.schedule_lag_p99_us !== undefined))) latencies.push({ field: 'schedule_lag_p99_us', name: 'schedule lag p99 per second' });
  for (const f of extraFields(sides)) {
    if (f.endsWith('_us')) latencies.push({ field: f, name: f.replace(/_us$/, '') });
    else counts.push({ field: f, name: f, axis: 0 });
  }
  const value = (p: TimeSeriesPoint, f: string) => (p as unknown as Record<string, number | undefined>)[f];
  const series: Record<string, unknown>[] = [];
  let color = 0;
  for (const c of counts) {
    for (const side of sides) {
      series.push({
        type: 'line', name: `${side.prefix}${c.name}`, xAxisIndex: c.axis, yAxisIndex: c.axis, showSymbol: false,
        data: side.run.timeseries.map((p) => [p.t_s, value(p, c.field) ?? null]),
        lineStyle: lineStyle(side.dashed, 2), itemStyle: { color: PALETTE[color % PALETTE.length] },
      });
    }
    color++;
  }
  for (const l of latencies) {
    for (const side of sides) {
      series.push({
        type: 'line', name: `${side.prefix}${l.name}`, xAxisIndex: 2, yAxisIndex: 2, showSymbol: false,
        data: side.run.timeseries.map((p) => { const v = value(p, l.field); return [p.t_s, v !== undefined && v > 0 ? v : null]; }),
        lineStyle: lineStyle(side.dashed, 2), itemStyle: { color: PALETTE[color % PALETTE.length] }, tooltip: { valueFormatter: fnRef('usLabel') },
      });
    }
    color++;
  }
  // stage boundaries of a scenario (the first side's; a comparison runs the same schedule twice)
  const stages = sides[0]!.run.stages ?? [];
  if (stages.length > 1 && series.length > 0) {
    const areas = stages.map((s, i) => [
      { name: s.label ?? `${s.kind} ${i + 1}`, xAxis: s.start_ms / 1000, itemStyle: { color: i % 2 === 0 ? 'rgba(84,112,198,0.06)' : 'rgba(145,204,117,0.10)' } },
      { xAxis: s.end_ms / 1000 },
    ]);
    const first = series.find((s) => s.xAxisIndex === 0)!;
    first.markArea = { silent: true, label: { position: 'insideTop', color: '#555' }, data: areas };
    for (const grid of [1, 2]) {
      const firstBelow = series.find((s) => s.xAxisIndex === grid);
      if (firstBelow !== undefined) firstBelow.markArea = { silent: true, label: { show: false }, data: areas };
    }
  }
  const tMax = Math.max(1, ...sides.flatMap((s) => s.run.timeseries.map((p) => p.t_s)), ...stages.map((s) => s.end_ms / 1000));
  const names = series.map((s) => s.name as string);
  const x = (gridIndex: number, withName: boolean) => ({
    type: 'value', gridIndex, min: 0, max: Math.ceil(tMax), axisLabel: { formatter: fnRef('secondsLabel') },
    ...(withName ? { name: 'seconds since the steady phase began', nameLocation: 'middle', nameGap: 28 } : {}),
  });
  const height = Math.max(600, legendHeight(names.length));
  const plot = height - 105 - 50 - 2 * 40;
  const grid = (top: number, h: number) => ({ left: 80, right: 290, top, height: Math.round(h) });
  return {
    kind: 'timeseries', title: 'Over time', height, series: names,
    option: {
      ...BASE,
      title: { text: 'Over time (one point per second of the steady phase)', subtext: 'top: counts per second · middle: clients connected · bottom: e2e p50/p99 of the responses received and schedule lag p99 of the requests sent in each second\n(log axis; seconds with no response, and zero lag, not drawn)' + (sides.length > 1 ? ' · dashed: before' : ''), left: 10, subtextStyle: { lineHeight: 16 } },
      tooltip: { trigger: 'axis' },
      axisPointer: { link: [{ xAxisIndex: 'all' }] },
      legend: { orient: 'vertical', right: 10, top: 75, data: names },
      grid: [grid(105, plot * 0.45), grid(105 + plot * 0.45 + 40, plot * 0.17), grid(105 + plot * 0.62 + 80, plot * 0.38)],
      xAxis: [x(0, false), x(1, false), x(2, true)],
      yAxis: [
        { type: 'value', gridIndex: 0, name: 'per second', nameLocation: 'middle', nameGap: 52, min: 0 },
        { type: 'value', gridIndex: 1, name: 'clients', nameLocation: 'middle', nameGap: 52, min: 0, splitNumber: 2 },
        { type: 'log', gridIndex: 2, name: 'latency per second', nameLocation: 'middle', nameGap: 52, axisLabel: { formatter: fnRef('usLabel') } },
      ],
      series,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// stage breakdown

function stagesChart(sides: Side[]): ChartSpec {
  const stages = stageNames(sides);
  const shades = [['#9fb3e6', '#3a56b0'], ['#b9e0a5', '#3ba272']];
  const series: Record<string, unknown>[] = [];
  sides.forEach((side, si) => {
    for (const [pi, p] of (['p50_us', 'p99_us'] as const).entries()) {
      series.push({
        type: 'bar', name: `${side.prefix}${p.replace('_us', '')}`, barMaxWidth: 14,
        data: stages.map((st) => {
          const s: LatencySummary | undefined = side.run.server?.stages[st]?.summary;
          return s === undefined || s.count === 0 || s[p] <= 0 ? null : s[p];
        }),
        itemStyle: { color: shades[si % 2]![pi] }, label: { show: true, position: 'right', fontSize: 10, formatter: fnRef('barValueLabel') },
      });
    }
  });
  const names = series.map((s) => s.name as string);
  return {
    kind: 'stages', title: 'Server stages of one request', height: Math.max(360, 120 + stages.length * (sides.length * 2 * 12 + 12)), series: names,
    option: {
      ...BASE,
      title: { text: 'Server stages of one request (p50 and p99)', subtext: 'from the gateway\'s stage histograms · log axis · stages with no sample or 0 µs not drawn', left: 10 },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: fnRef('usLabel') },
      legend: { top: 70, left: 10, data: names },
      grid: { left: 170, right: 80, top: 105, bottom: 50 },
      xAxis: { type: 'log', min: 1, name: 'latency (log axis from 1 µs: a 1 µs bar has no length, only its label)', nameLocation: 'middle', nameGap: 28, axisLabel: { formatter: fnRef('usLabel') } },
      yAxis: { type: 'category', data: stages, inverse: true },
      series,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// capacity

interface CapSide {
  prefix: string;
  cap: CapacityResult;
  dashed: boolean;
}

/** The e2e latency SLOs of a capacity search: expression, limit (µs) and the summary key it bounds. */
function latencySlos(cap: CapacityResult): { expr: string; limitUs: number; key: keyof LatencySummary | null }[] {
  const out: { expr: string; limitUs: number; key: keyof LatencySummary | null }[] = [];
  for (const expr of cap.slo) {
    let t;
    try {
      t = parseThreshold(expr);
    } catch {
      continue;
    }
    if (t.metric !== 'e2e' || t.unit !== 'µs' || t.stat === 'count') continue;
    const key: keyof LatencySummary | null = t.percentile === 50 ? 'p50_us' : t.percentile === 90 ? 'p90_us' : t.percentile === 99 ? 'p99_us'
      : t.percentile === 99.9 ? 'p999_us' : t.stat === 'max' ? 'max_us' : t.stat === 'avg' ? 'mean_us' : null;
    out.push({ expr: t.expr, limitUs: t.limit, key });
  }
  return out;
}

const CAP_KEYS: { key: keyof LatencySummary; name: string }[] = [
  { key: 'p50_us', name: 'e2e p50' }, { key: 'p90_us', name: 'e2e p90' }, { key: 'p99_us', name: 'e2e p99' }, { key: 'p999_us', name: 'e2e p99.9' }, { key: 'max_us', name: 'e2e max' },
];

function capacityChart(sides: CapSide[]): ChartSpec {
  const keys = sides.length > 1 ? CAP_KEYS.filter((k) => k.key === 'p50_us' || k.key === 'p99_us') : CAP_KEYS;
  const series: Record<string, unknown>[] = [];
  const byRate = (c: CapacityResult): CapacityStep[] => [...c.steps].sort((a, b) => a.rate - b.rate);
  const slos = latencySlos(sides[0]!.cap);
  const extraKeys = slos.map((s) => s.key).filter((k): k is keyof LatencySummary => k !== null && !keys.some((x) => x.key === k));
  const shown = [...keys, ...extraKeys.map((k) => ({ key: k, name: `e2e ${k.replace('_us', '')}` }))];
  for (const side of sides) {
    const steps = byRate(side.cap);
    shown.forEach((k, i) => {
      const s: Record<string, unknown> = {
        type: 'line', name: `${side.prefix}${k.name}`, yAxisIndex: 0, symbolSize: 7,
        data: steps.map((st) => ({ value: [st.rate, st.e2e[k.key] > 0 ? st.e2e[k.key] : null], symbol: st.ok ? 'circle' : 'triangle' })),
        lineStyle: lineStyle(side.dashed, k.key === 'p99_us' ? 2.5 : 1.5), itemStyle: { color: PALETTE[i % PALETTE.length] }, tooltip: { valueFormatter: fnRef('usLabel') },
      };
      const lines: Record<string, unknown>[] = [];
      for (const slo of slos) {
        if (slo.key === k.key || (slo.key === null && i === 0)) lines.push({ yAxis: slo.limitUs, name: `SLO ${slo.expr}`, lineStyle: { color: '#d62728', type: 'solid', width: 1.5 }, label: { formatter: `SLO ${slo.expr}`, position: 'insideStartTop', color: '#d62728' } });
      }
      if (i === 0) {
        const held = side.cap.max_rate_held;
        if (held !== null) lines.push({ xAxis: held, lineStyle: { color: '#2ca02c', type: 'solid', width: 1.5 }, label: { formatter: `${side.prefix}max held ${held}/s${side.cap.capped ? ' (--max-rate)' : ''}`, position: 'insideEndTop', color: '#2ca02c' } });
        const broke = steps.find((st) => !st.ok && (held === null || st.rate > held));
        if (broke !== undefined) lines.push({ xAxis: broke.rate, lineStyle: { color: '#d62728', type: 'dashed', width: 1 }, label: { formatter: `${side.prefix}broke ${broke.rate}/s`, position: 'insideEndBottom', color: '#d62728' } });
      }
      if (lines.length > 0) s.markLine = { silent: true, symbol: 'none', data: lines };
      series.push(s);
    });
    series.push({
      type: 'line', name: `${side.prefix}responses/s (achieved)`, yAxisIndex: 1, symbolSize: 5,
      data: steps.map((st) => [st.rate, st.responses_per_s]), lineStyle: { type: 'dotted', width: 1.5 }, itemStyle: { color: '#888888' }, tooltip: { valueFormatter: fnRef('rateLabel') },
    });
  }
  const rates = [...new Set(sides.flatMap((s) => s.cap.steps.map((st) => st.rate)))].sort((a, b) => a - b);
  const names = series.map((s) => s.name as string);
  const lo = rates[0] ?? 1;
  const hi = rates[rates.length - 1] ?? 2;
  const c0 = sides[0]!.cap;
  // the y axis reaches the SLO lines (ECharts sizes an axis by its data, and would leave a line above it out)
  const top = Math.max(1, ...sides.flatMap((sd) => sd.cap.steps.flatMap((st) => shown.map((k) => st.e2e[k.key]))), ...slos.map((sl) => sl.limitUs));
  const yMax = 10 ** Math.ceil(Math.log10(top * 1.05));
  return {
    kind: 'capacity', title: 'Capacity: latency against offered rate', height: Math.max(460, legendHeight(names.length)), series: names,
    option: {
      ...BASE,
      title: {
        text: 'Capacity search: latency against offered rate',
        subtext: `SLO ${capacitySlo(c0)} · ${c0.step_ms / 1000} s per step · ● held, ▲ broke · log axes`, left: 10,
      },
      tooltip: { trigger: 'axis' },
      legend: { orient: 'vertical', right: 10, top: 60, data: names },
      grid: { left: 80, right: 300, top: 80, bottom: 50 },
      xAxis: {
        type: 'log', logBase: 2, min: lo / 1.25, max: hi * 1.25, name: 'offered rate (requests/s)', nameLocation: 'middle', nameGap: 28,
        axisLabel: { customValues: rates }, axisTick: { customValues: rates }, splitLine: { show: true },
      },
      yAxis: [
        { type: 'log', max: yMax, name: 'e2e latency', nameLocation: 'middle', nameGap: 52, axisLabel: { formatter: fnRef('usLabel') } },
        { type: 'value', name: 'responses/s (achieved)', nameLocation: 'middle', nameGap: 48, min: 0, position: 'right', splitLine: { show: false } },
      ],
      series,
    },
  };
}
