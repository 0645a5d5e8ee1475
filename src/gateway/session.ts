/**
 * Sessions (seed 004 §3.3): connected -> active (after Hello) -> closed. A session owns its
 * connection, its OrderedMessageQueue, its server_seq counter and its receive backlog (bytes read
 * from the transport that fairness deferred to a later event-loop turn, issue 16).
 */
import { performance } from 'node:perf_hooks';
import Denque from 'denque';
import type { Connection } from '../transport/types.js';
import type { OrderedMessageQueue } from '../queue/index.js';
import type { ClientMessage, FrameDecoder } from '../protocol/index.js';

/** Session lifecycle state. */
export type SessionState = 'connected' | 'active' | 'closed';

/** One client session. */
export class Session {
  state: SessionState = 'connected';
  userId = '';
  /** highest client seq_id seen (seed 004 UpdateMaxClientSeq) */
  maxClientSeq = 0;
  /** highest cumulative ack from the client */
  ackedServerSeq = 0;
  /** Date.now() of the last request, in ms */
  lastActivityMs = Date.now();
  /** performance.now() (ms) when the connection was accepted: the Hello deadline counts from here */
  readonly createdAt = performance.now();
  /** a Hello is being handled (its login is awaited); such a session is never displaced */
  helloInProgress = false;
  /** requests read but not yet handled by the connection handler (a ring: it can grow to 10^4 under a flood, where Array#shift is O(n)) */
  readonly inbox = new Denque<{ msg: ClientMessage; readAt: number }>();
  handling = false;
  /** the session's frame decoder (set by the gateway at accept) */
  decoder!: FrameDecoder<ClientMessage>;
  /**
   * Bytes read from the transport and not yet decoded (fairness deferred them), in arrival order,
   * each with its arrival time (performance.now() ms, the `readAt` of the frames it completes).
   * `rxHead` indexes the first chunk; `rxOffset` is how much of it was already decoded.
   */
  readonly rx: ({ chunk: Uint8Array; at: number } | undefined)[] = [];
  rxHead = 0;
  rxOffset = 0;
  /** arrival time (performance.now() ms) of the chunk being decoded: the `readAt` of frames it completes */
  decodingAt = 0;
  /** undecoded bytes held in `rx` */
  rxBytes = 0;
  /** in the gateway's round-robin queue of sessions with deferred input */
  scheduled = false;
  /** the transport was told to stop reading (backlog above the high-water mark) */
  readPaused = false;
  /** the event-loop turn (gateway epoch) the two budgets below count for */
  turnEpoch = -1;
  /** bytes decoded in that turn */
  turnBytes = 0;
  /** messages decoded in that turn */
  turnMessages = 0;
  private lastServerSeq = 0;
  /** rate cap token bucket: tokens left and when they were counted (performance.now() ms) */
  private tokens = -1;
  private tokensAt = 0;
  queue!: OrderedMessageQueue;

  constructor(readonly id: string, readonly conn: Connection) {}

  /** Reserves `n` consecutive server_seq values (seed 004 NewServerSeq) and returns the first. */
  reserveServerSeqs(n: number): number {
    const first = this.lastServerSeq + 1;
    this.lastServerSeq += n;
    return first;
  }

  /**
   * Token bucket of the per-session rate cap: refills `ratePerS` tokens per second up to `ratePerS`
   * (one second of burst); true and one token taken when one is there.
   */
  takeToken(ratePerS: number): boolean {
    const now = performance.now();
    this.tokens = this.tokens < 0 ? ratePerS : Math.min(ratePerS, this.tokens + ((now - this.tokensAt) / 1000) * ratePerS);
    this.tokensAt = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  /** Last server_seq handed out. */
  get serverSeq(): number {
    return this.lastServerSeq;
  }

  /** seed 004 isSessionValid: not closed. */
  get valid(): boolean {
    return this.state !== 'closed';
  }
}

/** Registry of live sessions; also keeps the ones still without a completed Hello, oldest first. */
export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  /** sessions in state `connected` (no Hello completed), in creation order (Set keeps insertion order) */
  private readonly pendingSet = new Set<Session>();
  private next = 0;
  /** sessions ever created */
  created = 0;

  /** Creates a session (state `connected`, pending) for a new connection. */
  create(conn: Connection): Session {
    const s = new Session(`s${++this.next}`, conn);
    this.sessions.set(s.id, s);
    this.pendingSet.add(s);
    this.created++;
    return s;
  }

  /** Hello completed: the session becomes `active` and stops counting as pending. No-op once closed. */
  activate(s: Session): void {
    if (s.state === 'closed') return;
    s.state = 'active';
    this.pendingSet.delete(s);
  }

  /** Marks a session closed and forgets it. */
  remove(s: Session): void {
    s.state = 'closed';
    this.sessions.delete(s.id);
    this.pendingSet.delete(s);
  }

  /** Sessions without a completed Hello. */
  get pendingCount(): number {
    return this.pendingSet.size;
  }

  /** Sessions without a completed Hello, oldest first. */
  pending(): IterableIterator<Session> {
    return this.pendingSet.values();
  }

  /** The live session with this id, if any. */
  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  /** Live sessions. */
  get size(): number {
    return this.sessions.size;
  }

  all(): IterableIterator<Session> {
    return this.sessions.values();
  }
}
