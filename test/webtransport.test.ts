/**
 * The `webtransport` transport (DESIGN §2, issue 7 item 1): HTTP/2 mode here (the native HTTP/3
 * package is not installed). Real sockets on 127.0.0.1 only; the generic transport tests in
 * transport.test.ts also run against it (TRANSPORT_NAMES).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { TransportError } from '../src/errors.js';
import { generateCertificate, certificateDaysFor, WEBTRANSPORT_CERTIFICATE_DAYS, DEFAULT_CERTIFICATE_DAYS } from '../src/transport/certificate.js';
import { getTransport } from '../src/transport/index.js';
import type { CertificateMaterial, Connection, Listener } from '../src/transport/index.js';
import { webtransportMode, WEBTRANSPORT_PATH } from '../src/transport/webtransport.js';
import { parseTargetUrl, runLoad } from '../src/load/run.js';
import { startInProcessGateway } from '../src/gateway/index.js';
import { resolveGatewayConfig, type GatewayFlags } from '../src/config/resolve.js';
import { assertCleanRun, gatectl, loadOptions, repoRoot } from './support.js';

const HOST = '127.0.0.1';
const wt = getTransport('webtransport');
const MB10 = 10 * 1000 * 1000;

let certificate: CertificateMaterial;
let dir: string;

before(async () => {
  certificate = await generateCertificate({ days: WEBTRANSPORT_CERTIFICATE_DAYS });
  dir = await mkdtemp(join(tmpdir(), 'gatectl-wt-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Close bookkeeping of one side of a connection. */
interface Side {
  closes: number;
  closeError: Error | undefined;
  closed: Promise<void>;
  bytes: number;
  crc: number;
  /** resolves once `n` bytes arrived (rejects after 30 s) */
  waitFor(n: number): Promise<void>;
}

/** Installs handlers that count bytes and a running CRC-32; `echo` writes every chunk back. */
function track(conn: Connection, echo = false): Side {
  let resolveClosed!: () => void;
  let waiter: { n: number; resolve: () => void } | undefined;
  const side: Side = {
    closes: 0,
    closeError: undefined,
    closed: new Promise((r) => (resolveClosed = r)),
    bytes: 0,
    crc: 0,
    waitFor: (n) =>
      side.bytes >= n
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`timed out waiting for ${n} bytes, have ${side.bytes}`)), 30_000);
            waiter = { n, resolve: () => { clearTimeout(timer); resolve(); } };
          }),
  };
  conn.setHandlers({
    data(chunk) {
      side.bytes += chunk.byteLength;
      side.crc = crc32(chunk, side.crc);
      if (echo) conn.write(chunk).catch(() => {});
      if (waiter !== undefined && side.bytes >= waiter.n) {
        const w = waiter;
        waiter = undefined;
        w.resolve();
      }
    },
    close(error) {
      side.closes++;
      side.closeError = error;
      resolveClosed();
    },
  });
  return side;
}

/** Writes `total` bytes of a deterministic pattern in 64 KiB chunks; returns their CRC-32. */
async function send(conn: Connection, total: number): Promise<number> {
  const chunk = new Uint8Array(64 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + 7) & 0xff;
  let crc = 0;
  for (let sent = 0; sent < total; ) {
    const n = Math.min(chunk.length, total - sent);
    const part = chunk.subarray(0, n);
    crc = crc32(part, crc);
    await conn.write(part);
    sent += n;
  }
  return crc;
}

function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  return Promise.race([p, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms))]);
}

async function server(onConnection: (conn: Connection) => void, cert = certificate): Promise<Listener> {
  return wt.listen({ host: HOST, port: 0, certificate: cert, onConnection });
}

describe('webtransport transport', () => {
  test('runs in HTTP/2 mode here (the native HTTP/3 package is not installed) and serves /gate', () => {
    assert.equal(webtransportMode(), 'http2');
    assert.equal(WEBTRANSPORT_PATH, '/gate');
    assert.equal(certificateDaysFor('webtransport'), 14);
    assert.equal(certificateDaysFor('quic'), DEFAULT_CERTIFICATE_DAYS);
  });

  test('10 MB each way: the bytes arrive intact and the stream never stalls', { timeout: 60_000 }, async (t) => {
    const accepted: { conn: Connection; side: Side }[] = [];
    const listener = await server((conn) => accepted.push({ conn, side: track(conn) }));
    const dialer = await wt.createDialer({ insecure: true, connectTimeoutMs: 5_000 });
    try {
      const conn = await dialer.dial(HOST, listener.port);
      const client = track(conn);
      // client -> server
      const t0 = performance.now();
      const upCrc = await send(conn, MB10);
      while (accepted.length === 0) await new Promise((r) => setTimeout(r, 5));
      const srv = accepted[0]!;
      await srv.side.waitFor(MB10);
      const upMs = performance.now() - t0;
      assert.equal(srv.side.bytes, MB10);
      assert.equal(srv.side.crc, upCrc, 'server received exactly what the client sent');
      // server -> client
      const t1 = performance.now();
      const downCrc = await send(srv.conn, MB10);
      await client.waitFor(MB10);
      const downMs = performance.now() - t1;
      assert.equal(client.bytes, MB10);
      assert.equal(client.crc, downCrc, 'client received exactly what the server sent');
      t.diagnostic(
        `10 MB up ${upMs.toFixed(0)} ms (${(MB10 / 1e3 / upMs).toFixed(1)} MB/s), ` +
          `10 MB down ${downMs.toFixed(0)} ms (${(MB10 / 1e3 / downMs).toFixed(1)} MB/s), mode ${webtransportMode()}`,
      );
      await conn.close(0, 'done');
      assert.equal(await within(srv.side.closed, 3_000), undefined);
      assert.equal(srv.side.closes, 1);
      assert.equal(srv.side.closeError, undefined);
    } finally {
      await dialer.close();
      await listener.close();
    }
  });

  test('server close: the client sees close once; pending and later writes reject with TransportError', { timeout: 30_000 }, async () => {
    const accepted: { conn: Connection; side: Side }[] = [];
    const listener = await server((conn) => accepted.push({ conn, side: track(conn) }));
    const dialer = await wt.createDialer({ insecure: true, connectTimeoutMs: 5_000 });
    try {
      const conn = await dialer.dial(HOST, listener.port);
      const client = track(conn);
      // Keep the client writing while the server closes: writes in flight must settle.
      const writing = send(conn, 1000 * MB10).then(() => 'finished', (error: unknown) => error);
      await conn.write(new Uint8Array([1]));
      while (accepted.length === 0) await new Promise((r) => setTimeout(r, 5));
      const srv = accepted[0]!;
      await srv.side.waitFor(1);
      await srv.conn.close(0x11, 'bad frame', 2_000);
      assert.equal(srv.side.closes, 1, 'server close handler once');
      assert.equal(srv.side.closeError, undefined, 'a local close is not an error');
      assert.equal(await within(client.closed, 5_000), undefined, 'client saw the close');
      assert.equal(client.closes, 1);
      const outcome = await within(writing, 5_000);
      assert.ok(outcome instanceof TransportError, `the pending write rejected with TransportError, got ${String(outcome)}`);
      await assert.rejects(conn.write(new Uint8Array([2])), TransportError);
      await assert.rejects(srv.conn.write(new Uint8Array([2])), TransportError);
      await srv.conn.close();
      await conn.close();
      assert.equal(srv.side.closes, 1);
      assert.equal(client.closes, 1);
    } finally {
      await dialer.close();
      await listener.close();
    }
  });

  test('client close with a code: the server sees close once; close is idempotent', { timeout: 30_000 }, async () => {
    const accepted: Side[] = [];
    const listener = await server((conn) => accepted.push(track(conn, true)));
    const dialer = await wt.createDialer({ ca: certificate.certPem, connectTimeoutMs: 5_000 });
    try {
      const conns = await Promise.all([dialer.dial(HOST, listener.port), dialer.dial(HOST, listener.port)]);
      const clients = conns.map((c) => track(c));
      await Promise.all(conns.map((c) => c.write(new Uint8Array(100))));
      await Promise.all(clients.map((c) => c.waitFor(100)));
      await conns[0]!.close(7, 'going away');
      const first = await Promise.race(accepted.map((s, i) => s.closed.then(() => i)));
      assert.equal(accepted[first]!.closes, 1);
      // the other connection is unaffected
      const other = first === 0 ? 1 : 0;
      assert.equal(accepted[other]!.closes, 0);
      await conns[1]!.write(new Uint8Array(50));
      await clients[1]!.waitFor(150);
      await Promise.all([conns[0]!.close(), conns[0]!.close()]);
      assert.equal(clients[0]!.closes, 1);
      await assert.rejects(conns[0]!.write(new Uint8Array([1])), TransportError);
    } finally {
      await dialer.close();
      await listener.close();
    }
  });

  test('50 connections through one Dialer each echo 10 messages in order; all close, nothing is left open', { timeout: 60_000 }, async (t) => {
    const CONNECTIONS = 50;
    const accepted: Side[] = [];
    const listener = await server((conn) => accepted.push(track(conn, true)));
    const dialer = await wt.createDialer({ insecure: true, connectTimeoutMs: 10_000 });
    try {
      const t0 = performance.now();
      const conns = await Promise.all(Array.from({ length: CONNECTIONS }, () => dialer.dial(HOST, listener.port)));
      const connectMs = performance.now() - t0;
      await Promise.all(conns.map(async (conn, c) => {
        const side = track(conn);
        let crc = 0;
        for (let m = 0; m < 10; m++) {
          const msg = new Uint8Array(64).fill((c * 10 + m) & 0xff);
          crc = crc32(msg, crc);
          await conn.write(msg);
          await side.waitFor((m + 1) * 64);
        }
        assert.equal(side.crc, crc, 'echoed bytes in order');
      }));
      assert.equal(accepted.length, CONNECTIONS);
      await Promise.all(conns.map((c) => c.close()));
      await Promise.all(accepted.map((s) => within(s.closed, 3_000)));
      for (const s of accepted) assert.equal(s.closes, 1);
      t.diagnostic(`${CONNECTIONS} connects ${connectMs.toFixed(0)} ms`);
    } finally {
      await dialer.close();
      await listener.close();
    }
    // Every HTTP/2 connection of both sides is gone shortly after.
    await new Promise((r) => setTimeout(r, 200));
    const tcp = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap');
    assert.deepEqual(tcp, [], 'no socket left open');
  });

  test('a certificate valid for more than 14 days cannot be pinned: the error says so and how to fix it', { timeout: 20_000 }, async () => {
    const long = await generateCertificate({ days: 30 });
    const listener = await server(() => {}, long);
    const dialer = await wt.createDialer({ insecure: true, connectTimeoutMs: 5_000 });
    try {
      await assert.rejects(dialer.dial(HOST, listener.port), (error: unknown) => {
        assert.ok(error instanceof TransportError);
        assert.match(error.message, /valid for 30\.0 days/);
        assert.match(error.message, /at most 14/);
        assert.match(error.message, /gatectl serve --transport webtransport/);
        return true;
      });
    } finally {
      await dialer.close();
      await listener.close();
    }
  });

  test('loading the library prints nothing (its "http3 loader" lines would break --json)', { timeout: 30_000 }, async () => {
    const script = `
      const { generateCertificate } = await import(${JSON.stringify(join(repoRoot, 'dist/src/transport/certificate.js'))});
      const { getTransport } = await import(${JSON.stringify(join(repoRoot, 'dist/src/transport/index.js'))});
      const l = await getTransport('webtransport').listen({ host: '127.0.0.1', port: 0, certificate: await generateCertificate({ days: 14 }), onConnection: () => {} });
      await l.close();
    `;
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script]);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, '');
  });

  test('--target https://HOST:PORT/gate means webtransport; other paths are refused with the fix', () => {
    assert.deepEqual(parseTargetUrl('https://127.0.0.1:4433/gate'), { transport: 'webtransport', host: '127.0.0.1', port: 4433 });
    assert.deepEqual(parseTargetUrl('https://[::1]:4433/'), { transport: 'webtransport', host: '::1', port: 4433 });
    assert.deepEqual(parseTargetUrl('https://example.test/gate'), { transport: 'webtransport', host: 'example.test', port: 443 });
    assert.deepEqual(parseTargetUrl('webtransport://127.0.0.1:9'), { transport: 'webtransport', host: '127.0.0.1', port: 9 });
    assert.throws(() => parseTargetUrl('https://127.0.0.1:4433/other'), /serves WebTransport at \/gate only; use https:\/\/127\.0\.0\.1:4433\/gate/);
    assert.throws(() => parseTargetUrl('ftp://x:1'), /https:\/\/HOST:PORT\/gate/);
  });
});

describe('gateway over webtransport', () => {
  let certPath: string;
  let keyPath: string;
  before(async () => {
    certPath = join(dir, 'cert.pem');
    keyPath = join(dir, 'key.pem');
    await writeFile(certPath, certificate.certPem);
    await writeFile(keyPath, certificate.keyPem);
  });

  test('an in-process gateway answers a small load run in order, with 0 violations', { timeout: 90_000 }, async (t) => {
    const flags: GatewayFlags = {
      host: HOST, port: 0, transport: 'webtransport', mode: 'async', 'upstream-latency': '2ms', 'upstream-distribution': 'exponential',
      'before-notifies': 2, 'after-notifies': 1, 'task-timeout': '30s', cert: certPath, key: keyPath,
    };
    const gw = await startInProcessGateway(resolveGatewayConfig(flags, {}) as never);
    try {
      const r = await runLoad(loadOptions('wt', { clients: 20, duration: '2s', 'rate-per-client': '5', 'payload-bytes': 32 }), gw);
      const c = r.client;
      assert.equal(r.config.transport, 'webtransport');
      assertCleanRun(c, 20, 20 * 5 * 2 * 0.9, 3);
      t.diagnostic(`${c.responses} responses, e2e p99 ${c.latency.e2e.summary.p99_us} µs`);
    } finally {
      await gw.stop();
    }
  });

  test('gatectl serve --transport webtransport and gatectl load --target https://127.0.0.1:PORT/gate work together', { timeout: 90_000 }, async () => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin/run.js'), 'serve', '--transport', 'webtransport', '--host', HOST, '--port', '0', '--monitor-port', '0', '--cert', certPath, '--key', keyPath], { cwd: dir });
    let exited = false;
    child.on('exit', () => (exited = true));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let seen = '';
        const timer = setTimeout(() => reject(new Error(`serve did not print its URL:\n${seen}`)), 30_000);
        const onData = (d: Buffer): void => {
          seen += d.toString();
          const m = /listening on \S+:\/\/127\.0\.0\.1:(\d+)/.exec(seen);
          if (m !== null) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
      });
      const r = await gatectl(['load', '--target', `https://${HOST}:${port}/gate`, '--ca', certPath, '--json', '--clients', '5', '--duration', '1s', '--rate-per-client', '4', '--quiet', '--out', join(dir, 'wt.json')], dir);
      assert.equal(r.code, 0, r.stderr);
      const res = JSON.parse(r.stdout) as { config: { transport: string }; client: { responses: number; requests_sent: number; violations: Record<string, number> } };
      assert.equal(res.config.transport, 'webtransport');
      assert.ok(res.client.requests_sent > 0);
      assert.equal(res.client.responses, res.client.requests_sent);
      assert.deepEqual(res.client.violations, { reorders: 0, gaps: 0, duplicates: 0, notify_order_violations: 0 });
      child.kill('SIGTERM');
      await new Promise((r2) => (exited ? r2(null) : child.once('exit', r2)));
      assert.equal(child.exitCode, 0);
    } finally {
      if (!exited) child.kill('SIGKILL');
    }
  });
});
