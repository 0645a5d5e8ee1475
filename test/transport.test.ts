/**
 * Transport tests (DESIGN §2): real sockets on 127.0.0.1 only, bounded in count and time.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AddressInUseError, ConnectTimeoutError, InvalidInputError, TransportError } from '../src/errors.js';
import { generateCertificate, loadCertificate, WEBTRANSPORT_CERTIFICATE_DAYS } from '../src/transport/certificate.js';
import { getTransport, TRANSPORT_NAMES } from '../src/transport/index.js';
import type { CertificateMaterial, Connection, Listener, TransportName } from '../src/transport/index.js';

const HOST = '127.0.0.1';

let certificate: CertificateMaterial;

before(async () => {
  certificate = await generateCertificate({ days: WEBTRANSPORT_CERTIFICATE_DAYS });
});

/** Counts `close` calls per connection so tests can assert "exactly once". */
interface Tracked {
  closes: number;
  closeError: Error | undefined;
  closed: Promise<void>;
}

/** Installs echo handlers (after `delayMs`, to exercise buffering before setHandlers). */
function echo(conn: Connection, delayMs = 0): Tracked {
  let resolveClosed!: () => void;
  const tracked: Tracked = { closes: 0, closeError: undefined, closed: new Promise((r) => (resolveClosed = r)) };
  const install = (): void =>
    conn.setHandlers({
      data(chunk) {
        conn.write(chunk).catch(() => {});
      },
      close(error) {
        tracked.closes++;
        tracked.closeError = error;
        resolveClosed();
      },
    });
  if (delayMs > 0) setTimeout(install, delayMs);
  else install();
  return tracked;
}

/** An echo server that records every accepted connection. */
async function echoServer(name: TransportName, delayMs = 0): Promise<{ listener: Listener; accepted: Tracked[] }> {
  const accepted: Tracked[] = [];
  const listener = await getTransport(name).listen({
    host: HOST,
    port: 0,
    certificate,
    onConnection: (conn) => accepted.push(echo(conn, delayMs)),
  });
  return { listener, accepted };
}

/** Client side: collects received bytes and lets a caller wait until `n` bytes have arrived. */
function collector(conn: Connection): {
  received: () => Uint8Array;
  waitFor: (n: number) => Promise<void>;
  tracked: Tracked;
} {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let waiter: { n: number; resolve: () => void } | undefined;
  let resolveClosed!: () => void;
  const tracked: Tracked = { closes: 0, closeError: undefined, closed: new Promise((r) => (resolveClosed = r)) };
  conn.setHandlers({
    data(chunk) {
      chunks.push(chunk);
      total += chunk.byteLength;
      if (waiter !== undefined && total >= waiter.n) {
        const w = waiter;
        waiter = undefined;
        w.resolve();
      }
    },
    close(error) {
      tracked.closes++;
      tracked.closeError = error;
      resolveClosed();
    },
  });
  return {
    received: () => Buffer.concat(chunks),
    waitFor: (n) =>
      total >= n
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`timed out waiting for ${n} bytes, have ${total}`)), 10_000);
            waiter = {
              n,
              resolve: () => {
                clearTimeout(timer);
                resolve();
              },
            };
          }),
    tracked,
  };
}

function pattern(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

for (const name of TRANSPORT_NAMES) {
  describe(`${name} transport`, () => {
    test('echo round-trips a few KB in order; both sides close cleanly, close fires once', { timeout: 30_000 }, async () => {
      // The server installs its handlers 50 ms late: bytes that arrive before are buffered.
      const { listener, accepted } = await echoServer(name, 50);
      const dialer = await getTransport(name).createDialer({ insecure: true, connectTimeoutMs: 5_000 });
      try {
        const conn = await dialer.dial(HOST, listener.port);
        assert.equal(conn.remoteAddress, `${HOST}:${listener.port}`);
        const client = collector(conn);
        const sent: Uint8Array[] = [];
        for (let i = 0; i < 16; i++) {
          const chunk = pattern(100 + i * 37, i);
          sent.push(chunk);
          await conn.write(chunk);
        }
        const expected = Buffer.concat(sent);
        await client.waitFor(expected.byteLength);
        assert.ok(expected.byteLength > 4_000);
        assert.deepEqual(client.received(), expected);

        assert.equal(accepted.length, 1);
        await conn.close(0, 'done', 2_000);
        assert.equal(client.tracked.closes, 1);
        assert.equal(client.tracked.closeError, undefined);
        await Promise.race([accepted[0].closed, new Promise((r) => setTimeout(r, 3_000))]);
        assert.equal(accepted[0].closes, 1, 'server-side close fires once');
        assert.equal(accepted[0].closeError, undefined, 'a normal close is not an error');
        await assert.rejects(conn.write(new Uint8Array([1])), TransportError);
        // A second close is a no-op and close still fired once.
        await conn.close();
        assert.equal(client.tracked.closes, 1);
      } finally {
        await dialer.close();
        await listener.close(2_000);
      }
    });

    test('listener close ends open connections; the client sees close once', { timeout: 30_000 }, async () => {
      const { listener, accepted } = await echoServer(name);
      const dialer = await getTransport(name).createDialer({ insecure: true, connectTimeoutMs: 5_000 });
      try {
        const conn = await dialer.dial(HOST, listener.port);
        const client = collector(conn);
        await conn.write(pattern(10, 1));
        await client.waitFor(10);
        const started = Date.now();
        await listener.close(2_000);
        assert.ok(Date.now() - started < 2_500, 'listener close is bounded by its timeout');
        assert.equal(accepted[0].closes, 1);
        await Promise.race([client.tracked.closed, new Promise((r) => setTimeout(r, 5_000))]);
        assert.equal(client.tracked.closes, 1);
      } finally {
        await dialer.close();
        await listener.close();
      }
    });

    test('dial to a port with nothing listening rejects within the connect timeout', { timeout: 10_000 }, async () => {
      // Bind, note the port, close: nothing listens there afterwards.
      const { listener } = await echoServer(name);
      const port = listener.port;
      await listener.close();
      const dialer = await getTransport(name).createDialer({ insecure: true, connectTimeoutMs: 1_000 });
      try {
        const started = Date.now();
        await assert.rejects(dialer.dial(HOST, port), (error: unknown) => {
          assert.ok(error instanceof TransportError, `expected TransportError, got ${String(error)}`);
          assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
          assert.match(error.message, /gatectl serve/);
          if (name === 'quic') assert.ok(error instanceof ConnectTimeoutError);
          return true;
        });
        assert.ok(Date.now() - started < 3_000, `rejected after ${Date.now() - started} ms`);
      } finally {
        await dialer.close();
      }
    });

    test('listening twice on the same port fails with AddressInUseError', { timeout: 10_000 }, async () => {
      const { listener } = await echoServer(name);
      try {
        await assert.rejects(
          getTransport(name).listen({ host: HOST, port: listener.port, certificate, onConnection: () => {} }),
          (error: unknown) => {
            assert.ok(error instanceof AddressInUseError, `expected AddressInUseError, got ${String(error)}`);
            assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${listener.port}`));
            assert.match(error.message, /--port 0/);
            return true;
          },
        );
      } finally {
        await listener.close();
      }
    });

    test('certificate verification: `ca` trusts the server, another CA is refused', { timeout: 20_000 }, async () => {
      const { listener } = await echoServer(name);
      const other = await generateCertificate({ days: WEBTRANSPORT_CERTIFICATE_DAYS });
      const trusting = await getTransport(name).createDialer({ ca: certificate.certPem, connectTimeoutMs: 5_000 });
      const distrusting = await getTransport(name).createDialer({ ca: other.certPem, connectTimeoutMs: 5_000 });
      try {
        const conn = await trusting.dial(HOST, listener.port);
        const client = collector(conn);
        await conn.write(pattern(64, 3));
        await client.waitFor(64);
        await conn.close();
        await assert.rejects(distrusting.dial(HOST, listener.port), (error: unknown) => {
          assert.ok(error instanceof TransportError);
          assert.ok(!(error instanceof ConnectTimeoutError));
          assert.match(error.message, /--insecure|--ca/);
          return true;
        });
      } finally {
        await trusting.close();
        await distrusting.close();
        await listener.close();
      }
    });
  });
}

test('quic: 200 connections through one Dialer each echo 10 messages; all close in bounded time', { timeout: 90_000 }, async (t) => {
  const CONNECTIONS = 200;
  const MESSAGES = 10;
  const SIZE = 64;
  const { listener, accepted } = await echoServer('quic');
  const dialer = await getTransport('quic').createDialer({ insecure: true, connectTimeoutMs: 10_000 });
  try {
    const t0 = Date.now();
    const conns = await Promise.all(Array.from({ length: CONNECTIONS }, () => dialer.dial(HOST, listener.port)));
    const connectMs = Date.now() - t0;

    const t1 = Date.now();
    const clients = await Promise.all(
      conns.map(async (conn, c) => {
        const client = collector(conn);
        for (let m = 0; m < MESSAGES; m++) {
          await conn.write(pattern(SIZE, c * MESSAGES + m));
          await client.waitFor((m + 1) * SIZE);
        }
        const expected = Buffer.concat(Array.from({ length: MESSAGES }, (_, m) => pattern(SIZE, c * MESSAGES + m)));
        assert.deepEqual(client.received(), expected);
        return client;
      }),
    );
    const echoMs = Date.now() - t1;
    assert.equal(accepted.length, CONNECTIONS);

    const t2 = Date.now();
    await Promise.all(conns.map((conn) => conn.close(0, 'done', 3_000)));
    const closeMs = Date.now() - t2;
    assert.ok(closeMs < 4_000, `client closes took ${closeMs} ms`);
    for (const client of clients) assert.equal(client.tracked.closes, 1);

    const t3 = Date.now();
    await listener.close(3_000);
    const listenerCloseMs = Date.now() - t3;
    assert.ok(listenerCloseMs < 4_000);
    for (const server of accepted) assert.equal(server.closes, 1);
    t.diagnostic(
      `${CONNECTIONS} connects ${connectMs} ms, ${CONNECTIONS * MESSAGES} echoes ${echoMs} ms, ` +
        `client closes ${closeMs} ms, listener close ${listenerCloseMs} ms`,
    );
  } finally {
    await dialer.close();
    await listener.close();
  }
});

test('getTransport rejects an unknown name, naming the accepted values', () => {
  assert.throws(
    () => getTransport('nope'),
    (error: unknown) => {
      assert.ok(error instanceof InvalidInputError);
      assert.match(error.message, /nope/);
      assert.match(error.message, /quic/);
      assert.match(error.message, /tcp/);
      return true;
    },
  );
  assert.equal(getTransport('quic').name, 'quic');
  assert.equal(getTransport('tcp').name, 'tcp');
});

describe('certificates', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatectl-cert-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('generateCertificate gives PEM and an openssl-style SHA-256 fingerprint', () => {
    assert.match(certificate.certPem, /-----BEGIN CERTIFICATE-----/);
    assert.match(certificate.keyPem, /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/);
    assert.match(certificate.fingerprintSha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  test('loadCertificate reads PEM files and computes the same fingerprint', async () => {
    const certPath = join(dir, 'cert.pem');
    const keyPath = join(dir, 'key.pem');
    await writeFile(certPath, certificate.certPem);
    await writeFile(keyPath, certificate.keyPem);
    const loaded = await loadCertificate(certPath, keyPath);
    assert.equal(loaded.fingerprintSha256, certificate.fingerprintSha256);
  });

  test('loadCertificate names the file when it is missing or not PEM', async () => {
    const keyPath = join(dir, 'key2.pem');
    await writeFile(keyPath, certificate.keyPem);
    const missing = join(dir, 'missing.pem');
    await assert.rejects(loadCertificate(missing, keyPath), (error: unknown) => {
      assert.ok(error instanceof InvalidInputError);
      assert.ok(error.message.includes(missing));
      assert.match(error.message, /does not exist/);
      return true;
    });
    const junk = join(dir, 'junk.pem');
    await writeFile(junk, 'not a certificate\n');
    await assert.rejects(loadCertificate(junk, keyPath), (error: unknown) => {
      assert.ok(error instanceof InvalidInputError);
      assert.ok(error.message.includes(junk));
      return true;
    });
    const other = await generateCertificate();
    const otherKey = join(dir, 'other-key.pem');
    await writeFile(otherKey, other.keyPem);
    const certPath = join(dir, 'cert2.pem');
    await writeFile(certPath, certificate.certPem);
    await assert.rejects(loadCertificate(certPath, otherKey), InvalidInputError);
  });
});
