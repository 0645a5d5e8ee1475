/**
 * Monitoring endpoints of seed 000 (HTTP监控接口), JSON on the monitor port, bound to 127.0.0.1 by
 * default. Paths and keys are a contract: the `curl … | jq …` lines of seed 000 work as written.
 * This module serialises gateway snapshots only; it computes nothing the gateway did not measure.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AddressInUseError } from '../errors.js';
import type { GatewayServer } from '../gateway/index.js';
import { QUEUE_ENV } from '../queue/index.js';
import { summarize } from '../metrics/histogram.js';
import { optimizationAnalysis } from './optimization.js';
import { createGatewayRegistry } from './prometheus.js';

/** Every JSON endpoint, plus /metrics (Prometheus text). */
export const MONITOR_ENDPOINTS = ['/healthz', '/queue/async-stats', '/queue/optimization', '/queue/config', '/latency/send-ordered', '/latency/business', '/processor/stats', '/metrics'] as const;

/** Seed 000 性能调优指南 presets, as environment settings. */
export const CONFIGURATION_EXAMPLES = {
  high_performance: { QUEUE_SEND_WORKER_COUNT: '8', QUEUE_SEND_QUEUE_SIZE: '2000', QUEUE_MAX_QUEUE_SIZE: '2000' },
  memory_constrained: { QUEUE_SEND_WORKER_COUNT: '2', QUEUE_SEND_QUEUE_SIZE: '500' },
  debug: { QUEUE_ENABLE_ASYNC_SEND: 'false', QUEUE_ENABLE_DEBUG_LOG: 'true' },
} as const;

/** Builds the JSON body of a monitor path, or null for an unknown path (pure over the gateway's snapshot). */
export function monitorBody(gw: GatewayServer, path: string): unknown {
  switch (path) {
    case '/healthz':
      return { status: 'ok', sessions: gw.sessions.size };
    case '/queue/config': {
      const q = gw.config.queue;
      return {
        queue_configuration: {
          current_config: {
            enable_async_send: q.enableAsyncSend, send_worker_count: q.sendWorkerCount, send_queue_size: q.sendQueueSize,
            max_queue_size: q.maxQueueSize, send_batch_size: q.sendBatchSize, lock_scope: q.lockScope, enable_debug_log: q.enableDebugLog,
          },
          environment_variables: QUEUE_ENV,
          configuration_examples: CONFIGURATION_EXAMPLES,
        },
      };
    }
    case '/queue/async-stats': {
      const { workers, ...summary } = gw.send.snapshot();
      const sessions = [...gw.send.sessionQueues]
        .map((q) => ({ session_id: q.sessionId, next_expected_seq: q.nextExpectedSeq, ready: q.readyCount, waiting: q.waitingCount }))
        .sort((a, b) => b.ready + b.waiting - (a.ready + a.waiting))
        .slice(0, 10);
      return { async_queue_analysis: { summary: { sessions: gw.sessions.size, mode: gw.config.queue.enableAsyncSend ? 'async' : 'sync', ...summary }, workers, top_sessions: sessions } };
    }
    case '/latency/send-ordered': {
      const s = gw.stages.snapshot();
      return {
        send_ordered_message_latency_analysis: {
          unit: 'µs',
          queuing_phase: { enqueue_latency: s.enqueue_latency, lock_wait: s.lock_wait, send_queue_wait: s.send_queue_wait },
          sending_phase: { direct_send_latency: s.direct_send_latency, write_message_latency: s.write_message_latency },
          metrics_phase: { metrics_update_latency: s.metrics_update_latency },
        },
      };
    }
    case '/latency/business': {
      const s = gw.stages.snapshot();
      return { business_latency_analysis: { unit: 'µs', upstream_latency: s.upstream_latency, business_latency: s.business_latency } };
    }
    case '/queue/optimization':
      return optimizationAnalysis({
        queue: gw.send.snapshot(),
        enqueue: summarize(gw.stages.histogram('enqueue_latency')),
        lockWait: summarize(gw.stages.histogram('lock_wait')),
        config: gw.config.queue,
      });
    case '/processor/stats':
      return { processor: gw.processor?.stats() ?? null, mode: gw.config.processorMode };
    default:
      return null;
  }
}

/** A running monitor server. */
export interface MonitorServer {
  /** `http://host:port` */
  url: string;
  close(): Promise<void>;
}

/** Starts the monitor on host:port. Rejects with AddressInUseError when the port is taken. */
export function startMonitor(gw: GatewayServer, host: string, port: number): Promise<MonitorServer> {
  const registry = createGatewayRegistry(gw);
  const sendJson = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body, null, 2));
  };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const known = (MONITOR_ENDPOINTS as readonly string[]).includes(path);
    if (!known) return sendJson(res, 404, { error: `no such endpoint: ${path}`, endpoints: MONITOR_ENDPOINTS });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendJson(res, 405, { error: `${req.method} is not allowed on ${path}: use GET` }, { allow: 'GET, HEAD' });
    }
    if (path === '/metrics') {
      registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      }, (err: Error) => sendJson(res, 500, { error: `metrics failed: ${err.message}` }));
      return;
    }
    sendJson(res, 200, monitorBody(gw, path));
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE'
        ? new AddressInUseError(`monitor port ${host}:${port} is already in use: pass --monitor-port 0 or another free port`)
        : err);
    });
    server.listen(port, host, () => {
      const a = server.address() as AddressInfo;
      const h = a.address.includes(':') ? `[${a.address}]` : a.address;
      resolve({
        url: `http://${h}:${a.port}`,
        close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
      });
    });
  });
}
