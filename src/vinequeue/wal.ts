/**
 * VineQueue's write-ahead log (seed 002 "WAL增强: 支持压缩和加密", "内存+磁盘双重保障", "事务性WAL",
 * "异步WAL恢复，不阻塞启动").
 *
 * Layout: append-only segment files `vq-<16-digit id>.wal` in one directory. Each segment starts with
 * a 64-byte header — magic `VQWAL\0\0\x01`, flags (bit 0 snappy, bit 1 AES-256-GCM), and, when
 * encrypted, an AES-256-GCM key check (IV, encrypted constant, tag) so a wrong key is found at start
 * without reading records. Then records:
 *
 *   u32 LE body length | u8 type (0 bytes, 1 JSON) | u32 LE CRC32 | body
 *
 * The CRC32 (zlib.crc32) covers the length, the type and the body. The body is the item (raw bytes or
 * UTF-8 JSON), snappy-compressed when the segment says so, then encrypted when it says so
 * (12-byte random IV | ciphertext | 16-byte GCM tag).
 *
 * Appends are group-committed: every record appended in one event-loop turn goes out in one writev
 * (on the libuv pool, or `writevSync` on the event loop with `walSyncWrite`),
 * followed by fdatasync when `walFsync` is `always` (else a timer runs fdatasync every
 * `walFsyncIntervalMs`). A segment is sealed beyond `walSegmentBytes` and deleted once every record
 * in it has been acknowledged by the sink (or skipped as corrupt) — never before.
 *
 * Reading (recovery and overflow refill) goes through one cursor over the segments in id order. A
 * record whose CRC does not match, whose length runs past the end of the file (torn write), or whose
 * body does not decrypt/decompress is skipped and counted; the reader resynchronises on the next
 * position where a whole valid record starts.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomFillSync } from 'node:crypto';
import { writevSync } from 'node:fs';
import { mkdir, open, readdir, readFile, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { compressSync, uncompressSync } from 'snappy';
import { WalCorruptError, WalKeyError } from './errors.js';
import type { VineQueueConfig } from './config.js';

/** Header bytes at the start of every segment. */
export const WAL_HEADER_BYTES = 64;
/** Bytes before a record's body: length (4), type (1), CRC32 (4). */
export const WAL_RECORD_OVERHEAD = 9;
/** Largest record body accepted when reading, in bytes (a larger length is treated as corruption). */
export const WAL_MAX_RECORD_BYTES = 64 * 1024 * 1024;
const MAGIC = Buffer.from([0x56, 0x51, 0x57, 0x41, 0x4c, 0x00, 0x00, 0x01]); // "VQWAL\0\0\x01"
const KEY_CHECK_PLAIN = Buffer.from('vinequeue-keychk', 'latin1'); // 16 bytes
const FLAG_SNAPPY = 1;
const FLAG_AES = 2;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SEGMENT_RE = /^vq-(\d{16})\.wal$/;
/** Bytes read from a segment at a time while recovering, unless one record is larger. */
const READ_CHUNK_BYTES = 4 * 1024 * 1024;

/** Record type byte: the item was a Buffer/Uint8Array (read back as a Buffer). */
export const TYPE_BYTES = 0;
/** Record type byte: the item was a JSON value (read back with JSON.parse). */
export const TYPE_JSON = 1;

/** One segment file and its bookkeeping. */
export interface Segment {
  readonly id: number;
  readonly path: string;
  /** snappy / AES flags this segment was written with (a recovered segment keeps its own) */
  readonly flags: number;
  /** bytes of header and records assigned to the file, including those not yet written */
  assignedBytes: number;
  /** bytes written to the file */
  durableBytes: number;
  /** records in the segment (for a recovered segment: found so far, final once readDone) */
  total: number;
  /** records acknowledged by the sink or skipped as corrupt */
  acked: number;
  /** no more appends */
  sealed: boolean;
  /** a recovered segment: true once the cursor passed its end (its total is final); always true for new ones */
  readDone: boolean;
  /** found at start (written by an earlier process) */
  readonly recovered: boolean;
  deleted: boolean;
  fh: FileHandle | null;
  /** Date.now() when this process created the segment, ms since the epoch; 0 for a recovered one (written by an earlier process) */
  readonly createdAtMs: number;
}

/** Counters the WAL keeps; the queue reports them in its metrics. */
export interface WalCounters {
  /** records skipped because they were corrupt or torn */
  corrupt: number;
  /** records read back from segments written by an earlier process */
  recovered: number;
  /** segment files deleted after all their records were acknowledged */
  segmentsDeleted: number;
}

/** Records read from the cursor: the items and, per item, the segment holding it. */
export interface WalRead<T> {
  items: T[];
  segs: Segment[];
  /** how many of them came from recovered segments */
  recovered: number;
}

/**
 * Reads the AES-256-GCM key from `encryptionKeyFile` (32 raw bytes, or 64 hex digits / base64 text)
 * or else from the environment variable `encryptionKeyEnv`. Throws WalKeyError when neither gives a key
 * or the key is not 32 bytes.
 */
export async function loadWalKey(c: Pick<VineQueueConfig, 'encryptionKeyFile' | 'encryptionKeyEnv'>, env: NodeJS.ProcessEnv = process.env): Promise<Buffer> {
  let raw: Buffer;
  let source: string;
  if (c.encryptionKeyFile !== null && c.encryptionKeyFile !== '') {
    source = `key file ${c.encryptionKeyFile}`;
    try {
      raw = await readFile(c.encryptionKeyFile);
    } catch (err) {
      throw new WalKeyError(`cannot read the WAL ${source}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; give a readable file with a 32-byte key`);
    }
    if (raw.length === 32) return raw;
  } else {
    source = `environment variable ${c.encryptionKeyEnv}`;
    const v = env[c.encryptionKeyEnv];
    if (v === undefined || v === '') throw new WalKeyError(`WAL encryption is on but ${source} is not set: set it to a 32-byte key as 64 hex digits or base64, or set encryptionKeyFile`);
    raw = Buffer.from(v, 'utf8');
  }
  const text = raw.toString('utf8').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  const b64 = Buffer.from(text, 'base64');
  if (b64.length === 32 && /^[A-Za-z0-9+/=_-]+$/.test(text)) return b64;
  throw new WalKeyError(`the WAL key in the ${source} is not 32 bytes: give 64 hex digits, 44 base64 characters, or a file of 32 raw bytes`);
}

function segmentName(id: number): string {
  return `vq-${String(id).padStart(16, '0')}.wal`;
}

function makeHeader(flags: number, key: Buffer | null): Buffer {
  const h = Buffer.alloc(WAL_HEADER_BYTES);
  MAGIC.copy(h, 0);
  h[8] = flags;
  if ((flags & FLAG_AES) !== 0 && key !== null) {
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv('aes-256-gcm', key, iv);
    const ct = Buffer.concat([c.update(KEY_CHECK_PLAIN), c.final()]);
    iv.copy(h, 12);
    ct.copy(h, 24);
    c.getAuthTag().copy(h, 40);
  }
  return h;
}

/** Throws WalCorruptError / WalKeyError when `h` is not a header this key can read. */
function checkHeader(file: string, h: Buffer, key: Buffer | null): number {
  if (!h.subarray(0, 8).equals(MAGIC)) throw new WalCorruptError(`${file} is not a VineQueue WAL segment (bad magic); move it out of the WAL directory`);
  const flags = h[8]!;
  if ((flags & FLAG_AES) !== 0) {
    if (key === null) throw new WalKeyError(`WAL segment ${file} is encrypted but encryption is off: turn enableEncryption on with the key it was written with`);
    try {
      const d = createDecipheriv('aes-256-gcm', key, h.subarray(12, 24));
      d.setAuthTag(h.subarray(40, 56));
      const plain = Buffer.concat([d.update(h.subarray(24, 40)), d.final()]);
      if (!plain.equals(KEY_CHECK_PLAIN)) throw new Error('key check mismatch');
    } catch {
      throw new WalKeyError(`wrong WAL encryption key for ${file}: the key does not match the one the segment was written with; nothing was deleted — give the original key`);
    }
  }
  return flags;
}

/**
 * writevSync until all `bytes` of `bufs` are written (a short write continues where it stopped).
 * Throws the fs error (ENOSPC, EIO…).
 */
function writeAllSync(fd: number, bufs: Buffer[], bytes: number): void {
  let done = writevSync(fd, bufs);
  while (done < bytes) {
    let skip = done;
    const rest: Buffer[] = [];
    for (const b of bufs) {
      if (skip >= b.length) { skip -= b.length; continue; }
      rest.push(skip > 0 ? b.subarray(skip) : b);
      skip = 0;
    }
    done += writevSync(fd, rest);
  }
}

/**
 * The write-ahead log of one queue. Create with `Wal.open()`; then `append()` records, `read()` the
 * backlog through the cursor, `ack()` records the sink acknowledged, and `close()` at stop.
 */
export class Wal {
  readonly dir: string;
  readonly counters: WalCounters = { corrupt: 0, recovered: 0, segmentsDeleted: 0 };
  private readonly segments: Segment[] = [];
  private active!: Segment;
  private readonly flags: number;
  private readonly key: Buffer | null;
  private readonly segmentBytes: number;
  private readonly fsyncAlways: boolean;
  private readonly syncWrite: boolean;
  private nextId: number;
  private pending: { seg: Segment; buf: Buffer }[] = [];
  private group: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | null = null;
  private flushing: Promise<void> | null = null;
  private dirty = false;
  private fsyncTimer: NodeJS.Timeout | null = null;
  private flushWaiters: (() => void)[] = [];
  /** read cursor: segment and byte offset of the next unread record */
  private cursorSeg: Segment | null = null;
  private cursorOff = 0;
  private cache: { seg: Segment; start: number; buf: Buffer } | null = null;
  private closed = false;
  /** unlinks of deleted segments still running */
  private readonly unlinks = new Set<Promise<void>>();
  private recoveryWaiters: (() => void)[] = [];

  private constructor(c: VineQueueConfig, key: Buffer | null, nextId: number) {
    this.dir = c.walDir;
    this.key = key;
    this.flags = (c.enableCompression ? FLAG_SNAPPY : 0) | (key !== null ? FLAG_AES : 0);
    this.segmentBytes = c.walSegmentBytes;
    this.fsyncAlways = c.walFsync === 'always';
    this.syncWrite = c.walSyncWrite;
    this.nextId = nextId;
    if (!this.fsyncAlways) {
      this.fsyncTimer = setInterval(() => { void this.syncActive(); }, c.walFsyncIntervalMs);
      this.fsyncTimer.unref();
    }
  }

  /**
   * Opens the WAL in `c.walDir` (created if missing): loads the key when encryption is on, checks
   * every existing segment's header, and positions the cursor at the oldest record of the oldest
   * recovered segment. Reads no records (recovery happens through `read()`).
   * @throws WalKeyError (encrypted segment without key / wrong key / bad key), WalCorruptError (bad header),
   *         fs errors (directory not writable). Deletes nothing.
   */
  static async open(c: VineQueueConfig): Promise<Wal> {
    const key = c.enableEncryption ? await loadWalKey(c) : null;
    await mkdir(c.walDir, { recursive: true });
    const names = (await readdir(c.walDir)).filter((n) => SEGMENT_RE.test(n)).sort();
    const found: Segment[] = [];
    for (const name of names) {
      const file = path.join(c.walDir, name);
      const size = (await stat(file)).size;
      let flags = 0;
      if (size >= WAL_HEADER_BYTES) {
        const fh = await open(file, 'r');
        try {
          const h = Buffer.alloc(WAL_HEADER_BYTES);
          await fh.read(h, 0, WAL_HEADER_BYTES, 0);
          flags = checkHeader(file, h, key);
        } finally {
          await fh.close();
        }
      }
      found.push({
        id: Number(SEGMENT_RE.exec(name)![1]), path: file, flags, assignedBytes: size, durableBytes: Math.max(size, WAL_HEADER_BYTES),
        total: 0, acked: 0, sealed: true, readDone: size < WAL_HEADER_BYTES, recovered: true, deleted: false, fh: null, createdAtMs: 0,
      });
    }
    const wal = new Wal(c, key, found.length === 0 ? 1 : found[found.length - 1]!.id + 1);
    wal.segments.push(...found);
    if (found.length > 0) {
      wal.cursorSeg = found[0]!;
      wal.cursorOff = WAL_HEADER_BYTES;
    }
    wal.active = wal.newSegment();
    // Header-less files (a crash right after creation) hold nothing: remove them now that every header checked out.
    for (const s of found) if (s.readDone) wal.maybeDelete(s);
    return wal;
  }

  private newSegment(): Segment {
    const id = this.nextId++;
    const seg: Segment = {
      id, path: path.join(this.dir, segmentName(id)), flags: this.flags, assignedBytes: WAL_HEADER_BYTES, durableBytes: 0,
      total: 0, acked: 0, sealed: false, readDone: true, recovered: false, deleted: false, fh: null, createdAtMs: Date.now(),
    };
    this.segments.push(seg);
    return seg;
  }

  /** Bytes in live segment files, including records not yet written. */
  get sizeBytes(): number {
    let n = 0;
    for (const s of this.segments) if (!s.deleted && (s.recovered || s.assignedBytes > WAL_HEADER_BYTES || s.fh !== null)) n += s.assignedBytes;
    return n;
  }

  /** Live segment files. */
  get segmentCount(): number {
    return this.segments.length;
  }

  /** Segments written by an earlier process that are still on disk (not every record acknowledged yet). */
  get recoveredSegmentsLive(): number {
    let n = 0;
    for (const s of this.segments) if (s.recovered) n++;
    return n;
  }

  /**
   * When the oldest live segment was created by this process, ms since the epoch (Date.now()); 0
   * while a segment of an earlier process is still on disk. Every record still on disk was appended
   * at or after this time, so anything that happened to a record before it concerns a record the WAL
   * no longer holds (the quota store prunes its applied-event ids with it).
   */
  oldestSegmentMs(): number {
    let min = Infinity;
    for (const s of this.segments) if (s.createdAtMs < min) min = s.createdAtMs;
    return min === Infinity ? Date.now() : min;
  }

  /**
   * Resolves once no segment of an earlier process is left: every recovered record was read and
   * acknowledged (or skipped as corrupt) and its segment file unlinked. Immediately when there was
   * nothing to recover.
   */
  whenRecovered(): Promise<void> {
    if (this.recoveredSegmentsLive === 0) return Promise.all(this.unlinks).then(() => undefined);
    return new Promise((resolve) => { this.recoveryWaiters.push(resolve); });
  }

  /**
   * Encodes one item as a record body for the active segment's flags: raw bytes for a Buffer/
   * Uint8Array, else UTF-8 JSON. Throws TypeError when JSON.stringify does (BigInt, cycles) or returns
   * undefined (a function, undefined).
   */
  encode(item: unknown): Buffer {
    let type: number;
    let body: Buffer;
    if (item instanceof Uint8Array) {
      type = TYPE_BYTES;
      body = Buffer.isBuffer(item) ? item : Buffer.from(item.buffer, item.byteOffset, item.byteLength);
    } else {
      const s = JSON.stringify(item);
      if (s === undefined) throw new TypeError(`a VineQueue item must be a Buffer or a JSON value, got ${typeof item}`);
      type = TYPE_JSON;
      if (this.flags === 0) {
        // Common case: one allocation, the JSON written straight after the record header.
        const n = Buffer.byteLength(s);
        const rec = Buffer.allocUnsafe(WAL_RECORD_OVERHEAD + n);
        rec.write(s, WAL_RECORD_OVERHEAD, 'utf8');
        return this.seal(rec, type, n);
      }
      body = Buffer.from(s, 'utf8');
    }
    if ((this.flags & FLAG_SNAPPY) !== 0) body = compressSync(body);
    if ((this.flags & FLAG_AES) !== 0) {
      const rec = Buffer.allocUnsafe(WAL_RECORD_OVERHEAD + IV_BYTES + body.length + TAG_BYTES);
      const iv = rec.subarray(WAL_RECORD_OVERHEAD, WAL_RECORD_OVERHEAD + IV_BYTES);
      randomFillSync(iv);
      const c = createCipheriv('aes-256-gcm', this.key!, iv);
      let off = WAL_RECORD_OVERHEAD + IV_BYTES;
      off += c.update(body).copy(rec, off);
      off += c.final().copy(rec, off);
      c.getAuthTag().copy(rec, off);
      return this.seal(rec, type, rec.length - WAL_RECORD_OVERHEAD);
    }
    const rec = Buffer.allocUnsafe(WAL_RECORD_OVERHEAD + body.length);
    body.copy(rec, WAL_RECORD_OVERHEAD);
    return this.seal(rec, type, body.length);
  }

  private seal(rec: Buffer, type: number, bodyLen: number): Buffer {
    rec.writeUInt32LE(bodyLen, 0);
    rec[4] = type;
    rec.writeUInt32LE(crc32(rec.subarray(WAL_RECORD_OVERHEAD), crc32(rec.subarray(0, 5))), 5);
    return rec;
  }

  /** Bytes a record of this length would bring the WAL to. */
  wouldExceed(recBytes: number, maxBytes: number): boolean {
    return this.sizeBytes + recBytes > maxBytes;
  }

  /**
   * Appends an encoded record (from `encode`) to the active segment, sealing it and starting a new one
   * beyond `walSegmentBytes`. Returns the segment and a promise that resolves once the record is
   * written (and fdatasync'ed when walFsync is `always`), shared by every record of the same group.
   * The promise rejects with the fs error when the write fails.
   */
  append(rec: Buffer): { seg: Segment; written: Promise<void> } {
    let seg = this.active;
    if (seg.assignedBytes + rec.length > this.segmentBytes && seg.total > 0) {
      seg.sealed = true;
      seg = this.active = this.newSegment();
    }
    seg.assignedBytes += rec.length;
    seg.total++;
    this.pending.push({ seg, buf: rec });
    if (this.group === null) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
      promise.catch(() => undefined); // callers observe it; never an unhandled rejection here
      this.group = { promise, resolve, reject };
      if (this.flushing === null) setImmediate(() => { this.kick(); });
    }
    return { seg, written: this.group.promise };
  }

  private kick(): void {
    if (this.flushing !== null || this.group === null) return;
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = null;
      const w = this.flushWaiters;
      this.flushWaiters = [];
      for (const f of w) f();
      if (this.group !== null) this.kick();
    });
  }

  private async flushLoop(): Promise<void> {
    while (this.group !== null) {
      const group = this.group;
      const items = this.pending;
      this.group = null;
      this.pending = [];
      try {
        let i = 0;
        while (i < items.length) {
          const seg = items[i]!.seg;
          const bufs: Buffer[] = [];
          let bytes = 0;
          for (; i < items.length && items[i]!.seg === seg; i++) { bufs.push(items[i]!.buf); bytes += items[i]!.buf.length; }
          if (seg.fh === null) {
            seg.fh = await open(seg.path, 'a');
            bufs.unshift(makeHeader(seg.flags, this.key));
            bytes += WAL_HEADER_BYTES;
          }
          if (this.syncWrite) writeAllSync(seg.fh.fd, bufs, bytes);
          else await seg.fh.writev(bufs);
          seg.durableBytes += bytes;
          this.dirty = true;
        }
        // Close every sealed segment still open (its last records may have gone out in an earlier group).
        for (const seg of [...this.segments]) {
          if (seg.fh !== null && seg.sealed && seg !== this.active) {
            const fh = seg.fh;
            seg.fh = null;
            await fh.datasync();
            await fh.close();
            this.maybeDelete(seg);
          }
        }
        if (this.fsyncAlways) await this.syncActive();
        group.resolve();
      } catch (err) {
        group.reject(err);
      }
      const w = this.flushWaiters;
      this.flushWaiters = [];
      for (const f of w) f();
    }
  }

  private async syncActive(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const fh = this.active.fh;
    if (fh !== null) await fh.datasync().catch(() => { this.dirty = true; });
  }

  /** Resolves after the next group commit finishes (immediately when nothing is pending). */
  waitFlush(): Promise<void> {
    if (this.flushing === null && this.group === null) return Promise.resolve();
    return new Promise((resolve) => { this.flushWaiters.push(resolve); });
  }

  /**
   * Moves the cursor to the write head (the position the next appended record will take) unless it is
   * already behind it: called when the queue starts overflowing into the WAL.
   */
  markSpillStart(): void {
    if (this.cursorSeg === null) {
      this.cursorSeg = this.active;
      this.cursorOff = this.active.assignedBytes;
    }
  }

  /** True while the cursor is still in a segment of an earlier process (recovered records left to read). */
  cursorInRecovered(): boolean {
    return this.cursorSeg !== null && this.cursorSeg.recovered;
  }

  /** True while records written earlier (recovered, or overflowed) wait to be read through the cursor. */
  hasBacklog(): boolean {
    return this.cursorSeg !== null;
  }

  /** True when every record up to the write head has been read (no backlog left). */
  caughtUp(): boolean {
    if (this.cursorSeg === null) return true;
    if (this.cursorSeg === this.active && this.cursorOff >= this.active.assignedBytes) {
      this.cursorSeg = null;
      this.cache = null;
      return true;
    }
    return false;
  }

  /**
   * Reads up to `max` records from the cursor (recovered segments first, then overflowed ones), only
   * from bytes already written. Corrupt and torn records are skipped, counted in `counters.corrupt`,
   * and acknowledged at once (they will never be sent). Returns what it read (possibly nothing when the
   * next records are still being written: `await waitFlush()` and call again).
   */
  async read<T>(max: number): Promise<WalRead<T>> {
    const out: WalRead<T> = { items: [], segs: [], recovered: 0 };
    while (out.items.length < max && this.cursorSeg !== null) {
      const seg = this.cursorSeg;
      const end = seg.recovered ? seg.assignedBytes : seg.durableBytes;
      if (this.cursorOff >= end) {
        if (seg === this.active || !(seg.sealed && (seg.recovered || seg.durableBytes >= seg.assignedBytes))) break; // wait for writes
        this.finishSegment(seg);
        continue;
      }
      if (this.cache === null || this.cache.seg !== seg || this.cursorOff < this.cache.start || this.cursorOff + WAL_RECORD_OVERHEAD > this.cache.start + this.cache.buf.length) {
        if (!(await this.load(seg, this.cursorOff, end, WAL_RECORD_OVERHEAD))) break;
      }
      const c = this.cache!;
      let p = this.cursorOff - c.start;
      const len = c.buf.readUInt32LE(p);
      if (len <= WAL_MAX_RECORD_BYTES && p + WAL_RECORD_OVERHEAD + len > c.buf.length && c.start + p + WAL_RECORD_OVERHEAD + len <= end) {
        if (!(await this.load(seg, this.cursorOff, end, WAL_RECORD_OVERHEAD + len))) break;
        continue;
      }
      const item = this.decodeAt<T>(c.buf, p, seg);
      if (item !== undefined) {
        out.items.push(item.value);
        out.segs.push(seg);
        if (seg.recovered) { seg.total++; out.recovered++; this.counters.recovered++; }
        this.cursorOff += item.size;
        continue;
      }
      // Corrupt or torn: count one, resynchronise on the next offset where a whole valid record starts.
      this.counters.corrupt++;
      if (seg.recovered) seg.total++;
      seg.acked++;
      const fileEnd = end;
      if (c.start + c.buf.length < fileEnd) {
        await this.load(seg, c.start, fileEnd, fileEnd - c.start);
      }
      const b = this.cache!.buf;
      const base = this.cache!.start;
      let next = -1;
      for (p = this.cursorOff - base + 1; p + WAL_RECORD_OVERHEAD <= b.length; p++) {
        if (this.decodeAt(b, p, seg, true) !== undefined) { next = p; break; }
      }
      this.cursorOff = next < 0 ? fileEnd : base + next;
    }
    return out;
  }

  private async load(seg: Segment, from: number, end: number, need: number): Promise<boolean> {
    const want = Math.min(end - from, Math.max(READ_CHUNK_BYTES, need));
    if (want < Math.min(need, end - from) || want <= 0) return false;
    const fh = await open(seg.path, 'r');
    try {
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(buf, 0, want, from);
      this.cache = { seg, start: from, buf: buf.subarray(0, bytesRead) };
      return bytesRead > 0;
    } finally {
      await fh.close();
    }
  }

  /** Decodes the record at `p` in `b`; undefined when it is torn, fails its CRC, or does not decode. */
  private decodeAt<T>(b: Buffer, p: number, seg: Segment, probeOnly = false): { value: T; size: number } | undefined {
    if (p + WAL_RECORD_OVERHEAD > b.length) return undefined;
    const len = b.readUInt32LE(p);
    if (len > WAL_MAX_RECORD_BYTES || p + WAL_RECORD_OVERHEAD + len > b.length) return undefined;
    const type = b[p + 4];
    if (type !== TYPE_BYTES && type !== TYPE_JSON) return undefined;
    const body = b.subarray(p + WAL_RECORD_OVERHEAD, p + WAL_RECORD_OVERHEAD + len);
    if (crc32(body, crc32(b.subarray(p, p + 5))) !== b.readUInt32LE(p + 5)) return undefined;
    if (probeOnly) return { value: undefined as T, size: WAL_RECORD_OVERHEAD + len };
    try {
      let data: Buffer = body;
      if ((seg.flags & FLAG_AES) !== 0) {
        if (data.length < IV_BYTES + TAG_BYTES) return undefined;
        const d = createDecipheriv('aes-256-gcm', this.key!, data.subarray(0, IV_BYTES));
        d.setAuthTag(data.subarray(data.length - TAG_BYTES));
        data = Buffer.concat([d.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), d.final()]);
      }
      if ((seg.flags & FLAG_SNAPPY) !== 0) data = uncompressSync(data) as Buffer;
      const value = (type === TYPE_BYTES ? Buffer.from(data) : JSON.parse(data.toString('utf8'))) as T;
      return { value, size: WAL_RECORD_OVERHEAD + len };
    } catch {
      return undefined;
    }
  }

  private finishSegment(seg: Segment): void {
    const i = this.segments.indexOf(seg);
    seg.readDone = true;
    this.maybeDelete(seg);
    const next = this.segments[i + 1];
    if (next === undefined) { this.cursorSeg = null; return; }
    this.cursorSeg = next;
    this.cursorOff = WAL_HEADER_BYTES;
    this.cache = null;
  }

  /** Marks `n` records of `seg` acknowledged; deletes the segment once it is sealed and fully acknowledged. */
  ack(seg: Segment, n = 1): void {
    seg.acked += n;
    if (seg.sealed) this.maybeDelete(seg);
  }

  private maybeDelete(seg: Segment): void {
    if (seg.deleted || !seg.sealed || !seg.readDone || seg.acked < seg.total || seg.fh !== null) return;
    if (this.cursorSeg === seg) return;
    seg.deleted = true;
    const i = this.segments.indexOf(seg);
    if (i >= 0) this.segments.splice(i, 1);
    if (seg.recovered || seg.durableBytes > 0) this.counters.segmentsDeleted++;
    const u: Promise<void> = unlink(seg.path).catch(() => undefined).finally(() => { this.unlinks.delete(u); }); // already gone: nothing to keep
    this.unlinks.add(u);
    if (seg.recovered && this.recoveryWaiters.length > 0 && this.recoveredSegmentsLive === 0) {
      const w = this.recoveryWaiters;
      this.recoveryWaiters = [];
      void Promise.all(this.unlinks).then(() => { for (const f of w) f(); });
    }
  }

  /**
   * Writes what is pending, fdatasyncs and closes the active segment, and deletes every segment whose
   * records were all acknowledged. Segments with unacknowledged records stay for the next start.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.fsyncTimer !== null) clearInterval(this.fsyncTimer);
    while (this.flushing !== null || this.group !== null) {
      this.kick();
      await this.waitFlush();
    }
    const seg = this.active;
    seg.sealed = true;
    if (seg.fh !== null) {
      await seg.fh.datasync().catch(() => undefined);
      await seg.fh.close();
      seg.fh = null;
    }
    if (this.cursorSeg === seg && this.cursorOff >= seg.assignedBytes) this.cursorSeg = null;
    for (const s of [...this.segments]) this.maybeDelete(s);
  }
}
