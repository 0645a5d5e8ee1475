/**
 * The QUIC driver on quiche's native binding (issue 13): interoperability with an independent
 * driver in both directions, address validation (retry on and off, forged and replayed tokens),
 * invalid datagrams, connect floods, backpressure, idle timeout, stream-less connections, and the
 * deadline heap. Real sockets on 127.0.0.1, bounded in count and time.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import { TransportError } from '../src/errors.js';
import { generateCertificate, WEBTRANSPORT_CERTIFICATE_DAYS } from '../src/transport/certificate.js';
import type { CertificateMaterial, Connection } from '../src/transport/index.js';
import { createQuicDialer, listenQuic, type QuicListener, type QuicListenOptions } from '../src/transport/quic/index.js';
import type { QuicConnection } from '../src/transport/quic/connection.js';
import { DeadlineHeap } from '../src/transport/quic/deadline-heap.js';
import { CID_LEN } from '../src/transport/quic/packet.js';
import { RetryTokens } from '../src/transport/quic/retry-token.js';
import { RawClient, repoRoot, waitFor } from './support.js';
import { BareQuicheClient, matrixaiEchoClient, matrixaiEchoServer, udpRelay } from './quic-peers.js';
import {
  clientInitial,
  fetchRetryToken,
  garbageDatagrams,
  rawInitial,
  replayedTokenInitials,
  sendAll,
  udpSocket,
} from '../src/bench/soak/datagrams.js';

const HOST = '127.0.0.1';
let certificate: CertificateMaterial;

before(async () => {
  certificate = await generateCertificate({ days: WEBTRANSPORT_CERTIFICATE_DAYS });
});

/** An echo listener; `accepted` collects its connections. */
async function echoListener(extra: Partial<QuicListenOptions> = {}): Promise<{ listener: QuicListener; accepted: Connection[] }> {
  const accepted: Connection[] = [];
  const listener = await listenQuic({
    host: HOST,
    port: 0,
    certificate,
    onConnection: (conn) => {
      accepted.push(conn);
      conn.setHandlers({ data: (chunk) => void conn.write(chunk).catch(() => {}), close: () => {} });
    },
    ...extra,
  });
  return { listener, accepted };
}

/** Installs handlers on `conn` once; `echo(data)` writes and resolves with the next `data.byteLength` bytes. */
function echoer(conn: Connection): { echo(data: Uint8Array, timeoutMs?: number): Promise<Buffer>; closed(): boolean; closeError(): Error | undefined } {
  let chunks: Buffer[] = [];
  let total = 0;
  let want = 0;
  let waiter: ((b: Buffer) => void) | undefined;
  let closed = false;
  let closeError: Error | undefined;
  conn.setHandlers({
    data(chunk) {
      chunks.push(Buffer.from(chunk));
      total += chunk.byteLength;
      if (waiter !== undefined && total >= want) {
        const all = Buffer.concat(chunks);
        const w = waiter;
        waiter = undefined;
        chunks = all.byteLength > want ? [all.subarray(want)] : [];
        total -= want;
        w(all.subarray(0, want));
      }
    },
    close(error) {
      closed = true;
      closeError = error;
    },
  });
  return {
    echo: (data, timeoutMs = 5_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`echo timed out with ${total}/${data.byteLength} bytes`)), timeoutMs);
        want = data.byteLength;
        waiter = (b) => {
          clearTimeout(timer);
          resolve(b);
        };
        conn.write(data).catch(reject);
      }),
    closed: () => closed,
    closeError: () => closeError,
  };
}

/** Writes `data` on a connection without handlers yet and resolves with its echo. */
function echoOnce(conn: Connection, data: Uint8Array): Promise<Buffer> {
  return echoer(conn).echo(data);
}

describe('interoperability with @matrixai/quic (an independent quiche driver)', () => {
  test('its QUICClient exchanges frames with a gatectl listener (ALPN gatesvr/1, X.509, retry on)', { timeout: 20_000 }, async () => {
    const { listener } = await echoListener();
    try {
      const data = Buffer.from('hello from QUICClient '.repeat(50));
      const back = await matrixaiEchoClient(listener.port, data, data.byteLength);
      assert.deepEqual(back, data);
      const stats = listener.stats();
      assert.equal(stats.handshakes_completed, 1);
      assert.ok(stats.retries_sent >= 1, 'address validation by stateless retry');
    } finally {
      await listener.close();
    }
  });

  test("gatectl's dialer exchanges frames with its QUICServer", { timeout: 20_000 }, async () => {
    const server = await matrixaiEchoServer(certificate);
    const dialer = await createQuicDialer({ insecure: true, connectTimeoutMs: 5_000 });
    try {
      const conn = await dialer.dial(HOST, server.port);
      // QUICServer resets a stream whose first bytes arrive with the client's Finished (its
      // connection is still "starting"), which RFC 9001 §4.1.1 allows: give it that handshake round trip.
      await new Promise((r) => setTimeout(r, 100));
      const data = Buffer.from('hello from gatectl '.repeat(100));
      assert.deepEqual(await echoOnce(conn, data), data);
      await conn.close();
    } finally {
      await dialer.close();
      await server.stop();
    }
  });
});

describe('address validation', () => {
  test('retry on and off both connect; only "on" sends Retry packets', { timeout: 20_000 }, async () => {
    for (const retry of [true, false]) {
      const { listener } = await echoListener({ retry });
      const dialer = await createQuicDialer({ insecure: true, connectTimeoutMs: 5_000 });
      try {
        const conn = await dialer.dial(HOST, listener.port);
        assert.deepEqual(await echoOnce(conn, Buffer.from('x'.repeat(300))), Buffer.from('x'.repeat(300)));
        await conn.close();
        const stats = listener.stats();
        assert.equal(stats.handshakes_completed, 1, `retry ${retry}`);
        assert.equal(stats.retries_sent > 0, retry, `retries_sent ${stats.retries_sent} with retry ${retry}`);
      } finally {
        await dialer.close();
        await listener.close();
      }
    }
  });

  test('retry tokens: bound to address, retry id and lifetime; tampering is refused', () => {
    const tokens = new RetryTokens(1_000);
    const odcid = Buffer.from('0123456789abcdef', 'hex');
    const scid = Buffer.alloc(CID_LEN, 7);
    const now = 1_800_000_000_000;
    const token = tokens.mint(odcid, scid, '127.0.0.1', now);
    assert.deepEqual(Buffer.from(tokens.validate(token, scid, '127.0.0.1', now + 10) as Uint8Array), odcid);
    assert.equal(tokens.validate(token, scid, '127.0.0.2', now), 'bad_token', 'another address');
    assert.equal(tokens.validate(token, Buffer.alloc(CID_LEN, 8), '127.0.0.1', now), 'token_dcid_mismatch', 'fresh connection id');
    assert.equal(tokens.validate(token, scid, '127.0.0.1', now + 1_001), 'expired_token');
    const tampered = Buffer.from(token);
    tampered[4] ^= 1;
    assert.equal(tokens.validate(tampered, scid, '127.0.0.1', now), 'bad_token');
    assert.equal(new RetryTokens().validate(token, scid, '127.0.0.1', now), 'bad_token', "another listener's key");
    assert.equal(tokens.validate(Buffer.alloc(3), scid, '127.0.0.1', now), 'bad_token');
  });

  test('a forged token and a replayed token with fresh connection ids open no connection', { timeout: 20_000 }, async () => {
    const { listener } = await echoListener();
    const socket = await udpSocket();
    try {
      // Forged: a token the listener never issued.
      await sendAll(socket, listener.port, [rawInitial(Buffer.alloc(CID_LEN, 1), Buffer.alloc(8, 2), Buffer.alloc(60, 9))]);
      // Replayed: a real token (from a Retry) reused with fresh destination ids, 100 times.
      const token = await fetchRetryToken(socket, listener.port);
      assert.ok(token !== null && token.byteLength > 0, 'the listener answers a first Initial with a Retry');
      const replays = Array.from({ length: 100 }, (_, i) => rawInitial(Buffer.alloc(CID_LEN, i + 10), Buffer.alloc(8, 3), token));
      await sendAll(socket, listener.port, replays);
      await waitFor(() => listener.stats().packets_in >= 102, 5_000, 'datagrams counted');
      const stats = listener.stats();
      assert.equal(stats.invalid_datagrams.bad_token, 1);
      assert.equal(stats.invalid_datagrams.token_dcid_mismatch, 100);
      assert.equal(stats.handshakes_started, 0, 'no connection state for forged or replayed tokens');
      assert.equal(stats.connections, 0);
    } finally {
      socket.close();
      await listener.close();
    }
  });
});

describe('bad input on the datagram path', () => {
  test('random bytes, truncated and mutated real packets, and the 7-byte 0-RTT datagram are dropped and counted, never thrown', { timeout: 60_000 }, async () => {
    const { listener } = await echoListener();
    const relay = await udpRelay(listener.port);
    const dialer = await createQuicDialer({ insecure: true, connectTimeoutMs: 5_000 });
    const socket = await udpSocket();
    try {
      // Real packets to mutate: a connection through the relay.
      const warm = echoer(await dialer.dial(HOST, relay.port));
      await warm.echo(Buffer.alloc(2_000, 1));
      const real = relay.fromClient.slice();
      assert.ok(real.length > 3);
      const datagrams: Uint8Array[] = [Buffer.from([0xd0, 0, 0, 0, 1, 0, 0])];
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 0, maxLength: 1_400 }), (bytes) => {
          datagrams.push(bytes);
        }),
        { numRuns: 600, seed: 13 },
      );
      fc.assert(
        fc.property(
          fc.nat({ max: real.length - 1 }),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
          fc.option(fc.nat(), { nil: undefined }),
          (which, flips, cut) => {
            const packet = Buffer.from(real[which]);
            for (const [at, value] of flips) packet[at % packet.length] = value;
            datagrams.push(cut === undefined ? packet : packet.subarray(0, cut % packet.length));
          },
        ),
        { numRuns: 600, seed: 13 },
      );
      // Long headers with each version and type, and an Initial below 1200 bytes.
      for (const version of [0, 1, 2, 0xff00001d, 0x1a2a3a4a]) {
        for (const type of [0, 1, 2, 3]) {
          const d = rawInitial(Buffer.alloc(8, 1), Buffer.alloc(8, 2), Buffer.alloc(0));
          d[0] = 0xc0 | (type << 4);
          d.writeUInt32BE(version >>> 0, 1);
          datagrams.push(d, d.subarray(0, 40));
        }
      }
      await sendAll(socket, listener.port, datagrams);
      await waitFor(() => listener.stats().packets_in >= datagrams.length, 10_000, 'every datagram seen');
      const stats = listener.stats();
      const dropped = Object.values(stats.invalid_datagrams).reduce((a, b) => a + b, 0);
      assert.ok(dropped > datagrams.length / 2, `dropped ${dropped} of ${datagrams.length}`);
      assert.ok(stats.invalid_datagrams.truncated > 0 && stats.invalid_datagrams.not_quic > 0);
      assert.ok(stats.invalid_datagrams.short_initial > 0 && stats.invalid_datagrams.unknown_version > 0);
      assert.ok(stats.version_negotiations_sent > 0, 'unknown versions in full-size datagrams get Version Negotiation');
      // The listener still serves: the warm connection and a new one.
      assert.deepEqual(await warm.echo(Buffer.from('still here')), Buffer.from('still here'));
      const fresh = await dialer.dial(HOST, listener.port);
      assert.deepEqual(await echoOnce(fresh, Buffer.from('new')), Buffer.from('new'));
    } finally {
      socket.close();
      await dialer.close();
      await relay.close();
      await listener.close();
    }
  });

  test('a handshake flood is capped while established connections keep being answered', { timeout: 60_000 }, async () => {
    const maxHandshakes = 64;
    const { listener } = await echoListener({ retry: false, maxHandshakes });
    const dialer = await createQuicDialer({ insecure: true, connectTimeoutMs: 5_000 });
    const socket = await udpSocket();
    try {
      const conns = (await Promise.all(Array.from({ length: 10 }, () => dialer.dial(HOST, listener.port)))).map(echoer);
      const flood = Array.from({ length: 600 }, () => clientInitial(listener.port));
      const flooding = sendAll(socket, listener.port, flood);
      let echoes = 0;
      await Promise.all(
        conns.map(async (conn, c) => {
          for (let m = 0; m < 30; m++) {
            const data = Buffer.from(`c${c} m${m}`);
            assert.deepEqual(await conn.echo(data), data);
            echoes++;
          }
        }),
      );
      await flooding;
      await waitFor(() => listener.stats().packets_in >= flood.length, 10_000, 'flood seen');
      const stats = listener.stats();
      assert.equal(echoes, 300);
      assert.ok(stats.handshakes_started <= 10 + maxHandshakes, `started ${stats.handshakes_started}`);
      assert.ok(stats.handshakes_refused >= flood.length - maxHandshakes, `refused ${stats.handshakes_refused}`);
      assert.equal(stats.invalid_datagrams.handshake_cap, stats.handshakes_refused);
    } finally {
      socket.close();
      await dialer.close();
      await listener.close();
    }
  });
});

describe('connection behaviour', () => {
  test('backpressure: a write to a peer that stopped reading stays pending and resolves when it reads again', { timeout: 30_000 }, async () => {
    let server: QuicConnection | undefined;
    const received: Buffer[] = [];
    const listener = await listenQuic({
      host: HOST,
      port: 0,
      certificate,
      onConnection: (conn) => {
        server = conn as QuicConnection;
        conn.setHandlers({ data: (chunk) => void received.push(Buffer.from(chunk)), close: () => {} });
      },
    });
    const dialer = await createQuicDialer({ insecure: true, connectTimeoutMs: 5_000 });
    try {
      const conn = await dialer.dial(HOST, listener.port);
      conn.setHandlers({ data: () => {}, close: () => {} });
      await conn.write(Buffer.from('open'));
      await waitFor(() => server !== undefined && received.length > 0, 5_000, 'server connection');
      server!.stopReading();
      // 4 MiB: four times the 1 MiB stream window the reader advertises.
      const total = 4 * 1024 * 1024;
      const chunk = 64 * 1024;
      let settled = 0;
      const writes: Promise<void>[] = [];
      for (let off = 0; off < total; off += chunk) {
        const data = Buffer.alloc(chunk, (off / chunk) & 0xff);
        writes.push(conn.write(data).then(() => void settled++));
      }
      await new Promise((r) => setTimeout(r, 1_000));
      assert.ok(settled < writes.length, `all ${writes.length} writes resolved against a peer that does not read`);
      const before = received.reduce((a, b) => a + b.byteLength, 0);
      assert.ok(before <= 4 + 2 * 1024 * 1024, `delivered ${before} bytes while stopped`);
      server!.resumeReading();
      await Promise.all(writes);
      await waitFor(() => received.reduce((a, b) => a + b.byteLength, 0) === 4 + total, 10_000, 'all bytes read');
      const all = Buffer.concat(received).subarray(4);
      for (let off = 0; off < total; off += chunk) assert.equal(all[off], (off / chunk) & 0xff);
    } finally {
      await dialer.close();
      await listener.close();
    }
  });

  test('a silent peer is declared lost at the idle timeout; keep-alives hold an idle link open', { timeout: 30_000 }, async () => {
    const { listener } = await echoListener();
    const relay = await udpRelay(listener.port);
    const dialer = await createQuicDialer({ insecure: true, connectTimeoutMs: 5_000, idleTimeoutMs: 1_500 });
    try {
      const conn = echoer(await dialer.dial(HOST, relay.port));
      assert.deepEqual(await conn.echo(Buffer.from('ping')), Buffer.from('ping'));
      // Idle for 3 idle timeouts with the path up: keep-alive PINGs keep it open.
      await new Promise((r) => setTimeout(r, 4_500));
      assert.equal(conn.closed(), false, 'an idle connection with keep-alives stays open');
      relay.blackhole = true;
      const started = Date.now();
      await waitFor(() => conn.closed(), 5_000, 'idle timeout');
      assert.ok(Date.now() - started < 3_000, `declared lost after ${Date.now() - started} ms`);
      const closeError = conn.closeError();
      assert.ok(closeError instanceof TransportError);
      assert.match(closeError.message, /timed out: no packet for 1500 ms/);
    } finally {
      await dialer.close();
      await relay.close();
      await listener.close();
    }
  });

  test('a connection that completes the handshake but opens no stream is closed and counted', { timeout: 30_000 }, async () => {
    const { listener, accepted } = await echoListener();
    const bare = await BareQuicheClient.connect(listener.port);
    try {
      await waitFor(() => bare.native.isEstablished(), 5_000, 'handshake');
      await waitFor(() => bare.native.peerError() !== null, 10_000, 'the server closes the stream-less connection');
      const peerError = bare.native.peerError()!;
      assert.equal(peerError.isApp, true);
      assert.equal(Buffer.from(peerError.reason).toString(), 'no stream opened');
      assert.equal(listener.stats().streamless_closes, 1);
      assert.equal(accepted.length, 0, 'never handed to onConnection');
    } finally {
      await bare.close();
      await listener.close();
    }
  });

  test('close after a final write delivers it: data quiche holds is sent before CONNECTION_CLOSE', { timeout: 20_000 }, async () => {
    const payload = Buffer.alloc(200_000, 5);
    const listener = await listenQuic({
      host: HOST,
      port: 0,
      certificate,
      onConnection: (conn) => {
        conn.setHandlers({
          data: () => {
            void conn.write(payload);
            void conn.close(7, 'bye');
          },
          close: () => {},
        });
      },
    });
    const dialer = await createQuicDialer({ insecure: true, connectTimeoutMs: 5_000 });
    try {
      const conn = await dialer.dial(HOST, listener.port);
      let got = 0;
      let closeError: Error | undefined;
      let closed = false;
      conn.setHandlers({ data: (c) => void (got += c.byteLength), close: (e) => ((closed = true), (closeError = e)) });
      await conn.write(Buffer.from('go'));
      await waitFor(() => closed, 5_000, 'server close');
      assert.equal(got, payload.byteLength, 'every byte written before close arrived');
      assert.match(String(closeError?.message), /application code 7: bye/);
    } finally {
      await dialer.close();
      await listener.close();
    }
  });
});

test('DeadlineHeap pops in deadline order under random inserts, moves and removals', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat({ max: 30 }), fc.oneof(fc.integer({ min: 0, max: 1_000 }), fc.constant(Infinity))), { maxLength: 300 }),
      (ops) => {
        const heap = new DeadlineHeap<{ deadline: number; heapIndex: number; id: number }>();
        const entries = Array.from({ length: 31 }, (_, id) => ({ deadline: Infinity, heapIndex: -1, id }));
        for (const [id, deadline] of ops) heap.set(entries[id], deadline);
        const expected = entries.filter((e) => e.deadline !== Infinity).map((e) => e.deadline).sort((a, b) => a - b);
        const popped: number[] = [];
        for (let e = heap.popDue(Infinity); e !== undefined; e = heap.popDue(Infinity)) popped.push(e.deadline);
        assert.deepEqual(popped, expected);
        assert.equal(heap.size, 0);
      },
    ),
    { numRuns: 300, seed: 13 },
  );
});

test('`gatectl serve` stays up under hostile datagrams and replayed tokens, then serves a real client', { timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/run.js'), 'serve', '--port', '0', '--monitor-port', '0'], {
    env: { ...process.env, NO_COLOR: '1' },
  });
  let out = '';
  let exited: number | null | undefined;
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  child.on('exit', (code) => (exited = code));
  const socket = await udpSocket();
  const dialer = await createQuicDialer({ insecure: true, connectTimeoutMs: 5_000 });
  try {
    await waitFor(() => /listening on quic:\/\/127\.0\.0\.1:(\d+)/.test(out), 20_000, 'serve to listen');
    const port = Number(/listening on quic:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
    const garbage = garbageDatagrams(port, 1_000);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 1_350 }), (bytes) => void garbage.push(Buffer.from(bytes))),
      { numRuns: 500, seed: 7 },
    );
    await sendAll(socket, port, garbage);
    const token = await fetchRetryToken(socket, port);
    assert.ok(token !== null);
    await sendAll(socket, port, replayedTokenInitials(token, 300));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(exited, undefined, `serve exited:\n${out}`);
    // A real session: Hello answered, then a business request answered.
    const client = await RawClient.open(dialer, port, 'after-fuzz');
    await client.send({ msgId: 2, seqId: 1, business: { action: 'business', payload: new Uint8Array(8) } });
    await waitFor(() => client.count('business') === 1, 5_000, 'business response');
    assert.equal(exited, undefined, `serve exited:\n${out}`);
  } finally {
    socket.close();
    await dialer.close();
    child.kill('SIGTERM');
    await new Promise((r) => (exited !== undefined ? r(undefined) : child.once('exit', r)));
  }
});
