/**
 * Thresholds in k6 syntax (issue 4 §4; k6 `thresholds`, exit code 99 from k6 `errext/exitcodes`):
 * `<metric>:<aggregation><op><value>`, e.g. `e2e:p(99)<50ms`, `errors:rate<0.01`,
 * `responses_per_s:value>900`, `lock_wait:p(50)<1ms`, `violations:count==0`.
 *
 * Metrics and the aggregations they accept:
 * - latencies (µs histograms): `e2e`, `e2e_uncorrected`, `connect`, `schedule_lag` (client.latency.*)
 *   and every server stage (`enqueue_latency`, `lock_wait`, … result.server.stages):
 *   `p(N)` (0 < N ≤ 100), `med` (= p(50)), `avg`, `min`, `max` with a unit `us`|`µs`|`ms`|`s`
 *   (a bare number is refused: ambiguous), and `count` (samples, no unit).
 * - `errors` (a k6 Rate): `rate` = every error the run counts (totalErrors: error responses,
 *   transport errors, unanswered requests, connect and Hello failures) / (requests sent + clients,
 *   i.e. every attempted request, connect and Hello), a fraction 0..1 (`1%` is accepted);
 *   `count` = totalErrors.
 * - counters (k6 Counters): `requests` (client.requests_sent), `responses`, `notifies`,
 *   `unanswered`, `connect_failures`, `hello_failures`, `dropped_iterations`
 *   (client.dropped_iterations), `violations` (sum of the four), `reorders`, `gaps`, `duplicates`,
 *   `notify_order_violations`, `lost_on_disconnect`, `reconnects`, `disconnects` (issue 15; absent
 *   in older results: the threshold fails): `count`, and `rate` = count / steady_s (per second, as in k6).
 * - values: `responses_per_s`, `requests_per_s` (client.*, per second), `event_loop_delay_p99_ms`,
 *   `event_loop_delay_max_ms` (generator.*, ms): `value`.
 * Operators: `<`, `<=`, `>`, `>=`, `==`, `===`, `!=`.
 *
 * A threshold whose metric is absent from the result (no server figures, a stage the target does
 * not record, `e2e_uncorrected` in an older result) or whose latency histogram has no samples
 * fails, with `actual: null` and a `reason`: a threshold never passes on missing data.
 */
import { GatectlError, InvalidInputError } from '../errors.js';
import { decodeHistogram, type EncodedLatency } from './histogram.js';
import type { RunResult } from './result.js';
import { SERVER_STAGES } from './stages.js';
import { totalErrors, totalViolations } from './compare.js';

/** Comparison operators accepted in a threshold. */
export type ThresholdOp = '<' | '<=' | '>' | '>=' | '==' | '===' | '!=';

/** Unit of a threshold's `limit` and `actual`. */
export type ThresholdUnit = 'µs' | 'count' | 'ratio' | '/s' | 'ms';

/** A parsed threshold. `limit` is in `unit` (latencies: µs whatever unit the expression used). */
export interface Threshold {
  /** the expression as given, trimmed */
  expr: string;
  metric: string;
  /** aggregation as written, normalised: `p(99)`, `avg`, `min`, `max`, `med`, `count`, `rate`, `value` */
  stat: string;
  /** percentile for `p(N)`/`med`, else null */
  percentile: number | null;
  op: ThresholdOp;
  limit: number;
  unit: ThresholdUnit;
  /** the unit the user wrote for a latency (`ms`, `us`, `µs`, `s`), for display; '' otherwise */
  displayUnit: string;
}

/** One evaluated threshold. `actual` in `unit` (µs for latencies), null when not measured. */
export interface ThresholdResult extends Threshold {
  actual: number | null;
  ok: boolean;
  /** why `actual` is null, e.g. "this run has no server figures" */
  reason?: string;
}

/** Failed thresholds (`GATECTL_THRESHOLDS_FAILED`; the commands exit 99, as k6 does). `results` holds every evaluated threshold. */
export class ThresholdsFailedError extends GatectlError {
  readonly results: ThresholdResult[];
  constructor(results: ThresholdResult[]) {
    const failed = results.filter((r) => !r.ok);
    super(`${failed.length} of ${results.length} threshold(s) failed: ${failed.map((r) => `${r.expr} (actual ${formatActual(r)})`).join('; ')}`,
      'GATECTL_THRESHOLDS_FAILED');
    this.results = results;
  }
}

type Kind = 'latency' | 'errors' | 'counter' | 'value';

const CLIENT_LATENCIES = ['e2e', 'e2e_uncorrected', 'connect', 'schedule_lag'] as const;
const COUNTERS: Record<string, (r: RunResult) => number | undefined> = {
  requests: (r) => r.client.requests_sent,
  responses: (r) => r.client.responses,
  notifies: (r) => r.client.notifies,
  unanswered: (r) => r.client.unanswered,
  connect_failures: (r) => r.client.connect_failures,
  hello_failures: (r) => r.client.hello_failures,
  dropped_iterations: (r) => num((r.client as unknown as Record<string, unknown>).dropped_iterations),
  violations: (r) => totalViolations(r),
  reorders: (r) => r.client.violations.reorders,
  gaps: (r) => r.client.violations.gaps,
  duplicates: (r) => r.client.violations.duplicates,
  notify_order_violations: (r) => r.client.violations.notify_order_violations,
  lost_on_disconnect: (r) => r.client.lost_on_disconnect,
  reconnects: (r) => r.client.reconnects,
  disconnects: (r) => r.client.disconnects,
};
const VALUES: Record<string, { unit: ThresholdUnit; get: (r: RunResult) => number | undefined }> = {
  responses_per_s: { unit: '/s', get: (r) => r.client.responses_per_s },
  requests_per_s: { unit: '/s', get: (r) => r.client.requests_per_s },
  event_loop_delay_p99_ms: { unit: 'ms', get: (r) => r.generator.event_loop_delay_p99_ms },
  event_loop_delay_max_ms: { unit: 'ms', get: (r) => r.generator.event_loop_delay_max_ms },
};
const STATS: Record<Kind, string[]> = {
  latency: ['p(N)', 'med', 'avg', 'min', 'max', 'count'],
  errors: ['rate', 'count'],
  counter: ['count', 'rate'],
  value: ['value'],
};
const EXAMPLE: Record<Kind, string> = {
  latency: 'e2e:p(99)<50ms',
  errors: 'errors:rate<0.01',
  counter: 'violations:count==0',
  value: 'responses_per_s:value>900',
};
const US_PER: Record<string, number> = { us: 1, 'µs': 1, 'μs': 1, ms: 1000, s: 1_000_000 };

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function kindOf(metric: string): Kind | undefined {
  if ((CLIENT_LATENCIES as readonly string[]).includes(metric) || (SERVER_STAGES as readonly string[]).includes(metric)) return 'latency';
  if (metric === 'errors') return 'errors';
  if (metric in COUNTERS) return 'counter';
  if (metric in VALUES) return 'value';
  return undefined;
}

/** Every metric name a threshold may use (client latencies, server stages, errors, counters, values). */
export const THRESHOLD_METRICS: readonly string[] = Object.freeze([
  ...CLIENT_LATENCIES, ...SERVER_STAGES, 'errors', ...Object.keys(COUNTERS), ...Object.keys(VALUES),
]);

const SHAPE = /^([A-Za-z_][A-Za-z0-9_]*):(p\(\s*[^)]*\)|[a-z]+)\s*(===|==|!=|<=|>=|<|>)\s*(.+)$/;

/**
 * Parses one k6-style threshold expression (syntax in the module docstring).
 * Throws InvalidInputError saying what is wrong (unknown metric, aggregation not valid for the
 * metric, bad percentile, missing/unknown unit, bad number) with a valid example.
 */
export function parseThreshold(expr: string): Threshold {
  const text = expr.trim();
  const bad = (why: string, example = 'e2e:p(99)<50ms'): InvalidInputError =>
    new InvalidInputError(`threshold ${JSON.stringify(expr)}: ${why}; e.g. ${example}`);
  const m = SHAPE.exec(text);
  if (m === null) throw bad('expected <metric>:<aggregation><op><value>');
  const [, metric, rawStat, op, rawValue] = m as unknown as [string, string, string, ThresholdOp, string];
  const kind = kindOf(metric);
  if (kind === undefined) throw bad(`unknown metric "${metric}"; known: ${THRESHOLD_METRICS.join(', ')}`);
  let stat = rawStat.replace(/\s+/g, '');
  let percentile: number | null = null;
  if (stat.startsWith('p(')) {
    const inner = stat.slice(2, -1);
    const p = Number(inner);
    if (inner === '' || !Number.isFinite(p) || p <= 0 || p > 100) throw bad(`percentile "${inner}" must be a number above 0 and at most 100`, `${metric}:p(99.9)<200ms`);
    percentile = p;
    stat = `p(${p})`;
  } else if (stat === 'med') {
    percentile = 50;
  }
  const statKey = percentile !== null && stat !== 'med' ? 'p(N)' : stat;
  if (!STATS[kind].includes(statKey)) {
    throw bad(`"${metric}" does not have the aggregation "${rawStat}"; it accepts ${STATS[kind].join(', ')}`,
      kind === 'latency' ? `${metric}:p(99)<50ms` : EXAMPLE[kind]);
  }
  const value = rawValue.trim();
  if (kind === 'latency' && stat !== 'count') {
    const u = /^(\d+(?:\.\d+)?|\.\d+)\s*(us|µs|μs|ms|s)$/.exec(value);
    if (u === null) {
      throw bad(/^[\d.]+$/.test(value) ? `latency "${value}" has no unit: add us, ms or s` : `"${value}" is not a latency: use a number with a unit us, ms or s`,
        `${metric}:${stat}<50ms`);
    }
    return { expr: text, metric, stat, percentile, op, limit: Number(u[1]) * US_PER[u[2]!]!, unit: 'µs', displayUnit: u[2]! === 'μs' ? 'µs' : u[2]! };
  }
  let limit: number;
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(value);
  if (kind === 'errors' && stat === 'rate' && pct !== null) limit = Number(pct[1]) / 100;
  else if (/^-?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i.test(value)) limit = Number(value);
  else throw bad(`"${value}" is not a number`, kind === 'latency' ? `${metric}:count>100` : EXAMPLE[kind]);
  const unit: ThresholdUnit = kind === 'errors' && stat === 'rate' ? 'ratio'
    : kind === 'value' ? VALUES[metric]!.unit
      : stat === 'rate' ? '/s' : 'count';
  return { expr: text, metric, stat, percentile, op, limit, unit, displayUnit: '' };
}

/**
 * The encoded µs histogram a latency metric names: client.latency[name] for `e2e`,
 * `e2e_uncorrected`, `connect`, `schedule_lag` (and any other key there), else
 * result.server.stages[name]; undefined when the result does not carry it.
 */
export function findLatency(result: RunResult, name: string): EncodedLatency | undefined {
  const client = result.client.latency as unknown as Record<string, EncodedLatency | undefined>;
  const hit = client[name] ?? result.server?.stages[name];
  return hit !== undefined && typeof hit.histogram === 'string' ? hit : undefined;
}

function compare(actual: number, op: ThresholdOp, limit: number): boolean {
  switch (op) {
    case '<': return actual < limit;
    case '<=': return actual <= limit;
    case '>': return actual > limit;
    case '>=': return actual >= limit;
    case '==': case '===': return actual === limit;
    case '!=': return actual !== limit;
  }
}

function measure(result: RunResult, t: Threshold): { actual: number | null; reason?: string } {
  const kind = kindOf(t.metric)!;
  if (kind === 'latency') {
    const enc = findLatency(result, t.metric);
    if (enc === undefined) {
      const why = (SERVER_STAGES as readonly string[]).includes(t.metric)
        ? result.server === null ? 'this run has no server figures: a remote target without --monitor' : `the target did not report the stage ${t.metric}`
        : `this result has no client.latency.${t.metric}`;
      return { actual: null, reason: why };
    }
    const h = decodeHistogram(enc.histogram);
    if (t.stat === 'count') return { actual: h.totalCount };
    if (h.totalCount === 0) return { actual: null, reason: `no ${t.metric} samples in this run` };
    if (t.percentile !== null) return { actual: h.getValueAtPercentile(t.percentile) };
    if (t.stat === 'avg') return { actual: h.mean };
    // the summary's extremes are exact (recorded before encoding); a decoded max is bucket-rounded
    if (t.stat === 'min') return { actual: enc.summary?.count > 0 ? enc.summary.min_us : h.getValueAtPercentile(0) };
    return { actual: enc.summary?.count > 0 ? enc.summary.max_us : h.maxValue };
  }
  if (kind === 'errors') {
    const errors = totalErrors(result);
    if (t.stat === 'count') return { actual: errors };
    const attempts = result.client.requests_sent + result.client.clients;
    return { actual: attempts === 0 ? 0 : errors / attempts };
  }
  if (kind === 'counter') {
    const count = COUNTERS[t.metric]!(result);
    if (count === undefined) return { actual: null, reason: `this result has no ${t.metric} counter` };
    if (t.stat === 'count') return { actual: count };
    return result.steady_s > 0 ? { actual: count / result.steady_s } : { actual: null, reason: 'the steady phase has no length (steady_s 0)' };
  }
  const v = VALUES[t.metric]!.get(result);
  return v === undefined ? { actual: null, reason: `this result has no ${t.metric}` } : { actual: v };
}

/**
 * Parses and evaluates `exprs` against `result`, in order. Latency `limit`/`actual` are µs.
 * Throws InvalidInputError for a bad expression (see parseThreshold); never throws for a failed
 * threshold (see assertThresholds).
 */
export function evaluateThresholds(result: RunResult, exprs: readonly string[]): ThresholdResult[] {
  return exprs.map((e) => {
    const t = parseThreshold(e);
    const { actual, reason } = measure(result, t);
    return { ...t, actual, ok: actual !== null && compare(actual, t.op, t.limit), ...(reason !== undefined ? { reason } : {}) };
  });
}

/** Throws ThresholdsFailedError (exit 99) when any result is not ok. */
export function assertThresholds(results: readonly ThresholdResult[]): void {
  if (results.some((r) => !r.ok)) throw new ThresholdsFailedError([...results]);
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

/** `actual` in the unit the expression used (latencies), or as a plain number; `n/a (reason)` when null. */
export function formatActual(r: ThresholdResult): string {
  if (r.actual === null) return `n/a (${r.reason ?? 'not measured'})`;
  if (r.unit === 'µs') return `${round(r.actual / US_PER[r.displayUnit]!)}${r.displayUnit}`;
  if (r.unit === '/s') return `${round(r.actual)}/s`;
  if (r.unit === 'ms') return `${round(r.actual)} ms`;
  return round(r.actual);
}

/**
 * Renders evaluated thresholds k6-style (pure): one line per threshold, `✓`/`✗`, the expression and
 * the measured value, then a line counting the failures. '' for no thresholds.
 * With `onlyFailed`, passed thresholds are left out.
 */
export function renderThresholds(results: readonly ThresholdResult[], opts: { onlyFailed?: boolean } = {}): string {
  if (results.length === 0) return '';
  const shown = opts.onlyFailed === true ? results.filter((r) => !r.ok) : results;
  const width = Math.max(0, ...shown.map((r) => r.expr.length));
  const failed = results.filter((r) => !r.ok).length;
  const lines = shown.map((r) => `  ${r.ok ? '✓' : '✗'} ${r.expr.padEnd(width)}  actual ${formatActual(r)}`);
  return ['thresholds:', ...lines, failed === 0 ? `all ${results.length} thresholds passed` : `${failed} of ${results.length} thresholds FAILED (exit code 99)`].join('\n') + '\n';
}
