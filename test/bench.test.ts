/**
 * The load-generator benchmark (issue 4 "Done when", src/bench/loadgen/): a tiny bounded smoke run
 * (4 connections × 2 in flight, 1 s per phase, one round, real QUIC on 127.0.0.1; transport section
 * quic and tcp at 4 × 2 and 8 × 1) checking the result's shape and that the ratios are finite numbers
 * above 0 — never the goals (speed and memory targets belong to `npm run bench`, not to tests). The
 * transport section's goal logic is checked on made-up measurements (summarizeTransportSection is
 * pure). Plus the null gateway's protocol, option errors, and the benchmarks' LoadOptions against
 * what `gatectl load` resolves for the same flags.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadgenOptionsFromFlags, type TransportShape } from '../src/bench/loadgen/options.js';
import { closedLoadOptions, openLoadOptions } from '../src/bench/loadgen/gatectl.js';
import { startNullGateway } from '../src/bench/loadgen/null-gateway.js';
import { REFERENCE_RESULT_FILE, readLoadgenReference } from '../src/bench/loadgen/reference.js';
import { renderLoadgenMarkdown, renderLoadgenTerminal, writeLoadgenReports } from '../src/bench/loadgen/render.js';
import { LOADGEN_BENCH_SCHEMA, type ThroughputCell } from '../src/bench/loadgen/result.js';
import { runLoadgenBench } from '../src/bench/loadgen/run.js';
import { MEMORY_SETTLE_MS, PRIME_ECHOES, summarizeTransportSection, type MemorySample, type TransportMeasurements } from '../src/bench/loadgen/transport.js';
import { soakLoadOptions, soakOptionsFromFlags, DEFAULT_SOAK_OPTIONS } from '../src/bench/soak/soak.js';
import { resolveLoadOptions } from '../src/config/load.js';
import { getTransport } from '../src/transport/index.js';
import { InvalidInputError } from '../src/errors.js';
import { RawClient, gatectl, waitFor } from './support.js';

test('loadgen bench smoke: N=4, K=2, D=1 s, one round, transport section at 4x2 and 8x1: shapes, ratios finite and > 0, reports written', { timeout: 90_000 }, async () => {
  const opts = loadgenOptionsFromFlags({
    connections: 4, 'in-flight': 2, duration: '1s', rounds: 1, warmup: '0', 'histogram-values': 20000, 'codec-iterations': 5000, 'transport-shapes': '4x2,8x1',
  });
  const lines: string[] = [];
  const r = await runLoadgenBench(opts, 'test', (l) => lines.push(l));
  assert.equal(r.schema, LOADGEN_BENCH_SCHEMA);
  assert.equal(r.command, 'test');
  assert.equal(r.environment.loadavg_start.length, 3);
  const t = r.throughput;
  assert.equal(t.raw_echo.length, 1);
  assert.equal(t.gatectl_closed.length, 1);
  const check = (c: ThroughputCell, phase: string, connections = 4) => {
    assert.equal(c.phase, phase);
    assert.equal(c.connected, connections, `${phase}: all ${connections} connected`);
    assert.ok(c.responses > 0 && c.responses === c.requests, `${phase}: every request answered (${c.responses}/${c.requests})`);
    assert.ok(c.window_s > 0.2 && c.window_s < 5, `${phase}: window ${c.window_s} s`);
    assert.ok(c.window_responses > 0 && c.window_responses <= c.responses, `${phase}: ${c.window_responses} responses in the window`);
    assert.ok(Number.isFinite(c.responses_per_s) && c.responses_per_s > 0);
    assert.ok(Number.isFinite(c.client_responses_per_s) && c.client_responses_per_s > 0);
    assert.ok(c.generator_cpu_percent > 0 && c.gateway_cpu_percent > 0, `${phase}: CPU measured on both sides`);
    assert.equal(c.errors, 0);
  };
  check(t.raw_echo[0]!, 'raw_echo');
  check(t.gatectl_closed[0]!, 'gatectl_closed');
  check(r.open, 'gatectl_open');
  assert.equal(t.raw_echo[0]!.e2e_p99_us, null, 'raw echo keeps no latency');
  assert.equal(t.raw_echo[0]!.acks_per_response, 0, 'the raw client never acks');
  assert.equal(typeof t.raw_echo[0]!.event_loop_delay_p99_ms, 'number');
  assert.equal(t.gatectl_closed[0]!.violations, 0, 'the null gateway numbers server_seq contiguously');
  assert.ok(Number.isFinite(t.ratio) && t.ratio > 0, `ratio ${t.ratio}`);
  assert.equal(t.goal, 0.85);
  assert.equal(t.goal_met, t.ratio >= 0.85);
  assert.ok(Number.isFinite(t.generator_cpu_per_response_ratio) && t.generator_cpu_per_response_ratio > 0);
  assert.equal(r.open.target_rate_per_s, Math.round(t.raw_echo_responses_per_s * 0.9));
  assert.equal(typeof r.open.kept_up, 'boolean');
  assert.equal(r.open.max_in_flight, 1000, 'the CLI default max-in-flight');
  assert.equal(r.histogram.values, 20000);
  assert.ok(r.histogram.ns_per_record > 0 && r.histogram.encode_us > 0 && r.histogram.encoded_bytes > 0 && r.histogram.decode_us > 0);
  assert.ok(r.codec.request_encode_ns > 0 && r.codec.response_decode_ns > 0 && r.codec.request_bytes > 64);
  assert.ok(lines.some((l) => l.includes('raw echo')));

  // the transport section: quic and tcp at both shapes; quic 4 × 2 is the main section's raw echo, not measured twice
  const tr = r.transport;
  assert.ok(tr !== null, 'transport section present by default');
  assert.deepEqual(tr.shapes, [{ connections: 4, in_flight: 2 }, { connections: 8, in_flight: 1 }]);
  assert.equal(tr.phase_s, 1);
  assert.deepEqual(tr.cells.map((c) => [c.transport, c.connections, c.in_flight, c.source]),
    [['quic', 4, 2, 'main_raw_echo'], ['quic', 8, 1, 'measured'], ['tcp', 4, 2, 'measured'], ['tcp', 8, 1, 'measured']]);
  assert.deepEqual(tr.cells[0]!.phases, t.raw_echo);
  assert.equal(tr.cells[0]!.responses_per_s, t.raw_echo_responses_per_s);
  for (const c of tr.cells.slice(1)) {
    assert.equal(c.phases.length, 1);
    check(c.phases[0]!, 'raw_echo', c.connections);
  }
  for (const c of tr.cells) {
    assert.equal(c.connected, c.connections, `${c.transport} ${c.connections} × ${c.in_flight}: all connected`);
    assert.ok(Number.isFinite(c.responses_per_s) && c.responses_per_s > 0 && c.generator_cpu_ns_per_response > 0 && c.gateway_cpu_ns_per_response > 0);
    assert.equal(c.errors, 0);
  }
  assert.equal(tr.quic_tcp.length, 2);
  for (const q of tr.quic_tcp) {
    assert.ok(Number.isFinite(q.ratio) && q.ratio > 0, `quic ÷ tcp ${q.ratio}`);
    assert.ok(Number.isFinite(q.cpu_per_response_ratio) && q.cpu_per_response_ratio > 0, `cpu per response tcp ÷ quic ${q.cpu_per_response_ratio}`);
    assert.equal(q.goal_min_ratio, null, 'no goal away from 1000 × 1');
    assert.equal(q.goal_met, null);
  }
  assert.deepEqual(tr.memory.map((m) => [m.transport, m.connections, m.in_flight, m.settle_ms, m.prime_echoes]),
    [['quic', 8, 1, MEMORY_SETTLE_MS, PRIME_ECHOES], ['tcp', 8, 1, MEMORY_SETTLE_MS, PRIME_ECHOES]]);
  for (const m of tr.memory) {
    for (const side of [m.client, m.server]) {
      assert.equal(side.connections, 8, `${m.transport}: 8 connections open at the sample (client and null gateway count)`);
      assert.ok(side.rss_at_0_kb > 0 && side.rss_at_n_kb > 0 && side.heap_used_at_0_kb > 0 && side.heap_used_at_n_kb > 0);
      assert.ok(Number.isFinite(side.rss_per_connection_kb) && Number.isFinite(side.heap_used_per_connection_kb));
      assert.equal(side.goal_max_kb_per_connection, null, 'no memory goal below 1000 connections');
    }
  }
  // the committed reference is quic 100 × 8: not in this run, so no factor, and a warning saying why
  assert.equal(tr.reference, null);
  assert.match(tr.reference_unavailable ?? '', /no quic 100 × 8 raw echo/);
  assert.ok(r.warnings.some((w) => w.includes('no comparison with the reference run')));
  assert.ok(lines.some((l) => l.includes('transport tcp 8 × 1')));

  const md = renderLoadgenMarkdown(r);
  assert.match(md, /ratio gatectl ÷ raw echo/);
  assert.match(md, /histogram record cost/);
  assert.match(md, /load average/);
  assert.match(md, /## Transport: raw echo, QUIC vs TCP; memory per connection/);
  assert.match(md, /QUIC ÷ TCP raw echo, 8 × 1/);
  assert.match(md, /RSS per connection, quic server \(null gateway process\)/);
  const term = renderLoadgenTerminal(r);
  assert.match(term, /responses\/s/);
  assert.match(term, /RSS per connection, tcp client/);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatectl-loadgen-'));
  const files = await writeLoadgenReports(r, dir, 'smoke');
  assert.deepEqual(JSON.parse(readFileSync(files.json, 'utf8')), JSON.parse(JSON.stringify(r)));
  assert.equal(readFileSync(files.md, 'utf8'), md);
});

test('null gateway: Hello → 200, each business request → one response with its msg_id, contiguous server_seq, acks ignored', { timeout: 60_000 }, async () => {
  const gw = await startNullGateway('tcp');
  const dialer = await getTransport('tcp').createDialer({ ca: gw.certPem, connectTimeoutMs: 10_000 });
  try {
    const c = await RawClient.open(dialer, gw.port, 'u1');
    assert.equal(c.pushes[0]!.hello!.code, 200);
    for (let i = 2; i <= 6; i++) await c.send({ msgId: i, seqId: i - 1, business: { action: 'business', payload: new Uint8Array(8) } });
    await c.send({ ack: { ackedServerSeq: 1 } });
    await c.send({ msgId: 7, seqId: 6, business: { action: 'business' } });
    await waitFor(() => c.count('business') === 6, 5000, 'six responses');
    assert.deepEqual(c.pushes.map((p) => p.serverSeq), [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(c.pushes.slice(1).map((p) => p.business!.msgId), [2, 3, 4, 5, 6, 7]);
    assert.ok(c.pushes.slice(1).every((p) => p.business!.code === 200));
    const sample = await gw.sample();
    assert.equal(sample.responses, 6);
    assert.equal(sample.acks, 1);
    assert.equal(sample.open, 1);
    assert.ok(sample.userUs > 0 && sample.atMs > 0 && sample.rssBytes > 0 && sample.heapUsedBytes > 0);
    await c.conn.close();
  } finally {
    await dialer.close();
    await gw.stop();
  }
});

test('loadgen options: bad flags are InvalidInputError naming the flag; durations in the one grammar', () => {
  assert.throws(() => loadgenOptionsFromFlags({ transport: 'udp' }), (e: Error) => e instanceof InvalidInputError && /--transport/.test(e.message));
  assert.throws(() => loadgenOptionsFromFlags({ connections: 0 }), /--connections 0 is not valid/);
  assert.throws(() => loadgenOptionsFromFlags({ duration: 'abc' }), (e: Error) => e instanceof InvalidInputError && /--duration "abc" is not a valid duration/.test(e.message));
  assert.throws(() => loadgenOptionsFromFlags({ duration: '5' }), /--duration "5" is not a valid duration/, 'a bare number is refused, as everywhere');
  assert.throws(() => loadgenOptionsFromFlags({ duration: '11m' }), /--duration 660s is not valid/);
  assert.throws(() => loadgenOptionsFromFlags({ 'open-fraction': '3' }), /--open-fraction/);
  assert.throws(() => loadgenOptionsFromFlags({ 'open-fraction': 'x' }), /--open-fraction "x" is not a number/);
  assert.throws(() => loadgenOptionsFromFlags({ warmup: '2m' }), /--warmup/);
  assert.throws(() => loadgenOptionsFromFlags({ 'transport-shapes': '100by8' }), /--transport-shapes "100by8" is not valid: use NxK/);
  assert.throws(() => loadgenOptionsFromFlags({ 'transport-shapes': '0x1' }), /--transport-shapes 0x1 is not valid/);
  assert.throws(() => loadgenOptionsFromFlags({ 'transport-shapes': '10x1,10x1' }), /given twice/);
  const d = loadgenOptionsFromFlags({});
  assert.deepEqual([d.connections, d.inFlight, d.durationS, d.rounds, d.warmupS, d.openFraction], [100, 8, 5, 2, 1, 0.9]);
  assert.deepEqual(d.transportShapes, [{ connections: 100, inFlight: 8 }, { connections: 1000, inFlight: 1 }]);
  assert.equal(d.skipTransport, false);
  assert.deepEqual([loadgenOptionsFromFlags({ duration: '500ms', warmup: '0' }).durationS, loadgenOptionsFromFlags({ warmup: '0' }).warmupS], [0.5, 0]);
  assert.deepEqual(loadgenOptionsFromFlags({ 'transport-shapes': '10×2, 50x1' }).transportShapes, [{ connections: 10, inFlight: 2 }, { connections: 50, inFlight: 1 }]);
  assert.equal(loadgenOptionsFromFlags({ 'skip-transport': true }).skipTransport, true);
});

test('the benchmarks\' LoadOptions are what gatectl load resolves for the same flags (typed values, no flags parsed again)', () => {
  const o = { connections: 100, inFlight: 8, durationS: 5, payloadBytes: 64 };
  const cli = { clients: 100, duration: '5s', 'payload-bytes': 64, 'connect-timeout': '30s', 'drain-timeout': '10s', workers: 1 };
  assert.deepEqual(closedLoadOptions(o), resolveLoadOptions({ ...cli, model: 'closed', concurrency: 8 }, 'loadgen-bench-closed'));
  assert.deepEqual(openLoadOptions(o, 171_000), resolveLoadOptions({ ...cli, model: 'open', rate: '171000' }, 'loadgen-bench-open'));
  const soak = { ...DEFAULT_SOAK_OPTIONS, durationMs: 90_000, clients: 50, rate: 20.5, workers: 2 };
  assert.deepEqual(soakLoadOptions(soak), resolveLoadOptions({
    clients: 50, duration: '90s', rate: '20.5', 'payload-bytes': 64, 'connect-timeout': '30s', 'drain-timeout': '15s', workers: 2, heartbeat: '10s',
  }, 'soak'));
});

test('soak options: defaults, the duration grammar, bad flags named', () => {
  assert.deepEqual(soakOptionsFromFlags({}), { durationMs: 600_000, clients: 2000, rate: 500, workers: 2, idleTimeoutMs: 30_000 });
  assert.deepEqual(soakOptionsFromFlags({ duration: '1m30s', 'idle-timeout': '5s', rate: '0.5' }), { durationMs: 90_000, clients: 2000, rate: 0.5, workers: 2, idleTimeoutMs: 5000 });
  assert.throws(() => soakOptionsFromFlags({ duration: '10' }), (e: Error) => e instanceof InvalidInputError && /--duration "10" is not a valid duration/.test(e.message));
  assert.throws(() => soakOptionsFromFlags({ duration: '25h' }), /--duration 25h is longer than the limit/);
  assert.throws(() => soakOptionsFromFlags({ rate: '0' }), /--rate "0" is not valid/);
  assert.throws(() => soakOptionsFromFlags({ 'idle-timeout': '3sec' }), /--idle-timeout "3sec" is not a valid duration/);
});

test('transport section summary (pure): reuse of the main raw echo, QUIC ÷ TCP goal at 1000 × 1, memory goals, reference factor', () => {
  const o = loadgenOptionsFromFlags({});
  const cell = (rate: number, connected: number): ThroughputCell => ({
    phase: 'raw_echo', round: 0, connected, requests: rate, responses: rate, window_s: 1, window_responses: rate, responses_per_s: rate,
    client_responses_per_s: rate, acks_per_response: 0, generator_cpu_percent: 90, gateway_cpu_percent: 90, generator_cpu_ns_per_response: 1000,
    gateway_cpu_ns_per_response: 2000, errors: 0, e2e_p50_us: null, e2e_p99_us: null, event_loop_delay_p99_ms: 1, generator_bound: null, violations: null,
  });
  const big: TransportShape = { connections: 1000, inFlight: 1 };
  const small: TransportShape = { connections: 100, inFlight: 8 };
  const mem = (rssMb: number, n: number): MemorySample => ({ rssBytes: rssMb * 1024 * 1024, heapUsedBytes: 10 * 1024 * 1024, connections: n });
  const m: TransportMeasurements = {
    phases: [
      { transport: 'quic', shape: big, cell: cell(12_000, 1000) },
      { transport: 'tcp', shape: big, cell: cell(30_000, 1000) },
      { transport: 'tcp', shape: small, cell: cell(100_000, 100) },
    ],
    memory: [
      // quic: client (180 − 100) MB ÷ 1000 = 81.9 KB (≤ 100: met); server (300 − 100) MB ÷ 1000 = 204.8 KB (> 150: not met)
      { transport: 'quic', shape: big, client0: mem(100, 0), clientN: mem(180, 1000), server0: mem(100, 0), serverN: mem(300, 1000) },
      { transport: 'tcp', shape: big, client0: mem(100, 0), clientN: mem(150, 1000), server0: mem(100, 0), serverN: mem(150, 1000) },
    ],
  };
  const mainRaw = [cell(40_000, 100), cell(50_000, 100)];
  const ref = { file: REFERENCE_RESULT_FILE, created_at: 'then', command: 'old', transport: 'quic', connections: 100, in_flight: 8, payload_bytes: 64, raw_echo_responses_per_s: 3000 };
  const s = summarizeTransportSection(o, m, mainRaw, ref);
  const quicSmall = s.cells.find((c) => c.transport === 'quic' && c.connections === 100)!;
  assert.equal(quicSmall.source, 'main_raw_echo');
  assert.equal(quicSmall.responses_per_s, 45_000, 'pooled: Σ window responses ÷ Σ windows');
  assert.deepEqual(s.quic_tcp, [
    { connections: 100, in_flight: 8, quic_responses_per_s: 45_000, tcp_responses_per_s: 100_000, ratio: 0.45, cpu_per_response_ratio: 1, goal_min_ratio: null, goal_met: null },
    { connections: 1000, in_flight: 1, quic_responses_per_s: 12_000, tcp_responses_per_s: 30_000, ratio: 0.4, cpu_per_response_ratio: 1, goal_min_ratio: 0.3, goal_met: true },
  ]);
  const quicMem = s.memory.find((x) => x.transport === 'quic')!;
  assert.equal(quicMem.client.rss_per_connection_kb, 81.9);
  assert.deepEqual([quicMem.client.goal_max_kb_per_connection, quicMem.client.goal_met], [100, true]);
  assert.equal(quicMem.server.rss_per_connection_kb, 204.8);
  assert.deepEqual([quicMem.server.goal_max_kb_per_connection, quicMem.server.goal_met], [150, false]);
  const tcpMem = s.memory.find((x) => x.transport === 'tcp')!;
  assert.deepEqual([tcpMem.client.goal_max_kb_per_connection, tcpMem.client.goal_met], [null, null], 'tcp: for comparison, no goal');
  assert.deepEqual([s.reference?.factor, s.reference?.goal_min_factor, s.reference?.goal_met, s.reference?.responses_per_s], [15, 15, true, 45_000]);
  assert.equal(s.reference_unavailable, null);
  assert.match(summarizeTransportSection(o, m, mainRaw, { ...ref, payload_bytes: 128 }).reference_unavailable ?? '', /128-byte payloads/);
  assert.equal(summarizeTransportSection(o, m, mainRaw, 'no file').reference_unavailable, 'no file');
});

test('the committed reference result reads as quic 100 × 8 with its raw echo figure', () => {
  const ref = readLoadgenReference();
  assert.notEqual(typeof ref, 'string', String(ref));
  if (typeof ref === 'string') return;
  assert.equal(ref.file, REFERENCE_RESULT_FILE);
  assert.deepEqual([ref.transport, ref.connections, ref.in_flight, ref.payload_bytes], ['quic', 100, 8, 64]);
  assert.ok(ref.raw_echo_responses_per_s > 0);
  assert.match(readLoadgenReference('/nonexistent/loadgen-bench.json') as string, /not readable/);
});

test('gatectl bench loadgen: a short run prints its tables, writes both files, --json returns the result; a bad duration is exit 2', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatectl-bench-cli-'));
  const short = ['--connections', '2', '--in-flight', '1', '--duration', '500ms', '--rounds', '1', '--warmup', '0', '--skip-transport',
    '--histogram-values', '1000', '--codec-iterations', '1000', '--out-dir', dir];
  const ran = await gatectl(['bench', 'loadgen', ...short, '--name', 'short', '--json'], dir);
  assert.equal(ran.code, 0, ran.stderr);
  const r = JSON.parse(ran.stdout) as { schema: string; command: string; options: { durationS: number; connections: number }; transport: unknown };
  assert.equal(r.schema, LOADGEN_BENCH_SCHEMA);
  assert.deepEqual([r.options.durationS, r.options.connections, r.transport], [0.5, 2, null]);
  assert.match(r.command, /^gatectl bench loadgen --connections 2/);
  assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'short.json'), 'utf8')), r);
  assert.match(readFileSync(path.join(dir, 'short.md'), 'utf8'), /ratio gatectl ÷ raw echo/);
  const bad = await gatectl(['bench', 'loadgen', '--duration', '5', '--out-dir', dir], dir);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--duration "5" is not a valid duration/);
  const badAll = await gatectl(['bench', 'all', '--only', 'vinequeue', '--loadgen-name', 'x'], dir);
  assert.equal(badAll.code, 2);
  assert.match(badAll.stderr, /--loadgen-name/);
});

test('gatectl bench soak: a 4 s soak writes its files and prints the checks (exit 0 passed, 1 a check failed); a bad flag is exit 2', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatectl-soak-cli-'));
  const ran = await gatectl(['bench', 'soak', '--duration', '4s', '--clients', '5', '--rate', '20', '--workers', '1', '--out-dir', dir, '--name', 'soak'], dir);
  assert.ok(ran.code === 0 || ran.code === 1, `exit ${ran.code}: ${ran.stderr}`);
  const r = JSON.parse(readFileSync(path.join(dir, 'soak.json'), 'utf8')) as { schema: string; passed: boolean; options: { durationMs: number; clients: number }; checks: { ok: boolean }[] };
  assert.equal(r.schema, 'gatectl.soak/v1');
  assert.deepEqual([r.options.durationMs, r.options.clients], [4000, 5]);
  assert.equal(ran.code, r.passed ? 0 : 1);
  assert.equal(r.passed, r.checks.every((k) => k.ok));
  assert.match(ran.stdout, /no lost responses/);
  assert.match(readFileSync(path.join(dir, 'soak.md'), 'utf8'), /^# gatectl soak: (PASSED|FAILED)/);
  if (!r.passed) assert.match(ran.stderr, /soak failed: /);
  const bad = await gatectl(['bench', 'soak', '--idle-timeout', '30', '--out-dir', dir], dir);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--idle-timeout "30" is not a valid duration/);
});

test('gatectl bench all --only vinequeue: runs the VineQueue benchmark alone (child processes), --json carries it and a null loadgen', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatectl-bench-all-'));
  const ran = await gatectl(['bench', 'all', '--only', 'vinequeue', '--seconds', '1', '--producers', '4', '--rate', '500', '--out-dir', dir, '--name', 'vq', '--json'], dir);
  assert.equal(ran.code, 0, ran.stderr);
  const r = JSON.parse(ran.stdout) as { vinequeue: { schema: string; variants: { variant: string; cells: { cell: string; enqueued: number; sent_total: number }[] }[] }; loadgen: null };
  assert.equal(r.loadgen, null);
  assert.equal(r.vinequeue.schema, 'gatectl.vinequeue-bench/v1');
  assert.deepEqual(r.vinequeue.variants.map((v) => [v.variant, v.cells.map((c) => c.cell)]), [['v1', ['single', 'concurrent', 'fixed']], ['v2', ['single', 'concurrent', 'fixed']]]);
  for (const c of r.vinequeue.variants.flatMap((v) => v.cells)) assert.ok(c.enqueued > 0 && c.sent_total === c.enqueued, `${c.cell}: ${c.sent_total}/${c.enqueued} sent`);
  assert.match(readFileSync(path.join(dir, 'vq.md'), 'utf8'), /# VineQueue benchmark: V1 vs V2 \(seed 002\)/);
});
