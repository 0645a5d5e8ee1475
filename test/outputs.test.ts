/**
 * Issue 12 §4-5: `load --out json=FILE` / `--out csv=FILE` (per-second NDJSON and CSV whose counts
 * add up to the run's totals, a final summary), the bare `--out FILE` result, `--metrics-port`
 * (Prometheus text scraped while the run goes) and `--percentiles` (terminal tables, stored in the
 * result, the outputs' columns). Real runs against the in-process gateway on 127.0.0.1; every wait
 * is bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseOutSpecs } from '../src/output/index.js';
import { startPromExporter } from '../src/output/prom.js';
import { SecondBuilder } from '../src/output/second.js';
import { DEFAULT_PERCENTILES, parsePercentiles, statKey, statLabel, statValuesUs } from '../src/report/percentiles.js';
import { createHistogram, decodeHistogram, encodeLatency, recordUs } from '../src/metrics/histogram.js';
import { parseThreshold, evaluateThresholds } from '../src/metrics/thresholds.js';
import type { RunResult } from '../src/metrics/result.js';
import { InvalidInputError } from '../src/errors.js';
import { gatectl, repoRoot } from './support.js';

test('--out values: json=/csv= are live outputs, a bare FILE is the result, unknown kinds and doubles are refused', () => {
  assert.deepEqual(parseOutSpecs(['json=a.ndjson', 'r.json', 'CSV=b.csv', 'json=c.ndjson']), {
    resultFile: 'r.json', live: [{ kind: 'json', file: 'a.ndjson' }, { kind: 'csv', file: 'b.csv' }, { kind: 'json', file: 'c.ndjson' }],
  });
  assert.deepEqual(parseOutSpecs(undefined), { live: [] });
  assert.deepEqual(parseOutSpecs(['./json=x.json']), { resultFile: './json=x.json', live: [] }, 'a path with a directory is a file');
  assert.throws(() => parseOutSpecs(['influxdb=http://x']), (e: unknown) => e instanceof InvalidInputError && /unknown output "influxdb"/.test(e.message) && /\.\/influxdb=/.test(e.message));
  assert.throws(() => parseOutSpecs(['json=']), /give the file to write/);
  assert.throws(() => parseOutSpecs(['a.json', 'b.json']), /already a\.json/);
  assert.throws(() => parseOutSpecs(['json=a', 'csv=a']), /given twice/);
});

test('--percentiles: numbers, p(N), med, min/mean/avg/max in the given order; bad items refused with the fix', () => {
  assert.deepEqual(parsePercentiles(DEFAULT_PERCENTILES).map(statLabel), ['p50', 'p90', 'p95', 'p99', 'p99.9', 'max']);
  assert.deepEqual(parsePercentiles('max, p(99.99),med,95,avg,min,50').map(statLabel), ['max', 'p99.99', 'p50', 'p95', 'mean', 'min']);
  assert.deepEqual(parsePercentiles('99.9,99.99,mean').map(statKey), ['p999_us', 'p9999_us', 'mean_us']);
  for (const bad of ['', '0', '101', 'p95x', '50,,90', 'avg2']) {
    assert.throws(() => parsePercentiles(bad), (e: unknown) => e instanceof InvalidInputError && /--percentiles/.test(e.message), bad);
  }
  // values: from the summary where it has them, from the histogram otherwise (equal to a direct read)
  const h = createHistogram();
  for (let i = 1; i <= 1000; i++) recordUs(h, i * 10);
  const lat = encodeLatency(h);
  const stats = parsePercentiles('50,95,99.9,min,mean,max');
  assert.deepEqual(statValuesUs(lat, stats), [lat.summary.p50_us, decodeHistogram(lat.histogram).getValueAtPercentile(95), lat.summary.p999_us, lat.summary.min_us, lat.summary.mean_us, lat.summary.max_us]);
  assert.deepEqual(statValuesUs(encodeLatency(createHistogram()), stats), stats.map(() => null));
  // a threshold on p95 (the default set's new percentile) parses and evaluates
  assert.equal(parseThreshold('e2e:p(95)<50ms').percentile, 95);
  const [t] = evaluateThresholds({ client: { latency: { e2e: lat } }, server: null } as unknown as RunResult, ['e2e:p(95)<50ms']);
  assert.equal(t!.actual, decodeHistogram(lat.histogram).getValueAtPercentile(95));
  assert.equal(t!.ok, true);
});

test('SecondBuilder: per-second errors and violations from the running totals, the end second makes the sums the result\'s', () => {
  const b = new SecondBuilder(parsePercentiles('95,max'));
  const h = createHistogram();
  recordUs(h, 1000);
  recordUs(h, 3000);
  const tick = { phase: 'steady' as const, elapsed_s: 1, connected: 2, clients: 2, requests_per_s: 10, responses_per_s: 9, errors: 1, violations: 0, e2e_p50_us: 1000, e2e_p99_us: 3000, schedule_lag_p99_us: 5, requests_total: 10, responses_total: 9, e2e: h };
  const s1 = b.fromTick(tick);
  assert.equal(s1.errors, 1);
  assert.equal(s1.e2e_p95_us, h.getValueAtPercentile(95));
  assert.equal(s1.e2e_max_us, h.maxValue);
  const s2 = b.fromTick({ ...tick, elapsed_s: 2, errors: 3, violations: 2 });
  assert.equal(s2.errors, 2);
  assert.equal(s2.violations, 2);
  // the run's e2e: the two ticks' responses (2 + 2) and 20 more after the last tick, at 50 ms
  const total = createHistogram();
  total.add(h);
  total.add(h);
  for (let i = 0; i < 20; i++) recordUs(total, 50_000);
  const result = { steady_s: 2, client: { clients: 2, connected: 2, requests_sent: 25, responses: 24, unanswered: 1, connect_failures: 0, hello_failures: 0,
    errors_by_code: { 503: 3 }, transport_errors: { closed: 1 }, violations: { reorders: 1, gaps: 1, duplicates: 1, notify_order_violations: 0 },
    latency: { e2e: encodeLatency(total) } } } as unknown as RunResult;
  const end = b.tailSecond(result);
  assert.equal(end.phase, 'end');
  assert.equal(end.responses, 6, '24 responses minus the ticks\' 9 + 9');
  assert.deepEqual(b.sums, { requests: 25, responses: 24, errors: 4, violations: 3 });
  // 4 histogram samples in the ticks, 20 in the result beyond them, but 6 responses left: they disagree, so no latency is claimed
  assert.equal(end.e2e_p50_us, 0);
  const b2 = new SecondBuilder(parsePercentiles('95,max'));
  b2.fromTick({ ...tick, responses_per_s: 2 });
  b2.fromTick({ ...tick, responses_per_s: 2 });
  const end2 = b2.tailSecond({ ...result, client: { ...result.client, responses: 24 } } as RunResult);
  assert.equal(end2.responses, 20);
  assert.equal(end2.e2e_p50_us, total.getValueAtPercentile(99), 'the remaining 20 responses\' e2e: the 50 ms ones');
  assert.ok(Math.abs(end2.e2e_max_us! - total.maxValue) <= total.maxValue / 1000, 'max of the remainder, to the histogram\'s 3 digits (a subtraction keeps buckets, not exact values)');
  assert.equal(end2.schedule_lag_p99_us, 0);
});

test('the Prometheus exporter serves the generator\'s figures in text format on 127.0.0.1', async () => {
  const prom = await startPromExporter(0);
  try {
    const h = createHistogram();
    for (let i = 0; i < 100; i++) recordUs(h, 2000 + i);
    prom.tick({ phase: 'steady', elapsed_s: 3, connected: 7, clients: 8, requests_per_s: 100, responses_per_s: 99, errors: 2, violations: 1,
      e2e_p50_us: 2050, e2e_p99_us: 2099, schedule_lag_p99_us: 300, e2e: h, requests_total: 300, responses_total: 297 });
    const res = await fetch(`${prom.server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    for (const line of ['gatectl_load_requests_total 300', 'gatectl_load_responses_total 297', 'gatectl_load_errors_total 2', 'gatectl_load_violations_total 1',
      'gatectl_load_clients_connected 7', 'gatectl_load_request_rate 100', 'gatectl_load_phase{phase="steady"} 1', 'gatectl_load_phase{phase="done"} 0',
      'gatectl_load_e2e_latency_seconds_count 100', 'gatectl_load_e2e_latency_seconds_bucket{le="+Inf"} 100', 'gatectl_load_e2e_latency_seconds_bucket{le="0.001"} 0',
      'gatectl_load_e2e_latency_seconds_bucket{le="0.0025"} 100', 'gatectl_load_e2e_p99_seconds 0.002099']) {
      assert.ok(text.split('\n').includes(line), `exposition has "${line}"`);
    }
    assert.match(text, /^# TYPE gatectl_load_e2e_latency_seconds histogram$/m);
    assert.match(text, /^gatectl_load_process_resident_memory_bytes \d+/m, 'prom-client default metrics, prefixed');
    assert.equal((await fetch(`${prom.server.url}/other`)).status, 404);
    await assert.rejects(startPromExporter(prom.server.port), (e: unknown) => e instanceof InvalidInputError && /in use/.test(e.message));
  } finally {
    await prom.close();
  }
});

/** Runs gatectl in `cwd`; calls `onLine` with each stderr line as it comes. */
function gatectlLive(args: string[], cwd: string, onLine: (l: string) => void, timeoutMs = 90_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/run.js'), ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const l of lines) onLine(l);
    });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`gatectl ${args.join(' ')} timed out\n${stderr}`)); }, timeoutMs);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

test('load --workers 2 --out json= --out csv= --out FILE --metrics-port --percentiles: the seconds add up to the result, the summary is the result\'s, Prometheus answers during the run', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatectl-outputs-'));
  try {
    let scrape: Promise<string> | null = null;
    const ran = await gatectlLive(['load', '--clients', '20', '--rate', '200', '--duration', '3s', '--upstream-latency', '1ms', '--workers', '2',
      '--out', 'json=live/run.ndjson', '--out', 'csv=live/run.csv', '--out', 'result.json', '--metrics-port', '0', '--percentiles', '50,95,99.9,max'], dir, (l) => {
      const m = /^metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics)$/.exec(l);
      // scrape once the first tick has been printed (the run is going)
      if (m !== null) scrape = new Promise((resolve, reject) => {
        setTimeout(() => { fetch(m[1]!).then((r) => r.text()).then(resolve, reject); }, 2000);
      });
    });
    assert.equal(ran.code, 0, ran.stderr);
    assert.ok(scrape !== null, `the command printed its metrics URL: ${ran.stderr}`);
    const text = await scrape!;
    assert.match(text, /^gatectl_load_requests_total \d+$/m);
    assert.match(text, /^gatectl_load_e2e_latency_seconds_count \d+$/m);
    assert.deepEqual(readdirSync(dir).filter((f) => f !== '.gatectl').sort(), ['live', 'result.json'], 'no directory named json= or csv=');
    assert.deepEqual(readdirSync(path.join(dir, 'live')).sort(), ['run.csv', 'run.ndjson']);
    const result = JSON.parse(readFileSync(path.join(dir, 'result.json'), 'utf8')) as RunResult;
    assert.deepEqual(result.percentiles, ['p50', 'p95', 'p99.9', 'max']);
    // terminal: the chosen statistics, in their order
    assert.match(ran.stdout, /e2e p50 \/ p95 \/ p99\.9 \/ max/);
    assert.match(ran.stdout, /│ stage\s+│ count\s+│ p50\s+│ p95\s+│ p99\.9\s+│ max\s+│/);
    const c = result.client;
    const errors = Object.values(c.errors_by_code).reduce((a, b) => a + b, 0) + Object.values(c.transport_errors).reduce((a, b) => a + b, 0);
    // NDJSON: seconds, then one summary
    const lines = readFileSync(path.join(dir, 'live/run.ndjson'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const seconds = lines.filter((l) => l.type === 'second');
    assert.ok(seconds.length >= 2, `seconds: ${seconds.length}`);
    assert.deepEqual(lines.map((l) => l.type), [...seconds.map(() => 'second'), 'summary'], 'seconds first, the summary last');
    assert.equal(seconds.at(-1)!.phase, 'end');
    const end = seconds.at(-1)!;
    if (Number(end.responses) > 0) assert.ok(Number(end.e2e_p50_us) > 0 && Number(end.e2e_max_us) >= Number(end.e2e_p50_us), `the end second's e2e is that of its responses: ${JSON.stringify(end)}`);
    const sum = (rows: Record<string, unknown>[], k: string) => rows.reduce((a, r) => a + Number(r[k]), 0);
    assert.equal(sum(seconds, 'requests'), c.requests_sent);
    assert.equal(sum(seconds, 'responses'), c.responses);
    assert.equal(sum(seconds, 'errors'), errors);
    for (const s of seconds) for (const k of ['e2e_p50_us', 'e2e_p99_us', 'e2e_p95_us', 'e2e_p999_us', 'e2e_max_us', 'schedule_lag_p99_us']) assert.equal(typeof s[k], 'number', k);
    assert.ok(seconds.some((s) => s.phase === 'steady' && Number(s.e2e_p95_us) > 0));
    const summary = lines.at(-1)!;
    assert.equal(summary.responses, c.responses);
    assert.equal(summary.requests_sent, c.requests_sent);
    assert.equal(summary.result_file, 'result.json');
    assert.deepEqual(Object.keys(summary.e2e as object), ['p50_us', 'p95_us', 'p999_us', 'max_us']);
    assert.equal((summary.e2e as Record<string, number>).p50_us, c.latency.e2e.summary.p50_us);
    assert.equal((summary.e2e as Record<string, number>).p95_us, decodeHistogram(c.latency.e2e.histogram).getValueAtPercentile(95));
    // CSV: header and the same seconds
    const csv = readFileSync(path.join(dir, 'live/run.csv'), 'utf8').trimEnd().split('\n').map((l) => l.split(','));
    const head = csv[0]!;
    assert.deepEqual(head, ['time', 'phase', 'elapsed_s', 'connected', 'clients', 'requests', 'responses', 'errors', 'violations',
      'e2e_p50_us', 'e2e_p99_us', 'e2e_p95_us', 'e2e_p999_us', 'e2e_max_us', 'schedule_lag_p99_us']);
    const rows = csv.slice(1).map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]])));
    assert.equal(rows.length, seconds.length);
    assert.equal(sum(rows, 'requests'), c.requests_sent);
    assert.equal(sum(rows, 'responses'), c.responses);
    assert.equal(rows.at(-1)!.phase, 'end');
    // per-second p50 and schedule lag in the result's time series
    assert.ok(result.timeseries.length > 0 && result.timeseries.every((p) => typeof p.e2e_p50_us === 'number' && typeof p.schedule_lag_p99_us === 'number'));
    assert.ok(result.timeseries.every((p) => p.e2e_p50_us! <= p.e2e_p99_us));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('load output flags refuse what they cannot do, with the fix (exit 2)', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatectl-outputs-bad-'));
  try {
    const cases: [string[], RegExp][] = [
      [['--out', 'xml=a.xml'], /unknown output "xml"/],
      [['--out', 'a.json', '--out', 'b.json'], /already a\.json/],
      [['--percentiles', '50,200'], /--percentiles: "200"/],
      [['--dashboard-port', '5999'], /--dashboard-port applies to --dashboard/],
      [['--find-max', '--out', 'json=a.ndjson'], /--find-max runs a step per rate/],
    ];
    for (const [args, re] of cases) {
      const r = await gatectl(['load', '--clients', '1', '--duration', '1s', ...args], dir);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
    }
    assert.equal(existsSync(path.join(dir, 'reports')), false, 'no run happened');
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
