/**
 * Outages of a load run (issue 15): the windows in which at least one client had lost its session
 * and not reconnected yet, merged over slices and generator processes, and the check `load` applies
 * at the end (requests went unanswered because the target was unreachable → exit 1).
 */
import { TransportError } from '../errors.js';
import type { ClientResult, OutageWindow, RunResult } from '../metrics/result.js';

/** Reconnect backoff: the first retry after about this long, ms (full jitter: 0..100 ms). */
export const RECONNECT_FIRST_DELAY_MS = 100;
/** Reconnect backoff: longest wait between two attempts, ms. */
export const RECONNECT_MAX_DELAY_MS = 5000;
/**
 * Longest handshake of one reconnect attempt, ms (at most the run's --connect-timeout). QUIC does
 * not see ICMP unreachable, so a dial to a dead target waits for this. quiche retransmits the
 * Initial after about 1 s, then after 2 s more: an attempt of 2 s catches a server that came back
 * in its first second, and a fresh attempt (after the backoff) one that came back later, instead
 * of waiting for the third retransmission at 3 s.
 */
export const RECONNECT_CONNECT_TIMEOUT_MS = 2000;

/** An outage being tracked, times in performance.now() ms. */
interface OpenWindow {
  /** the target was last heard from (silent peers) or the first session was lost */
  startAt: number;
  /** the first session of the window was declared lost */
  detectedAt: number;
  clients: number;
  lost: number;
}

/**
 * Tracks one slice's outage windows. A window opens when a client loses its session while every
 * other client was connected, and closes when the last lost client has reconnected. It starts when
 * the target went silent: for a session lost to the client idle timeout, the last data that client
 * heard (at most the idle timeout before the loss); for a closed session, the loss itself. Times
 * are performance.now() ms; `windows` turns them into ms since the steady start.
 */
export class OutageTracker {
  private down = 0;
  private current: OpenWindow | null = null;
  private readonly closed: (OpenWindow & { endAt: number })[] = [];

  /** Clients disconnected now. */
  get disconnected(): number {
    return this.down;
  }

  /**
   * A client lost its session at `now` (ms) with `inFlight` requests outstanding; the target was
   * silent to it since `since` (ms, ≤ now; default now).
   */
  lost(now: number, inFlight: number, since = now): void {
    if (this.down++ === 0) this.current = { startAt: since, detectedAt: now, clients: 0, lost: 0 };
    this.current!.startAt = Math.min(this.current!.startAt, since);
    this.current!.clients++;
    this.current!.lost += inFlight;
  }

  /** A lost client said Hello again at `now` (ms). */
  recovered(now: number): void {
    if (this.down === 0) return;
    if (--this.down === 0 && this.current !== null) {
      this.closed.push({ ...this.current, endAt: now });
      this.current = null;
    }
  }

  /**
   * The windows, `start_ms`/`end_ms` in ms since the steady start `origin` (performance.now() ms),
   * wall-clock times from `originEpochMs` (Date.now() ms of the same instant). A window still open
   * ends at `endAt` (the end of the steady phase) with `recovered: false`.
   */
  windows(origin: number, originEpochMs: number, endAt: number): OutageWindow[] {
    const all = this.closed.map((w) => ({ ...w, recovered: true }));
    if (this.current !== null) all.push({ ...this.current, endAt: Math.max(endAt, this.current.startAt), recovered: false });
    return all.map((w) => {
      const start_ms = Math.round(w.startAt - origin);
      const end_ms = Math.round(w.endAt - origin);
      return {
        start_ms, end_ms, duration_ms: end_ms - start_ms, detected_ms: Math.round(w.detectedAt - origin), clients_lost: w.clients, lost_on_disconnect: w.lost, recovered: w.recovered,
        started_at: new Date(originEpochMs + start_ms).toISOString(), ended_at: new Date(originEpochMs + end_ms).toISOString(),
      };
    });
  }
}

/**
 * Merges the windows of several slices (same steady start) into the run's: overlapping or touching
 * windows become one (clients and lost requests added; recovered only when every part recovered).
 * Returns a new array sorted by start.
 */
export function mergeOutageWindows(windows: readonly OutageWindow[]): OutageWindow[] {
  const sorted = [...windows].sort((a, b) => a.start_ms - b.start_ms);
  const out: OutageWindow[] = [];
  for (const w of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && w.start_ms <= last.end_ms) {
      if (w.end_ms > last.end_ms) {
        last.end_ms = w.end_ms;
        last.ended_at = w.ended_at;
        last.recovered = w.recovered;
      } else if (w.end_ms === last.end_ms) {
        last.recovered &&= w.recovered;
      }
      last.detected_ms = Math.min(last.detected_ms ?? w.detected_ms ?? last.start_ms, w.detected_ms ?? w.start_ms);
      last.duration_ms = last.end_ms - last.start_ms;
      last.clients_lost += w.clients_lost;
      last.lost_on_disconnect += w.lost_on_disconnect;
    } else {
      out.push({ ...w });
    }
  }
  return out;
}

/** What one slice counts of its lost sessions and reconnects (part of SlicePartial). */
export interface ReconnectCounts {
  /** sessions lost */
  disconnects: number;
  /** sessions set up again after a loss */
  reconnects: number;
  /** reconnect attempts that failed */
  reconnectFailures: number;
  /** requests in flight when their session was lost */
  lostOnDisconnect: number;
  /** the part of lostOnDisconnect lost to an unreachable target (silent, not dialable, or not back by the end) */
  lostUnreachable: number;
  /** open model: arrivals never sent because their client was disconnected */
  droppedDisconnected: number;
  /** ms each client (user id) spent disconnected during the steady phase, only those > 0 */
  disconnectedMsByClient: Record<string, number>;
  /** outage windows of the slice, ms since the steady start */
  outages: OutageWindow[];
}

/** The ClientResult fields of issue 15 from the slices' counts (summed; windows merged; per-client times joined). */
export function reconnectResult(parts: readonly ReconnectCounts[]): Pick<ClientResult,
  'disconnects' | 'reconnects' | 'reconnect_failures' | 'lost_on_disconnect' | 'lost_unreachable' | 'dropped_disconnected' | 'disconnected' | 'outages'> {
  const sum = (f: (p: ReconnectCounts) => number): number => parts.reduce((a, p) => a + f(p), 0);
  const perClient: Record<string, number> = {};
  for (const p of parts) Object.assign(perClient, p.disconnectedMsByClient);
  const times = Object.values(perClient);
  return {
    disconnects: sum((p) => p.disconnects),
    reconnects: sum((p) => p.reconnects),
    reconnect_failures: sum((p) => p.reconnectFailures),
    lost_on_disconnect: sum((p) => p.lostOnDisconnect),
    lost_unreachable: sum((p) => p.lostUnreachable),
    dropped_disconnected: sum((p) => p.droppedDisconnected),
    disconnected: { clients: times.length, total_ms: times.reduce((a, t) => a + t, 0), max_ms: times.reduce((a, t) => Math.max(a, t), 0), per_client_ms: perClient },
    outages: mergeOutageWindows(parts.flatMap((p) => p.outages)),
  };
}

/** Warnings of a run whose sessions were lost: the outages, what was lost, and who did not come back. */
export function outageWarnings(c: ReturnType<typeof reconnectResult>, clients: number): string[] {
  if ((c.disconnects ?? 0) === 0) return [];
  const ws = c.outages ?? [];
  const open = ws.filter((w) => !w.recovered);
  return [`outage: ${c.disconnects} sessions lost in ${ws.length} window(s) (longest ${Math.max(0, ...ws.map((w) => w.duration_ms))} ms), ` +
    `${c.lost_on_disconnect} requests lost on disconnect, ${c.reconnects} reconnects (${c.reconnect_failures} failed attempts); ` +
    `${c.disconnected?.clients ?? 0} of ${clients} clients disconnected for ${c.disconnected?.total_ms ?? 0} ms in total` +
    (open.length > 0 ? `; not recovered by the end of the steady phase (${c.dropped_disconnected} arrivals dropped while disconnected)` : '')];
}

/**
 * Requests that went unanswered because the target was unreachable: those in flight on a session
 * lost to an unreachable target (`lost_unreachable`: the target went silent for the client idle
 * timeout, a reconnect could not dial it, or the session was not back by the end; a session the
 * gateway closed and that reconnected at once does not count) plus arrivals never sent because
 * their client was disconnected (`dropped_disconnected`). 0 for results without these fields.
 */
export function unreachableRequests(result: RunResult): number {
  const c = result.client;
  return (c.lost_unreachable ?? c.lost_on_disconnect ?? 0) + (c.dropped_disconnected ?? 0);
}

/**
 * `gatectl load`'s exit rule of issue 15 §3, called after the result was written and printed, when
 * no thresholds were given (thresholds then decide): throws when requests went unanswered because
 * the target was unreachable.
 *
 * @throws {TransportError} code `GATECTL_TARGET_UNREACHABLE` (exit 1), naming the requests lost and
 *   the outage windows.
 */
export function assertTargetReachable(result: RunResult): void {
  const n = unreachableRequests(result);
  if (n === 0) return;
  const c = result.client;
  const windows = (c.outages ?? []).map((w) => `${(w.start_ms / 1000).toFixed(1)}-${(w.end_ms / 1000).toFixed(1)} s${w.recovered ? '' : ' (not recovered)'}`);
  throw new TransportError(
    `the target was unreachable: ${n} requests unanswered (lost with their session ${c.lost_unreachable ?? c.lost_on_disconnect ?? 0}, dropped while disconnected ${c.dropped_disconnected ?? 0}); ` +
    `outages ${windows.length > 0 ? windows.join(', ') : 'none recorded'}, reconnects ${c.reconnects ?? 0}`,
    'GATECTL_TARGET_UNREACHABLE',
  );
}
