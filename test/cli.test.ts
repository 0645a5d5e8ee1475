import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { gatectl as run, type Ran } from './support.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/run.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'gatectl-test-'));

// JSON documents from the monitor, navigated by key in assertions
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const gatectl = (args: string[], timeoutMs = 90_000): Promise<Ran> => run(args, tmp, timeoutMs);

const small = ['--clients', '20', '--duration', '2s', '--rate-per-client', '2', '--quiet'];

test('bad input: one clear message and exit code 2', async () => {
  const cases: [string[], RegExp][] = [
    [['load', '--mode', 'turbo', ...small], /--mode "turbo" is not supported: use one of sync, async/],
    [['load', '--transport', 'carrier-pigeon', ...small], /--transport "carrier-pigeon" is not supported: use one of quic, tcp/],
    [['load', '--clients', '0'], /--clients/],
    [['load', '--duration', 'soon'], /--duration "soon" is not a valid duration/],
    [['load', '--duration', '20'], /with a unit/],
    [['report', 'missing.json'], /cannot read result file missing.json: ENOENT/],
    [['load', '--target', 'http://x', '--insecure'], /unsupported scheme/],
    [['compare', 'sync', 'nope.json'], /two modes \(sync async\) or two result files/],
    [['load', '--slo', 'e2e:p(99)<50ms', ...small], /--slo applies only to a capacity search: add --find-max, or drop --slo/],
    [['compare', 'sync', 'async', '--refine', '2', '--start-rate', '50', ...small], /--start-rate, --refine apply only to a capacity search/],
    [['load', '--full', ...small], /--full applies a scenario's full: block: give --scenario FILE, or drop --full/],
  ];
  writeFileSync(path.join(tmp, 'bad.json'), '{"schema": "gatectl.run/v1", "client": {}');
  cases.push([['report', 'bad.json'], /is not valid JSON/]);
  writeFileSync(path.join(tmp, 'other.json'), '{"hello": 1}');
  cases.push([['report', 'other.json'], /is not a gatectl result/]);
  for (const [args, message] of cases) {
    const r = await gatectl(args);
    assert.equal(r.code, 2, `${args.join(' ')} → exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.stdout, '', 'nothing on stdout');
  }
  const env = await new Promise<Ran>((resolve) => {
    const child = spawn(process.execPath, [bin, 'load', ...small], { cwd: tmp, env: { ...process.env, QUEUE_SEND_WORKER_COUNT: 'many' } });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout: '', stderr }));
  });
  assert.equal(env.code, 2);
  assert.match(env.stderr, /QUEUE_SEND_WORKER_COUNT="many" is not valid/);
});

test('unreachable target: clear error after the connect timeout, exit code 1', async () => {
  const r = await gatectl(['load', '--target', 'quic://127.0.0.1:9', '--insecure', '--connect-timeout', '1s', '--clients', '2', '--duration', '1s', '--quiet']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /no client could connect to quic:\/\/127\.0\.0\.1:9/);
});

test('load --json prints the RunResult and writes the same file', async () => {
  const out = path.join(tmp, 'run.json');
  const r = await gatectl(['load', '--json', '--mode', 'async', ...small, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const printed = JSON.parse(r.stdout);
  assert.equal(printed.schema, 'gatectl.run/v1');
  assert.equal(printed.client.connected, 20);
  assert.equal(printed.client.responses, printed.client.requests_sent);
  assert.equal(printed.server.source, 'in-process');
  assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), printed);
});

test('compare sync async, then report --format markdown', async () => {
  const out = path.join(tmp, 'cmp.json');
  const r = await gatectl(['compare', 'sync', 'async', ...small, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  for (const row of ['enqueue_latency p50', 'enqueue_latency p99', 'lock_wait p99', 'direct_send_latency p99', 'write_message_latency p99', 'e2e p50', 'e2e p99', 'responses/s', 'errors']) {
    assert.ok(r.stdout.includes(row), `table has ${row}`);
  }
  assert.match(r.stdout, /report's claim \(not measured\)/);
  const cmp = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(cmp.schema, 'gatectl.compare/v1');
  assert.equal(cmp.before.label, 'sync');
  assert.equal(cmp.after.label, 'async');
  const md = path.join(tmp, 'cmp.md');
  const rep = await gatectl(['report', out, '--format', 'markdown', '--out', md]);
  assert.equal(rep.code, 0, rep.stderr);
  const text = readFileSync(md, 'utf8');
  assert.match(text, /^# gatectl compare/);
  assert.match(text, /\| metric +\| before \(sync\)/);
  assert.match(text, /### Server stages/);
  const saved = await gatectl(['compare', path.join(tmp, 'run.json'), path.join(tmp, 'run.json'), '--out', path.join(tmp, 'self.json')]);
  assert.equal(saved.code, 0, saved.stderr);
  assert.match(saved.stdout, /1\.00x/);
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function waitForLine(child: ChildProcess, re: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${re} in:\n${buf}`)), timeoutMs);
    child.stderr!.on('data', (d) => {
      buf += d;
      const m = buf.match(re);
      if (m) { clearTimeout(timer); resolve(m); }
    });
  });
}

test('serve: URL and fingerprint, seed 000 monitor endpoints, remote load with --monitor, SIGTERM stops within 10 s', { timeout: 120_000 }, async () => {
  const monitorPort = await freePort();
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--monitor-port', String(monitorPort), '--mode', 'async'], { cwd: tmp });
  let exited = false;
  child.on('exit', () => (exited = true));
  try {
    const [, url, fingerprint] = await waitForLine(child, /listening on (quic:\/\/127\.0\.0\.1:\d+)[\s\S]*fingerprint: ([0-9A-F:]{95})/);
    assert.ok(fingerprint);
    const monitor = `http://127.0.0.1:${monitorPort}`;
    const get = async (p: string) => (await request(monitor + p)).body.json() as Promise<Json>;
    const cfg = await get('/queue/config');
    assert.equal(cfg.queue_configuration.current_config.enable_async_send, true);
    assert.equal(cfg.queue_configuration.current_config.send_worker_count, 4);
    assert.equal(cfg.queue_configuration.configuration_examples.high_performance.QUEUE_SEND_WORKER_COUNT, '8');
    assert.equal((await get('/healthz')).status, 'ok');

    const r = await gatectl(['load', '--target', url!, '--insecure', '--monitor', monitor, '--json', ...small, '--out', path.join(tmp, 'remote.json')]);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.equal(res.client.connected, 20);
    assert.equal(res.client.responses, res.client.requests_sent);
    assert.equal(res.server.source, 'monitor');
    assert.equal(res.server.stages.business_latency.summary.count, res.client.responses);
    assert.ok(res.warnings.some((w: string) => w.includes('--insecure')));

    const stats = await get('/queue/async-stats');
    assert.equal(stats.async_queue_analysis.summary.total_sent, res.client.responses * 3 + 20, 'before-notify, response, after-notify per request, plus one HelloResponse per client');
    assert.equal(stats.async_queue_analysis.summary.dropped_tasks, 0);
    const lat = await get('/latency/send-ordered');
    assert.ok(lat.send_ordered_message_latency_analysis.queuing_phase.enqueue_latency.summary.count > 0);
    assert.equal(typeof lat.send_ordered_message_latency_analysis.queuing_phase.enqueue_latency.histogram, 'string');

    const t = Date.now();
    child.kill('SIGTERM');
    await new Promise((r2) => (exited ? r2(null) : child.once('exit', r2)));
    assert.ok(Date.now() - t < 10_000, `stopped in ${Date.now() - t} ms`);
    assert.equal(child.exitCode, 0);
  } finally {
    if (!exited) child.kill('SIGKILL');
  }
});

test('serve: a port in use is exit code 2 with the fix', async () => {
  const port = await freePort();
  const holder = createServer().listen(port, '127.0.0.1');
  try {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'gatectl-serve-'));
    const r = await new Promise<Ran>((resolve) => {
      const child = spawn(process.execPath, [bin, 'serve', '--transport', 'tcp', '--port', String(port), '--monitor-port', '0'], { cwd });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`127\\.0\\.0\\.1:${port}.*in use`));
    assert.equal(r.stdout, '', 'nothing on stdout');
    assert.ok(!existsSync(path.join(cwd, 'reports')), 'a failed start writes no result');
  } finally {
    holder.close();
  }
});

test('serve --mock-upstream: the gateway calls the built-in mock over HTTP', { timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--monitor-port', '0', '--mock-upstream', '--transport', 'tcp'], { cwd: tmp });
  let exited = false;
  child.on('exit', () => (exited = true));
  try {
    const [, url] = await waitForLine(child, /listening on (tcp:\/\/127\.0\.0\.1:\d+)[\s\S]*upstream: http:\/\/127\.0\.0\.1:\d+ \(built-in mock HTTP server\)/);
    const r = await gatectl(['load', '--target', url!, '--insecure', '--json', '--clients', '5', '--duration', '1s', '--rate-per-client', '4', '--quiet', '--out', path.join(tmp, 'mock.json')]);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.equal(res.client.responses, res.client.requests_sent);
    assert.equal(res.client.notifies, res.client.responses * 2);
    child.kill('SIGTERM');
    await new Promise((r2) => (exited ? r2(null) : child.once('exit', r2)));
    assert.equal(child.exitCode, 0);
  } finally {
    if (!exited) child.kill('SIGKILL');
  }
});
