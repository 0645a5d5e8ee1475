/**
 * Table data of a run and of a comparison, as rows of strings (pure). The terminal renderer draws
 * them with cli-table3, the markdown renderer with markdown-table.
 */
import type { CapacityResult } from '../metrics/capacity.js';
import type { ComparisonResult, RunResult } from '../metrics/result.js';
import type { EncodedLatency } from '../metrics/histogram.js';
import { analyzeComparison, formatDifference, isSyncAsyncPair, minSamplesFor, formatFactorInterval, seed003Rows, sideRuns, totalErrors, type Comparison, type ComparisonAnalysis, type ComparisonRow } from '../metrics/compare.js';
import { fmtFactor, fmtMiB, fmtUs, fmtValue } from './format.js';
import { formatActual, parseThreshold } from '../metrics/thresholds.js';
import { runPercentiles, statLabel, statValuesUs, type LatencyStat } from './percentiles.js';

/** A table: header row plus body rows. */
export interface TableData {
  head: string[];
  rows: string[][];
}

/** One-line description of a run's configuration. */
export function runTitle(r: RunResult): string {
  const c = r.config;
  // results written before the open model (issue 4) carry rate_per_client instead of model/schedule
  const shape = c.schedule !== undefined ? String(c.schedule) : `${String(c.rate_per_client)}/s per client`;
  const extras = [c.workers !== undefined && Number(c.workers) > 1 ? `${String(c.workers)} generator processes` : '', c.shard ? `shard ${String(c.shard)}` : '']
    .filter((x) => x !== '').map((x) => ` · ${x}`).join('');
  const wt = c.webtransport_mode !== undefined ? `, webtransport over ${c.webtransport_mode === 'http3' ? 'HTTP/3' : 'HTTP/2'}` : '';
  return `${r.label} · ${String(c.target)} (${String(c.target_kind)}${wt}) · ${String(c.clients)} clients · ${shape} for ${r.steady_s.toFixed(1)} s${extras}`;
}

function codes(o: Record<string, number>): string {
  const e = Object.entries(o);
  return e.length === 0 ? '0' : e.map(([k, v]) => `${k}: ${v}`).join(', ');
}

/** `p50 / p95 / max` of `stats` and the values of one latency in that order (`n/a` without samples). */
function statCells(lat: EncodedLatency, stats: readonly LatencyStat[]): [string, string] {
  return [stats.map(statLabel).join(' / '), statValuesUs(lat, stats).map(fmtUs).join(' / ')];
}

/**
 * Client-side summary: counts, rates, latencies, violations, generator health. The e2e rows show
 * `stats` (default: the run's `--percentiles`, see percentiles.ts).
 */
export function summaryTable(r: RunResult, stats: readonly LatencyStat[] = runPercentiles(r)): TableData {
  const c = r.client;
  const v = c.violations;
  const [statNames, e2eCells] = statCells(c.latency.e2e, stats);
  return {
    head: ['metric', 'value'],
    rows: [
      ['clients connected', `${c.connected}/${c.clients}`],
      ['requests sent', String(c.requests_sent) + (c.dropped_iterations ? ` (+${c.dropped_iterations} dropped at --max-in-flight)` : '')],
      ['responses', `${c.responses} (${c.responses_per_s.toFixed(1)}/s)`],
      ['notifies', String(c.notifies) + (c.unbound_notifies ? ` (+${c.unbound_notifies} unbound)` : '')],
      ['unanswered', String(c.unanswered)],
      ['errors', `${totalErrors(r)} (responses ${codes(c.errors_by_code)}; transport ${codes(c.transport_errors)})`],
      [`e2e ${statNames}`, e2eCells],
      ...(c.latency.e2e_uncorrected !== undefined && r.config.model !== 'closed'
        ? [['e2e uncorrected (from actual send)', statCells(c.latency.e2e_uncorrected, stats)[1]]]
        : []),
      ['connect p50 / p99', `${fmtUs(c.latency.connect.summary.p50_us)} / ${fmtUs(c.latency.connect.summary.p99_us)}`],
      ['schedule lag p99', fmtUs(c.latency.schedule_lag.summary.p99_us)],
      ['violations (reorders/gaps/duplicates/notify order)', `${v.reorders}/${v.gaps}/${v.duplicates}/${v.notify_order_violations}`],
      ['generator event-loop delay p99', `${r.generator.event_loop_delay_p99_ms.toFixed(1)} ms${r.generator.generator_bound ? ' (generator_bound)' : ''}`],
      ['peak RSS (whole process)', fmtMiB(r.generator.peak_rss_bytes) + (r.generator.workers_peak_rss_bytes !== undefined ? ` (+ generator processes, largest ${fmtMiB(r.generator.workers_peak_rss_bytes)})` : '')],
      ...transportRows(r.generator.transport),
    ],
  };
}

/** The generator's QUIC counters in one row: datagrams, losses, and what was dropped. */
function transportRows(t: Record<string, number | Record<string, number>> | undefined): string[][] {
  if (t === undefined || typeof t.packets_out !== 'number') return [];
  const n = (k: string): number => (typeof t[k] === 'number' ? (t[k] as number) : 0);
  const dropped = typeof t.invalid_datagrams === 'object' ? Object.values(t.invalid_datagrams).reduce((a, b) => a + b, 0) : 0;
  return [[
    'QUIC datagrams out / in (lost, retransmitted, dropped)',
    `${n('packets_out')} / ${n('packets_in')} (${n('lost_packets')}, ${n('retransmitted_packets')}, ${dropped})`,
  ]];
}

/**
 * Server stage latencies: stage | count | one column per statistic of `stats` (default: the run's
 * `--percentiles`, e.g. p50 | p90 | p95 | p99 | p99.9 | max). Null when the run has no server figures.
 */
export function stageTable(r: RunResult, stats: readonly LatencyStat[] = runPercentiles(r)): TableData | null {
  if (r.server === null) return null;
  const rows = Object.entries(r.server.stages).map(([name, lat]: [string, EncodedLatency]) =>
    [name, String(lat.summary.count), ...(lat.summary.count === 0 ? stats.map(() => '-') : statValuesUs(lat, stats).map(fmtUs))]);
  return { head: ['stage', 'count', ...stats.map(statLabel)], rows };
}

/** SendQueueStats of the run (seed 000 names). */
export function queueTable(r: RunResult): TableData | null {
  const q = r.server?.queue;
  if (q === undefined) return null;
  const keys = ['total_enqueued', 'total_sent', 'total_failed', 'dropped_tasks', 'sync_fallbacks', 'discarded_on_close', 'writes',
    'avg_send_latency_ns', 'max_send_latency_ns', 'success_rate', 'worker_utilisation'];
  return {
    head: ['SendQueueStats', 'value'],
    rows: keys.filter((k) => k in q).map((k) => {
      const v = q[k] as number;
      return [k, Number.isInteger(v) ? String(v) : v.toFixed(4)];
    }),
  };
}

/**
 * Configuration of a run: every `config` key flattened (`gateway.queue.sendWorkerCount`), values as
 * JSON, then one `environment` row (platform, CPUs, CPU model, Node version).
 */
export function configTable(r: RunResult): TableData {
  return { head: ['setting', 'value'], rows: [...flatConfig(r.config), ['environment', `${r.environment.platform}, ${r.environment.cpus} CPUs, ${r.environment.cpu_model}, Node ${r.environment.node}`]] };
}

/** `config` of a capacity search, flattened like configTable's (no environment: the result has none). */
export function capacityConfigTable(c: CapacityResult): TableData {
  return { head: ['setting', 'value'], rows: flatConfig(c.config) };
}

function flatConfig(o: unknown, prefix = ''): string[][] {
  return Object.entries(o as Record<string, unknown>).flatMap(([k, v]) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? flatConfig(v, `${prefix}${k}.`) : [[`${prefix}${k}`, JSON.stringify(v)]]);
}

/**
 * Thresholds stored in a run (`--threshold`, scenario): expression | result (`pass`/`FAIL`) |
 * measured value in the expression's unit (latencies: the unit the expression used). Null when the
 * run has none.
 */
export function thresholdsTable(r: RunResult): TableData | null {
  const t = r.thresholds ?? [];
  if (t.length === 0) return null;
  return {
    head: ['threshold', 'result', 'actual'],
    rows: t.map((x) => {
      let actual: string;
      try {
        actual = formatActual({ ...parseThreshold(x.expr), actual: x.actual, ok: x.ok, ...(x.reason !== undefined ? { reason: x.reason } : {}) });
      } catch {
        actual = x.actual === null ? `n/a (${x.reason ?? 'not measured'})` : String(x.actual);
      }
      return [x.expr, x.ok ? 'pass' : 'FAIL', actual];
    }),
  };
}

/**
 * Comparison table (issue 14): metric | before (label) | after (label) | factor [95% interval] |
 * verdict, plus the seed claims column when the sides are the sync and async designs. Values are
 * the medians of each side's rounds; a percentile with too few samples shows `n < 1000`, a
 * saturated side's e2e is marked `queueing time` and has no factor. `analysis` defaults to
 * analyzeComparison(cmp).
 */
export function comparisonTable(cmp: ComparisonResult, analysis: ComparisonAnalysis = analyzeComparison(cmp)): TableData {
  const claims = analysis.sync_async;
  const cell = (v: number | null, unit: ComparisonRow['unit'], note: string | undefined) =>
    note?.startsWith('n <') === true ? note : fmtValue(v, unit) + (note !== undefined ? ` (${note})` : '');
  return {
    head: ['metric', `before (${cmp.before.label})`, `after (${cmp.after.label})`, 'factor [95% interval]', 'verdict', ...(claims ? ['report\'s claim (not measured)'] : [])],
    rows: analysis.rows.map((r) => [r.metric, cell(r.before, r.unit, r.before_note), cell(r.after, r.unit, r.after_note),
      r.factor === null ? 'n/a' : formatFactorInterval(r.factor, r.interval), r.verdict ?? '', ...(claims ? [r.claim] : [])]),
  };
}

/** The title of a comparison: the seed question only when the sides are the sync and async designs. */
export function comparisonTitle(cmp: ComparisonResult, analysis: ComparisonAnalysis = analyzeComparison(cmp)): string {
  return analysis.sync_async ? 'gatectl compare — did the async redesign help?' : `gatectl compare — ${cmp.before.label} vs ${cmp.after.label}`;
}

/**
 * The headline of a comparison in which a side saturated and capacity searches were made
 * (`--find-max`): each side's max rate held under the SLO, and their ratio. Null otherwise (then the
 * table's medians are the comparison).
 */
export function comparisonHeadline(cmp: Comparison, analysis: ComparisonAnalysis = analyzeComparison(cmp)): string | null {
  const cap = cmp.extras?.capacity;
  const saturated = (['before', 'after'] as const).filter((s) => analysis.saturation[s].some((v) => v.saturated));
  if (cap === undefined || saturated.length === 0) return null;
  const held = (c: typeof cap.before) => (c.max_rate_held === null ? 'none' : `${c.max_rate_held}/s${c.capped ? ' (at --max-rate: at least this)' : ''}`);
  const f = cap.before.max_rate_held !== null && cap.after.max_rate_held !== null && cap.before.max_rate_held > 0 ? `, ${(cap.after.max_rate_held / cap.before.max_rate_held).toFixed(2)}x` : '';
  return `HEADLINE — ${saturated.map((s) => cmp[s].label).join(' and ')} saturated, so capacity is the comparison: max rate held (SLO ${cap.before.slo.join(', ')}): ` +
    `${cmp.before.label} ${held(cap.before)}, ${cmp.after.label} ${held(cap.after)}${f} (--find-max).`;
}

/**
 * The lines printed under a comparison table (pure): rounds and their order, whether the compare
 * finished, the interval method, each side's saturation verdict (with the rate it served), the
 * capacity headline when a side saturated, load-shape differences (`--allow-different`), the rows'
 * notes and the legend.
 */
export function comparisonNotes(cmp: Comparison, analysis: ComparisonAnalysis = analyzeComparison(cmp)): string[] {
  const out: string[] = [];
  const r = cmp.rounds;
  if (r !== undefined) {
    const order = r.order.map((o) => o.map((s) => (s === 'before' ? 'A' : 'B')).join('')).join(' ');
    out.push(`${r.done} round${r.done === 1 ? '' : 's'} per side (A = ${cmp.before.label}, B = ${cmp.after.label}; order ${order}), each against a fresh gateway; values are medians of the rounds.`);
    if (r.done < r.planned) out.push(`INCOMPLETE: ${r.done} of ${r.planned} planned rounds finished${r.interrupted === true ? ' (the compare was interrupted or a run failed)' : ' (the compare was still running or was killed)'}.`);
  }
  out.push(analysis.method + '.');
  const by = (v: string) => analysis.rows.filter((row) => row.verdict === v).map((row) => row.metric);
  const verdicts = (['improved', 'regressed', 'no significant change', 'not judged'] as const).map((v) => [v, by(v)] as const).filter(([, m]) => m.length > 0);
  out.push(`Verdicts — ${verdicts.map(([v, m]) => `${v}: ${m.join(', ')}`).join('; ')}.`);
  const labels = { before: cmp.before.label, after: cmp.after.label };
  let anySaturated = false;
  for (const side of ['before', 'after'] as const) {
    const vs = analysis.saturation[side];
    const sat = vs.filter((v) => v.saturated);
    const served = vs.map((v) => v.served_per_s).filter((x): x is number => x !== null);
    const offered = vs.map((v) => v.offered_per_s).filter((x): x is number => x !== null);
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1]!;
    const rate = served.length > 0 ? `served ${med(served).toFixed(1)}/s` + (offered.length > 0 ? ` of ${med(offered).toFixed(1)}/s offered` : '') + (vs.length > 1 ? ', median of the rounds' : '') : '';
    if (sat.length > 0) {
      anySaturated = true;
      const each = vs.map((v, i) => ({ v, i })).filter(({ v }) => v.saturated)
        .map(({ v, i }) => `${vs.length > 1 ? `round ${i + 1}: ` : ''}${v.reasons.join('; ')}`);
      out.push(`SATURATED: ${labels[side]} in ${sat.length} of ${vs.length} round${vs.length === 1 ? '' : 's'} — ${each.join(' | ')}. ` +
        `Its e2e latency is queueing time, kept out of the factors.`);
    } else if (vs.every((v) => v.judged)) {
      out.push(`${labels[side]} kept up in ${vs.length === 1 ? 'its run' : `all ${vs.length} rounds`}${rate !== '' ? ` (${rate})` : ''}.`);
    } else {
      out.push(`${labels[side]}: saturation not judged (${vs.find((v) => !v.judged)!.reasons.join('; ')}).`);
    }
  }
  const all = sideRuns(cmp);
  const bound = (['before', 'after'] as const).flatMap((side) => all[side].map((run, i) => ({ run, i }))
    .filter(({ run }) => run.generator.generator_bound).map(({ run, i }) => `${run.label}${all[side].length > 1 ? ` round ${i + 1}` : ''}`));
  if (bound.length > 0) {
    out.push(`generator_bound in ${bound.length} of ${all.before.length + all.after.length} runs (${bound.join(', ')}): their e2e figures include the load generator's own stalls.`);
  }
  if (anySaturated && cmp.extras?.capacity === undefined) {
    out.push('A side saturated: its latency measures the queue, not the design. Lower the rate, or measure each side\'s capacity with --find-max.');
  }
  if (analysis.differences.length > 0) {
    out.push(`LOAD SHAPES DIFFER (--allow-different): ${analysis.differences.map(formatDifference).join('; ')}. Factors mix the load with the design.`);
  }
  const byNote = new Map<string, string[]>();
  for (const row of analysis.rows) if (row.note !== undefined) byNote.set(row.note, [...(byNote.get(row.note) ?? []), row.metric]);
  for (const [note, metrics] of byNote) out.push(`${metrics.join(', ')}: ${note}.`);
  out.push('factor: before/after for latencies and errors (higher is better), after/before for responses/s; [lo–hi] is its 95% interval. ' +
    `"no significant change": the interval holds 1 or the change is below --min-change ${(analysis.min_change * 100).toFixed(0)}%. ` +
    'A percentile is shown only with at least 10/(1 − p) samples in every round (p99: 1000). ' +
    'responses/s counts the steady phase only (answers that came in the drain are left out).');
  if (analysis.sync_async) out.push('The last column quotes the seed reports; those figures were not measured in this run.');
  return out;
}

/**
 * One row per run of a comparison with rounds: round | side | ran (1st/2nd in its round) |
 * responses/s (steady phase) | e2e p50 | e2e p99 | enqueue_latency p99 | saturation. Percentiles below their sample
 * bound (minSamplesFor) show `n < N`. Null for a comparison of one run per side.
 */
export function roundsTable(cmp: Comparison, analysis: ComparisonAnalysis = analyzeComparison(cmp)): TableData | null {
  const r = cmp.rounds;
  if (r === undefined || r.done < 2) return null;
  const pct = (s: EncodedLatency['summary'] | undefined, p: 50 | 99) => {
    if (s === undefined || s.count === 0) return 'n/a';
    const need = minSamplesFor(p);
    return s.count < need ? `n < ${need}` : fmtUs(p === 50 ? s.p50_us : s.p99_us);
  };
  const rows: string[][] = [];
  for (let i = 0; i < r.done; i++) {
    for (const side of r.order[i] ?? ['before', 'after']) {
      const run = r[side][i]!;
      const v = analysis.saturation[side][i]!;
      const sat = v.saturated ? `SATURATED (served ${v.served_per_s?.toFixed(1) ?? '?'}/s)` : v.judged ? 'kept up' : 'not judged';
      rows.push([String(i + 1), run.label, r.order[i]![0] === side ? '1st' : '2nd', `${(v.responses_per_s ?? run.client.responses_per_s).toFixed(1)}/s`,
        pct(run.client.latency.e2e.summary, 50), pct(run.client.latency.e2e.summary, 99), pct(run.server?.stages.enqueue_latency?.summary, 99), sat]);
    }
  }
  return { head: ['round', 'side', 'ran', 'responses/s (steady)', 'e2e p50', 'e2e p99', 'enqueue_latency p99', 'saturation'], rows };
}

/** Every warning of every round, each with the side and round it belongs to (`where`: `sync, round 2`, or `sync` for one round). */
export function comparisonWarnings(cmp: Comparison): { where: string; text: string }[] {
  const runs = sideRuns(cmp);
  const many = runs.before.length > 1;
  return (['before', 'after'] as const).flatMap((side) => runs[side].flatMap((r, i) => r.warnings.map((text) => ({ where: `${r.label}${many ? `, round ${i + 1}` : ''}`, text }))));
}

/** Seed 003's 响应时间对比 and 吞吐量对比 tables, when the comparison has their figures (claims column only for the sync and async designs). */
export function seed003Tables(cmp: ComparisonResult): { response: TableData; throughput: TableData } | null {
  const r = seed003Rows(cmp);
  const claims = isSyncAsyncPair(cmp);
  return r === null ? null : { response: rowsTable(cmp, r.response, claims), throughput: rowsTable(cmp, r.throughput, claims) };
}

function rowsTable(cmp: ComparisonResult, rows: ComparisonRow[], claims: boolean): TableData {
  return {
    head: ['metric', `before (${cmp.before.label})`, `after (${cmp.after.label})`, 'factor', ...(claims ? ['report\'s claim (not measured)'] : [])],
    rows: rows.map((r) => [r.metric, fmtValue(r.before, r.unit), fmtValue(r.after, r.unit), fmtFactor(r.factor), ...(claims ? [r.claim] : [])]),
  };
}

/** The schedule stages of a run (scenario runs): label, kind, rate, counts, corrected e2e. Null for a one-stage run. */
export function scheduleStagesTable(r: RunResult): TableData | null {
  const st = r.stages ?? [];
  if (st.length < 2) return null;
  const rate = (a: number, b: number) => (a === b ? `${round1(a)}/s` : `${round1(a)}→${round1(b)}/s`);
  return {
    head: ['stage', 'kind', 'rate', 'requests', 'responses', 'e2e p50', 'e2e p99', 'e2e max'],
    rows: st.map((s) => [s.label ?? `#${s.index + 1}`, s.kind, rate(s.rate_from, s.rate_to), String(s.requests), String(s.responses),
      ...(s.responses === 0 ? ['-', '-', '-'] : [s.e2e.summary.p50_us, s.e2e.summary.p99_us, s.e2e.summary.max_us].map(fmtUs))]),
  };
}

function round1(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** The steps of a capacity search (`load --find-max`). */
export function capacityTable(c: CapacityResult): TableData {
  return {
    head: ['rate', 'held', 'responses/s', 'e2e p50', 'e2e p99', 'errors', 'dropped', 'broke on'],
    rows: c.steps.map((s) => [`${s.rate}/s`, s.ok ? 'yes' : 'no', s.responses_per_s.toFixed(1), fmtUs(s.e2e.p50_us), fmtUs(s.e2e.p99_us),
      String(s.errors), String(s.dropped_iterations), s.failed.join('; ')]),
  };
}
