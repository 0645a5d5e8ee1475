/** Markdown rendering of runs and comparisons (pure), tables via markdown-table, charts via asciichart. */
import { capacitySlo, capacityVerdict, roundsSection, seed003Section } from './terminal.js';
import { analyzeComparison, type Comparison } from '../metrics/compare.js';
import type { CapacityResult } from '../metrics/capacity.js';
import { markdownTable } from 'markdown-table';
import asciichart from 'asciichart';
import type { RunResult } from '../metrics/result.js';
import { capacityConfigTable, capacityTable, comparisonHeadline, comparisonNotes, comparisonTable, comparisonTitle, comparisonWarnings, configTable, queueTable, runTitle, stageTable, summaryTable, type TableData } from './tables.js';
import { cohortComparisonTable, cohortTable } from './cohorts.js';

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

/** A chart image a markdown report links: alt text and the link (relative to the markdown file). */
export interface MarkdownImage {
  title: string;
  href: string;
}

/** Options of the markdown renderers. */
export interface MarkdownOptions {
  /**
   * Chart images to link (`report --format markdown --images DIR`, written as SVG by the command).
   * When given, they replace the asciichart plots; an empty list leaves the document without charts.
   */
  images?: MarkdownImage[];
}

function imageLines(images: MarkdownImage[]): string[] {
  return images.length === 0 ? [] : ['## Charts', '', ...images.flatMap((i) => [`![${i.title}](${encodeURI(i.href)})`, '']), ''];
}

/** A run as a markdown document. */
export function renderRunMarkdown(r: RunResult, opts: MarkdownOptions = {}): string {
  const out = [`# gatectl run: ${r.label}`, '', runTitle(r), '', `Started ${r.started_at}, finished ${r.finished_at}.`, '',
    '## Configuration', '', md(configTable(r)), '', '## Summary', '', md(summaryTable(r)), ''];
  const stages = stageTable(r);
  if (stages !== null) out.push(`## Server stages (${r.server!.source})`, '', md(stages), '');
  const cohorts = cohortTable(r);
  if (cohorts !== null) out.push('## Healthy and slow sessions (--slow-clients)', '', md(cohorts), '');
  const q = queueTable(r);
  if (q !== null) out.push('## SendQueueStats', '', md(q), '');
  if (opts.images !== undefined) {
    out.push(...imageLines(opts.images));
  } else {
    const chart = renderTimeSeriesChart(r);
    if (chart !== '') out.push('## Over time', '', '```', chart.trimEnd(), '```', '');
  }
  if (r.warnings.length > 0) out.push('## Warnings', '', ...r.warnings.map((w) => `- ${w}`), '');
  return out.join('\n');
}

/** The healthy-against-slow cohort table of a `--slow-clients` comparison, as markdown lines (none otherwise). */
function cohortLines(cmp: Comparison): string[] {
  const t = cohortComparisonTable(cmp);
  return t === null ? [] : ['### Healthy and slow sessions apart', '', 'The gateway\'s send-queue stages per client cohort; factor = before ÷ after.', '', md(t), ''];
}

/** A comparison as a markdown document: title, table, every round, seed 003 tables, notes, warnings (with side and round), then each side's representative run. */
export function renderComparisonMarkdown(cmp: Comparison, opts: MarkdownOptions = {}): string {
  const side = (r: RunResult) => renderRunMarkdown(r, opts.images !== undefined ? { images: [] } : {}).replace(/^# .*\n/, '').replace(/^## /gm, '### ');
  const a = analyzeComparison(cmp);
  const w = comparisonWarnings(cmp);
  const rounds = cmp.rounds !== undefined && cmp.rounds.done > 1 ? ` (the median round of ${cmp.rounds.done}: round ${cmp.rounds.representative.before + 1} / ${cmp.rounds.representative.after + 1})` : '';
  return [
    `# ${comparisonTitle(cmp, a)}`, '',
    `- before: ${runTitle(cmp.before)}`, `- after: ${runTitle(cmp.after)}`, '',
    ...(comparisonHeadline(cmp, a) !== null ? [`**${comparisonHeadline(cmp, a)!}**`, ''] : []),
    md(comparisonTable(cmp, a)), '',
    ...roundsSection(cmp, a, md).map((l) => (l.startsWith('every round') ? `### Every round\n` : `${l}\n`)),
    ...seed003Section(cmp, md).map((l) => (l.startsWith('seed 003') ? `### ${l}\n` : `${l}\n`)),
    ...cohortLines(cmp),
    ...comparisonNotes(cmp, a).map((l) => `- ${l}`), '',
    ...(w.length > 0 ? ['## Warnings', '', ...w.map((x) => `- ${x.where}: ${x.text}`), ''] : []),
    ...(opts.images !== undefined ? imageLines(opts.images) : []),
    `## Before${rounds}`, '', side(cmp.before),
    '## After', '', side(cmp.after),
  ].join('\n');
}

/** A capacity search (`load --find-max`) as a markdown document: SLO, verdict, steps, charts, configuration. */
export function renderCapacityMarkdown(c: CapacityResult, opts: MarkdownOptions = {}): string {
  return [
    `# gatectl capacity search: ${c.label}`, '',
    `SLO ${capacitySlo(c)} · ${c.step_ms / 1000} s per step · started ${c.started_at}, finished ${c.finished_at}.`, '',
    `**${capacityVerdict(c)}**`, '',
    '## Steps', '', md(capacityTable(c)), '',
    ...imageLines(opts.images ?? []),
    '## Configuration', '', md(capacityConfigTable(c)), '',
  ].join('\n');
}
