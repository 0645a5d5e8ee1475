/**
 * worker_thread entry of the in-process gateway (DESIGN §5: the target never runs on the load
 * clients' event loop). Protocol with the parent (gateway/in-process.ts):
 * parent -> worker: `{ type: 'reset' | 'snapshot' | 'heap' | 'stop' }`;
 * worker -> parent: `{ type: 'ready', port, certPem, fingerprint }`, `{ type: 'snapshot', snapshot }`,
 * `{ type: 'heap', heap }`, `{ type: 'reset-done' }`, `{ type: 'stopped' }`, `{ type: 'error', error: WireError }`.
 */
import { createLogger } from '../log.js';
import v8 from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { GatewayServer } from './server.js';
import type { GatewayConfig } from './config.js';
import { errorToWire } from '../errors.js';

const port = parentPort!;
const config = workerData as GatewayConfig;
const server = new GatewayServer(config, undefined, createLogger(config.queue.enableDebugLog, 'gateway', 'warn'));

try {
  await server.start();
  port.postMessage({ type: 'ready', port: server.port, certPem: server.cert.certPem, fingerprint: server.cert.fingerprintSha256 });
} catch (err) {
  port.postMessage({ type: 'error', error: errorToWire(err) });
}

port.on('message', (msg: { type: string }) => {
  switch (msg.type) {
    case 'reset':
      server.stages.reset();
      port.postMessage({ type: 'reset-done' });
      break;
    case 'heap': {
      const h = v8.getHeapStatistics();
      port.postMessage({ type: 'heap', heap: { used_heap_size: h.used_heap_size, total_heap_size: h.total_heap_size, external_memory: h.external_memory } });
      break;
    }
    case 'snapshot':
      port.postMessage({ type: 'snapshot', snapshot: server.snapshot() });
      break;
    case 'stop':
      void server.stop(10_000).finally(() => {
        port.postMessage({ type: 'stopped' });
        port.close();
      });
      break;
  }
});
