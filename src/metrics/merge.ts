/**
 * Exact merge of RunResults (issue 4 §7: shards and distributed runs; autocannon
 * `lib/aggregateResult.js` is the model: histograms added, counters summed, never averaged).
 *
 * Rules, applied by walking the objects generically so counters added later are merged too:
 * - Every EncodedLatency (an object `{summary, histogram: string}`) anywhere under `client` and
 *   `server` (client.latency.*, server.stages.*, and any the engine adds) is decoded, added into
 *   one histogram and re-encoded: percentiles come from the merged histogram, never averaged;
 *   `min_us`/`max_us` are the extremes of the parts' summaries (exact, where a decoded histogram
 *   knows its max only to 0.1 %).
 * - `client`: numbers are summed (counts, violations, errors_by_code, transport_errors, …);
 *   booleans are or-ed. Rates — every key ending in `_per_s` (`responses_per_s`,
 *   `requests_per_s`, …) — are recomputed as summed count / merged `steady_s`, where the count is
 *   the sibling counter named in RATE_COUNTERS (responses_per_s ← responses, requests_per_s ←
 *   requests_sent) or, for another `X_per_s`, the sibling `X` when present, else Σ(rate × steady_s).
 * - `generator`: numbers take the maximum (event-loop delays, peak RSS are per-process figures: the
 *   worst generator is the one that bounds the run); booleans are or-ed (`generator_bound` = any).
 * - `server`: figures are summed as in `client` when each result had its own gateway (in-process
 *   targets, or different targets). When every result read the same remote target through its
 *   monitor (`source: 'monitor'`, same `config.target`), summing would count the server n times: the
 *   first result's server figures are kept and a warning says so. In `server.queue`,
 *   `max_*` keys take the maximum, `avg_send_latency_ns` is weighted by `writes`, `success_rate` is
 *   recomputed as total_sent / (total_sent + total_failed), `worker_utilisation` as the mean over
 *   all workers, `workers` lists are concatenated; in `server.processor`, `max_workers` and
 *   `max_queue_size` are summed (total capacity) and `started` is and-ed.
 * - `steady_s`: the longest steady phase (shards run concurrently); `started_at`: the earliest,
 *   `finished_at`: the latest.
 * - `timeseries`: aligned by wall clock: a point's absolute second is
 *   floor((steady_started_at ?? started_at) / 1 s) + t_s; points of the same second are summed.
 *   When every point of a second carries its encoded histograms (`e2e_histogram`,
 *   `schedule_lag_histogram`, issue 14 §7), they are added and that second's `e2e_p50_us`,
 *   `e2e_p99_us` and `schedule_lag_p99_us` are read from the sum: exact. Otherwise (results from
 *   before per-second histograms) `*_us` take the maximum, an upper bound of that second's
 *   percentile, and a warning says so. Merged `t_s` counts from the earliest result's second. Associative.
 * - `warnings`: union, in order of first appearance, plus the merge's own.
 * - `config`: the first result's, with `merged_from: [{label, started_at, shard?}]`; `environment`:
 *   the first result's. `label`: `merged(n)` where n counts the original runs (a merged input
 *   counts as many as it merged).
 * - Other fields (`per-stage` arrays the engine adds): arrays of equal length are merged element by
 *   element with the same rules; strings must agree or the first is kept.
 *
 * Refuses (InvalidInputError) an empty list, a result whose `schema` is not RUN_SCHEMA, results of
 * different scenarios (`config.scenario`), different shard counts (`config.shard` "i/n"), the
 * same shard twice (a retried pod), or an unsharded run mixed with shards (it would count the
 * whole load once more). Warns when shards are missing or began their steady phase more than
 * START_SKEW_WARN_MS apart (`--start-at` not given or missed).
 */
import { InvalidInputError } from '../errors.js';
import { decodeHistogram, encodeHistogram, encodeLatency, mergeHistograms, type EncodedLatency } from './histogram.js';
import { RUN_SCHEMA, type RunResult, type TimeSeriesPoint } from './result.js';

/** Shards whose steady phases began further apart than this (ms) did not run together: warned. */
export const START_SKEW_WARN_MS = 1000;

/** Per-second percentile keys recomputed from the per-second histograms, and where each is read. */
const SECOND_PERCENTILES: readonly { key: string; histogram: 'e2e_histogram' | 'schedule_lag_histogram'; p: number }[] = [
  { key: 'e2e_p50_us', histogram: 'e2e_histogram', p: 50 },
  { key: 'e2e_p99_us', histogram: 'e2e_histogram', p: 99 },
  { key: 'schedule_lag_p99_us', histogram: 'schedule_lag_histogram', p: 99 },
];

/** Rate keys and the counter each is recomputed from (count / merged steady_s). */
export const RATE_COUNTERS: Readonly<Record<string, string>> = Object.freeze({
  responses_per_s: 'responses',
  requests_per_s: 'requests_sent',
});

type Obj = Record<string, unknown>;
type Mode = 'sum' | 'max';

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isEncodedLatency(v: unknown): v is EncodedLatency {
  return isObj(v) && typeof v.histogram === 'string' && isObj(v.summary);
}

function mergeLatency(parts: EncodedLatency[], where: string): EncodedLatency {
  try {
    const out = encodeLatency(mergeHistograms(parts.map((p) => decodeHistogram(p.histogram))));
    // A decoded histogram knows its max only to its bucket's precision; the parts' summaries hold
    // the exact extremes, and the extreme of extremes is exact.
    const seen = parts.filter((p) => p.summary.count > 0);
    if (seen.length > 0) {
      out.summary.max_us = Math.max(...seen.map((p) => p.summary.max_us));
      out.summary.min_us = Math.min(...seen.map((p) => p.summary.min_us));
    }
    return out;
  } catch (err) {
    throw new InvalidInputError(`cannot merge ${where}: a histogram does not decode (${(err as Error).message}); the result file is damaged, re-run that shard`);
  }
}

/** Merges values found at the same path in every result (missing ones skipped). */
function mergeValue(values: unknown[], mode: Mode, path: string): unknown {
  const present = values.filter((v) => v !== undefined);
  if (present.length === 0) return undefined;
  const first = present[0];
  if (present.every(isEncodedLatency)) return mergeLatency(present, path);
  if (present.every((v) => typeof v === 'number')) {
    return mode === 'max' ? Math.max(...present) : present.reduce((a, b) => a + b, 0);
  }
  if (present.every((v) => typeof v === 'boolean')) return present.some(Boolean);
  if (present.every(Array.isArray)) {
    const len = (first as unknown[]).length;
    if (present.every((a) => a.length === len)) {
      return Array.from({ length: len }, (_, i) => mergeValue(present.map((a) => a[i]), mode, `${path}[${i}]`));
    }
    return present.flat();
  }
  if (present.every(isObj)) return mergeObjects(present, mode, path);
  return first; // strings and mixed: the first result's
}

/**
 * Outage fields (issue 15) that a plain sum would garble: each shard's outage windows are its own
 * (times in ms since its steady start, and wall clock), so the merged result lists them all, in
 * wall-clock order, never adding one shard's window to another's; the longest time a client spent
 * disconnected is the longest of the shards', not their sum.
 */
function mergeOutages(client: Obj, results: readonly RunResult[]): void {
  const windows = results.flatMap((r) => r.client.outages ?? []);
  if (windows.length > 0 || results.some((r) => r.client.outages !== undefined)) {
    client.outages = [...windows].sort((a, b) => a.started_at.localeCompare(b.started_at)) as unknown as Obj[];
  }
  const disconnected = client.disconnected;
  if (isObj(disconnected)) disconnected.max_ms = Math.max(0, ...results.map((r) => r.client.disconnected?.max_ms ?? 0));
}

function mergeObjects(objs: Obj[], mode: Mode, path: string): Obj {
  const keys: string[] = [];
  for (const o of objs) for (const k of Object.keys(o)) if (!keys.includes(k)) keys.push(k);
  const out: Obj = {};
  for (const k of keys) out[k] = mergeValue(objs.map((o) => o[k]), mode, path === '' ? k : `${path}.${k}`);
  return out;
}

/** Recomputes every `X_per_s` in `merged` (an object level) from the summed count / steadyS. */
function recomputeRates(merged: Obj, parts: Obj[], steadyS: number[], mergedSteadyS: number): void {
  for (const key of Object.keys(merged)) {
    const v = merged[key];
    if (isObj(v) && !isEncodedLatency(v)) {
      recomputeRates(v, parts.map((p) => (isObj(p[key]) ? p[key] : {})), steadyS, mergedSteadyS);
      continue;
    }
    if (!key.endsWith('_per_s') || typeof v !== 'number') continue;
    const counter = RATE_COUNTERS[key] ?? key.slice(0, -'_per_s'.length);
    const count = typeof merged[counter] === 'number'
      ? merged[counter]
      : parts.reduce((a, p, i) => a + (typeof p[key] === 'number' ? p[key] * steadyS[i]! : 0), 0);
    merged[key] = mergedSteadyS > 0 ? Math.round((count / mergedSteadyS) * 10) / 10 : 0;
  }
}

function mergeQueue(merged: Obj, parts: Obj[]): void {
  for (const k of Object.keys(merged)) {
    if (k.startsWith('max_') && typeof merged[k] === 'number') merged[k] = Math.max(...parts.map((p) => (typeof p[k] === 'number' ? p[k] : 0)));
  }
  const n = (o: Obj, k: string): number => (typeof o[k] === 'number' ? o[k] : 0);
  if (typeof merged.avg_send_latency_ns === 'number') {
    const writes = parts.reduce((a, p) => a + n(p, 'writes'), 0);
    merged.avg_send_latency_ns = writes === 0 ? 0 : Math.round(parts.reduce((a, p) => a + n(p, 'avg_send_latency_ns') * n(p, 'writes'), 0) / writes);
  }
  if (typeof merged.success_rate === 'number') {
    const sent = n(merged, 'total_sent');
    const failed = n(merged, 'total_failed');
    merged.success_rate = sent + failed === 0 ? 1 : sent / (sent + failed);
  }
  if (typeof merged.worker_utilisation === 'number') {
    const workers = parts.flatMap((p) => (Array.isArray(p.workers) ? p.workers as Obj[] : []));
    merged.worker_utilisation = workers.length === 0
      ? Math.max(...parts.map((p) => n(p, 'worker_utilisation')))
      : workers.reduce((a, w) => a + n(w, 'utilisation'), 0) / workers.length;
  }
  if (Array.isArray(merged.workers) || parts.some((p) => Array.isArray(p.workers))) {
    merged.workers = parts.flatMap((p) => (Array.isArray(p.workers) ? p.workers : []));
  }
}

function mergeProcessor(merged: Obj, parts: Obj[]): void {
  if (typeof merged.started === 'boolean') merged.started = parts.every((p) => p.started === true);
}

function shardOf(r: RunResult): { i: number; n: number } | null {
  const s = r.config.shard;
  if (typeof s === 'string') {
    const m = /^(\d+)\/(\d+)$/.exec(s.trim());
    if (m !== null) return { i: Number(m[1]), n: Number(m[2]) };
  }
  if (isObj(s) && typeof s.index === 'number' && typeof s.count === 'number') return { i: s.index, n: s.count };
  return null;
}

function runsIn(r: RunResult): number {
  const from = r.config.merged_from;
  return Array.isArray(from) && from.length > 0 ? from.length : 1;
}

function mergedFrom(r: RunResult): unknown[] {
  const from = r.config.merged_from;
  if (Array.isArray(from) && from.length > 0) return from;
  const shard = shardOf(r);
  return [{ label: r.label, started_at: r.started_at, ...(shard !== null ? { shard: `${shard.i}/${shard.n}` } : {}) }];
}

function steadyStartMs(r: RunResult): number {
  const s = (r as unknown as Obj).steady_started_at;
  const t = Date.parse(typeof s === 'string' ? s : r.started_at);
  if (!Number.isFinite(t)) throw new InvalidInputError(`result "${r.label}" has no valid started_at (${JSON.stringify(r.started_at)}); it is not a complete gatectl result`);
  return t;
}

/**
 * The merged point of one second from the points of the results (`points`): counters summed, and
 * either the exact percentiles from the added per-second histograms, or (when a point has none)
 * the maximum of each `*_us` (then `exact` is false).
 */
function mergeSecond(points: Obj[]): { point: Obj; exact: boolean } {
  const out: Obj = {};
  const exact = points.every((p) => typeof p.e2e_histogram === 'string');
  for (const k of new Set(points.flatMap((p) => Object.keys(p)))) {
    if (k.endsWith('_histogram')) continue;
    const vals = points.map((p) => p[k]).filter((v): v is number => typeof v === 'number');
    out[k] = k.endsWith('_us') ? Math.max(...vals) : vals.reduce((a, b) => a + b, 0);
  }
  if (!exact) return { point: out, exact };
  for (const name of ['e2e_histogram', 'schedule_lag_histogram'] as const) {
    const encoded = points.map((p) => p[name]).filter((v): v is string => typeof v === 'string');
    if (encoded.length !== points.length) continue;
    let h;
    try {
      h = mergeHistograms(encoded.map((e) => decodeHistogram(e)));
    } catch (err) {
      throw new InvalidInputError(`cannot merge the time series: a per-second ${name} does not decode (${(err as Error).message}); the result file is damaged, re-run that shard`);
    }
    out[name] = encodeHistogram(h);
    for (const sp of SECOND_PERCENTILES) if (sp.histogram === name) out[sp.key] = h.totalCount > 0 ? h.getValueAtPercentile(sp.p) : 0;
  }
  return { point: out, exact };
}

function mergeTimeseries(results: readonly RunResult[]): { series: TimeSeriesPoint[]; originS: number; exact: boolean } {
  const originS = Math.min(...results.map((r) => Math.floor(steadyStartMs(r) / 1000)));
  const bySecond = new Map<number, Obj[]>();
  for (const r of results) {
    const base = Math.floor(steadyStartMs(r) / 1000);
    for (const p of r.timeseries) {
      const abs = base + p.t_s;
      const list = bySecond.get(abs) ?? [];
      list.push(p as unknown as Obj);
      bySecond.set(abs, list);
    }
  }
  let exact = true;
  const series = [...bySecond.keys()].sort((a, b) => a - b).map((abs) => {
    const points = bySecond.get(abs)!;
    const m = points.length === 1 ? { point: { ...points[0]! }, exact: true } : mergeSecond(points);
    exact &&= m.exact;
    m.point.t_s = abs - originS;
    return m.point as unknown as TimeSeriesPoint;
  });
  return { series, originS, exact };
}

/**
 * Merges shard (or repeated) results into one RunResult exactly (rules in the module docstring).
 * Pure: the inputs are not modified. Throws InvalidInputError for an empty list, a foreign schema,
 * mixed scenarios or shard counts, a shard present twice, or an undecodable histogram.
 */
export function mergeRunResults(results: readonly RunResult[]): RunResult {
  if (results.length === 0) throw new InvalidInputError('nothing to merge: give at least one result file written by gatectl load');
  results.forEach((r, i) => {
    if ((r as { schema?: unknown }).schema !== RUN_SCHEMA) {
      throw new InvalidInputError(`result #${i + 1} has schema ${JSON.stringify((r as { schema?: unknown }).schema)}, not "${RUN_SCHEMA}": only run results of the same schema version merge; re-run that shard with this gatectl`);
    }
  });
  const scenarios = [...new Set(results.map((r) => JSON.stringify(r.config.scenario ?? null)))];
  if (scenarios.length > 1) {
    throw new InvalidInputError(`results come from different scenarios (${scenarios.join(', ')}): merge only the shards of one run`);
  }
  const shards = results.flatMap((r, i) => mergedFrom(r).flatMap((f) => {
    const m = isObj(f) && typeof f.shard === 'string' ? /^(\d+)\/(\d+)$/.exec(f.shard) : null;
    return m === null ? [] : [{ i: Number(m[1]), n: Number(m[2]), at: i + 1 }];
  }));
  const counts = [...new Set(shards.map((s) => s.n))];
  if (counts.length > 1) throw new InvalidInputError(`results were sharded differently (shard counts ${counts.join(', ')}): merge the shards of one run only`);
  shards.forEach((s, k) => {
    const twin = shards.findIndex((o, j) => j > k && o.i === s.i);
    if (twin >= 0) {
      const where = s.at === shards[twin]!.at ? `result #${s.at} already contains` : `results #${s.at} and #${shards[twin]!.at} both contain`;
      throw new InvalidInputError(`${where} shard ${s.i}/${s.n} (a retried pod?): keep one result per shard`);
    }
  });
  const unsharded = results.flatMap((r, i) => mergedFrom(r).some((f) => !isObj(f) || typeof f.shard !== 'string') ? [i + 1] : []);
  if (shards.length > 0 && unsharded.length > 0) {
    throw new InvalidInputError(`result${unsharded.length > 1 ? 's' : ''} #${unsharded.join(', #')} ${unsharded.length > 1 ? 'are' : 'is'} a whole run (no --shard), the others are shards: ` +
      'merging them would count the load twice; merge the shards of one run only');
  }

  const warnings: string[] = [];
  for (const r of results) for (const w of r.warnings) if (!warnings.includes(w)) warnings.push(w);
  if (shards.length > 0 && shards.length < shards[0]!.n) {
    const have = new Set(shards.map((s) => s.i));
    const missing = Array.from({ length: shards[0]!.n }, (_, i) => i).filter((i) => !have.has(i));
    warnings.push(`shards ${missing.map((i) => `${i}/${shards[0]!.n}`).join(', ')} are missing: the merged figures cover ${shards.length} of ${shards[0]!.n} shards of the load`);
  }
  if (results.length > 1) {
    const starts = results.map(steadyStartMs);
    const skew = Math.max(...starts) - Math.min(...starts);
    if (skew > START_SKEW_WARN_MS) {
      warnings.push(`the results began their steady phase up to ${(skew / 1000).toFixed(1)} s apart: they did not run together, so per-second figures and rates mix different moments; start shards with --start-at`);
    }
  }
  const steadyS = results.map((r) => r.steady_s);
  const mergedSteady = Math.max(...steadyS);
  const { series, exact } = mergeTimeseries(results);
  if (!exact) warnings.push('some results have no per-second histograms (older gatectl): those seconds\' percentiles are the largest of the parts, an upper bound, not exact');

  const clientParts = results.map((r) => r.client as unknown as Obj);
  const client = mergeObjects(clientParts, 'sum', 'client');
  recomputeRates(client, clientParts, steadyS, mergedSteady);
  mergeOutages(client, results);

  const generator = mergeObjects(results.map((r) => r.generator as unknown as Obj), 'max', 'generator');

  let server: RunResult['server'] = null;
  const servers = results.map((r) => r.server).filter((s): s is NonNullable<RunResult['server']> => s !== null);
  if (servers.length > 0) {
    const sharedRemote = servers.length === results.length && servers.every((s) => s.source === 'monitor')
      && new Set(results.map((r) => String(r.config.target))).size === 1 && results.length > 1;
    if (sharedRemote) {
      server = structuredClone(servers[0]!);
      const w = `server figures are those read by the first result from ${String(results[0]!.config.target)}'s monitor: all ${results.length} results loaded the same server, so summing them would count it ${results.length} times`;
      if (!warnings.includes(w)) warnings.push(w);
    } else {
      if (servers.length < results.length) warnings.push(`server figures cover ${servers.length} of ${results.length} merged results (the others had none)`);
      const parts = servers as unknown as Obj[];
      const merged = mergeObjects(parts, 'sum', 'server');
      merged.source = servers.every((s) => s.source === servers[0]!.source) ? servers[0]!.source : 'monitor';
      if (isObj(merged.queue)) mergeQueue(merged.queue, parts.map((p) => (isObj(p.queue) ? p.queue : {})));
      if (isObj(merged.processor)) mergeProcessor(merged.processor, parts.map((p) => (isObj(p.processor) ? p.processor : {})));
      server = merged as unknown as RunResult['server'];
    }
  }

  const starts = results.map((r) => Date.parse(r.started_at));
  const ends = results.map((r) => Date.parse(r.finished_at));
  const first = results[0]!;
  const known = new Set(['schema', 'label', 'started_at', 'finished_at', 'steady_s', 'config', 'environment', 'client', 'generator', 'server', 'timeseries', 'warnings', 'steady_started_at']);
  const extraParts = results.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !known.has(k))));
  const extra = mergeObjects(extraParts, 'sum', '');
  recomputeRates(extra, extraParts, steadyS, mergedSteady);
  const steadyStarts = results.map((r) => (r as unknown as Obj).steady_started_at).filter((s): s is string => typeof s === 'string');
  const runs = results.reduce((a, r) => a + runsIn(r), 0);
  return {
    ...extra,
    schema: RUN_SCHEMA,
    label: `merged(${runs})`,
    started_at: new Date(Math.min(...starts)).toISOString(),
    finished_at: new Date(Math.max(...ends)).toISOString(),
    ...(steadyStarts.length === results.length ? { steady_started_at: new Date(Math.min(...steadyStarts.map(Date.parse))).toISOString() } : {}),
    steady_s: mergedSteady,
    config: { ...first.config, merged_from: results.flatMap(mergedFrom) },
    environment: first.environment,
    client: client as unknown as RunResult['client'],
    generator: generator as unknown as RunResult['generator'],
    server,
    timeseries: series,
    warnings,
  } as RunResult;
}
