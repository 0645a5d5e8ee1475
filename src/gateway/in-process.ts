/**
 * The in-process target: a GatewayServer on its own worker_thread, bound to 127.0.0.1 on a free
 * port, controlled by messages (see gateway/worker.ts).
 */
import { gatewayUrl } from '../transport/index.js';
import { Worker } from 'node:worker_threads';
import { errorFromWire, GatectlError, type WireError } from '../errors.js';
import type { GatewayConfig } from './config.js';
import type { GatewaySnapshot } from './server.js';
import type { ServerResult } from '../metrics/result.js';

/** Handle on a running in-process gateway; also a load TargetHandle (structurally). */
export interface InProcessGateway {
  kind: 'in-process';
  /** false: clients verify the generated certificate against `ca` */
  insecure: boolean;
  /** the generated certificate, used as the clients' CA */
  ca: string;
  /** TargetHandle: resets the stage histograms */
  markSteadyStart(): Promise<void>;
  /** TargetHandle: the gateway's snapshot as a ServerResult */
  serverResult(): Promise<ServerResult>;
  /** `quic://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** the generated server certificate (PEM) */
  certPem: string;
  /** SHA-256 fingerprint of the certificate */
  fingerprint: string;
  /** Clears the stage histograms (start of the measured phase). */
  resetStages(): Promise<void>;
  /** Current snapshot: stage histograms (encoded), queue, processor and counters. */
  snapshot(): Promise<GatewaySnapshot>;
  /** The gateway thread's V8 heap (bytes): used and total heap, and external memory (buffers). */
  heap(): Promise<{ used_heap_size: number; total_heap_size: number; external_memory: number }>;
  /** Drains and stops the gateway (bounded: 10 s inside, 15 s here), then ends the thread. */
  stop(): Promise<void>;
}

/**
 * Starts a gateway on a worker thread. Rejects with the worker's error (e.g. AddressInUseError)
 * rebuilt as its class (errorFromWire).
 */
export async function startInProcessGateway(config: GatewayConfig): Promise<InProcessGateway> {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: config });
  const waitFor = <T>(type: string, timeoutMs: number): Promise<T> => new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new GatectlError(`in-process gateway: no '${type}' within ${timeoutMs} ms`)); }, timeoutMs);
    const onMsg = (m: { type: string; error?: WireError }) => {
      if (m.type === type) { cleanup(); resolve(m as T); }
      else if (m.type === 'error') { cleanup(); reject(errorFromWire(m.error ?? { code: 'GATECTL_ERROR', message: 'gateway error' })); }
    };
    const onErr = (e: Error) => { cleanup(); reject(e); };
    const onExit = (code: number) => { cleanup(); reject(new GatectlError(`in-process gateway exited with code ${code}`)); };
    const cleanup = () => { clearTimeout(timer); worker.off('message', onMsg); worker.off('error', onErr); worker.off('exit', onExit); };
    worker.on('message', onMsg);
    worker.on('error', onErr);
    worker.on('exit', onExit);
  });
  let ready: { port: number; certPem: string; fingerprint: string };
  try {
    ready = await waitFor('ready', 30_000);
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  let stopped = false;
  const handle: InProcessGateway = {
    kind: 'in-process',
    insecure: false,
    ca: ready.certPem,
    markSteadyStart: () => handle.resetStages(),
    async serverResult() {
      const snap = await handle.snapshot();
      return { source: 'in-process', stages: snap.stages, queue: { ...snap.queue }, processor: snap.processor === null ? null : { ...snap.processor }, counters: { ...snap.counters }, ...(snap.transport != null ? { transport: snap.transport } : {}) };
    },
    url: gatewayUrl(config.transport, config.host, ready.port),
    port: ready.port,
    certPem: ready.certPem,
    fingerprint: ready.fingerprint,
    async resetStages() {
      const p = waitFor('reset-done', 10_000);
      worker.postMessage({ type: 'reset' });
      await p;
    },
    async snapshot() {
      const p = waitFor<{ snapshot: GatewaySnapshot }>('snapshot', 10_000);
      worker.postMessage({ type: 'snapshot' });
      return (await p).snapshot;
    },
    async heap() {
      const p = waitFor<{ heap: { used_heap_size: number; total_heap_size: number; external_memory: number } }>('heap', 10_000);
      worker.postMessage({ type: 'heap' });
      return (await p).heap;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const p = waitFor('stopped', 15_000).catch(() => undefined);
      worker.postMessage({ type: 'stop' });
      await p;
      await worker.terminate();
    },
  };
  return handle;
}
