/**
 * WebTransport against QUIC and TLS/TCP on this machine (issue 7 item 1, `gatectl bench
 * webtransport`; docs/webtransport.md): (1) a 10 MB transfer each way over one connection, transport
 * level, no gateway, best of 3; (2) a small load run against gatectl's in-process target per
 * transport, open model at a fixed rate, then closed model (1 request in flight per client).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { generateCertificate, WEBTRANSPORT_CERTIFICATE_DAYS } from '../../transport/certificate.js';
import { getTransport, type Connection, type TransportName } from '../../transport/index.js';
import { webtransportMode, type WebTransportMode } from '../../transport/webtransport.js';
import { startInProcessGateway } from '../../gateway/index.js';
import { resolveGatewayConfig } from '../../config/resolve.js';
import { runLoad, type LoadOptions } from '../../load/run.js';
import { InvalidInputError } from '../../errors.js';
import { benchEnvironment, type BenchEnvironment } from '../environment.js';
import { cliLoadOptions, steadySchedule } from '../load-options.js';
import { runStateDir } from '../../state-dir.js';

/** Options (`gatectl bench webtransport`): clients of each load run, its length (ms), the open model's total rate (requests/s). */
export interface WebTransportBenchOptions {
  clients: number;
  durationMs: number;
  rate: number;
}

/** Defaults: 50 clients, 5 s, 1000 requests/s. */
export const DEFAULT_WEBTRANSPORT_BENCH_OPTIONS: Readonly<WebTransportBenchOptions> = Object.freeze({ clients: 50, durationMs: 5000, rate: 1000 });

/** Checks options; throws InvalidInputError naming the flag. */
export function validateWebTransportBenchOptions(o: WebTransportBenchOptions): void {
  if (!Number.isInteger(o.clients) || o.clients < 1 || o.clients > 10_000) throw new InvalidInputError(`--clients ${o.clients} is not valid: use a whole number from 1 to 10000, e.g. 50`);
  if (!(o.durationMs > 0 && o.durationMs <= 600_000)) throw new InvalidInputError(`--duration ${o.durationMs}ms is not valid: use at most 10m, e.g. 5s`);
  if (!(o.rate > 0 && o.rate <= 1_000_000)) throw new InvalidInputError(`--rate ${o.rate} is not valid: use requests/s above 0 and at most 1000000, e.g. 1000`);
}

/** One load run's figures: e2e latency µs, responses/s, and what went wrong (protocol violations, errors). */
export interface LoadFigures { responses_per_s: number; p50_us: number; p99_us: number; responses: number; violations: number; errors: number }

/** The result (JSON file `webtransport-bench.json`). */
export interface WebTransportBenchResult {
  schema: 'gatectl.webtransport-bench/v1';
  created_at: string;
  command: string;
  environment: BenchEnvironment;
  webtransport_mode: WebTransportMode;
  options: WebTransportBenchOptions;
  /** best of 3 per transport, MB/s (10^6 bytes) */
  transfer_10mb_best_of_3: Record<string, { up_mb_s: number; down_mb_s: number }>;
  load_open: Record<string, LoadFigures>;
  load_closed: Record<string, LoadFigures>;
}

/** Bytes of each transfer (10 MB, 1 MB = 10^6 bytes). */
const MB10 = 10 * 1000 * 1000;
/** Transports of the 10 MB transfer, in the order they run. */
export const TRANSFER_TRANSPORTS: readonly TransportName[] = ['webtransport', 'quic', 'tcp'];

/** Sends `total` bytes in 64 KiB writes. */
async function send(conn: Connection, total: number): Promise<void> {
  const chunk = new Uint8Array(64 * 1024).fill(7);
  for (let sent = 0; sent < total; sent += chunk.length) await conn.write(chunk.subarray(0, Math.min(chunk.length, total - sent)));
}

/**
 * One upload then one download of `MB10` bytes over one connection of `name` (listener and dialer
 * in this process, no gateway); returns MB/s each way (1 MB = 10^6 bytes). Rejects with TransportError.
 */
export async function transfer(name: TransportName, certificate: Awaited<ReturnType<typeof generateCertificate>>): Promise<{ up: number; down: number }> {
  let serverConn: Connection | undefined;
  let serverBytes = 0;
  let serverWait: (() => void) | undefined;
  const listener = await getTransport(name).listen({
    host: '127.0.0.1', port: 0, certificate,
    onConnection: (c) => {
      serverConn = c;
      c.setHandlers({ data: (d) => { serverBytes += d.byteLength; if (serverBytes >= MB10) serverWait?.(); }, close: () => {} });
    },
  });
  const dialer = await getTransport(name).createDialer({ ca: certificate.certPem, connectTimeoutMs: 10_000 });
  try {
    const conn = await dialer.dial('127.0.0.1', listener.port);
    let clientBytes = 0;
    let clientWait: (() => void) | undefined;
    conn.setHandlers({ data: (d) => { clientBytes += d.byteLength; if (clientBytes >= MB10) clientWait?.(); }, close: () => {} });
    const t0 = performance.now();
    const upDone = new Promise<void>((r) => (serverWait = r));
    await send(conn, MB10);
    await upDone;
    const upMs = performance.now() - t0;
    const t1 = performance.now();
    const downDone = new Promise<void>((r) => (clientWait = r));
    await send(serverConn!, MB10);
    await downDone;
    const downMs = performance.now() - t1;
    await conn.close();
    return { up: MB10 / 1e3 / upMs, down: MB10 / 1e3 / downMs };
  } finally {
    await dialer.close();
    await listener.close();
  }
}

/**
 * One load run against a fresh in-process gateway of `name` (async mode, 1 ms fixed upstream, one
 * notify before and after each response, the certificate at certPath/keyPath): `gatectl load`'s
 * defaults with the benchmark's clients and length, 64-byte payloads, a 20 s connect timeout;
 * open at `rate` requests/s, or closed (rate null, 1 in flight per client).
 */
async function load(name: TransportName, certPath: string, keyPath: string, o: WebTransportBenchOptions, rate: number | null): Promise<LoadFigures> {
  const gw = await startInProcessGateway(resolveGatewayConfig({
    host: '127.0.0.1', port: 0, transport: name, mode: 'async', 'upstream-latency': '1ms', 'upstream-distribution': 'fixed',
    'before-notifies': 1, 'after-notifies': 1, cert: certPath, key: keyPath,
  }, {}, runStateDir()) as never);
  try {
    const open = cliLoadOptions({ clients: o.clients, durationMs: o.durationMs, rate: rate ?? 1, payloadBytes: 64, label: name });
    const opts: LoadOptions = rate !== null ? { ...open, connectTimeoutMs: 20_000 }
      : { ...open, connectTimeoutMs: 20_000, model: 'closed', schedule: steadySchedule(o.clients, o.durationMs, null), scheduleLabel: 'closed, 1 in flight per client' };
    const r = await runLoad(opts, gw);
    const s = r.client.latency.e2e.summary;
    const v = r.client.violations;
    return {
      responses_per_s: Math.round(r.client.responses_per_s), p50_us: s.p50_us, p99_us: s.p99_us, responses: r.client.responses,
      violations: v.reorders + v.gaps + v.duplicates + v.notify_order_violations,
      errors: Object.values(r.client.errors_by_code).reduce((a, b) => a + b, 0) + Object.values(r.client.transport_errors).reduce((a, b) => a + b, 0),
    };
  } finally {
    await gw.stop();
  }
}

/**
 * Runs the benchmark: the transfers (webtransport, quic, tcp; best of 3 each), then the open and
 * the closed load run of webtransport and quic. `onProgress` gets one line per figure.
 * @throws InvalidInputError for bad options; TransportError when a transport fails
 */
export async function runWebTransportBench(o: WebTransportBenchOptions, command: string, onProgress: (line: string) => void = () => undefined): Promise<WebTransportBenchResult> {
  validateWebTransportBenchOptions(o);
  const createdAt = new Date().toISOString();
  const certificate = await generateCertificate({ days: WEBTRANSPORT_CERTIFICATE_DAYS });
  const tmp = await mkdtemp(join(os.tmpdir(), 'gatectl-wtbench-'));
  const certPath = join(tmp, 'cert.pem');
  const keyPath = join(tmp, 'key.pem');
  await writeFile(certPath, certificate.certPem);
  await writeFile(keyPath, certificate.keyPem);
  const transfers: Record<string, { up_mb_s: number; down_mb_s: number }> = {};
  const open: Record<string, LoadFigures> = {};
  const closed: Record<string, LoadFigures> = {};
  try {
    for (const name of TRANSFER_TRANSPORTS) {
      let best = { up: 0, down: 0 };
      for (let i = 0; i < 3; i++) {
        const t = await transfer(name, certificate);
        best = { up: Math.max(best.up, t.up), down: Math.max(best.down, t.down) };
      }
      transfers[name] = { up_mb_s: Math.round(best.up * 10) / 10, down_mb_s: Math.round(best.down * 10) / 10 };
      onProgress(`${name}: 10 MB up ${transfers[name].up_mb_s} MB/s, down ${transfers[name].down_mb_s} MB/s`);
    }
    for (const name of ['webtransport', 'quic'] as TransportName[]) {
      open[name] = await load(name, certPath, keyPath, o, o.rate);
      onProgress(`${name}: open ${o.rate}/s → ${JSON.stringify(open[name])}`);
      closed[name] = await load(name, certPath, keyPath, o, null);
      onProgress(`${name}: closed → ${JSON.stringify(closed[name])}`);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return {
    schema: 'gatectl.webtransport-bench/v1', created_at: createdAt, command, environment: benchEnvironment(), webtransport_mode: webtransportMode(),
    options: { ...o }, transfer_10mb_best_of_3: transfers, load_open: open, load_closed: closed,
  };
}
