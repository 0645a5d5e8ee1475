/**
 * Issue 15 §2, §4: `serve --quota-durable` — quota consumption through a VineQueue WAL, applied once
 * (idempotent by event id), replayed at start before the gateway accepts anyone; bad input (a WAL
 * directory that is not gatectl's, a corrupted segment, an older store schema); and the crash-safety
 * run (kill -9 of a serve child three times, then a graceful stop).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import Database from 'better-sqlite3';
import { InvalidInputError } from '../src/errors.js';
import {
  QuotaService, claimWalDir, describeRecovery, quotaStatsJson, registerQuotaMetrics, resolveQuotaConfig, WAL_MARKER_FILE, type QuotaLogger,
} from '../src/quota/index.js';
import { QUOTA_SCHEMA, QUOTA_SCHEMA_V1, SqliteQuotaDb } from '../src/quota/sqlite.js';
import { WAL_HEADER_BYTES } from '../src/vinequeue/index.js';
import { getTransport } from '../src/transport/index.js';
import { resolveGatewayConfig, type GatewayFlags } from '../src/config/resolve.js';
import { Registry } from 'prom-client';
import { RawClient, repoRoot, waitFor } from './support.js';

const YEAR_TYPES = { requests: { limit: 1_000_000, window: '8760h' } };
const quiet: QuotaLogger = { warn: () => undefined, error: () => undefined };

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatectl-qdur-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function config(dir: string, batchSize = 10) {
  return resolveQuotaConfig({
    overrides: { async_quota: { store: { path: join(dir, 'quota.db') }, quota_types: YEAR_TYPES, consumer: { flush_interval: '1h', retry_delay: 1, batch_size: batchSize } } },
  });
}

function storedUsage(dbPath: string): number {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare('SELECT COALESCE(SUM(used), 0) FROM quota_usage').pluck().get() as number;
  } finally {
    db.close();
  }
}

function segments(walDir: string): string[] {
  return readdirSync(walDir).filter((n) => n.endsWith('.wal'));
}

test('store: applyEvents adds each event id once; a v1 store is migrated in place; a schema this gatectl does not know is refused with the fix', (t) => {
  const dir = tempDir(t);
  const v1 = join(dir, 'v1.db');
  const raw = new Database(v1);
  raw.exec(`CREATE TABLE gatectl_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE quota_limits (user_id TEXT NOT NULL, quota_type TEXT NOT NULL, limit_value REAL NOT NULL, PRIMARY KEY (user_id, quota_type)) WITHOUT ROWID;
    CREATE TABLE quota_usage (user_id TEXT NOT NULL, quota_type TEXT NOT NULL, window_start INTEGER NOT NULL, used REAL NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (user_id, quota_type, window_start)) WITHOUT ROWID;`);
  raw.prepare('INSERT INTO gatectl_meta VALUES (?, ?)').run('schema', QUOTA_SCHEMA_V1);
  raw.prepare('INSERT INTO quota_usage VALUES (?, ?, ?, ?, ?)').run('u1', 'requests', 0, 7, 0);
  raw.close();

  const db = new SqliteQuotaDb(v1, 'normal', { requests: 100 });
  assert.equal(db.migratedFrom, QUOTA_SCHEMA_V1);
  assert.equal(db.totalUsage('u1', 'requests'), 7, 'usage kept across the migration');
  const ev = (id: string, user = 'u1') => ({ event_id: id, user_id: user, quota_type: 'requests', value: 1, window_start: 0, request_id: 'r' });
  const r1 = db.applyEvents([ev('a'), ev('b'), ev('c', 'u2'), ev('a')]);
  assert.deepEqual({ applied: r1.applied, duplicates: r1.duplicates }, { applied: 3, duplicates: 1 }, 'an id repeated inside one batch counts once');
  assert.deepEqual(r1.incs.map((i) => [i.user_id, i.delta]), [['u1', 2], ['u2', 1]]);
  const r2 = db.applyEvents([ev('b'), ev('c', 'u2'), ev('d')]);
  assert.deepEqual({ applied: r2.applied, duplicates: r2.duplicates }, { applied: 1, duplicates: 2 });
  assert.equal(db.totalUsage('u1', 'requests'), 7 + 3);
  assert.equal(db.totalUsage('u2', 'requests'), 1);
  // prune: ids applied before the bound go; later replays of them would count again, which is why the bound is the oldest live segment
  const r3 = db.applyEvents([], Date.now() + 1000);
  assert.equal(r3.pruned, 4);
  assert.equal(db.appliedCount(), 0);
  db.close();
  const again = new SqliteQuotaDb(v1, 'normal', { requests: 100 });
  assert.equal(again.migratedFrom, null, 'migrated once');
  again.close();
  const check = new Database(v1, { readonly: true });
  assert.equal(check.prepare("SELECT value FROM gatectl_meta WHERE key = 'schema'").pluck().get(), QUOTA_SCHEMA);
  check.close();

  const future = join(dir, 'v9.db');
  const f = new Database(future);
  f.exec('CREATE TABLE gatectl_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  f.prepare('INSERT INTO gatectl_meta VALUES (?, ?)').run('schema', 'gatectl.quota/v9');
  f.close();
  assert.throws(() => new SqliteQuotaDb(future, 'normal', {}), (e: unknown) => e instanceof InvalidInputError
    && /schema gatectl\.quota\/v9, which this gatectl does not know/.test(e.message) && /--quota-db/.test(e.message));
});

test('WAL directory: one that is not gatectl\'s, or belongs to another store, is refused and left as it was', async (t) => {
  const dir = tempDir(t);
  const foreign = join(dir, 'foreign');
  mkdirSync(foreign);
  writeFileSync(join(foreign, 'notes.txt'), 'mine');
  writeFileSync(join(foreign, 'vq-0000000000000001.wal'), 'someone else\'s VineQueue');
  await assert.rejects(claimWalDir(foreign, join(dir, 'quota.db')), (e: unknown) => e instanceof InvalidInputError
    && /is not a gatectl quota WAL: it holds 2 entries/.test(e.message) && /point --quota-wal-dir at an empty or new directory/.test(e.message));
  assert.deepEqual(readdirSync(foreign).sort(), ['notes.txt', 'vq-0000000000000001.wal'], 'nothing written or deleted');

  const mine = join(dir, 'wal');
  await claimWalDir(mine, join(dir, 'quota.db'));
  assert.ok(readdirSync(mine).includes(WAL_MARKER_FILE));
  await claimWalDir(mine, join(dir, 'quota.db')); // the same store again: fine
  await assert.rejects(claimWalDir(mine, join(dir, 'other.db')), (e: unknown) => e instanceof InvalidInputError
    && /belongs to the quota store .*quota\.db, not .*other\.db/.test(e.message) && /pass --quota-db/.test(e.message));
  writeFileSync(join(mine, WAL_MARKER_FILE), '{"format": "something/else"}');
  await assert.rejects(claimWalDir(mine, join(dir, 'quota.db')), /has format "something\/else"/);

  // the service refuses it at start, before taking any event
  await assert.rejects(QuotaService.start({ config: config(dir), logger: quiet, durable: { walDir: foreign } }), InvalidInputError);
});

test('durable service: a consume resolves once its event is in the WAL; batches reach the store; stop applies the rest and leaves no segment', async (t) => {
  const dir = tempDir(t);
  const walDir = join(dir, 'wal');
  const q = await QuotaService.start({ config: config(dir, 10), mode: 'async', logger: quiet, durable: { walDir } });
  assert.match(describeRecovery(q.durable!.recovery), /nothing to recover/);
  const paths = await Promise.all(Array.from({ length: 25 }, (_, i) => q.consume(QuotaService.event(`u${i % 3}`, 'requests', 1, `r${i}`))));
  assert.ok(paths.every((p) => p === 'durable'));
  assert.equal(segments(walDir).length, 1, 'the events are in a segment file');
  await waitFor(() => q.durable!.stats().applied_events === 20, 5000, 'two full batches applied');
  const s = (quotaStatsJson(q) as { quota_stats: { durable: Record<string, number> } }).quota_stats.durable;
  assert.equal(s.appended_events, 25);
  assert.equal(s.wal_depth_events, 5, 'the partial batch waits for the flush interval');
  assert.equal(s.replayed_events, 0);
  const registry = new Registry();
  registerQuotaMetrics(registry, q);
  const prom = await registry.metrics();
  assert.match(prom, /gatectl_quota_wal_depth_events 5/);
  assert.match(prom, /gatectl_quota_wal_events_total\{state="appended"\} 25/);
  const checked = await q.checkQuota('u0', 'requests');
  assert.equal(checked.used, 7, 'u0 had 7 of the 20 applied (the cache takes the increments)');
  const stop = await q.stop(5000);
  assert.equal(stop.durable?.remaining, 0);
  assert.equal(storedUsage(join(dir, 'quota.db')), 25);
  assert.deepEqual(segments(walDir), [], 'every record acknowledged: no segment left');
});

test('flags: --quota-durable resolves to the WAL settings; its companions without it, an unknown fsync, or quota off are refused with the fix', () => {
  const base: GatewayFlags = { host: '127.0.0.1', port: 0, transport: 'quic', 'upstream-latency': '1ms', 'upstream-distribution': 'fixed', 'before-notifies': 0, 'after-notifies': 0, mode: 'async' };
  assert.equal(resolveGatewayConfig(base, {}).quotaDurable, undefined);
  assert.deepEqual(resolveGatewayConfig({ ...base, 'quota-durable': true }, {}, '/srv/gatectl').quotaDurable, { walDir: '/srv/gatectl/quota-wal', fsync: 'interval' });
  assert.deepEqual(resolveGatewayConfig({ ...base, 'quota-durable': true, 'quota-wal-dir': 'w', 'quota-wal-fsync': 'always' }, {}).quotaDurable, { walDir: 'w', fsync: 'always' });
  assert.throws(() => resolveGatewayConfig({ ...base, 'quota-wal-dir': 'w' }, {}), /--quota-wal-dir applies to --quota-durable: add --quota-durable/);
  assert.throws(() => resolveGatewayConfig({ ...base, 'quota-durable': true, 'quota-wal-fsync': 'sometimes' }, {}), /--quota-wal-fsync "sometimes" is not supported: use one of interval, always/);
  assert.throws(() => resolveGatewayConfig({ ...base, 'quota-durable': true, quota: 'off' }, {}), /--quota-durable needs quota on/);
});

/** Runs a child that consumes `n` events through the durable path, waits for `applied` of them to be in the store, says so, and waits to be killed. */
function durableChild(dir: string, n: number, batch: number, applied: number): Promise<ChildProcess> {
  const index = path.join(repoRoot, 'dist/src/quota/index.js');
  const code = `
    const { QuotaService, resolveQuotaConfig } = await import(${JSON.stringify(index)});
    const config = resolveQuotaConfig({ overrides: { async_quota: { store: { path: ${JSON.stringify(join(dir, 'quota.db'))} }, quota_types: { requests: { limit: 1e9, window: '8760h' } }, consumer: { flush_interval: '1h', batch_size: ${batch} } } } });
    const q = await QuotaService.start({ config, mode: 'async', logger: { warn() {}, error() {} }, durable: { walDir: ${JSON.stringify(join(dir, 'wal'))} } });
    await Promise.all(Array.from({ length: ${n} }, (_, i) => q.consume(QuotaService.event('u' + (i % 4), 'requests', 1, 'r' + i))));
    const end = Date.now() + 10000;
    while (q.durable.stats().applied_events < ${applied} && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    process.stdout.write('ready ' + q.durable.stats().applied_events + '\\n');
    setInterval(() => {}, 1000);
  `;
  const script = join(dir, 'durable-child.mjs');
  writeFileSync(script, code);
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('durable child not ready within 20 s')); }, 20_000);
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) { clearTimeout(timer); resolve(child); }
    });
    child.on('exit', (c) => { clearTimeout(timer); reject(new Error(`durable child exited with ${c}`)); });
  });
}

async function kill9(child: ChildProcess): Promise<void> {
  child.removeAllListeners('exit');
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

test('replay after kill -9: events applied before the crash are skipped by id, the rest applied once; a corrupted record is skipped and counted', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  // 550 events in batches of 100 (flush 1 h): the child is killed once at least 300 are in the store;
  // the last 50 are only in the WAL, and the segment (not sealed) still holds all 550
  await kill9(await durableChild(dir, 550, 100, 300));
  const before = storedUsage(join(dir, 'quota.db'));
  assert.ok(before >= 300 && before <= 500, `applied before the kill: ${before}`);
  const q = await QuotaService.start({ config: config(dir), mode: 'async', logger: quiet, durable: { walDir: join(dir, 'wal') } });
  const r = q.durable!.recovery;
  assert.equal(r.replayed_events, 550);
  assert.equal(r.duplicate_events, before, 'what the store had is skipped by event id');
  assert.equal(r.applied_events, 550 - before);
  assert.equal(r.corrupt_records, 0);
  assert.match(describeRecovery(r), new RegExp(`replayed 550 events from 1 segment \\(${550 - before} applied now, ${before} already in the store, 0 corrupt records skipped\\)`));
  assert.equal(storedUsage(join(dir, 'quota.db')), 550, 'applied exactly once');
  assert.deepEqual(segments(join(dir, 'wal')), [], 'the recovered segment is deleted (this process wrote nothing yet)');
  await q.stop(5000);
  assert.equal(storedUsage(join(dir, 'quota.db')), 550);

  // a corrupted record: 50 events, none applied (batch 1000, flush 1 h), one byte flipped in the 10th record's body
  const dir2 = tempDir(t);
  await kill9(await durableChild(dir2, 50, 1000, 0));
  const [seg] = segments(join(dir2, 'wal'));
  const file = join(dir2, 'wal', seg!);
  const bytes = readFileSync(file);
  let off = WAL_HEADER_BYTES;
  for (let i = 0; i < 9; i++) off += 9 + bytes.readUInt32LE(off);
  bytes[off + 9 + 5] ^= 0xff;
  writeFileSync(file, bytes);
  const q2 = await QuotaService.start({ config: config(dir2), mode: 'async', logger: quiet, durable: { walDir: join(dir2, 'wal') } });
  assert.deepEqual({ ...q2.durable!.recovery, wal_dir: '', duration_ms: 0 }, {
    wal_dir: '', segments_found: 1, replayed_events: 49, applied_events: 49, duplicate_events: 0, corrupt_records: 1, store_migrated_from: null, duration_ms: 0,
  });
  assert.equal(storedUsage(join(dir2, 'quota.db')), 49);
  assert.deepEqual(segments(join(dir2, 'wal')), [], 'the corrupted segment is gone once the rest was applied');
  await q2.stop(5000);
});

/** A `gatectl serve` child; resolves once it printed its banner, with the port and the lines it printed. */
function serveChild(cwd: string, port: number): Promise<{ child: ChildProcess; port: number; lines: () => string }> {
  const args = [path.join(repoRoot, 'bin/run.js'), 'serve', '--port', String(port), '--monitor-port', '0', '--mode', 'async', '--quota', 'async',
    '--quota-durable', '--quota-db', 'quota.db', '--quota-wal-dir', 'wal', '--upstream-latency', '1ms', '--before-notifies', '0', '--after-notifies', '0'];
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`serve not ready within 30 s:\n${text}`)); }, 30_000);
    const poll = setInterval(() => {
      const m = /listening on quic:\/\/127\.0\.0\.1:(\d+)/.exec(text);
      if (m !== null && text.includes('press Ctrl-C')) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), lines: () => text });
      }
    }, 20);
    child.on('exit', (c) => { clearInterval(poll); clearTimeout(timer); reject(new Error(`serve exited with ${c}:\n${text}`)); });
  });
}

/**
 * Drives `clients` RawClients at about `ratePerClient` requests/s each for `runMs` ms (or until the
 * connection is gone); returns how many requests were sent and how many BusinessResponses came back.
 */
async function drive(port: number, clients: number, ratePerClient: number, runMs: number, round: number): Promise<{ sent: number; answered: number }> {
  const dialer = await getTransport('quic').createDialer({ insecure: true, connectTimeoutMs: 5000 });
  const conns = await Promise.all(Array.from({ length: clients }, (_, i) => RawClient.open(dialer, port, `user${i}`)));
  let sent = 0;
  const end = Date.now() + runMs;
  const gap = 1000 / ratePerClient;
  await Promise.all(conns.map(async (c, i) => {
    for (let seq = 1; Date.now() < end && !c.closed && seq < 100_000; seq++) {
      // not awaited: a write to a peer that was just killed may never settle
      c.send({ msgId: seq + 1, seqId: seq, business: { action: 'business', payload: Buffer.from(`r${round}c${i}s${seq}`) } }).catch(() => undefined);
      sent++;
      await new Promise((r) => setTimeout(r, gap));
    }
  }));
  await new Promise((r) => setTimeout(r, 300)); // answers already on the way
  const answered = conns.reduce((n, c) => n + c.pushes.filter((p) => p.body === 'business' && (p.business?.code ?? 0) === 200).length, 0);
  await Promise.all(conns.map((c) => c.conn.close(0, 'done', 500)));
  await dialer.close();
  return { sent, answered };
}

test('crash safety: kill -9 of serve --quota-durable at a random point three times, then a graceful stop: stored usage is what was answered, nothing applied twice', { timeout: 150_000 }, async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'quota.db');
  const recoveryOf = (lines: string) => {
    const m = /quota WAL .*: replayed (\d+) events from \d+ segments? \((\d+) applied now, (\d+) already in the store, (\d+) corrupt records skipped\)/.exec(lines);
    assert.ok(m !== null, `no recovery line in:\n${lines}`);
    return { replayed: Number(m[1]), applied: Number(m[2]), duplicates: Number(m[3]), corrupt: Number(m[4]) };
  };
  let port = 0;
  let storedBefore = 0;
  let s = await serveChild(dir, port);
  port = s.port;
  assert.match(s.lines(), /quota WAL .*: nothing to recover/);
  const notes: string[] = [];
  for (let round = 1; round <= 3; round++) {
    const killAt = 400 + Math.floor(Math.random() * 1200);
    const run = drive(port, 8, 100, killAt + 500, round);
    await new Promise((r) => setTimeout(r, killAt));
    await kill9(s.child);
    const { answered } = await run;
    // the same port and store: the start applies the WAL before it listens
    s = await serveChild(dir, port);
    const rec = recoveryOf(s.lines());
    const stored = storedUsage(db) - storedBefore;
    storedBefore += stored;
    notes.push(`round ${round}: killed at ${killAt} ms, answered ${answered}, stored ${stored} (replayed ${rec.replayed}: ${rec.applied} applied at restart, ${rec.duplicates} already in the store)`);
    // every event written before the kill is in the store exactly once: the round's segment was
    // still active (never deleted), so the restart replayed all of it and skipped what was applied
    assert.equal(stored, rec.replayed, `round ${round}: stored ${stored} ≠ events in the WAL ${rec.replayed}`);
    assert.equal(rec.corrupt, 0);
    // nothing answered is lost; on top, at most the requests whose event was written just before the kill took their answer
    assert.ok(stored >= answered, `round ${round}: stored ${stored} < answered ${answered}: usage lost`);
  }
  const { answered } = await drive(port, 4, 50, 600, 4);
  s.child.removeAllListeners('exit');
  const exited = new Promise<number | null>((res) => s.child.once('exit', res));
  s.child.kill('SIGTERM');
  assert.equal(await exited, 0);
  const stored = storedUsage(db) - storedBefore;
  notes.push(`graceful round: answered ${answered}, stored ${stored}`);
  t.diagnostic(notes.join('; '));
  assert.equal(stored, answered, 'no kill: stored equals answered exactly');
  assert.deepEqual(segments(join(dir, 'wal')), [], 'the graceful stop applied everything');
});
