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

type StageKey = 'enqueue_latency' | 'lock_wait' | 'direct_send_latency' | 'write_message_latency' | 'quota_consume_latency';

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
    row('quota_consume_latency p99', 'µs', stageP(before, 'quota_consume_latency', 'p99_us'), stageP(after, 'quota_consume_latency', 'p99_us'), 'seed 003: sync DB write per call vs channel publish'),
    row('e2e p50', 'µs', e2e(before, 'p50_us'), e2e(after, 'p50_us'), ''),
    row('e2e p99', 'µs', e2e(before, 'p99_us'), e2e(after, 'p99_us'), ''),
    row('responses/s', '/s', before.client.responses_per_s, after.client.responses_per_s, 'seed 000: 整体吞吐量 5-10x', true),
    row('errors', 'count', totalErrors(before), totalErrors(after), 'seed 000: success_rate > 99%'),
    row('protocol violations', 'count', totalViolations(before), totalViolations(after), ''),
  ];
}

/** Seed 003 响应时间对比 claims, by row label (the seed's own figures, not measurements). */
export const SEED_003_RESPONSE_CLAIMS: Record<string, string> = {
  '单次API调用': 'seed 003: 15-25ms → 2-5ms (80-85%)',
  '高并发(100 QPS)': 'seed 003: 50-100ms → 5-10ms (90%)',
  '高并发(1000 QPS)': 'seed 003: 200-500ms → 10-20ms (95%)',
};

/** Seed 003 吞吐量对比 claims. */
export const SEED_003_THROUGHPUT_CLAIMS = {
  max_qps: 'seed 003: ~200 → ~2000 (10x)',
  mean: 'seed 003: 25ms → 3ms (8x)',
  p99: 'seed 003: 100ms → 15ms (6.7x)',
};

/**
 * Seed 003's two tables from a comparison (pure): 响应时间对比 — the single-call run (when made) and
 * every labelled schedule stage, as e2e p50 (the row's p99 follows in its own row); 吞吐量对比 — max
 * QPS from the capacity searches (when made), mean and p99 e2e over the whole scenario run. Rows the
 * comparison did not measure are left out. Null when there is nothing to show.
 */
export function seed003Rows(cmp: ComparisonResult): { response: ComparisonRow[]; throughput: ComparisonRow[] } | null {
  const row = (metric: string, unit: ComparisonRow['unit'], b: number | null, a: number | null, claim: string, higherIsBetter = false): ComparisonRow => ({
    metric, unit, before: b, after: a, claim,
    factor: higherIsBetter ? (b === null || a === null || b === 0 ? null : a / b) : lower(b, a),
  });
  const response: ComparisonRow[] = [];
  const single = cmp.extras?.single_call;
  const sum = (r: RunResult) => r.client.latency.e2e.summary;
  if (single !== undefined) {
    response.push(row('单次API调用 e2e p50', 'µs', sum(single.before).p50_us, sum(single.after).p50_us, SEED_003_RESPONSE_CLAIMS['单次API调用']!));
    response.push(row('单次API调用 e2e p99', 'µs', sum(single.before).p99_us, sum(single.after).p99_us, ''));
  }
  const bStages = cmp.before.stages ?? [];
  const aStages = cmp.after.stages ?? [];
  for (const b of bStages) {
    const a = aStages[b.index];
    if (b.label === undefined || a === undefined || a.label !== b.label) continue;
    const v = (s: typeof b, p: 'p50_us' | 'p99_us') => (s.responses === 0 ? null : s.e2e.summary[p]);
    response.push(row(`${b.label} e2e p50`, 'µs', v(b, 'p50_us'), v(a, 'p50_us'), SEED_003_RESPONSE_CLAIMS[b.label] ?? ''));
    response.push(row(`${b.label} e2e p99`, 'µs', v(b, 'p99_us'), v(a, 'p99_us'), ''));
  }
  const throughput: ComparisonRow[] = [];
  const cap = cmp.extras?.capacity;
  if (cap !== undefined) {
    const capped = [cap.before.capped ? 'before' : '', cap.after.capped ? 'after' : ''].filter((x) => x !== '');
    throughput.push(row(`最大QPS (SLO ${cap.before.slo.join(', ')})` + (capped.length > 0 ? ` — ${capped.join(', ')} reached --max-rate: at least this` : ''),
      '/s', cap.before.max_rate_held, cap.after.max_rate_held, SEED_003_THROUGHPUT_CLAIMS.max_qps, true));
  }
  if (response.length === 0 && throughput.length === 0) return null;
  const mean = (r: RunResult) => (sum(r).count === 0 ? null : sum(r).mean_us);
  const p99 = (r: RunResult) => (sum(r).count === 0 ? null : sum(r).p99_us);
  throughput.push(row('平均延迟 (e2e mean, whole run)', 'µs', mean(cmp.before), mean(cmp.after), SEED_003_THROUGHPUT_CLAIMS.mean));
  throughput.push(row('P99延迟 (e2e p99, whole run)', 'µs', p99(cmp.before), p99(cmp.after), SEED_003_THROUGHPUT_CLAIMS.p99));
  return { response, throughput };
}

/** Wraps two runs as a ComparisonResult. */
export function makeComparison(before: RunResult, after: RunResult, now = new Date(), extras?: ComparisonResult['extras']): ComparisonResult {
  return { schema: COMPARISON_SCHEMA, created_at: now.toISOString(), before, after, ...(extras !== undefined ? { extras } : {}) };
}
