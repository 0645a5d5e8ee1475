import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import {
  create, createEventExporter, createHttpSink, defaultConfig, BackpressureError, CircuitOpenError, VineQueueClosedError, VineQueueFullError, WalKeyError,
  registerVineQueueMetrics, v2Config, V4Config, WAL_HEADER_BYTES, WAL_RECORD_OVERHEAD, type VineQueueConfig, type GatewayEvent,
} from '../src/vinequeue/index.js';

const T = { timeout: 30_000 };
const MOD_URL = new URL('../src/vinequeue/index.js', import.meta.url).href;

async function tmpDir(): Promise<{ dir: string; done(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vinequeue-test-'));
  return { dir, done: () => rm(dir, { recursive: true, force: true }) };
}

/** Waits until `cond()` holds, checking every 5 ms; fails after `ms`. */
async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function segments(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.wal')).sort();
}

/** HTTP server on 127.0.0.1 collecting NDJSON lines; `status()` picks each answer (or 'hang'). */
async function ndjsonServer(status: (n: number) => number | 'hang' = () => 200, onRequest?: () => void) {
  const lines: unknown[] = [];
  const hanging: ServerResponse[] = [];
  let requests = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      onRequest?.();
      const s = status(requests++);
      if (s === 'hang') { hanging.push(res); return; }
      if (s >= 200 && s < 300) {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        assert.equal(req.headers['content-type'], 'application/x-ndjson');
        for (const l of body.toString('utf8').split('\n')) if (l !== '') lines.push(JSON.parse(l));
      }
      res.statusCode = s;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/events`, lines, get requests() { return requests; },
    close: () => new Promise<void>((resolve) => { for (const r of hanging) r.destroy(); server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

function cfg(base: VineQueueConfig, over: Partial<VineQueueConfig>): VineQueueConfig {
  return { ...base, ...over };
}

for (const arch of ['v1', 'v2'] as const) {
  test(`${arch}: batches by size (batchSize 10: 25 items → 10, 10, then 5 at stop), order kept`, T, async () => {
    const batches: number[][] = [];
    const base = arch === 'v1' ? defaultConfig() : v2Config();
    const q = create<number>(cfg(base, { batchSize: 10, flushIntervalMs: 60_000, senderPoolSize: 1 }), async (items) => { batches.push([...items]); });
    await q.start();
    for (let i = 0; i < 25; i++) await q.enqueue(i);
    await until(() => batches.length === 2, 'two full batches');
    assert.deepEqual(batches.map((b) => b.length), [10, 10]);
    const r = await q.stop({ timeoutMs: 5000 });
    assert.equal(r.flushed, true);
    assert.deepEqual(batches.flat(), Array.from({ length: 25 }, (_, i) => i));
    const m = q.getMetrics();
    assert.equal(m.enqueued_total, 25);
    assert.equal(m.sent_total, 25);
    assert.equal(m.batches_sent_total, 3);
    assert.equal(m.memory_queue_size, 0);
  });
}

test('batches by interval: 3 items below batchSize leave after flushIntervalMs as one batch', T, async () => {
  const batches: string[][] = [];
  const q = create<string>(cfg(v2Config(), { batchSize: 1000, flushIntervalMs: 50 }), async (items) => { batches.push([...items]); });
  await q.start();
  await q.enqueueBatch(['a', 'b', 'c']);
  assert.equal(batches.length, 0, 'nothing sent before the interval');
  await until(() => batches.length === 1, 'the interval flush');
  assert.deepEqual(batches[0], ['a', 'b', 'c']);
  await q.stop();
});

test('V4Config is v2Config; enqueue before start and after stop reject with VineQueueClosedError', T, async () => {
  assert.deepEqual(V4Config(), v2Config());
  const q = create(v2Config(), async () => undefined);
  await assert.rejects(q.enqueue(1), (e: unknown) => e instanceof VineQueueClosedError && e.code === 'GATECTL_VINEQUEUE_CLOSED');
  await q.start();
  await q.stop();
  await assert.rejects(q.enqueue(1), VineQueueClosedError);
  assert.equal(q.getMetrics().rejected_total.GATECTL_VINEQUEUE_CLOSED, 2);
});

test('stop() flushes what is buffered; without WAL a timed-out stop counts the unsent items as dropped', T, async () => {
  const got: number[] = [];
  const q = create<number>(cfg(v2Config(), { flushIntervalMs: 60_000 }), async (items) => { got.push(...items); });
  await q.start();
  await q.enqueueBatch([1, 2, 3, 4, 5]);
  const r = await q.stop({ timeoutMs: 5000 });
  assert.deepEqual(r, { flushed: true, remaining: 0, persisted: 0, dropped: 0 });
  assert.deepEqual(got, [1, 2, 3, 4, 5]);

  const hang = create<number>(cfg(v2Config(), { flushIntervalMs: 60_000, sendTimeoutMs: 0 }), () => new Promise<void>(() => undefined));
  await hang.start();
  await hang.enqueueBatch([1, 2, 3]);
  const r2 = await hang.stop({ timeoutMs: 100 });
  assert.deepEqual(r2, { flushed: false, remaining: 3, persisted: 0, dropped: 3 });
  assert.equal(hang.getMetrics().dropped_total, 3);
});

test('memory queue full without WAL: VineQueueFullError; enqueueBatch is all-or-nothing', T, async () => {
  const q = create<number>(cfg(v2Config(), { memoryQueueSize: 5, enableBackpressure: false, flushIntervalMs: 60_000 }), () => new Promise<void>(() => undefined));
  await q.start();
  await q.enqueueBatch([1, 2, 3, 4]);
  await assert.rejects(q.enqueueBatch([5, 6]), (e: unknown) => e instanceof VineQueueFullError && e.code === 'GATECTL_VINEQUEUE_FULL');
  await q.enqueue(5);
  await assert.rejects(q.enqueue(6), VineQueueFullError);
  assert.equal(q.getMetrics().memory_queue_size, 5);
  await q.stop({ timeoutMs: 10 });
});

test('backpressure: reject mode throws BackpressureError above the threshold; delay mode reports BackoffMs and accepts', T, async () => {
  const never = () => new Promise<void>(() => undefined);
  const q = create<number>(cfg(v2Config(), { backpressureThreshold: 5, backpressureMode: 'reject', memoryQueueSize: 20, flushIntervalMs: 60_000 }), never);
  await q.start();
  for (let i = 0; i < 5; i++) await q.enqueue(i);
  await assert.rejects(q.enqueue(5), (e: unknown) => e instanceof BackpressureError && e.code === 'GATECTL_BACKPRESSURE' && e.backoffMs >= 1);
  assert.equal(q.getMetrics().rejected_total.GATECTL_BACKPRESSURE, 1);
  assert.ok(q.getMetrics().backoff_ms >= 1);
  await q.stop({ timeoutMs: 10 });

  const d = create<number>(cfg(v2Config(), { backpressureThreshold: 2, backpressureMode: 'delay', backpressureMaxDelayMs: 20, memoryQueueSize: 20, flushIntervalMs: 60_000 }), never);
  await d.start();
  for (let i = 0; i < 6; i++) await d.enqueue(i);
  const m = d.getMetrics();
  assert.equal(m.enqueued_total, 6);
  assert.ok(m.backoff_ms >= 1 && m.backoff_ms <= 20, `backoff_ms ${m.backoff_ms}`);
  await d.stop({ timeoutMs: 10 });
});

test('breaker: a failing local HTTP sink opens it, the probe after the cool-down is half-open, a healed sink closes it; failFast rejects with CircuitOpenError', T, async () => {
  let healthy = false;
  const statesAtRequest: string[] = [];
  let q: ReturnType<typeof create<{ n: number }>>;
  const srv = await ndjsonServer(() => (healthy ? 200 : 500), () => { statesAtRequest.push(q.getMetrics().circuit_state); });
  try {
    q = create<{ n: number }>(cfg(v2Config(), {
      batchSize: 1, senderPoolSize: 1, breakerFailureThreshold: 2, breakerCoolDownMs: 150, breakerFailFast: true, retryBaseMs: 5, retryMaxMs: 20,
    }), createHttpSink({ url: srv.url }));
    await q.start();
    await q.enqueue({ n: 1 });
    await until(() => q.getMetrics().circuit_state === 'open', 'the breaker to open');
    assert.equal(q.getMetrics().breaker_opens_total, 1);
    assert.ok(q.getMetrics().errors_total >= 2);
    await assert.rejects(q.enqueue({ n: 2 }), (e: unknown) => e instanceof CircuitOpenError && e.code === 'GATECTL_CIRCUIT_OPEN');
    const before = srv.requests;
    await until(() => srv.requests > before, 'the half-open probe');
    assert.equal(statesAtRequest[before], 'half-open', `states seen by the server: ${statesAtRequest.join(',')}`);
    healthy = true;
    await until(() => q.getMetrics().sent_total === 1, 'the healed sink to acknowledge', 10_000);
    assert.equal(q.getMetrics().circuit_state, 'closed');
    assert.deepEqual(srv.lines, [{ n: 1 }]);
    await q.enqueue({ n: 3 });
    await q.stop({ timeoutMs: 5000 });
    assert.deepEqual(srv.lines, [{ n: 1 }, { n: 3 }]);
  } finally {
    await srv.close();
  }
});

test('a hanging sink fails at sendTimeoutMs, opens the breaker, and the items stay in the WAL; a later start delivers them', T, async () => {
  const t = await tmpDir();
  const srv = await ndjsonServer(() => 'hang');
  try {
    const c = cfg(v2Config(), { enableWal: true, walDir: t.dir, batchSize: 5, sendTimeoutMs: 100, breakerFailureThreshold: 1, breakerCoolDownMs: 60_000, retryBaseMs: 5 });
    const q = create<string>(c, createHttpSink({ url: srv.url }));
    await q.start();
    await q.enqueueBatch(['a', 'b', 'c', 'd', 'e']);
    await until(() => q.getMetrics().circuit_state === 'open', 'the breaker to open on the hang');
    assert.ok(q.getMetrics().errors_total >= 1);
    const r = await q.stop({ timeoutMs: 100 });
    assert.equal(r.persisted, 5);
    assert.equal((await segments(t.dir)).length, 1);
    const got: string[] = [];
    const q2 = create<string>(c, async (items) => { got.push(...items); });
    await q2.start();
    assert.equal((await q2.stop({ timeoutMs: 5000 })).flushed, true);
    assert.deepEqual(got, ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(await segments(t.dir), [], 'acknowledged segments are deleted');
  } finally {
    await srv.close();
    await t.done();
  }
});

test('WAL overflow: a full memory queue spills to the WAL, everything is delivered in order, segments are deleted once acknowledged', T, async () => {
  const t = await tmpDir();
  try {
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const got: number[] = [];
    const item = (i: number) => ({ i, pad: 'p'.repeat(50) }); // ~70-byte records: ~58 per 4 KiB segment
    const c = cfg(v2Config(), { enableWal: true, walDir: t.dir, memoryQueueSize: 30, batchSize: 10, flushIntervalMs: 10, walSegmentBytes: 4096, enableBackpressure: false, senderPoolSize: 1 });
    const q = create<{ i: number; pad: string }>(c, async (items) => { await gate; got.push(...items.map((x) => x.i)); });
    await q.start();
    for (let i = 0; i < 150; i++) await q.enqueue(item(i)); // one record per WAL group: segments seal between groups
    for (let i = 150; i < 500; i += 50) await q.enqueueBatch(Array.from({ length: 50 }, (_, j) => item(i + j)));
    const m = q.getMetrics();
    assert.equal(m.memory_queue_size, 30);
    assert.equal(m.wal_backlog, 470);
    assert.ok(m.wal_segments >= 2, `segments ${m.wal_segments}`);
    release();
    const r = await q.stop({ timeoutMs: 10_000 });
    assert.equal(r.flushed, true);
    assert.deepEqual(got, Array.from({ length: 500 }, (_, i) => i));
    assert.deepEqual(await segments(t.dir), []);
  } finally {
    await t.done();
  }
});

/** Runs a child process that enqueues `n` items `{id}` with the WAL on, then is SIGKILLed. */
async function crashChild(dir: string, n: number, killAfterMs: number | 'done', sinkUrl: string | null): Promise<number> {
  const code = `
    const m = await import(process.env.VQ_MOD);
    const cfg = { ...m.v2Config(), enableWal: true, walDir: process.env.VQ_DIR, walSegmentBytes: 4096, batchSize: 20,
      flushIntervalMs: 20, memoryQueueSize: 200, enableBackpressure: false, retryBaseMs: 10 };
    const sink = process.env.VQ_URL ? m.createHttpSink({ url: process.env.VQ_URL }) : () => new Promise(() => {});
    const q = m.create(cfg, sink);
    await q.start();
    const total = Number(process.env.VQ_N);
    for (let i = 0; i < total; i += 50) {
      const batch = [];
      for (let j = i; j < Math.min(total, i + 50); j++) batch.push({ id: j, pad: 'x'.repeat(20) });
      await q.enqueueBatch(batch);
      process.stdout.write('ok ' + (Math.min(total, i + 50) - 1) + '\\n');
    }
    process.stdout.write('done\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    env: { ...process.env, VQ_MOD: MOD_URL, VQ_DIR: dir, VQ_N: String(n), VQ_URL: sinkUrl ?? '' }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  let lastOk = -1;
  let out = '';
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (const m of out.matchAll(/ok (\d+)\n/g)) lastOk = Math.max(lastOk, Number(m[1]));
      if (killAfterMs === 'done' && out.includes('done\n')) resolve();
      if (killAfterMs !== 'done' && lastOk >= 0) setTimeout(resolve, killAfterMs);
    });
    child.on('exit', () => resolve());
  });
  child.kill('SIGKILL');
  await exited;
  return lastOk;
}

test('crash: a SIGKILLed process leaves its records in the WAL; a new queue recovers and sends each exactly once', T, async () => {
  const t = await tmpDir();
  try {
    const n = 300;
    const lastOk = await crashChild(t.dir, n, 'done', null);
    assert.equal(lastOk, n - 1);
    assert.ok((await segments(t.dir)).length >= 2);
    const seen = new Map<number, number>();
    const q = create<{ id: number }>(cfg(v2Config(), { enableWal: true, walDir: t.dir, walSegmentBytes: 4096, memoryQueueSize: 200, flushIntervalMs: 10 }), async (items) => {
      for (const it of items) seen.set(it.id, (seen.get(it.id) ?? 0) + 1);
    });
    await q.start(); // returns while recovery runs
    const r = await q.stop({ timeoutMs: 10_000 });
    assert.equal(r.flushed, true);
    assert.equal(seen.size, n);
    for (let i = 0; i < n; i++) assert.equal(seen.get(i), 1, `item ${i}`);
    assert.equal(q.getMetrics().wal_recovered_total, n);
    assert.equal(q.getMetrics().wal_corrupt_records_total, 0);
    assert.deepEqual(await segments(t.dir), []);
  } finally {
    await t.done();
  }
});

test('crash at random points with a live HTTP sink: every item whose enqueue resolved arrives at least once (3 runs, duplicates counted)', T, async (ctx) => {
  for (let run = 0; run < 3; run++) {
    const t = await tmpDir();
    const srv = await ndjsonServer();
    try {
      const lastOk = await crashChild(t.dir, 3000, 10 + Math.floor(Math.random() * 150), srv.url);
      const seen = new Map<number, number>();
      for (const l of srv.lines) { const id = (l as { id: number }).id; seen.set(id, (seen.get(id) ?? 0) + 1); }
      const q = create<{ id: number }>(cfg(v2Config(), { enableWal: true, walDir: t.dir, walSegmentBytes: 4096, flushIntervalMs: 10 }), async (items) => {
        for (const it of items) seen.set(it.id, (seen.get(it.id) ?? 0) + 1);
      });
      await q.start();
      assert.equal((await q.stop({ timeoutMs: 15_000 })).flushed, true);
      for (let i = 0; i <= lastOk; i++) assert.ok((seen.get(i) ?? 0) >= 1, `run ${run}: item ${i} (resolved before the kill) was lost`);
      let dups = 0;
      for (const c of seen.values()) dups += c - 1;
      ctx.diagnostic(`run ${run}: resolved ${lastOk + 1}, delivered ${seen.size} distinct, ${dups} duplicates, corrupt ${q.getMetrics().wal_corrupt_records_total}`);
    } finally {
      await srv.close();
      await t.done();
    }
  }
});

test('a corrupted record and a torn tail are skipped and counted; the rest is recovered', T, async () => {
  const t = await tmpDir();
  try {
    const c = cfg(v2Config(), { enableWal: true, walDir: t.dir, flushIntervalMs: 60_000, sendTimeoutMs: 0 });
    const q = create<string>(c, () => new Promise<void>(() => undefined));
    await q.start();
    const items = ['r0-aaaa', 'r1-bbbb', 'r2-cccc', 'r3-dddd'];
    for (const it of items) await q.enqueue(it);
    await q.stop({ timeoutMs: 10 });
    const [seg] = await segments(t.dir);
    const file = path.join(t.dir, seg!);
    const buf = await readFile(file);
    const recLen = WAL_RECORD_OVERHEAD + JSON.stringify(items[0]).length;
    assert.equal(buf.length, WAL_HEADER_BYTES + 4 * recLen);
    buf[WAL_HEADER_BYTES + recLen + WAL_RECORD_OVERHEAD + 2] ^= 0xff; // flip a byte inside record 1's body
    await writeFile(file, buf);
    await truncate(file, buf.length - 3); // tear record 3
    const got: string[] = [];
    const q2 = create<string>(c, async (b) => { got.push(...b); });
    await q2.start();
    assert.equal((await q2.stop({ timeoutMs: 5000 })).flushed, true);
    assert.deepEqual(got, ['r0-aaaa', 'r2-cccc']);
    assert.equal(q2.getMetrics().wal_corrupt_records_total, 2);
    assert.deepEqual(await segments(t.dir), []);
  } finally {
    await t.done();
  }
});

test('WAL with snappy + AES-256-GCM round-trips; a wrong key fails start() with WalKeyError and deletes nothing', T, async () => {
  const t = await tmpDir();
  const keyA = randomBytes(32).toString('hex');
  const keyFile = path.join(t.dir, 'key-b');
  try {
    await writeFile(keyFile, randomBytes(32));
    process.env.VQ_TEST_KEY_A = keyA;
    const walDir = path.join(t.dir, 'wal');
    const c = cfg(v2Config(), { enableWal: true, walDir, enableCompression: true, enableEncryption: true, encryptionKeyEnv: 'VQ_TEST_KEY_A', flushIntervalMs: 60_000, sendTimeoutMs: 0 });
    const q = create<unknown>(c, () => new Promise<void>(() => undefined));
    await q.start();
    const items: unknown[] = [{ text: 'hello '.repeat(50) }, Buffer.from([0, 1, 2, 255]), 'plain', 42];
    await q.enqueueBatch(items);
    await q.stop({ timeoutMs: 10 });
    const segs = await segments(walDir);
    assert.equal(segs.length, 1);
    const raw = await readFile(path.join(walDir, segs[0]!));
    assert.ok(!raw.includes(Buffer.from('hello')), 'the WAL holds no plaintext');
    const sizeBefore = (await stat(path.join(walDir, segs[0]!))).size;

    const wrong = create<unknown>({ ...c, encryptionKeyFile: keyFile }, async () => undefined);
    await assert.rejects(wrong.start(), (e: unknown) => e instanceof WalKeyError && e.code === 'GATECTL_WAL_KEY' && /wrong WAL encryption key/.test(e.message));
    const noKey = create<unknown>({ ...c, enableEncryption: false }, async () => undefined);
    await assert.rejects(noKey.start(), WalKeyError);
    assert.deepEqual(await segments(walDir), segs);
    assert.equal((await stat(path.join(walDir, segs[0]!))).size, sizeBefore);

    const got: unknown[] = [];
    const right = create<unknown>(c, async (b) => { got.push(...b); });
    await right.start();
    assert.equal((await right.stop({ timeoutMs: 5000 })).flushed, true);
    assert.deepEqual(got, items);
    assert.ok(Buffer.isBuffer(got[1]));
  } finally {
    delete process.env.VQ_TEST_KEY_A;
    await t.done();
  }
});

test('registerVineQueueMetrics renders the seed metrics into a prom-client registry', T, async () => {
  const q = create<number>(v2Config(), async () => undefined);
  await q.start();
  await q.enqueueBatch([1, 2, 3]);
  await q.stop();
  const reg = new Registry();
  registerVineQueueMetrics(reg, () => q.getMetrics());
  const text = await reg.metrics();
  assert.match(text, /gatectl_vinequeue_enqueued_total 3/);
  assert.match(text, /gatectl_vinequeue_sent_total 3/);
  assert.match(text, /gatectl_vinequeue_circuit_state\{state="closed"\} 1/);
  assert.match(text, /gatectl_vinequeue_rejected_total\{code="GATECTL_VINEQUEUE_FULL"\} 0/);
  assert.match(text, /# TYPE gatectl_vinequeue_memory_queue_size gauge/);
});

test('EventExporter: events reach a local HTTP sink as gzip NDJSON; export() never throws, refusals are counted', T, async () => {
  const t = await tmpDir();
  const srv = await ndjsonServer();
  try {
    const ex = await createEventExporter({ url: srv.url, dir: t.dir, gzip: true, config: { flushIntervalMs: 20 } });
    const ev = (i: number): GatewayEvent => ({ session_id: `s${i}`, action: 'buy', code: 200, upstream_latency_us: 1000 + i, business_latency_us: 1200 + i, ts_ms: 1_700_000_000_000 + i });
    for (let i = 0; i < 50; i++) ex.export(ev(i));
    await until(() => srv.lines.length === 50, 'the 50 events at the sink');
    const r = await ex.stop(5000);
    assert.equal(r.flushed, true);
    assert.deepEqual(srv.lines[7], ev(7));
    ex.export(ev(99)); // after stop: counted, not thrown
    await until(() => ex.metrics().export_failures_total === 1, 'the failure count');
    assert.equal(ex.metrics().sent_total, 50);
  } finally {
    await srv.close();
    await t.done();
  }
});
