/**
 * HttpUpstream: the Upstream interface over HTTP/1.1 with keep-alive, on an undici Pool. The wire
 * contract (paths, media types, JSON form, errors, timeout) is the README-contract comment at the top
 * of contract.ts; seed 004 §2.1 callUpstreamService, §3.1 routing, §3.4 timeout, §5.2 errors.
 */
import { Pool } from 'undici';
import { InvalidInputError } from '../errors.js';
import { DEFAULT_MAX_FRAME_BYTES, type UpstreamRequest, type UpstreamResponse } from '../protocol/index.js';
import { bodyFormat, decodeUpstreamResponse, encodeUpstreamRequest, JSON_MEDIA_TYPE, PROTOBUF_MEDIA_TYPE, UPSTREAM_PATHS } from './contract.js';
import { UpstreamError, UpstreamTimeoutError } from './errors.js';
import type { Upstream, UpstreamCallOptions } from './mock.js';
import { determineUpstreamService, type ServiceType } from './routing.js';

/** Options of HttpUpstream. */
export interface HttpUpstreamOptions {
  /** keep-alive connections to the upstream at most; default 32 */
  connections?: number;
  /**
   * per-request timeout in ms, from the call to the last byte of the answer (seed 004 §3.4); default
   * 30000; 0 = none of ours (undici's 300 s header and body idle timeouts still apply). A call's
   * `opts.timeoutMs` overrides it.
   */
  timeoutMs?: number;
  /** largest accepted response body, in bytes; default 1 MiB (the default maximum frame size) */
  maxResponseBytes?: number;
}

/** HttpUpstream defaults: 32 connections, 30000 ms timeout, 1 MiB responses. */
export const DEFAULT_HTTP_UPSTREAM: Readonly<Required<HttpUpstreamOptions>> = Object.freeze({
  connections: 32, timeoutMs: 30_000, maxResponseBytes: DEFAULT_MAX_FRAME_BYTES,
});

/** Request headers, the same object for every call (undici does not mutate it). */
const REQUEST_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': PROTOBUF_MEDIA_TYPE,
  accept: `${PROTOBUF_MEDIA_TYPE}, ${JSON_MEDIA_TYPE};q=0.5`,
});

/** Longest excerpt of a non-2xx body quoted in the error message, in characters. */
const ERROR_BODY_EXCERPT = 300;

/**
 * The Upstream interface over HTTP (contract: top of contract.ts). `call(req)` sends
 * `POST {base}/upstream/{determineUpstreamService(req.action)}` with the protobuf UpstreamRequest;
 * `login(userId, token)` sends `POST {base}/upstream/hello` with action `hello`, `userId` and
 * `headers.token`. Answers may be protobuf or JSON (by their content-type).
 *
 * Errors: a call or login rejects with UpstreamTimeoutError (code GATECTL_UPSTREAM_TIMEOUT) when the
 * timeout expires — the request is aborted, which closes its connection — and with UpstreamError
 * (code GATECTL_UPSTREAM) on a non-2xx status (`status` set, body excerpt in the message), a body that
 * does not parse, an unsupported content-type, a body over `maxResponseBytes`, a connection failure,
 * or an abort through `opts.signal`.
 *
 * Per call: the encoded request, one AbortController and one timer when a timeout or signal is in
 * force, and what undici needs; no per-call strings unless the call fails.
 */
export class HttpUpstream implements Upstream {
  /** `scheme://host:port` of the upstream */
  readonly origin: string;
  private readonly pool: Pool;
  private readonly timeoutMs: number;
  private readonly paths: Readonly<Record<ServiceType, string>>;

  /**
   * @param baseUrl `http://host:port`, optionally with a path prefix (`http://host:port/api`)
   * @param options connections, per-request timeout (ms), largest response (bytes)
   * @throws InvalidInputError when the URL is not http(s) or an option is out of range
   */
  constructor(baseUrl: string | URL, options: HttpUpstreamOptions = {}) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch (err) {
      throw new InvalidInputError(`upstream URL ${String(baseUrl)} is not a URL`, { cause: err });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new InvalidInputError(`upstream URL ${url.href} must be http:// or https://`);
    }
    const o = { ...DEFAULT_HTTP_UPSTREAM, ...options };
    if (!Number.isInteger(o.connections) || o.connections < 1) throw new InvalidInputError(`upstream connections must be an integer >= 1, got ${o.connections}`);
    if (!(o.timeoutMs >= 0) || !Number.isFinite(o.timeoutMs)) throw new InvalidInputError(`upstream timeout must be a finite number of ms >= 0, got ${o.timeoutMs}`);
    if (!Number.isInteger(o.maxResponseBytes) || o.maxResponseBytes < 1) throw new InvalidInputError(`upstream maxResponseBytes must be an integer >= 1, got ${o.maxResponseBytes}`);
    this.origin = url.origin;
    this.timeoutMs = o.timeoutMs;
    const prefix = url.pathname.replace(/\/+$/, '');
    this.paths = Object.freeze({
      hello: prefix + UPSTREAM_PATHS.hello, business: prefix + UPSTREAM_PATHS.business, zone: prefix + UPSTREAM_PATHS.zone,
    });
    this.pool = new Pool(url.origin, { connections: o.connections, maxResponseSize: o.maxResponseBytes });
  }

  /**
   * Login for Hello (seed 004 §3.1): `POST {base}/upstream/hello`, action `hello`.
   * @returns the answer's `code` (200 = accepted) and `message`
   * @throws UpstreamTimeoutError after the default timeout (ms); UpstreamError on any other failure
   */
  async login(userId: string, token: string): Promise<{ code: number; message: string }> {
    const body = encodeUpstreamRequest({ action: 'hello', userId, headers: { token } });
    const resp = await this.exchange(this.paths.hello, body, this.timeoutMs, undefined);
    return { code: resp.code ?? 0, message: resp.message ?? '' };
  }

  /**
   * A business/zone call (seed 004 §2.1 callUpstreamService), routed by determineUpstreamService.
   * @param opts `timeoutMs` overrides the default timeout (ms); `signal` aborts the call
   * @throws UpstreamTimeoutError when the timeout expires; UpstreamError on any other failure
   */
  call(req: UpstreamRequest, opts?: UpstreamCallOptions): Promise<UpstreamResponse> {
    const timeoutMs = opts?.timeoutMs !== undefined && opts.timeoutMs > 0 ? opts.timeoutMs : this.timeoutMs;
    return this.exchange(this.paths[determineUpstreamService(req.action ?? '')], encodeUpstreamRequest(req), timeoutMs, opts?.signal);
  }

  /** Closes the pool: waits for requests in flight (each bounded by its timeout), then closes the sockets. Idempotent. */
  async close(): Promise<void> {
    if (!this.pool.closed) await this.pool.close();
  }

  private async exchange(path: string, body: Uint8Array, timeoutMs: number, signal: AbortSignal | undefined): Promise<UpstreamResponse> {
    if (signal?.aborted) throw new UpstreamError(`POST ${this.origin}${path}: aborted`, { cause: signal.reason });
    let controller: AbortController | undefined;
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    let onAbort: (() => void) | undefined;
    if (timeoutMs > 0) {
      controller = new AbortController();
      timer = setTimeout(() => {
        timedOut = true;
        controller!.abort(new UpstreamTimeoutError(timeoutMs, `POST ${this.origin}${path}`));
      }, timeoutMs);
      if (signal !== undefined) {
        const c = controller;
        onAbort = () => c.abort(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
      }
    }
    try {
      const res = await this.pool.request({
        method: 'POST', path, headers: REQUEST_HEADERS, body, signal: controller?.signal ?? signal ?? null,
      });
      if (res.statusCode < 200 || res.statusCode > 299) {
        const text = await res.body.text();
        const excerpt = text.length > ERROR_BODY_EXCERPT ? `${text.slice(0, ERROR_BODY_EXCERPT)}…` : text;
        throw new UpstreamError(`POST ${this.origin}${path}: HTTP ${res.statusCode}${excerpt === '' ? '' : `: ${excerpt}`}`, { status: res.statusCode });
      }
      const format = bodyFormat(res.headers['content-type']);
      if (format === null) {
        await res.body.dump();
        throw new UpstreamError(`POST ${this.origin}${path}: unsupported content-type ${String(res.headers['content-type'])} (expected ${PROTOBUF_MEDIA_TYPE} or ${JSON_MEDIA_TYPE})`);
      }
      return decodeUpstreamResponse(await res.body.bytes(), format, `POST ${this.origin}${path}`);
    } catch (err) {
      if (timedOut) throw err instanceof UpstreamTimeoutError ? err : new UpstreamTimeoutError(timeoutMs, `POST ${this.origin}${path}`, { cause: err });
      if (err instanceof UpstreamError) throw err;
      const code = (err as { code?: unknown }).code;
      if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
        throw new UpstreamTimeoutError(300_000, `POST ${this.origin}${path}: ${(err as Error).message}`, { cause: err });
      }
      if (signal?.aborted) throw new UpstreamError(`POST ${this.origin}${path}: aborted`, { cause: err });
      throw new UpstreamError(`POST ${this.origin}${path}: ${(err as Error).message}${typeof code === 'string' ? ` (${code})` : ''}`, { cause: err });
    } finally {
      clearTimeout(timer);
      if (onAbort !== undefined) signal!.removeEventListener('abort', onAbort);
    }
  }
}
