/**
 * HTTP sink of VineQueue (seed 002 "目标系统 (Kafka/HTTP)"): each batch is one `POST` of NDJSON — one
 * item per line, `application/x-ndjson`, optionally gzip (`content-encoding: gzip`) — through an undici
 * Pool with keep-alive. Any 2xx answer acknowledges the whole batch; anything else (non-2xx, connection
 * error, abort by the queue's send timeout) rejects with SinkError, which the queue retries and feeds to
 * its circuit breaker.
 *
 * The NDJSON body and its gzip are built once per batch in `prepare` (the queue's processor pool; gzip
 * runs on the libuv thread pool) and reused by retries.
 */
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { Pool } from 'undici';
import { InvalidInputError } from '../errors.js';
import { SinkError } from './errors.js';
import type { SendContext, Sink } from './queue.js';

const gzip = promisify(gzipCb);

/** Options of createHttpSink. */
export interface HttpSinkOptions {
  /** `http(s)://host:port/path` receiving the POSTs */
  url: string;
  /** gzip the body (default false) */
  gzip?: boolean;
  /** keep-alive connections at most (default 8) */
  connections?: number;
  /** extra request headers (e.g. authorization) */
  headers?: Record<string, string>;
}

/** A prepared batch: the request body and how many items it holds. */
export interface HttpSinkPayload {
  body: Buffer;
  items: number;
}

/**
 * Serialises a batch as NDJSON: a Buffer/Uint8Array item is written as its bytes (it must be one JSON
 * text without a newline), any other item as JSON.stringify(item). Each line ends with `\n`.
 * Throws TypeError when an item is not JSON-serialisable.
 */
export function toNdjson(items: readonly unknown[]): Buffer {
  let bytesItems = false;
  const parts: string[] = new Array<string>(items.length);
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    if (it instanceof Uint8Array) { bytesItems = true; parts[i] = ''; continue; }
    const s = JSON.stringify(it);
    if (s === undefined) throw new TypeError(`item ${i} of the batch is not JSON-serialisable (${typeof it})`);
    parts[i] = s;
  }
  if (!bytesItems) return Buffer.from(parts.join('\n') + '\n', 'utf8');
  const nl = Buffer.from('\n');
  const bufs: Buffer[] = [];
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    bufs.push(it instanceof Uint8Array ? Buffer.from(it.buffer, it.byteOffset, it.byteLength) : Buffer.from(parts[i]!, 'utf8'), nl);
  }
  return Buffer.concat(bufs);
}

/**
 * Creates the HTTP sink for `create(config, sink)`.
 * @throws InvalidInputError when the URL is not http(s) or connections is not an integer >= 1
 */
export function createHttpSink<T = unknown>(opts: HttpSinkOptions): Sink<T, HttpSinkPayload> & { readonly url: string } {
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch (err) {
    throw new InvalidInputError(`sink URL ${JSON.stringify(opts.url)} is not a URL; give http://host:port/path`, { cause: err });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidInputError(`sink URL ${url.href} must be http:// or https://`);
  const connections = opts.connections ?? 8;
  if (!Number.isInteger(connections) || connections < 1) throw new InvalidInputError(`sink connections must be an integer >= 1, got ${connections}`);
  const useGzip = opts.gzip ?? false;
  const headers: Record<string, string> = { ...opts.headers, 'content-type': 'application/x-ndjson' };
  if (useGzip) headers['content-encoding'] = 'gzip';
  const pool = new Pool(url.origin, { connections });
  const target = `POST ${url.origin}${url.pathname}`;
  const reqPath = url.pathname + url.search;
  return {
    url: url.href,
    async prepare(items: readonly T[]): Promise<HttpSinkPayload> {
      const nd = toNdjson(items);
      return { body: useGzip ? await gzip(nd) : nd, items: items.length };
    },
    async send(payload: HttpSinkPayload, ctx: SendContext): Promise<void> {
      let res;
      try {
        res = await pool.request({ method: 'POST', path: reqPath, headers, body: payload.body, signal: ctx.signal });
      } catch (err) {
        if (ctx.signal.aborted) throw new SinkError(`${target}: aborted (${(ctx.signal.reason as Error | undefined)?.message ?? 'signal'})`, { cause: err });
        const code = (err as { code?: unknown }).code;
        throw new SinkError(`${target}: ${(err as Error).message}${typeof code === 'string' ? ` (${code})` : ''}`, { cause: err });
      }
      if (res.statusCode < 200 || res.statusCode > 299) {
        const text = await res.body.text().catch(() => '');
        throw new SinkError(`${target}: HTTP ${res.statusCode}${text === '' ? '' : `: ${text.slice(0, 200)}`}`, { status: res.statusCode });
      }
      await res.body.dump();
    },
    async close(): Promise<void> {
      if (!pool.closed) await pool.destroy();
    },
  };
}
