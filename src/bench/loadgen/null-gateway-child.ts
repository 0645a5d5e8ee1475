/**
 * Child-process entry of the load-generator benchmark's null gateway (./null-gateway.ts,
 * issue 4 "Done when"): `fork(null-gateway-child.js, [transport])` binds a listener on 127.0.0.1 (free
 * port, a fresh self-signed certificate) whose connections are served by `serveNullConnection`.
 * A child process, not a worker_thread: the target must not share the generator's event loop, and
 * @matrixai/quic crashed with three QUIC threads in one process (see src/load/worker.ts).
 * Protocol (IPC):
 * parent → child: `{type:'sample', id}` (answered with `{type:'sample', id, userUs, systemUs, responses, acks, open, rssBytes,
 * heapUsedBytes, atMs}`: CPU µs so far, counters, connections open, process.memoryUsage() rss and heapUsed in bytes, and the
 * child's clock in ms), `{type:'stop'}`;
 * child → parent: `{type:'ready', port, certPem}` once bound, `{type:'error', message}`, `{type:'stopped'}`.
 */
import { performance } from 'node:perf_hooks';
import { generateCertificate, getTransport } from '../../transport/index.js';
import { serveNullConnection, type NullGatewayCounters } from './null-gateway.js';

const send = (msg: unknown): void => {
  process.send?.(msg);
};
const transport = process.argv[2] ?? 'quic';
const counters: NullGatewayCounters = { connections: 0, open: 0, responses: 0, acks: 0, badFrames: 0 };

try {
  const certificate = await generateCertificate();
  const listener = await getTransport(transport).listen({
    host: '127.0.0.1', port: 0, certificate, onConnection: (conn) => serveNullConnection(conn, counters),
  });
  send({ type: 'ready', port: listener.port, certPem: certificate.certPem });
  process.on('message', (msg: { type: string; id?: number }) => {
    if (msg.type === 'sample') {
      const cpu = process.cpuUsage();
      const mem = process.memoryUsage();
      send({
        type: 'sample', id: msg.id, userUs: cpu.user, systemUs: cpu.system, responses: counters.responses, acks: counters.acks, open: counters.open,
        rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, atMs: performance.timeOrigin + performance.now(),
      });
    } else if (msg.type === 'stop') {
      void listener.close(2000).finally(() => {
        send({ type: 'stopped' });
        process.disconnect?.();
        setTimeout(() => process.exit(0), 200).unref();
      });
    }
  });
} catch (err) {
  send({ type: 'error', message: (err as Error).message });
  process.exitCode = 1;
  process.disconnect?.();
}
// the parent went away: do not linger
process.on('disconnect', () => setTimeout(() => process.exit(0), 2000).unref());
