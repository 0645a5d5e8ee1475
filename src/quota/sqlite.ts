/**
 * The SQLite quota store itself (better-sqlite3, synchronous). Runs only inside the store worker
 * thread (quota/store-worker.ts) so its synchronous calls never block the gateway's event loop.
 *
 * Schema `gatectl.quota/v1`, WAL journal:
 * - `gatectl_meta(key, value)`: `schema` = `gatectl.quota/v1` marks a gatectl store;
 * - `quota_limits(user_id, quota_type, limit_value)`: per-user limits; user `*` holds each type's default;
 * - `quota_usage(user_id, quota_type, window_start, used, updated_at)`: usage per fixed window
 *   (window_start and updated_at in ms since the Unix epoch).
 * Source: seed 003 批量数据库操作 (one increment per group, one transaction per batch).
 */
import { mkdirSync, existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { InvalidInputError } from '../errors.js';
import type { QuotaSynchronous } from './config.js';
import type { UsageIncrement } from './types.js';

/** Value of `gatectl_meta.schema` in a gatectl quota store. */
export const QUOTA_SCHEMA = 'gatectl.quota/v1';
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
`;

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
      if (existed) this.assertGatectlStore();
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      this.db.exec(DDL);
      this.db.prepare('INSERT OR IGNORE INTO gatectl_meta (key, value) VALUES (?, ?)').run('schema', QUOTA_SCHEMA);
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
    const setDefaults = this.db.transaction((d: Record<string, number>) => {
      for (const [type, limit] of Object.entries(d)) this.setLimitStmt.run(DEFAULT_LIMIT_USER, type, limit);
    });
    setDefaults(defaults);
  }

  private assertGatectlStore(): void {
    // First statement on a non-SQLite file throws SQLITE_NOTADB ("file is not a database").
    const tables = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    if (tables.length === 0) return;
    const schema = tables.includes('gatectl_meta')
      ? (this.db.prepare("SELECT value FROM gatectl_meta WHERE key = 'schema'").pluck().get() as string | undefined)
      : undefined;
    if (schema !== QUOTA_SCHEMA) {
      throw new InvalidInputError(`quota store ${this.path} is an SQLite database but not a gatectl quota store (schema ${JSON.stringify(schema ?? null)}, expected ${QUOTA_SCHEMA}): use another async_quota.store.path`);
    }
  }

  /** Adds every increment in one transaction (all or nothing). `now` in ms since the epoch. */
  apply(incs: readonly UsageIncrement[], now = Date.now()): void {
    this.applyTx(incs, now);
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
