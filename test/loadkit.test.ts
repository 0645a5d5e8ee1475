import { gatectl as run } from './support.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { createHistogram, decodeHistogram, encodeLatency, recordUs, summarize, type Histogram } from '../src/metrics/histogram.js';
import { RUN_SCHEMA, type RunResult } from '../src/metrics/result.js';
import { mergeRunResults } from '../src/metrics/merge.js';
import { evaluateThresholds, parseThreshold, renderThresholds, assertThresholds, ThresholdsFailedError } from '../src/metrics/thresholds.js';
import { renderHgrm, renderSpectrum } from '../src/report/hgrm.js';
import { InvalidInputError } from '../src/errors.js';
import { exitCodeOf } from '../src/cli/exit-codes.js';
import { arrivalTimeMs, clientsAt, cumulativeArrivals, loadScenario, mixPicker, parseScenario, rateAt, stagesToSchedule } from '../src/scenario/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'gatectl-loadkit-'));

function hist(values: number[]): Histogram {
  const h = createHistogram();
  for (const v of values) recordUs(h, v);
  return h;
}

/** A small synthetic RunResult with real encoded histograms (e2e values in µs). */
function makeResult(o: { label: string; startedAt: string; e2e: number[]; responses?: number; steadyS?: number; shard?: string; server?: boolean; series?: number[] }): RunResult {
  const responses = o.responses ?? o.e2e.length;
  const steadyS = o.steadyS ?? 10;
  return {
    schema: RUN_SCHEMA,
    label: o.label,
    started_at: o.startedAt,
    finished_at: new Date(Date.parse(o.startedAt) + steadyS * 1000 + 2000).toISOString(),
    steady_s: steadyS,
    config: { target: 'quic://127.0.0.1:4433', target_kind: 'in-process', clients: 10, rate_per_client: 1, ...(o.shard !== undefined ? { shard: o.shard } : {}) },
    environment: { node: 'v20', platform: 'linux-x64', cpus: 2, cpu_model: 'test', total_mem_bytes: 1 },
    client: {
      clients: 10, connected: 10, connect_failures: 0, hello_failures: 0,
      requests_sent: responses + 1, responses, notifies: 2 * responses, unbound_notifies: 0, heartbeats: 0, dropped_iterations: 0, unanswered: 1,
      errors_by_code: { 500: 2 }, transport_errors: {},
      violations: { reorders: 0, gaps: 1, duplicates: 0, notify_order_violations: 0 },
      responses_per_s: Math.round((responses / steadyS) * 10) / 10,
      requests_per_s: Math.round(((responses + 1) / steadyS) * 10) / 10,
      latency: { e2e: encodeLatency(hist(o.e2e)), connect: encodeLatency(hist([1000, 2000])), schedule_lag: encodeLatency(hist([10])) },
    },
    generator: { workers: 1, event_loop_delay_p99_ms: 3, event_loop_delay_max_ms: 9, generator_bound: false, peak_rss_bytes: 100 },
    server: o.server === false ? null : {
      source: 'in-process',
      stages: { enqueue_latency: encodeLatency(hist(o.e2e.map((v) => v / 100))), lock_wait: encodeLatency(hist([])) },
      queue: { total_enqueued: 10, total_sent: 9, total_failed: 1, writes: 9, avg_send_latency_ns: 1000, max_send_latency_ns: 5000, success_rate: 0.9, worker_utilisation: 0.5 },
      processor: { max_workers: 8, submitted: responses, started: true },
      counters: { requests: responses, errors_by_code: { 500: 2 } },
    },
    timeseries: (o.series ?? [5, 5]).map((responses, t_s) => ({ t_s, connected: 10, requests: responses, responses, errors: 0, e2e_p99_us: 1000 + t_s })),
    warnings: [`from ${o.label}`],
  };
}

// ---------------------------------------------------------------- thresholds

test('thresholds: k6 expressions parse into metric, stat, op and a µs limit', () => {
  assert.deepEqual(
    (({ metric, stat, percentile, op, limit, unit }) => ({ metric, stat, percentile, op, limit, unit }))(parseThreshold(' e2e:p(99)<50ms ')),
    { metric: 'e2e', stat: 'p(99)', percentile: 99, op: '<', limit: 50_000, unit: 'µs' });
  assert.equal(parseThreshold('e2e:p(99.9)<=200ms').limit, 200_000);
  assert.equal(parseThreshold('e2e:p(99.9)<=200ms').percentile, 99.9);
  assert.equal(parseThreshold('connect:avg<100ms').limit, 100_000);
  assert.equal(parseThreshold('lock_wait:p(50)<1ms').metric, 'lock_wait');
  assert.equal(parseThreshold('enqueue_latency:med<250us').limit, 250);
  assert.equal(parseThreshold('e2e:max<1.5s').limit, 1_500_000);
  assert.equal(parseThreshold('e2e:min>=5µs').limit, 5);
  assert.equal(parseThreshold('errors:rate<0.01').unit, 'ratio');
  assert.equal(parseThreshold('errors:rate<1%').limit, 0.01);
  assert.equal(parseThreshold('responses_per_s:value>900').limit, 900);
  assert.equal(parseThreshold('violations:count==0').op, '==');
  assert.equal(parseThreshold('dropped_iterations:count<1').metric, 'dropped_iterations');
  assert.equal(parseThreshold('e2e_uncorrected:p(99)<10ms').metric, 'e2e_uncorrected');
  assert.equal(parseThreshold('e2e:count>100').unit, 'count');
});

test('thresholds: bad expressions say what is wrong and show a valid one', () => {
  const cases: [string, RegExp][] = [
    ['e2e p99 < 50ms', /expected <metric>:<aggregation><op><value>; e\.g\. e2e:p\(99\)<50ms/],
    ['latency:p(99)<50ms', /unknown metric "latency"; known: e2e, .*enqueue_latency/],
    ['e2e:p(99)<50', /latency "50" has no unit: add us, ms or s; e\.g\. e2e:p\(99\)<50ms/],
    ['e2e:p(99)<50 parsecs', /is not a latency/],
    ['e2e:p(0)<50ms', /percentile "0" must be a number above 0 and at most 100/],
    ['e2e:p(101)<50ms', /percentile "101"/],
    ['e2e:rate<0.1', /"e2e" does not have the aggregation "rate"; it accepts p\(N\), med, avg, min, max, count; e\.g\. e2e:p\(99\)<50ms/],
    ['errors:p(99)<1ms', /"errors" does not have the aggregation "p\(99\)"; it accepts rate, count; e\.g\. errors:rate<0\.01/],
    ['responses_per_s:count>1', /accepts value; e\.g\. responses_per_s:value>900/],
    ['errors:rate<lots', /"lots" is not a number; e\.g\. errors:rate<0\.01/],
  ];
  for (const [expr, re] of cases) {
    assert.throws(() => parseThreshold(expr), (err: unknown) => err instanceof InvalidInputError && exitCodeOf(err) === 2 && re.test(err.message), expr);
  }
});

test('thresholds: evaluation against a run, failures listed, exit code 99', () => {
  // e2e 1..1000 ms: p99 ≈ 990 ms; 1000 responses, 1001 requests, 10 clients
  const r = makeResult({ label: 'a', startedAt: '2025-01-01T00:00:00.000Z', e2e: Array.from({ length: 1000 }, (_, i) => (i + 1) * 1000), server: false });
  const res = evaluateThresholds(r, ['e2e:p(99)<1s', 'e2e:p(99)<500ms', 'errors:rate<0.01', 'errors:count<=3', 'responses_per_s:value>=100',
    'violations:count==0', 'gaps:count==1', 'enqueue_latency:p(50)<1ms', 'e2e_uncorrected:p(99)<1s', 'e2e:count==1000', 'responses:rate>99']);
  const byExpr = Object.fromEntries(res.map((x) => [x.expr, x]));
  assert.equal(byExpr['e2e:p(99)<1s']!.ok, true);
  assert.ok(Math.abs(byExpr['e2e:p(99)<1s']!.actual! - 990_000) < 1000);
  assert.equal(byExpr['e2e:p(99)<500ms']!.ok, false);
  // errors = 2 error responses + 1 unanswered = 3, over 1001 requests + 10 clients
  assert.equal(byExpr['errors:count<=3']!.actual, 3);
  assert.ok(Math.abs(byExpr['errors:rate<0.01']!.actual! - 3 / 1011) < 1e-12);
  assert.equal(byExpr['errors:rate<0.01']!.ok, true);
  assert.equal(byExpr['responses_per_s:value>=100']!.ok, true);
  assert.equal(byExpr['violations:count==0']!.ok, false);
  assert.equal(byExpr['gaps:count==1']!.ok, true);
  assert.equal(byExpr['e2e:count==1000']!.ok, true);
  assert.equal(byExpr['responses:rate>99']!.actual, 100);
  // missing data never passes
  assert.equal(byExpr['enqueue_latency:p(50)<1ms']!.ok, false);
  assert.match(byExpr['enqueue_latency:p(50)<1ms']!.reason!, /no server figures/);
  assert.equal(byExpr['e2e_uncorrected:p(99)<1s']!.actual, null);

  const text = renderThresholds(res);
  assert.match(text, /✗ e2e:p\(99\)<500ms\s+actual 990\.\dms/);
  assert.match(text, /✓ e2e:p\(99\)<1s\s+actual 0\.990\ds/);
  assert.match(text, /✓ errors:rate<0\.01/);
  assert.match(text, /4 of 11 thresholds FAILED \(exit code 99\)/);
  assert.doesNotMatch(renderThresholds(res, { onlyFailed: true }), /✓/);
  assert.throws(() => assertThresholds(res), (err: unknown) => err instanceof ThresholdsFailedError && exitCodeOf(err) === 99 && /4 of 11 threshold\(s\) failed: e2e:p\(99\)<500ms/.test(err.message));
  assert.doesNotThrow(() => assertThresholds(res.filter((x) => x.ok)));
});

// ---------------------------------------------------------------- hgrm / spectrum

function parseHgrm(text: string): { rows: number[][]; trailer: string[] } {
  const lines = text.split('\n');
  assert.match(lines[0]!, /^\s+Value\s+Percentile\s+TotalCount\s+1\/\(1-Percentile\)$/);
  const rows = lines.slice(1).filter((l) => /^\s*\d/.test(l)).map((l) => l.trim().split(/\s+/).map(Number));
  return { rows, trailer: lines.filter((l) => l.startsWith('#[')) };
}

test('hgrm: HdrHistogram percentile distribution in ms, parsed back', () => {
  const values = Array.from({ length: 2000 }, (_, i) => 100 + i * 10); // 100 µs .. 20.09 ms
  const enc = encodeLatency(hist(values));
  const { rows, trailer } = parseHgrm(renderHgrm(enc));
  assert.ok(rows.length > 20);
  for (const r of rows.slice(0, -1)) assert.equal(r.length, 4, 'value, percentile, total count, 1/(1-p)');
  assert.equal(rows.at(-1)!.length, 3, 'the 100% line has no 1/(1-p)');
  for (let i = 1; i < rows.length; i++) {
    assert.ok(rows[i]![0]! >= rows[i - 1]![0]!, 'values ascend');
    assert.ok(rows[i]![1]! >= rows[i - 1]![1]!, 'percentiles ascend');
    assert.ok(rows[i]![2]! >= rows[i - 1]![2]!, 'counts ascend');
  }
  assert.equal(rows.at(-1)![1], 1);
  assert.equal(rows.at(-1)![2], 2000);
  assert.ok(Math.abs(rows.at(-1)![0]! - 20.09) < 0.05, `max in ms, got ${rows.at(-1)![0]}`);
  // the p50 row agrees with the histogram's own p50 (µs → ms)
  const p50 = rows.find((r) => r[1]! >= 0.5)!;
  assert.ok(Math.abs(p50[0]! * 1000 - summarize(decodeHistogram(enc.histogram)).p50_us) <= 10);
  assert.equal(trailer.length, 3);
  assert.match(trailer[0]!, /^#\[Mean\s+=\s+[\d.]+, StdDeviation\s+=\s+[\d.]+\]$/);
  assert.match(trailer[1]!, /^#\[Max\s+=\s+[\d.]+, Total count\s+=\s+2000\]$/);
  assert.match(trailer[2]!, /^#\[Buckets\s+=\s+\d+, SubBuckets\s+=\s+\d+\]$/);
  // µs scale keeps the recorded unit
  const us = parseHgrm(renderHgrm(enc, { scale: 'us' })).rows;
  assert.ok(Math.abs(us.at(-1)![0]! - 20_090) < 50);
});

test('spectrum: wrk2 --latency style lines with the uncorrected block when present', () => {
  const r = makeResult({ label: 'a', startedAt: '2025-01-01T00:00:00.000Z', e2e: Array.from({ length: 500 }, (_, i) => 1000 + i * 20) });
  let text = renderSpectrum(r);
  assert.match(text, /Latency Distribution \(HdrHistogram - Recorded Latency\)/);
  assert.match(text, /^ 50\.000%\s+\d+\.\d\dms$/m);
  assert.match(text, /^100\.000%\s+10\.\d\dms$/m);
  assert.match(text, /Detailed Percentile spectrum:/);
  assert.match(text, /#\[Max\s+=/);
  assert.match(text, /501 requests in 10\.00s, 500 responses, 3 errors/);
  assert.match(text, /^Requests\/sec:\s+50\.10$/m);
  assert.doesNotMatch(text, /Uncorrected/);
  (r.client.latency as unknown as Record<string, unknown>).e2e_uncorrected = encodeLatency(hist([500, 600]));
  text = renderSpectrum(r);
  assert.match(text, /Uncorrected Latency \(measured without taking delayed starts into account\)\n 50\.000%\s+500\.\d\dus/);
});

// ---------------------------------------------------------------- scenarios

test('scenarios: the shipped files load, default and full length', () => {
  const s0 = loadScenario(path.join(root, 'scenarios/seed-000-1000c.yaml'));
  assert.equal(s0.clients, 1000);
  assert.equal(s0.ratePerClient, 1);
  assert.equal(s0.durationMs, 30_000);
  assert.equal(s0.gateway.sendWorkers, 4);
  assert.deepEqual(s0.thresholds, ['errors:rate<0.01', 'violations:count==0', 'enqueue_latency:p(99)<5ms']);
  const s3 = loadScenario(path.join(root, 'scenarios/seed-003.yaml'));
  const s3full = loadScenario(path.join(root, 'scenarios/seed-003.yaml'), { full: true });
  assert.equal(s3.model, 'open');
  assert.equal(s3.full, false);
  assert.equal(s3full.full, true);
  assert.ok(s3.durationMs <= 120_000, 'shortened by default');
  assert.ok(s3full.durationMs >= 15 * 60_000, 'full length: 10 min + 5 min + the burst');
  assert.equal(stagesToSchedule(s3).maxRate, 2000);
  assert.equal(s3.upstream.distribution, 'lognormal');
  const s4 = loadScenario(path.join(root, 'scenarios/seed-004-mix.yaml'));
  assert.equal(s4.model, 'closed');
  assert.equal(s4.concurrency, 2);
  assert.equal(s4.thinkTimeMs, 50);
  assert.deepEqual(s4.mix.map((m) => m.action), ['business', 'zone', 'hello']);
  assert.deepEqual(s4.mix[0]!.payloadBytes, { min: 32, max: 512 });
  assert.equal(s4.gateway.taskTimeoutMs, 2000);
  assert.equal(loadScenario(path.join(root, 'scenarios/seed-004-mix.yaml'), { full: true }).gateway.taskTimeoutMs, 30_000);
});

test('scenarios: errors name the file, the line, the path and the fix', () => {
  const file = path.join(tmp, 'bad.yaml');
  writeFileSync(file, [
    'name: bad',
    'rate: 100',
    'stages:',
    '  - steady: { duration: 10s }',
    '  - ramp: { duration: 10s, rate: 200 }',
    '  - steady: { duration: 5s, rate: fast }',
    '  - sprint: { duration: 5s }',
    'mix:',
    '  - { action: buy }',
  ].join('\n'));
  assert.throws(() => loadScenario(file), (err: unknown) => {
    assert.ok(err instanceof InvalidInputError);
    const m = (err as Error).message;
    assert.match(m, new RegExp(`^scenario ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not valid:`));
    assert.match(m, /line 6: stages\[2\]\.steady\.rate: "fast" is not a number; expected total requests\/s/);
    assert.match(m, /line 7: stages\[3\]\.sprint: unknown stage kind "sprint"; use one of ramp, steady, burst/);
    assert.match(m, /line 9: mix\[0\]\.action: "buy" is not valid .*; expected action: hello, business or zone/);
    return true;
  });
  const sem = (yaml: string, re: RegExp): void => assert.throws(() => parseScenario(yaml, 'x.yaml'), (err: unknown) => err instanceof InvalidInputError && re.test((err as Error).message), yaml);
  sem('name: x\nclients: 5\nmodel: closed\nrate: 10\nduration: 5s\n', /line 4: rate: rate belongs to the open model; remove it, or set model: open/);
  sem('name: x\nclients: 5\nstages:\n  - steady: { duration: 5s }\n', /stages\[0\]\.steady: no arrival rate during this stage \(open model\); set rate:/);
  sem('name: x\nrate: 5\nstages:\n  - steady: { duration: 5s }\n', /stages\[0\]\.steady: no clients during this stage/);
  sem('name: x\nclients: 5\nrate: 5\nstages:\n  - ramp: { duration: 5s }\n', /stages\[0\]\.ramp: a ramp needs clients and\/or rate/);
  sem('name: x\nclients: 5\nrate: 5\nduration: 5s\nthresholds: ["e2e:p(99)<50"]\n', /thresholds\[0\]: threshold "e2e:p\(99\)<50": latency "50" has no unit/);
  sem('name: x\nclients: 5\nrate: 5\nduration: 5s\nupstream: { error_rate: 0.6, timeout_rate: 0.6 }\n', /upstream\.timeout_rate: error_rate \+ timeout_rate is above 1/);
  sem('name: x\nclients: 5\nrate: 5\nduration: 5s\nfull:\n  stages:\n    - burst: { duration: 1m }\n', /full\.stages\[0\]\.burst: missing "rate"/);
  sem('name: x\n  bad: [\n', /scenario x\.yaml: YAML syntax error at line \d+, column \d+/);
  assert.throws(() => loadScenario(path.join(tmp, 'missing.yaml')), /cannot read scenario .*missing\.yaml: ENOENT/);
});

test('stagesToSchedule: ramps, steady steps, bursts that return, arrival times', () => {
  const s = stagesToSchedule({
    model: 'open', clients: 10, rate: 100, ratePerClient: null,
    stages: [
      { kind: 'steady', durationMs: 10_000 },
      { kind: 'ramp', durationMs: 10_000, rate: 300, clients: 30 },
      { kind: 'burst', durationMs: 5_000, rate: 2000 },
      { kind: 'steady', durationMs: 5_000 },
    ],
  });
  assert.equal(s.durationMs, 30_000);
  assert.equal(s.maxClients, 30);
  assert.equal(s.maxRate, 2000);
  assert.equal(rateAt(s, 0), 100);
  assert.equal(rateAt(s, 15_000), 200);
  assert.equal(clientsAt(s, 15_000), 20);
  assert.equal(rateAt(s, 20_000), 2000, 'a burst starts at its start');
  assert.equal(clientsAt(s, 22_000), 30, 'a burst keeps the clients');
  assert.equal(rateAt(s, 25_000), 300, 'after the burst: the level before it');
  assert.equal(rateAt(s, 30_000), 0, 'nothing after the end');
  assert.equal(clientsAt(s, 99_000), 30);
  // arrivals: 100/s × 10 s + (100+300)/2 × 10 s + 2000 × 5 s + 300 × 5 s
  assert.equal(s.totalArrivals, 1000 + 2000 + 10_000 + 1500);
  assert.equal(cumulativeArrivals(s, 10_000), 1000);
  assert.equal(arrivalTimeMs(s, 0), 0);
  assert.equal(arrivalTimeMs(s, 1), 10, 'constant rate: i × 1000/λ ms');
  assert.equal(arrivalTimeMs(s, 999), 9990);
  for (const i of [1000, 1500, 2999, 3000, 7777, 14_499]) {
    const t = arrivalTimeMs(s, i)!;
    assert.ok(Math.abs(cumulativeArrivals(s, t) - i) < 1e-6, `arrival ${i} at ${t} ms`);
  }
  assert.equal(arrivalTimeMs(s, 14_500), null);
  // rate_per_client follows clients; closed model has no rate
  const pc = stagesToSchedule({ model: 'open', clients: 0, rate: null, ratePerClient: 2, stages: [{ kind: 'ramp', durationMs: 10_000, clients: 100 }] });
  assert.equal(rateAt(pc, 5000), 100);
  assert.equal(pc.totalArrivals, 1000);
  assert.equal(arrivalTimeMs(pc, 0), 0);
  assert.ok(Math.abs(arrivalTimeMs(pc, 250)! - 5000) < 1e-6, 'ramp from 0: N(t) = t²·slope/2');
  const closed = stagesToSchedule({ model: 'closed', clients: 5, rate: null, ratePerClient: null, stages: [{ kind: 'steady', durationMs: 1000 }] });
  assert.equal(rateAt(closed, 500), 0);
  assert.equal(clientsAt(closed, 500), 5);
  // the mix picker honours the weights
  const mix = mixPicker([{ action: 'business', weight: 3, payloadBytes: { min: 10, max: 10 } }, { action: 'zone', weight: 1, payloadBytes: { min: 0, max: 3 } }]);
  assert.equal(mix.pick(0.74).action, 'business');
  assert.equal(mix.pick(0.75).action, 'zone');
  const zone = mix.pick(0.9);
  assert.deepEqual([0, 0.3, 0.6, 0.99].map((v) => mix.payloadBytes(zone, v)), [0, 1, 2, 3]);
});

// ---------------------------------------------------------------- merge

test('merge: histograms added (p99 from the merged histogram), counters summed, rates recomputed, series aligned', () => {
  const fast = Array.from({ length: 990 }, (_, i) => 1000 + i);   // ~1-2 ms
  const slow = Array.from({ length: 100 }, (_, i) => 200_000 + i * 100); // ~200 ms
  const a = makeResult({ label: 'a', startedAt: '2025-01-01T00:00:00.200Z', e2e: fast, shard: '0/2', series: [5, 6, 7] });
  const b = makeResult({ label: 'b', startedAt: '2025-01-01T00:00:01.900Z', e2e: slow, shard: '1/2', series: [1, 1] });
  const m = mergeRunResults([a, b]);
  const all = summarize(hist([...fast, ...slow]));
  const e2e = m.client.latency.e2e.summary;
  assert.equal(e2e.count, 1090);
  assert.equal(decodeHistogram(m.client.latency.e2e.histogram).totalCount, 1090);
  assert.deepEqual(e2e, all, 'merged summary = summary of one histogram of every value');
  const avgP99 = (a.client.latency.e2e.summary.p99_us + b.client.latency.e2e.summary.p99_us) / 2;
  assert.notEqual(e2e.p99_us, avgP99, 'never averaged');
  assert.equal(m.server!.stages.enqueue_latency!.summary.count, 1090);
  assert.equal(m.server!.stages.lock_wait!.summary.count, 0);
  assert.equal(m.client.responses, 1090);
  assert.equal(m.client.requests_sent, 1092);
  assert.equal(m.client.clients, 20);
  assert.deepEqual(m.client.errors_by_code, { 500: 4 });
  assert.equal(m.client.violations.gaps, 2);
  assert.equal(m.client.responses_per_s, 109, 'summed count / steady_s, not a sum of rates');
  assert.equal(m.generator.generator_bound, false);
  assert.equal(m.server!.queue.total_enqueued, 20);
  assert.equal(m.server!.queue.max_send_latency_ns, 5000);
  assert.equal(m.server!.queue.success_rate, 18 / 20);
  assert.equal(m.server!.processor!.started, true);
  assert.equal(m.label, 'merged(2)');
  assert.equal(m.started_at, a.started_at);
  assert.deepEqual(m.warnings.slice(0, 2), ['from a', 'from b']);
  // issue 14 §7: these synthetic results began 1.7 s apart and carry no per-second histograms
  assert.deepEqual(m.warnings.slice(2).map((w) => /did not run together|upper bound/.exec(w)?.[0]), ['did not run together', 'upper bound']);
  // wall clock: a's seconds 0,1,2 = abs 0,1,2; b's 0,1 = abs 1,2
  assert.deepEqual(m.timeseries.map((p) => [p.t_s, p.responses, p.connected]), [[0, 5, 10], [1, 7, 20], [2, 8, 20]]);
  assert.equal(m.timeseries[1]!.e2e_p99_us, 1001, 'per-second p99: the larger, not a sum');
  assert.deepEqual((m.config.merged_from as unknown[]).length, 2);
  // inputs untouched
  assert.equal(a.client.responses, 990);
});

test('merge: every shard\'s outage windows are kept as they are, in wall-clock order; reconnect counters summed; the longest disconnection is the longest', () => {
  const w = (startedAt: string, start: number, lost: number) => ({ start_ms: start, end_ms: start + 1000, duration_ms: 1000, clients_lost: 2, lost_on_disconnect: lost, recovered: true, started_at: startedAt, ended_at: startedAt });
  const a = makeResult({ label: 'a', startedAt: '2025-01-01T00:00:00.000Z', e2e: [100], shard: '0/2', series: [1] });
  const b = makeResult({ label: 'b', startedAt: '2025-01-01T00:00:00.000Z', e2e: [100], shard: '1/2', series: [1] });
  Object.assign(a.client, { reconnects: 2, lost_on_disconnect: 5, outages: [w('2025-01-01T00:00:03.000Z', 3000, 5)], disconnected: { clients: 2, total_ms: 1500, max_ms: 900, per_client_ms: { u0: 900, u2: 600 } } });
  Object.assign(b.client, { reconnects: 2, lost_on_disconnect: 7, outages: [w('2025-01-01T00:00:02.500Z', 2500, 7)], disconnected: { clients: 2, total_ms: 1000, max_ms: 700, per_client_ms: { u1: 700, u3: 300 } } });
  const m = mergeRunResults([a, b]);
  assert.equal(m.client.reconnects, 4);
  assert.equal(m.client.lost_on_disconnect, 12);
  assert.deepEqual(m.client.outages!.map((o) => [o.start_ms, o.lost_on_disconnect]), [[2500, 7], [3000, 5]], 'windows kept whole, not added together');
  assert.deepEqual(m.client.disconnected, { clients: 4, total_ms: 2500, max_ms: 900, per_client_ms: { u0: 900, u2: 600, u1: 700, u3: 300 } });
});

test('merge: associative, and refuses foreign schemas, other scenarios and a shard twice', () => {
  const r = (label: string, start: string, e2e: number[], shard: string) => makeResult({ label, startedAt: start, e2e, shard, series: [e2e.length, 1] });
  const a = r('a', '2025-01-01T00:00:00.000Z', [100, 200, 300], '0/3');
  const b = r('b', '2025-01-01T00:00:00.600Z', [5000, 6000], '1/3');
  const c = r('c', '2025-01-01T00:00:02.100Z', [70_000], '2/3');
  const left = mergeRunResults([mergeRunResults([a, b]), c]);
  const right = mergeRunResults([a, mergeRunResults([b, c])]);
  const flat = mergeRunResults([a, b, c]);
  for (const x of [left, right]) {
    assert.deepEqual(x.client, flat.client);
    assert.deepEqual(x.server, flat.server);
    assert.deepEqual(x.timeseries, flat.timeseries);
    assert.equal(x.label, 'merged(3)');
    assert.deepEqual(x.config.merged_from, flat.config.merged_from);
  }
  const bad = (results: RunResult[], re: RegExp): void => assert.throws(() => mergeRunResults(results), (err: unknown) => err instanceof InvalidInputError && re.test((err as Error).message));
  bad([], /nothing to merge/);
  bad([a, { ...b, schema: 'gatectl.run/v2' } as unknown as RunResult], /result #2 has schema "gatectl\.run\/v2", not "gatectl\.run\/v1"/);
  bad([a, { ...b, config: { ...b.config, scenario: 'seed-003' } }], /different scenarios/);
  bad([a, { ...b, config: { ...b.config, shard: '1/4' } }], /sharded differently \(shard counts 3, 4\)/);
  bad([a, b, { ...c, config: { ...c.config, shard: '1/3' } }], /results #2 and #3 both contain shard 1\/3/);
  bad([mergeRunResults([a, b]), b], /both contain shard 1\/3/);
  // one remote server read by every shard through its monitor: not summed
  const remote = (x: RunResult): RunResult => ({ ...x, server: { ...x.server!, source: 'monitor' } });
  const shared = mergeRunResults([remote(a), remote(b)]);
  assert.equal(shared.server!.stages.enqueue_latency!.summary.count, 3);
  assert.match(shared.warnings.at(-1)!, /summing them would count it 2 times/);
});

// ---------------------------------------------------------------- CLI and manifests

const gatectl = (args: string[]) => run(args, tmp, 60_000);

test('cli: report --merge writes the exact merge; --format hgrm renders it; bad use exits 2', async () => {
  const a = makeResult({ label: 'a', startedAt: '2025-01-01T00:00:00.000Z', e2e: Array.from({ length: 300 }, (_, i) => 1000 + i), shard: '0/2' });
  const b = makeResult({ label: 'b', startedAt: '2025-01-01T00:00:00.000Z', e2e: Array.from({ length: 30 }, () => 90_000), shard: '1/2' });
  writeFileSync(path.join(tmp, 'shard-0.json'), JSON.stringify(a));
  writeFileSync(path.join(tmp, 'shard-1.json'), JSON.stringify(b));
  const merged = await gatectl(['report', '--merge', 'shard-0.json', 'shard-1.json', '--out', 'out/merged.json']);
  assert.equal(merged.code, 0, merged.stderr);
  assert.match(merged.stderr, /merged 2 results \(330 responses\) into out\/merged\.json/);
  const m = JSON.parse(readFileSync(path.join(tmp, 'out/merged.json'), 'utf8')) as RunResult;
  assert.equal(m.label, 'merged(2)');
  assert.equal(m.client.latency.e2e.summary.count, 330);
  assert.deepEqual(m.client.latency.e2e.summary, summarize(hist([...Array.from({ length: 300 }, (_, i) => 1000 + i), ...Array.from({ length: 30 }, () => 90_000)])));

  const hgrm = await gatectl(['report', 'out/merged.json', '--format', 'hgrm', '--metric', 'enqueue_latency']);
  assert.equal(hgrm.code, 0, hgrm.stderr);
  const { rows } = parseHgrm(hgrm.stdout);
  assert.equal(rows.at(-1)![2], 330);

  const noOut = await gatectl(['report', '--merge', 'shard-0.json', 'shard-1.json']);
  assert.equal(noOut.code, 2);
  assert.match(noOut.stderr, /--merge needs --out FILE/);
  const dup = await gatectl(['report', '--merge', 'shard-0.json', 'shard-0.json', '--out', 'x.json']);
  assert.equal(dup.code, 2);
  assert.match(dup.stderr, /both contain shard 0\/2.*files: #1 shard-0\.json, #2 shard-0\.json/);
  const metric = await gatectl(['report', 'out/merged.json', '--format', 'hgrm', '--metric', 'nope']);
  assert.equal(metric.code, 2);
  assert.match(metric.stderr, /--metric "nope": out\/merged\.json has no such latency; use one of e2e, connect, schedule_lag, enqueue_latency, lock_wait/);
});

test('deploy/k8s: manifests parse; the Indexed Job passes its index as --shard and the merge Job merges the shards', () => {
  const docs = (f: string) => parseAllDocuments(readFileSync(path.join(root, 'deploy/k8s', f), 'utf8')).map((d) => {
    assert.deepEqual(d.errors, [], f);
    return d.toJS() as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  });
  const [pvc] = docs('pvc.yaml');
  assert.equal(pvc!.kind, 'PersistentVolumeClaim');
  const [load] = docs('load-job.yaml');
  assert.equal(load!.kind, 'Job');
  assert.equal(load!.spec.completionMode, 'Indexed');
  assert.equal(load!.spec.completions, load!.spec.parallelism);
  const c = load!.spec.template.spec.containers[0];
  const shards = c.env.find((e: { name: string }) => e.name === 'SHARDS').value;
  assert.equal(Number(shards), load!.spec.completions);
  const args = c.args as string[];
  assert.equal(args[0], 'load');
  assert.equal(args[args.indexOf('--shard') + 1], '$(JOB_COMPLETION_INDEX)/$(SHARDS)');
  assert.equal(args[args.indexOf('--out') + 1], '/results/shard-$(JOB_COMPLETION_INDEX).json');
  assert.equal(load!.spec.template.spec.volumes[0].persistentVolumeClaim.claimName, pvc!.metadata.name);
  const [merge] = docs('merge-job.yaml');
  const script = (merge!.spec.template.spec.containers[0].args as string[]).join('\n');
  assert.match(script, /gatectl report --merge \/results\/shard-\*\.json --out \/results\/merged\.json/);
  assert.equal(merge!.spec.template.spec.volumes[0].persistentVolumeClaim.claimName, pvc!.metadata.name);
});
