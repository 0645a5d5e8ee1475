/**
 * The SQLite quota store itself (better-sqlite3, synchronous). Runs only inside the store worker
 * thread (quota/store-worker.ts) so its synchronous calls never block the gateway's event loop.
 *
 * Schema `gatectl.quota/v2`, WAL journal:
 * - `gatectl_meta(key, value)`: `schema` = `gatectl.quota/v2` marks a gatectl store;
 * - `quota_limits(user_id, quota_type, limit_value)`: per-user limits; user `*` holds each type's default;
 * - `quota_usage(user_id, quota_type, window_start, used, updated_at)`: usage per fixed window
 *   (window_start and updated_at in ms since the Unix epoch);
 * - `quota_applied(event_id, applied_at)` (v2, issue 15): the durable path's events already added to
 *   `quota_usage`, so a WAL replay after a crash applies each event once (applied_at in ms since the
 *   epoch; rows are pruned once no live WAL segment can hold their event).
 * A v1 store (no `quota_applied`) is migrated in place at open; any other schema is refused.
 * Source: seed 003 批量数据库操作 (one increment per group, one transaction per batch).
 */
import { mkdirSync, existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { InvalidInputError } from '../errors.js';
import type { QuotaSynchronous } from './config.js';
import type { UsageIncrement } from './types.js';

/** Value of `gatectl_meta.schema` in a gatectl quota store. */
export const QUOTA_SCHEMA = 'gatectl.quota/v2';
/** The earlier schema, migrated to {@link QUOTA_SCHEMA} at open (adds `quota_applied`). */
export const QUOTA_SCHEMA_V1 = 'gatectl.quota/v1';
/** user_id of the default-limit rows in `quota_limits`. */
export const DEFAULT_LIMIT_USER = '*';

const DDL = `
CREATE TABLE IF NOT EXISTS gatectl_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS quota_limits (
  user_id TEXT NOT NULL, quota_type TEXT NOT NULL, limit_value REAL NOT NULL,
  PRIMARY KEY (user_id, quota_type)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS quota_usage (
  user_id TEXT NOT NULL, quota_type TEXT NOT NULL, window_start INTEGER NOT NULL,
  used REAL NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, quota_type, window_start)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS quota_applied (event_id TEXT PRIMARY KEY, applied_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS quota_applied_at ON quota_applied (applied_at);
`;

/**
 * One consumption event of the durable path (`serve --quota-durable`), as written to the quota WAL
 * and applied by `SqliteQuotaDb.applyEvents`. `event_id` is unique per event across restarts
 * (`<boot id>:<n>`, given at append time); `window_start` is already computed (ms since the epoch).
 */
export interface DurableQuotaEvent {
  event_id: string;
  user_id: string;
  quota_type: string;
  /** amount consumed, > 0 */
  value: number;
  /** window start of the event, ms since the Unix epoch */
  window_start: number;
  /** the gateway's request id (for logs; not unique across restarts) */
  request_id: string;
}

/** What `applyEvents` did with a batch. */
export interface ApplyEventsResult {
  /** events added to quota_usage now */
  applied: number;
  /** events skipped because their event_id was applied before (a WAL replay, or a retried batch) */
  duplicates: number;
  /** the increments written (grouped by user, type, window), for the service's cache */
  incs: UsageIncrement[];
  /** quota_applied rows pruned in this call */
  pruned: number;
}

/** Usage and limit of one (user, type, window). */
export interface UsageRow {
  /** usage of the window (0 when no row) */
  used: number;
  /** the user's limit, else the type's default, else null (unknown type in this store) */
  limit: number | null;
}

/** Synchronous quota store over one SQLite file. */
export class SqliteQuotaDb {
  private readonly db: Database.Database;
  private readonly incStmt: Database.Statement<[string, string, number, number, number]>;
  private readonly usageStmt: Database.Statement<[string, string, number], { used: number }>;
  private readonly limitStmt: Database.Statement<[string, string], { limit_value: number }>;
  private readonly setLimitStmt: Database.Statement<[string, string, number]>;
  private readonly applyTx: (incs: readonly UsageIncrement[], now: number) => void;
  private readonly markStmt: Database.Statement<[string, number]>;
  private readonly pruneStmt: Database.Statement<[number]>;
  private readonly applyEventsTx: (events: readonly DurableQuotaEvent[], now: number, pruneBeforeMs: number | null) => ApplyEventsResult;
  /** the schema the file had before this open migrated it (null: created now or already current) */
  readonly migratedFrom: string | null = null;

  /**
   * Opens (creating it and its directory on first run) the store at `path`, in WAL mode.
   * `defaults` are upserted as the `*` limit rows. Throws InvalidInputError naming the path when the
   * file cannot be opened, is not SQLite, or is an SQLite database that is not a gatectl store.
   */
  constructor(readonly path: string, synchronous: QuotaSynchronous, defaults: Record<string, number>) {
    const existed = existsSync(path) && statSync(path).size > 0;
    try {
      mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path);
    } catch (err) {
      throw new InvalidInputError(`quota store ${path} cannot be opened (${(err as Error).message}): check async_quota.store.path`, { cause: err });
    }
    try {
      this.db.pragma('busy_timeout = 5000');
      const found = existed ? this.assertGatectlStore() : null;
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      // DDL and the marker in one transaction: a v1 store is migrated all or nothing
      this.db.transaction(() => {
        this.db.exec(DDL);
        this.db.prepare('INSERT INTO gatectl_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run('schema', QUOTA_SCHEMA);
      })();
      if (found === QUOTA_SCHEMA_V1) this.migratedFrom = QUOTA_SCHEMA_V1;
    } catch (err) {
      this.db.close();
      if (err instanceof InvalidInputError) throw err;
      throw new InvalidInputError(`quota store ${path} is not usable (${(err as Error).message}): point async_quota.store.path at a new file or a gatectl quota store`, { cause: err });
    }
    this.incStmt = this.db.prepare(
      `INSERT INTO quota_usage (user_id, quota_type, window_start, used, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (user_id, quota_type, window_start) DO UPDATE SET used = used + excluded.used, updated_at = excluded.updated_at`);
    this.usageStmt = this.db.prepare('SELECT used FROM quota_usage WHERE user_id = ? AND quota_type = ? AND window_start = ?');
    this.limitStmt = this.db.prepare(
      `SELECT limit_value FROM quota_limits WHERE user_id IN (?, '${DEFAULT_LIMIT_USER}') AND quota_type = ?
       ORDER BY user_id = '${DEFAULT_LIMIT_USER}' LIMIT 1`);
    this.setLimitStmt = this.db.prepare(
      'INSERT INTO quota_limits (user_id, quota_type, limit_value) VALUES (?, ?, ?) ON CONFLICT (user_id, quota_type) DO UPDATE SET limit_value = excluded.limit_value');
    this.applyTx = this.db.transaction((incs: readonly UsageIncrement[], now: number) => {
      for (const i of incs) this.incStmt.run(i.user_id, i.quota_type, i.window_start, i.delta, now);
    });
    this.markStmt = this.db.prepare('INSERT OR IGNORE INTO quota_applied (event_id, applied_at) VALUES (?, ?)');
    this.pruneStmt = this.db.prepare('DELETE FROM quota_applied WHERE applied_at < ?');
    this.applyEventsTx = this.db.transaction((events: readonly DurableQuotaEvent[], now: number, pruneBeforeMs: number | null) => {
      const incs: UsageIncrement[] = [];
      let duplicates = 0;
      for (const ev of events) {
        if (this.markStmt.run(ev.event_id, now).changes === 0) { duplicates++; continue; }
        let g: UsageIncrement | undefined;
        for (const x of incs) if (x.user_id === ev.user_id && x.quota_type === ev.quota_type && x.window_start === ev.window_start) { g = x; break; }
        if (g === undefined) incs.push({ user_id: ev.user_id, quota_type: ev.quota_type, window_start: ev.window_start, delta: ev.value });
        else g.delta += ev.value;
      }
      for (const i of incs) this.incStmt.run(i.user_id, i.quota_type, i.window_start, i.delta, now);
      const pruned = pruneBeforeMs === null ? 0 : this.pruneStmt.run(pruneBeforeMs).changes;
      return { applied: events.length - duplicates, duplicates, incs, pruned };
    });
    const setDefaults = this.db.transaction((d: Record<string, number>) => {
      for (const [type, limit] of Object.entries(d)) this.setLimitStmt.run(DEFAULT_LIMIT_USER, type, limit);
    });
    setDefaults(defaults);
  }

  /**
   * Returns the schema of an existing store (null for an empty database). Throws InvalidInputError
   * for an SQLite database that is not a gatectl quota store, or one of a schema this gatectl does
   * not know (a newer gatectl's).
   */
  private assertGatectlStore(): string | null {
    // First statement on a non-SQLite file throws SQLITE_NOTADB ("file is not a database").
    const tables = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    if (tables.length === 0) return null;
    const schema = tables.includes('gatectl_meta')
      ? (this.db.prepare("SELECT value FROM gatectl_meta WHERE key = 'schema'").pluck().get() as string | undefined)
      : undefined;
    if (schema === QUOTA_SCHEMA || schema === QUOTA_SCHEMA_V1) return schema;
    if (schema !== undefined && schema.startsWith('gatectl.quota/')) {
      throw new InvalidInputError(`quota store ${this.path} has schema ${schema}, which this gatectl does not know (it reads ${QUOTA_SCHEMA_V1} and ${QUOTA_SCHEMA}): run the gatectl that wrote it, or point --quota-db (async_quota.store.path) at another file`);
    }
    throw new InvalidInputError(`quota store ${this.path} is an SQLite database but not a gatectl quota store (schema ${JSON.stringify(schema ?? null)}, expected ${QUOTA_SCHEMA}): use another async_quota.store.path`);
  }

  /** Adds every increment in one transaction (all or nothing). `now` in ms since the epoch. */
  apply(incs: readonly UsageIncrement[], now = Date.now()): void {
    this.applyTx(incs, now);
  }

  /**
   * The durable path's batch write (issue 15): in one transaction, records each event's `event_id`
   * in `quota_applied` and adds the events not applied before to `quota_usage`, grouped per (user,
   * type, window); then, when `pruneBeforeMs` is given, deletes `quota_applied` rows applied before
   * it (ms since the epoch). `now`: ms since the epoch. All or nothing.
   */
  applyEvents(events: readonly DurableQuotaEvent[], pruneBeforeMs: number | null = null, now = Date.now()): ApplyEventsResult {
    return this.applyEventsTx(events, now, pruneBeforeMs);
  }

  /** Rows in `quota_applied` (events the durable path applied and still remembers). */
  appliedCount(): number {
    return this.db.prepare('SELECT COUNT(*) FROM quota_applied').pluck().get() as number;
  }

  /** Usage of one window and the applicable limit. */
  read(userId: string, quotaType: string, windowStart: number): UsageRow {
    const u = this.usageStmt.get(userId, quotaType, windowStart);
    const l = this.limitStmt.get(userId, quotaType);
    return { used: u?.used ?? 0, limit: l?.limit_value ?? null };
  }

  /** Sets a user's own limit for a type (user `*`: the type's default). */
  setLimit(userId: string, quotaType: string, limit: number): void {
    this.setLimitStmt.run(userId, quotaType, limit);
  }

  /** Sum of usage over every window of (user, type); for tests and inspection. */
  totalUsage(userId: string, quotaType: string): number {
    return (this.db.prepare('SELECT COALESCE(SUM(used), 0) FROM quota_usage WHERE user_id = ? AND quota_type = ?').pluck().get(userId, quotaType) as number);
  }

  /** The journal mode in effect (`wal`). */
  journalMode(): string {
    return this.db.pragma('journal_mode', { simple: true }) as string;
  }

  /** Checkpoints the WAL and closes the file. */
  close(): void {
    if (!this.db.open) return;
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.db.close();
    }
  }
}
