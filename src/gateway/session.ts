/**
 * Sessions (seed 004 §3.3): connected -> active (after Hello) -> closed. A session owns its
 * connection, its OrderedMessageQueue and its server_seq counter.
 */
import { performance } from 'node:perf_hooks';
import type { Connection } from '../transport/types.js';
import type { OrderedMessageQueue } from '../queue/index.js';
import type { ClientMessage } from '../protocol/index.js';

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
  /** requests read but not yet handled by the connection handler */
  readonly inbox: { msg: ClientMessage; readAt: number }[] = [];
  handling = false;
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

/** Registry of live sessions. */
export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private next = 0;
  /** sessions ever created */
  created = 0;

  /** Creates a session for a new connection. */
  create(conn: Connection): Session {
    const s = new Session(`s${++this.next}`, conn);
    this.sessions.set(s.id, s);
    this.created++;
    return s;
  }

  /** Marks a session closed and forgets it. */
  remove(s: Session): void {
    s.state = 'closed';
    this.sessions.delete(s.id);
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
