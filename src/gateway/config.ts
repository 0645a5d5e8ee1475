/**
 * Gateway configuration (DESIGN §4). Values come resolved and validated from src/config; this file
 * only defines the shape and the seed 004 defaults.
 */
import os from 'node:os';
import type { QueueConfig } from '../queue/index.js';
import type { MockUpstreamConfig } from '../upstream/index.js';
import type { TransportName } from '../transport/types.js';
import type { QuotaConfig, QuotaMode } from '../quota/index.js';

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
export const DEFAULT_EVENTS_DIR = '.gatectl/events-wal';

/** Default idle timeout, ms: three missed 30 s client heartbeats. */
export const DEFAULT_IDLE_TIMEOUT_MS = 90_000;

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
  /** largest accepted client frame, in bytes */
  maxFrameBytes: number;
  /**
   * A session that sent nothing (request, ack or Heartbeat) for this long, in ms, is closed with an
   * out-of-band ErrorResponse 408 and counted in `idle_closes`; 0 disables the check.
   */
  idleTimeoutMs: number;
  /** a write to a session pending longer than this, in ms, makes it a slow consumer (closed, counted); 0 disables */
  writeStallTimeoutMs: number;
  /** sessions at most; a connection beyond it gets an out-of-band 503 and is closed (counted in refused_max_sessions) */
  maxSessions: number;
  /** business requests per second per session (token bucket, burst = 1 s worth); beyond → 429; 0 = no cap */
  sessionRateLimit: number;
  /**
   * Async quota (seed 003, issue 5): every business/zone request is checked (429 over the limit)
   * and consumed, synchronously (`sync`: the store write awaited) or through the batching consumer
   * (`async`). null = off.
   */
  quota: { config: QuotaConfig; mode: QuotaMode } | null;
  /**
   * Event export (issue 6 §6): one GatewayEvent per answered business request, through VineQueue
   * (V2, WAL in `dir`) to an HTTP sink at `url` as NDJSON. Absent = off.
   */
  events?: { url: string; dir: string };
  /** PEM paths; a self-signed certificate is generated when absent */
  certPath?: string;
  keyPath?: string;
}
