/**
 * Healthy and slow sessions apart (issue 14 §6, `--slow-clients`): tables of the send-queue stages
 * the gateway kept per client cohort (`server.cohorts`) beside each cohort's client figures
 * (`client` counts the healthy clients, `client.slow` the slow readers), for a run and for a
 * comparison of two designs. The comparison's factor is sync ÷ async of the median over rounds,
 * with the same percentile-bootstrap interval as the main comparison table (metrics/bootstrap.ts).
 */
import type { EncodedLatency } from '../metrics/histogram.js';
import type { RunResult } from '../metrics/result.js';
import { bootstrapRatio, median, seedOf } from '../metrics/bootstrap.js';
import { BOOTSTRAP_RESAMPLES, formatFactorInterval, minSamplesFor, sideRuns, type Comparison } from '../metrics/compare.js';
import { fmtUs } from './format.js';
import type { TableData } from './tables.js';

/** The cohorts in display order. */
const ORDER = ['healthy', 'slow'] as const;

/** The stages a cohort table shows, and the percentile of each (send path: where a stalled write shows). */
const COHORT_ROWS: readonly { stage: string; p: 50 | 99 }[] = [
  { stage: 'enqueue_latency', p: 50 },
  { stage: 'enqueue_latency', p: 99 },
  { stage: 'lock_wait', p: 99 },
  { stage: 'write_message_latency', p: 99 },
];

function pct(l: EncodedLatency | undefined, p: 50 | 99): number | null {
  if (l === undefined || l.summary.count < minSamplesFor(p)) return null;
  return p === 50 ? l.summary.p50_us : l.summary.p99_us;
}

function cell(l: EncodedLatency | undefined, p: 50 | 99): string {
  if (l === undefined) return '-';
  const v = pct(l, p);
  return v === null ? `n < ${minSamplesFor(p)}` : fmtUs(v);
}

/** The client e2e latency of a cohort: the healthy clients' (`client.latency.e2e`) or the slow readers' (`client.slow`). */
function cohortE2e(r: RunResult, cohort: string): EncodedLatency | undefined {
  return cohort === 'slow' ? r.client.slow?.latency.e2e : r.client.latency.e2e;
}

/**
 * A run's cohort table: one column per cohort (sessions and responses, client e2e p99, the
 * gateway's enqueue_latency p50/p99, lock_wait p99, write_message_latency p99/max), or null for a
 * run without cohorts. A percentile with fewer samples than 10/(1 − p) shows "n < N".
 */
export function cohortTable(r: RunResult): TableData | null {
  const cohorts = r.server?.cohorts;
  if (cohorts === undefined || r.client.slow === undefined) return null;
  const names = ORDER.filter((c) => cohorts[c] !== undefined);
  const s = r.client.slow;
  const clients: Record<string, string> = {
    healthy: `${r.client.clients - s.clients} clients, ${r.client.responses} responses`,
    slow: `${s.clients} clients, ${s.responses} responses${(s.transport_errors.closed_by_peer ?? 0) > 0 ? `, ${s.transport_errors.closed_by_peer} closed by the gateway` : ''}`,
  };
  const rows: string[][] = [
    ['sessions', ...names.map((c) => clients[c]!)],
    ['client e2e p99', ...names.map((c) => cell(cohortE2e(r, c), 99))],
    ...COHORT_ROWS.map(({ stage, p }) => [`${stage} p${p}`, ...names.map((c) => cell(cohorts[c]![stage], p))]),
    ['write_message_latency max', ...names.map((c) => { const l = cohorts[c]!.write_message_latency; return l === undefined || l.summary.count === 0 ? '-' : fmtUs(l.summary.max_us); })],
  ];
  return { head: ['by client cohort (--slow-clients)', ...names.map((c) => `${c} sessions`)], rows };
}

/**
 * A comparison's cohort table: for each cohort and stage, the median over rounds of both sides and
 * the factor before ÷ after (higher: the after side waits less) with its 95% bootstrap interval
 * over rounds; null when the runs have no cohorts. Cells with too few samples in some round show "n < N".
 */
export function cohortComparisonTable(cmp: Comparison): TableData | null {
  const { before, after } = sideRuns(cmp);
  if (![...before, ...after].every((r) => r.server?.cohorts !== undefined)) return null;
  const rows: string[][] = [];
  for (const cohort of ORDER) {
    for (const { stage, p } of COHORT_ROWS) {
      const read = (runs: RunResult[]) => runs.map((r) => pct(r.server!.cohorts![cohort]?.[stage], p));
      const b = read(before);
      const a = read(after);
      const name = `${cohort} sessions: ${stage} p${p}`;
      if (b.some((v) => v === null) || a.some((v) => v === null)) {
        rows.push([name, `n < ${minSamplesFor(p)}`, `n < ${minSamplesFor(p)}`, '-']);
        continue;
      }
      const bv = b as number[];
      const av = a as number[];
      const f = median(av) > 0 ? median(bv) / median(av) : NaN;
      const ci = bootstrapRatio(bv, av, { resamples: BOOTSTRAP_RESAMPLES, seed: seedOf(name) });
      rows.push([name, fmtUs(median(bv)), fmtUs(median(av)), Number.isFinite(f) ? formatFactorInterval(f, ci) : '-']);
    }
  }
  return { head: ['by client cohort (--slow-clients)', `${cmp.before.label} (median)`, `${cmp.after.label} (median)`, 'factor [95% interval]'], rows };
}
