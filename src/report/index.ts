/** Pure renderers: terminal tables, markdown, charts, JSON. */
import type { ComparisonResult, RunResult } from '../metrics/result.js';
import { renderComparisonMarkdown, renderRunMarkdown } from './markdown.js';
import { renderComparisonTerminal, renderRunTerminal } from './terminal.js';

export * from './terminal.js';
export * from './markdown.js';
export * from './tables.js';
export * from './format.js';

/** Output formats of `gatectl report`. */
export const REPORT_FORMATS = ['markdown', 'json', 'table'] as const;
/** One output format. */
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Renders a run or comparison in `format`. */
export function renderResult(result: RunResult | ComparisonResult, format: ReportFormat): string {
  if (format === 'json') return JSON.stringify(result, null, 2) + '\n';
  const isCmp = result.schema === 'gatectl.compare/v1';
  if (format === 'markdown') return isCmp ? renderComparisonMarkdown(result as ComparisonResult) : renderRunMarkdown(result as RunResult);
  return isCmp ? renderComparisonTerminal(result as ComparisonResult) : renderRunTerminal(result as RunResult);
}
