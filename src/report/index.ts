/** Pure renderers: terminal tables, markdown, HTML, charts (SVG/PNG), JSON. */
import type { ComparisonResult, RunResult } from '../metrics/result.js';
import { CAPACITY_SCHEMA } from '../metrics/capacity.js';
import { renderCapacityMarkdown, renderComparisonMarkdown, renderRunMarkdown, type MarkdownOptions } from './markdown.js';
import { renderCapacityTerminal, renderComparisonTerminal, renderRunTerminal } from './terminal.js';
import { renderHgrm, type HgrmOptions } from './hgrm.js';
import { renderHtml, type HtmlOptions } from './html.js';
import { availableCharts, buildChart, type ChartKind, type ReportInput } from './charts.js';
import { renderChartSvg, type ChartSize } from './svg.js';
import type { EncodedLatency } from '../metrics/histogram.js';
import { InvalidInputError } from '../errors.js';

export * from './terminal.js';
export * from './markdown.js';
export * from './tables.js';
export * from './format.js';
export * from './hgrm.js';
export * from './charts.js';
export * from './html.js';
export * from './svg.js';
export * from './percentiles.js';

/** Output formats of `gatectl report`. `png` is binary: render `svg`, then svgToPng. */
export const REPORT_FORMATS = ['markdown', 'json', 'table', 'hgrm', 'html', 'svg', 'png'] as const;
/** One output format. */
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Options of renderResult. */
export interface RenderOptions extends HgrmOptions, MarkdownOptions, Partial<HtmlOptions> {
  /** `hgrm` only: the µs histogram to render (the caller picks it, e.g. e2e or a server stage); default client.latency.e2e */
  latency?: EncodedLatency;
  /** `svg` only: the chart to render (default: the result's first, availableCharts) */
  chart?: ChartKind;
  /** `svg` only: image size in px (default 1000 × the chart's suggested height) */
  size?: Partial<ChartSize>;
}

/**
 * Renders a run, comparison or capacity search in a text `format`. `hgrm` renders one latency of a
 * run (opts.latency, default e2e) as HdrHistogram's percentile distribution, values in ms unless
 * `opts.scale` is `us`; `html` needs `opts.echartsSource`; `svg` renders `opts.chart`. Throws
 * InvalidInputError for what the result cannot give (hgrm of a comparison or capacity search, a
 * chart the result has not, `png`, which is binary).
 */
export function renderResult(result: ReportInput, format: ReportFormat, opts: RenderOptions = {}): string {
  if (format === 'hgrm') {
    if (result.schema !== 'gatectl.run/v1') {
      throw new InvalidInputError('--format hgrm renders one run\'s latency histogram: give a result file written by gatectl load, not a comparison or a capacity search');
    }
    return renderHgrm(opts.latency ?? result.client.latency.e2e, opts);
  }
  if (format === 'json') return JSON.stringify(result, null, 2) + '\n';
  if (format === 'html') {
    if (opts.echartsSource === undefined) throw new Error('renderResult html: opts.echartsSource (the ECharts bundle) is required');
    return renderHtml(result, { ...opts, echartsSource: opts.echartsSource });
  }
  if (format === 'svg') return renderChartSvg(buildChart(result, opts.chart ?? availableCharts(result)[0]!), opts.size ?? {});
  if (format === 'png') throw new InvalidInputError('--format png is binary: render svg and convert it with svgToPng');
  const md = opts.images !== undefined ? { images: opts.images } : {};
  if (result.schema === CAPACITY_SCHEMA) return format === 'markdown' ? renderCapacityMarkdown(result, md) : renderCapacityTerminal(result);
  const isCmp = result.schema === 'gatectl.compare/v1';
  if (format === 'markdown') return isCmp ? renderComparisonMarkdown(result as ComparisonResult, md) : renderRunMarkdown(result as RunResult, md);
  return isCmp ? renderComparisonTerminal(result as ComparisonResult) : renderRunTerminal(result as RunResult);
}
