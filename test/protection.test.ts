/**
 * Hardening of the gateway against bad peers (issue 7 §3–5): slow consumers, the session limit,
 * the per-session rate cap, refused logins, and the monitor's bearer token. Real sockets on
 * 127.0.0.1; every loop bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { GatewayServer } from '../src/gateway/index.js';
import { resolveGatewayConfig, type GatewayFlags } from '../src/config/resolve.js';
import { getTransport } from '../src/transport/index.js';
import { ClientMessageType, FrameDecoder, ServerPushType, type ServerPush } from '../src/protocol/index.js';
import { startMonitor } from '../src/monitor/server.js';
import { silentLogger } from '../src/log.js';
import { InvalidInputError } from '../src/errors.js';
import { RawClient, waitFor } from './support.js';

const flags: GatewayFlags = {
  host: '127.0.0.1', port: 0, transport: 'quic', 'upstream-latency': '1ms', 'upstream-distribution': 'fixed',
  'before-notifies': 1, 'after-notifies': 1, mode: 'async',
};

test('a client that stops reading is closed as slow_consumer at the session buffer limit; the other session is unaffected', { timeout: 60_000 }, async () => {
  const gw = new GatewayServer(resolveGatewayConfig({ ...flags, transport: 'tcp', 'session-buffer-limit': 60, 'write-stall-timeout': '2s' }, {}), undefined, silentLogger);
  await gw.start();
  const dialer = await getTransport('tcp').createDialer({ insecure: true, connectTimeoutMs: 5000 });
  // the slow client: raw TLS, says Hello, then stops reading and floods 32 KiB requests whose echoed responses pile up
  const slow = tls.connect({ host: '127.0.0.1', port: gw.port, rejectUnauthorized: false });
  try {
    await new Promise<void>((resolve, reject) => { slow.once('secureConnect', () => resolve()); slow.once('error', reject); });
    const hello = new Promise<ServerPush>((resolve) => {
      const d = new FrameDecoder<ServerPush>(ServerPushType, resolve);
      slow.once('data', (c: Buffer) => d.push(c));
    });
    slow.write(ClientMessageType.encodeDelimited({ msgId: 1, hello: { userId: 'slow', token: 't' } }));
    assert.equal((await hello).hello?.code, 200);
    slow.pause();
    let slowClosed = false;
    slow.on('close', () => { slowClosed = true; });
    slow.on('error', () => undefined);
    const payload = new Uint8Array(32 * 1024);
    for (let i = 1; i <= 800 && !slowClosed; i++) {
      if (!slow.write(ClientMessageType.encodeDelimited({ msgId: 1 + i, seqId: i, business: { action: 'business', payload } }))) {
        await new Promise((r) => { slow.once('drain', r); setTimeout(r, 200); });
      }
    }
    const good = await RawClient.open(dialer, gw.port, 'good');
    for (let i = 1; i <= 20; i++) await good.send({ msgId: 10 + i, seqId: i, business: { action: 'business' } });
    await waitFor(() => gw.snapshotCounters().slow_consumer_closes === 1, 20_000, 'the slow consumer to be closed');
    await waitFor(() => good.count('business') === 20, 10_000, 'the good client\'s responses');
    const c = gw.snapshotCounters();
    assert.equal(c.sessions_active, 1, 'only the good session is left');
    assert.equal(good.closed, false);
    assert.ok(gw.send.snapshot().discarded_on_close > 0, 'the slow session\'s unwritten frames are counted, not silently dropped');
  } finally {
    slow.destroy();
    await gw.stop();
    await dialer.close();
  }
});

test('--max-sessions refuses the next connection with an out-of-band 503; --session-rate-limit answers 429 beyond the bucket; a bad token is 401 and closed', { timeout: 60_000 }, async () => {
  const gw = new GatewayServer(resolveGatewayConfig({ ...flags, 'max-sessions': 2, 'session-rate-limit': 5 }, {}), undefined, silentLogger);
  await gw.start();
  const dialer = await getTransport('quic').createDialer({ insecure: true, connectTimeoutMs: 5000 });
  try {
    const a = await RawClient.open(dialer, gw.port, 'a');
    // a refused login closes its session, so it does not count against the limit afterwards
    const bad = new RawClient(await dialer.dial('127.0.0.1', gw.port));
    await bad.send({ msgId: 1, hello: { userId: 'mallory', token: 'invalid-token' } });
    await waitFor(() => bad.closed, 5000, 'the refused session to close');
    assert.equal(bad.pushes[0]?.hello?.code, 401);
    assert.equal(gw.snapshotCounters().login_failures, 1);

    const b = await RawClient.open(dialer, gw.port, 'b');
    const third = new RawClient(await dialer.dial('127.0.0.1', gw.port));
    await third.send({ msgId: 1, hello: { userId: 'c', token: 't' } }).catch(() => undefined);
    await waitFor(() => third.closed, 5000, 'the third connection to be refused');
    assert.equal(third.pushes[0]?.serverSeq ?? 0, 0);
    assert.equal(third.pushes[0]?.error?.code, 503);
    assert.match(third.pushes[0]?.error?.detail ?? '', /limit of 2 sessions/);
    assert.equal(gw.snapshotCounters().refused_max_sessions, 1);

    for (let i = 1; i <= 20; i++) await a.send({ msgId: 10 + i, seqId: i, business: { action: 'business' } });
    await waitFor(() => a.count('business') + a.count('error') === 20, 10_000, 'answers');
    const limited = a.pushes.filter((p) => p.error?.code === 429).length;
    assert.ok(a.count('business') >= 5 && limited >= 10, `${a.count('business')} served, ${limited} limited`);
    assert.equal(gw.snapshotCounters().rate_limited, limited);
    assert.equal(b.closed, false);
  } finally {
    await gw.stop();
    await dialer.close();
  }
});

test('monitor: a bearer token is required when set; binding off loopback without one is refused before listening', { timeout: 30_000 }, async () => {
  const gw = new GatewayServer(resolveGatewayConfig(flags, {}), undefined, silentLogger);
  const m = await startMonitor(gw, '127.0.0.1', 0, { token: 's3cret', admin: true });
  try {
    assert.equal((await fetch(`${m.url}/healthz`)).status, 401);
    assert.equal((await fetch(`${m.url}/healthz`, { headers: { authorization: 'Bearer wrong!' } })).status, 401);
    assert.equal((await fetch(`${m.url}/push`, { method: 'POST', body: '{}' })).status, 401, 'admin endpoints too');
    const ok = await fetch(`${m.url}/healthz`, { headers: { authorization: 'Bearer s3cret' } });
    assert.equal(ok.status, 200);
  } finally {
    await m.close();
  }
  await assert.rejects(startMonitor(gw, '0.0.0.0', 0), (e: unknown) => e instanceof InvalidInputError && /--monitor-token/.test(e.message));
});

test('over QUIC too: a client that stops reading stalls on flow control and is closed as slow_consumer', { timeout: 60_000 }, async () => {
  const gw = new GatewayServer(resolveGatewayConfig({ ...flags, 'session-buffer-limit': 60, 'write-stall-timeout': '2s' }, {}), undefined, silentLogger);
  await gw.start();
  const dialer = await getTransport('quic').createDialer({ insecure: true, connectTimeoutMs: 5000 });
  try {
    const slow = await RawClient.open(dialer, gw.port, 'slow');
    slow.conn.stopReading!();
    const payload = new Uint8Array(32 * 1024);
    for (let i = 1; i <= 600 && gw.snapshotCounters().slow_consumer_closes === 0; i++) {
      await slow.send({ msgId: 1 + i, seqId: i, business: { action: 'business', payload } }).catch(() => undefined);
    }
    await waitFor(() => gw.snapshotCounters().slow_consumer_closes === 1, 20_000, 'the slow consumer to be closed');
    assert.equal(gw.snapshotCounters().sessions_active, 0);
  } finally {
    await gw.stop();
    await dialer.close();
  }
});
