/**
 * The in-process target (issue 14 §4): a GatewayServer in a child process of its own (fork with
 * IPC, like the `--workers` generators), bound to 127.0.0.1 on a free port and controlled by
 * messages (see gateway/child.ts). The target and the load generator never share a V8 heap, a
 * garbage collector or an event loop, so neither's pauses show up as the other's latency, and each
 * side's CPU time is its own (`server.cpu_us`, `generator.cpu_us` in the result).
 *
 * The child ends with the run: `stop()` drains it and waits for its exit (killing it past
 * STOP_BOUND_MS); if this process exits first, an exit hook kills every child still running; and a
 * child whose parent died (IPC disconnect) stops itself within 2 s. Ctrl-C (SIGINT, sent to the
 * whole process group) is ignored by the child: the parent finishes the run and then stops it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { gatewayUrl } from '../transport/index.js';
import { errorFromWire, GatectlError, type WireError } from '../errors.js';
import type { GatewayConfig } from './config.js';
import type { GatewaySnapshot } from './server.js';
import type { ServerResult } from '../metrics/result.js';
import type { EncodedLatency } from '../metrics/histogram.js';

/** Handle on a running in-process gateway; also a load TargetHandle (structurally). */
export interface InProcessGateway {
  kind: 'in-process';
  /** false: clients verify the generated certificate against `ca` */
  insecure: boolean;
  /** the generated certificate, used as the clients' CA */
  ca: string;
  /** TargetHandle: resets the stage histograms */
  markSteadyStart(): Promise<void>;
  /** TargetHandle: the gateway's snapshot as a ServerResult, with the child's CPU µs since markSteadyStart and its peak RSS */
  serverResult(): Promise<ServerResult>;
  /** `quic://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** the generated server certificate (PEM) */
  certPem: string;
  /** SHA-256 fingerprint of the certificate */
  fingerprint: string;
  /** Clears the stage histograms and the CPU count (start of the measured phase). */
  resetStages(): Promise<void>;
  /** Current snapshot: stage histograms (encoded), queue, processor and counters. */
  snapshot(): Promise<GatewaySnapshot>;
  /** CPU time (user + system) the gateway process used since the last resetStages (or its start), µs. */
  cpuUs(): Promise<number>;
  /** The gateway process's V8 heap (bytes): used and total heap, and external memory (buffers). */
  heap(): Promise<{ used_heap_size: number; total_heap_size: number; external_memory: number }>;
  /** The child's process id (tests). */
  pid: number;
  /** Drains and stops the gateway (bounded: 10 s inside, STOP_BOUND_MS here), then waits for the process to exit. */
  stop(): Promise<void>;
}

/** Longest wait for the child's drain and exit, ms; then it is killed (SIGKILL). */
export const STOP_BOUND_MS = 15_000;

/** Children not yet exited: killed if this process exits first (a second Ctrl-C, an uncaught error). */
const live = new Set<ChildProcess>();
let exitHook = false;

function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}


/**
 * Starts a gateway in a child process. Rejects with the child's error (e.g. AddressInUseError)
 * rebuilt as its class (errorFromWire), or a GatectlError when the child exits or says nothing
 * within 30 s.
 */
export async function startInProcessGateway(config: GatewayConfig): Promise<InProcessGateway> {
  const child = fork(fileURLToPath(new URL('./child.js', import.meta.url)), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' });
  track(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const waitFor = <T>(type: string, timeoutMs: number): Promise<T> => new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new GatectlError(`in-process gateway: no '${type}' within ${timeoutMs} ms`)); }, timeoutMs);
    const onMsg = (m: { type: string; error?: WireError }) => {
      if (m.type === type) { cleanup(); resolve(m as T); }
      else if (m.type === 'error') { cleanup(); reject(errorFromWire(m.error ?? { code: 'GATECTL_ERROR', message: 'gateway error' })); }
    };
    const onErr = (e: Error) => { cleanup(); reject(e); };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      cleanup();
      reject(new GatectlError(`in-process gateway exited (${signal ?? `code ${code}`}) before '${type}'`));
    };
    const cleanup = () => { clearTimeout(timer); child.off('message', onMsg); child.off('error', onErr); child.off('exit', onExit); };
    child.on('message', onMsg);
    child.on('error', onErr);
    child.on('exit', onExit);
  });
  /** sends `msg` to the child; a child already gone makes the waitFor reject instead */
  const post = (msg: unknown): void => {
    if (child.connected) child.send(msg as never);
  };
  let ready: { port: number; certPem: string; fingerprint: string };
  try {
    const p = waitFor<typeof ready>('ready', 30_000);
    post({ type: 'start', config });
    ready = await p;
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  }
  let stopping: Promise<void> | null = null;
  const snapshotWithCpu = async (): Promise<{ snapshot: GatewaySnapshot; cpuUs: number; peakRssBytes: number }> => {
    const p = waitFor<{ snapshot: GatewaySnapshot; cpuUs: number; peakRssBytes: number }>('snapshot', 10_000);
    post({ type: 'snapshot' });
    return p;
  };
  const handle: InProcessGateway = {
    kind: 'in-process',
    insecure: false,
    ca: ready.certPem,
    markSteadyStart: () => handle.resetStages(),
    async serverResult() {
      const { snapshot: snap, cpuUs, peakRssBytes } = await snapshotWithCpu();
      return {
        source: 'in-process', stages: snap.stages, queue: { ...snap.queue }, processor: snap.processor === null ? null : { ...snap.processor }, counters: { ...snap.counters },
        ...(snap.transport != null ? { transport: snap.transport } : {}),
        ...(snap.cohorts !== undefined ? { cohorts: snap.cohorts as Record<string, Record<string, EncodedLatency>> } : {}),
        cpu_us: cpuUs,
        peak_rss_bytes: peakRssBytes,
      };
    },
    url: gatewayUrl(config.transport, config.host, ready.port),
    port: ready.port,
    pid: child.pid ?? 0,
    certPem: ready.certPem,
    fingerprint: ready.fingerprint,
    async resetStages() {
      const p = waitFor('reset-done', 10_000);
      post({ type: 'reset' });
      await p;
    },
    async snapshot() {
      return (await snapshotWithCpu()).snapshot;
    },
    async cpuUs() {
      return (await snapshotWithCpu()).cpuUs;
    },
    async heap() {
      const p = waitFor<{ heap: { used_heap_size: number; total_heap_size: number; external_memory: number } }>('heap', 10_000);
      post({ type: 'heap' });
      return (await p).heap;
    },
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const p = waitFor('stopped', STOP_BOUND_MS).catch(() => undefined);
          post({ type: 'stop' });
          await p;
        }
        const killer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(killer);
      })();
      return stopping;
    },
  };
  return handle;
}
