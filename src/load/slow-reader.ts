/**
 * Slow readers, a load fault (`--slow-clients P%`, scenario `slow_clients`, issue 14 §6; seed 001's
 * mechanism): a share of the clients read their stream at a bounded rate through a small stream
 * receive window, so QUIC flow control stalls the gateway's writes to them. In the `sync` design
 * with the global lock, the stalled write holds the lock and every session waits (seed 001: "网络IO在
 * 锁内执行，阻塞其他线程"); in the `async` design only the slow session's send queue grows.
 *
 * How a slow client reads: only on ticks of its group (every SLOW_READ_TICK_MS, a client that
 * services its socket twenty times a second), each time what waited, up to a budget of
 * `readBytesPerS × tick` bytes (a token bucket refilled once per tick, holding at most one tick's
 * worth; a chunk that overdraws it is paid back on later ticks). Between ticks it keeps
 * `Connection.stopReading()` on: the transport leaves what arrives in its receive buffer, the
 * client's window stops moving, and a gateway write that does not fit in what is left of the window
 * waits for the next tick. So a slow client reads at most min(readBytesPerS, window ÷ tick) bytes/s,
 * and a group of pushes (a request's notifies and response) larger than the window always stalls.
 */
import type { Connection, ConnectionHandlers, Dialer, TransportName } from '../transport/types.js';
import { InvalidInputError } from '../errors.js';
import { decodeHistogram, encodeHistogram, encodeLatency, mergeHistograms } from '../metrics/histogram.js';
import type { SlowClientsResult } from '../metrics/result.js';
import { GATECTL_CLIENT_VERSION, clientVersionFor } from '../protocol/cohort.js';
import { ClientMetrics } from './metrics.js';

/** A slow client reads on ticks this far apart, ms. */
export const SLOW_READ_TICK_MS = 50;
/** Default read bound of a slow client, bytes/s. */
export const DEFAULT_SLOW_READ_BYTES_PER_S = 32_768;
/** Default stream receive window a slow client advertises and keeps, bytes (a healthy client's is 1 MiB). */
export const DEFAULT_SLOW_RECEIVE_WINDOW_BYTES = 1024;

/** The slow-reader fault of a run. */
export interface SlowClientsOptions {
  /** share of the clients that read slowly, percent (0 < percent ≤ 100) */
  percent: number;
  /** read bound of each slow client, bytes/s (> 0) */
  readBytesPerS: number;
  /** stream receive window each slow client advertises, bytes (≥ 64) */
  receiveWindowBytes: number;
}

/**
 * True when client `index` (global, 0-based) of the run is a slow reader: the clients whose index
 * makes ⌊(index + 1)·percent/100⌋ step up, so the slow ones are spread evenly through the run (and
 * through any ramp and any `--shard`) and there are exactly ⌊clients·percent/100⌋ of them.
 */
export function isSlowClient(index: number, percent: number): boolean {
  return Math.floor(((index + 1) * percent) / 100) > Math.floor((index * percent) / 100);
}

/**
 * Checks a `--slow-clients` share given as `P%` or `P` (percent). Returns the percent (0 = none).
 * Throws InvalidInputError naming the fix for anything outside 0–100 %.
 */
export function parseSlowClientsPercent(text: string, what = '--slow-clients'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  const v = m === null ? NaN : Number(m[1]);
  if (!Number.isFinite(v) || v < 0 || v > 100) {
    throw new InvalidInputError(`${what} ${JSON.stringify(text)}: give a share of the clients from 0% to 100%, e.g. 1%`);
  }
  return v;
}

/** A slow client's connection as the group sees it. */
interface Reader {
  conn: Connection & Required<Pick<Connection, 'stopReading' | 'resumeReading'>>;
  /** bytes it may still read in this tick; below 0 when the last chunk overdrew it */
  budget: number;
  reading: boolean;
  closed: boolean;
}

/**
 * The slow readers of one generator slice, driven by one interval timer. `wrap` a connection before
 * handing it to its LoadClient; `start()` once the slice runs, `stop()` at its end (reads resume
 * so closing is not held up by a full window).
 */
export class SlowReaderGroup {
  private readonly readers: Reader[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** bytes one tick allows */
  private readonly perTick: number;

  /** @param readBytesPerS read bound of each slow client, bytes/s */
  constructor(readBytesPerS: number) {
    this.perTick = (readBytesPerS * SLOW_READ_TICK_MS) / 1000;
  }

  /** Slow clients in the group. */
  get size(): number {
    return this.readers.length;
  }

  /**
   * A Connection that behaves as `conn` but reads at the group's bound: its data handler counts
   * the bytes and pauses the transport when the tick's budget is spent. Reading is paused until
   * `start()`. Throws InvalidInputError when the transport cannot pause and resume reading (TCP).
   */
  wrap(conn: Connection): Connection {
    if (conn.stopReading === undefined || conn.resumeReading === undefined) {
      throw new InvalidInputError('--slow-clients needs a transport that can pause and resume reading: use the QUIC transport');
    }
    const r: Reader = { conn: conn as Reader['conn'], budget: this.perTick, reading: true, closed: false };
    this.readers.push(r);
    return {
      remoteAddress: conn.remoteAddress,
      setHandlers: (h: ConnectionHandlers) => conn.setHandlers({
        data: (chunk) => {
          r.budget -= chunk.byteLength;
          h.data(chunk);
          if (r.budget <= 0 && r.reading && this.timer !== null) {
            r.reading = false;
            conn.stopReading!();
          }
        },
        close: (err) => {
          r.closed = true;
          h.close(err);
        },
      }),
      stopReading: () => conn.stopReading!(),
      resumeReading: () => conn.resumeReading!(),
      write: (data) => conn.write(data),
      close: (code, reason, timeoutMs) => conn.close(code, reason, timeoutMs),
    };
  }

  /** Starts the ticks: from now on each slow client reads at most its budget per tick. */
  start(): void {
    if (this.timer !== null || this.readers.length === 0) return;
    this.timer = setInterval(this.tick, SLOW_READ_TICK_MS);
    for (const r of this.readers) {
      r.budget = this.perTick;
      if (!r.closed) {
        r.reading = false;
        r.conn.stopReading();
      }
    }
  }

  /** Stops the ticks and lets every slow client read freely again. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const r of this.readers) {
      if (r.closed || r.reading) continue;
      r.reading = true;
      r.conn.resumeReading();
    }
  }

  private readonly tick = (): void => {
    for (const r of this.readers) {
      if (r.closed) continue;
      r.budget = Math.min(this.perTick, r.budget + this.perTick);
      if (r.budget <= 0) continue;
      // reads what waited in the transport, chunk by chunk (synchronously, QUIC), until it is all
      // read or the budget is spent (the data handler pauses), then stops until the next tick
      r.reading = true;
      r.conn.resumeReading();
      if (r.reading && !r.closed) {
        r.reading = false;
        r.conn.stopReading();
      }
    }
  };
}

/** The slow clients' part of a SlicePartial (see SlowClientsResult in metrics/result.ts). Histograms are base64 HDR encodings, µs. */
export interface SlowPartial {
  clients: number;
  connected: number;
  readBytesPerS: number;
  receiveWindowBytes: number;
  requestsSent: number;
  responses: number;
  unanswered: number;
  errorsByCode: Record<string, number>;
  transportErrors: Record<string, number>;
  e2e: string;
}

/**
 * The slow clients of one slice: which of its clients they are, their dialer (with the small receive
 * window), their reader group and their own ClientMetrics, so their figures stay apart from the
 * healthy clients'. Every client of a run with slow clients declares its cohort in Hello
 * (protocol/cohort.ts), so the gateway keeps the two cohorts' send-queue stages apart too.
 */
export class SlowCohort {
  /** the slow clients' counters and histograms (the slice's own ClientMetrics holds the healthy ones) */
  readonly metrics = new ClientMetrics();
  readonly readers: SlowReaderGroup;
  private dialerP: Promise<Dialer> | null = null;
  private connectedCount = 0;

  /**
   * @param opts the run's slow-reader fault
   * @param ids global indices of the slice's clients that are slow (isSlowClient)
   * @param transport the slice's transport: only QUIC pauses and resumes reading and has a receive window to set
   * @param makeDialer creates a dialer with the given receive window (the slice's transport and trust)
   * @throws {InvalidInputError} for another transport than QUIC
   */
  constructor(readonly opts: SlowClientsOptions, readonly ids: ReadonlySet<number>, transport: TransportName, private readonly makeDialer: (receiveWindowBytes: number) => Promise<Dialer>) {
    if (transport !== 'quic') throw new InvalidInputError(`--slow-clients needs the QUIC transport (its flow control is the fault), not ${transport}`);
    this.readers = new SlowReaderGroup(opts.readBytesPerS);
  }

  /** The Hello client_version of client `id`: cohort `slow` or `healthy`. */
  clientVersion(id: number): string {
    return clientVersionFor(GATECTL_CLIENT_VERSION, this.ids.has(id) ? 'slow' : 'healthy');
  }

  /** The slow clients' dialer (created on first use). */
  dialer(): Promise<Dialer> {
    this.dialerP ??= this.makeDialer(this.opts.receiveWindowBytes);
    return this.dialerP;
  }

  /** A slow client said Hello (counted in `connected`). */
  helloDone(): void {
    this.connectedCount++;
  }

  /** The slow clients' figures; `unanswered` is summed by the caller over its slow LoadClients. */
  partial(unanswered: number): SlowPartial {
    const m = this.metrics;
    return {
      clients: this.ids.size, connected: this.connectedCount, readBytesPerS: this.opts.readBytesPerS, receiveWindowBytes: this.opts.receiveWindowBytes,
      requestsSent: m.requestsSent, responses: m.responses, unanswered, errorsByCode: { ...m.errorsByCode }, transportErrors: { ...m.transportErrors },
      e2e: encodeHistogram(m.e2eTotal()),
    };
  }

  /** Closes the slow clients' dialer (after their connections). */
  async close(): Promise<void> {
    this.readers.stop();
    await (await this.dialerP?.catch(() => null))?.close();
  }
}

/**
 * The run's slow-client figures from its slices' SlowPartials (counters summed, e2e histograms
 * merged, never averaged), or null when no slice had slow clients.
 */
export function mergeSlowPartials(parts: readonly (SlowPartial | undefined)[]): SlowClientsResult | null {
  const ps = parts.filter((p): p is SlowPartial => p !== undefined);
  if (ps.length === 0) return null;
  const sum = (f: (p: SlowPartial) => number) => ps.reduce((a, p) => a + f(p), 0);
  const addAll = (f: (p: SlowPartial) => Record<string, number>) => {
    const out: Record<string, number> = {};
    for (const p of ps) for (const [k, v] of Object.entries(f(p))) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return {
    clients: sum((p) => p.clients), connected: sum((p) => p.connected),
    read_bytes_per_s: ps[0]!.readBytesPerS, receive_window_bytes: ps[0]!.receiveWindowBytes,
    requests_sent: sum((p) => p.requestsSent), responses: sum((p) => p.responses), unanswered: sum((p) => p.unanswered),
    errors_by_code: addAll((p) => p.errorsByCode), transport_errors: addAll((p) => p.transportErrors),
    latency: { e2e: encodeLatency(mergeHistograms(ps.map((p) => decodeHistogram(p.e2e)))) },
  };
}
