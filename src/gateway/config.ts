/**
 * Gateway configuration (DESIGN §4). Values come resolved and validated from src/config; this file
 * only defines the shape and the seed 004 defaults.
 */
import os from 'node:os';
import type { QueueConfig } from '../queue/index.js';
import type { MockUpstreamConfig } from '../upstream/index.js';
import type { TransportName } from '../transport/types.js';
import type { QuotaConfig, QuotaMode } from '../quota/index.js';
import type { DurableQuotaOptions } from '../quota/index.js';

/** How business/zone requests are processed: inline in the connection handler (`sync`) or through the AsyncRequestProcessor (`async`). */
export type ProcessorMode = 'sync' | 'async';

/** AsyncRequestProcessor settings (seed 004 §1.2 AsyncConfig). */
export interface ProcessorConfig {
  /** MaxWorkers: default CPU count × 4 */
  maxWorkers: number;
  /** MaxQueueSize: default 10000; a full queue answers 503 */
  maxQueueSize: number;
  /** TaskTimeout for the upstream call, in ms: default 30000; on expiry the client gets 504 */
  taskTimeoutMs: number;
}

/** Default WAL directory of the event export (relative to the working directory). */

/** Default idle timeout, ms: three missed 30 s client heartbeats. */
export const DEFAULT_IDLE_TIMEOUT_MS = 90_000;

/**
 * Default `--max-frame-size`, bytes: 64 KiB. The protocol's frames are small (a Hello, an ack, a
 * business request with a payload and a few headers); larger frames are answered 413 and closed.
 */
export const DEFAULT_GATEWAY_MAX_FRAME_BYTES = 64 * 1024;

/** Accepted `--max-frame-size` range, bytes: 1 KiB .. 16 MiB. */
export const MAX_FRAME_BYTES_RANGE = { min: 1024, max: 16 * 1024 * 1024 } as const;

/** Default `--hello-timeout`, ms: a session must complete Hello within 10 s of its connection. */
export const DEFAULT_HELLO_TIMEOUT_MS = 10_000;

/** Accepted `--hello-timeout` range, ms (0 = no deadline). */
export const HELLO_TIMEOUT_RANGE_MS = { min: 100, max: 600_000 } as const;

/** Default `--max-pending-sessions` as a share of `--max-sessions` (10%, at least 1). */
export const DEFAULT_PENDING_SESSIONS_SHARE = 0.1;

/** Default caps on one request's headers map: 64 entries, 8 KiB of keys and values (UTF-8). */
export const DEFAULT_MAX_HEADER_ENTRIES = 64;
export const DEFAULT_MAX_HEADER_BYTES = 8 * 1024;

/**
 * Default per-session budget per event-loop turn: 4 KiB decoded and 32 messages dispatched; the
 * sessions queued for a later turn share 4 × 4 KiB per turn. Measured with five senders of 64 KiB
 * frames (4 in flight each) beside 100 clients at 10 requests/s, the gateway in its own process
 * (issue 16): with 64 KiB per session the others' p99 went from 5.5 to 57-69 ms, with 8 KiB to
 * 31-37 ms, with 4 KiB to 25-27 ms (1 KiB: 27 ms); the big senders got as much through either way
 * (3,700-5,100 answers in 8 s): what a small budget stops is their datagrams crowding the
 * listener's one UDP receive queue.
 */
export const DEFAULT_TURN_BUDGET = { bytes: 4 * 1024, messages: 32 } as const;

/** Seed 004 DefaultAsyncConfig. */
export function defaultProcessorConfig(): ProcessorConfig {
  return { maxWorkers: Math.max(1, os.availableParallelism() * 4), maxQueueSize: 10_000, taskTimeoutMs: 30_000 };
}

/** Everything a GatewayServer needs. */
export interface GatewayConfig {
  host: string;
  /** 0 picks a free port */
  port: number;
  transport: TransportName;
  processorMode: ProcessorMode;
  processor: ProcessorConfig;
  queue: QueueConfig;
  /** the in-process mock's settings (used when `upstreamUrl` is absent) */
  upstream: MockUpstreamConfig;
  /** base URL of an HTTP upstream speaking the contract of src/upstream/contract.ts; absent = in-process mock */
  upstreamUrl?: string;
  /**
   * largest frame, in bytes, both ways: a client frame above it is answered with an out-of-band
   * ErrorResponse 413 and the session closed; an upstream answer that would need a larger frame is
   * answered 500 (`upstream_oversize`). Default 64 KiB, at most 16 MiB.
   */
  maxFrameBytes: number;
  /**
   * A session that has not completed Hello this long (ms) after its connection opened gets an
   * out-of-band ErrorResponse 408 and is closed (`hello_timeouts`); Heartbeats do not extend it.
   * 0 disables the deadline.
   */
  helloTimeoutMs: number;
  /**
   * Sessions that have not completed Hello, at most (they count towards `maxSessions` too). A new
   * connection beyond it displaces the oldest such session that has not sent a Hello (out-of-band
   * 503, `pending_evictions`), or is refused (503, `refused_pending_sessions`) when every pending
   * session has a Hello in progress. 1 .. maxSessions.
   */
  maxPendingSessions: number;
  /** most entries in one request's headers map; beyond it the request is answered 400 (`headers_too_large`) */
  maxHeaderEntries: number;
  /** most bytes (UTF-8 keys plus values) in one request's headers map; beyond it 400 */
  maxHeaderBytes: number;
  /**
   * Fairness (issue 16): per event-loop turn, one session gets at most `bytes` of its input decoded
   * and `messages` messages dispatched; the rest waits for a later turn, after the other sessions
   * (round robin; the waiting sessions together get 4 × `bytes` per turn), and its transport stops
   * reading while more than 4 × `bytes` is held (QUIC flow control then holds the peer back).
   */
  turnBudget: { bytes: number; messages: number };
  /**
   * A session that sent nothing (request, ack or Heartbeat) for this long, in ms, is closed with an
   * out-of-band ErrorResponse 408 and counted in `idle_closes`; 0 disables the check.
   */
  idleTimeoutMs: number;
  /** a write to a session pending longer than this, in ms, makes it a slow consumer (closed, counted); 0 disables */
  writeStallTimeoutMs: number;
  /** sessions at most; a connection beyond it gets an out-of-band 503 and is closed (counted in refused_max_sessions) */
  maxSessions: number;
  /**
   * QUIC: answer a new connection's first Initial with a stateless Retry (address validation,
   * RFC 9000 §8.1) before keeping any state for it; false skips that round trip.
   */
  quicRetry: boolean;
  /** business requests per second per session (token bucket, burst = 1 s worth); beyond → 429; 0 = no cap */
  sessionRateLimit: number;
  /**
   * Async quota (seed 003, issue 5): every business/zone request is checked (429 over the limit)
   * and consumed, synchronously (`sync`: the store write awaited) or through the batching consumer
   * (`async`). null = off.
   */
  quota: { config: QuotaConfig; mode: QuotaMode } | null;
  /**
   * `--quota-durable` (issue 15): async consumption goes through a VineQueue WAL in `walDir`
   * (written before the answer, applied once, replayed at start). Absent = the in-memory channel.
   */
  quotaDurable?: DurableQuotaOptions;
  /**
   * Event export (issue 6 §6): one GatewayEvent per answered business request, through VineQueue
   * (V2, WAL in `dir`) to an HTTP sink at `url` as NDJSON. Absent = off.
   */
  events?: { url: string; dir: string };
  /** PEM paths; a self-signed certificate is generated when absent */
  certPath?: string;
  keyPath?: string;
}
