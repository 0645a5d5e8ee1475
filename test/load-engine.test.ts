/**
 * Load engine (issue 4 §1, 2, 6, 7): open model with intended send times and coordinated-omission
 * correction, dropped_iterations, closed model, generator processes and shards. Real QUIC on
 * 127.0.0.1 against the in-process gateway; every run is bounded (≤ 2 s of load).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startInProcessGateway } from '../src/gateway/index.js';
import { resolveGatewayConfig, type GatewayFlags } from '../src/config/resolve.js';
import { runLoad, sliceClientIds } from '../src/load/run.js';
import { findMaxRate } from '../src/load/capacity.js';
import { mergeRunResults } from '../src/metrics/merge.js';
import { gatectl, loadOptions } from './support.js';
import type { ComparisonResult, RunResult } from '../src/metrics/result.js';

const gwFlags: GatewayFlags = {
  host: '127.0.0.1', port: 0, transport: 'quic', 'upstream-latency': '2ms', 'upstream-distribution': 'fixed',
  'before-notifies': 1, 'after-notifies': 1, mode: 'async',
};
const noViolations = { reorders: 0, gaps: 0, duplicates: 0, notify_order_violations: 0 };

test('open model: exactly rate × duration arrivals, each answered; corrected ≥ uncorrected; a generator stall shows only in the corrected latency', { timeout: 60_000 }, async () => {
  const gw = await startInProcessGateway(resolveGatewayConfig(gwFlags, {}));
  try {
    // stall this (the generator's) event loop for 300 ms in the middle of a 2 s run at 200/s
    const stall = setTimeout(() => { const t = Date.now(); while (Date.now() - t < 300) { /* block */ } }, 1500);
    const r = await runLoad(loadOptions('open', { clients: 20, rate: '200', duration: '2s' }), gw);
    clearTimeout(stall);
    const c = r.client;
    assert.equal(c.requests_sent + c.dropped_iterations!, 400, 'arrivals = 200/s × 2 s');
    assert.equal(c.dropped_iterations, 0);
    assert.equal(c.responses, c.requests_sent);
    assert.deepEqual(c.violations, noViolations);
    const e2e = c.latency.e2e.summary;
    const raw = c.latency.e2e_uncorrected!.summary;
    assert.equal(e2e.count, raw.count);
    assert.ok(e2e.max_us >= raw.max_us && e2e.p50_us >= raw.p50_us, 'corrected latency is never below the uncorrected one');
    assert.ok(c.latency.schedule_lag.summary.max_us >= 250_000, `the stall is schedule lag (max ${c.latency.schedule_lag.summary.max_us} µs)`);
    assert.ok(e2e.p99_us >= 200_000, `corrected p99 carries the stall (${e2e.p99_us} µs)`);
    assert.ok(raw.p99_us < e2e.p99_us, `uncorrected p99 ${raw.p99_us} µs hides it (corrected ${e2e.p99_us} µs)`);
    assert.equal(r.config.model, 'open');
    assert.equal(r.config.rate_per_s, 200);
  } finally {
    await gw.stop();
  }
});

test('open model: at --max-in-flight arrivals wait in the client\'s backlog; those still waiting when the schedule ends are dropped_iterations', { timeout: 60_000 }, async () => {
  const gw = await startInProcessGateway(resolveGatewayConfig({ ...gwFlags, 'upstream-latency': '300ms' }, {}));
  try {
    const r = await runLoad(loadOptions('dropped', { clients: 5, rate: '50', 'max-in-flight': 1 }), gw);
    const c = r.client;
    assert.equal(c.requests_sent + c.dropped_iterations!, 50);
    assert.ok(c.dropped_iterations! > 10, `dropped ${c.dropped_iterations}`);
    assert.ok(c.requests_sent <= 5 * 5, `at most one in flight per client over ~1.3 s of 300 ms calls (${c.requests_sent})`);
    assert.equal(c.responses, c.requests_sent);
    assert.ok(r.warnings.some((w) => w.startsWith('dropped_iterations')));
  } finally {
    await gw.stop();
  }
});

test('a 1 s upstream pause: the corrected p99 carries it, the uncorrected p99 does not (wrk2\'s coordinated-omission demonstration)', { timeout: 60_000 }, async () => {
  // 2 clients, 100 requests/s for 4 s, one request in flight each; the 100th upstream call starts a 1 s stop-the-world pause
  const gw = await startInProcessGateway(resolveGatewayConfig({ ...gwFlags, 'upstream-pause': '1s', 'upstream-pause-after': 100 }, {}));
  try {
    const r = await runLoad(loadOptions('stall', { clients: 2, rate: '100', duration: '4s', 'max-in-flight': 1, 'drain-timeout': '5s' }), gw);
    const c = r.client;
    const e2e = c.latency.e2e.summary;
    const raw = c.latency.e2e_uncorrected!.summary;
    assert.equal(c.responses, c.requests_sent);
    assert.ok(e2e.p99_us >= 700_000, `corrected p99 ${e2e.p99_us} µs reflects the 1 s pause`);
    assert.ok(raw.p99_us < 300_000, `uncorrected p99 ${raw.p99_us} µs does not (only the 2 requests in flight during the pause saw it)`);
    assert.ok(raw.max_us >= 700_000, 'the requests in flight during the pause did wait');
    assert.ok(c.latency.schedule_lag.summary.p99_us >= 500_000, 'the held-back arrivals left late');
    assert.ok(r.warnings.some((w) => w.includes('keeps up only while the latency stays below 1/50.0 s = 20.0 ms')), 'the unreachable-rate arithmetic is warned');
  } finally {
    await gw.stop();
  }
});

test('closed model: --concurrency requests in flight per client; corrected and uncorrected latency are the same', { timeout: 60_000 }, async () => {
  const gw = await startInProcessGateway(resolveGatewayConfig({ ...gwFlags, 'upstream-latency': '50ms' }, {}));
  try {
    const r = await runLoad(loadOptions('closed', { clients: 4, model: 'closed', concurrency: 2 }), gw);
    const c = r.client;
    assert.ok(c.requests_sent >= 4 * 2 * 5, `sent ${c.requests_sent}`);
    assert.ok(c.requests_sent <= 4 * 2 * (1000 / 50 + 1), `never more than 2 in flight per client (${c.requests_sent})`);
    assert.equal(c.responses, c.requests_sent);
    assert.equal(c.dropped_iterations, 0);
    assert.equal(c.latency.e2e.summary.p50_us, c.latency.e2e_uncorrected!.summary.p50_us);
    assert.equal(r.config.model, 'closed');
  } finally {
    await gw.stop();
  }
});

test('--workers 2: clients split over two generator processes, histograms merged to the exact count', { timeout: 60_000 }, async () => {
  const gw = await startInProcessGateway(resolveGatewayConfig(gwFlags, {}));
  try {
    const r = await runLoad(loadOptions('workers', { clients: 20, rate: '100', workers: 2 }), gw);
    const c = r.client;
    assert.equal(r.generator.workers, 2);
    assert.equal(c.connected, 20);
    assert.equal(c.requests_sent + c.dropped_iterations!, 100);
    assert.equal(c.responses, c.requests_sent);
    assert.equal(c.latency.e2e.summary.count, c.responses);
    assert.deepEqual(c.violations, noViolations);
    assert.equal(r.timeseries.reduce((a, p) => a + p.requests, 0) <= c.requests_sent, true);
  } finally {
    await gw.stop();
  }
});

test('shards: slices are disjoint and cover every client; two shards merged equal the whole run\'s arrivals', { timeout: 60_000 }, async () => {
  for (const [clients, n, w] of [[10, 3, 2], [7, 2, 3], [5, 1, 1]] as const) {
    const all: number[] = [];
    for (let k = 0; k < n; k++) for (let j = 0; j < w; j++) all.push(...sliceClientIds(clients, { index: k, count: n }, j, w));
    assert.deepEqual(all.sort((a, b) => a - b), Array.from({ length: clients }, (_, i) => i), `${clients} clients over ${n} shards × ${w} threads`);
  }
  const gw = await startInProcessGateway(resolveGatewayConfig(gwFlags, {}));
  try {
    const parts = [];
    for (const shard of ['0/2', '1/2']) parts.push(await runLoad(loadOptions(`shard-${shard}`, { clients: 9, rate: '90', shard }), gw));
    assert.deepEqual(parts.map((p) => p.client.clients), [5, 4]);
    const merged = mergeRunResults(parts);
    assert.equal(merged.client.clients, 9);
    assert.equal(merged.client.requests_sent + merged.client.dropped_iterations!, 90, 'the shards\' arrivals add up to the single run\'s');
    assert.equal(merged.client.latency.e2e.summary.count, merged.client.responses);
  } finally {
    await gw.stop();
  }
});

test('load flags: bad --shard, --rate with --rate-per-client, a shape flag beside --scenario: exit 2 with the fix', { timeout: 60_000 }, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'gatectl-engine-'));
  const scenario = path.resolve('scenarios/seed-004-mix.yaml');
  for (const [args, re] of [
    [['--shard', '2/2'], /--shard "2\/2" is not valid: use INDEX\/COUNT with 0 ≤ INDEX < COUNT/],
    [['--rate', '10', '--rate-per-client', '1'], /--rate and --rate-per-client both given/],
    [['--model', 'closed', '--rate', '10'], /--model closed has no arrival rate/],
    [['--scenario', scenario, '--clients', '5'], /--clients given with --scenario/],
    [['--threshold', 'e2e:p99<5ms'], /threshold/i],
  ] as const) {
    const r = await gatectl(['load', '--quiet', ...args], tmp);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stdout, '');
  }
});

test('a scenario run: per-stage summaries by intended send time, a ramp of the rate, its thresholds decide the exit code (99)', { timeout: 90_000 }, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'gatectl-scenario-'));
  const file = path.join(tmp, 'two-stages.yaml');
  writeFileSync(file, [
    'name: two-stages', 'model: open', 'clients: 10',
    'stages:', '  - ramp: { duration: 1s, rate: 100 }', '  - steady: { duration: 1s }',
    'upstream: { latency: 1ms }',
    'thresholds:', '  - "violations:count==0"', '  - "e2e:p(50)<1us"',
  ].join('\n'));
  const r = await gatectl(['load', '--scenario', file, '--quiet', '--json', '--out', path.join(tmp, 'run.json')], tmp);
  assert.equal(r.code, 99, r.stderr);
  assert.match(r.stderr, /1 of 2 threshold/);
  const run = JSON.parse(readFileSync(path.join(tmp, 'run.json'), 'utf8')) as RunResult;
  assert.equal(run.config.scenario, 'two-stages');
  const st = run.stages!;
  assert.deepEqual(st.map((s) => s.kind), ['ramp', 'steady']);
  const sent = run.client.requests_sent + run.client.dropped_iterations!;
  assert.equal(sent, 150, 'a 0→100/s ramp over 1 s (50) plus 1 s at 100/s');
  assert.equal(st[0]!.requests + st[1]!.requests, run.client.requests_sent);
  assert.ok(Math.abs(st[0]!.requests - 50) <= 1 && Math.abs(st[1]!.requests - 100) <= 1, `${st[0]!.requests} + ${st[1]!.requests}`);
  assert.equal(st[0]!.responses + st[1]!.responses, run.client.responses);
  assert.deepEqual(run.thresholds!.map((t) => t.ok), [true, false]);
});

test('--find-max: doubling then bisection finds the last rate a one-worker gateway serves within the SLO', { timeout: 90_000 }, async () => {
  // one processor worker and a fixed 20 ms upstream: about 50 requests/s at most
  const gw = await startInProcessGateway(resolveGatewayConfig({ ...gwFlags, 'upstream-latency': '20ms', 'processor-workers': 1 }, {}));
  try {
    const base = loadOptions('cap', { clients: 10, rate: '10' });
    const cap = await findMaxRate(base, { startRate: 10, maxRate: 1000, stepMs: 1000, refine: 2, slo: ['e2e:p(99)<150ms'], errorBudget: 0.01 }, gw);
    const steps = JSON.stringify(cap.steps.map((s) => [s.rate, s.ok, s.e2e.p99_us]));
    assert.deepEqual([cap.steps[0]!.rate, cap.steps[0]!.ok], [10, true], steps);
    const broke = cap.steps.find((s) => !s.ok)!;
    assert.ok(broke.rate >= 20 && broke.rate <= 160, `first broken step ${broke.rate}/s: ${steps}`);
    assert.ok(cap.max_rate_held! >= 10 && cap.max_rate_held! < 80, `held ${cap.max_rate_held}/s: ${steps}`);
    assert.equal(cap.steps.length, cap.steps.findIndex((s) => !s.ok) + 1 + 2, 'doublings up to the break, then 2 bisections');
    assert.ok(cap.at_max!.e2e.p99_us < 150_000);
    assert.equal(cap.capped, false);
  } finally {
    await gw.stop();
  }
});

test('compare sync async --scenario with labelled stages, --single-call and --find-max renders seed 003\'s two tables from measured runs', { timeout: 120_000 }, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'gatectl-cmp003-'));
  const file = path.join(tmp, 'mini-003.yaml');
  writeFileSync(file, [
    'name: mini-003', 'model: open', 'clients: 10',
    'stages:', '  - steady: { duration: 1s, rate: 20, label: "高并发(100 QPS)" }', '  - steady: { duration: 1s, rate: 60, label: "高并发(1000 QPS)" }',
    'upstream: { latency: 2ms }',
  ].join('\n'));
  const out = path.join(tmp, 'cmp.json');
  const r = await gatectl(['compare', 'sync', 'async', '--scenario', file, '--single-call', '--single-call-duration', '1s',
    '--find-max', '--start-rate', '50', '--max-rate', '100', '--step-duration', '1s', '--refine', '0', '--quiet', '--out', out], tmp, 110_000);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /seed 003 响应时间对比/);
  assert.match(r.stdout, /单次API调用 e2e p50/);
  assert.match(r.stdout, /高并发\(1000 QPS\) e2e p50 .* seed 003: 200-500ms → 10-20ms \(95%\)/);
  assert.match(r.stdout, /最大QPS/);
  const cmp = JSON.parse(readFileSync(out, 'utf8')) as ComparisonResult;
  assert.equal(cmp.extras!.single_call!.before.client.clients, 1);
  assert.ok(cmp.extras!.capacity!.after.steps.length >= 1);
  assert.equal(cmp.before.config.gateway !== undefined, true);
  assert.deepEqual(cmp.before.stages!.map((s) => s.label), ['高并发(100 QPS)', '高并发(1000 QPS)']);
  const md = await gatectl(['report', out, '--format', 'markdown'], tmp);
  assert.equal(md.code, 0, md.stderr);
  assert.match(md.stdout, /### seed 003 吞吐量对比/);
});
