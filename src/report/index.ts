/** Pure renderers: terminal tables, markdown, charts, JSON. */
import type { ComparisonResult, RunResult } from '../metrics/result.js';
import { renderComparisonMarkdown, renderRunMarkdown } from './markdown.js';
import { renderComparisonTerminal, renderRunTerminal } from './terminal.js';
import { renderHgrm, type HgrmOptions } from './hgrm.js';
import type { EncodedLatency } from '../metrics/histogram.js';
import { InvalidInputError } from '../errors.js';

export * from './terminal.js';
export * from './markdown.js';
export * from './tables.js';
export * from './format.js';
export * from './hgrm.js';

/** Output formats of `gatectl report`. */
export const REPORT_FORMATS = ['markdown', 'json', 'table', 'hgrm'] as const;
/** One output format. */
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Options of renderResult. */
export interface RenderOptions extends HgrmOptions {
  /** `hgrm` only: the µs histogram to render (the caller picks it, e.g. e2e or a server stage); default client.latency.e2e */
  latency?: EncodedLatency;
}

/**
 * Renders a run or comparison in `format`. `hgrm` renders one latency of a run (opts.latency, default
 * e2e) as HdrHistogram's percentile distribution, values in ms unless `opts.scale` is `us`; it
 * throws InvalidInputError for a comparison (give one run's file).
 */
export function renderResult(result: RunResult | ComparisonResult, format: ReportFormat, opts: RenderOptions = {}): string {
  if (format === 'hgrm') {
    if (result.schema !== 'gatectl.run/v1') {
      throw new InvalidInputError('--format hgrm renders one run\'s latency histogram: give a result file written by gatectl load, not a comparison');
    }
    return renderHgrm(opts.latency ?? result.client.latency.e2e, opts);
  }
  if (format === 'json') return JSON.stringify(result, null, 2) + '\n';
  const isCmp = result.schema === 'gatectl.compare/v1';
  if (format === 'markdown') return isCmp ? renderComparisonMarkdown(result as ComparisonResult) : renderRunMarkdown(result as RunResult);
  return isCmp ? renderComparisonTerminal(result as ComparisonResult) : renderRunTerminal(result as RunResult);
}
