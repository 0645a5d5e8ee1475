/** Terminal rendering of runs and comparisons with cli-table3 (pure: returns strings). */
import Table from 'cli-table3';
import type { ComparisonResult, RunResult } from '../metrics/result.js';
import { comparisonTable, queueTable, runTitle, stageTable, summaryTable, type TableData } from './tables.js';

/** Draws a TableData as a box table without colours. */
export function drawTable(t: TableData): string {
  const table = new Table({ head: t.head, style: { head: [], border: [] }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
  for (const r of t.rows) table.push(r);
  return table.toString();
}

function warnings(r: RunResult): string {
  return r.warnings.length === 0 ? '' : `\n${r.warnings.map((w) => `WARNING: ${w}`).join('\n')}\n`;
}

/** A run: title, client summary, server stages, queue stats, warnings. */
export function renderRunTerminal(r: RunResult): string {
  const parts = [`gatectl load — ${runTitle(r)}`, drawTable(summaryTable(r))];
  const stages = stageTable(r);
  if (stages !== null) parts.push(`server stages (${r.server!.source}):`, drawTable(stages));
  const q = queueTable(r);
  if (q !== null) parts.push(drawTable(q));
  return parts.join('\n') + '\n' + warnings(r);
}

/** A comparison: both titles and the before/after table. */
export function renderComparisonTerminal(cmp: ComparisonResult): string {
  return [
    `gatectl compare — did the async redesign help?`,
    `before: ${runTitle(cmp.before)}`,
    `after:  ${runTitle(cmp.after)}`,
    drawTable(comparisonTable(cmp)),
    'factor: before/after for latencies and errors (higher is better), after/before for responses/s.',
    'The last column quotes the seed reports; those figures were not measured in this run.',
  ].join('\n') + '\n' + warnings(cmp.before) + warnings(cmp.after);
}
