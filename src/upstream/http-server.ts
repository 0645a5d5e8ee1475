/**
 * The mock upstream service over HTTP: the contract at the top of contract.ts (README-contract),
 * served on `node:http` with the behaviour of MockUpstream (latency distribution, notifies, injected
 * errors and silences; seed 004 §2.1, §3.1, §3.4, §5.2). HttpUpstream is its client.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AddressInUseError } from '../errors.js';
import { DEFAULT_MAX_FRAME_BYTES, type UpstreamRequest, type UpstreamResponse } from '../protocol/index.js';
import { bodyFormat, decodeUpstreamRequest, encodeUpstreamResponse, JSON_MEDIA_TYPE, PROTOBUF_MEDIA_TYPE, UPSTREAM_PATHS } from './contract.js';
import { UpstreamError, UpstreamTimeoutError } from './errors.js';
import { MockUpstream, type MockUpstreamConfig } from './mock.js';
import { SERVICE_TYPES, type ServiceType } from './routing.js';

/** A running mock upstream server. */
export interface MockUpstreamServer {
  /** base URL for HttpUpstream, `http://host:port` */
  readonly url: string;
  /** the MockUpstream answering the requests */
  readonly upstream: MockUpstream;
  /** Stops listening and closes every connection, including requests still waiting for an answer. Idempotent. */
  close(): Promise<void>;
}

/** Largest request body the mock server accepts, in bytes (1 MiB); larger bodies get 413. */
const MAX_REQUEST_BYTES = DEFAULT_MAX_FRAME_BYTES;

const ROUTES: ReadonlyMap<string, ServiceType> = new Map(SERVICE_TYPES.map((s) => [UPSTREAM_PATHS[s], s]));

/** True when the client asks for JSON and not for protobuf. */
function acceptsOnlyJson(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes(JSON_MEDIA_TYPE) && !accept.includes(PROTOBUF_MEDIA_TYPE);
}

function send(res: ServerResponse, status: number, body: Uint8Array | string, contentType: string): void {
  if (res.destroyed) return; // the client gave up (its timeout) and closed the connection
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** A JSON error body `{code, message, detail}` (the contract's non-2xx answer). */
function sendError(res: ServerResponse, status: number, message: string, detail: string): void {
  send(res, status, JSON.stringify({ code: status, message, detail }), JSON_MEDIA_TYPE);
}

/**
 * Starts the mock upstream service on `node:http` (contract: top of contract.ts).
 * - `POST /upstream/hello`: a login — MockUpstream.login(userId, headers.token) answered as an
 *   UpstreamResponse `{code, message}` (200 accepted, 401 for an empty userId), whatever the action.
 * - `POST /upstream/business`, `POST /upstream/zone`: MockUpstream.call(request), answered with its
 *   UpstreamResponse (notifies with grid = seqId, seed 004 §4.1); an injected error (errorRate) is
 *   HTTP 500 with a JSON error; an injected silence (timeoutRate) is never answered.
 * - Answers are protobuf, or JSON when the request body is JSON or `accept` names application/json
 *   and not application/x-protobuf. Errors are always JSON `{code, message, detail}`: 404 unknown
 *   path, 405 not POST, 415 unsupported content-type, 413 body over 1 MiB, 400 body that does not parse.
 *
 * @param config the MockUpstream behaviour: latency (ms) and distribution, notifies, errorRate, timeoutRate
 * @param host address to listen on; default 127.0.0.1
 * @param port TCP port; default 0 = any free port (see `url`)
 * @throws InvalidInputError when `config` is out of range; AddressInUseError when the port is taken;
 *   UpstreamError when listening fails otherwise
 */
export async function startMockUpstreamServer(config: MockUpstreamConfig, host = '127.0.0.1', port = 0): Promise<MockUpstreamServer> {
  const upstream = new MockUpstream(config);

  const answer = (res: ServerResponse, service: ServiceType, request: UpstreamRequest, format: 'json' | 'protobuf'): void => {
    const contentType = format === 'json' ? JSON_MEDIA_TYPE : PROTOBUF_MEDIA_TYPE;
    const reply = (resp: UpstreamResponse): void => send(res, 200, encodeUpstreamResponse(resp, format), contentType);
    const fail = (err: unknown): void => {
      const status = err instanceof UpstreamTimeoutError ? 504 : 500;
      sendError(res, status, err instanceof UpstreamError ? 'upstream error' : 'internal error', (err as Error).message);
    };
    if (service === 'hello') {
      upstream.login(request.userId ?? '', request.headers?.token ?? '').then(reply, fail);
    } else {
      upstream.call(request).then(reply, fail);
    }
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const service = ROUTES.get(path);
    if (service === undefined) {
      req.resume();
      return sendError(res, 404, 'not found', `${req.method ?? '?'} ${path}: the mock upstream serves POST /upstream/{${SERVICE_TYPES.join('|')}}`);
    }
    if (req.method !== 'POST') {
      req.resume();
      res.setHeader('allow', 'POST');
      return sendError(res, 405, 'method not allowed', `${req.method ?? '?'} ${path}: use POST`);
    }
    const inFormat = bodyFormat(req.headers['content-type']);
    if (inFormat === null) {
      req.resume();
      return sendError(res, 415, 'unsupported media type', `content-type ${req.headers['content-type'] ?? ''}: send ${PROTOBUF_MEDIA_TYPE} or ${JSON_MEDIA_TYPE}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('error', () => { /* the client went away; nothing to answer */ });
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REQUEST_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_REQUEST_BYTES) return sendError(res, 413, 'payload too large', `request body of ${size} bytes exceeds ${MAX_REQUEST_BYTES} bytes`);
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      let request: UpstreamRequest;
      try {
        request = decodeUpstreamRequest(body, inFormat, `POST ${path}`);
      } catch (err) {
        return sendError(res, 400, 'bad request', (err as Error).message);
      }
      answer(res, service, request, inFormat === 'json' || acceptsOnlyJson(req.headers.accept) ? 'json' : 'protobuf');
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(err.code === 'EADDRINUSE'
        ? new AddressInUseError(`mock upstream: ${host}:${port} is already in use`, { cause: err })
        : new UpstreamError(`mock upstream: cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });

  const addr = server.address() as AddressInfo;
  const hostPart = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostPart}:${addr.port}`,
    upstream,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // keep-alive sockets and requests left unanswered (timeoutRate)
      });
      return closing;
    },
  };
}
