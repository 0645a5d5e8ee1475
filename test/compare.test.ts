// Issue 14 items 1, 2, 3, 5: rounds in ABBA order, medians with bootstrap intervals, sample
// sufficiency, saturation verdicts, comparable inputs. Pure parts on synthetic runs; the CLI on small
// real runs against the in-process gateway (127.0.0.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { spawn } from 'node:child_process';
import { gatectl, repoRoot, type Ran } from './support.js';
import { createHistogram, encodeLatency, recordUs } from '../src/metrics/histogram.js';
import { RUN_SCHEMA, type RunResult, type TimeSeriesPoint } from '../src/metrics/result.js';
import type { CapacityResult } from '../src/metrics/capacity.js';
import { analyzeComparison, makeComparison, makeRoundsComparison, minSamplesFor, loadShapeDifferences, type Comparison } from '../src/metrics/compare.js';
import { bootstrapRatio, median, mulberry32 } from '../src/metrics/bootstrap.js';
import { judgeSaturation } from '../src/metrics/saturation.js';
import { roundOrder, runRounds } from '../src/cli/rounds.js';
import { parseMinChange } from '../src/commands/compare.js';
import { renderComparisonMarkdown, renderComparisonTerminal } from '../src/report/index.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'gatectl-compare-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A histogram of `n` values around `us` (±5%, seeded), encoded. */
function latency(us: number, n: number, seed: number) {
  const h = createHistogram();
  const r = mulberry32(seed);
  for (let i = 0; i < n; i++) recordUs(h, us * (0.95 + 0.1 * r()));
  return encodeLatency(h);
}

interface FakeRunOpts {
  label: string;
  mode?: 'sync' | 'async';
  e2eUs: number;
  enqueueUs?: number;
  samples?: number;
  rate?: number;
  seconds?: number;
  /** share of the offered rate answered each second (default 1) */
  served?: number;
  seed?: number;
  clients?: number;
}

/** A complete synthetic RunResult: an open-model constant-rate run with a time series. */
function fakeRun(o: FakeRunOpts): RunResult {
  const rate = o.rate ?? 1000;
  const secs = o.seconds ?? 20;
  const served = o.served ?? 1;
  const seed = o.seed ?? 1;
  const n = o.samples ?? rate * secs;
  const rand = mulberry32(seed + 99);
  const series: TimeSeriesPoint[] = Array.from({ length: secs - 1 }, (_, i) => ({
    t_s: i + 1, connected: 100, requests: rate, responses: Math.round(rate * served), errors: 0,
    e2e_p99_us: Math.round(o.e2eUs * 1.5 * (0.95 + 0.1 * rand())), e2e_p50_us: Math.round(o.e2eUs * (0.95 + 0.1 * rand())),
  }));
  const e2e = latency(o.e2eUs, n, seed);
  return {
    schema: RUN_SCHEMA, label: o.label, started_at: '2026-12-01T00:00:00.000Z', finished_at: '2026-12-01T00:00:21.000Z', steady_s: secs,
    config: {
      target: 'quic://127.0.0.1:1', target_kind: 'in-process', transport: 'quic', clients: o.clients ?? 100, model: 'open', duration_ms: secs * 1000,
      schedule: `constant ${rate}/s`, rate_per_s: rate, max_in_flight: 1000, concurrency: null, think_time_ms: null,
      mix: [{ action: 'business', weight: 1, payloadBytes: { min: 64, max: 64 } }], heartbeat_ms: 30000, workers: 1, shard: null,
      ...(o.mode !== undefined ? { gateway: { processorMode: o.mode } } : {}),
    },
    environment: { node: 'v20', platform: 'linux-x64', cpus: 2, cpu_model: 'test', total_mem_bytes: 1 },
    client: {
      clients: 100, connected: 100, connect_failures: 0, hello_failures: 0, requests_sent: rate * secs, responses: Math.round(rate * secs * served), notifies: 0,
      unanswered: 0, errors_by_code: {}, transport_errors: {}, violations: { reorders: 0, gaps: 0, duplicates: 0, notify_order_violations: 0 },
      responses_per_s: rate * served, requests_per_s: rate,
      latency: { e2e, connect: latency(500, 100, seed + 1), schedule_lag: latency(10, n, seed + 2) },
    },
    generator: { event_loop_delay_p99_ms: 1, event_loop_delay_max_ms: 2, generator_bound: false, peak_rss_bytes: 1 },
    server: { source: 'in-process', stages: { enqueue_latency: latency(o.enqueueUs ?? 20, n, seed + 3) }, queue: {}, processor: null, counters: {} },
    timeseries: series,
    stages: [{ index: 0, kind: 'steady', start_ms: 0, end_ms: secs * 1000, rate_from: rate, rate_to: rate, clients_from: 100, clients_to: 100, requests: rate * secs, responses: n, e2e }],
    warnings: [],
  };
}

function rounds(before: RunResult[], afterRuns: RunResult[]): Comparison {
  return makeRoundsComparison({ before, after: afterRuns, order: before.map((_, i) => roundOrder(i)), planned: before.length });
}

test('rounds run in ABBA order; each run is handed over as it finishes; a failure keeps the complete rounds', async () => {
  assert.deepEqual([0, 1, 2, 3].map(roundOrder), [['before', 'after'], ['after', 'before'], ['before', 'after'], ['after', 'before']]);
  const calls: string[] = [];
  const done: string[] = [];
  const outcome = await runRounds(4, async (side, round) => { calls.push(`${round}${side[0]}`); return `${side}-${round}`; }, {
    onRun: async (side, round) => { done.push(`${round}${side[0]}`); },
    onRound: async (round, sofar) => { done.push(`round ${round} (${sofar.before.length})`); },
  });
  assert.deepEqual(calls, ['0b', '0a', '1a', '1b', '2b', '2a', '3a', '3b']);
  assert.deepEqual(done.filter((d) => d.startsWith('round')), ['round 0 (1)', 'round 1 (2)', 'round 2 (3)', 'round 3 (4)']);
  assert.deepEqual(outcome.before, ['before-0', 'before-1', 'before-2', 'before-3']);
  assert.deepEqual(outcome.order, [0, 1, 2, 3].map(roundOrder));
  assert.equal(outcome.error, undefined);
  // the third round's second run fails: two complete rounds kept, the error carried
  const failing = await runRounds(3, async (side, round) => {
    if (round === 2 && side === 'after') throw new Error('boom');
    return `${side}-${round}`;
  });
  assert.deepEqual(failing.before, ['before-0', 'before-1']);
  assert.equal((failing.error as Error).message, 'boom');
});

test('the bootstrap is deterministic and its interval covers the ratio of medians', () => {
  const a = [100, 104, 98];
  const b = [50, 51, 49];
  const i1 = bootstrapRatio(a, b, { seed: 7 });
  assert.deepEqual(bootstrapRatio(a, b, { seed: 7 }), i1, 'same seed, same interval');
  assert.ok(i1 !== null && i1[0] <= median(a) / median(b) && median(a) / median(b) <= i1[1]);
  assert.equal(bootstrapRatio([], b), null);
  assert.equal(bootstrapRatio(a, [0, 0, 0]), null, 'a denominator of 0 throughout gives no interval');
});

test('a synthetic pair of identical runs gives "no significant change"; a 2x change gives an interval that excludes 1', () => {
  const same = rounds([1, 2, 3].map((s) => fakeRun({ label: 'sync', mode: 'sync', e2eUs: 5000, seed: s })),
    [4, 5, 6].map((s) => fakeRun({ label: 'async', mode: 'async', e2eUs: 5000, seed: s })));
  const a = analyzeComparison(same);
  assert.equal(a.interval_over, 'rounds');
  for (const metric of ['e2e p50', 'e2e p99', 'enqueue_latency p99', 'responses/s']) {
    const row = a.rows.find((r) => r.metric === metric)!;
    assert.equal(row.verdict, 'no significant change', `${metric}: ${JSON.stringify(row)}`);
  }
  const twice = rounds([1, 2, 3].map((s) => fakeRun({ label: 'sync', mode: 'sync', e2eUs: 10_000, enqueueUs: 200, seed: s })),
    [4, 5, 6].map((s) => fakeRun({ label: 'async', mode: 'async', e2eUs: 5000, enqueueUs: 100, seed: s })));
  const b = analyzeComparison(twice);
  for (const metric of ['e2e p50', 'e2e p99', 'enqueue_latency p99']) {
    const row = b.rows.find((r) => r.metric === metric)!;
    assert.ok(row.factor! > 1.8 && row.factor! < 2.2, `${metric} factor ${row.factor}`);
    assert.ok(row.interval !== null && row.interval![0] > 1, `${metric} interval ${JSON.stringify(row.interval)} excludes 1`);
    assert.equal(row.verdict, 'improved');
    assert.equal(row.before_rounds!.length, 3, 'every round kept');
  }
  // the other way round it is a regression; below --min-change it is no change even with a tight interval
  const worse = analyzeComparison(rounds(twice.rounds!.after, twice.rounds!.before));
  assert.equal(worse.rows.find((r) => r.metric === 'e2e p99')!.verdict, 'regressed');
  const tiny = analyzeComparison(twice, { minChange: 1.5 });
  assert.equal(tiny.rows.find((r) => r.metric === 'e2e p99')!.verdict, 'no significant change');
  // one round per side: the interval runs over the per-second windows, rows without them get no verdict
  const one = analyzeComparison(makeComparison(twice.rounds!.before[0]!, twice.rounds!.after[0]!));
  assert.equal(one.interval_over, 'seconds');
  assert.match(one.method, /per-second windows/);
  assert.equal(one.rows.find((r) => r.metric === 'e2e p99')!.verdict, 'improved');
  assert.equal(one.rows.find((r) => r.metric === 'enqueue_latency p99')!.verdict, 'not judged');
  const text = renderComparisonTerminal(twice);
  assert.match(text, /did the async redesign help\?/);
  assert.match(text, /e2e p99 +│ 10\.\d+ms +│ 5\.\d+ms +│ 2\.\d+x \[\d\.\d+x–\d\.\d+x\] +│ improved/);
  assert.match(text, /3 rounds per side \(A = sync, B = async; order AB BA AB\)/);
  assert.match(text, /every round/);
});

test('percentiles below 10/(1 − p) samples are not reported and are kept out of the verdicts', () => {
  assert.deepEqual([50, 90, 99, 99.9].map(minSamplesFor), [20, 100, 1000, 10000]);
  const small = analyzeComparison(makeComparison(fakeRun({ label: 'sync', mode: 'sync', e2eUs: 9000, samples: 30, rate: 10, seconds: 3 }),
    fakeRun({ label: 'async', mode: 'async', e2eUs: 3000, samples: 30, rate: 10, seconds: 3, seed: 2 })));
  const p99 = small.rows.find((r) => r.metric === 'e2e p99')!;
  assert.equal(p99.before, null);
  assert.equal(p99.factor, null);
  assert.equal(p99.verdict, 'not judged');
  assert.equal(p99.before_note, 'n < 1000 (n = 30)');
  const p50 = small.rows.find((r) => r.metric === 'e2e p50')!;
  assert.ok(p50.factor !== null, 'p50 needs 20 samples: 30 is enough');
  const text = renderComparisonTerminal(makeComparison(fakeRun({ label: 'sync', mode: 'sync', e2eUs: 9000, samples: 30, rate: 10, seconds: 3 }),
    fakeRun({ label: 'async', mode: 'async', e2eUs: 3000, samples: 30, rate: 10, seconds: 3, seed: 2 })));
  assert.match(text, /e2e p99 +│ n < 1000 \(n = 30\) +│ n < 1000 \(n = 30\) +│ n\/a +│ not judged/);
  assert.doesNotMatch(text, /e2e p99 .*2\.\d+x/);
});

test('saturation: served < 95% of the offered rate, or a backlog that grows, is a verdict; the e2e of that side is queueing time', () => {
  const ok = judgeSaturation(fakeRun({ label: 'async', e2eUs: 5000 }));
  assert.equal(ok.saturated, false);
  assert.ok(Math.abs(ok.served_per_s! - 1000) < 1 && ok.offered_per_s === 1000);
  const slow = judgeSaturation(fakeRun({ label: 'sync', e2eUs: 5000, served: 0.8 }));
  assert.equal(slow.saturated, true);
  assert.match(slow.reasons.join(), /served 800\.0\/s of the 1000\.0\/s offered \(80\.0% < 95%\)/);
  assert.match(slow.reasons.join(), /backlog grew through the steady phase/);
  // 97% served: above the rate bound, but the backlog grows by 30 requests a second all run long
  const creeping = judgeSaturation(fakeRun({ label: 'sync', e2eUs: 5000, served: 0.97 }));
  assert.equal(creeping.saturated, true);
  assert.equal(creeping.reasons.length, 1);
  assert.match(creeping.reasons[0]!, /backlog grew/);
  const closed = fakeRun({ label: 'sync', e2eUs: 5000 });
  closed.config.model = 'closed';
  assert.equal(judgeSaturation(closed).judged, false);
  const cmp = rounds([1, 2, 3].map((s) => fakeRun({ label: 'sync', mode: 'sync', e2eUs: 900_000, served: 0.8, seed: s })),
    [4, 5, 6].map((s) => fakeRun({ label: 'async', mode: 'async', e2eUs: 5000, seed: s })));
  const a = analyzeComparison(cmp);
  const e2e = a.rows.find((r) => r.metric === 'e2e p99')!;
  assert.equal(e2e.factor, null, 'no factor from queueing time');
  assert.equal(e2e.before_note, 'queueing time');
  assert.equal(e2e.verdict, 'not judged');
  assert.equal(a.rows.find((r) => r.metric === 'enqueue_latency p99')!.verdict, 'no significant change', 'server stages still compared');
  const text = renderComparisonTerminal(cmp);
  assert.match(text, /SATURATED: sync in 3 of 3 rounds — round 1: served 800\.0\/s of the 1000\.0\/s offered \(80\.0% < 95%\).* \| round 2: /);
  assert.match(text, /responses\/s +│ 800\.0\/s +│ 1000\.0\/s/, 'the steady-phase rate');
  assert.match(text, /queueing time/);
  assert.match(text, /--find-max/);
  assert.match(renderComparisonMarkdown(cmp), /SATURATED: sync/);
  // with --find-max rows, capacity is the headline, before the table
  const cap = (label: string, held: number): CapacityResult => ({
    schema: 'gatectl.capacity/v1', label, started_at: '', finished_at: '', slo: ['e2e:p(99)<100ms'], error_budget: 0.01, step_ms: 5000, steps: [],
    max_rate_held: held, at_max: null, config: {}, capped: false,
  });
  const withCap: Comparison = { ...cmp, extras: { capacity: { before: cap('sync', 400), after: cap('async', 1600) } } };
  const headed = renderComparisonTerminal(withCap);
  assert.match(headed, /HEADLINE — sync saturated, so capacity is the comparison: max rate held \(SLO e2e:p\(99\)<100ms\): sync 400\/s, async 1600\/s, 4\.00x/);
  assert.ok(headed.indexOf('HEADLINE') < headed.indexOf('┌'), 'the headline comes before the table');
  assert.match(renderComparisonMarkdown(withCap), /\*\*HEADLINE — /);
});

test('comparable inputs: the load shape is checked; the claims column and title only for the sync and async designs', () => {
  const a = fakeRun({ label: 'sync', mode: 'sync', e2eUs: 5000, clients: 5 });
  const b = fakeRun({ label: 'async', mode: 'async', e2eUs: 5000, clients: 10 });
  assert.deepEqual(loadShapeDifferences(a, b), [{ key: 'clients', before: 5, after: 10 }]);
  assert.deepEqual(loadShapeDifferences(a, a), []);
  const twoAsync = renderComparisonTerminal(makeComparison(fakeRun({ label: 'async', mode: 'async', e2eUs: 5000 }), fakeRun({ label: 'async', mode: 'async', e2eUs: 5000, seed: 3 })));
  assert.doesNotMatch(twoAsync, /claim|did the async redesign help/);
  assert.match(twoAsync, /gatectl compare — async vs async/);
  assert.equal(parseMinChange('5%'), 0.05);
  assert.equal(parseMinChange('0.1'), 0.1);
  assert.throws(() => parseMinChange('lots'), /--min-change "lots" is not a change size/);
  assert.throws(() => parseMinChange('100%'), /below 100%/);
});

test('compare FILE FILE: different loads exit 2 unless --allow-different, which lists them; bad input exits 2', async () => {
  const files = {
    a: path.join(tmp, 'a.json'), b: path.join(tmp, 'b.json'), a2: path.join(tmp, 'a2.json'), cmp: path.join(tmp, 'cmp.json'), cap: path.join(tmp, 'cap.json'),
  };
  writeFileSync(files.a, JSON.stringify(fakeRun({ label: 'sync', mode: 'sync', e2eUs: 8000, clients: 5 })));
  writeFileSync(files.a2, JSON.stringify(fakeRun({ label: 'async', mode: 'async', e2eUs: 4000, clients: 5, seed: 5 })));
  writeFileSync(files.b, JSON.stringify(fakeRun({ label: 'async', mode: 'async', e2eUs: 4000, clients: 10, seed: 2 })));
  writeFileSync(files.cmp, JSON.stringify(makeComparison(fakeRun({ label: 'sync', e2eUs: 1 }), fakeRun({ label: 'async', e2eUs: 1 }))));
  writeFileSync(files.cap, JSON.stringify({ schema: 'gatectl.capacity/v1' }));
  const bad: [string[], RegExp][] = [
    [['compare', files.a, files.b], /ran different loads \(clients: 5 vs 10\).*--allow-different/],
    [['compare', files.a, files.a2, '--repeat', '3'], /--repeat runs new rounds; two result files are one saved run each/],
    [['compare', 'sync', 'async', '--repeat', '0'], /--repeat 0: a comparison needs at least 1 round per side/],
    [['compare', 'sync', 'async', '--allow-different'], /--allow-different applies to comparing two result files/],
    [['compare', 'sync', 'async', '--min-change', 'x'], /--min-change "x" is not a change size/],
    [['compare', files.a, files.cmp], /is a comparison \(schema gatectl\.compare\/v1\), not a run result/],
    [['compare', files.a, files.cap], /is not a gatectl result: expected "schema"/],
  ];
  for (const [args, re] of bad) {
    const r = await gatectl(args, tmp);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, re);
  }
  const out = path.join(tmp, 'diff.json');
  const r = await gatectl(['compare', files.a, files.b, '--allow-different', '--out', out], tmp);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /LOAD SHAPES DIFFER \(--allow-different\): clients: 5 vs 10/);
  const saved = JSON.parse(readFileSync(out, 'utf8')) as Comparison;
  assert.deepEqual(saved.differences, [{ key: 'clients', before: 5, after: 10 }]);
  const md = await gatectl(['report', out, '--format', 'markdown'], tmp);
  assert.match(md.stdout, /LOAD SHAPES DIFFER/);
  const same = await gatectl(['compare', files.a, files.a2, '--out', path.join(tmp, 'same.json')], tmp);
  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stdout, /e2e p50 .* 2\.\d+x \[/);
});

test('compare sync async --repeat 2: every run written as it finishes, both rounds kept, ABBA order; an overloaded side is marked saturated', { timeout: 120_000 }, async () => {
  const out = path.join(tmp, 'rounds.json');
  // async behind one processor worker and a 40 ms upstream serves ~25/s of the 80/s offered; sync calls the upstream per session
  const r = await gatectl(['compare', 'sync', 'async', '--clients', '20', '--duration', '3s', '--rate', '80', '--processor-workers', '1',
    '--upstream-latency', '40ms', '--drain-timeout', '1s', '--repeat', '2', '--out', out], tmp, 110_000);
  assert.equal(r.code, 0, r.stderr);
  const files = readdirSync(`${out.replace(/\.json$/, '')}.rounds`).sort();
  assert.deepEqual(files, ['round-1-after-async.json', 'round-1-before-sync.json', 'round-2-after-async.json', 'round-2-before-sync.json']);
  const cmp = JSON.parse(readFileSync(out, 'utf8')) as Comparison;
  assert.equal(cmp.schema, 'gatectl.compare/v1');
  assert.equal(cmp.rounds!.done, 2);
  assert.deepEqual(cmp.rounds!.order, [['before', 'after'], ['after', 'before']]);
  assert.deepEqual(cmp.rounds!.before.map((x) => x.label), ['sync', 'sync']);
  assert.equal(cmp.analysis!.interval_over, 'rounds');
  assert.ok(cmp.analysis!.saturation.after.every((v) => v.saturated), JSON.stringify(cmp.analysis!.saturation.after));
  assert.match(r.stdout, /SATURATED: async in 2 of 2 rounds/);
  assert.match(r.stderr, /async round 1: SATURATED/);
  assert.equal(cmp.analysis!.rows.find((x) => x.metric === 'e2e p50')!.after_note, 'queueing time');
  // the saved file renders again, as markdown too
  const rep = await gatectl(['report', out, '--format', 'markdown'], tmp);
  assert.equal(rep.code, 0, rep.stderr);
  assert.match(rep.stdout, /### Every round/);
  assert.ok(existsSync(out));
});

/** Starts `gatectl compare sync async …`, sends SIGINT once round 2 has begun its steady phase, resolves when it exits. */
function interruptedCompare(args: string[]): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/run.js'), 'compare', 'sync', 'async', ...args], { cwd: tmp, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!sent && /== round 2\/3[^]*\[steady/.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`compare did not stop after SIGINT\n${stderr}`)); }, 100_000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

test('Ctrl-C during round 2: the complete round is kept and rendered, the file says interrupted, exit 130', { timeout: 120_000 }, async () => {
  const out = path.join(tmp, 'int.json');
  const r = await interruptedCompare(['--clients', '10', '--duration', '4s', '--rate', '20', '--drain-timeout', '1s', '--repeat', '3', '--out', out]);
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /interrupted after 1 of 3 rounds/);
  const cmp = JSON.parse(readFileSync(out, 'utf8')) as Comparison;
  assert.equal(cmp.rounds!.done, 1);
  assert.equal(cmp.rounds!.planned, 3);
  assert.equal(cmp.rounds!.interrupted, true);
  assert.match(r.stdout, /INCOMPLETE: 1 of 3 planned rounds finished/);
  // round 2 ran async first (BA): its interrupted run was written too
  const files = readdirSync(`${out.replace(/\.json$/, '')}.rounds`).sort();
  assert.ok(files.includes('round-2-after-async.json'), files.join());
  assert.equal((JSON.parse(readFileSync(path.join(`${out.replace(/\.json$/, '')}.rounds`, 'round-2-after-async.json'), 'utf8')) as RunResult).interrupted, true);
});

test('markdown: a --slow-clients comparison and its runs show healthy and slow sessions apart (the committed seed 001 reference)', () => {
  const cmp = JSON.parse(readFileSync(path.join(repoRoot, 'reports/reference/compare-seed-001-slow-consumers.json'), 'utf8')) as Comparison;
  const text = renderComparisonMarkdown(cmp);
  assert.match(text, /### Healthy and slow sessions apart/);
  assert.match(text, /\| healthy sessions: enqueue_latency p99 +\| [^|]+\| [^|]+\| \d+(\.\d+)?x \[/);
  assert.match(text, /### Healthy and slow sessions \(--slow-clients\)/, 'each side\'s run has its cohort table too');
});
