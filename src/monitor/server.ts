/**
 * Monitoring endpoints of seed 000 (HTTP监控接口), JSON on the monitor port, bound to 127.0.0.1 by
 * default. Paths and keys are a contract: the `curl … | jq …` lines of seed 000 work as written.
 * This module serialises gateway snapshots only; it computes nothing the gateway did not measure.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { AddressInUseError, InvalidInputError } from '../errors.js';
import type { GatewayServer, PushTarget } from '../gateway/index.js';
import { QUEUE_ENV } from '../queue/index.js';
import { summarize } from '../metrics/histogram.js';
import { optimizationAnalysis } from './optimization.js';
import { createGatewayRegistry } from './prometheus.js';
import { quotaHealthJson, quotaStatsJson } from '../quota/index.js';

/** Every JSON endpoint, plus /metrics (Prometheus text). */
export const MONITOR_ENDPOINTS = ['/healthz', '/queue/async-stats', '/queue/optimization', '/queue/config', '/latency/send-ordered', '/latency/business', '/processor/stats', '/events/stats', '/quota/stats', '/quota/health', '/metrics'] as const;

/** Admin endpoints, served only with `--admin`. */
export const ADMIN_ENDPOINTS = ['/push'] as const;

/** Largest accepted admin request body, bytes. */
const MAX_ADMIN_BODY_BYTES = 1 << 20;

/** Options of the monitor server. */
export interface MonitorOptions {
  /** serve `POST /push` (server-initiated unbound notifies); off by default */
  admin?: boolean;
  /** bearer token every request must carry (`Authorization: Bearer …`); required off loopback */
  token?: string;
}

/** True for 127.0.0.0/8, ::1 and localhost: addresses only this machine reaches. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** A rejected admin request: HTTP status and what to fix. */
class AdminRequestError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * Parses a `POST /push` body: JSON `{"topic": string, "payload"?: string (UTF-8) | "payload_base64"?: string,
 * and exactly one of "session_id": string, "user_id": string, "all": true}`. Throws AdminRequestError (400).
 */
export function parsePushRequest(text: string): { target: PushTarget; topic: string; payload: Uint8Array } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new AdminRequestError(400, `body is not JSON (${(err as Error).message}); send {"all": true, "topic": "news", "payload": "hello"}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new AdminRequestError(400, 'body must be a JSON object, e.g. {"all": true, "topic": "news"}');
  const b = body as Record<string, unknown>;
  if (typeof b.topic !== 'string' || b.topic === '') throw new AdminRequestError(400, '"topic" must be a non-empty string');
  const targets = [b.session_id !== undefined, b.user_id !== undefined, b.all !== undefined].filter(Boolean).length;
  if (targets !== 1) throw new AdminRequestError(400, 'give exactly one target: "session_id": "s1", "user_id": "u1" or "all": true');
  let target: PushTarget;
  if (b.session_id !== undefined) {
    if (typeof b.session_id !== 'string') throw new AdminRequestError(400, '"session_id" must be a string such as "s1"');
    target = { sessionId: b.session_id };
  } else if (b.user_id !== undefined) {
    if (typeof b.user_id !== 'string') throw new AdminRequestError(400, '"user_id" must be a string');
    target = { userId: b.user_id };
  } else {
    if (b.all !== true) throw new AdminRequestError(400, '"all" must be true');
    target = { all: true };
  }
  if (b.payload !== undefined && b.payload_base64 !== undefined) throw new AdminRequestError(400, 'give "payload" (UTF-8) or "payload_base64", not both');
  if (b.payload !== undefined && typeof b.payload !== 'string') throw new AdminRequestError(400, '"payload" must be a string');
  if (b.payload_base64 !== undefined && typeof b.payload_base64 !== 'string') throw new AdminRequestError(400, '"payload_base64" must be a base64 string');
  const payload = typeof b.payload_base64 === 'string' ? Buffer.from(b.payload_base64, 'base64') : Buffer.from((b.payload as string | undefined) ?? '', 'utf8');
  return { target, topic: b.topic, payload };
}

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
      return { status: 'ok', sessions: gw.sessions.size, transport: gw.transportStats() };
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
      return { business_latency_analysis: { unit: 'µs', upstream_latency: s.upstream_latency, business_latency: s.business_latency, quota_check_latency: s.quota_check_latency, quota_consume_latency: s.quota_consume_latency } };
    }
    case '/queue/optimization':
      return optimizationAnalysis({
        queue: gw.send.snapshot(),
        enqueue: summarize(gw.stages.histogram('enqueue_latency')),
        lockWait: summarize(gw.stages.histogram('lock_wait')),
        config: gw.config.queue,
      });
    case '/processor/stats': {
      const c = gw.snapshotCounters();
      const stats = gw.processor?.stats();
      return {
        processor: stats === undefined ? null : { ...stats, upstream_errors: c.upstream_errors, timeouts: c.upstream_timeouts },
        mode: gw.config.processorMode,
      };
    }
    case '/quota/stats':
      return gw.quota === null ? { quota_stats: { enabled: false } } : quotaStatsJson(gw.quota);
    case '/quota/health':
      return gw.quota === null ? { healthy: true, enabled: false, reasons: [] } : quotaHealthJson(gw.quota);
    case '/events/stats': {
      const e = gw.config.events;
      return { event_export: e === undefined || gw.events === null ? { enabled: false } : { enabled: true, url: e.url, wal_dir: e.dir, ...gw.events.metrics() } };
    }
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

/**
 * Starts the monitor on host:port (and, with `options.admin`, `POST /push`). With `options.token`,
 * every request needs `Authorization: Bearer <token>` (401 otherwise). Rejects with
 * InvalidInputError when `host` is not loopback and no token is given (issue 7: the monitor and
 * admin endpoints are never open to the network), AddressInUseError when the port is taken.
 */
export function startMonitor(gw: GatewayServer, host: string, port: number, options: MonitorOptions = {}): Promise<MonitorServer> {
  if (!isLoopbackHost(host) && (options.token === undefined || options.token === '')) {
    return Promise.reject(new InvalidInputError(`--monitor-host ${host} is reachable from other machines: give --monitor-token TOKEN (clients send "Authorization: Bearer TOKEN"), or bind 127.0.0.1`));
  }
  const expected = options.token !== undefined && options.token !== '' ? Buffer.from(`Bearer ${options.token}`) : null;
  const registry = createGatewayRegistry(gw);
  const sendJson = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body, null, 2));
  };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (expected !== null) {
      const got = Buffer.from(req.headers.authorization ?? '');
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        return sendJson(res, 401, { error: 'missing or wrong bearer token: send "Authorization: Bearer <--monitor-token>"' }, { 'www-authenticate': 'Bearer' });
      }
    }
    if (options.admin === true && path === '/push') return handlePush(gw, req, res, sendJson);
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
    const body = monitorBody(gw, path);
    // /quota/health answers 503 when unhealthy, so a probe can use the status alone
    const status = path === '/quota/health' && (body as { healthy: boolean }).healthy === false ? 503 : 200;
    sendJson(res, status, body);
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

/** `POST /push`: reads the body (at most 1 MiB), pushes, answers `{"delivered": n}`. */
function handlePush(gw: GatewayServer, req: http.IncomingMessage, res: http.ServerResponse,
  sendJson: (res: http.ServerResponse, status: number, body: unknown, headers?: Record<string, string>) => void): void {
  if (req.method !== 'POST') return sendJson(res, 405, { error: `${req.method} is not allowed on /push: use POST` }, { allow: 'POST' });
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= MAX_ADMIN_BODY_BYTES) chunks.push(c);
  });
  req.on('end', () => {
    if (size > MAX_ADMIN_BODY_BYTES) return sendJson(res, 413, { error: `body is ${size} bytes; the limit is ${MAX_ADMIN_BODY_BYTES}` });
    let parsed;
    try {
      parsed = parsePushRequest(Buffer.concat(chunks).toString('utf8'));
    } catch (err) {
      return sendJson(res, err instanceof AdminRequestError ? err.status : 500, { error: (err as Error).message });
    }
    gw.push(parsed.target, { topic: parsed.topic, payload: parsed.payload }).then(
      (delivered) => sendJson(res, 200, { delivered }),
      (err: Error) => sendJson(res, 500, { error: `push failed: ${err.message}` }),
    );
  });
}
