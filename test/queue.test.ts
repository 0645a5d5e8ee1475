import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrderedSendSystem, defaultQueueConfig, queueConfigFromEnv, type QueueConfig, type QueueStage } from '../src/queue/index.js';
import { QueueFullError, InvalidInputError } from '../src/errors.js';

class Sink {
  counts = new Map<QueueStage, number>();
  record(stage: QueueStage): void {
    this.counts.set(stage, (this.counts.get(stage) ?? 0) + 1);
  }
}

/** frames are 4-byte big-endian sequence numbers; the writer decodes coalesced batches. */
function frame(seq: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(seq);
  return b;
}
function writerInto(out: number[], delay = () => 0) {
  return async (data: Uint8Array) => {
    const d = delay();
    if (d > 0) await new Promise((r) => setTimeout(r, d));
    else await Promise.resolve();
    const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    for (let i = 0; i < b.length; i += 4) out.push(b.readUInt32BE(i));
  };
}
function config(async: boolean, over: Partial<QueueConfig> = {}): QueueConfig {
  return { ...defaultQueueConfig(async), ...over };
}
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for condition');
    await new Promise((r) => setTimeout(r, 2));
  }
}

for (const mode of ['sync', 'async'] as const) {
  test(`${mode}: out-of-order enqueues are delivered in server_seq order`, async () => {
    const sink = new Sink();
    const sys = new OrderedSendSystem(config(mode === 'async'), sink);
    const out: number[] = [];
    const q = sys.createQueue('s1', writerInto(out));
    const order = [3, 1, 2, 6, 5, 4, 7, 9, 8, 10];
    await Promise.all(order.map((s) => q.enqueueMessage(s, frame(s))));
    await until(() => out.length === 10);
    assert.deepEqual(out, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(q.nextExpectedSeq, 11);
    const snap = sys.snapshot();
    assert.equal(snap.total_enqueued, 10);
    assert.equal(snap.total_sent, 10);
    assert.equal(snap.waiting_frames, 0);
    assert.ok((sink.counts.get('enqueue_latency') ?? 0) === 10);
    if (mode === 'sync') assert.equal(sink.counts.get('direct_send_latency'), 10);
    else assert.ok((sink.counts.get('send_queue_wait') ?? 0) >= 1);
    await sys.drain(1000);
  });

  test(`${mode}: the waiting heap is bounded by QUEUE_MAX_QUEUE_SIZE, nothing silently dropped`, async () => {
    const sys = new OrderedSendSystem(config(mode === 'async', { maxQueueSize: 3 }), new Sink());
    const out: number[] = [];
    const q = sys.createQueue('s1', writerInto(out));
    for (const s of [2, 3, 4]) await q.enqueueMessage(s, frame(s));
    await assert.rejects(q.enqueueMessage(5, frame(5)), QueueFullError);
    await assert.rejects(q.enqueueMessage(5, frame(5)), /QUEUE_MAX_QUEUE_SIZE=3/);
    await q.enqueueMessage(1, frame(1));
    await until(() => out.length === 4);
    assert.deepEqual(out, [1, 2, 3, 4]);
    await assert.rejects(q.enqueueMessage(2, frame(2)), /duplicate server_seq 2/);
    await sys.drain(1000);
  });
}

test('async: the pool keeps per-session order under concurrency with random write delays', async () => {
  const sys = new OrderedSendSystem(config(true, { sendWorkerCount: 4, sendBatchSize: 3 }), new Sink());
  const sessions = 20;
  const perSession = 50;
  const outs: number[][] = [];
  const queues = [];
  for (let i = 0; i < sessions; i++) {
    const out: number[] = [];
    outs.push(out);
    queues.push(sys.createQueue(`s${i}`, writerInto(out, () => (Math.random() < 0.3 ? 1 : 0))));
  }
  // each session's seqs enqueued in a shuffled order, all sessions interleaved
  const ops: Promise<void>[] = [];
  for (let i = 0; i < sessions; i++) {
    const seqs = Array.from({ length: perSession }, (_, k) => k + 1);
    for (let k = seqs.length - 1; k > 0; k--) {
      const j = Math.floor(Math.random() * (k + 1));
      [seqs[k], seqs[j]] = [seqs[j]!, seqs[k]!];
    }
    for (const s of seqs) ops.push(queues[i]!.enqueueMessage(s, frame(s)));
  }
  await Promise.all(ops);
  await until(() => outs.every((o) => o.length === perSession));
  for (const o of outs) assert.deepEqual(o, Array.from({ length: perSession }, (_, k) => k + 1));
  const snap = sys.snapshot();
  assert.equal(snap.total_sent, sessions * perSession);
  assert.ok(snap.writes < snap.total_sent, 'batches coalesce frames into fewer writes');
  assert.equal(snap.workers.length, 4);
  await sys.drain(1000);
});

test('async: a full send queue falls back to a synchronous send, counted, order kept', async () => {
  const sys = new OrderedSendSystem(config(true, { sendWorkerCount: 1, sendQueueSize: 1 }), new Sink());
  const outs: number[][] = [[], [], [], []];
  const queues = outs.map((o, i) => sys.createQueue(`s${i}`, writerInto(o, () => 2)));
  const ops: Promise<void>[] = [];
  for (let s = 1; s <= 5; s++) for (const q of queues) ops.push(q.enqueueMessage(s, frame(s)));
  await Promise.all(ops);
  await until(() => outs.every((o) => o.length === 5));
  for (const o of outs) assert.deepEqual(o, [1, 2, 3, 4, 5]);
  const snap = sys.snapshot();
  assert.ok(snap.sync_fallbacks > 0, `expected fallbacks, got ${snap.sync_fallbacks}`);
  assert.equal(snap.dropped_tasks, 0);
  assert.equal(snap.total_sent, 20);
  await sys.drain(1000);
});

test('sync: global lock scope serialises sessions, session scope does not', async () => {
  for (const lockScope of ['global', 'session'] as const) {
    const sys = new OrderedSendSystem(config(false, { lockScope }), new Sink());
    let inFlight = 0;
    let maxInFlight = 0;
    const writer = async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
    };
    const qs = [sys.createQueue('a', writer), sys.createQueue('b', writer), sys.createQueue('c', writer)];
    await Promise.all(qs.map((q) => q.enqueueMessage(1, frame(1))));
    if (lockScope === 'global') assert.equal(maxInFlight, 1);
    else assert.equal(maxInFlight, 3);
  }
});

test('a failed write is counted in total_failed and closes the queue', async () => {
  const sys = new OrderedSendSystem(config(true), new Sink());
  const q = sys.createQueue('x', async () => { throw new Error('connection closed'); });
  await q.enqueueMessage(1, frame(1));
  await until(() => sys.snapshot().total_failed === 1);
  await assert.rejects(q.enqueueMessage(2, frame(2)), /queue is closed/);
  await sys.drain(1000);
});

test('QUEUE_* variables: parsed, and bad values name the variable and the accepted values', () => {
  assert.deepEqual(queueConfigFromEnv({ QUEUE_ENABLE_ASYNC_SEND: 'false', QUEUE_SEND_WORKER_COUNT: '8', QUEUE_LOCK_SCOPE: 'session' }),
    { enableAsyncSend: false, sendWorkerCount: 8, lockScope: 'session' });
  assert.throws(() => queueConfigFromEnv({ QUEUE_ENABLE_ASYNC_SEND: 'yes' }), (e: unknown) => e instanceof InvalidInputError && /QUEUE_ENABLE_ASYNC_SEND.*true or false/.test(e.message));
  assert.throws(() => queueConfigFromEnv({ QUEUE_SEND_QUEUE_SIZE: '0' }), /QUEUE_SEND_QUEUE_SIZE.*whole number/);
  assert.throws(() => queueConfigFromEnv({ QUEUE_LOCK_SCOPE: 'table' }), /global or session/);
});
