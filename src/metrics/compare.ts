/**
 * Before/after comparison of two sides, in the shape of seed 000's 性能预期 table
 * (metric | before | after | factor), with the seeds' claimed figures beside the measured ones,
 * labelled as claims (never as results), shown only when the sides are the sync and async designs.
 *
 * Issue 14: a comparison may hold several rounds per side (`compare sync async --repeat N`); every
 * row is then the median of the rounds per side and the factor carries a 95% percentile-bootstrap
 * interval over the rounds (src/metrics/bootstrap.ts), or over the per-second windows of the steady
 * phase when there is one round (a saved pair of files, or `--repeat 1`). A factor whose interval
 * holds 1, or whose change is below `--min-change`, is "no significant change" (hyperfine and
 * criterion.rs report "no change" inside the noise). A percentile is reported only when each round
 * of the side has enough samples for it (minSamplesFor); a saturated side's e2e latency is queueing
 * time (src/metrics/saturation.ts) and is kept out of the factors.
 */
import type { ComparisonResult, RunResult } from './result.js';
import { COMPARISON_SCHEMA } from './result.js';
import { bootstrapRatio, mean, median, seedOf } from './bootstrap.js';
import { judgeSaturation, type SaturationVerdict } from './saturation.js';

/** A side of a comparison. */
export type Side = 'before' | 'after';

/** What a row says about the change. */
export type Verdict = 'improved' | 'regressed' | 'no significant change' | 'no change' | 'not judged';

/**
 * One row. Values are in `unit`: the median over the side's rounds; null when the run did not
 * measure it (e.g. no direct sends in async mode) or, for a percentile, when a round held too few
 * samples for it (then `before_note`/`after_note` says `n < 1000`).
 */
export interface ComparisonRow {
  metric: string;
  unit: 'µs' | '/s' | 'count';
  before: number | null;
  after: number | null;
  /** improvement factor: before/after for latencies and counts, after/before for rates; null when undefined or excluded */
  factor: number | null;
  /** the seed's claim for this row, with its source, or '' */
  claim: string;
  /** 95% interval of `factor` (percentile bootstrap); null when there is none (see `note`) */
  interval?: [number, number] | null;
  /** the row's verdict; only `improved`/`regressed` count as a change */
  verdict?: Verdict;
  /** why the row has no factor or no verdict (too few samples, a saturated side, no interval) */
  note?: string;
  /** a cell's annotation: `n < 1000 (n = 80)`, `queueing time` */
  before_note?: string;
  after_note?: string;
  /** each round's value, in round order (null: not measured or too few samples) */
  before_rounds?: (number | null)[];
  after_rounds?: (number | null)[];
}

type StageKey = 'enqueue_latency' | 'lock_wait' | 'direct_send_latency' | 'write_message_latency' | 'quota_consume_latency';

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

/**
 * Samples a histogram must hold before its pXX is reported: 10 / (1 − XX/100), i.e. at least ten
 * samples beyond the percentile (p50: 20, p90: 100, p99: 1000, p99.9: 10000). Below it the pXX of
 * an HdrHistogram is one of the few largest values, often the max (issue 14 §2).
 */
export function minSamplesFor(percentile: number): number {
  // the factor absorbs floating-point error (10 / (1 − 0.999) is 10000.000000000009)
  return Math.ceil((10 / (1 - percentile / 100)) * (1 - 1e-12));
}

/** A row's definition: how to read its value (and sample count) from one run. */
interface RowSpec {
  metric: string;
  unit: ComparisonRow['unit'];
  claim: string;
  higherIsBetter?: boolean;
  /** the percentile the value is (for the sample bound) */
  percentile?: number;
  /** an e2e latency: queueing time when a side is saturated */
  e2e?: boolean;
  value: (r: RunResult) => { v: number | null; n: number };
  /** one value per second of the steady phase (for the one-round interval), or null */
  perSecond?: (r: RunResult) => number[] | null;
}

function stageSpec(stage: StageKey, p: 50 | 99, claim: string): RowSpec {
  const key = p === 50 ? 'p50_us' : 'p99_us';
  return {
    metric: `${stage} p${p}`, unit: 'µs', claim, percentile: p,
    value: (r) => {
      const s = r.server?.stages[stage]?.summary;
      return s === undefined || s.count === 0 ? { v: null, n: 0 } : { v: s[key], n: s.count };
    },
  };
}

function e2eSpec(p: 50 | 99): RowSpec {
  const key = p === 50 ? 'p50_us' : 'p99_us';
  const perSecondKey = p === 50 ? 'e2e_p50_us' : 'e2e_p99_us';
  return {
    metric: `e2e p${p}`, unit: 'µs', claim: '', percentile: p, e2e: true,
    value: (r) => {
      const s = r.client.latency.e2e.summary;
      return s.count === 0 ? { v: null, n: 0 } : { v: s[key], n: s.count };
    },
    perSecond: (r) => {
      const xs = r.timeseries.map((t) => (t as unknown as Record<string, unknown>)[perSecondKey]).filter((x): x is number => typeof x === 'number' && x > 0);
      return xs.length >= 2 ? xs : null;
    },
  };
}

/** The rows of the main comparison table, in order. */
const ROW_SPECS: RowSpec[] = [
  stageSpec('enqueue_latency', 50, 'seed 000: 100ms → 1-5ms (20-100x)'),
  stageSpec('enqueue_latency', 99, 'seed 000: 100ms → 1-5ms (20-100x)'),
  stageSpec('lock_wait', 99, 'seed 000: 锁争用 ~95ms → <1ms (95x)'),
  stageSpec('direct_send_latency', 99, 'seed 001: ~100ms, kept but off the lock'),
  stageSpec('write_message_latency', 99, 'seed 001: ~0.1ms'),
  stageSpec('quota_consume_latency', 99, 'seed 003: sync DB write per call vs channel publish'),
  e2eSpec(50),
  e2eSpec(99),
  {
    metric: 'responses/s', unit: '/s', claim: 'seed 000: 整体吞吐量 5-10x', higherIsBetter: true,
    // the steady phase's rate: answers that came in the drain would flatter a side that fell behind
    value: (r) => ({ v: judgeSaturation(r).responses_per_s ?? r.client.responses_per_s, n: r.client.responses }),
    perSecond: (r) => (r.timeseries.length >= 2 ? r.timeseries.map((t) => t.responses) : null),
  },
  {
    metric: 'errors', unit: 'count', claim: 'seed 000: success_rate > 99%',
    value: (r) => ({ v: totalErrors(r), n: 0 }),
    perSecond: (r) => (r.timeseries.length >= 2 ? r.timeseries.map((t) => t.errors) : null),
  },
  { metric: 'protocol violations', unit: 'count', claim: '', value: (r) => ({ v: totalViolations(r), n: 0 }) },
];

/** Builds the comparison rows of one run per side (pure): `analyzeComparison` of the pair. */
export function comparisonRows(before: RunResult, after: RunResult): ComparisonRow[] {
  return analyzeComparison(makeComparison(before, after)).rows;
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

/** Wraps two runs as a ComparisonResult (one round per side). */
export function makeComparison(before: RunResult, after: RunResult, now = new Date(), extras?: ComparisonResult['extras']): ComparisonResult {
  return { schema: COMPARISON_SCHEMA, created_at: now.toISOString(), before, after, ...(extras !== undefined ? { extras } : {}) };
}

/** The rounds of `compare sync async --repeat N` (issue 14 §1), kept whole in the comparison file. */
export interface ComparisonRounds {
  /** rounds asked for (`--repeat`) */
  planned: number;
  /** rounds with both sides done (the length of `before` and `after`) */
  done: number;
  /** per round, the order the sides ran in: ABBA… (`['before','after']`, `['after','before']`, …) */
  order: Side[][];
  /** every round's run, in round order */
  before: RunResult[];
  after: RunResult[];
  /** the round of each side shown as the comparison's `before` / `after` (its median round by e2e p99) */
  representative: { before: number; after: number };
  /** true when the compare stopped before every planned round (a run failed or it was interrupted) */
  interrupted?: boolean;
}

/** A load-shape key on which two compared runs differ (`compare A.json B.json`, issue 14 §5). */
export interface LoadShapeDifference {
  /** `config` key, e.g. `clients`, `schedule`, `mix` */
  key: string;
  before: unknown;
  after: unknown;
}

/**
 * Fields `gatectl.compare/v1` gained in issue 14, all optional, so files written before them still
 * read (and render as one round per side) and older readers see the same `before`/`after`.
 */
export interface ComparisonExtensions {
  rounds?: ComparisonRounds;
  /** `--min-change` as a fraction (0.05 = 5%) */
  min_change?: number;
  /** `compare A.json B.json --allow-different`: where the two runs' load shapes differ */
  differences?: LoadShapeDifference[];
  /** the analysis as it was when written, for JSON readers (renderers recompute it from the rounds) */
  analysis?: ComparisonAnalysis;
}

/** A comparison file with the issue-14 fields. */
export type Comparison = ComparisonResult & ComparisonExtensions;

/** Default `--min-change`: a factor within ±5% is "no significant change" (criterion.rs's noise threshold is 1% on a quiet machine; this one is shared). */
export const DEFAULT_MIN_CHANGE = 0.05;
/** Bootstrap resamples per row. */
export const BOOTSTRAP_RESAMPLES = 2000;

/** Everything the renderers show about a comparison, computed from its rounds (pure, deterministic). */
export interface ComparisonAnalysis {
  /** `rounds`: the interval is over rounds; `seconds`: over the per-second windows of one round per side */
  interval_over: 'rounds' | 'seconds';
  /** one sentence naming the method and its source */
  method: string;
  /** rounds per side */
  rounds: number;
  min_change: number;
  rows: ComparisonRow[];
  /** per side, one verdict per round */
  saturation: { before: SaturationVerdict[]; after: SaturationVerdict[] };
  /** true when the sides are the sync and the async design (the seed claims apply) */
  sync_async: boolean;
  differences: LoadShapeDifference[];
}

/** The design a run measured: the in-process gateway's processor mode, else the label when it names one, else null. */
export function runDesign(r: RunResult): 'sync' | 'async' | null {
  const gw = r.config.gateway as { processorMode?: unknown } | undefined;
  const m = gw?.processorMode ?? r.label;
  return m === 'sync' || m === 'async' ? m : null;
}

/** Whether one side is the sync design and the other the async one (either order). */
export function isSyncAsyncPair(cmp: ComparisonResult): boolean {
  const a = runDesign(cmp.before);
  const b = runDesign(cmp.after);
  return a !== null && b !== null && a !== b;
}

/** The `config` keys that make a run's load shape (issue 14 §5: clients, rate/model, duration, payload via mix, transport, scenario). */
export const LOAD_SHAPE_KEYS = ['clients', 'model', 'schedule', 'rate_per_s', 'duration_ms', 'max_in_flight', 'concurrency', 'think_time_ms', 'mix',
  'transport', 'webtransport_mode', 'scenario', 'scenario_full', 'shard'] as const;

/** Where two runs' load shapes differ (pure); empty when they ran the same load. Keys absent from both are equal. */
export function loadShapeDifferences(before: RunResult, after: RunResult): LoadShapeDifference[] {
  const out: LoadShapeDifference[] = [];
  for (const key of LOAD_SHAPE_KEYS) {
    const b = before.config[key];
    const a = after.config[key];
    if (JSON.stringify(b ?? null) !== JSON.stringify(a ?? null)) out.push({ key, before: b ?? null, after: a ?? null });
  }
  return out;
}

/** One difference as text: `clients: 5 vs 10`. */
export function formatDifference(d: LoadShapeDifference): string {
  return `${d.key}: ${JSON.stringify(d.before)} vs ${JSON.stringify(d.after)}`;
}

/** Index of the median run of `runs` by e2e p99 (the lower middle one for an even count). */
export function medianRoundIndex(runs: readonly RunResult[]): number {
  const idx = runs.map((_, i) => i).sort((a, b) => runs[a]!.client.latency.e2e.summary.p99_us - runs[b]!.client.latency.e2e.summary.p99_us);
  return idx[(runs.length - 1) >> 1] ?? 0;
}

/**
 * Wraps the rounds of `compare sync async --repeat N` as a comparison: `before`/`after` are each
 * side's median round (medianRoundIndex), `rounds` keeps every round. `planned` ≥ the rounds done.
 * Throws Error when a side has no round or the sides have different round counts.
 */
export function makeRoundsComparison(rounds: { before: RunResult[]; after: RunResult[]; order: Side[][]; planned: number; interrupted?: boolean },
  opts: { now?: Date; extras?: ComparisonResult['extras']; minChange?: number } = {}): Comparison {
  const n = rounds.before.length;
  if (n === 0 || rounds.after.length !== n) throw new Error(`makeRoundsComparison: ${rounds.before.length} before and ${rounds.after.length} after rounds`);
  const rep = { before: medianRoundIndex(rounds.before), after: medianRoundIndex(rounds.after) };
  const cmp: Comparison = {
    ...makeComparison(rounds.before[rep.before]!, rounds.after[rep.after]!, opts.now, opts.extras),
    rounds: {
      planned: rounds.planned, done: n, order: rounds.order.slice(0, n), before: rounds.before, after: rounds.after, representative: rep,
      ...(rounds.interrupted === true ? { interrupted: true } : {}),
    },
    min_change: opts.minChange ?? DEFAULT_MIN_CHANGE,
  };
  cmp.analysis = analyzeComparison(cmp);
  return cmp;
}

/** The rounds of each side: `rounds` when the file has them, else its one `before` and `after`. */
export function sideRuns(cmp: Comparison): { before: RunResult[]; after: RunResult[] } {
  const r = cmp.rounds;
  return r !== undefined && r.before.length > 0 && r.after.length > 0 ? { before: r.before, after: r.after } : { before: [cmp.before], after: [cmp.after] };
}

function fmtRatio(f: number): string {
  return f >= 10 ? f.toFixed(0) : f.toFixed(2);
}

/**
 * Analyses a comparison (pure, deterministic: the bootstrap's PRNG is seeded per row). Reads the
 * rounds (or the one run per side of an older file), `min_change` (default DEFAULT_MIN_CHANGE) and
 * `differences`. See the module comment for the rules.
 */
export function analyzeComparison(cmp: Comparison, opts: { minChange?: number } = {}): ComparisonAnalysis {
  const runs = sideRuns(cmp);
  const n = Math.min(runs.before.length, runs.after.length);
  const minChange = opts.minChange ?? cmp.min_change ?? DEFAULT_MIN_CHANGE;
  const overRounds = n >= 2;
  const saturation = { before: runs.before.map(judgeSaturation), after: runs.after.map(judgeSaturation) };
  const labels = { before: cmp.before.label, after: cmp.after.label };
  const rows = ROW_SPECS.map((spec) => analyseRow(spec, runs, saturation, labels, overRounds, minChange));
  const secs = Math.min(...[...runs.before, ...runs.after].map((r) => r.timeseries.length));
  const method = overRounds
    ? `95% intervals: percentile bootstrap of the ratio of the medians over ${n} rounds per side (${BOOTSTRAP_RESAMPLES} seeded resamples; Efron & Tibshirani 1993, as hyperfine and criterion.rs)`
    : `95% intervals: one round per side, so the percentile bootstrap runs over the ${secs} per-second windows of the steady phase (ratio of per-second means, ` +
      `${BOOTSTRAP_RESAMPLES} seeded resamples); rows without per-second figures have no interval and no verdict`;
  return {
    interval_over: overRounds ? 'rounds' : 'seconds', method, rounds: n, min_change: minChange, rows, saturation,
    sync_async: isSyncAsyncPair(cmp), differences: cmp.differences ?? [],
  };
}

function analyseRow(spec: RowSpec, runs: { before: RunResult[]; after: RunResult[] }, sat: { before: SaturationVerdict[]; after: SaturationVerdict[] },
  labels: Record<Side, string>, overRounds: boolean, minChange: number): ComparisonRow {
  const need = spec.percentile !== undefined ? minSamplesFor(spec.percentile) : 0;
  const row: ComparisonRow = { metric: spec.metric, unit: spec.unit, before: null, after: null, factor: null, claim: spec.claim, interval: null, verdict: 'not judged' };
  const notes: string[] = [];
  let excluded = false;
  const sideVals: Record<Side, number[]> = { before: [], after: [] };
  for (const side of ['before', 'after'] as const) {
    const vals = runs[side].map(spec.value);
    const short = vals.filter((x) => x.v !== null && x.n < need);
    const rounds = vals.map((x) => (x.v === null || x.n < need ? null : x.v));
    row[`${side}_rounds`] = rounds;
    if (short.length > 0) {
      row[`${side}_note`] = `n < ${need}` + (vals.length === 1 ? ` (n = ${short[0]!.n})` : ` (n = ${Math.min(...short.map((x) => x.n))} in ${short.length} of ${vals.length} rounds)`);
      notes.push(`${labels[side]}: too few samples for p${spec.percentile!}`);
      excluded = true;
      continue;
    }
    const present = rounds.filter((x): x is number => x !== null);
    sideVals[side] = present;
    if (present.length > 0) row[side] = median(present);
    const saturated = sat[side].filter((v) => v.saturated).length;
    if (spec.e2e === true && saturated > 0) {
      row[`${side}_note`] = 'queueing time';
      notes.push(`${labels[side]} saturated in ${saturated} of ${sat[side].length} round${sat[side].length === 1 ? '' : 's'}: its e2e is queueing time`);
      excluded = true;
    }
  }
  if (excluded || row.before === null || row.after === null) {
    if (!excluded && row.before === row.after && row.before === null) notes.push('not measured');
    row.note = notes.join('; ') || undefined;
    if (row.note === undefined) delete row.note;
    return row;
  }
  const [num, den] = spec.higherIsBetter === true ? [row.after, row.before] : [row.before, row.after];
  if (num === 0 && den === 0) {
    row.verdict = 'no change';
    return row;
  }
  if (den === 0) {
    row.note = `factor undefined: ${spec.higherIsBetter === true ? labels.before : labels.after} is 0`;
    return row;
  }
  row.factor = num / den;
  let interval: [number, number] | null = null;
  const boot = { resamples: BOOTSTRAP_RESAMPLES, seed: seedOf(spec.metric) };
  if (overRounds) {
    interval = spec.higherIsBetter === true ? bootstrapRatio(sideVals.after, sideVals.before, boot) : bootstrapRatio(sideVals.before, sideVals.after, boot);
  } else if (spec.perSecond !== undefined) {
    const b = spec.perSecond(runs.before[0]!);
    const a = spec.perSecond(runs.after[0]!);
    if (a !== null && b !== null) interval = spec.higherIsBetter === true ? bootstrapRatio(a, b, { ...boot, stat: mean }) : bootstrapRatio(b, a, { ...boot, stat: mean });
  }
  row.interval = interval;
  if (interval === null) {
    row.note = overRounds ? 'no interval (a side is 0 in most resamples)' : 'one round and no per-second figures: no interval, no verdict';
    return row;
  }
  const small = Math.abs(Math.log(row.factor)) < Math.log(1 + minChange);
  if ((interval[0] <= 1 && interval[1] >= 1) || small) {
    row.verdict = 'no significant change';
    if (small && !(interval[0] <= 1 && interval[1] >= 1)) row.note = `change below --min-change ${(minChange * 100).toFixed(0)}%`;
  } else {
    row.verdict = row.factor > 1 ? 'improved' : 'regressed';
  }
  return row;
}

/** A factor with its interval: `2.00x [1.81x–2.24x]`. */
export function formatFactorInterval(f: number, interval: [number, number] | null | undefined): string {
  return `${fmtRatio(f)}x` + (interval !== null && interval !== undefined ? ` [${fmtRatio(interval[0])}x–${fmtRatio(interval[1])}x]` : '');
}
