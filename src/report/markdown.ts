/** Markdown rendering of runs and comparisons (pure), tables via markdown-table, charts via asciichart. */
import { seed003Section } from './terminal.js';
import { markdownTable } from 'markdown-table';
import asciichart from 'asciichart';
import type { ComparisonResult, RunResult } from '../metrics/result.js';
import { comparisonTable, queueTable, runTitle, stageTable, summaryTable, type TableData } from './tables.js';

function md(t: TableData): string {
  return markdownTable([t.head, ...t.rows]);
}

/** asciichart of responses/s and e2e p99 (ms) per second of the steady phase; '' with < 2 points. */
export function renderTimeSeriesChart(r: RunResult): string {
  const ts = r.timeseries;
  if (ts.length < 2) return '';
  const rps = asciichart.plot(ts.map((p) => p.responses), { height: 8 });
  const p99 = asciichart.plot(ts.map((p) => p.e2e_p99_us / 1000), { height: 8 });
  return `responses/s per second:\n\n${rps}\n\ne2e p99 per second (ms):\n\n${p99}\n`;
}

function configTable(r: RunResult): TableData {
  const flat = (o: unknown, prefix = ''): [string, string][] => Object.entries(o as Record<string, unknown>).flatMap(([k, v]) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? flat(v, `${prefix}${k}.`) : [[`${prefix}${k}`, JSON.stringify(v)]]);
  return { head: ['setting', 'value'], rows: [...flat(r.config), ['environment', `${r.environment.platform}, ${r.environment.cpus} CPUs, ${r.environment.cpu_model}, Node ${r.environment.node}`]] };
}

/** A run as a markdown document. */
export function renderRunMarkdown(r: RunResult): string {
  const out = [`# gatectl run: ${r.label}`, '', runTitle(r), '', `Started ${r.started_at}, finished ${r.finished_at}.`, '',
    '## Configuration', '', md(configTable(r)), '', '## Summary', '', md(summaryTable(r)), ''];
  const stages = stageTable(r);
  if (stages !== null) out.push(`## Server stages (${r.server!.source})`, '', md(stages), '');
  const q = queueTable(r);
  if (q !== null) out.push('## SendQueueStats', '', md(q), '');
  const chart = renderTimeSeriesChart(r);
  if (chart !== '') out.push('## Over time', '', '```', chart.trimEnd(), '```', '');
  if (r.warnings.length > 0) out.push('## Warnings', '', ...r.warnings.map((w) => `- ${w}`), '');
  return out.join('\n');
}

/** A comparison as a markdown document, with each run's summary after the table. */
export function renderComparisonMarkdown(cmp: ComparisonResult): string {
  return [
    '# gatectl compare: did the async redesign help?', '',
    `- before: ${runTitle(cmp.before)}`, `- after: ${runTitle(cmp.after)}`, '',
    md(comparisonTable(cmp)), '',
    ...seed003Section(cmp, md).map((l) => (l.startsWith('seed 003') ? `### ${l}\n` : `${l}\n`)),
    'Factor: before/after for latencies and errors (higher is better), after/before for responses/s. ' +
    'The last column quotes the seed reports; those figures were not measured here.', '',
    '## Before', '', renderRunMarkdown(cmp.before).replace(/^# .*\n/, '').replace(/^## /gm, '### '),
    '## After', '', renderRunMarkdown(cmp.after).replace(/^# .*\n/, '').replace(/^## /gm, '### '),
  ].join('\n');
}
