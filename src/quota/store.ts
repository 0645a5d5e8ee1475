/**
 * The quota store as seen by the main thread: an async interface (`QuotaStore`) and its SQLite
 * implementation, which talks by messages to a worker thread that owns the database
 * (quota/store-worker.ts). Tests may pass any other QuotaStore (e.g. one that injects failures).
 */
import { Worker } from 'node:worker_threads';
import { errorFromWire, type WireError } from '../errors.js';
import type { QuotaSynchronous } from './config.js';
import { QuotaStoreError, type UsageIncrement } from './types.js';
import type { ApplyEventsResult, DurableQuotaEvent, UsageRow } from './sqlite.js';
import type { StoreRequest, StoreWorkerData } from './store-worker.js';

export type { ApplyEventsResult, DurableQuotaEvent, UsageRow } from './sqlite.js';

/** Async quota store. Every method rejects with QuotaStoreError on failure. */
export interface QuotaStore {
  /** the store's location (file path) */
  readonly path: string;
  /** false once closed or its worker died */
  readonly alive: boolean;
  /** Adds all increments in one transaction (all or nothing). */
  apply(incs: UsageIncrement[]): Promise<void>;
  /** Usage of (user, type, window) and the applicable limit (null: no limit row for the type). */
  read(userId: string, quotaType: string, windowStart: number): Promise<UsageRow>;
  /** Sets a user's own limit (user `*`: the type's default). */
  setLimit(userId: string, quotaType: string, limit: number): Promise<void>;
  /** Usage summed over every window of (user, type). */
  totalUsage(userId: string, quotaType: string): Promise<number>;
  /** Closes the store (checkpoints the WAL); later calls reject. */
  close(): Promise<void>;
  /**
   * The durable path's idempotent batch write (`SqliteQuotaDb.applyEvents`): events whose event_id
   * was applied before are skipped and counted. Optional: a store without it cannot back
   * `--quota-durable` (QuotaService.start refuses it).
   */
  applyEvents?(events: DurableQuotaEvent[], pruneBeforeMs: number | null): Promise<ApplyEventsResult>;
  /** Schema the store was migrated from at open (e.g. `gatectl.quota/v1`), null when none; optional. */
  readonly migratedFrom?: string | null;
}

/** Options of `openSqliteQuotaStore`. */
export interface SqliteStoreOptions {
  /** SQLite file; it and its directory are created on first run */
  path: string;
  synchronous: QuotaSynchronous;
  /** default limit per quota type, written as the `*` rows */
  defaults: Record<string, number>;
}

/** A StoreRequest without its id (distributive over the union). */
type RequestBody = StoreRequest extends infer R ? (R extends StoreRequest ? Omit<R, 'id'> : never) : never;

interface Pending { resolve(v: unknown): void; reject(e: Error): void }

/** The SQLite store behind a worker thread. Create with `openSqliteQuotaStore`. */
export class SqliteQuotaStore implements QuotaStore {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  private deadReason: string | null = null;

  /** @internal use openSqliteQuotaStore */
  constructor(private readonly worker: Worker, readonly path: string, readonly journalMode: string, readonly migratedFrom: string | null = null) {
    worker.on('message', (m: { id: number; ok: boolean; result?: unknown; message?: string }) => {
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new QuotaStoreError(`quota store ${path}: ${m.message ?? 'failed'}`));
    });
    worker.on('error', (e) => this.die(`worker error: ${e.message}`));
    worker.on('exit', (code) => this.die(`worker exited with code ${code}`));
  }

  get alive(): boolean {
    return !this.closed && this.deadReason === null;
  }

  private die(reason: string): void {
    if (this.deadReason !== null) return;
    this.deadReason = reason;
    for (const p of this.pending.values()) p.reject(new QuotaStoreError(`quota store ${this.path}: ${reason}`));
    this.pending.clear();
  }

  private call<T>(req: RequestBody): Promise<T> {
    if (!this.alive) return Promise.reject(new QuotaStoreError(`quota store ${this.path} is ${this.closed ? 'closed' : `down (${this.deadReason})`}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...req, id });
    });
  }

  apply(incs: UsageIncrement[]): Promise<void> {
    return this.call({ op: 'apply', incs });
  }

  read(userId: string, quotaType: string, windowStart: number): Promise<UsageRow> {
    return this.call({ op: 'read', userId, quotaType, windowStart });
  }

  setLimit(userId: string, quotaType: string, limit: number): Promise<void> {
    return this.call({ op: 'setLimit', userId, quotaType, limit });
  }

  totalUsage(userId: string, quotaType: string): Promise<number> {
    return this.call({ op: 'total', userId, quotaType });
  }

  applyEvents(events: DurableQuotaEvent[], pruneBeforeMs: number | null): Promise<ApplyEventsResult> {
    return this.call({ op: 'applyEvents', events, pruneBeforeMs });
  }

  /** Rows of `quota_applied` (event ids the durable path remembers). */
  appliedCount(): Promise<number> {
    return this.call({ op: 'appliedCount' });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.deadReason === null) await this.call({ op: 'close' });
    } finally {
      this.closed = true;
      await this.worker.terminate();
    }
  }
}

/**
 * Starts the store worker and opens (creating on first run) the SQLite store, WAL journal.
 * Rejects with InvalidInputError (re-created from the worker's) when the file cannot be opened or is not a gatectl quota store; within 30 s.
 */
export async function openSqliteQuotaStore(opts: SqliteStoreOptions): Promise<SqliteQuotaStore> {
  const data: StoreWorkerData = { path: opts.path, synchronous: opts.synchronous, defaults: opts.defaults };
  const worker = new Worker(new URL('./store-worker.js', import.meta.url), { workerData: data });
  try {
    const ready = await new Promise<{ journalMode: string; migratedFrom: string | null }>((resolve, reject) => {
      const timer = setTimeout(() => { cleanup(); reject(new QuotaStoreError(`quota store ${opts.path}: worker not ready within 30 s`)); }, 30_000);
      const onMsg = (m: { type?: string; journalMode?: string; migratedFrom?: string | null; error?: WireError }) => {
        if (m.type === 'ready') { cleanup(); resolve({ journalMode: m.journalMode ?? '', migratedFrom: m.migratedFrom ?? null }); }
        else if (m.type === 'error') {
          cleanup();
          reject(errorFromWire(m.error ?? { code: 'GATECTL_QUOTA_STORE', message: 'quota store failed' }));
        }
      };
      const onErr = (e: Error) => { cleanup(); reject(new QuotaStoreError(`quota store ${opts.path}: worker failed: ${e.message}`, { cause: e })); };
      const onExit = (code: number) => { cleanup(); reject(new QuotaStoreError(`quota store ${opts.path}: worker exited with code ${code} before ready`)); };
      const cleanup = () => { clearTimeout(timer); worker.off('message', onMsg); worker.off('error', onErr); worker.off('exit', onExit); };
      worker.on('message', onMsg);
      worker.on('error', onErr);
      worker.on('exit', onExit);
    });
    return new SqliteQuotaStore(worker, opts.path, ready.journalMode, ready.migratedFrom);
  } catch (err) {
    await worker.terminate();
    throw err;
  }
}
