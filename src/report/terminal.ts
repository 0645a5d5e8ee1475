/** Terminal rendering of runs and comparisons with cli-table3 (pure: returns strings). */
import Table from 'cli-table3';
import { fmtUs } from './format.js';
import type { ComparisonResult, RunResult } from '../metrics/result.js';
import { capacityTable, comparisonHeadline, roundsTable, comparisonNotes, comparisonTable, comparisonTitle, comparisonWarnings, seed003Tables, queueTable, runTitle, scheduleStagesTable, stageTable, summaryTable, type TableData } from './tables.js';
import type { CapacityResult } from '../metrics/capacity.js';
import { cohortComparisonTable, cohortTable } from './cohorts.js';
import { analyzeComparison, type Comparison, type ComparisonAnalysis } from '../metrics/compare.js';

/** Draws a TableData as a box table without colours. */
export function drawTable(t: TableData): string {
  const table = new Table({ head: t.head, style: { head: [], border: [] }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
  for (const r of t.rows) table.push(r);
  return table.toString();
}

function warnings(r: RunResult): string {
  return r.warnings.length === 0 ? '' : `\n${r.warnings.map((w) => `WARNING: ${w}`).join('\n')}\n`;
}

/**
 * The run's lost sessions in one line (issue 15), or null when none was lost: the outage windows
 * (s since the steady start), requests lost on disconnect, reconnects and time disconnected.
 */
export function outageLine(r: RunResult): string | null {
  const c = r.client;
  if ((c.disconnects ?? 0) === 0) return null;
  const ws = (c.outages ?? []).map((w) => `${(w.start_ms / 1000).toFixed(1)}-${(w.end_ms / 1000).toFixed(1)} s (${w.duration_ms} ms, ${w.clients_lost} sessions lost, ${w.recovered ? 'recovered' : 'NOT recovered'})`);
  return `outages: ${ws.join('; ')} · lost_on_disconnect ${c.lost_on_disconnect ?? 0} · reconnects ${c.reconnects ?? 0} (${c.reconnect_failures ?? 0} failed attempts)` +
    ` · disconnected: ${c.disconnected?.clients ?? 0} clients, longest ${c.disconnected?.max_ms ?? 0} ms`;
}

/** A run: title, client summary, outages, server stages, queue stats, warnings. */
export function renderRunTerminal(r: RunResult): string {
  const parts = [`gatectl load — ${runTitle(r)}`, drawTable(summaryTable(r))];
  const outages = outageLine(r);
  if (outages !== null) parts.push(outages);
  const sched = scheduleStagesTable(r);
  if (sched !== null) parts.push('schedule stages (by intended send time):', drawTable(sched));
  const stages = stageTable(r);
  if (stages !== null) parts.push(`server stages (${r.server!.source}):`, drawTable(stages));
  const cohorts = cohortTable(r);
  if (cohorts !== null) parts.push(drawTable(cohorts));
  const q = queueTable(r);
  if (q !== null) parts.push(drawTable(q));
  return parts.join('\n') + '\n' + warnings(r);
}

/**
 * A comparison: title, both runs, the table of medians with factors and intervals, the seed 003
 * tables (when measured), the notes (rounds, method, saturation verdicts, differences, legend) and
 * every round's warnings, each naming its side and round.
 */
export function renderComparisonTerminal(cmp: Comparison): string {
  const a = analyzeComparison(cmp);
  const w = comparisonWarnings(cmp);
  return [
    comparisonTitle(cmp, a),
    `before: ${runTitle(cmp.before)}`,
    `after:  ${runTitle(cmp.after)}`,
    ...headline(cmp, a),
    drawTable(comparisonTable(cmp, a)),
    ...roundsSection(cmp, a, drawTable),
    ...cohortSection(cmp),
    ...seed003Section(cmp, drawTable),
    ...comparisonNotes(cmp, a),
  ].join('\n') + '\n' + (w.length === 0 ? '' : `\n${w.map((x) => `WARNING (${x.where}): ${x.text}`).join('\n')}\n`);
}

/** The healthy and slow sessions apart (`--slow-clients`, issue 14 §6), or nothing. */
function cohortSection(cmp: Comparison): string[] {
  const t = cohortComparisonTable(cmp);
  return t === null ? [] : ['healthy and slow sessions apart (the gateway\'s send-queue stages per client cohort; factor = before ÷ after):', drawTable(t)];
}

function headline(cmp: Comparison, a: ComparisonAnalysis): string[] {
  const h = comparisonHeadline(cmp, a);
  return h === null ? [] : [h];
}

/** The per-round table as lines (title + table), or none for one round per side; `draw` renders a table. */
export function roundsSection(cmp: Comparison, a: ComparisonAnalysis, draw: (t: TableData) => string): string[] {
  const t = roundsTable(cmp, a);
  return t === null ? [] : ['every round (the JSON keeps each run whole):', draw(t)];
}

/** Seed 003's two tables as lines (title + table each), or none; `draw` renders a table. */
export function seed003Section(cmp: ComparisonResult, draw: (t: TableData) => string): string[] {
  const t = seed003Tables(cmp);
  if (t === null) return [];
  return ['seed 003 响应时间对比 (response time):', draw(t.response), 'seed 003 吞吐量对比 (throughput):', draw(t.throughput)];
}

/** The verdict of a capacity search in one line: the highest rate that held and its e2e p50/p99, or that no step held. */
export function capacityVerdict(c: CapacityResult): string {
  return c.max_rate_held === null
    ? `no step held: even ${c.steps[0]?.rate ?? '?'}/s broke the SLO; start lower (--rate)`
    : `max rate held: ${c.max_rate_held}/s` + (c.capped ? ' (the top of --max-rate: the capacity is higher)' : '') +
      ` — e2e p50 ${fmtUs(c.at_max!.e2e.p50_us)}, p99 ${fmtUs(c.at_max!.e2e.p99_us)} at that rate`;
}

/** The SLO of a capacity search with its error budget: `e2e:p(99)<50ms, errors:rate<0.01`. */
export function capacitySlo(c: CapacityResult): string {
  return [...c.slo, `errors:rate<${c.error_budget}`].join(', ');
}

/** A capacity search: the steps and the rate that held. */
export function renderCapacityTerminal(c: CapacityResult): string {
  return [
    `gatectl load --find-max — ${c.label} · SLO ${capacitySlo(c)} · ${c.step_ms / 1000} s per step`,
    drawTable(capacityTable(c)),
    capacityVerdict(c),
  ].join('\n') + '\n';
}
