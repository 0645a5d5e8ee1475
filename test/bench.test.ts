/**
 * The load-generator benchmark (issue 4 "Done when", src/bench/loadgen.ts): a tiny bounded smoke run
 * (4 connections × 2 in flight, 0.5 s per phase, one round, real QUIC on 127.0.0.1) checking the
 * result's shape and that the ratio is a finite number above 0 — never the 0.85 goal (speed targets
 * belong to `npm run bench`, not to tests). Plus the null gateway's protocol and option errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  LOADGEN_BENCH_SCHEMA, loadgenOptionsFromArgs, renderLoadgenMarkdown, renderLoadgenTerminal, runLoadgenBench, startNullGateway,
  writeLoadgenReports, type ThroughputCell,
} from '../src/bench/loadgen.js';
import { getTransport } from '../src/transport/index.js';
import { InvalidInputError } from '../src/errors.js';
import { RawClient, waitFor } from './support.js';

test('loadgen bench smoke: N=4, K=2, D=1 s, one round: shapes, ratio finite and > 0, reports written', { timeout: 90_000 }, async () => {
  const opts = loadgenOptionsFromArgs({ connections: '4', 'in-flight': '2', duration: '1', rounds: '1', warmup: '0', 'histogram-values': '20000', 'codec-iterations': '5000' });
  const lines: string[] = [];
  const r = await runLoadgenBench(opts, 'test', (l) => lines.push(l));
  assert.equal(r.schema, LOADGEN_BENCH_SCHEMA);
  assert.equal(r.command, 'test');
  assert.equal(r.environment.loadavg_start.length, 3);
  const t = r.throughput;
  assert.equal(t.raw_echo.length, 1);
  assert.equal(t.gatectl_closed.length, 1);
  const check = (c: ThroughputCell, phase: string) => {
    assert.equal(c.phase, phase);
    assert.equal(c.connected, 4, `${phase}: all 4 connected`);
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

  const md = renderLoadgenMarkdown(r);
  assert.match(md, /ratio gatectl ÷ raw echo/);
  assert.match(md, /histogram record cost/);
  assert.match(md, /load average/);
  assert.match(renderLoadgenTerminal(r), /responses\/s/);
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
    assert.ok(sample.userUs > 0 && sample.atMs > 0);
    await c.conn.close();
  } finally {
    await dialer.close();
    await gw.stop();
  }
});

test('loadgen options: bad flags are InvalidInputError naming the flag', () => {
  assert.throws(() => loadgenOptionsFromArgs({ transport: 'udp' }), (e: Error) => e instanceof InvalidInputError && /--transport/.test(e.message));
  assert.throws(() => loadgenOptionsFromArgs({ connections: '0' }), /--connections 0 is not valid/);
  assert.throws(() => loadgenOptionsFromArgs({ duration: 'abc' }), /--duration "abc" is not a number/);
  assert.throws(() => loadgenOptionsFromArgs({ 'open-fraction': '3' }), /--open-fraction/);
  assert.throws(() => loadgenOptionsFromArgs({ warmup: '-1' }), /--warmup/);
  assert.equal(loadgenOptionsFromArgs({}).connections, 100);
});
