import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Registry } from 'prom-client';
import { InvalidInputError } from '../src/errors.js';
import { defaultStateDir, stateFiles } from '../src/state-dir.js';
import {
  QuotaService, QuotaExceededError, QuotaStoreError, openSqliteQuotaStore, resolveQuotaConfig, quotaStatsJson, quotaHealthJson,
  registerQuotaMetrics, DEFAULT_CONSUMER_CONFIG, type QuotaConfigInput, type QuotaStore, type QuotaLogger, type UsageIncrement,
} from '../src/quota/index.js';

const YEAR_TYPES = { requests: { limit: 1_000_000, window: '365d' }, tokens: { limit: 1_000_000, window: '365d' } };

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatectl-quota-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A config for tests: store in `dir`, windows of a year (no window boundary during a test), consumer overrides. */
function config(dir: string, consumer: NonNullable<QuotaConfigInput['async_quota']>['consumer'] = {}) {
  return resolveQuotaConfig({
    overrides: { async_quota: { store: { path: join(dir, 'sub', 'quota.db') }, quota_types: YEAR_TYPES, consumer: { flush_interval: '1h', retry_delay: 1, ...consumer } } },
  });
}

class CaptureLogger implements QuotaLogger {
  warns: object[] = [];
  errors: object[] = [];
  warn(o: object): void { this.warns.push(o); }
  error(o: object): void { this.errors.push(o); }
}

/** Wraps a store: `failNext` applies reject; `gate` (when set) holds applies until released. */
class FaultyStore implements QuotaStore {
  failNext = 0;
  gate: Promise<void> | null = null;
  applies: UsageIncrement[][] = [];
  constructor(readonly inner: QuotaStore) {}
  get path() { return this.inner.path; }
  get alive() { return this.inner.alive; }
  async apply(incs: UsageIncrement[]): Promise<void> {
    if (this.gate !== null) await this.gate;
    if (this.failNext > 0) { this.failNext--; throw new QuotaStoreError('injected failure'); }
    this.applies.push(incs.map((i) => ({ ...i })));
    return this.inner.apply(incs);
  }
  read(u: string, q: string, w: number) { return this.inner.read(u, q, w); }
  setLimit(u: string, q: string, l: number) { return this.inner.setLimit(u, q, l); }
  totalUsage(u: string, q: string) { return this.inner.totalUsage(u, q); }
  close() { return this.inner.close(); }
}

async function openStore(dir: string) {
  return openSqliteQuotaStore({ path: join(dir, 'sub', 'quota.db'), synchronous: 'normal', defaults: { requests: 1_000_000, tokens: 1_000_000 } });
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for condition');
    await new Promise((r) => setTimeout(r, 2));
  }
}

const ev = (user: string, i: number, value = 1, type = 'requests') => QuotaService.event(user, type, value, `req-${user}-${i}`);

test('config: seed defaults, presets, overrides win', () => {
  const d = resolveQuotaConfig();
  assert.deepEqual({ ...d.consumer }, { workerCount: 3, channelSize: 1000, batchSize: 10, flushIntervalMs: 5000, retryAttempts: 3, retryDelayMs: 100 });
  assert.deepEqual({ ...d.consumer }, { ...DEFAULT_CONSUMER_CONFIG });
  assert.equal(d.enabled, true);
  assert.equal(d.store.path, stateFiles(defaultStateDir()).quotaDb, 'the state directory, not the current one');
  assert.equal(resolveQuotaConfig({ defaultStorePath: '/x/q.db' }).store.path, '/x/q.db');
  const hc = resolveQuotaConfig({ preset: 'high-concurrency' }).consumer;
  assert.deepEqual([hc.workerCount, hc.channelSize, hc.batchSize, hc.flushIntervalMs], [5, 2000, 20, 3000]);
  const ll = resolveQuotaConfig({ preset: 'low-latency', overrides: { async_quota: { consumer: { batch_size: 7, retry_delay: '250ms', worker_count: undefined } } } }).consumer;
  assert.deepEqual([ll.workerCount, ll.channelSize, ll.batchSize, ll.flushIntervalMs, ll.retryDelayMs], [2, 500, 7, 1000, 250]);
  assert.throws(() => resolveQuotaConfig({ preset: 'turbo' }), (e: Error) => e instanceof InvalidInputError && /turbo.*default, high-concurrency, low-latency/.test(e.message));
});

test('config: file errors name the file, the key path, the value and the accepted range', (t) => {
  const dir = tempDir(t);
  const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };
  const bad = (text: string, re: RegExp) => {
    const p = file('c.yaml', text);
    assert.throws(() => resolveQuotaConfig({ file: p }), (e: Error) => e instanceof InvalidInputError && e.message.startsWith(p) && re.test(e.message), text);
  };
  const p0 = file('zero.yaml', 'async_quota:\n  consumer:\n    batch_size: 0\n');
  assert.throws(() => resolveQuotaConfig({ file: p0 }), { message: `${p0}: async_quota.consumer.batch_size must be an integer 1..10000, got 0` });
  bad('async_quota:\n  consumer:\n    batch_sise: 5\n', /unknown key async_quota\.consumer\.batch_sise: accepted keys .*batch_size/);
  bad('async_quota:\n  consumer:\n    flush_interval: soon\n', /async_quota\.consumer\.flush_interval must be a duration .* got "soon"/);
  bad('async_quota:\n  consumer:\n    flush_interval: 5\n', /flush_interval must be a duration with a unit/);
  bad('async_quota:\n  consumer:\n    worker_count: 2.5\n', /async_quota\.consumer\.worker_count must be an integer 1\.\.64, got 2\.5/);
  bad('async_quota:\n  enabled: yes please\n', /async_quota\.enabled must be true or false/);
  bad('async_quota:\n  quota_types:\n    requests: {limit: -1}\n', /async_quota\.quota_types\.requests\.limit must be a number above 0, got -1/);
  bad('queue: {}\n', /unknown key \(top level\)\.queue/);
  bad('async_quota:\n  consumer: [1\n', /not valid YAML at line \d+/);
  assert.throws(() => resolveQuotaConfig({ file: join(dir, 'missing.yaml') }), (e: Error) => e instanceof InvalidInputError && /missing\.yaml: cannot read.*ENOENT/.test(e.message));
  assert.throws(() => resolveQuotaConfig({ overrides: { async_quota: { consumer: { retry_attempts: -1 } } } }), { message: 'overrides: async_quota.consumer.retry_attempts must be an integer 0..100, got -1' });
  // a valid file: file over preset, overrides over file
  const ok = file('ok.yaml', 'async_quota:\n  enabled: false\n  consumer:\n    batch_size: 50\n    flush_interval: 2s\n');
  const c = resolveQuotaConfig({ file: ok, preset: 'low-latency', overrides: { async_quota: { consumer: { flush_interval: '750ms' } } } });
  assert.deepEqual([c.enabled, c.consumer.workerCount, c.consumer.batchSize, c.consumer.flushIntervalMs], [false, 2, 50, 750]);
});

test('config: the example files in config/ load', () => {
  for (const [name, batch] of [['async-quota.yaml', 10], ['async-quota-high-concurrency.yaml', 20], ['async-quota-low-latency.yaml', 5]] as const) {
    const c = resolveQuotaConfig({ file: join('config', name) });
    assert.equal(c.consumer.batchSize, batch, name);
  }
});

test('store: created on first run (with its directory), WAL journal, refuses a file that is not a gatectl store', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'sub', 'quota.db');
  assert.equal(existsSync(path), false);
  const s = await openStore(dir);
  assert.equal(existsSync(path), true);
  assert.equal(s.journalMode, 'wal');
  await s.apply([{ user_id: 'u', quota_type: 'requests', window_start: 0, delta: 2 }]);
  await s.close();
  const again = await openStore(dir); // reopen an existing gatectl store
  assert.equal(await again.totalUsage('u', 'requests'), 2);
  await again.close();

  const other = join(dir, 'other.db');
  const db = new Database(other);
  db.exec('CREATE TABLE t (x)');
  db.close();
  await assert.rejects(openSqliteQuotaStore({ path: other, synchronous: 'normal', defaults: {} }),
    (e: Error) => e instanceof InvalidInputError && e.message.includes(other) && /not a gatectl quota store/.test(e.message));
  const text = join(dir, 'notes.txt');
  writeFileSync(text, 'this is not a database at all, just some text that is long enough to be a header'.repeat(4));
  await assert.rejects(openSqliteQuotaStore({ path: text, synchronous: 'normal', defaults: {} }),
    (e: Error) => e instanceof InvalidInputError && e.message.includes(text));
});

test('check: denies over the limit (429), refuses unknown types and non-positive values', async (t) => {
  const dir = tempDir(t);
  const s = await QuotaService.start({ config: config(dir), mode: 'sync', logger: new CaptureLogger() });
  t.after(() => s.stop(5000));
  await s.setLimit('alice', 'requests', 5);
  for (let i = 0; i < 4; i++) await s.consume(ev('alice', i));
  assert.deepEqual(await s.checkQuota('alice', 'requests', 1), { allowed: true, limit: 5, used: 4, remaining: 1 });
  assert.deepEqual(await s.checkQuota('alice', 'requests', 2), { allowed: false, limit: 5, used: 4, remaining: 1 });
  await s.consumeQuotaSync(ev('alice', 4));
  const r = await s.checkQuota('alice', 'requests', 1);
  assert.deepEqual(r, { allowed: false, limit: 5, used: 5, remaining: 0 });
  await assert.rejects(s.enforceQuota('alice', 'requests'), (e: Error) => e instanceof QuotaExceededError && e.status === 429 && /used 5 of 5/.test(e.message));
  assert.equal((await s.checkQuota('bob', 'requests')).limit, 1_000_000); // the type's default
  await assert.rejects(s.checkQuota('alice', 'bananas'), (e: Error) => e instanceof InvalidInputError && /unknown quota type "bananas".*requests, tokens/.test(e.message));
  await assert.rejects(s.consumeQuota(ev('alice', 9, 0)), (e: Error) => e instanceof InvalidInputError && /value 0/.test(e.message));
  await assert.rejects(s.consumeQuota(ev('alice', 9, -3)), InvalidInputError);
  assert.ok(s.serviceCounters().denied >= 3);
});

test('async: a batch is grouped into one increment per (user, type) and lands in SQLite', async (t) => {
  const dir = tempDir(t);
  const store = new FaultyStore(await openStore(dir));
  const s = await QuotaService.start({ config: config(dir, { worker_count: 1, batch_size: 10 }), store, logger: new CaptureLogger() });
  t.after(() => s.stop(5000));
  assert.equal(s.mode, 'async');
  for (let i = 0; i < 10; i++) assert.equal(await s.consumeQuota(ev('carol', i, 2)), 'async');
  await until(() => s.consumerStats().processed_events === 10);
  const st = s.consumerStats();
  assert.equal(st.batch_count, 1);
  assert.equal(st.increments, 1);
  assert.deepEqual(store.applies.map((b) => b.map((i) => [i.user_id, i.quota_type, i.delta])), [[['carol', 'requests', 20]]]);
  assert.equal(await store.totalUsage('carol', 'requests'), 20);
  // a mixed batch: 2 users x 2 types -> 4 increments
  await s.consumeQuotaBatch([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => ev(i % 2 ? 'dave' : 'erin', i, 1, i < 5 ? 'requests' : 'tokens')));
  await until(() => s.consumerStats().processed_events === 20);
  assert.equal(s.consumerStats().increments, 1 + 4);
  assert.equal(s.consumer.lag.totalCount, 20);
});

test('cache: a check sees new usage once the async batch is durable (缓存失效), not before', async (t) => {
  const dir = tempDir(t);
  const s = await QuotaService.start({ config: config(dir, { worker_count: 1, batch_size: 4 }), logger: new CaptureLogger() });
  t.after(() => s.stop(5000));
  assert.equal((await s.checkQuota('frank', 'requests')).used, 0);
  for (let i = 0; i < 3; i++) await s.consumeQuota(ev('frank', i));
  const lagging = await s.checkQuota('frank', 'requests');
  assert.equal(lagging.used, 0, 'three events wait in a partial batch: the documented async lag');
  assert.equal(s.serviceCounters().cache_hits, 1);
  await s.consumeQuota(ev('frank', 3));
  await until(() => s.consumerStats().processed_events === 4);
  assert.equal((await s.checkQuota('frank', 'requests')).used, 4);
  assert.equal(s.serviceCounters().cache_misses, 1, 'the durable batch updated the cached entry (write-through): no store read');
});

test('channel full: publishes fall back to a synchronous consume, counted, nothing lost', async (t) => {
  const dir = tempDir(t);
  const store = new FaultyStore(await openStore(dir));
  const log = new CaptureLogger();
  const s = await QuotaService.start({ config: config(dir, { worker_count: 1, batch_size: 1, channel_size: 2 }), store, logger: log });
  t.after(() => s.stop(5000));
  let release!: () => void;
  store.gate = new Promise<void>((r) => { release = r; });
  await s.consumeQuota(ev('gina', 0)); // taken by the worker, whose write waits at the gate
  await until(() => s.consumer.inflightBatches === 1);
  store.gate = null; // later writes (the fallbacks) pass
  const paths: string[] = [];
  for (let i = 1; i < 10; i++) paths.push(await s.consumeQuota(ev('gina', i)));
  assert.deepEqual(paths, ['async', 'async', 'fallback', 'fallback', 'fallback', 'fallback', 'fallback', 'fallback', 'fallback']);
  assert.equal(s.serviceCounters().sync_fallbacks, 7);
  assert.equal(s.consumerStats().dropped_events, 7);
  assert.equal(s.consumerStats().total_events, 3);
  assert.equal(log.warns.length, 7);
  release();
  const stopped = await s.stop(5000);
  assert.equal(stopped.remaining_events, 0);
  const check = await openStore(dir);
  assert.equal(await check.totalUsage('gina', 'requests'), 10);
  await check.close();
});

test('retries: an injected store failure is retried; a batch failing every attempt is counted and logged with its request ids', async (t) => {
  const dir = tempDir(t);
  const store = new FaultyStore(await openStore(dir));
  const log = new CaptureLogger();
  const s = await QuotaService.start({ config: config(dir, { worker_count: 1, batch_size: 2, retry_attempts: 3 }), store, logger: log });
  t.after(() => s.stop(5000));
  store.failNext = 2;
  await s.consumeQuota(ev('hank', 0));
  await s.consumeQuota(ev('hank', 1));
  await until(() => s.consumerStats().batch_count === 1);
  assert.deepEqual([s.consumerStats().processed_events, s.consumerStats().retries, s.consumerStats().failed_events], [2, 2, 0]);
  assert.equal(await store.totalUsage('hank', 'requests'), 2);
  assert.equal(s.isConsumerHealthy(), true);

  store.failNext = 4; // 1 + retry_attempts attempts, all fail
  await s.consumeQuota(ev('hank', 2));
  await s.consumeQuota(ev('hank', 3));
  await until(() => s.consumerStats().batch_count === 2);
  assert.equal(s.consumerStats().failed_events, 2);
  assert.equal(s.isConsumerHealthy(), false);
  assert.match(quotaHealthJson(s).reasons.join(';'), /last batch failed/);
  const logged = log.errors.at(-1) as { request_ids: string[] };
  assert.deepEqual(logged.request_ids, ['req-hank-2', 'req-hank-3']);
  // the sync path uses the same retry policy and rejects after it
  store.failNext = 4;
  await assert.rejects(s.consumeQuotaSync(ev('hank', 4)), QuotaStoreError);
  assert.equal(s.serviceCounters().sync_failures, 1);
});

test('health turns false when the consumer is stalled, and recovers', async (t) => {
  const dir = tempDir(t);
  const store = new FaultyStore(await openStore(dir));
  const s = await QuotaService.start({ config: config(dir, { worker_count: 1, batch_size: 1 }), store, logger: new CaptureLogger(), stallAfterMs: 30 });
  t.after(() => s.stop(5000));
  assert.equal(s.isConsumerHealthy(), true);
  let release!: () => void;
  store.gate = new Promise<void>((r) => { release = r; });
  await s.consumeQuota(ev('ivy', 0));
  await until(() => !s.isConsumerHealthy());
  assert.match(s.health().reasons.join(';'), /stalled: 1 events pending/);
  store.gate = null;
  release();
  await until(() => s.consumerStats().processed_events === 1);
  assert.equal(s.isConsumerHealthy(), true);
});

test('stop flushes every buffered event to the store (N requests -> usage N), then closes it', async (t) => {
  const dir = tempDir(t);
  const s = await QuotaService.start({ config: config(dir), logger: new CaptureLogger() }); // 3 workers, batch 10, flush 1h
  const N = 137;
  for (let i = 0; i < N; i++) await s.consume(ev(i % 3 ? 'jack' : 'kate', i));
  const r = await s.stop(5000);
  assert.equal(r.timed_out, false);
  assert.equal(r.remaining_events, 0);
  assert.equal(r.store_closed, true);
  assert.equal(s.consumerStats().processed_events, N);
  assert.ok(r.flushed_events > 0);
  assert.equal(s.store.alive, false);
  assert.deepEqual(await s.stop(1), r, 'idempotent');
  const check = await openStore(dir);
  t.after(() => check.close());
  assert.equal((await check.totalUsage('jack', 'requests')) + (await check.totalUsage('kate', 'requests')), N);
});

test('monitor: /quota/stats and /quota/health bodies and the Prometheus metrics', async (t) => {
  const dir = tempDir(t);
  const s = await QuotaService.start({ config: config(dir, { batch_size: 2, worker_count: 1 }), logger: new CaptureLogger() });
  t.after(() => s.stop(5000));
  await s.consumeQuota(ev('liam', 0));
  await s.consumeQuota(ev('liam', 1));
  await s.consumeQuotaSync(ev('liam', 2));
  await until(() => s.consumerStats().processed_events === 2);
  await s.checkQuota('liam', 'requests');
  const stats = quotaStatsJson(s) as { quota_stats: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.equal(stats.quota_stats.mode, 'async');
  assert.equal(stats.quota_stats.consumer_stats.processed_events, 2);
  assert.equal(stats.quota_stats.service.sync_consumes, 1);
  assert.equal(stats.quota_stats.latency.unit, 'µs');
  assert.equal(stats.quota_stats.latency.publish_to_durable.summary.count, 2);
  assert.equal(stats.quota_stats.config.async_quota.consumer.batch_size, 2);
  const h = quotaHealthJson(s);
  assert.equal(h.healthy, true);
  assert.deepEqual(h.reasons, []);
  const reg = new Registry();
  registerQuotaMetrics(reg, s);
  const text = await reg.metrics();
  assert.match(text, /gatectl_quota_events_total\{state="processed"\} 2/);
  assert.match(text, /gatectl_quota_sync_consumes_total 1/);
  assert.match(text, /gatectl_quota_lag_seconds_count 2/);
  assert.match(text, /gatectl_quota_healthy 1/);
});
