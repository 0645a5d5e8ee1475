/**
 * WebTransport (HTTP/2 mode here) against QUIC and TLS/TCP on this machine (issue 7 item 1):
 * 1. a 10 MB transfer each way over one connection (transport level, no gateway), best of 3;
 * 2. a small load run against an in-process gateway: open model at a fixed rate, then closed model.
 * Writes reports/webtransport-bench.json and .md (machine, command and every figure measured here).
 *
 *   npm run build && node dist/bench/webtransport.js [--clients 50] [--seconds 5] [--rate 1000] [--out-dir reports]
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateCertificate, WEBTRANSPORT_CERTIFICATE_DAYS } from '../src/transport/certificate.js';
import { getTransport, type Connection, type TransportName } from '../src/transport/index.js';
import { webtransportMode } from '../src/transport/webtransport.js';
import { startInProcessGateway } from '../src/gateway/index.js';
import { resolveGatewayConfig } from '../src/config/resolve.js';
import { resolveLoadOptions } from '../src/config/load.js';
import { runLoad } from '../src/load/run.js';

const MB10 = 10 * 1000 * 1000;
const TRANSPORTS: TransportName[] = ['webtransport', 'quic', 'tcp'];

/** Sends `total` bytes in 64 KiB writes. */
async function send(conn: Connection, total: number): Promise<void> {
  const chunk = new Uint8Array(64 * 1024).fill(7);
  for (let sent = 0; sent < total; sent += chunk.length) await conn.write(chunk.subarray(0, Math.min(chunk.length, total - sent)));
}

/** One upload then one download of `MB10` bytes; returns MB/s each way (1 MB = 10^6 bytes). */
async function transfer(name: TransportName, certificate: Awaited<ReturnType<typeof generateCertificate>>): Promise<{ up: number; down: number }> {
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

interface LoadFigures { responses_per_s: number; p50_us: number; p99_us: number; responses: number; violations: number; errors: number }

async function load(name: TransportName, certPath: string, keyPath: string, flags: { clients: number; seconds: number; rate?: number; closed?: boolean }): Promise<LoadFigures> {
  const gw = await startInProcessGateway(resolveGatewayConfig({
    host: '127.0.0.1', port: 0, transport: name, mode: 'async', 'upstream-latency': '1ms', 'upstream-distribution': 'fixed',
    'before-notifies': 1, 'after-notifies': 1, cert: certPath, key: keyPath,
  }, {}) as never);
  try {
    const opts = resolveLoadOptions({
      clients: flags.clients, duration: `${flags.seconds}s`, 'payload-bytes': 64, 'connect-timeout': '20s', 'drain-timeout': '10s',
      ...(flags.closed === true ? { model: 'closed', concurrency: 1 } : { rate: String(flags.rate) }),
    }, name);
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

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { clients: { type: 'string' }, seconds: { type: 'string' }, rate: { type: 'string' }, 'out-dir': { type: 'string' } } });
  const clients = Number(values.clients ?? 50);
  const seconds = Number(values.seconds ?? 5);
  const rate = Number(values.rate ?? 1000);
  const outDir = values['out-dir'] ?? 'reports';
  const command = ['node', 'dist/bench/webtransport.js', ...process.argv.slice(2)].join(' ');
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
    for (const name of TRANSPORTS) {
      let best = { up: 0, down: 0 };
      for (let i = 0; i < 3; i++) {
        const t = await transfer(name, certificate);
        best = { up: Math.max(best.up, t.up), down: Math.max(best.down, t.down) };
      }
      transfers[name] = { up_mb_s: Math.round(best.up * 10) / 10, down_mb_s: Math.round(best.down * 10) / 10 };
      process.stderr.write(`${name}: 10 MB up ${transfers[name].up_mb_s} MB/s, down ${transfers[name].down_mb_s} MB/s\n`);
    }
    for (const name of ['webtransport', 'quic'] as TransportName[]) {
      open[name] = await load(name, certPath, keyPath, { clients, seconds, rate });
      process.stderr.write(`${name}: open ${rate}/s → ${JSON.stringify(open[name])}\n`);
      closed[name] = await load(name, certPath, keyPath, { clients, seconds, closed: true });
      process.stderr.write(`${name}: closed → ${JSON.stringify(closed[name])}\n`);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const machine = { node: process.version, platform: `${os.platform()} ${os.release()}`, cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? '?', total_mem_bytes: os.totalmem() };
  const result = { command, machine, webtransport_mode: webtransportMode(), clients, seconds, rate, transfer_10mb_best_of_3: transfers, load_open: open, load_closed: closed };
  await mkdir(outDir, { recursive: true });
  const json = join(outDir, 'webtransport-bench.json');
  const md = join(outDir, 'webtransport-bench.md');
  await writeFile(json, `${JSON.stringify(result, null, 2)}\n`);
  const row = (n: string, f: LoadFigures) => `| ${n} | ${f.responses_per_s} | ${f.p50_us} | ${f.p99_us} | ${f.violations} | ${f.errors} |`;
  const lines = [
    `# WebTransport (${webtransportMode()} mode) vs QUIC vs TLS/TCP`, '',
    `Command: \`${command}\`  `,
    `Machine: ${machine.cpus} × ${machine.cpu_model}, ${(machine.total_mem_bytes / 2 ** 30).toFixed(0)} GiB, Node ${machine.node}, ${machine.platform}; client and server in one process (gateway on a worker thread for the load runs).`, '',
    '## 10 MB over one connection, each way (best of 3; 1 MB = 10^6 bytes)', '',
    '| transport | up MB/s | down MB/s |', '|---|---|---|',
    ...TRANSPORTS.map((n) => `| ${n} | ${transfers[n]!.up_mb_s} | ${transfers[n]!.down_mb_s} |`), '',
    `## Load: ${clients} clients, ${seconds} s, open model at ${rate} req/s (e2e latency, µs)`, '',
    '| transport | responses/s | p50 µs | p99 µs | violations | errors |', '|---|---|---|---|---|---|',
    ...Object.entries(open).map(([n, f]) => row(n, f)), '',
    `## Load: ${clients} clients, ${seconds} s, closed model (1 request in flight per client)`, '',
    '| transport | responses/s | p50 µs | p99 µs | violations | errors |', '|---|---|---|---|---|---|',
    ...Object.entries(closed).map(([n, f]) => row(n, f)), '',
  ];
  await writeFile(md, lines.join('\n'));
  process.stdout.write(lines.join('\n'));
  process.stdout.write(`written: ${json}, ${md}\n`);
}

await main();
