/**
 * One load client: a session on its own connection. It says Hello, sends business requests on a
 * fixed schedule, acknowledges what it receives (a cumulative ClientAck piggybacked on the next
 * request write, or on its own after ACK_DELAY_MS without one) and checks every push against
 * DESIGN §3: contiguous server_seq (gaps, reorders, duplicates) and, per request,
 * before-notifies → response → after-notifies.
 *
 * Per-response cost (the load engine must not be the bound of a fast transport; docs/bench.md
 * "Load engine per-response cost"):
 * - one `performance.now()` per received chunk: every push of a chunk arrived at the same time, and
 *   requests the chunk's answers trigger are sent at that time;
 * - pushes are decoded to a ServerPushHead (server_seq, body, id, code) without message objects;
 * - outstanding requests live in a ring of typed arrays keyed by seq_id (no Map, no object per request);
 * - requests sent while a chunk is processed are written together once it is done, in one buffer
 *   with the cumulative ack in front: one transport write per chunk instead of one per request.
 *
 * Reconnects (issue 15): a client whose established session is lost (the peer closed it, or QUIC
 * declared the peer silent for the client idle timeout: `idle_timeout`) counts the requests then in
 * flight as `lost_on_disconnect` and calls `onLost`; the slice dials again and `attach`es the new
 * connection, which starts a new session: seq_ids, server_seq order checks and acks restart at 1.
 * With reconnects off (`--no-reconnect`) a lost client is closed for the rest of the run.
 */
import { performance } from 'node:perf_hooks';
import {
  ClientMessageType, FrameDecoder, NotifyPlacement, PushBody, ServerPushHeadType,
  ackFrameBytes, businessFrameBytes, writeAckFrame, writeBusinessFrame, type ServerPushHead,
} from '../protocol/index.js';
import { GATECTL_CLIENT_VERSION } from '../protocol/cohort.js';
import { PEER_IDLE_TIMEOUT_CODE, type Connection } from '../transport/types.js';
import type { ViolationCounts } from '../metrics/result.js';
import type { ClientMetrics } from './metrics.js';

const GRID_WINDOW = 64; // answered requests whose late notifies are still checked
const MISSING_WINDOW = 4096; // missing server_seqs remembered to tell a late arrival (reorder) from a duplicate
/**
 * Longest delay of a standalone cumulative ack, ms. Acks normally ride in the same write as the
 * next request (piggybacked); a standalone ack is written only when no request left within this
 * time. With a 20 ms delay nearly every response cost its own ack write, about a third of the
 * generator's CPU per response over QUIC (`npm run bench`, reports/reference/loadgen-bench.md).
 */
export const ACK_DELAY_MS = 1000;

/**
 * msg_id of a business request = its seq_id + MSG_ID_OFFSET: msg_id 1 is the Hello (seq_id 0), then
 * msg_ids and seq_ids both count up by one per request, so one table keyed by seq_id answers both
 * "which request does this response (msg_id) answer" and "which request is this notify's grid".
 */
const MSG_ID_OFFSET = 1;

/** Initial slots of a client's pending ring (a power of two; it doubles while more than half are in use). */
const RING_INITIAL_SLOTS = 16;
/** Largest pending ring, slots (24 bytes each); requests beyond it that collide wait in the overflow map. */
const RING_MAX_SLOTS = 1 << 16;

/** A request moved out of the ring (rare: it stayed outstanding while the ring came around). */
interface OverflowEntry {
  /** intended send time, performance.now() ms */
  scheduledAt: number;
  /** actual send time, performance.now() ms */
  sentAt: number;
}

/**
 * Requests awaiting their answer, keyed by seq_id (≥ 1). Slot `seqId & mask` of three typed arrays
 * holds seq_id, intended and actual send time (performance.now() ms); seq_id 0 marks a free slot.
 * seq_ids are handed out in order and answers usually come back in about that order, so a ring of
 * about twice the requests in flight rarely collides. On a collision the ring doubles while more
 * than half of it is in use (up to RING_MAX_SLOTS); otherwise the older request, the one in the
 * slot, moves to an overflow Map. Nothing is ever dropped: `size` counts both.
 */
export class PendingRequests {
  private seq = new Float64Array(RING_INITIAL_SLOTS);
  private scheduled = new Float64Array(RING_INITIAL_SLOTS);
  private sent = new Float64Array(RING_INITIAL_SLOTS);
  private mask = RING_INITIAL_SLOTS - 1;
  private inRing = 0;
  private overflow: Map<number, OverflowEntry> | null = null;
  /** intended send time (performance.now() ms) of the request the last successful `take` removed */
  takenScheduledAt = 0;
  /** actual send time (performance.now() ms) of that request */
  takenSentAt = 0;

  /** Requests outstanding. */
  get size(): number {
    return this.inRing + (this.overflow === null ? 0 : this.overflow.size);
  }

  /** Slots of the ring (tests). */
  get slots(): number {
    return this.mask + 1;
  }

  /** Adds request `seqId` (≥ 1, above every seq_id added before) sent at `sentAt`, intended at `scheduledAt` (ms). */
  add(seqId: number, scheduledAt: number, sentAt: number): void {
    let i = seqId & this.mask;
    if (this.seq[i] !== 0) {
      if (this.inRing * 2 >= this.mask + 1 && this.mask + 1 < RING_MAX_SLOTS) {
        this.grow();
        i = seqId & this.mask;
      }
      if (this.seq[i] !== 0) this.evict(i);
    }
    this.seq[i] = seqId;
    this.scheduled[i] = scheduledAt;
    this.sent[i] = sentAt;
    this.inRing++;
  }

  /**
   * Removes request `seqId` if it is outstanding; its times are then in `takenScheduledAt` and
   * `takenSentAt`. Returns false for a request that is not outstanding (unknown or answered).
   */
  take(seqId: number): boolean {
    if (seqId < 1) return false;
    const i = seqId & this.mask;
    if (this.seq[i] === seqId) {
      this.seq[i] = 0;
      this.inRing--;
      this.takenScheduledAt = this.scheduled[i]!;
      this.takenSentAt = this.sent[i]!;
      return true;
    }
    const o = this.overflow?.get(seqId);
    if (o === undefined) return false;
    this.overflow!.delete(seqId);
    this.takenScheduledAt = o.scheduledAt;
    this.takenSentAt = o.sentAt;
    return true;
  }

  /** Forgets every outstanding request (the session was lost); returns how many there were. */
  clear(): number {
    const n = this.size;
    if (this.inRing > 0) this.seq.fill(0);
    this.inRing = 0;
    this.overflow = null;
    return n;
  }

  /** True when request `seqId` is outstanding. */
  has(seqId: number): boolean {
    if (seqId < 1) return false;
    return this.seq[seqId & this.mask] === seqId || (this.overflow?.has(seqId) ?? false);
  }

  private evict(i: number): void {
    (this.overflow ??= new Map()).set(this.seq[i]!, { scheduledAt: this.scheduled[i]!, sentAt: this.sent[i]! });
    this.seq[i] = 0;
    this.inRing--;
  }

  private grow(): void {
    const { seq, scheduled, sent } = this;
    const slots = (this.mask + 1) * 2;
    this.seq = new Float64Array(slots);
    this.scheduled = new Float64Array(slots);
    this.sent = new Float64Array(slots);
    this.mask = slots - 1;
    this.inRing = 0;
    // oldest first, so a collision in the new ring evicts the older request as `add` does
    const order: number[] = [];
    for (let i = 0; i < seq.length; i++) if (seq[i] !== 0) order.push(i);
    order.sort((a, b) => seq[a]! - seq[b]!);
    for (const i of order) this.add(seq[i]!, scheduled[i]!, sent[i]!);
  }
}

/**
 * A FIFO of numbers (the open model's backlog of intended send times, ms): a growable ring, so
 * `shift` is O(1) (Array#shift moves every element).
 */
export class NumberQueue {
  private items = new Float64Array(8);
  private head = 0;
  /** Numbers queued. */
  length = 0;

  /** Appends `v`. */
  push(v: number): void {
    if (this.length === this.items.length) {
      const next = new Float64Array(this.items.length * 2);
      for (let i = 0; i < this.length; i++) next[i] = this.items[(this.head + i) % this.items.length]!;
      this.items = next;
      this.head = 0;
    }
    this.items[(this.head + this.length) % this.items.length] = v;
    this.length++;
  }

  /** Removes and returns the oldest number; undefined when empty. */
  shift(): number | undefined {
    if (this.length === 0) return undefined;
    const v = this.items[this.head]!;
    this.head = (this.head + 1) % this.items.length;
    this.length--;
    return v;
  }

  /** Empties the queue. */
  clear(): void {
    this.head = 0;
    this.length = 0;
  }
}

/** Per-client bookkeeping; shared counters live in ClientMetrics. */
export class LoadClient {
  private nextSeqId = 1;
  private readonly pending = new PendingRequests();
  /** seq_ids of the last GRID_WINDOW answered requests (a ring; 0 = empty), for the notify-order check */
  private readonly answeredRing = new Float64Array(GRID_WINDOW);
  private answeredNext = 0;
  private expectedSeq = 1;
  private readonly missing = new Set<number>();
  private lastAcked = 0;
  private ackTimer: NodeJS.Timeout | null = null;
  private helloResolve: ((code: number) => void) | null = null;
  private decoder!: FrameDecoder<ServerPushHead>;
  /** performance.now() (ms) at which the chunk being processed arrived */
  private chunkAt = 0;
  /**
   * true while a received chunk is processed, or between `hold()` and `release()`: requests wait
   * in the out queue and leave together at the end
   */
  private holding = false;
  /** requests registered but not written yet: seq_ids, pre-encoded action fields, payload sizes */
  private readonly outSeq: number[] = [];
  private readonly outAction: Uint8Array[] = [];
  private readonly outPayload: number[] = [];
  private outCount = 0;
  /** performance.now() (ms) of the last request in the out queue */
  private outAt = 0;
  /** true once the client is done for good: closed by the run, lost with reconnects off, or a bad frame */
  closed = false;
  /** true while a session is up: the HelloResponse 200 arrived and the connection was not lost since */
  connected = false;
  /** true from `attach` (a reconnect attempt) until its Hello is answered: a close then only fails the attempt */
  private attempting = false;
  /** the connection of the current (or last) session; `attach` replaces it */
  conn: Connection;
  /** performance.now() (ms) at which the session was lost; 0 while connected or never lost */
  lostAt = 0;
  /** requests in flight when the last session was lost (counted in lost_on_disconnect) */
  lostInFlight = 0;
  /** the last session ended because the peer was silent for the idle timeout (QUIC), not by a close */
  lostSilent = false;
  /** the last session's lostInFlight is counted in lost_unreachable (at once for a silent peer; else when a redial fails or at the end) */
  lostCounted = false;
  /** time this client spent disconnected and reconnected again, ms (the slice adds the last gap at the end) */
  disconnectedMs = 0;
  /**
   * Called once per lost session, after the requests then in flight were counted as
   * lost_on_disconnect: the slice records the outage and, reconnects on, dials again and calls
   * `attach` (reconnects off: `closed` is already true).
   */
  onLost: ((c: LoadClient) => void) | null = null;
  /** performance.now() (ms) of the last frame this client wrote (heartbeats are sent after silence) */
  lastWriteAt = performance.now();
  /** open model: intended send times (performance.now() ms) of arrivals waiting for a free in-flight slot */
  readonly backlog = new NumberQueue();
  /**
   * Called after each answer (response or ErrorResponse) to a business request, with the time the
   * answer arrived (performance.now() ms): the next send (closed model, open-model backlog).
   */
  onAnswer: ((c: LoadClient, now: number) => void) | null = null;

  /**
   * @param reconnect a lost session calls `onLost` (the slice reconnects) instead of closing the
   *   client for good (`--no-reconnect`: false)
   */
  constructor(readonly id: number, conn: Connection, private readonly m: ClientMetrics, private readonly reconnect = false) {
    this.conn = conn;
    this.bind(conn);
  }

  /**
   * Takes `conn` (a new connection after a loss) as this client's connection: a new session, so
   * seq_ids, the server_seq order check, acks and the notify grid restart; nothing of the lost
   * session is carried over. Call `hello` next; `connected` turns true when it is answered 200.
   */
  attach(conn: Connection): void {
    this.conn = conn;
    this.nextSeqId = 1;
    this.expectedSeq = 1;
    this.missing.clear();
    this.lastAcked = 0;
    this.answeredRing.fill(0);
    this.answeredNext = 0;
    this.outCount = 0;
    this.holding = false;
    this.attempting = true;
    this.bind(conn);
  }

  private bind(conn: Connection): void {
    this.decoder = new FrameDecoder(new ServerPushHeadType(), (h) => this.onPush(h));
    conn.setHandlers({ data: (chunk) => this.onData(chunk), close: (error) => this.onClose(conn, error) });
  }

  /**
   * The connection ended. Our own close: nothing to count. A reconnect attempt's connection: the
   * attempt failed (the slice counts it). An established session: a transport error
   * (`idle_timeout` when QUIC declared the peer silent, else `closed_by_peer`), its requests in
   * flight are lost_on_disconnect, and `onLost` tells the slice (reconnects off: the client closes).
   */
  private onClose(conn: Connection, error: Error | undefined): void {
    if (conn !== this.conn) return;
    const wasConnected = this.connected;
    this.connected = false;
    if (this.ackTimer !== null) {
      clearTimeout(this.ackTimer);
      this.ackTimer = null;
    }
    this.helloResolve?.(0);
    this.helloResolve = null;
    if (this.closed) return;
    if (this.attempting && !wasConnected) return;
    const m = this.m;
    const silent = (error as { code?: string } | undefined)?.code === PEER_IDLE_TIMEOUT_CODE;
    m.transportError(silent ? 'idle_timeout' : 'closed_by_peer');
    if (!wasConnected) {
      this.closed = true;
      return;
    }
    this.outCount = 0;
    this.lostInFlight = this.pending.clear();
    m.lostOnDisconnect += this.lostInFlight;
    m.disconnects++;
    this.lostAt = performance.now();
    this.lostSilent = silent;
    this.lostCounted = silent;
    if (silent) m.lostUnreachable += this.lostInFlight;
    if (!this.reconnect) this.closed = true;
    this.onLost?.(this);
  }

  /** performance.now() (ms) at which the last chunk from the peer arrived (0: none yet) */
  get lastDataAt(): number {
    return this.chunkAt;
  }

  /** Requests still awaiting a response. */
  get outstanding(): number {
    return this.pending.size;
  }

  /**
   * Sends Hello and resolves with the HelloResponse code (0 if the connection closed first);
   * `connected` is true from a 200 on. `clientVersion` may declare a cohort (protocol/cohort.ts, `--slow-clients`).
   */
  hello(userId: string, clientVersion = GATECTL_CLIENT_VERSION): Promise<number> {
    return new Promise((resolve) => {
      if (this.closed) {
        resolve(0);
        return;
      }
      this.helloResolve = resolve;
      const frame = ClientMessageType.encodeDelimited({ msgId: MSG_ID_OFFSET, seqId: 0, hello: { userId, token: 't', clientVersion } });
      this.conn.write(frame).catch(() => resolve(0));
    });
  }

  /**
   * Sends one business request whose intended send time was `scheduledAt` and actual send time is
   * `now` (both performance.now() ms): BusinessRequest { action: `actionField` (pre-encoded by
   * `encodeActionField`), payload: `payloadBytes` zero bytes }. Counted and timed now; written at
   * once, or, while a received chunk is being processed or writes are held (`hold`), together with
   * the other requests of that chunk or hold when it ends (same event-loop turn).
   */
  send(scheduledAt: number, now: number, actionField: Uint8Array, payloadBytes: number): void {
    if (!this.connected) return;
    const seqId = this.nextSeqId++;
    this.pending.add(seqId, scheduledAt, now);
    this.m.requestSent(now - scheduledAt, scheduledAt);
    const k = this.outCount++;
    this.outSeq[k] = seqId;
    this.outAction[k] = actionField;
    this.outPayload[k] = payloadBytes;
    this.outAt = now;
    if (!this.holding) this.flush();
  }

  /** True between `hold()` and `release()`. */
  get held(): boolean {
    return this.holding;
  }

  /**
   * Holds writes: requests sent until `release()` leave in one write (the open model's arrivals
   * dealt to this client in one timer turn). Call `release()` in the same event-loop turn.
   */
  hold(): void {
    this.holding = true;
  }

  /** Ends `hold()`: writes what was sent meanwhile. */
  release(): void {
    this.holding = false;
    this.flush();
  }

  /** Sends a Heartbeat (keeps the session inside the gateway's idle timeout). */
  heartbeat(now: number): void {
    if (!this.connected) return;
    this.lastWriteAt = now;
    this.m.heartbeats++;
    this.conn.write(ClientMessageType.encodeDelimited({ heartbeat: { clientTimeMs: Date.now() } })).catch(this.onWriteError);
  }

  /** Closes the connection; a close we start is not counted as a transport error. */
  close(timeoutMs: number): Promise<void> {
    this.closed = true;
    this.connected = false;
    if (this.ackTimer !== null) clearTimeout(this.ackTimer);
    return this.conn.close(0, 'load done', timeoutMs);
  }

  private readonly onWriteError = (): void => {
    this.m.transportError('write_failed');
  };

  /**
   * Writes the queued requests in one buffer, the pending cumulative ack first (piggybacked: no
   * write of its own).
   */
  private flush(): void {
    const n = this.outCount;
    if (n === 0) return;
    const contiguous = this.expectedSeq - 1;
    const ack = contiguous > this.lastAcked;
    let bytes = ack ? ackFrameBytes(contiguous) : 0;
    for (let k = 0; k < n; k++) {
      const seqId = this.outSeq[k]!;
      bytes += businessFrameBytes(seqId + MSG_ID_OFFSET, seqId, this.outAction[k]!, this.outPayload[k]!);
    }
    const buf = Buffer.allocUnsafe(bytes);
    let pos = 0;
    if (ack) {
      this.lastAcked = contiguous;
      if (this.ackTimer !== null) {
        clearTimeout(this.ackTimer);
        this.ackTimer = null;
      }
      pos = writeAckFrame(buf, pos, contiguous);
    }
    for (let k = 0; k < n; k++) {
      const seqId = this.outSeq[k]!;
      pos = writeBusinessFrame(buf, pos, seqId + MSG_ID_OFFSET, seqId, this.outAction[k]!, this.outPayload[k]!);
    }
    this.outCount = 0;
    this.lastWriteAt = this.outAt;
    this.conn.write(buf).catch(this.onWriteError);
  }

  private onData(chunk: Uint8Array): void {
    this.chunkAt = performance.now();
    this.holding = true;
    let bad = false;
    try {
      this.decoder.push(chunk);
    } catch {
      bad = true;
    }
    this.holding = false;
    // what the chunk's answers triggered leaves even when a later frame of it was bad (as it would have one by one)
    this.flush();
    if (bad) {
      this.m.transportError('bad_frame');
      this.closed = true;
      this.connected = false;
      void this.conn.close(0x11, 'bad frame from server');
      return;
    }
    if (this.expectedSeq - 1 > this.lastAcked && this.ackTimer === null && this.connected) {
      this.ackTimer = setTimeout(this.flushAck, ACK_DELAY_MS);
    }
  }

  /** Sends one cumulative ack for everything contiguous received so far. */
  private readonly flushAck = (): void => {
    this.ackTimer = null;
    const contiguous = this.expectedSeq - 1;
    if (contiguous > this.lastAcked && this.connected) {
      this.lastAcked = contiguous;
      this.lastWriteAt = performance.now();
      const buf = Buffer.allocUnsafe(ackFrameBytes(contiguous));
      writeAckFrame(buf, 0, contiguous);
      this.conn.write(buf).catch(this.onWriteError);
    }
  };

  private checkSeq(seq: number, v: ViolationCounts): void {
    if (seq === this.expectedSeq) {
      this.expectedSeq++;
      return;
    }
    if (seq > this.expectedSeq) {
      v.gaps++;
      for (let s = this.expectedSeq; s < seq && this.missing.size < MISSING_WINDOW; s++) this.missing.add(s);
      this.expectedSeq = seq + 1;
      return;
    }
    if (this.missing.delete(seq)) v.reorders++;
    else v.duplicates++;
  }

  /** One decoded push (`h` is reused by the decoder: read it here, do not keep it). */
  private onPush(h: ServerPushHead): void {
    const now = this.chunkAt;
    const m = this.m;
    if (h.serverSeq === 0) {
      // out-of-band fatal error (e.g. the server's send queue for this session is full)
      m.errorResponse(h.body === PushBody.ERROR ? h.code : 0);
      return;
    }
    this.checkSeq(h.serverSeq, m.violations);
    switch (h.body) {
      case PushBody.BUSINESS: {
        const pending = this.pending;
        if (!pending.take(h.id - MSG_ID_OFFSET)) return;
        this.answered(h.id - MSG_ID_OFFSET);
        m.response(now - pending.takenScheduledAt, now - pending.takenSentAt, pending.takenScheduledAt);
        this.onAnswer?.(this, now);
        return;
      }
      case PushBody.ERROR: {
        const code = h.code;
        m.errorResponse(code);
        if (this.pending.take(h.id - MSG_ID_OFFSET)) {
          this.answered(h.id - MSG_ID_OFFSET);
          this.onAnswer?.(this, now);
        } else if (this.helloResolve !== null) {
          this.helloResolve(code);
          this.helloResolve = null;
        }
        return;
      }
      case PushBody.NOTIFY: {
        const grid = h.id;
        const placement = h.code;
        if (placement === NotifyPlacement.UNBOUND || grid === 0) {
          m.unboundNotifies++;
          return;
        }
        m.notifies++;
        // awaiting its response, answered recently, or answered long ago (not checked)
        const awaiting = this.pending.has(grid);
        if (!awaiting && !this.answeredRecently(grid)) return;
        if (placement === NotifyPlacement.BEFORE_RESPONSE && !awaiting) m.violations.notify_order_violations++;
        if (placement === NotifyPlacement.AFTER_RESPONSE && awaiting) m.violations.notify_order_violations++;
        return;
      }
      case PushBody.HELLO: {
        if (h.code === 200 && this.helloResolve !== null) {
          this.connected = true;
          this.attempting = false;
        }
        this.helloResolve?.(h.code);
        this.helloResolve = null;
        return;
      }
      default:
        return;
    }
  }

  /** Request `seqId` was answered: remembered among the last GRID_WINDOW answers. */
  private answered(seqId: number): void {
    this.answeredRing[this.answeredNext] = seqId;
    this.answeredNext = (this.answeredNext + 1) % GRID_WINDOW;
  }

  /** True when request `seqId` is among the last GRID_WINDOW answered. */
  private answeredRecently(seqId: number): boolean {
    const ring = this.answeredRing;
    for (let i = 0; i < GRID_WINDOW; i++) if (ring[i] === seqId) return true;
    return false;
  }
}
