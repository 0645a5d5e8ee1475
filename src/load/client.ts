/**
 * One load client: a session on its own connection. It says Hello, sends business requests on a
 * fixed schedule, acknowledges what it receives (one cumulative ClientAck 20 ms after new pushes) and
 * checks every push against DESIGN §3: contiguous server_seq (gaps, reorders, duplicates) and, per
 * request, before-notifies → response → after-notifies.
 */
import { performance } from 'node:perf_hooks';
import { ClientMessageType, FrameDecoder, NotifyPlacement, ServerPushType, type ServerPush } from '../protocol/index.js';
import type { Connection } from '../transport/types.js';
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

/** A request awaiting its response. */
interface Pending {
  /** intended send time, performance.now() ms */
  scheduledAt: number;
  /** actual send time, performance.now() ms */
  sentAt: number;
  seqId: number;
}

/** Per-client bookkeeping; shared counters live in ClientMetrics. */
export class LoadClient {
  private nextMsgId = 1;
  private nextSeqId = 1;
  private readonly pending = new Map<number, Pending>();
  /** grid (seq_id) -> 0 awaiting response, 1 answered */
  private readonly grids = new Map<number, 0 | 1>();
  private readonly answeredRing: number[] = [];
  private expectedSeq = 1;
  private readonly missing = new Set<number>();
  private lastAcked = 0;
  private ackTimer: NodeJS.Timeout | null = null;
  private helloResolve: ((code: number) => void) | null = null;
  private readonly decoder: FrameDecoder<ServerPush>;
  closed = false;
  /** performance.now() (ms) of the last frame this client wrote (heartbeats are sent after silence) */
  lastWriteAt = performance.now();
  /** open model: intended send times (performance.now() ms) of arrivals waiting for a free in-flight slot */
  readonly backlog: number[] = [];
  /** Called after each answer (response or ErrorResponse) to a business request: the next send (closed model, open-model backlog). */
  onAnswer: ((c: LoadClient) => void) | null = null;

  constructor(readonly id: number, readonly conn: Connection, private readonly m: ClientMetrics) {
    this.decoder = new FrameDecoder(ServerPushType, (p) => this.onPush(p));
    conn.setHandlers({
      data: (chunk) => this.onData(chunk),
      close: () => {
        if (!this.closed) m.transportError('closed_by_peer');
        this.closed = true;
        if (this.ackTimer !== null) clearTimeout(this.ackTimer);
        this.helloResolve?.(0);
      },
    });
  }

  /** Requests still awaiting a response. */
  get outstanding(): number {
    return this.pending.size;
  }

  /** Sends Hello and resolves with the HelloResponse code (0 if the connection closed first). */
  hello(userId: string): Promise<number> {
    return new Promise((resolve) => {
      this.helloResolve = resolve;
      const frame = ClientMessageType.encodeDelimited({ msgId: this.nextMsgId++, seqId: 0, hello: { userId, token: 't', clientVersion: 'gatectl/0.1' } });
      this.conn.write(frame).catch(() => resolve(0));
    });
  }

  /**
   * Sends one business request with `action` and `payload` whose intended send time was
   * `scheduledAt` and actual send time is `now` (both performance.now() ms).
   */
  send(scheduledAt: number, now: number, action: string, payload: Uint8Array): void {
    if (this.closed) return;
    const msgId = this.nextMsgId++;
    const seqId = this.nextSeqId++;
    this.pending.set(msgId, { scheduledAt, sentAt: now, seqId });
    this.grids.set(seqId, 0);
    this.m.requestSent(now - scheduledAt, scheduledAt);
    this.lastWriteAt = now;
    const request = ClientMessageType.encodeDelimited({ msgId, seqId, business: { action, payload } });
    const contiguous = this.expectedSeq - 1;
    let frame = request;
    if (contiguous > this.lastAcked) {
      // piggyback the pending cumulative ack on this write instead of a write of its own
      this.lastAcked = contiguous;
      if (this.ackTimer !== null) {
        clearTimeout(this.ackTimer);
        this.ackTimer = null;
      }
      frame = Buffer.concat([ClientMessageType.encodeDelimited({ ack: { ackedServerSeq: contiguous } }), request]);
    }
    this.conn.write(frame).catch(() => this.m.transportError('write_failed'));
  }

  /** Sends a Heartbeat (keeps the session inside the gateway's idle timeout). */
  heartbeat(now: number): void {
    if (this.closed) return;
    this.lastWriteAt = now;
    this.m.heartbeats++;
    this.conn.write(ClientMessageType.encodeDelimited({ heartbeat: { clientTimeMs: Date.now() } })).catch(() => this.m.transportError('write_failed'));
  }

  /** Closes the connection; a close we start is not counted as a transport error. */
  close(timeoutMs: number): Promise<void> {
    this.closed = true;
    if (this.ackTimer !== null) clearTimeout(this.ackTimer);
    return this.conn.close(0, 'load done', timeoutMs);
  }

  private onData(chunk: Uint8Array): void {
    try {
      this.decoder.push(chunk);
    } catch {
      this.m.transportError('bad_frame');
      this.closed = true;
      void this.conn.close(0x11, 'bad frame from server');
      return;
    }
    if (this.expectedSeq - 1 > this.lastAcked && this.ackTimer === null && !this.closed) {
      this.ackTimer = setTimeout(this.flushAck, ACK_DELAY_MS);
    }
  }

  /** Sends one cumulative ack for everything contiguous received so far. */
  private readonly flushAck = (): void => {
    this.ackTimer = null;
    const contiguous = this.expectedSeq - 1;
    if (contiguous > this.lastAcked && !this.closed) {
      this.lastAcked = contiguous;
      this.lastWriteAt = performance.now();
      this.conn.write(ClientMessageType.encodeDelimited({ ack: { ackedServerSeq: contiguous } })).catch(() => this.m.transportError('write_failed'));
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

  private onPush(p: ServerPush): void {
    const now = performance.now();
    const m = this.m;
    if ((p.serverSeq ?? 0) === 0) {
      // out-of-band fatal error (e.g. the server's send queue for this session is full)
      m.errorResponse(p.error?.code ?? 0);
      return;
    }
    this.checkSeq(p.serverSeq ?? 0, m.violations);
    switch (p.body) {
      case 'business': {
        const pend = this.pending.get(p.business!.msgId ?? 0);
        if (pend === undefined) return;
        this.pending.delete(p.business!.msgId ?? 0);
        this.answered(pend.seqId);
        m.response(now - pend.scheduledAt, now - pend.sentAt, pend.scheduledAt);
        this.onAnswer?.(this);
        return;
      }
      case 'error': {
        const code = p.error!.code ?? 0;
        m.errorResponse(code);
        const pend = this.pending.get(p.error!.msgId ?? 0);
        if (pend !== undefined) {
          this.pending.delete(p.error!.msgId ?? 0);
          this.answered(pend.seqId);
          this.onAnswer?.(this);
        } else if (this.helloResolve !== null) {
          this.helloResolve(code);
          this.helloResolve = null;
        }
        return;
      }
      case 'notify': {
        const n = p.notify!;
        if (n.placement === NotifyPlacement.UNBOUND || (n.grid ?? 0) === 0) {
          m.unboundNotifies++;
          return;
        }
        m.notifies++;
        const state = this.grids.get(n.grid ?? 0);
        if (state === undefined) return; // answered long ago
        if (n.placement === NotifyPlacement.BEFORE_RESPONSE && state === 1) m.violations.notify_order_violations++;
        if (n.placement === NotifyPlacement.AFTER_RESPONSE && state === 0) m.violations.notify_order_violations++;
        return;
      }
      case 'hello': {
        this.helloResolve?.(p.hello!.code ?? 0);
        this.helloResolve = null;
        return;
      }
      default:
        return;
    }
  }

  private answered(seqId: number): void {
    this.grids.set(seqId, 1);
    this.answeredRing.push(seqId);
    if (this.answeredRing.length > GRID_WINDOW) this.grids.delete(this.answeredRing.shift()!);
  }
}
