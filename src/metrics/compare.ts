/**
 * Before/after comparison of two runs, in the shape of seed 000's 性能预期 table
 * (metric | before | after | factor), with the seeds' claimed figures beside the measured ones,
 * labelled as claims (never as results).
 */
import type { ComparisonResult, RunResult } from './result.js';
import { COMPARISON_SCHEMA } from './result.js';

/** One row. Values are in `unit`; null when the run did not measure it (e.g. no direct sends in async mode). */
export interface ComparisonRow {
  metric: string;
  unit: 'µs' | '/s' | 'count';
  before: number | null;
  after: number | null;
  /** improvement factor: before/after for latencies and counts, after/before for rates; null when undefined */
  factor: number | null;
  /** the seed's claim for this row, with its source, or '' */
  claim: string;
}

type StageKey = 'enqueue_latency' | 'lock_wait' | 'direct_send_latency' | 'write_message_latency';

function stageP(run: RunResult, stage: StageKey, p: 'p50_us' | 'p99_us'): number | null {
  const s = run.server?.stages[stage]?.summary;
  return s === undefined || s.count === 0 ? null : s[p];
}

/** All errors a client saw: ErrorResponses, transport errors, unanswered requests and connect failures. */
export function totalErrors(run: RunResult): number {
  const c = run.client;
  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  return sum(c.errors_by_code) + sum(c.transport_errors) + c.unanswered + c.connect_failures + c.hello_failures;
}

/** Sum of the four protocol-violation counters. */
export function totalViolations(run: RunResult): number {
  const v = run.client.violations;
  return v.reorders + v.gaps + v.duplicates + v.notify_order_violations;
}

function lower(before: number | null, after: number | null): number | null {
  if (before === null || after === null || after === 0) return null;
  return before / after;
}

/** Builds the comparison rows (pure). */
export function comparisonRows(before: RunResult, after: RunResult): ComparisonRow[] {
  const row = (metric: string, unit: ComparisonRow['unit'], b: number | null, a: number | null, claim: string, higherIsBetter = false): ComparisonRow => ({
    metric, unit, before: b, after: a, claim,
    factor: higherIsBetter ? (b === null || a === null || b === 0 ? null : a / b) : lower(b, a),
  });
  const e2e = (r: RunResult, p: 'p50_us' | 'p99_us') => (r.client.latency.e2e.summary.count === 0 ? null : r.client.latency.e2e.summary[p]);
  return [
    row('enqueue_latency p50', 'µs', stageP(before, 'enqueue_latency', 'p50_us'), stageP(after, 'enqueue_latency', 'p50_us'), 'seed 000: 100ms → 1-5ms (20-100x)'),
    row('enqueue_latency p99', 'µs', stageP(before, 'enqueue_latency', 'p99_us'), stageP(after, 'enqueue_latency', 'p99_us'), 'seed 000: 100ms → 1-5ms (20-100x)'),
    row('lock_wait p99', 'µs', stageP(before, 'lock_wait', 'p99_us'), stageP(after, 'lock_wait', 'p99_us'), 'seed 000: 锁争用 ~95ms → <1ms (95x)'),
    row('direct_send_latency p99', 'µs', stageP(before, 'direct_send_latency', 'p99_us'), stageP(after, 'direct_send_latency', 'p99_us'), 'seed 001: ~100ms, kept but off the lock'),
    row('write_message_latency p99', 'µs', stageP(before, 'write_message_latency', 'p99_us'), stageP(after, 'write_message_latency', 'p99_us'), 'seed 001: ~0.1ms'),
    row('e2e p50', 'µs', e2e(before, 'p50_us'), e2e(after, 'p50_us'), ''),
    row('e2e p99', 'µs', e2e(before, 'p99_us'), e2e(after, 'p99_us'), ''),
    row('responses/s', '/s', before.client.responses_per_s, after.client.responses_per_s, 'seed 000: 整体吞吐量 5-10x', true),
    row('errors', 'count', totalErrors(before), totalErrors(after), 'seed 000: success_rate > 99%'),
    row('protocol violations', 'count', totalViolations(before), totalViolations(after), ''),
  ];
}

/** Wraps two runs as a ComparisonResult. */
export function makeComparison(before: RunResult, after: RunResult, now = new Date()): ComparisonResult {
  return { schema: COMPARISON_SCHEMA, created_at: now.toISOString(), before, after };
}
