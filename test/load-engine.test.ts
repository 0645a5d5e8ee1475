/**
 * Load engine (issue 4 §1, 2, 6, 7): open model with intended send times and coordinated-omission
 * correction, dropped_iterations, closed model, generator processes and shards. Real QUIC on
 * 127.0.0.1 against the in-process gateway; every run is bounded (≤ 2 s of load). At the end, the
 * client's per-response path without a network: its frame codec against protobufjs, the pending
 * ring against a Map, the histogram sums and the factory's bucket lookup against hdr-histogram-js,
 * and a LoadClient on a fake connection.
 */
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
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
import type { Connection, ConnectionHandlers } from '../src/transport/types.js';
import { ACK_DELAY_MS, LoadClient, NumberQueue, PendingRequests } from '../src/load/client.js';
import { ClientMetrics } from '../src/load/metrics.js';
import * as hdr from 'hdr-histogram-js';
import { HIGHEST_TRACKABLE_US, createHistogram, decodeHistogram, encodeHistogram, mergeHistograms, recordUs } from '../src/metrics/histogram.js';
import { FrameError } from '../src/errors.js';
import {
  ClientMessageType, FrameDecoder, NotifyPlacement, PushBody, ServerPushHeadType, ServerPushType,
  ackFrameBytes, businessFrameBytes, encodeActionField, writeAckFrame, writeBusinessFrame, type ClientMessage, type ServerPush,
} from '../src/protocol/index.js';

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

// ---------------------------------------------------------------------------------------------
// The load client's per-response path (docs/bench.md "Load engine per-response cost"): no network.

/** A Connection that records what is written and lets the test deliver chunks. */
class FakeConnection implements Connection {
  readonly remoteAddress = 'fake:0';
  handlers: ConnectionHandlers | null = null;
  /** copies of every write, in order */
  readonly writes: Uint8Array[] = [];
  closedWith: number | null = null;
  setHandlers(h: ConnectionHandlers): void {
    this.handlers = h;
  }
  write(data: Uint8Array): Promise<void> {
    this.writes.push(Uint8Array.from(data));
    return Promise.resolve();
  }
  close(code = 0): Promise<void> {
    this.closedWith = code;
    return Promise.resolve();
  }
  /** Delivers the frames of `pushes` as one chunk. */
  deliver(...pushes: ServerPush[]): void {
    this.handlers!.data(Buffer.concat(pushes.map((p) => ServerPushType.encodeDelimited(p))));
  }
  /** Each write decoded into its ClientMessages. */
  decodedWrites(): ClientMessage[][] {
    return this.writes.map((w) => {
      const out: ClientMessage[] = [];
      new FrameDecoder(ClientMessageType, (m) => out.push(m)).push(w);
      return out;
    });
  }
}

/** What a ClientMessage is, in a form deepEqual compares easily. */
function describeMessage(m: ClientMessage): string {
  if (m.body === 'ack') return `ack ${m.ack!.ackedServerSeq}`;
  if (m.body === 'business') return `business msg ${m.msgId} seq ${m.seqId} ${m.business!.action} ${m.business!.payload!.length}B`;
  return m.body ?? 'none';
}

test('load client codec: request and ack frames are the bytes protobufjs writes; a ServerPush head is what protobufjs decodes', () => {
  const id = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
  fc.assert(fc.property(id, id, fc.string(), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 7 }), (msgId, seqId, action, n, at) => {
    const expected = ClientMessageType.encodeDelimited({ msgId, seqId, business: { action, payload: new Uint8Array(n) } });
    const field = encodeActionField(action);
    assert.equal(businessFrameBytes(msgId, seqId, field, n), expected.length);
    const buf = Buffer.alloc(at + expected.length + 3, 0xee);
    assert.equal(writeBusinessFrame(buf, at, msgId, seqId, field, n), at + expected.length);
    assert.deepEqual([...buf.subarray(at, at + expected.length)], [...expected]);
    assert.equal(buf[at + expected.length], 0xee, 'nothing written past the frame');
  }), { numRuns: 500 });
  fc.assert(fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (seq) => {
    const expected = ClientMessageType.encodeDelimited({ ack: { ackedServerSeq: seq } });
    const buf = Buffer.alloc(ackFrameBytes(seq));
    assert.equal(writeAckFrame(buf, 0, seq), expected.length);
    assert.deepEqual([...buf], [...expected]);
  }), { numRuns: 300 });

  const u64 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
  const text = fc.string({ maxLength: 40 });
  const headers = fc.dictionary(fc.string({ maxLength: 5 }), text, { maxKeys: 3 });
  const body = fc.oneof(
    fc.record({ hello: fc.record({ msgId: u64, code: fc.integer(), sessionId: text, message: text }) }),
    fc.record({ business: fc.record({ msgId: u64, code: fc.integer(), message: text, data: fc.uint8Array({ maxLength: 200 }), headers }) }),
    fc.record({ notify: fc.record({ grid: u64, placement: fc.constantFrom(0, 1, 2), topic: text, payload: fc.uint8Array({ maxLength: 200 }) }) }),
    fc.record({ error: fc.record({ msgId: u64, code: fc.integer(), message: text, detail: text }) }),
    fc.constant({}),
  );
  const pushes = fc.array(fc.tuple(u64, body).map(([serverSeq, b]) => ({ serverSeq, ...b }) as ServerPush), { minLength: 1, maxLength: 6 });
  fc.assert(fc.property(pushes, fc.integer({ min: 1, max: 64 }), (ps, step) => {
    const bytes = Buffer.concat(ps.map((p) => ServerPushType.encodeDelimited(p)));
    const got: string[] = [];
    const d = new FrameDecoder(new ServerPushHeadType(), (h) => got.push(JSON.stringify(h)));
    for (let i = 0; i < bytes.length; i += step) d.push(bytes.subarray(i, i + step));
    const want = ps.map((p) => {
      const q = ServerPushType.decode(ServerPushType.encode(p));
      const b = q.hello ?? q.business ?? q.error;
      const head = q.body === undefined ? { id: 0, code: 0 } : q.notify ? { id: q.notify.grid ?? 0, code: q.notify.placement ?? 0 } : { id: b!.msgId ?? 0, code: b!.code ?? 0 };
      const field = { hello: PushBody.HELLO, business: PushBody.BUSINESS, notify: PushBody.NOTIFY, error: PushBody.ERROR }[q.body ?? 'hello'];
      return JSON.stringify({ serverSeq: q.serverSeq ?? 0, body: q.body === undefined ? PushBody.NONE : field, ...head });
    });
    assert.deepEqual(got, want);
  }), { numRuns: 500 });
  // garbage: a head either decodes or is a FrameError('decode'), never another error
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (garbage) => {
    try {
      new ServerPushHeadType().decode(garbage);
    } catch (err) {
      assert.ok(err instanceof FrameError && err.reason === 'decode', String(err));
    }
  }), { numRuns: 1000 });
});

test('pending requests ring: the same answers as a Map under in-order, out-of-order and never-answered requests (growth and overflow)', () => {
  // each op: 0 = send the next request; k > 0 = answer the k-th oldest outstanding request (mod count); -k = an unknown seq_id
  const op = fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 4, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 1000 }) }, { weight: 1, arbitrary: fc.integer({ min: -50, max: -1 }) });
  fc.assert(fc.property(fc.array(op, { maxLength: 3000 }), (ops) => {
    const ring = new PendingRequests();
    const model = new Map<number, [number, number]>();
    let next = 1;
    for (const o of ops) {
      if (o === 0) {
        ring.add(next, next * 2, next * 2 + 1);
        model.set(next, [next * 2, next * 2 + 1]);
        next++;
      } else {
        const keys = [...model.keys()];
        const seq = o < 0 ? next - o : keys.length === 0 ? next + 1 : keys[(o - 1) % keys.length]!;
        const want = model.get(seq);
        assert.equal(ring.has(seq), want !== undefined);
        assert.equal(ring.take(seq), want !== undefined);
        if (want !== undefined) {
          assert.deepEqual([ring.takenScheduledAt, ring.takenSentAt], want);
          model.delete(seq);
        }
        assert.equal(ring.has(seq), false, 'answered: no longer outstanding');
      }
      assert.equal(ring.size, model.size);
    }
    for (const [seq, times] of model) {
      assert.ok(ring.take(seq));
      assert.deepEqual([ring.takenScheduledAt, ring.takenSentAt], times);
    }
    assert.equal(ring.size, 0);
  }), { numRuns: 200 });
  // one request never answered while 100,000 others come and go: the ring stays small
  const ring = new PendingRequests();
  ring.add(1, 0, 0);
  for (let s = 2; s < 100_000; s++) {
    ring.add(s, s, s);
    if (s > 9) assert.ok(ring.take(s - 8));
  }
  assert.ok(ring.slots <= 32, `ring of ${ring.slots} slots`);
  assert.ok(ring.has(1) && ring.size === 9);
  assert.ok(!ring.take(0) && !ring.has(0), 'seq_id 0 (the Hello) is never a pending request');

  const q = new NumberQueue();
  const arr: number[] = [];
  fc.assert(fc.property(fc.array(fc.option(fc.double({ noNaN: true }), { nil: undefined }), { maxLength: 200 }), (xs) => {
    for (const x of xs) {
      if (x === undefined) assert.equal(q.shift(), arr.shift());
      else { q.push(x); arr.push(x); }
      assert.equal(q.length, arr.length);
    }
  }));
  q.clear();
  assert.equal(q.length, 0);
  assert.equal(q.shift(), undefined);
});

test('client metrics: e2e is the exact sum of the per-second histograms; one stage\'s e2e is the total, several stages split by intended time', () => {
  const m = new ClientMetrics();
  m.beginStages(0, [10_000]);
  const all = createHistogram();
  const seconds: string[] = [];
  for (let i = 1; i <= 3000; i++) {
    const ms = (i % 97) * 0.37 + 0.001 * i;
    m.requestSent(0, i);
    m.response(ms, ms / 2, i);
    recordUs(all, ms * 1000);
    if (i % 1000 === 0) seconds.push(m.takeIntervalE2e(encodeHistogram));
  }
  m.response(5, 5, 1); // after the last second: in the total, not yet in a second
  recordUs(all, 5000);
  assert.equal(encodeHistogram(m.e2eTotal()), encodeHistogram(all));
  assert.equal(mergeHistograms(seconds.map(decodeHistogram)).totalCount, 3000);
  assert.equal(m.e2eUncorrected.totalCount, 3001);
  assert.equal(encodeHistogram(m.stageE2e(0)), encodeHistogram(all));
  assert.deepEqual(m.stageSent, [3000]);
  m.resetLatency();
  assert.equal(m.e2eTotal().totalCount + m.e2eUncorrected.totalCount + m.scheduleLag.totalCount, 0);

  const s = new ClientMetrics();
  s.beginStages(1000, [100, 200]);
  for (const [intended, ms] of [[1050, 1], [1150, 2], [1500, 3], [900, 4]] as const) {
    s.requestSent(0, intended);
    s.response(ms, ms, intended);
  }
  assert.deepEqual(s.stageSent, [2, 2]);
  assert.deepEqual([s.stageE2e(0).totalCount, s.stageE2e(1).totalCount, s.e2eTotal().totalCount], [2, 2, 4]);
  assert.equal(s.stageE2e(1).maxValue >= 2990 && s.stageE2e(1).minNonZeroValue >= 1990, true, 'stage 1 holds the 2 ms and 3 ms responses');
});

test('load client: one write per received chunk with the cumulative ack in front, every push order-checked, every answer timed, standalone ack after ACK_DELAY_MS', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const conn = new FakeConnection();
    const m = new ClientMetrics();
    m.beginStages(performance.now(), [1e9]);
    const c = new LoadClient(0, conn, m);
    const action = encodeActionField('business');
    const hello = c.hello('user-1');
    conn.deliver({ serverSeq: 1, hello: { msgId: 1, code: 200 } });
    assert.equal(await hello, 200);
    let next = true;
    c.onAnswer = (cl, now) => { if (next) cl.send(now, now, action, 8); };
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) c.send(t0, t0, action, 8);
    assert.deepEqual(conn.decodedWrites().slice(1).map((w) => w.map(describeMessage)), [
      ['ack 1', 'business msg 2 seq 1 business 8B'], ['business msg 3 seq 2 business 8B'], ['business msg 4 seq 3 business 8B'],
    ], 'outside a chunk each request leaves at once; the first carries the ack of the HelloResponse');
    assert.equal(c.outstanding, 3);

    conn.writes.length = 0;
    conn.deliver(
      { serverSeq: 2, business: { msgId: 2, code: 200 } },
      { serverSeq: 3, business: { msgId: 3, code: 200 } },
      { serverSeq: 4, notify: { grid: 1, placement: NotifyPlacement.AFTER_RESPONSE } },
      { serverSeq: 5, notify: { grid: 3, placement: NotifyPlacement.BEFORE_RESPONSE } },
    );
    assert.deepEqual(conn.decodedWrites().map((w) => w.map(describeMessage)), [['ack 5', 'business msg 5 seq 4 business 8B', 'business msg 6 seq 5 business 8B']],
      'the two sends the chunk\'s answers triggered leave in one write, behind one cumulative ack');
    assert.equal(m.responses, 2);
    assert.equal(m.notifies, 2);
    assert.deepEqual(m.violations, noViolations);

    conn.writes.length = 0;
    conn.deliver(
      { serverSeq: 6, notify: { grid: 1, placement: NotifyPlacement.BEFORE_RESPONSE } }, // request 1 was answered: violation
      { serverSeq: 7, notify: { grid: 3, placement: NotifyPlacement.AFTER_RESPONSE } }, // request 3 still awaits its response: violation
      { serverSeq: 7, notify: { grid: 0, placement: NotifyPlacement.UNBOUND } }, // duplicate
      { serverSeq: 10, business: { msgId: 4, code: 200 } }, // gap (8, 9)
      { serverSeq: 8, notify: { grid: 3, placement: NotifyPlacement.AFTER_RESPONSE } }, // late: reorder; request 3 answered: fine
      { serverSeq: 9, business: { msgId: 999, code: 200 } }, // late; answers nothing outstanding: ignored
    );
    assert.deepEqual(m.violations, { reorders: 2, gaps: 1, duplicates: 1, notify_order_violations: 2 });
    assert.equal(m.unboundNotifies, 1);
    assert.equal(m.responses, 3);
    assert.deepEqual(conn.decodedWrites().map((w) => w.map(describeMessage)), [['ack 10', 'business msg 7 seq 6 business 8B']]);

    // answers that trigger no send: the ack waits ACK_DELAY_MS, then leaves on its own
    next = false;
    conn.writes.length = 0;
    conn.deliver({ serverSeq: 11, business: { msgId: 5, code: 200 } }, { serverSeq: 12, error: { msgId: 6, code: 503 } });
    assert.equal(conn.writes.length, 0);
    assert.deepEqual(m.errorsByCode, { 503: 1 });
    assert.equal(c.outstanding, 1, 'request 6 is still outstanding');
    mock.timers.tick(ACK_DELAY_MS - 1);
    assert.equal(conn.writes.length, 0);
    mock.timers.tick(1);
    assert.deepEqual(conn.decodedWrites().map((w) => w.map(describeMessage)), [['ack 12']]);

    assert.equal(m.requestsSent, 6);
    assert.equal(m.responses, 4);
    assert.equal(m.e2eTotal().totalCount, 4, 'every response in e2e');
    assert.equal(m.e2eUncorrected.totalCount, 4, 'and in e2e_uncorrected');
    assert.equal(m.scheduleLag.totalCount, 6);

    // held writes (the open model's arrivals of one timer turn): one write at release
    conn.writes.length = 0;
    c.hold();
    const t1 = performance.now();
    c.send(t1 - 5, t1, action, 0);
    c.send(t1 - 4, t1, action, 0);
    assert.equal(conn.writes.length, 0);
    c.release();
    assert.deepEqual(conn.decodedWrites().map((w) => w.map(describeMessage)), [['business msg 8 seq 7 business 0B', 'business msg 9 seq 8 business 0B']]);
    assert.equal(m.scheduleLag.totalCount, 8);
    assert.ok(m.scheduleLag.minNonZeroValue >= 3990, 'sent 4-5 ms after the intended time');

    // a bad frame after a good one: the good one's send still leaves, then the connection closes
    next = true;
    conn.writes.length = 0;
    conn.handlers!.data(Buffer.concat([ServerPushType.encodeDelimited({ serverSeq: 13, business: { msgId: 7, code: 200 } }), Buffer.from([3, 0xff, 0xff, 0xff])]));
    assert.deepEqual(conn.decodedWrites().map((w) => w.map(describeMessage)), [['ack 13', 'business msg 10 seq 9 business 8B']]);
    assert.deepEqual(m.transportErrors, { bad_frame: 1 });
    assert.equal(conn.closedWith, 0x11);
    assert.equal(c.closed, true);
  } finally {
    mock.timers.reset();
  }
});

test('histogram factory: the integer bucket lookup gives hdr-histogram-js\'s own index, records and encodings', () => {
  const lib = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_TRACKABLE_US, numberOfSignificantValueDigits: 3, autoResize: false, bitBucketSize: 32, useWebAssembly: false }) as hdr.JsHistogram;
  const ours = createHistogram() as hdr.JsHistogram;
  assert.ok(ours instanceof hdr.Int32Histogram, 'a library histogram (32-bit counts)');
  const values = [0, 1, 2, 3, 2047, 2048, 2049, HIGHEST_TRACKABLE_US, 2 ** 31 - 1, 2 ** 31, 2 ** 40, 1.5, 2048.5, 1e6 + 0.25];
  for (let k = 0; k <= 31; k++) for (let d = -3; d <= 3; d++) values.push(2 ** k + d);
  for (let i = 0; i < 100_000; i++) values.push(Math.floor(Math.random() * HIGHEST_TRACKABLE_US));
  for (const v of values) if (v >= 0) assert.equal(ours.countsArrayIndex(v), lib.countsArrayIndex(v), `index of ${v}`);
  assert.throws(() => ours.countsArrayIndex(-1), /negative/, 'negative values: the library\'s error');
  assert.throws(() => ours.recordValue(HIGHEST_TRACKABLE_US * 4), /outside of histogram covered range/);
  for (const v of values) if (v >= 0 && v <= HIGHEST_TRACKABLE_US) {
    ours.recordValue(v);
    lib.recordValue(v);
  }
  assert.equal(encodeHistogram(ours), hdr.encodeIntoCompressedBase64(lib));
  assert.deepEqual([ours.totalCount, ours.minNonZeroValue, ours.maxValue, ours.getValueAtPercentile(99)], [lib.totalCount, lib.minNonZeroValue, lib.maxValue, lib.getValueAtPercentile(99)]);
  assert.equal(encodeHistogram(decodeHistogram(encodeHistogram(ours))), encodeHistogram(ours), 'decode re-homes into a factory histogram');
});
