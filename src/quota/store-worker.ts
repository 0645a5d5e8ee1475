/**
 * worker_thread entry that owns the SQLite quota store (better-sqlite3 is synchronous; here its
 * calls never block the gateway's event loop). Protocol with quota/store.ts:
 * workerData: `{ path, synchronous, defaults }`;
 * worker -> parent first: `{ type: 'ready', journalMode, migratedFrom }` or `{ type: 'error', error: WireError }`;
 * parent -> worker: `{ id, op: 'apply', incs } | { id, op: 'read', userId, quotaType, windowStart }
 *   | { id, op: 'setLimit', userId, quotaType, limit } | { id, op: 'total', userId, quotaType }
 *   | { id, op: 'applyEvents', events, pruneBeforeMs } | { id, op: 'appliedCount' } | { id, op: 'close' }`;
 * worker -> parent: `{ id, ok: true, result }` or `{ id, ok: false, message }`, in request order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteQuotaDb } from './sqlite.js';
import { errorToWire } from '../errors.js';
import type { QuotaSynchronous } from './config.js';
import type { UsageIncrement } from './types.js';
import type { DurableQuotaEvent } from './sqlite.js';

/** A request to the store worker. */
export type StoreRequest =
  | { id: number; op: 'apply'; incs: UsageIncrement[] }
  | { id: number; op: 'read'; userId: string; quotaType: string; windowStart: number }
  | { id: number; op: 'setLimit'; userId: string; quotaType: string; limit: number }
  | { id: number; op: 'total'; userId: string; quotaType: string }
  | { id: number; op: 'applyEvents'; events: DurableQuotaEvent[]; pruneBeforeMs: number | null }
  | { id: number; op: 'appliedCount' }
  | { id: number; op: 'close' };

/** workerData of the store worker. */
export interface StoreWorkerData {
  path: string;
  synchronous: QuotaSynchronous;
  /** default limit per quota type */
  defaults: Record<string, number>;
}

const port = parentPort!;
const data = workerData as StoreWorkerData;
let db: SqliteQuotaDb | undefined;
try {
  db = new SqliteQuotaDb(data.path, data.synchronous, data.defaults);
  port.postMessage({ type: 'ready', journalMode: db.journalMode(), migratedFrom: db.migratedFrom });
} catch (err) {
  port.postMessage({ type: 'error', error: errorToWire(err) });
  port.close();
}

if (db !== undefined) {
  const store = db;
  port.on('message', (m: StoreRequest) => {
    try {
      let result: unknown = null;
      switch (m.op) {
        case 'apply': store.apply(m.incs); break;
        case 'read': result = store.read(m.userId, m.quotaType, m.windowStart); break;
        case 'setLimit': store.setLimit(m.userId, m.quotaType, m.limit); break;
        case 'total': result = store.totalUsage(m.userId, m.quotaType); break;
        case 'applyEvents': result = store.applyEvents(m.events, m.pruneBeforeMs); break;
        case 'appliedCount': result = store.appliedCount(); break;
        case 'close':
          store.close();
          port.postMessage({ id: m.id, ok: true, result: null });
          port.close();
          return;
      }
      port.postMessage({ id: m.id, ok: true, result });
    } catch (err) {
      port.postMessage({ id: m.id, ok: false, message: (err as Error).message });
    }
  });
}
