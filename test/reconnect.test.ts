/**
 * Issue 15 §1 and §3: load clients survive their target. A `gatectl serve` child on 127.0.0.1 is
 * killed with SIGKILL during a `gatectl load --target` run and started again on the same port (the
 * clients notice the silent target within the client idle timeout, count what was in flight as
 * lost_on_disconnect, reconnect with backoff and go on; load exits 1 because requests were lost);
 * or paused with SIGSTOP for 1.5 s (shorter than the 2 s client idle timeout: no reconnect storm,
 * the corrected latency shows the pause). Bounded: each run is a few seconds, every wait has a
 * deadline, every child is killed in `finally`.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './support.js';
import type { RunResult } from '../src/metrics/result.js';
import { mergeOutageWindows, OutageTracker, unreachableRequests, assertTargetReachable } from '../src/load/outage.js';
import { LoadClient, PendingRequests } from '../src/load/client.js';
import { ClientMetrics } from '../src/load/metrics.js';
import { ClientMessageType, FrameDecoder, ServerPushType, encodeActionField, type ClientMessage, type ServerPush } from '../src/protocol/index.js';
import { TransportError } from '../src/errors.js';
import { PEER_IDLE_TIMEOUT_CODE, type Connection, type ConnectionHandlers } from '../src/transport/types.js';
import { generateCertificate } from '../src/transport/certificate.js';

const bin = path.join(repoRoot, 'bin/run.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'gatectl-reconnect-'));

/** A UDP port that was free a moment ago (the serve children bind it, one after the other). */
async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Resolves when `child`'s stderr has printed a line matching `re` (rejects after `timeoutMs`). */
function waitForStderr(child: ChildProcess, re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${re} within ${timeoutMs} ms in:\n${buf}`)), timeoutMs);
    const onData = (d: Buffer): void => {
      buf += d.toString();
      const m = buf.match(re);
      if (m !== null) {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        resolve(m);
      }
    };
    child.stderr!.on('data', onData);
  });
}

/** The serve children's certificate: a restarted target keeps its certificate, as a real one does. */
let certFiles: Promise<string[]> | null = null;
function certificate(): Promise<string[]> {
  certFiles ??= generateCertificate().then((c) => {
    writeFileSync(path.join(tmp, 'cert.pem'), c.certPem);
    writeFileSync(path.join(tmp, 'key.pem'), c.keyPem);
    return ['--cert', path.join(tmp, 'cert.pem'), '--key', path.join(tmp, 'key.pem')];
  });
  return certFiles;
}

/** Starts `gatectl serve` on `port`; resolves with the child and the Date.now() at which it said it listens. */
async function startServe(port: number): Promise<{ child: ChildProcess; listeningAt: number }> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--monitor-port', '0', '--quota', 'off', ...await certificate()],
    { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] });
  await waitForStderr(child, /listening on quic:\/\/127\.0\.0\.1:\d+/, 20_000);
  return { child, listeningAt: Date.now() };
}

/** Runs `gatectl load --target` in the background; `steady` resolves with Date.now() at its first steady progress line and the elapsed seconds it showed. */
function startLoad(port: number, args: string[]): { steady: Promise<{ at: number; elapsedS: number }>; done: Promise<{ code: number | null; stderr: string; result: RunResult; wallMs: number }> } {
  const out = path.join(tmp, `run-${port}-${Date.now()}.json`);
  const t0 = Date.now();
  const child = spawn(process.execPath, [bin, 'load', '--target', `quic://127.0.0.1:${port}`, '--insecure', '--out', out, ...args],
    { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const steady = waitForStderr(child, /\[steady (\d+)s\]/, 30_000).then((m) => ({ at: Date.now(), elapsedS: Number(m[1]) }));
  steady.catch(() => undefined);
  const done = new Promise<{ code: number | null; stderr: string; result: RunResult; wallMs: number }>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`load timed out\n${stderr}`)); }, 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        resolve({ code, stderr, result: JSON.parse(readFileSync(out, 'utf8')) as RunResult, wallMs: Date.now() - t0 });
      } catch (err) {
        reject(new Error(`no result (${(err as Error).message}), exit ${code}\n${stderr}`));
      }
    });
  });
  return { steady, done };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Date.now() of the run's steady start, from an outage window (start_ms after it, started_at wall clock). */
function steadyStartEpoch(r: RunResult): number {
  const w = r.client.outages![0]!;
  return Date.parse(w.started_at) - w.start_ms;
}

test('target restart: SIGKILL at 3 s, started again on the same port at 4 s — the run finishes on time, every client is back within 3 s, lost_on_disconnect = requests in flight, no violations, the outage window in the result, exit 1', { timeout: 120_000 }, async () => {
  const port = await freeUdpPort();
  const clients = 20;
  // long enough after the restart for a slow `serve` start on a busy machine (seen: 5.4 s to listen at load average 10)
  const durationS = 12;
  let first: ChildProcess | null = null;
  let second: ChildProcess | null = null;
  try {
    first = (await startServe(port)).child;
    const load = startLoad(port, ['--clients', String(clients), '--rate', '200', '--duration', `${durationS}s`]);
    const steady = await load.steady;
    // the progress line shows whole seconds since the steady start: kill at about 3 s, restart at about 4 s
    await sleep(3000 - steady.elapsedS * 1000 - (Date.now() - steady.at));
    const killedAt = Date.now();
    first.kill('SIGKILL');
    await sleep(killedAt + 1000 - Date.now());
    const restart = await startServe(port);
    second = restart.child;
    const { code, stderr, result: r, wallMs } = await load.done;
    const c = r.client;
    const origin = steadyStartEpoch(r);
    const outage = c.outages!;
    const w = outage[0]!;
    const figures = {
      kill_s: (killedAt - origin) / 1000, listening_again_s: (restart.listeningAt - origin) / 1000, outage: w,
      all_back_after_listening_ms: Date.parse(w.ended_at) - restart.listeningAt, lost_on_disconnect: c.lost_on_disconnect, reconnects: c.reconnects,
      reconnect_failures: c.reconnect_failures, disconnected_max_ms: c.disconnected?.max_ms, requests_sent: c.requests_sent, responses: c.responses, wall_ms: wallMs,
    };
    console.log(`restart test figures: ${JSON.stringify(figures)}`);

    assert.equal(code, 1, `requests were lost while the target was down: exit 1\n${stderr}`);
    assert.match(stderr, /target was unreachable/);
    assert.ok(r.steady_s >= durationS - 0.1 && r.steady_s <= durationS + 1, `the run finishes on time: steady ${r.steady_s} s`);
    assert.ok(wallMs < (durationS + 15) * 1000, `load took ${wallMs} ms`);
    assert.equal(c.connected, clients);
    assert.equal(outage.length, 1, `one outage window: ${JSON.stringify(outage)}`);
    assert.equal(w.recovered, true);
    assert.equal(w.clients_lost, clients, 'every session was lost once');
    assert.equal(c.disconnects, clients);
    assert.equal(c.reconnects, clients, 'every client came back');
    assert.equal(c.transport_errors.idle_timeout, clients, 'the silent target was declared lost by the client idle timeout');
    const killMs = figures.kill_s * 1000;
    assert.ok(Math.abs(w.start_ms - killMs) < 1000, `the outage begins at the last data heard before the kill: ${w.start_ms} ms vs kill at ${killMs} ms`);
    assert.ok(w.detected_ms! >= killMs + 1500 && w.detected_ms! - killMs < 4000, `the dead target was noticed ${w.detected_ms! - killMs} ms after the kill (client idle timeout 2 s)`);
    assert.ok(figures.all_back_after_listening_ms <= 3000, `every client connected again ${figures.all_back_after_listening_ms} ms after the target listened again`);
    // every request was answered, lost with its session, or is still unanswered: nothing forgotten
    const errorResponses = Object.values(c.errors_by_code).reduce((a, n) => a + n, 0);
    assert.equal(c.unanswered, c.requests_sent - c.responses - errorResponses, 'every request unanswered is counted');
    assert.equal(c.lost_on_disconnect, c.unanswered, 'lost_on_disconnect = the requests in flight at the loss (nothing else went unanswered)');
    assert.ok(c.lost_on_disconnect! > 0);
    assert.equal(w.lost_on_disconnect, c.lost_on_disconnect);
    assert.equal(c.lost_unreachable, c.lost_on_disconnect, 'every session went silent: all of it was lost to the unreachable target');
    assert.deepEqual(c.violations, { reorders: 0, gaps: 0, duplicates: 0, notify_order_violations: 0 }, 'order checks restart with the new session');
    assert.equal(Object.keys(c.disconnected!.per_client_ms).length, clients);
    assert.ok(c.disconnected!.max_ms <= w.end_ms - w.detected_ms! + 50, 'a client is disconnected from its loss to its Hello');
    // the time series has whole seconds of the steady phase: a reconnect in its last second may fall after the last point
    const seriesEnd = r.timeseries.length * 1000;
    if (w.end_ms < seriesEnd) assert.equal(r.timeseries.reduce((a, p) => a + (p.reconnects ?? 0), 0), clients, 'the time series holds the reconnects');
    if (w.detected_ms! < seriesEnd) assert.equal(r.timeseries.reduce((a, p) => a + (p.lost_on_disconnect ?? 0), 0), c.lost_on_disconnect, 'and the requests lost');
    assert.ok(r.warnings.some((x) => x.startsWith('outage:')), 'a warning names the outage');
    assert.equal(r.config.reconnect, true);
    assert.equal(r.config.client_idle_timeout_ms, 2000);
  } finally {
    first?.kill('SIGKILL');
    second?.kill('SIGKILL');
  }
});

test('target paused with SIGSTOP for 1.5 s: no reconnect storm (the 2 s client idle timeout outlasts the pause), the corrected latency shows the pause', { timeout: 120_000 }, async () => {
  const port = await freeUdpPort();
  const clients = 20;
  let serve: ChildProcess | null = null;
  try {
    serve = (await startServe(port)).child;
    const load = startLoad(port, ['--clients', String(clients), '--rate', '200', '--duration', '6s']);
    const steady = await load.steady;
    await sleep(2000 - steady.elapsedS * 1000 - (Date.now() - steady.at));
    serve.kill('SIGSTOP');
    await sleep(1500);
    serve.kill('SIGCONT');
    const { code, stderr, result: r } = await load.done;
    const c = r.client;
    console.log(`SIGSTOP test figures: ${JSON.stringify({ disconnects: c.disconnects, reconnects: c.reconnects, reconnect_failures: c.reconnect_failures, lost: c.lost_on_disconnect, e2e_max_us: c.latency.e2e.summary.max_us, e2e_p99_us: c.latency.e2e.summary.p99_us, outages: c.outages })}`);
    // no storm: at most one loss and one reconnect per client, few failed attempts
    assert.ok((c.disconnects ?? 0) <= clients, `disconnects ${c.disconnects}`);
    assert.ok((c.reconnects ?? 0) <= clients, `reconnects ${c.reconnects}`);
    assert.ok((c.reconnect_failures ?? 0) <= clients, `failed reconnect attempts ${c.reconnect_failures}`);
    assert.ok(c.latency.e2e.summary.max_us >= 1_200_000, `corrected e2e max ${c.latency.e2e.summary.max_us} µs shows the 1.5 s pause`);
    assert.deepEqual(c.violations, { reorders: 0, gaps: 0, duplicates: 0, notify_order_violations: 0 });
    if ((c.disconnects ?? 0) === 0) {
      assert.equal(code, 0, stderr);
      assert.equal(c.lost_on_disconnect, 0);
      assert.equal(c.responses, c.requests_sent, 'the paused target answered everything once it went on');
      assert.deepEqual(c.outages, []);
    }
  } finally {
    serve?.kill('SIGCONT');
    serve?.kill('SIGKILL');
  }
});

test('outage windows: a slice\'s tracker opens at the first loss and closes at the last reconnect; slices merge; the unreachable check', () => {
  const t = new OutageTracker();
  t.lost(1000, 3);
  t.lost(1100, 2);
  t.recovered(1500);
  assert.equal(t.disconnected, 1);
  t.recovered(1700);
  t.lost(5000, 1, 4800); // a silent peer: last heard at 4800
  const ws = t.windows(500, 1_700_000_000_000, 6000);
  assert.deepEqual(ws.map((w) => [w.start_ms, w.detected_ms, w.end_ms, w.duration_ms, w.clients_lost, w.lost_on_disconnect, w.recovered]),
    [[500, 500, 1200, 700, 2, 5, true], [4300, 4500, 5500, 1200, 1, 1, false]]);
  assert.equal(ws[0]!.started_at, new Date(1_700_000_000_500).toISOString());
  const other = new OutageTracker();
  other.lost(1600, 4);
  other.recovered(2000);
  const merged = mergeOutageWindows([...ws, ...other.windows(500, 1_700_000_000_000, 6000)]);
  assert.deepEqual(merged.map((w) => [w.start_ms, w.end_ms, w.clients_lost, w.lost_on_disconnect, w.recovered]), [[500, 1500, 3, 9, true], [4300, 5500, 1, 1, false]]);

  const base = { client: { lost_on_disconnect: 0, dropped_disconnected: 0, outages: [] } } as unknown as RunResult;
  assert.equal(unreachableRequests(base), 0);
  assertTargetReachable(base);
  const lost = { client: { lost_on_disconnect: 9, lost_unreachable: 7, dropped_disconnected: 3, reconnects: 0, outages: merged } } as unknown as RunResult;
  assert.equal(unreachableRequests(lost), 10);
  const gatewayClosed = { client: { lost_on_disconnect: 9, lost_unreachable: 0, dropped_disconnected: 0, reconnects: 2, outages: merged } } as unknown as RunResult;
  assert.equal(unreachableRequests(gatewayClosed), 0, 'sessions the gateway closed and that came back at once: not unreachable');
  assertTargetReachable(gatewayClosed);
  assert.throws(() => assertTargetReachable(lost), (e: Error & { code?: string }) => e.code === 'GATECTL_TARGET_UNREACHABLE' && /10 requests unanswered.*4\.3-5\.5 s \(not recovered\)/.test(e.message));
});

test('pending requests: clear() forgets every outstanding request (ring and overflow) and counts them; seq_ids restart at 1', () => {
  const p = new PendingRequests();
  for (let s = 1; s <= 40; s++) p.add(s, s, s);
  assert.ok(p.take(5));
  assert.equal(p.clear(), 39);
  assert.equal(p.size, 0);
  assert.equal(p.has(6), false);
  p.add(1, 10, 11);
  assert.ok(p.take(1));
  assert.deepEqual([p.takenScheduledAt, p.takenSentAt, p.size], [10, 11, 0]);
});

/** A connection that records writes and lets the test deliver pushes or end it. */
class FakeConnection implements Connection {
  readonly remoteAddress = 'fake:0';
  handlers: ConnectionHandlers | null = null;
  readonly writes: Uint8Array[] = [];
  setHandlers(h: ConnectionHandlers): void {
    this.handlers = h;
  }
  write(data: Uint8Array): Promise<void> {
    this.writes.push(Uint8Array.from(data));
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  deliver(...pushes: ServerPush[]): void {
    this.handlers!.data(Buffer.concat(pushes.map((p) => ServerPushType.encodeDelimited(p))));
  }
  /** seq_ids of the business requests written, in order */
  businessSeqIds(): number[] {
    const out: number[] = [];
    for (const w of this.writes) new FrameDecoder(ClientMessageType, (m: ClientMessage) => { if (m.body === 'business') out.push(Number(m.seqId)); }).push(w);
    return out;
  }
}

test('load client: a lost session counts its requests in flight as lost_on_disconnect and calls onLost once; attach starts a new session (seq_ids and server_seq from 1, no violation); with reconnects off it closes', async () => {
  const m = new ClientMetrics();
  m.beginStages(0, [1e12]);
  const first = new FakeConnection();
  const c = new LoadClient(0, first, m, true);
  const lost: number[] = [];
  c.onLost = (cl) => lost.push(cl.lostInFlight);
  const action = encodeActionField('business');
  const hello = c.hello('user-1');
  first.deliver({ serverSeq: 1, hello: { msgId: 1, code: 200 } });
  assert.equal(await hello, 200);
  assert.equal(c.connected, true);
  for (let i = 0; i < 3; i++) c.send(1, 1, action, 0);
  first.deliver({ serverSeq: 2, business: { msgId: 2, code: 200 } }, { serverSeq: 3, business: { msgId: 3, code: 200 } });
  assert.equal(c.outstanding, 1);
  first.handlers!.close(new TransportError('QUIC connection timed out', PEER_IDLE_TIMEOUT_CODE));
  assert.deepEqual(lost, [1], 'onLost once, with the one request in flight');
  assert.deepEqual([c.connected, c.closed, c.outstanding, m.lostOnDisconnect, m.disconnects, c.lostSilent, m.lostUnreachable], [false, false, 0, 1, 1, true, 1]);
  assert.deepEqual(m.transportErrors, { idle_timeout: 1 });
  c.send(1, 1, action, 0);
  assert.equal(m.requestsSent, 3, 'nothing is sent while disconnected');

  const second = new FakeConnection();
  c.attach(second);
  const again = c.hello('user-1');
  second.deliver({ serverSeq: 1, hello: { msgId: 1, code: 200 } });
  assert.equal(await again, 200);
  c.send(2, 2, action, 0);
  c.send(2, 2, action, 0);
  assert.deepEqual(second.businessSeqIds(), [1, 2], 'the new session numbers its requests from 1');
  second.deliver({ serverSeq: 2, business: { msgId: 2, code: 200 } }, { serverSeq: 3, business: { msgId: 3, code: 200 } });
  assert.deepEqual(m.violations, { reorders: 0, gaps: 0, duplicates: 0, notify_order_violations: 0 }, 'server_seq restarts at 1 without a violation');
  assert.equal(m.responses, 4);
  first.handlers!.close(); // a late close of the old connection changes nothing
  assert.equal(c.connected, true);

  // a failed reconnect attempt (closed before its Hello was answered) is not a second loss
  second.handlers!.close();
  assert.deepEqual(lost, [1, 0]);
  const third = new FakeConnection();
  c.attach(third);
  const refused = c.hello('user-1');
  third.handlers!.close();
  assert.equal(await refused, 0);
  assert.deepEqual([lost.length, c.closed, m.disconnects], [2, false, 2]);

  // reconnects off: a lost session closes the client for good
  const m2 = new ClientMetrics();
  const conn = new FakeConnection();
  const off = new LoadClient(1, conn, m2, false);
  let told = 0;
  off.onLost = () => told++;
  const h = off.hello('user-2');
  conn.deliver({ serverSeq: 1, hello: { msgId: 1, code: 200 } });
  await h;
  off.send(1, 1, action, 0);
  conn.handlers!.close();
  assert.deepEqual([off.closed, off.connected, m2.lostOnDisconnect, told, m2.lostUnreachable, off.lostCounted], [true, false, 1, 1, 0, false], 'a closed session is not counted unreachable yet (the slice decides)');
  assert.deepEqual(m2.transportErrors, { closed_by_peer: 1 });
});
