/**
 * The monitor's HTTP front (issue 16 §3: a `/metrics` scrape must not block the gateway). It runs on
 * its own worker thread (front-worker.ts) and owns the listening socket: connections, parsing,
 * the bearer-token check, routing, 404/405/401 answers, reading `POST /push` bodies and writing
 * every answer happen there, never on the gateway's event loop. What it answers comes from the
 * gateway thread over the worker's port (`FrontRequest` → `FrontReply`): JSON bodies per request,
 * and the Prometheus text at most once per `metricsMaxAgeMs`, cached here, so any number of scrapes
 * costs the gateway thread one build per second at most.
 *
 * Paths and keys are seed 000's contract (HTTP监控接口): its `curl … | jq …` lines work as written.
 * This module imports nothing of the gateway at run time (types only), so the worker stays small.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { PushTarget } from '../gateway/index.js';

/** Every JSON endpoint, plus /metrics (Prometheus text). */
export const MONITOR_ENDPOINTS = ['/healthz', '/gateway/stats', '/queue/async-stats', '/queue/optimization', '/queue/config', '/latency/send-ordered', '/latency/business', '/processor/stats', '/events/stats', '/quota/stats', '/quota/health', '/metrics'] as const;

/** Admin endpoints, served only with `--admin`. */
export const ADMIN_ENDPOINTS = ['/push'] as const;

/** Largest accepted admin request body, bytes. */
export const MAX_ADMIN_BODY_BYTES = 1 << 20;

/** Longest wait for the gateway thread's answer to one request, ms; then 503. */
export const FRONT_ANSWER_TIMEOUT_MS = 10_000;

/** True for 127.0.0.0/8, ::1 and localhost: addresses only this machine reaches. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** A rejected admin request: HTTP status and what to fix. */
export class AdminRequestError extends Error {
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

/** Settings of the front (the worker's `workerData`). */
export interface FrontOptions {
  host: string;
  /** 0 picks a free port */
  port: number;
  /** bearer token every request must carry; undefined or '' = none */
  token?: string;
  /** serve `POST /push` */
  admin: boolean;
  /** longest a Prometheus text is served from the cache, ms */
  metricsMaxAgeMs: number;
}

/** Front → gateway thread. `scrapes`: /metrics requests the front answered so far (for `gatectl_monitor_scrapes_total`). */
export type FrontRequest =
  | { type: 'body'; id: number; path: string; scrapes: number }
  | { type: 'push'; id: number; target: PushTarget; topic: string; payload: Uint8Array }
  | { type: 'listening'; address: string; port: number }
  | { type: 'listen-error'; code: string; message: string };

/** Gateway thread → front: the answer to request `id` (`body` is the exact bytes or text to send), or `close`. */
export type FrontReply =
  | { type: 'reply'; id: number; status: number; contentType: string; body: string | Uint8Array; headers?: Record<string, string> }
  | { type: 'close' };

/** What the front needs of its channel to the gateway thread (a worker's parentPort). */
export interface FrontPort {
  postMessage(message: FrontRequest): void;
  on(event: 'message', listener: (message: FrontReply) => void): void;
  /** ends the channel once the server is closed (lets the worker exit) */
  close?(): void;
}

type Answer = Omit<Extract<FrontReply, { type: 'reply' }>, 'type' | 'id'>;

const JSON_TYPE = 'application/json';

/** A JSON answer, pretty-printed as every monitor body is. */
function json(status: number, body: unknown, headers?: Record<string, string>): Answer {
  return { status, contentType: JSON_TYPE, body: JSON.stringify(body, null, 2), ...(headers !== undefined ? { headers } : {}) };
}

/**
 * Starts the front on `opts.host:opts.port`, talking to the gateway thread over `port`. Posts
 * `listening` (the bound address) or `listen-error` (e.g. EADDRINUSE). A `close` message closes
 * the server and every connection.
 */
export function startFront(opts: FrontOptions, port: FrontPort): void {
  const expected = opts.token !== undefined && opts.token !== '' ? Buffer.from(`Bearer ${opts.token}`) : null;
  let nextId = 1;
  let scrapes = 0;
  const waiting = new Map<number, (a: Answer) => void>();
  const ask = (make: (id: number) => FrontRequest): Promise<Answer> => new Promise((resolve) => {
    const id = nextId++;
    const timer = setTimeout(() => {
      waiting.delete(id);
      resolve(json(503, { error: `the gateway did not answer within ${FRONT_ANSWER_TIMEOUT_MS} ms` }));
    }, FRONT_ANSWER_TIMEOUT_MS);
    waiting.set(id, (a) => { clearTimeout(timer); resolve(a); });
    port.postMessage(make(id));
  });
  // /metrics: one text per metricsMaxAgeMs, shared by every scrape (and by those waiting for a build)
  let metrics: { answer: Answer; at: number } | null = null;
  let building: Promise<Answer> | null = null;
  const getMetrics = (): Promise<Answer> => {
    scrapes++;
    if (metrics !== null && performance.now() - metrics.at < opts.metricsMaxAgeMs) return Promise.resolve(metrics.answer);
    building ??= ask((id) => ({ type: 'body', id, path: '/metrics', scrapes })).then((a) => {
      if (a.status === 200) metrics = { answer: a, at: performance.now() };
      building = null;
      return a;
    });
    return building;
  };

  const send = (req: http.IncomingMessage, res: http.ServerResponse, a: Answer): void => {
    const body = typeof a.body === 'string' ? Buffer.from(a.body, 'utf8') : a.body;
    res.writeHead(a.status, { 'content-type': a.contentType, 'content-length': body.byteLength, ...a.headers });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (expected !== null) {
      const got = Buffer.from(req.headers.authorization ?? '');
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        return send(req, res, json(401, { error: 'missing or wrong bearer token: send "Authorization: Bearer <token>" (the token of --monitor-token-file, GATECTL_MONITOR_TOKEN or --monitor-token)' }, { 'www-authenticate': 'Bearer' }));
      }
    }
    if (opts.admin && path === '/push') return handlePush(req, res);
    if (!(MONITOR_ENDPOINTS as readonly string[]).includes(path)) {
      return send(req, res, json(404, { error: `no such endpoint: ${path}`, endpoints: MONITOR_ENDPOINTS }));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(req, res, json(405, { error: `${req.method} is not allowed on ${path}: use GET` }, { allow: 'GET, HEAD' }));
    }
    const answer = path === '/metrics' ? getMetrics() : ask((id) => ({ type: 'body', id, path, scrapes }));
    void answer.then((a) => send(req, res, a));
  });

  /** `POST /push`: reads the body (at most 1 MiB), parses it here, pushes on the gateway thread. */
  const handlePush = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (req.method !== 'POST') return send(req, res, json(405, { error: `${req.method} is not allowed on /push: use POST` }, { allow: 'POST' }));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_ADMIN_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_ADMIN_BODY_BYTES) return send(req, res, json(413, { error: `body is ${size} bytes; the limit is ${MAX_ADMIN_BODY_BYTES}` }));
      let parsed: ReturnType<typeof parsePushRequest>;
      try {
        parsed = parsePushRequest(Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        return send(req, res, json(err instanceof AdminRequestError ? err.status : 500, { error: (err as Error).message }));
      }
      void ask((id) => ({ type: 'push', id, ...parsed })).then((a) => send(req, res, a));
    });
  };

  port.on('message', (m) => {
    if (m.type === 'close') {
      server.closeAllConnections();
      server.close(() => port.close?.());
      return;
    }
    const done = waiting.get(m.id);
    if (done === undefined) return;
    waiting.delete(m.id);
    done(m);
  });
  server.once('error', (err: NodeJS.ErrnoException) => port.postMessage({ type: 'listen-error', code: err.code ?? 'ERROR', message: err.message }));
  server.listen(opts.port, opts.host, () => {
    const a = server.address() as AddressInfo;
    port.postMessage({ type: 'listening', address: a.address, port: a.port });
  });
}
