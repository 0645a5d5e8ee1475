/**
 * The raw echo client of the load-generator benchmark: the transport's ceiling. N connections each
 * keep K copies of one pre-encoded BusinessRequest frame in flight (one write per request, a new one
 * per response frame); response frames are counted, never decoded; no histograms, no acks.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { TransportError } from '../../errors.js';
import { getTransport, type TransportName } from '../../transport/index.js';
import { ClientMessageType, FrameDecoder, type MessageType } from '../../protocol/index.js';
import { BENCH_TIMEOUTS_MS, PhaseMeter, cellFrom } from './meter.js';
import type { NullGateway } from './null-gateway.js';
import type { LoadgenBenchOptions } from './options.js';
import type { ThroughputCell } from './result.js';

/** A MessageType whose decode does nothing: the raw client counts frames without decoding them. */
const COUNT_ONLY: MessageType<null> = {
  encode: () => new Uint8Array(0),
  encodeDelimited: () => new Uint8Array(0),
  decode: () => null,
};

/** Options of one raw echo run. */
export interface RawEchoOptions {
  transport: TransportName;
  host: string;
  port: number;
  /** PEM CA of the target */
  ca: string;
  connections: number;
  inFlight: number;
  /** window, ms */
  durationMs: number;
  payloadBytes: number;
  /** per-connection connect timeout, ms */
  connectTimeoutMs: number;
  /** longest wait for outstanding responses after the window (and after the priming echoes), ms */
  drainTimeoutMs: number;
  /** before the window: each connection sends this many requests at once and all are awaited (not counted); default 0 */
  primeEchoes?: number;
}

/** Hooks of one raw echo run, each awaited. */
export interface RawEchoHooks {
  /** once the connections are open and the priming echoes answered, before `start`; gets the connections open */
  primed?(connected: number): Promise<void>;
  /** just before the window (CPU marks) */
  start?(): Promise<void>;
  /** after the drain, connections still open */
  stop?(): Promise<void>;
}

/** What one raw echo run counted. */
export interface RawEchoRun {
  connected: number;
  requests: number;
  responses: number;
  writeErrors: number;
  /** measured window, ms */
  windowMs: number;
  /** this process's event-loop delay p99 over the window and drain, ms (as runLoad measures it, 10 ms resolution) */
  eldP99Ms: number;
}

/**
 * The raw echo baseline: `connections` connections (dialed at once; the QUIC dialer runs at most
 * 100 handshakes at a time itself) each keeping `inFlight` copies of one pre-encoded BusinessRequest
 * frame in flight for `durationMs` (one write per request, a new one per response frame, frames
 * counted without decoding), then a drain. With `primeEchoes` > 0 each connection first echoes that
 * many requests (answers awaited, not counted) and `hooks.primed` runs (the memory sample). `hooks.start`
 * runs just before the window, `hooks.stop` after the drain (CPU marks). Connections close after it.
 * Rejects with TransportError when no connection opened.
 */
export async function runRawEcho(o: RawEchoOptions, hooks?: RawEchoHooks): Promise<RawEchoRun> {
  const dialer = await getTransport(o.transport).createDialer({ ca: o.ca, connectTimeoutMs: o.connectTimeoutMs });
  const frame = ClientMessageType.encodeDelimited({ msgId: 1, seqId: 1, business: { action: 'business', payload: new Uint8Array(o.payloadBytes) } });
  let requests = 0;
  let responses = 0;
  let writeErrors = 0;
  let sending = false;
  const eld = monitorEventLoopDelay({ resolution: 10 });
  const onWriteError = (): void => { writeErrors++; };
  const settled = await Promise.allSettled(Array.from({ length: o.connections }, () => dialer.dial(o.host, o.port)));
  const conns = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const states = conns.map((conn) => {
    const st = { conn, outstanding: 0, closed: false };
    const decoder = new FrameDecoder(COUNT_ONLY, () => {
      responses++;
      st.outstanding--;
      if (sending) {
        st.outstanding++;
        requests++;
        conn.write(frame).catch(onWriteError);
      }
    });
    conn.setHandlers({ data: (c) => decoder.push(c), close: () => { st.closed = true; } });
    return st;
  });
  try {
    if (states.length === 0) {
      const first = settled.find((s) => s.status === 'rejected') as PromiseRejectedResult | undefined;
      throw new TransportError(`raw echo: no connection to ${o.transport}://${o.host}:${o.port} opened: ${(first?.reason as Error | undefined)?.message ?? 'unknown'}`);
    }
    const prime = o.primeEchoes ?? 0;
    if (prime > 0) {
      for (const st of states) {
        for (let j = 0; j < prime; j++) {
          st.outstanding++;
          st.conn.write(frame).catch(onWriteError);
        }
      }
      const primeEnd = performance.now() + o.drainTimeoutMs;
      while (states.some((s) => s.outstanding > 0 && !s.closed) && performance.now() < primeEnd) await new Promise((r) => setTimeout(r, 10));
      responses = 0;
      writeErrors = 0;
      await hooks?.primed?.(states.filter((s) => !s.closed).length);
    }
    await hooks?.start?.();
    eld.enable();
    const t0 = performance.now();
    sending = true;
    for (const st of states) {
      for (let j = 0; j < o.inFlight; j++) {
        st.outstanding++;
        requests++;
        st.conn.write(frame).catch(onWriteError);
      }
    }
    await new Promise((r) => setTimeout(r, o.durationMs));
    sending = false;
    const windowMs = performance.now() - t0;
    const drainEnd = performance.now() + o.drainTimeoutMs;
    while (states.some((s) => s.outstanding > 0 && !s.closed) && performance.now() < drainEnd) await new Promise((r) => setTimeout(r, 10));
    eld.disable();
    await hooks?.stop?.();
    return { connected: states.length, requests, responses, writeErrors, windowMs, eldP99Ms: Math.round((eld.percentile(99) / 1e6) * 100) / 100 };
  } finally {
    eld.disable();
    await Promise.all(conns.map((c) => c.close(0, 'raw echo done', 2000)));
    await dialer.close();
  }
}

/** What one raw echo phase needs: the main section's options, or a transport-section cell's. */
export type RawPhaseSpec = Pick<LoadgenBenchOptions, 'transport' | 'connections' | 'inFlight' | 'durationS' | 'payloadBytes'> & {
  primeEchoes?: number;
  primed?: (connected: number) => Promise<void>;
};

/** Runs one raw echo phase against `gw` (BENCH_TIMEOUTS_MS: 30 s connect timeout, 10 s drain limit) and measures it as a ThroughputCell of `round`. */
export async function rawPhase(o: RawPhaseSpec, gw: NullGateway, round: number): Promise<ThroughputCell> {
  const w = new PhaseMeter(gw);
  const r = await runRawEcho({
    transport: o.transport, host: '127.0.0.1', port: gw.port, ca: gw.certPem, connections: o.connections, inFlight: o.inFlight,
    durationMs: Math.round(o.durationS * 1000), payloadBytes: o.payloadBytes, connectTimeoutMs: BENCH_TIMEOUTS_MS.connect, drainTimeoutMs: BENCH_TIMEOUTS_MS.drain, primeEchoes: o.primeEchoes,
  }, { primed: o.primed, start: () => w.start(0, Math.round(o.durationS * 1000)), stop: () => w.stop() });
  return { ...cellFrom('raw_echo', round, w, { connected: r.connected, requests: r.requests, responses: r.responses, errors: r.writeErrors, phaseS: r.windowMs / 1000 }), event_loop_delay_p99_ms: r.eldP99Ms };
}
