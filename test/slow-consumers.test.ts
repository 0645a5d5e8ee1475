/**
 * Slow readers (issue 14 §6): which clients are slow, how a slow reader paces its reads, and the
 * fault against the in-process gateway — in async mode only the slow sessions' writes stall, in
 * sync mode with the global lock the healthy sessions' enqueue_latency and lock_wait grow, and the
 * write-stall timeout still closes a consumer stalled too long. No timing targets: the checks are
 * relations between the cohorts of one run, or between the two modes, with wide margins.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessGateway } from '../src/gateway/index.js';
import { resolveGatewayConfig, type GatewayFlags } from '../src/config/resolve.js';
import { runLoad } from '../src/load/run.js';
import { SlowReaderGroup, isSlowClient, parseSlowClientsPercent, SLOW_READ_TICK_MS } from '../src/load/slow-reader.js';
import { cohortOf, clientVersionFor, GATECTL_CLIENT_VERSION } from '../src/protocol/cohort.js';
import { InvalidInputError } from '../src/errors.js';
import type { Connection, ConnectionHandlers } from '../src/transport/types.js';
import type { RunResult } from '../src/metrics/result.js';
import path from 'node:path';
import { loadScenario, parseScenario } from '../src/scenario/index.js';
import { loadOptions, repoRoot, waitFor } from './support.js';

test('isSlowClient picks exactly ⌊N·P/100⌋ clients, spread evenly', () => {
  for (const [n, p] of [[1000, 1], [1000, 2.5], [7, 50], [10, 100], [200, 10]] as const) {
    const slow = Array.from({ length: n }, (_, i) => i).filter((i) => isSlowClient(i, p));
    assert.equal(slow.length, Math.floor((n * p) / 100), `${n} clients, ${p}%`);
    if (slow.length > 1) {
      const gap = n / slow.length;
      for (let k = 1; k < slow.length; k++) assert.ok(Math.abs(slow[k]! - slow[k - 1]! - gap) <= 1, 'even spacing');
    }
  }
  assert.equal(Array.from({ length: 100 }, (_, i) => i).filter((i) => isSlowClient(i, 0)).length, 0);
});

test('parseSlowClientsPercent: 1%, 2.5 and 0 accepted; outside 0–100 % refused with the fix', () => {
  assert.equal(parseSlowClientsPercent('1%'), 1);
  assert.equal(parseSlowClientsPercent('2.5'), 2.5);
  assert.equal(parseSlowClientsPercent('0%'), 0);
  for (const bad of ['101%', '-1%', 'many', '', '1%%']) {
    assert.throws(() => parseSlowClientsPercent(bad), (e: unknown) => e instanceof InvalidInputError && /from 0% to 100%/.test((e as Error).message), bad);
  }
});

test('a cohort travels in Hello client_version; unknown names are no cohort', () => {
  assert.equal(cohortOf(clientVersionFor(GATECTL_CLIENT_VERSION, 'slow')), 'slow');
  assert.equal(cohortOf(clientVersionFor(GATECTL_CLIENT_VERSION, 'healthy')), 'healthy');
  assert.equal(cohortOf(GATECTL_CLIENT_VERSION), null);
  assert.equal(cohortOf('gatectl/0.1 cohort=admin'), null);
  assert.equal(cohortOf(undefined), null);
});

/** A connection whose reads the test drives: `push` delivers a chunk while reading is on, else holds it. */
class FakeConnection implements Connection {
  readonly remoteAddress = '127.0.0.1:1';
  reading = true;
  stops = 0;
  private handlers: ConnectionHandlers | null = null;
  private readonly held: Uint8Array[] = [];
  setHandlers(h: ConnectionHandlers): void { this.handlers = h; }
  stopReading(): void { this.reading = false; this.stops++; }
  resumeReading(): void {
    this.reading = true;
    while (this.reading && this.held.length > 0) this.handlers!.data(this.held.shift()!);
  }
  push(chunk: Uint8Array): void {
    if (this.reading) this.handlers!.data(chunk);
    else this.held.push(chunk);
  }
  get waiting(): number { return this.held.reduce((a, c) => a + c.byteLength, 0); }
  write(): Promise<void> { return Promise.resolve(); }
  close(): Promise<void> { return Promise.resolve(); }
}

test('SlowReaderGroup: reads only on ticks, at most its budget per tick, and freely again after stop()', async () => {
  const group = new SlowReaderGroup((1000 * 1000) / SLOW_READ_TICK_MS); // 1000 bytes per tick
  const fake = new FakeConnection();
  let read = 0;
  group.wrap(fake).setHandlers({ data: (c) => { read += c.byteLength; }, close: () => undefined });
  fake.push(new Uint8Array(100));
  assert.equal(read, 100, 'before start() a slow client reads freely (connect, Hello)');
  group.start();
  assert.equal(fake.reading, false, 'between ticks it does not read');
  for (let i = 0; i < 30; i++) fake.push(new Uint8Array(100));
  assert.equal(read, 100);
  await waitFor(() => read > 100, SLOW_READ_TICK_MS * 50, 'the first tick');
  assert.equal(read, 100 + 1000, 'one tick reads one budget (10 chunks of 100 bytes)');
  assert.equal(fake.reading, false);
  group.stop();
  assert.equal(read, 100 + 3000, 'stop() lets it read what waited');
  assert.equal(fake.waiting, 0);
});

const baseFlags: GatewayFlags = {
  host: '127.0.0.1', port: 0, transport: 'quic', 'upstream-latency': '1ms', 'upstream-distribution': 'fixed',
  'before-notifies': 1, 'after-notifies': 1, 'task-timeout': '30s',
};

/** 40 clients at 5/s for 2 s, 10 % slow (4), 1 KiB payloads (a request's pushes exceed the slow readers' 1 KiB window). */
async function slowRun(mode: 'sync' | 'async', extra: Partial<GatewayFlags> = {}, slow: { rate?: number } = {}): Promise<RunResult> {
  const gw = await startInProcessGateway(resolveGatewayConfig({ ...baseFlags, mode, 'lock-scope': mode === 'sync' ? 'global' : 'session', ...extra }, {}) as never);
  try {
    return await runLoad(loadOptions(mode, {
      clients: 40, duration: '2s', 'rate-per-client': '5', 'payload-bytes': 1024, 'drain-timeout': '3s',
      'slow-clients': '10%', 'slow-read-rate': slow.rate ?? 32_768,
    }), gw);
  } finally {
    await gw.stop();
  }
}

const p99 = (r: RunResult, cohort: string, stage: string): number => r.server!.cohorts![cohort]![stage]!.summary.p99_us;
const max = (r: RunResult, cohort: string, stage: string): number => r.server!.cohorts![cohort]![stage]!.summary.max_us;

test('slow readers: async stalls only the slow sessions\' writes; sync with the global lock makes the healthy sessions wait', { timeout: 120_000 }, async () => {
  const async_ = await slowRun('async');
  const sync = await slowRun('sync');
  for (const r of [async_, sync]) {
    assert.equal(r.client.slow?.clients, 4);
    assert.equal(r.client.slow?.connected, 4);
    assert.ok(r.client.slow!.responses > 0, 'slow clients are answered, slowly');
    assert.ok(r.client.responses > 0);
    assert.deepEqual(Object.keys(r.server!.cohorts!).sort(), ['healthy', 'slow']);
    assert.equal((r.config.slow_clients as { percent: number }).percent, 10);
    assert.ok(r.server!.stages.enqueue_latency!.summary.count >= r.server!.cohorts!.healthy!.enqueue_latency!.summary.count, 'the overall stages hold every cohort');
  }
  // async: the stalls are in the slow sessions' writes; the healthy sessions' enqueue stays bookkeeping
  assert.ok(max(async_, 'slow', 'write_message_latency') > 10 * p99(async_, 'healthy', 'write_message_latency'),
    `async: slow write max ${max(async_, 'slow', 'write_message_latency')} µs vs healthy p99 ${p99(async_, 'healthy', 'write_message_latency')} µs`);
  // sync + global lock: a stalled write holds the lock, every session waits for it
  assert.ok(p99(sync, 'healthy', 'enqueue_latency') > 10 * p99(async_, 'healthy', 'enqueue_latency'),
    `healthy enqueue p99: sync ${p99(sync, 'healthy', 'enqueue_latency')} µs vs async ${p99(async_, 'healthy', 'enqueue_latency')} µs`);
  assert.ok(p99(sync, 'healthy', 'lock_wait') > 10 * p99(async_, 'healthy', 'lock_wait'),
    `healthy lock_wait p99: sync ${p99(sync, 'healthy', 'lock_wait')} µs vs async ${p99(async_, 'healthy', 'lock_wait')} µs`);
});

test('slow readers: the write-stall timeout still closes a consumer stalled too long', { timeout: 120_000 }, async () => {
  // 64 bytes/s against 1 KiB responses: a write waits for seconds, past the 500 ms stall timeout
  const r = await slowRun('async', { 'write-stall-timeout': '500ms' }, { rate: 64 });
  assert.ok((r.server!.counters.slow_consumer_closes as number) >= 1, `slow_consumer_closes ${r.server!.counters.slow_consumer_closes}`);
  assert.ok((r.client.slow!.transport_errors.closed_by_peer ?? 0) >= 1, JSON.stringify(r.client.slow!.transport_errors));
  assert.deepEqual(r.client.transport_errors, {}, 'no healthy client was closed');
});

test('scenario key slow_clients: the seed-001 scenario parses; a share outside 0–100 % or a bad key is refused', () => {
  const s = loadScenario(path.join(repoRoot, 'scenarios/seed-001-slow-consumers.yaml'));
  assert.deepEqual(s.slowClients, { percent: 1, readBytesPerS: 32_768, receiveWindowBytes: 1024 });
  assert.equal(s.clients, 1000);
  assert.equal(s.gateway.mode, undefined, 'compare sets the mode of each side');
  const base = 'name: t\nclients: 10\nrate: 10\nduration: 1s\n';
  assert.deepEqual(parseScenario(`${base}slow_clients: 2.5%\n`, 't.yaml').slowClients, { percent: 2.5, readBytesPerS: null, receiveWindowBytes: null });
  assert.equal(parseScenario(base, 't.yaml').slowClients, null);
  for (const bad of ['slow_clients: 150%', 'slow_clients: lots', 'slow_clients: { share: 1%, window: 5 }', 'slow_clients: { share: 1%, receive_window: 10 }']) {
    assert.throws(() => parseScenario(`${base}${bad}\n`, 't.yaml'), (e: unknown) => e instanceof InvalidInputError && /slow_clients/.test((e as Error).message), bad);
  }
});
