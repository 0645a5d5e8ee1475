/**
 * Input fairness of the gateway (issue 16 §2): every session's input is held as it arrives and
 * decoded within per-turn budgets (`turnBudget.bytes` decoded and `turnBudget.messages` handled per
 * session per event-loop turn, `4 × turnBudget.bytes` for the queued sessions together), so one
 * sender of big or many frames cannot starve the others; what is left waits in a round-robin queue.
 * Held input above a high-water mark (4 × the byte budget) stops a pausable transport reading (QUIC
 * flow control then holds the peer back) until it falls below the low-water mark (the byte budget);
 * a transport that cannot pause is decoded past the budgets beyond a hard cap (16 × the high-water
 * mark), so memory stays bounded.
 */
import { performance } from 'node:perf_hooks';
import Denque from 'denque';
import type { Connection } from '../transport/types.js';
import type { GatewayCounters } from './counters.js';
import type { Session } from './session.js';

/**
 * Largest piece of held input fed to a session's decoder at once, bytes: between pieces the
 * per-turn budgets are checked, so a chunk of many tiny frames cannot run far past them.
 */
const DECODE_SLICE_BYTES = 2048;

/** A transport connection that can stop and resume reading (QUIC); `stopReading` alone is fault injection. */
type PausableConnection = Connection & Required<Pick<Connection, 'stopReading' | 'resumeReading'>>;

/** True when `conn` can stop and resume reading, so held input can push back on the peer. */
function pausable(conn: Connection): conn is PausableConnection {
  return conn.stopReading !== undefined && conn.resumeReading !== undefined;
}

/** The gateway's input scheduler: decodes held input turn by turn (see the module docstring). */
export class InputTurns {
  /** the event-loop turn number; each session's per-turn budgets count for one epoch */
  private epoch = 0;
  /** a `runTurn` is armed (setImmediate) for the end of this turn */
  private armed = false;
  /** sessions with held input, round robin */
  private readonly ready = new Denque<Session>();
  /** bytes the queued sessions together may decode per turn, and this turn's count */
  private readonly totalBytes: number;
  private spent = 0;
  /** held input above which a pausable transport stops reading, and below which it resumes, bytes */
  private readonly rxHighWater: number;
  private readonly rxLowWater: number;
  /** held input beyond which a transport that cannot pause is decoded past the budget, bytes */
  private readonly rxHardCap: number;

  /**
   * @param budget per session and turn: bytes decoded and messages handled
   * @param counters the gateway's counters (`input_deferrals`, `read_pauses` are counted here)
   * @param onFrameError called when a frame does not decode (the gateway fails the session)
   */
  constructor(private readonly budget: Readonly<{ bytes: number; messages: number }>, private readonly counters: GatewayCounters,
    private readonly onFrameError: (session: Session, err: unknown) => void) {
    this.totalBytes = 4 * budget.bytes;
    this.rxLowWater = budget.bytes;
    this.rxHighWater = 4 * budget.bytes;
    this.rxHardCap = 16 * this.rxHighWater;
  }

  /** New input of `session`: held, then decoded now or in its turn. */
  onData(session: Session, chunk: Uint8Array): void {
    if (!session.valid || chunk.length === 0) return;
    session.rx.push({ chunk, at: performance.now() });
    session.rxBytes += chunk.length;
    if (session.scheduled) this.updateReading(session);
    else this.serve(session, false);
  }

  /**
   * Fairness (issue 16 §2): decodes `session`'s held input until it is gone or a budget is spent:
   * the session's own for this turn (`turnBudget.bytes` decoded, `turnBudget.messages` decoded, or
   * a full budget of messages not yet handled) or, when called from the round-robin queue
   * (`queued`), the turn's budget for all queued sessions together (`totalBytes`). What is left
   * waits in the queue behind the other sessions; while it waits, new input is only held. A
   * transport that cannot pause is decoded past the budgets beyond a hard cap, so memory stays
   * bounded. A bad frame fails the session (oversize: out-of-band 413).
   */
  serve(session: Session, queued: boolean): void {
    if (!session.valid) return;
    if (session.turnEpoch !== this.epoch) {
      session.turnEpoch = this.epoch;
      session.turnBytes = 0;
      session.turnMessages = 0;
    }
    this.arm();
    const budget = this.budget;
    const canPause = pausable(session.conn);
    while (session.rxBytes > 0 && session.valid) {
      const overCap = !canPause && session.rxBytes > this.rxHardCap;
      if (!overCap && (session.turnBytes >= budget.bytes || session.turnMessages >= budget.messages
        || session.inbox.length >= budget.messages || (queued && this.spent >= this.totalBytes))) break;
      const head = session.rx[session.rxHead]!;
      const n = Math.min(head.chunk.length - session.rxOffset, DECODE_SLICE_BYTES, overCap ? Infinity : budget.bytes - session.turnBytes);
      const piece = n === head.chunk.length ? head.chunk : head.chunk.subarray(session.rxOffset, session.rxOffset + n);
      session.decodingAt = head.at;
      session.rxOffset += n;
      session.rxBytes -= n;
      session.turnBytes += n;
      if (queued) this.spent += n;
      if (session.rxOffset === head.chunk.length) {
        session.rx[session.rxHead++] = undefined;
        session.rxOffset = 0;
        if (session.rxHead === session.rx.length) {
          session.rx.length = 0;
          session.rxHead = 0;
        } else if (session.rxHead >= 64 && session.rxHead * 2 >= session.rx.length) {
          session.rx.splice(0, session.rxHead);
          session.rxHead = 0;
        }
      }
      try {
        session.decoder.push(piece);
      } catch (err) {
        this.onFrameError(session, err);
        return;
      }
    }
    if (!session.valid) return;
    if (session.rxBytes > 0 && !session.scheduled && session.inbox.length < budget.messages) {
      // a budget is spent: the rest goes behind every session already waiting
      session.scheduled = true;
      this.ready.push(session);
      this.counters.input_deferrals++;
    }
    this.updateReading(session);
  }

  /**
   * Held input above the high-water mark stops a pausable transport reading (QUIC flow control
   * then holds the peer back); below the low-water mark it reads again.
   */
  private updateReading(session: Session): void {
    if (!pausable(session.conn)) return;
    if (!session.readPaused && session.rxBytes > this.rxHighWater) {
      session.readPaused = true;
      this.counters.read_pauses++;
      session.conn.stopReading();
    } else if (session.readPaused && session.rxBytes <= this.rxLowWater) {
      session.readPaused = false;
      session.conn.resumeReading(); // may deliver at once (re-enters onData): keep it last
    }
  }

  /** Makes sure a turn boundary (`runTurn`) follows this event-loop turn. */
  private arm(): void {
    if (this.armed) return;
    this.armed = true;
    setImmediate(this.runTurn);
  }

  /**
   * A new turn: fresh budgets for everyone (a new epoch), then the queued sessions are served in
   * the order they queued, each within its own budget, until the turn's budget for queued input
   * (`totalBytes`) is spent; the rest keep their place for the next turn. A session with input
   * left after its share goes to the back (round robin).
   */
  private readonly runTurn = (): void => {
    this.armed = false;
    this.epoch++;
    this.spent = 0;
    // only the sessions queued before this turn; one that queues again while served waits for the next
    for (let n = this.ready.length; n > 0 && this.spent < this.totalBytes; n--) {
      const s = this.ready.shift()!;
      s.scheduled = false;
      this.serve(s, true);
    }
    if (this.ready.length > 0) this.arm();
  };
}
