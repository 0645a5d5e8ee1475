/**
 * Entry of the in-process gateway's child process (issue 14 §4; DESIGN §5: the target never runs on
 * the load clients' event loop): a GatewayServer in a process of its own, so the target and the
 * load generator never share a V8 heap, a garbage collector or an event loop. Forked with IPC by
 * gateway/in-process.ts, as the `--workers` generators are (load/worker.ts).
 *
 * Protocol (process.send, `serialization: 'advanced'`):
 * parent → child: `{ type: 'start', config }` (first), then `{ type: 'reset' | 'snapshot' | 'heap' | 'stop' }`;
 * child → parent: `{ type: 'ready', port, certPem, fingerprint }`, `{ type: 'snapshot', snapshot, cpuUs, peakRssBytes }`,
 * `{ type: 'heap', heap }`, `{ type: 'reset-done' }`, `{ type: 'stopped' }`, `{ type: 'error', error: WireError }`.
 * `cpuUs` is the CPU time (user + system) this process used since the last reset (or its start), µs;
 * `peakRssBytes` its peak resident set size since it started, bytes.
 *
 * Lifetime: it ends after `stop` (the gateway drains within 10 s), and also when the parent goes
 * away (IPC disconnect: the parent exited or was killed) after a stop bounded by
 * PARENT_GONE_STOP_MS. SIGINT is ignored: Ctrl-C reaches the whole process group, and the parent
 * decides (it finishes the run, then sends `stop`).
 */
import v8 from 'node:v8';
import { createLogger } from '../log.js';
import { GatewayServer } from './server.js';
import type { GatewayConfig } from './config.js';
import { errorToWire } from '../errors.js';

/** Bound of the gateway's stop when the parent is gone, ms. */
const PARENT_GONE_STOP_MS = 2000;

const send = (msg: unknown): void => {
  if (process.connected) process.send?.(msg);
};
let server: GatewayServer | null = null;
let cpuAtReset = process.cpuUsage();

/** CPU µs (user + system) since the last reset. */
function cpuSinceReset(): number {
  const d = process.cpuUsage(cpuAtReset);
  return d.user + d.system;
}

async function start(config: GatewayConfig): Promise<void> {
  const s = new GatewayServer(config, undefined, createLogger(config.queue.enableDebugLog, 'gateway', 'warn'));
  server = s;
  try {
    await s.start();
    cpuAtReset = process.cpuUsage();
    send({ type: 'ready', port: s.port, certPem: s.cert.certPem, fingerprint: s.cert.fingerprintSha256 });
  } catch (err) {
    send({ type: 'error', error: errorToWire(err) });
    process.disconnect?.();
  }
}

process.on('message', (msg: { type: string; config?: GatewayConfig }) => {
  switch (msg.type) {
    case 'start':
      void start(msg.config!);
      break;
    case 'reset':
      server?.stages.reset();
      server?.cohorts.reset();
      cpuAtReset = process.cpuUsage();
      send({ type: 'reset-done' });
      break;
    case 'heap': {
      const h = v8.getHeapStatistics();
      send({ type: 'heap', heap: { used_heap_size: h.used_heap_size, total_heap_size: h.total_heap_size, external_memory: h.external_memory } });
      break;
    }
    case 'snapshot':
      if (server !== null) send({ type: 'snapshot', snapshot: server.snapshot(), cpuUs: cpuSinceReset(), peakRssBytes: process.resourceUsage().maxRSS * 1024 });
      break;
    case 'stop':
      void (server?.stop(10_000) ?? Promise.resolve()).finally(() => {
        send({ type: 'stopped' });
        process.disconnect?.();
      });
      break;
  }
});

// Ctrl-C reaches the whole process group: the parent decides when the target stops
process.on('SIGINT', () => undefined);
// the parent went away (exited, killed, or done with us): stop within a bound and do not linger
process.on('disconnect', () => {
  setTimeout(() => process.exit(0), PARENT_GONE_STOP_MS + 500).unref();
  void (server?.stop(PARENT_GONE_STOP_MS) ?? Promise.resolve()).finally(() => process.exit(0));
});
