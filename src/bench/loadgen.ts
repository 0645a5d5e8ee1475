/**
 * The load-generator benchmark (issue 4 "Done when"): how much of the transport's throughput
 * gatectl's load engine reaches, measured in one run on one machine, plus the cost of the
 * per-message work it does (histogram record, codec).
 *
 * - Target: a "null gateway" in a child process (src/bench/null-gateway.ts) on 127.0.0.1: it decodes
 *   ClientMessages and answers at once (Hello → HelloResponse 200, each BusinessRequest → one
 *   BusinessResponse with the same msg_id and contiguous server_seq; acks and heartbeats ignored),
 *   coalescing the answers to one chunk into one write. No queue, processor or upstream.
 * - Raw echo: a hand-rolled client on the same transport and target: N connections, each keeping K
 *   pre-encoded requests in flight (one write per request, like gatectl), counting response frames
 *   without decoding them. No histograms, no bookkeeping: the transport's ceiling.
 * - gatectl closed: `runLoad` (src/load/run.ts) with `model: 'closed'`, `concurrency` K, N clients,
 *   options built by resolveLoadOptions exactly as the CLI does, one generator process.
 * - gatectl open: `runLoad` open model at `openFraction` (default 0.9) of the raw echo rate: did it
 *   keep up (dropped_iterations, schedule lag p99)?
 * - Ratio = gatectl closed responses/s ÷ raw echo responses/s (goal ≥ 0.85). An unrecorded warm-up
 *   of each side comes first (JIT); rounds alternate the order (raw first, then gatectl first …) so
 *   drift on a shared machine falls on both sides.
 * - Micro-costs in this process: recordUs on the factory histogram (ns per value), encode/decode of
 *   one histogram (µs), and the client's codec path (BusinessRequest encode, BusinessResponse frame
 *   decode, ns per message).
 * - Transport section (issue 13; first, unless skipTransport): raw echo of quic and of tcp at each of
 *   `transportShapes` (default 100 × 8 and 1000 × 1), each transport against its own fresh null
 *   gateway; QUIC ÷ TCP per shape (goal ≥ 0.3 at 1000 × 1); RSS per connection of the generator and
 *   of the null gateway at the shape with the most connections (goals, quic: ≤ 100 / ≤ 150 KB); this
 *   run's quic 100 × 8 raw echo ÷ the committed reference run's (REFERENCE_RESULT_FILE, goal ≥ 15×).
 * Throughput definition, both sides alike: BusinessResponses the null gateway wrote inside the phase
 * less a margin at each end (windowMarginMs: the in-flight fill and the drain are left out), counted
 * and timed in the gateway process ÷ that window's length. The clients' own count (drain included,
 * as `gatectl load` reports it) is kept beside it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';
import { markdownTable } from 'markdown-table';
import { GatectlError, InvalidInputError, TransportError } from '../errors.js';
import { getTransport, type Connection, type TransportName } from '../transport/index.js';
import { ClientMessageType, FrameDecoder, ServerPushType, type MessageType } from '../protocol/index.js';
import { createHistogram, decodeHistogram, encodeHistogram, recordUs } from '../metrics/histogram.js';
import { writeFileAtomic } from '../metrics/files.js';
import { resolveLoadOptions } from '../config/load.js';
import { runLoad, type TargetHandle } from '../load/run.js';
import type { RunResult } from '../metrics/result.js';

/** Result schema id (v2: the `transport` section and its options). */
export const LOADGEN_BENCH_SCHEMA = 'gatectl.loadgen-bench/v2';
/** Goal of issue 4: gatectl closed-model responses/s ≥ 0.85 × raw echo responses/s. */
export const THROUGHPUT_GOAL = 0.85;
/** An open-model run kept up when its schedule lag p99 stayed at or below this, µs (runLoad warns above it). */
export const KEPT_UP_LAG_P99_US = 50_000;

/** One raw echo shape of the transport section: N connections × K requests in flight each. */
export interface TransportShape {
  /** N, connections */
  connections: number;
  /** K, requests in flight per connection */
  inFlight: number;
}

/**
 * Goals of issue 13 for the transport section. The QUIC ÷ TCP raw echo goal is judged only at its
 * shape (1000 × 1); the memory goals (QUIC only; KB = 1024 bytes of RSS per connection) only when
 * the memory shape has at least `memoryMinConnections` connections; the reference factor only
 * against a reference run of the same transport and shape.
 */
export const TRANSPORT_GOALS = Object.freeze({
  quicTcpMinRatio: 0.3, quicTcpShape: Object.freeze({ connections: 1000, inFlight: 1 }) as Readonly<TransportShape>,
  memoryMinConnections: 1000, clientMaxKbPerConnection: 100, serverMaxKbPerConnection: 150,
  referenceMinFactor: 15,
});
/** Pause before each RSS sample of the memory measurement (nothing runs in it; no forced GC), ms. */
export const MEMORY_SETTLE_MS = 1000;
/** Requests each connection echoes (all in flight at once) before the memory sample and the window. */
export const PRIME_ECHOES = 3;
/**
 * The committed result the transport section compares its QUIC raw echo with (issue 13): the last
 * reference run of the `quic` transport on @matrixai/quic's JS layer (2026-11-21), kept under its
 * own name when reports/reference/loadgen-bench.json was refreshed with the native driver.
 */
export const REFERENCE_RESULT_FILE = 'reports/reference/loadgen-bench-matrixai-js.json';

/** Benchmark options. */
export interface LoadgenBenchOptions {
  /** transport of the target and of both clients */
  transport: TransportName;
  /** N: connections (raw echo) = clients (gatectl) */
  connections: number;
  /** K: requests in flight per connection (raw) = closed-model concurrency (gatectl) */
  inFlight: number;
  /** D: length of each measured phase, s */
  durationS: number;
  /** raw/gatectl pairs; the order alternates per round */
  rounds: number;
  /** unrecorded warm-up before round 1: one raw echo and one gatectl closed phase of this length, s (0 = none) */
  warmupS: number;
  /** BusinessRequest payload, bytes (the CLI's --payload-bytes default is 64) */
  payloadBytes: number;
  /** open-model rate as a fraction of the raw echo rate (0 < f ≤ 2) */
  openFraction: number;
  /** values recorded in the histogram-cost measurement */
  histogramValues: number;
  /** messages in the codec-cost measurement */
  codecIterations: number;
  /** shapes of the transport section's raw echo (quic and tcp each); the one with the most connections also measures memory */
  transportShapes: TransportShape[];
  /** leave out the transport section (QUIC vs TCP raw echo, memory per connection, reference factor) */
  skipTransport: boolean;
}

/**
 * Defaults: QUIC, N=100, K=8, D=5 s, 2 rounds after a 1 s warm-up of each side, 64-byte payload, open at 90 %, 10M histogram values,
 * 1M codec messages; transport section on (shapes 100 × 8 and 1000 × 1).
 */
export const DEFAULT_LOADGEN_BENCH_OPTIONS: Readonly<LoadgenBenchOptions> = Object.freeze({
  transport: 'quic', connections: 100, inFlight: 8, durationS: 5, rounds: 2, warmupS: 1, payloadBytes: 64, openFraction: 0.9,
  histogramValues: 10_000_000, codecIterations: 1_000_000,
  transportShapes: Object.freeze([Object.freeze({ connections: 100, inFlight: 8 }), Object.freeze({ connections: 1000, inFlight: 1 })]) as TransportShape[],
  skipTransport: false,
});

/** `NxK` (or `N×K`) per shape, comma-separated, e.g. `100x8,1000x1`. */
export function formatTransportShapes(shapes: readonly TransportShape[]): string {
  return shapes.map((s) => `${s.connections}x${s.inFlight}`).join(',');
}

/** Parses `--transport-shapes` (`100x8,1000x1`). Throws InvalidInputError naming the flag and the form. */
export function parseTransportShapes(v: string): TransportShape[] {
  return v.split(',').map((part) => {
    const m = /^\s*(\d+)\s*[x×]\s*(\d+)\s*$/i.exec(part);
    if (m === null) throw new InvalidInputError(`--transport-shapes ${JSON.stringify(v)} is not valid: use NxK shapes separated by commas, e.g. 100x8,1000x1`);
    return { connections: Number(m[1]), inFlight: Number(m[2]) };
  });
}

/** Checks options; throws InvalidInputError naming the bad one and the accepted range. */
export function validateLoadgenBenchOptions(o: LoadgenBenchOptions): void {
  const int = (v: number, name: string, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new InvalidInputError(`--${name} ${v} is not valid: use a whole number from ${lo} to ${hi}`);
  };
  if (o.transport !== 'quic' && o.transport !== 'tcp') throw new InvalidInputError(`--transport ${JSON.stringify(o.transport)} is not supported: use quic or tcp`);
  int(o.connections, 'connections', 1, 5000);
  int(o.inFlight, 'in-flight', 1, 1000);
  int(o.rounds, 'rounds', 1, 10);
  int(o.payloadBytes, 'payload-bytes', 0, 1_000_000);
  int(o.histogramValues, 'histogram-values', 1000, 100_000_000);
  int(o.codecIterations, 'codec-iterations', 1000, 100_000_000);
  if (!(o.durationS > 0 && o.durationS <= 600)) throw new InvalidInputError(`--duration ${o.durationS} is not valid: use seconds within (0, 600], e.g. 5 or 0.5`);
  if (!(o.warmupS >= 0 && o.warmupS <= 60)) throw new InvalidInputError(`--warmup ${o.warmupS} is not valid: use seconds within [0, 60] (0 = no warm-up)`);
  if (!(o.openFraction > 0 && o.openFraction <= 2)) throw new InvalidInputError(`--open-fraction ${o.openFraction} is not valid: use a fraction of the raw echo rate within (0, 2], e.g. 0.9`);
  const shapes = formatTransportShapes(o.transportShapes);
  if (o.transportShapes.length < 1 || o.transportShapes.length > 4) throw new InvalidInputError(`--transport-shapes ${shapes} is not valid: give 1 to 4 shapes, e.g. 100x8,1000x1`);
  for (const s of o.transportShapes) {
    if (!Number.isInteger(s.connections) || s.connections < 1 || s.connections > 5000 || !Number.isInteger(s.inFlight) || s.inFlight < 1 || s.inFlight > 1000) {
      throw new InvalidInputError(`--transport-shapes ${shapes} is not valid: connections 1 to 5000 and in flight 1 to 1000 per shape, e.g. 100x8,1000x1`);
    }
  }
  if (new Set(o.transportShapes.map((s) => `${s.connections}x${s.inFlight}`)).size !== o.transportShapes.length) {
    throw new InvalidInputError(`--transport-shapes ${shapes} is not valid: a shape is given twice`);
  }
}

/** `node:util` parseArgs options of the loadgen flags (strings, and `--skip-transport` a boolean; see `loadgenOptionsFromArgs`). */
export const LOADGEN_ARG_OPTIONS = {
  transport: { type: 'string' }, connections: { type: 'string' }, 'in-flight': { type: 'string' }, duration: { type: 'string' },
  rounds: { type: 'string' }, warmup: { type: 'string' }, 'payload-bytes': { type: 'string' }, 'open-fraction': { type: 'string' },
  'histogram-values': { type: 'string' }, 'codec-iterations': { type: 'string' },
  'transport-shapes': { type: 'string' }, 'skip-transport': { type: 'boolean' },
} as const;

/** Usage text of the loadgen flags. */
export const LOADGEN_USAGE = '[--transport quic|tcp] [--connections N (100)] [--in-flight K (8)] [--duration S (5, seconds per phase)] [--rounds R (2)] [--warmup S (1, 0 = none)] ' +
  '[--payload-bytes B (64)] [--open-fraction F (0.9)] [--histogram-values V (10000000)] [--codec-iterations M (1000000)] ' +
  '[--transport-shapes NxK,... (100x8,1000x1)] [--skip-transport]';

/** parseArgs values of the loadgen flags: a string per string flag, a boolean for `--skip-transport`. */
export type LoadgenArgValues = {
  [K in keyof typeof LOADGEN_ARG_OPTIONS]?: (typeof LOADGEN_ARG_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string;
};

/** Builds validated options from parseArgs values (defaults for absent flags). Throws InvalidInputError. */
export function loadgenOptionsFromArgs(values: LoadgenArgValues): LoadgenBenchOptions {
  const d = DEFAULT_LOADGEN_BENCH_OPTIONS;
  const num = (v: string | undefined, def: number, name: string): number => {
    if (v === undefined) return def;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidInputError(`--${name} ${JSON.stringify(v)} is not a number: use e.g. --${name} ${def}`);
    return n;
  };
  const o: LoadgenBenchOptions = {
    transport: (values.transport ?? d.transport) as TransportName,
    connections: num(values.connections, d.connections, 'connections'),
    inFlight: num(values['in-flight'], d.inFlight, 'in-flight'),
    durationS: num(values.duration, d.durationS, 'duration'),
    rounds: num(values.rounds, d.rounds, 'rounds'),
    warmupS: num(values.warmup, d.warmupS, 'warmup'),
    payloadBytes: num(values['payload-bytes'], d.payloadBytes, 'payload-bytes'),
    openFraction: num(values['open-fraction'], d.openFraction, 'open-fraction'),
    histogramValues: num(values['histogram-values'], d.histogramValues, 'histogram-values'),
    codecIterations: num(values['codec-iterations'], d.codecIterations, 'codec-iterations'),
    transportShapes: values['transport-shapes'] === undefined ? d.transportShapes.map((s) => ({ ...s })) : parseTransportShapes(values['transport-shapes']),
    skipTransport: values['skip-transport'] ?? d.skipTransport,
  };
  validateLoadgenBenchOptions(o);
  return o;
}

// ---------------------------------------------------------------------------------------------
// The null gateway

/** Counters of a null gateway process. */
export interface NullGatewayCounters {
  /** connections served so far */
  connections: number;
  /** connections open now */
  open: number;
  /** BusinessResponses written */
  responses: number;
  /** ClientAcks received (ignored otherwise) */
  acks: number;
  /** connections closed for a frame that did not decode */
  badFrames: number;
}

function noop(): void {}

/**
 * Serves one connection as the null gateway: Hello → HelloResponse code 200; each BusinessRequest →
 * one BusinessResponse (same msg_id, code 200) with server_seq 1, 2, 3, … for the connection; acks
 * and heartbeats ignored. The answers to one received chunk go out in one write. A frame that does
 * not decode closes the connection (code 0x11) and counts in `badFrames`.
 */
export function serveNullConnection(conn: Connection, counters: NullGatewayCounters): void {
  counters.connections++;
  counters.open++;
  const sessionId = `null-${counters.connections}`;
  let serverSeq = 0;
  const out: Uint8Array[] = [];
  const decoder = new FrameDecoder(ClientMessageType, (m) => {
    if (m.body === 'business') {
      out.push(ServerPushType.encodeDelimited({ serverSeq: ++serverSeq, business: { msgId: m.msgId ?? 0, code: 200 } }));
      counters.responses++;
    } else if (m.body === 'hello') {
      out.push(ServerPushType.encodeDelimited({ serverSeq: ++serverSeq, hello: { msgId: m.msgId ?? 0, code: 200, sessionId } }));
    } else if (m.body === 'ack') {
      counters.acks++;
    }
  });
  conn.setHandlers({
    data: (chunk) => {
      try {
        decoder.push(chunk);
      } catch {
        counters.badFrames++;
        out.length = 0;
        void conn.close(0x11, 'bad frame');
        return;
      }
      if (out.length === 0) return;
      const frame = out.length === 1 ? out[0]! : Buffer.concat(out);
      out.length = 0;
      conn.write(frame).catch(noop);
    },
    close: () => { counters.open--; },
  });
}

/** A sample of the null gateway process: CPU time so far (µs), counters, memory (bytes), and when (its clock, ms). */
export interface TargetSample {
  userUs: number;
  systemUs: number;
  /** BusinessResponses written so far */
  responses: number;
  /** ClientAcks received so far */
  acks: number;
  /** connections open at the sample */
  open: number;
  /** process.memoryUsage() of the child: resident set size and V8 heap used, bytes */
  rssBytes: number;
  heapUsedBytes: number;
  /** performance.timeOrigin + performance.now() of the child when sampled, ms */
  atMs: number;
}

/** A running null gateway child process. */
export interface NullGateway {
  transport: TransportName;
  port: number;
  /** `quic://127.0.0.1:PORT` or `tcp://…` */
  url: string;
  /** its self-signed certificate, the clients' CA (PEM) */
  certPem: string;
  /** CPU time and counters of the child now. Rejects with TransportError when it does not answer within 10 s. */
  sample(): Promise<TargetSample>;
  /** Closes the listener and ends the child (bounded: 5 s, then SIGKILL). */
  stop(): Promise<void>;
}

/**
 * Starts the null gateway in a child process on 127.0.0.1 (free port). Rejects with TransportError
 * when the child fails to bind or says nothing within 30 s.
 */
export async function startNullGateway(transport: TransportName): Promise<NullGateway> {
  const entry = fileURLToPath(new URL('./null-gateway.js', import.meta.url));
  // no --cpu-prof etc. in the target: profile flags belong to the generator process
  const child: ChildProcess = fork(entry, [transport], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
  const next = <T>(type: string, timeoutMs: number, id?: number): Promise<T> => new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new TransportError(`null gateway: no '${type}' within ${timeoutMs} ms`)); }, timeoutMs);
    const onMsg = (m: { type: string; id?: number; message?: string }) => {
      if (m.type === type && m.id === id) { cleanup(); resolve(m as T); } else if (m.type === 'error') { cleanup(); reject(new TransportError(`null gateway failed: ${m.message}`)); }
    };
    const onExit = (code: number | null) => { cleanup(); reject(new TransportError(`null gateway exited (code ${code}) before '${type}'`)); };
    const cleanup = () => { clearTimeout(timer); child.off('message', onMsg); child.off('exit', onExit); };
    child.on('message', onMsg);
    child.on('exit', onExit);
  });
  let ready: { port: number; certPem: string };
  try {
    ready = await next<{ port: number; certPem: string }>('ready', 30_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  let ids = 0;
  return {
    transport, port: ready.port, certPem: ready.certPem, url: `${transport}://127.0.0.1:${ready.port}`,
    async sample() {
      const id = ++ids;
      const p = next<TargetSample>('sample', 10_000, id);
      child.send({ type: 'sample', id });
      const s = await p;
      return { userUs: s.userUs, systemUs: s.systemUs, responses: s.responses, acks: s.acks, open: s.open, rssBytes: s.rssBytes, heapUsedBytes: s.heapUsedBytes, atMs: s.atMs };
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      if (child.connected) child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Measurement helpers

/** Margin left out at each end of the in-window count: the in-flight fill and the drain, ms. */
export function windowMarginMs(durationMs: number): number {
  return Math.min(250, durationMs / 10);
}

/**
 * What one phase cost and delivered, seen from outside the clients: CPU of both processes from
 * `start()` to `stop()` (just before the window to the end of the drain), and the responses the
 * null gateway wrote inside the window less a margin at each end (`windowMarginMs`), counted and
 * timed by the gateway itself — the same measure for raw echo and gatectl.
 */
class PhaseMeter {
  private t0 = 0;
  private self0: NodeJS.CpuUsage = { user: 0, system: 0 };
  private gw0: TargetSample | null = null;
  private inWindow: Promise<[TargetSample, TargetSample]> | null = null;
  wallMs = 0;
  generatorCpuUs = 0;
  gatewayCpuUs = 0;
  /** gateway-counted responses and acks over start..stop */
  gatewayResponses = 0;
  gatewayAcks = 0;
  /** gateway-counted responses inside the window, and the window's length on the gateway's clock, s */
  windowResponses = 0;
  windowS = 0;
  constructor(private readonly gateway: NullGateway) {}
  /** CPU marks now; the window opens `delayMs` from now and lasts `durationMs`. */
  async start(delayMs: number, durationMs: number): Promise<void> {
    this.gw0 = await this.gateway.sample();
    this.self0 = process.cpuUsage();
    this.t0 = performance.now();
    const margin = windowMarginMs(durationMs);
    const at = (ms: number) => new Promise<TargetSample>((resolve, reject) => setTimeout(() => this.gateway.sample().then(resolve, reject), ms));
    this.inWindow = Promise.all([at(delayMs + margin), at(delayMs + durationMs - margin)]);
    this.inWindow.catch(noop);
  }
  async stop(): Promise<void> {
    this.wallMs = performance.now() - this.t0;
    const self = process.cpuUsage(this.self0);
    const gw = await this.gateway.sample();
    const gw0 = this.gw0!;
    this.generatorCpuUs = self.user + self.system;
    this.gatewayCpuUs = gw.userUs + gw.systemUs - gw0.userUs - gw0.systemUs;
    this.gatewayResponses = gw.responses - gw0.responses;
    this.gatewayAcks = gw.acks - gw0.acks;
    const [a, b] = await this.inWindow!;
    this.windowResponses = b.responses - a.responses;
    this.windowS = (b.atMs - a.atMs) / 1000;
  }
}

/** One measured throughput phase. */
export interface ThroughputCell {
  phase: 'raw_echo' | 'gatectl_closed' | 'gatectl_open';
  /** 1-based round (the open-model phase is round 0) */
  round: number;
  /** connections (raw) / clients (gatectl) connected */
  connected: number;
  /** requests the clients sent in the phase */
  requests: number;
  /** responses the clients received to them (during the phase and the drain) */
  responses: number;
  /** the counting window on the null gateway's clock (the phase less a margin at each end), s */
  window_s: number;
  /** responses the null gateway wrote inside the window */
  window_responses: number;
  /** window_responses ÷ window_s, responses/s (the throughput compared) */
  responses_per_s: number;
  /** client-side figure: responses ÷ phase length (drain included, as `gatectl load` reports it), responses/s */
  client_responses_per_s: number;
  /** ClientAcks the gateway received per response it wrote, over the phase and drain */
  acks_per_response: number;
  /** generator (this process) CPU time over wall time from just before the window to the end of the drain, % of one core */
  generator_cpu_percent: number;
  /** null gateway process CPU over the same interval, % of one core */
  gateway_cpu_percent: number;
  /** generator CPU time per response, ns */
  generator_cpu_ns_per_response: number;
  /** null gateway CPU time per response, ns */
  gateway_cpu_ns_per_response: number;
  /** write failures and error responses */
  errors: number;
  /** gatectl only (null for raw echo): corrected e2e latency p50/p99, µs */
  e2e_p50_us: number | null;
  e2e_p99_us: number | null;
  /** the generator's event-loop delay p99 over the phase and drain, ms (raw echo: measured the same way as runLoad does) */
  event_loop_delay_p99_ms: number | null;
  /** gatectl only: whether runLoad marked the run generator_bound (event-loop delay p99 > 20 ms) */
  generator_bound: boolean | null;
  /** gatectl only: gaps + reorders + duplicates + notify-order violations seen by the clients */
  violations: number | null;
}

/** The open-model phase: a throughput cell plus whether it kept up. */
export interface OpenModelCell extends ThroughputCell {
  /** offered arrival rate = openFraction × raw echo responses/s, requests/s */
  target_rate_per_s: number;
  /** requests sent ÷ window, requests/s */
  requests_per_s: number;
  /** per-client cap on outstanding requests (the CLI default) */
  max_in_flight: number;
  /** intended sends skipped at the cap (k6 dropped_iterations) */
  dropped_iterations: number;
  /** schedule lag p99 (actual − intended send), µs */
  schedule_lag_p99_us: number;
  /** uncorrected e2e p99 (from the actual send), µs */
  e2e_uncorrected_p99_us: number;
  /** no dropped iteration, requests/s ≥ 98 % of the target, schedule lag p99 ≤ 50 ms */
  kept_up: boolean;
}

/** Cost of recording into the factory histogram, measured in this process. */
export interface HistogramCost {
  /** values recorded (log-uniform over 1 µs .. 1 s) */
  values: number;
  /** recordUs, including reading the value from a typed array, ns per value */
  ns_per_record: number;
  /** the same loop summing the values instead of recording them, ns per value */
  loop_overhead_ns: number;
  /** ns_per_record − loop_overhead_ns, ns per value */
  net_ns_per_record: number;
  /** encodeHistogram of the filled histogram, µs per encode */
  encode_us: number;
  /** its encoded length, bytes (base64 text) */
  encoded_bytes: number;
  /** decodeHistogram of that text (into a factory histogram), µs per decode */
  decode_us: number;
}

/** Per-message cost of the load client's codec path, measured in this process. */
export interface CodecCost {
  iterations: number;
  /** BusinessRequest frame (64-byte payload by default), bytes */
  request_bytes: number;
  /** BusinessResponse frame, bytes */
  response_bytes: number;
  /** ClientMessageType.encodeDelimited of a BusinessRequest, ns per message */
  request_encode_ns: number;
  /** FrameDecoder.push of one BusinessResponse frame (varint + ServerPush decode), ns per message */
  response_decode_ns: number;
}

/** The whole benchmark result (JSON file). */
export interface LoadgenBenchResult {
  schema: typeof LOADGEN_BENCH_SCHEMA;
  created_at: string;
  /** the command line that produced it */
  command: string;
  environment: {
    node: string; platform: string; os_release: string; cpus: number; cpu_model: string; total_mem_bytes: number;
    /** os.loadavg() (1, 5, 15 min) before and after the run */
    loadavg_start: number[]; loadavg_end: number[];
  };
  options: LoadgenBenchOptions;
  throughput: {
    raw_echo: ThroughputCell[];
    gatectl_closed: ThroughputCell[];
    /** Σ responses ÷ Σ windows over the rounds, responses/s */
    raw_echo_responses_per_s: number;
    gatectl_closed_responses_per_s: number;
    /** gatectl_closed_responses_per_s ÷ raw_echo_responses_per_s */
    ratio: number;
    /** the same ratio per round */
    round_ratios: number[];
    /**
     * Diagnostic, robust to a busy machine: mean generator CPU per response of raw echo ÷ that of
     * gatectl closed (1 = gatectl costs the generator no more per response than the raw client)
     */
    generator_cpu_per_response_ratio: number;
    goal: number;
    goal_met: boolean;
  };
  open: OpenModelCell;
  histogram: HistogramCost;
  codec: CodecCost;
  /** QUIC vs TCP raw echo, memory per connection, factor against the reference run (issue 13); null with --skip-transport */
  transport: TransportSection | null;
  warnings: string[];
}

/** One raw echo figure of the transport section: one transport at one shape. */
export interface TransportCell {
  transport: 'quic' | 'tcp';
  connections: number;
  in_flight: number;
  /**
   * 'measured': one raw echo phase in the transport section (its own fresh null gateway per transport, PRIME_ECHOES echoes per
   * connection before the window); 'main_raw_echo': the main section's raw echo rounds (same transport, shape and payload), pooled
   */
  source: 'measured' | 'main_raw_echo';
  /** the raw echo phases behind the figure (one when measured; round 0) */
  phases: ThroughputCell[];
  /** connections open in the phases (the fewest over them) */
  connected: number;
  /** Σ window_responses ÷ Σ window_s over the phases, responses/s (counted by the null gateway, as everywhere) */
  responses_per_s: number;
  /** mean over the phases, ns of generator / null gateway CPU per response */
  generator_cpu_ns_per_response: number;
  gateway_cpu_ns_per_response: number;
  /** write errors over the phases */
  errors: number;
}

/** QUIC ÷ TCP raw echo throughput at one shape. */
export interface QuicTcpRatio {
  connections: number;
  in_flight: number;
  quic_responses_per_s: number;
  tcp_responses_per_s: number;
  /** quic_responses_per_s ÷ tcp_responses_per_s (0 when tcp is 0) */
  ratio: number;
  /**
   * Diagnostic, robust to a busy machine: CPU per response of both processes (generator + null gateway, ns) of tcp ÷ that of
   * quic (1 = quic costs as little CPU per response as tcp; 0 when a figure is missing)
   */
  cpu_per_response_ratio: number;
  /** issue 13's goal at this shape (0.3 at 1000 × 1); null at other shapes */
  goal_min_ratio: number | null;
  goal_met: boolean | null;
}

/** Memory of one process at 0 and at N connections (process.memoryUsage, KB = 1024 bytes). */
export interface MemorySide {
  /** connections open when sampled at N (client: its open connections; server: the null gateway's own count) */
  connections: number;
  rss_at_0_kb: number;
  rss_at_n_kb: number;
  /** (rss_at_n_kb − rss_at_0_kb) ÷ connections, KB per connection */
  rss_per_connection_kb: number;
  /** V8 heap used at 0 and at N and its share per connection, KB (diagnostic: the JS part of the RSS growth) */
  heap_used_at_0_kb: number;
  heap_used_at_n_kb: number;
  heap_used_per_connection_kb: number;
  /** issue 13's bound (QUIC: client 100, server 150 KB per connection, at ≥ 1000 connections); null otherwise */
  goal_max_kb_per_connection: number | null;
  goal_met: boolean | null;
}

/** Memory per connection of one transport, client (generator process) and server (null gateway process). */
export interface TransportMemory {
  transport: 'quic' | 'tcp';
  /** the memory shape: the transport section's shape with the most connections */
  connections: number;
  in_flight: number;
  /** pause before each sample, ms */
  settle_ms: number;
  /** requests each connection echoed before the sample at N */
  prime_echoes: number;
  client: MemorySide;
  server: MemorySide;
}

/**
 * This run's raw echo figure against the committed reference run's (same transport and shape):
 * the reference's identity (`file` repository-relative, `created_at`, `command`, transport, shape)
 * as in LoadgenReference, without its payload size.
 */
export interface ReferenceComparison extends Omit<LoadgenReference, 'payload_bytes' | 'raw_echo_responses_per_s'> {
  /** the reference's raw echo throughput, responses/s */
  reference_responses_per_s: number;
  /** this run's raw echo throughput at the same transport and shape, responses/s */
  responses_per_s: number;
  /** responses_per_s ÷ reference_responses_per_s */
  factor: number;
  goal_min_factor: number;
  goal_met: boolean;
}

/** The transport section (issue 13). */
export interface TransportSection {
  shapes: { connections: number; in_flight: number }[];
  /** length of each measured phase (the main section's --duration), s */
  phase_s: number;
  /** one per transport (quic, tcp) × shape */
  cells: TransportCell[];
  /** one per shape */
  quic_tcp: QuicTcpRatio[];
  /** quic and tcp at the memory shape */
  memory: TransportMemory[];
  reference: ReferenceComparison | null;
  /** why `reference` is null (file missing or unreadable, no cell of its transport and shape, other payload); null when present */
  reference_unavailable: string | null;
}

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

const round1 = (n: number) => Math.round(n * 10) / 10;

function cellFrom(phase: ThroughputCell['phase'], round: number, w: PhaseMeter, c: { connected: number; requests: number; responses: number; errors: number; phaseS: number }): ThroughputCell {
  const wallUs = w.wallMs * 1000;
  return {
    phase, round, connected: c.connected, requests: c.requests, responses: c.responses, window_s: Math.round(w.windowS * 1000) / 1000,
    window_responses: w.windowResponses,
    responses_per_s: w.windowS > 0 ? round1(w.windowResponses / w.windowS) : 0,
    client_responses_per_s: round1(c.responses / c.phaseS),
    acks_per_response: w.gatewayResponses > 0 ? Math.round((w.gatewayAcks / w.gatewayResponses) * 1000) / 1000 : 0,
    generator_cpu_percent: round1((w.generatorCpuUs / wallUs) * 100),
    gateway_cpu_percent: round1((w.gatewayCpuUs / wallUs) * 100),
    generator_cpu_ns_per_response: w.gatewayResponses > 0 ? Math.round((w.generatorCpuUs * 1000) / w.gatewayResponses) : 0,
    gateway_cpu_ns_per_response: w.gatewayResponses > 0 ? Math.round((w.gatewayCpuUs * 1000) / w.gatewayResponses) : 0,
    errors: c.errors, e2e_p50_us: null, e2e_p99_us: null, event_loop_delay_p99_ms: null, generator_bound: null, violations: null,
  };
}

function gatectlCell(phase: 'gatectl_closed' | 'gatectl_open', round: number, w: PhaseMeter, r: RunResult): ThroughputCell {
  const c = r.client;
  const errors = Object.values(c.errors_by_code).reduce((a, b) => a + b, 0) + Object.values(c.transport_errors).reduce((a, b) => a + b, 0);
  const v = c.violations;
  return {
    ...cellFrom(phase, round, w, { connected: c.connected, requests: c.requests_sent, responses: c.responses, errors, phaseS: r.steady_s }),
    e2e_p50_us: c.latency.e2e.summary.p50_us, e2e_p99_us: c.latency.e2e.summary.p99_us,
    event_loop_delay_p99_ms: r.generator.event_loop_delay_p99_ms, generator_bound: r.generator.generator_bound,
    violations: v.gaps + v.reorders + v.duplicates + v.notify_order_violations,
  };
}

/** The null gateway as runLoad's target; runLoad starts the steady phase 50 ms after markSteadyStart. */
function targetHandle(gw: NullGateway, w: PhaseMeter, durationMs: number): TargetHandle {
  return {
    url: gw.url, kind: 'remote', ca: gw.certPem, insecure: false,
    markSteadyStart: () => w.start(50, durationMs),
    serverResult: async () => { await w.stop(); return null; },
  };
}

function loadFlags(o: LoadgenBenchOptions) {
  return {
    clients: o.connections, duration: `${Math.round(o.durationS * 1000)}ms`, 'payload-bytes': o.payloadBytes,
    'connect-timeout': '30s', 'drain-timeout': '10s', workers: 1,
  };
}

/** What one raw echo phase needs: the main section's options, or a transport-section cell's. */
type RawPhaseSpec = Pick<LoadgenBenchOptions, 'transport' | 'connections' | 'inFlight' | 'durationS' | 'payloadBytes'> & {
  primeEchoes?: number;
  primed?: (connected: number) => Promise<void>;
};

/** Runs the raw echo phase once. */
async function rawPhase(o: RawPhaseSpec, gw: NullGateway, round: number): Promise<ThroughputCell> {
  const w = new PhaseMeter(gw);
  const r = await runRawEcho({
    transport: o.transport, host: '127.0.0.1', port: gw.port, ca: gw.certPem, connections: o.connections, inFlight: o.inFlight,
    durationMs: Math.round(o.durationS * 1000), payloadBytes: o.payloadBytes, connectTimeoutMs: 30_000, drainTimeoutMs: 10_000, primeEchoes: o.primeEchoes,
  }, { primed: o.primed, start: () => w.start(0, Math.round(o.durationS * 1000)), stop: () => w.stop() });
  return { ...cellFrom('raw_echo', round, w, { connected: r.connected, requests: r.requests, responses: r.responses, errors: r.writeErrors, phaseS: r.windowMs / 1000 }), event_loop_delay_p99_ms: r.eldP99Ms };
}

/** Runs gatectl's closed model once (N clients, concurrency K), options as the CLI builds them. */
async function closedPhase(o: LoadgenBenchOptions, gw: NullGateway, round: number): Promise<ThroughputCell> {
  const w = new PhaseMeter(gw);
  const opts = resolveLoadOptions({ ...loadFlags(o), model: 'closed', concurrency: o.inFlight }, 'loadgen-bench-closed');
  return gatectlCell('gatectl_closed', round, w, await runLoad(opts, targetHandle(gw, w, opts.schedule.durationMs)));
}

/** Runs gatectl's open model once at `rate` requests/s (CLI default max-in-flight). */
async function openPhase(o: LoadgenBenchOptions, gw: NullGateway, rate: number): Promise<OpenModelCell> {
  const w = new PhaseMeter(gw);
  const opts = resolveLoadOptions({ ...loadFlags(o), model: 'open', rate: String(rate) }, 'loadgen-bench-open');
  const r = await runLoad(opts, targetHandle(gw, w, opts.schedule.durationMs));
  const cell = gatectlCell('gatectl_open', 0, w, r);
  const requestsPerS = round1(r.client.requests_sent / r.steady_s);
  const lag = r.client.latency.schedule_lag.summary.p99_us;
  const dropped = r.client.dropped_iterations ?? 0;
  return {
    ...cell, target_rate_per_s: rate, requests_per_s: requestsPerS, max_in_flight: opts.maxInFlight,
    dropped_iterations: dropped, schedule_lag_p99_us: lag,
    e2e_uncorrected_p99_us: r.client.latency.e2e_uncorrected?.summary.p99_us ?? 0,
    kept_up: dropped === 0 && requestsPerS >= 0.98 * rate && lag <= KEPT_UP_LAG_P99_US,
  };
}

/**
 * Histogram record cost: `values` values log-uniform over 1 µs .. 1 s (a low-discrepancy sequence,
 * no random generator) recorded with recordUs into one factory histogram, timed with
 * process.hrtime.bigint; the same loop summing instead gives the loop overhead. Then encode and
 * decode of that histogram (µs each, best of 5 averages).
 */
export function measureHistogramCost(values: number): HistogramCost {
  const size = Math.min(values, 1 << 20);
  const mask = (1 << Math.ceil(Math.log2(size))) - 1;
  const vals = new Float64Array(mask + 1);
  for (let k = 0; k < vals.length; k++) vals[k] = 10 ** (6 * ((k * 0.6180339887498949) % 1));
  const h = createHistogram();
  // warm-up (JIT) on a throwaway histogram
  const warm = createHistogram();
  for (let i = 0; i < 200_000; i++) recordUs(warm, vals[i & mask]!);
  let t = process.hrtime.bigint();
  for (let i = 0; i < values; i++) recordUs(h, vals[i & mask]!);
  const recordNs = Number(process.hrtime.bigint() - t);
  let sum = 0;
  t = process.hrtime.bigint();
  for (let i = 0; i < values; i++) sum += vals[i & mask]!;
  const loopNs = Number(process.hrtime.bigint() - t);
  if (sum < 0 || h.totalCount !== values) throw new GatectlError(`histogram cost: recorded ${h.totalCount} of ${values} values`);
  const reps = 5;
  let encoded = '';
  t = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) encoded = encodeHistogram(h);
  const encodeNs = Number(process.hrtime.bigint() - t) / reps;
  t = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) decodeHistogram(encoded);
  const decodeNs = Number(process.hrtime.bigint() - t) / reps;
  const perRecord = recordNs / values;
  const overhead = loopNs / values;
  const r2 = (n: number) => Math.round(n * 100) / 100;
  return {
    values, ns_per_record: r2(perRecord), loop_overhead_ns: r2(overhead), net_ns_per_record: r2(Math.max(0, perRecord - overhead)),
    encode_us: round1(encodeNs / 1000), encoded_bytes: encoded.length, decode_us: round1(decodeNs / 1000),
  };
}

/**
 * The load client's per-message codec cost: `iterations` BusinessRequest encodes
 * (ClientMessageType.encodeDelimited, `payloadBytes` payload) and as many BusinessResponse frames
 * decoded through FrameDecoder.push, timed with process.hrtime.bigint, ns per message.
 */
export function measureCodecCost(iterations: number, payloadBytes: number): CodecCost {
  const payload = new Uint8Array(payloadBytes);
  let bytes = 0;
  for (let i = 1; i <= 50_000; i++) bytes += ClientMessageType.encodeDelimited({ msgId: i, seqId: i, business: { action: 'business', payload } }).length;
  let t = process.hrtime.bigint();
  for (let i = 1; i <= iterations; i++) bytes += ClientMessageType.encodeDelimited({ msgId: 100_000 + i, seqId: 100_000 + i, business: { action: 'business', payload } }).length;
  const encodeNs = Number(process.hrtime.bigint() - t);
  const response = ServerPushType.encodeDelimited({ serverSeq: 123_456, business: { msgId: 123_456, code: 200 } });
  let n = 0;
  const decoder = new FrameDecoder(ServerPushType, (p) => { if (p.body === 'business') n++; });
  for (let i = 0; i < 50_000; i++) decoder.push(response);
  t = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) decoder.push(response);
  const decodeNs = Number(process.hrtime.bigint() - t);
  if (n !== 50_000 + iterations || bytes <= 0) throw new GatectlError(`codec cost: decoded ${n} of ${50_000 + iterations} frames`);
  const request = ClientMessageType.encodeDelimited({ msgId: 1_000_000, seqId: 1_000_000, business: { action: 'business', payload } });
  return {
    iterations, request_bytes: request.length, response_bytes: response.length,
    request_encode_ns: Math.round(encodeNs / iterations), response_decode_ns: Math.round(decodeNs / iterations),
  };
}

const sumBy = <T>(xs: T[], f: (x: T) => number) => xs.reduce((a, x) => a + f(x), 0);

// ---------------------------------------------------------------------------------------------
// The transport section (issue 13): QUIC vs TCP raw echo, memory per connection, reference factor

/** Transports of the transport section, in the order they run. */
export const TRANSPORT_SECTION_TRANSPORTS: readonly ('quic' | 'tcp')[] = ['quic', 'tcp'];

/** Memory of one process at one moment: process.memoryUsage rss and heapUsed, bytes, and the connections open then. */
export interface MemorySample {
  rssBytes: number;
  heapUsedBytes: number;
  connections: number;
}

/** What the transport section measured, before the summary: one raw echo phase per measured cell, memory samples per transport. */
export interface TransportMeasurements {
  phases: { transport: 'quic' | 'tcp'; shape: TransportShape; cell: ThroughputCell }[];
  memory: { transport: 'quic' | 'tcp'; shape: TransportShape; client0: MemorySample; clientN: MemorySample; server0: MemorySample; serverN: MemorySample }[];
}

/** The committed reference run, as far as the comparison needs it (raw echo responses/s, transport and shape). */
export interface LoadgenReference {
  file: string;
  created_at: string;
  command: string;
  transport: string;
  connections: number;
  in_flight: number;
  payload_bytes: number;
  raw_echo_responses_per_s: number;
}

/** The shape with the most connections (the first of them): memory is measured there. */
export function memoryShape(shapes: readonly TransportShape[]): TransportShape {
  return shapes.reduce((a, b) => (b.connections > a.connections ? b : a));
}

const sameShape = (a: TransportShape, b: TransportShape) => a.connections === b.connections && a.inFlight === b.inFlight;

/** Whether the cell (transport, shape) is the main section's raw echo (same transport and shape; never the memory shape). */
function reusesMainRaw(o: LoadgenBenchOptions, transport: 'quic' | 'tcp', shape: TransportShape): boolean {
  return transport === o.transport && sameShape(shape, o) && !sameShape(shape, memoryShape(o.transportShapes));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const selfMemory = (connections: number): MemorySample => {
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, connections };
};
const gatewayMemory = (s: TargetSample): MemorySample => ({ rssBytes: s.rssBytes, heapUsedBytes: s.heapUsedBytes, connections: s.open });

/**
 * Measures the transport section: for quic, then tcp, a fresh null gateway child; the memory shape
 * first (RSS of both processes after MEMORY_SETTLE_MS with 0 connections; dial; PRIME_ECHOES echoes
 * per connection; MEMORY_SETTLE_MS; RSS again; then its raw echo window), then the other shapes,
 * except the one the main section measures anyway (`reusesMainRaw`). No forced GC.
 * @throws TransportError when a target or a client fails
 */
export async function measureTransportSection(o: LoadgenBenchOptions, say: (line: string) => void = noop): Promise<TransportMeasurements> {
  const mem = memoryShape(o.transportShapes);
  const ordered = [mem, ...o.transportShapes.filter((s) => s !== mem)];
  const out: TransportMeasurements = { phases: [], memory: [] };
  for (const transport of TRANSPORT_SECTION_TRANSPORTS) {
    const todo = ordered.filter((s) => !reusesMainRaw(o, transport, s));
    const gw = await startNullGateway(transport);
    try {
      for (const shape of todo) {
        const spec: RawPhaseSpec = { transport, connections: shape.connections, inFlight: shape.inFlight, durationS: o.durationS, payloadBytes: o.payloadBytes, primeEchoes: PRIME_ECHOES };
        const n = `${shape.connections} × ${shape.inFlight}`;
        if (shape === mem) {
          await sleep(MEMORY_SETTLE_MS);
          const client0 = selfMemory(0);
          const server0 = gatewayMemory(await gw.sample());
          const atN: { client: MemorySample | null; server: MemorySample | null } = { client: null, server: null };
          const cell = await rawPhase({
            ...spec,
            primed: async (connected) => {
              await sleep(MEMORY_SETTLE_MS);
              atN.client = selfMemory(connected);
              atN.server = gatewayMemory(await gw.sample());
            },
          }, gw, 0);
          const { client: clientN, server: serverN } = atN;
          if (clientN === null || serverN === null) throw new GatectlError(`transport section: ${transport} ${n}: no memory sample at ${shape.connections} connections`);
          out.memory.push({ transport, shape, client0, clientN, server0, serverN });
          out.phases.push({ transport, shape, cell });
          const kb = (a: MemorySample, b: MemorySample) => ((b.rssBytes - a.rssBytes) / 1024 / Math.max(1, b.connections)).toFixed(1);
          say(`transport ${transport} ${n}: ${cell.responses_per_s.toFixed(0)} responses/s; RSS per connection client ${kb(client0, clientN)} KB, server ${kb(server0, serverN)} KB`);
        } else {
          const cell = await rawPhase(spec, gw, 0);
          out.phases.push({ transport, shape, cell });
          say(`transport ${transport} ${n}: ${cell.responses_per_s.toFixed(0)} responses/s`);
        }
      }
    } finally {
      await gw.stop();
    }
  }
  return out;
}

/**
 * Reads the committed reference result (default: REFERENCE_RESULT_FILE in this checkout). Returns
 * the figures the comparison needs, or a string saying why there is none (missing file, other format).
 */
export function readLoadgenReference(file = fileURLToPath(new URL(`../../../${REFERENCE_RESULT_FILE}`, import.meta.url))): LoadgenReference | string {
  let j: {
    schema?: unknown; created_at?: unknown; command?: unknown;
    options?: { transport?: unknown; connections?: unknown; inFlight?: unknown; payloadBytes?: unknown };
    throughput?: { raw_echo_responses_per_s?: unknown };
  };
  try {
    j = JSON.parse(readFileSync(file, 'utf8')) as typeof j;
  } catch (err) {
    return `${REFERENCE_RESULT_FILE} not readable: ${(err as Error).message}`;
  }
  const o = j.options;
  const rate = j.throughput?.raw_echo_responses_per_s;
  if (typeof j.schema !== 'string' || !j.schema.startsWith('gatectl.loadgen-bench/') || o === undefined || typeof o.transport !== 'string' ||
    typeof o.connections !== 'number' || typeof o.inFlight !== 'number' || typeof o.payloadBytes !== 'number' || typeof rate !== 'number') {
    return `${REFERENCE_RESULT_FILE} is not a loadgen bench result with options and throughput.raw_echo_responses_per_s`;
  }
  return {
    file: REFERENCE_RESULT_FILE, created_at: String(j.created_at), command: String(j.command), transport: o.transport,
    connections: o.connections, in_flight: o.inFlight, payload_bytes: o.payloadBytes, raw_echo_responses_per_s: rate,
  };
}

const kib = (bytes: number) => round1(bytes / 1024);

function memorySide(at0: MemorySample, atN: MemorySample, goalMaxKb: number | null): MemorySide {
  const per = (a: number, b: number) => round1((b - a) / 1024 / Math.max(1, atN.connections));
  const rssPer = per(at0.rssBytes, atN.rssBytes);
  return {
    connections: atN.connections, rss_at_0_kb: kib(at0.rssBytes), rss_at_n_kb: kib(atN.rssBytes), rss_per_connection_kb: rssPer,
    heap_used_at_0_kb: kib(at0.heapUsedBytes), heap_used_at_n_kb: kib(atN.heapUsedBytes), heap_used_per_connection_kb: per(at0.heapUsedBytes, atN.heapUsedBytes),
    goal_max_kb_per_connection: goalMaxKb, goal_met: goalMaxKb === null ? null : rssPer <= goalMaxKb,
  };
}

/** Pools raw echo phases into one figure (Σ window responses ÷ Σ windows; CPU per response averaged). */
function transportCell(transport: 'quic' | 'tcp', shape: TransportShape, source: TransportCell['source'], phases: ThroughputCell[]): TransportCell {
  const windowS = sumBy(phases, (c) => c.window_s);
  const avg = (f: (c: ThroughputCell) => number) => (phases.length === 0 ? 0 : Math.round(sumBy(phases, f) / phases.length));
  return {
    transport, connections: shape.connections, in_flight: shape.inFlight, source, phases,
    connected: phases.length === 0 ? 0 : Math.min(...phases.map((c) => c.connected)),
    responses_per_s: windowS > 0 ? round1(sumBy(phases, (c) => c.window_responses) / windowS) : 0,
    generator_cpu_ns_per_response: avg((c) => c.generator_cpu_ns_per_response), gateway_cpu_ns_per_response: avg((c) => c.gateway_cpu_ns_per_response),
    errors: sumBy(phases, (c) => c.errors),
  };
}

/**
 * The transport section from its measurements (pure): a cell per transport × shape (the main section's
 * raw echo rounds where `reusesMainRaw`), QUIC ÷ TCP per shape, memory per connection (goals per
 * TRANSPORT_GOALS), and this run's raw echo against the reference run at its transport and shape
 * (`reference` a string: why there is none).
 */
export function summarizeTransportSection(o: LoadgenBenchOptions, m: TransportMeasurements, mainRaw: ThroughputCell[], reference: LoadgenReference | string): TransportSection {
  const g = TRANSPORT_GOALS;
  const cells: TransportCell[] = [];
  for (const transport of TRANSPORT_SECTION_TRANSPORTS) {
    for (const shape of o.transportShapes) {
      if (reusesMainRaw(o, transport, shape)) cells.push(transportCell(transport, shape, 'main_raw_echo', mainRaw));
      else cells.push(transportCell(transport, shape, 'measured', m.phases.filter((p) => p.transport === transport && sameShape(p.shape, shape)).map((p) => p.cell)));
    }
  }
  const cellOf = (transport: string, shape: TransportShape) => cells.find((c) => c.transport === transport && c.connections === shape.connections && c.in_flight === shape.inFlight);
  const quicTcp = o.transportShapes.map((shape): QuicTcpRatio => {
    const q = cellOf('quic', shape)?.responses_per_s ?? 0;
    const t = cellOf('tcp', shape)?.responses_per_s ?? 0;
    const ratio = t > 0 ? Math.round((q / t) * 1000) / 1000 : 0;
    const cpu = (c: TransportCell | undefined) => (c === undefined ? 0 : c.generator_cpu_ns_per_response + c.gateway_cpu_ns_per_response);
    const qCpu = cpu(cellOf('quic', shape));
    const tCpu = cpu(cellOf('tcp', shape));
    const goal = sameShape(shape, g.quicTcpShape) ? g.quicTcpMinRatio : null;
    return {
      connections: shape.connections, in_flight: shape.inFlight, quic_responses_per_s: q, tcp_responses_per_s: t, ratio,
      cpu_per_response_ratio: qCpu > 0 && tCpu > 0 ? Math.round((tCpu / qCpu) * 1000) / 1000 : 0, goal_min_ratio: goal, goal_met: goal === null ? null : ratio >= goal,
    };
  });
  const memory = m.memory.map((x): TransportMemory => {
    const judged = x.transport === 'quic' && x.shape.connections >= g.memoryMinConnections;
    return {
      transport: x.transport, connections: x.shape.connections, in_flight: x.shape.inFlight, settle_ms: MEMORY_SETTLE_MS, prime_echoes: PRIME_ECHOES,
      client: memorySide(x.client0, x.clientN, judged ? g.clientMaxKbPerConnection : null),
      server: memorySide(x.server0, x.serverN, judged ? g.serverMaxKbPerConnection : null),
    };
  });
  let comparison: ReferenceComparison | null = null;
  let unavailable: string | null = null;
  if (typeof reference === 'string') {
    unavailable = reference;
  } else {
    const shape = { connections: reference.connections, inFlight: reference.in_flight };
    const cell = cellOf(reference.transport, shape);
    if (cell === undefined) unavailable = `this run has no ${reference.transport} ${shape.connections} × ${shape.inFlight} raw echo (the reference's transport and shape)`;
    else if (reference.payload_bytes !== o.payloadBytes) unavailable = `the reference used ${reference.payload_bytes}-byte payloads, this run ${o.payloadBytes}`;
    else if (!(reference.raw_echo_responses_per_s > 0)) unavailable = `the reference's raw echo figure is ${reference.raw_echo_responses_per_s}`;
    else {
      const factor = Math.round((cell.responses_per_s / reference.raw_echo_responses_per_s) * 100) / 100;
      comparison = {
        file: reference.file, created_at: reference.created_at, command: reference.command, transport: reference.transport,
        connections: reference.connections, in_flight: reference.in_flight, reference_responses_per_s: reference.raw_echo_responses_per_s,
        responses_per_s: cell.responses_per_s, factor, goal_min_factor: g.referenceMinFactor, goal_met: factor >= g.referenceMinFactor,
      };
    }
  }
  return {
    shapes: o.transportShapes.map((s) => ({ connections: s.connections, in_flight: s.inFlight })), phase_s: o.durationS,
    cells, quic_tcp: quicTcp, memory, reference: comparison, reference_unavailable: unavailable,
  };
}

/** Warnings about the transport section: missing connections, errors, a server that counted other connections than the client. */
function transportWarnings(t: TransportSection): string[] {
  const w: string[] = [];
  for (const c of t.cells) {
    if (c.connected < c.connections) w.push(`transport ${c.transport} ${c.connections} × ${c.in_flight}: only ${c.connected} of ${c.connections} connections opened`);
    if (c.errors > 0) w.push(`transport ${c.transport} ${c.connections} × ${c.in_flight}: ${c.errors} write errors`);
    if (c.phases.some((p) => p.responses !== p.requests)) w.push(`transport ${c.transport} ${c.connections} × ${c.in_flight}: responses ≠ requests (${c.phases.map((p) => `${p.responses}/${p.requests}`).join(', ')})`);
  }
  for (const m of t.memory) {
    if (m.server.connections !== m.client.connections) {
      w.push(`transport ${m.transport} memory: the client had ${m.client.connections} connections open, the null gateway ${m.server.connections}`);
    }
  }
  if (t.reference_unavailable !== null) w.push(`transport: no comparison with the reference run: ${t.reference_unavailable}`);
  return w;
}

/**
 * Runs the whole benchmark: first the transport section (unless skipTransport:
 * `measureTransportSection`, its own null gateways), then the main section: null gateway child,
 * `rounds` × (raw echo, gatectl closed) in alternating order, gatectl open at openFraction × the raw
 * echo rate, then the histogram and codec costs, and the transport section's summary against the
 * reference run. `command` is recorded as given; `onProgress` gets one line per phase.
 * @throws InvalidInputError for bad options; TransportError when the target or a client fails
 */
export async function runLoadgenBench(o: LoadgenBenchOptions, command: string, onProgress?: (line: string) => void): Promise<LoadgenBenchResult> {
  validateLoadgenBenchOptions(o);
  const loadStart = os.loadavg();
  const createdAt = new Date().toISOString();
  const raw: ThroughputCell[] = [];
  const closed: ThroughputCell[] = [];
  let open: OpenModelCell | null = null;
  const say = (l: string) => onProgress?.(`loadgen bench: ${l}`);
  let transportRuns: TransportMeasurements | null = null;
  if (!o.skipTransport) {
    // first, while the generator has held no connections yet: its RSS at 0 connections is least inflated by earlier phases
    say(`transport section: raw echo of ${TRANSPORT_SECTION_TRANSPORTS.join(' and ')} at ${o.transportShapes.map((s) => `${s.connections} × ${s.inFlight}`).join(', ')}, ${o.durationS} s each; memory at ${memoryShape(o.transportShapes).connections} connections`);
    transportRuns = await measureTransportSection(o, say);
  }
  const gw = await startNullGateway(o.transport);
  try {
    say(`null gateway on ${gw.url}; ${o.rounds} round(s) of raw echo and gatectl closed, ${o.connections} connections × ${o.inFlight} in flight, ${o.durationS} s each`);
    if (o.warmupS > 0) {
      // JIT and connection-table warm-up of both processes; nothing recorded
      say(`warm-up: raw echo and gatectl closed, ${o.warmupS} s each (not recorded)`);
      const w = { ...o, durationS: o.warmupS };
      await rawPhase(w, gw, 0);
      await closedPhase(w, gw, 0);
    }
    for (let round = 1; round <= o.rounds; round++) {
      const order = round % 2 === 1 ? ['raw', 'gatectl'] : ['gatectl', 'raw'];
      for (const which of order) {
        if (which === 'raw') {
          const c = await rawPhase(o, gw, round);
          raw.push(c);
          say(`round ${round} raw echo: ${c.responses_per_s.toFixed(0)} responses/s (generator ${c.generator_cpu_percent}% / gateway ${c.gateway_cpu_percent}% of a core)`);
        } else {
          const c = await closedPhase(o, gw, round);
          closed.push(c);
          say(`round ${round} gatectl closed: ${c.responses_per_s.toFixed(0)} responses/s (generator ${c.generator_cpu_percent}% / gateway ${c.gateway_cpu_percent}% of a core)`);
        }
      }
    }
    const rawRate = sumBy(raw, (c) => c.window_responses) / sumBy(raw, (c) => c.window_s);
    const rate = Math.max(1, Math.round(rawRate * o.openFraction));
    say(`gatectl open model at ${rate} requests/s (${o.openFraction} × raw echo)`);
    open = await openPhase(o, gw, rate);
    say(`gatectl open: ${open.requests_per_s.toFixed(0)} requests/s, dropped ${open.dropped_iterations}, schedule lag p99 ${open.schedule_lag_p99_us} µs`);
  } finally {
    await gw.stop();
  }
  if (open === null) throw new GatectlError('loadgen bench: the open-model phase did not run');
  say(`histogram record cost (${o.histogramValues} values) and codec cost (${o.codecIterations} messages)`);
  const histogram = measureHistogramCost(o.histogramValues);
  const codec = measureCodecCost(o.codecIterations, o.payloadBytes);
  const rawRate = sumBy(raw, (c) => c.window_responses) / sumBy(raw, (c) => c.window_s);
  const closedRate = sumBy(closed, (c) => c.window_responses) / sumBy(closed, (c) => c.window_s);
  const ratio = rawRate > 0 ? closedRate / rawRate : 0;
  const roundRatios = raw.map((r, i) => (r.responses_per_s > 0 ? Math.round((closed[i]!.responses_per_s / r.responses_per_s) * 1000) / 1000 : 0));
  const meanNs = (cs: ThroughputCell[]) => sumBy(cs, (c) => c.generator_cpu_ns_per_response) / cs.length;
  const cpuRatio = meanNs(closed) > 0 ? Math.round((meanNs(raw) / meanNs(closed)) * 1000) / 1000 : 0;
  const loadEnd = os.loadavg();
  const cpus = os.availableParallelism();
  const warnings: string[] = [];
  if (loadStart[0]! > cpus * 0.5) {
    warnings.push(`busy machine: load average ${loadStart[0]!.toFixed(2)} at the start (${cpus} CPUs) before this run added its own; absolute rates are lower than on an idle machine, the ratio compares phases of the same run`);
  }
  for (const c of [...closed, open]) {
    if (c.generator_bound === true) warnings.push(`${c.phase} round ${c.round}: generator_bound (event-loop delay p99 ${c.event_loop_delay_p99_ms} ms)`);
    if ((c.violations ?? 0) > 0) warnings.push(`${c.phase} round ${c.round}: ${c.violations} order violations seen by the clients`);
    if (c.errors > 0) warnings.push(`${c.phase} round ${c.round}: ${c.errors} errors`);
  }
  for (const c of raw) if (c.errors > 0) warnings.push(`raw echo round ${c.round}: ${c.errors} write errors`);
  if (!open.kept_up) warnings.push(`gatectl open model did not keep up at ${open.target_rate_per_s} requests/s: ${open.requests_per_s} requests/s sent, dropped_iterations ${open.dropped_iterations}, schedule lag p99 ${open.schedule_lag_p99_us} µs`);
  const transport = transportRuns === null ? null : summarizeTransportSection(o, transportRuns, raw, readLoadgenReference());
  if (transport !== null) warnings.push(...transportWarnings(transport));
  return {
    schema: LOADGEN_BENCH_SCHEMA,
    created_at: createdAt,
    command,
    environment: {
      node: process.version, platform: `${process.platform}-${process.arch}`, os_release: os.release(), cpus,
      cpu_model: os.cpus()[0]?.model ?? 'unknown', total_mem_bytes: os.totalmem(),
      loadavg_start: loadStart.map((x) => Math.round(x * 100) / 100), loadavg_end: loadEnd.map((x) => Math.round(x * 100) / 100),
    },
    options: { ...o },
    throughput: {
      raw_echo: raw, gatectl_closed: closed,
      raw_echo_responses_per_s: round1(rawRate), gatectl_closed_responses_per_s: round1(closedRate),
      ratio: Math.round(ratio * 1000) / 1000, round_ratios: roundRatios,
      generator_cpu_per_response_ratio: cpuRatio, goal: THROUGHPUT_GOAL, goal_met: ratio >= THROUGHPUT_GOAL,
    },
    open,
    histogram,
    codec,
    transport,
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------
// Renderers (pure) and files

/** Header row plus body rows. */
export interface LoadgenTable {
  head: string[];
  rows: string[][];
}

const fmtRate = (n: number) => `${Math.round(n).toLocaleString('en-US')}/s`;
const fmtUs = (us: number | null) => {
  if (us === null) return '';
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`;
  return `${(us / 1_000_000).toFixed(2)} s`;
};

const mean = <T>(xs: T[], f: (x: T) => number) => (xs.length === 0 ? 0 : xs.reduce((a, x) => a + f(x), 0) / xs.length);
const fmtNsAsUs = (ns: number) => `${(ns / 1000).toFixed(1)} µs`;

/** The headline table: each figure with its unit, measured in this run. */
export function loadgenSummaryTable(r: LoadgenBenchResult): LoadgenTable {
  const t = r.throughput;
  const o = r.open;
  const n = `${r.options.connections} conns × ${r.options.inFlight} in flight`;
  return {
    head: ['figure', 'value', 'note'],
    rows: [
      [`raw echo throughput (${r.options.transport}, ${n})`, fmtRate(t.raw_echo_responses_per_s), `responses/s at the target, ${t.raw_echo.length} × ${r.options.durationS} s`],
      [`gatectl load throughput (closed, ${n})`, fmtRate(t.gatectl_closed_responses_per_s), `responses/s at the target, ${t.gatectl_closed.length} × ${r.options.durationS} s`],
      ['ratio gatectl ÷ raw echo', t.ratio.toFixed(3), `goal ≥ ${t.goal}: ${t.goal_met ? 'met' : 'NOT met'}; per round ${t.round_ratios.map((x) => x.toFixed(3)).join(', ')}`],
      ['generator CPU per response, raw ÷ gatectl (diagnostic)', t.generator_cpu_per_response_ratio.toFixed(3),
        `raw ${fmtNsAsUs(mean(t.raw_echo, (c) => c.generator_cpu_ns_per_response))}, gatectl ${fmtNsAsUs(mean(t.gatectl_closed, (c) => c.generator_cpu_ns_per_response))} per response; gatectl acks/resp ${mean(t.gatectl_closed, (c) => c.acks_per_response).toFixed(2)}`],
      [`gatectl open model at ${r.options.openFraction} × raw`, `${fmtRate(o.requests_per_s)} of ${fmtRate(o.target_rate_per_s)}`,
        `requests/s sent; ${o.kept_up ? 'kept up' : 'did NOT keep up'}: dropped_iterations ${o.dropped_iterations}, schedule lag p99 ${fmtUs(o.schedule_lag_p99_us)}`],
      ['open model e2e p99 corrected / uncorrected', `${fmtUs(o.e2e_p99_us)} / ${fmtUs(o.e2e_uncorrected_p99_us)}`, 'µs histogram, coordinated-omission corrected / from the actual send'],
      ['histogram record cost (recordUs)', `${r.histogram.ns_per_record.toFixed(1)} ns`, `per value, ${r.histogram.values.toLocaleString('en-US')} values 1 µs..1 s; loop alone ${r.histogram.loop_overhead_ns.toFixed(1)} ns, net ${r.histogram.net_ns_per_record.toFixed(1)} ns`],
      ['histogram encode / decode', `${r.histogram.encode_us.toFixed(0)} µs / ${r.histogram.decode_us.toFixed(0)} µs`, `one histogram of ${r.histogram.values.toLocaleString('en-US')} values, ${r.histogram.encoded_bytes} bytes base64`],
      ['codec: BusinessRequest encode', `${r.codec.request_encode_ns} ns`, `per message, ${r.codec.request_bytes}-byte frame`],
      ['codec: BusinessResponse frame decode', `${r.codec.response_decode_ns} ns`, `per message (FrameDecoder.push), ${r.codec.response_bytes}-byte frame`],
    ],
  };
}

/** Every throughput phase in detail. */
export function loadgenCellTable(r: LoadgenBenchResult): LoadgenTable {
  const cells: ThroughputCell[] = [];
  const rounds = r.throughput.raw_echo.length;
  for (let i = 0; i < rounds; i++) {
    const pair = [r.throughput.raw_echo[i]!, r.throughput.gatectl_closed[i]!];
    cells.push(...(i % 2 === 0 ? pair : pair.reverse()));
  }
  cells.push(r.open);
  return {
    head: ['phase', 'round', 'connected', 'requests', 'responses', 'window s', 'responses/s', 'client resp/s', 'acks/resp', 'generator CPU', 'gateway CPU',
      'generator CPU/resp', 'gateway CPU/resp', 'e2e p50 / p99', 'ELD p99', 'errors'],
    rows: cells.map((c) => [
      c.phase, c.round === 0 ? '' : String(c.round), String(c.connected), String(c.requests), String(c.responses), c.window_s.toFixed(2),
      fmtRate(c.responses_per_s), fmtRate(c.client_responses_per_s), c.acks_per_response.toFixed(2), `${c.generator_cpu_percent.toFixed(0)}%`, `${c.gateway_cpu_percent.toFixed(0)}%`,
      `${(c.generator_cpu_ns_per_response / 1000).toFixed(1)} µs`, `${(c.gateway_cpu_ns_per_response / 1000).toFixed(1)} µs`,
      c.e2e_p50_us === null ? '' : `${fmtUs(c.e2e_p50_us)} / ${fmtUs(c.e2e_p99_us)}`,
      c.event_loop_delay_p99_ms === null ? '' : `${c.event_loop_delay_p99_ms} ms`, String(c.errors),
    ]),
  };
}

const shapeText = (c: { connections: number; in_flight: number }) => `${c.connections} × ${c.in_flight}`;
const goalText = (goal: string | null, met: boolean | null) => (goal === null ? 'no goal' : `${goal}: ${met === true ? 'met' : 'NOT met'}`);
const fmtKb = (kb: number) => `${kb.toFixed(1)} KB`;
const fmtMb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;

/** The transport section's raw echo cells, one row per transport × shape; null without the section. */
export function loadgenTransportCellTable(r: LoadgenBenchResult): LoadgenTable | null {
  const t = r.transport;
  if (t === null) return null;
  return {
    head: ['transport', 'shape (conns × in flight)', 'connected', 'responses/s', 'generator / gateway CPU', 'generator CPU/resp', 'gateway CPU/resp', 'ELD p99', 'errors', 'source'],
    rows: t.cells.map((c) => {
      const eld = c.phases.map((p) => p.event_loop_delay_p99_ms ?? 0);
      return [
        c.transport, shapeText(c), String(c.connected), fmtRate(c.responses_per_s),
        c.phases.map((p) => `${p.generator_cpu_percent.toFixed(0)}% / ${p.gateway_cpu_percent.toFixed(0)}%`).join(', '),
        fmtNsAsUs(c.generator_cpu_ns_per_response), fmtNsAsUs(c.gateway_cpu_ns_per_response),
        eld.length === 0 ? '' : `${Math.max(...eld)} ms`, String(c.errors),
        c.source === 'measured' ? `this section, 1 × ${t.phase_s} s` : `main section raw echo, ${c.phases.length} × ${t.phase_s} s`,
      ];
    }),
  };
}

/** The transport section's figures with their goals: QUIC ÷ TCP per shape, gatectl ÷ raw, memory per connection, factor against the reference; null without the section. */
export function loadgenTransportSummaryTable(r: LoadgenBenchResult): LoadgenTable | null {
  const t = r.transport;
  if (t === null) return null;
  const th = r.throughput;
  const rows: string[][] = t.quic_tcp.map((q) => [
    `QUIC ÷ TCP raw echo, ${shapeText(q)}`, q.ratio.toFixed(3), goalText(q.goal_min_ratio === null ? null : `≥ ${q.goal_min_ratio}`, q.goal_met),
    `quic ${fmtRate(q.quic_responses_per_s)}, tcp ${fmtRate(q.tcp_responses_per_s)}; CPU per response (both processes) tcp ÷ quic ${q.cpu_per_response_ratio.toFixed(3)} (diagnostic)`,
  ]);
  rows.push([`gatectl ÷ raw echo (${r.options.transport}, ${r.options.connections} × ${r.options.inFlight})`, th.ratio.toFixed(3), goalText(`≥ ${th.goal}`, th.goal_met),
    `main section: gatectl ${fmtRate(th.gatectl_closed_responses_per_s)}, raw ${fmtRate(th.raw_echo_responses_per_s)}`]);
  for (const m of t.memory) {
    for (const [side, who] of [['client', 'generator process'], ['server', 'null gateway process']] as const) {
      const x = m[side];
      rows.push([
        `RSS per connection, ${m.transport} ${side} (${who})`, fmtKb(x.rss_per_connection_kb),
        goalText(x.goal_max_kb_per_connection === null ? null : `≤ ${x.goal_max_kb_per_connection} KB`, x.goal_met),
        `${fmtMb(x.rss_at_0_kb)} at 0 → ${fmtMb(x.rss_at_n_kb)} at ${x.connections} connections; V8 heap ${fmtKb(x.heap_used_per_connection_kb)} per connection`,
      ]);
    }
  }
  const ref = t.reference;
  if (ref !== null) {
    rows.push([`${ref.transport} raw echo ${shapeText(ref)}: this run ÷ committed reference run`, `${ref.factor.toFixed(1)}×`, goalText(`≥ ${ref.goal_min_factor}×`, ref.goal_met),
      `${fmtRate(ref.responses_per_s)} now vs ${fmtRate(ref.reference_responses_per_s)} in ${ref.file} (run ${ref.created_at}; another run, its own machine load)`]);
  } else {
    rows.push(['raw echo: this run ÷ committed reference run', '', 'not compared', t.reference_unavailable ?? '']);
  }
  return { head: ['figure', 'value', 'goal', 'note'], rows };
}

function environmentLine(r: LoadgenBenchResult): string {
  const e = r.environment;
  return `${e.cpus} CPUs (${e.cpu_model}), ${(e.total_mem_bytes / 1024 ** 3).toFixed(1)} GiB RAM, Node ${e.node}, ${e.platform} ${e.os_release}; ` +
    `load average ${e.loadavg_start.join(' ')} at start, ${e.loadavg_end.join(' ')} at end`;
}

const NOTES = [
  'Every figure was measured in this run on this machine. Target: the null gateway (decode, answer at once, no queue/processor/upstream) in its own process on 127.0.0.1.',
  'Raw echo: N connections × K pre-encoded requests in flight, one write per request, response frames counted, not decoded; no gatectl bookkeeping. gatectl: runLoad, closed model, same N and K, one generator process.',
  'An unrecorded warm-up (one raw echo and one gatectl phase, --warmup s each) precedes round 1.',
  'Throughput (both sides alike) = BusinessResponses the null gateway wrote inside the phase less min(250 ms, D/10) at each end, counted and timed by the gateway ÷ that window. "client resp/s" is the clients\' own count ÷ the phase, drain included (what `gatectl load` prints). Rounds alternate the order of the two phases.',
  'acks/resp: ClientAcks the gateway received per response (gatectl acks cumulatively 20 ms after new pushes; the raw client never acks). Each ack is one more stream write on both sides.',
  'CPU: process.cpuUsage of the generator (this process) and of the null gateway child from just before the window to the end of the drain, % of one core; CPU/resp = that time ÷ responses.',
  'Histogram and codec costs: single-thread loops timed with process.hrtime.bigint in the generator process after the throughput phases.',
];

const TRANSPORT_NOTES = [
  `Transport section (issue 13), run before the main section: raw echo of quic and of tcp at each shape, measured the same way as the main section's raw echo (gateway-side count inside the window). Each transport gets its own fresh null gateway child; every measured phase starts with ${PRIME_ECHOES} echoes per connection (not counted). A cell of the main section's transport and shape is its raw echo rounds, pooled, not measured twice (source column).`,
  'QUIC ÷ TCP = quic responses/s ÷ tcp responses/s at the same shape; goal ≥ 0.3 at 1000 × 1 only. Each phase is CPU-bound when both processes show ~100 % of a core; lower figures in "generator / gateway CPU" mean other work had the cores, and then the diagnostic CPU per response ratio (tcp ÷ quic, generator + gateway) is the steadier comparison.',
  `Memory per connection, at the shape with the most connections: process.memoryUsage().rss of the generator (client) and of the null gateway child (server), first after a ${MEMORY_SETTLE_MS} ms pause with 0 connections (the gateway child fresh, listener bound), then with N connections open, after ${PRIME_ECHOES} echoes each and another ${MEMORY_SETTLE_MS} ms pause, before the raw echo window; (RSS at N − RSS at 0) ÷ the connections open then (KB = 1024 bytes). No forced GC: uncollected garbage and memory the allocators keep count too, and the generator has run the earlier phases of this section (quic runs first). Goals (quic, ≥ 1000 connections): client ≤ 100 KB, server ≤ 150 KB per connection.`,
  `Reference factor: this run's raw echo at the reference's transport and shape ÷ throughput.raw_echo_responses_per_s of the committed ${REFERENCE_RESULT_FILE} (another run, at its own time and machine load); goal ≥ 15×.`,
];

/** The benchmark as a markdown document. */
export function renderLoadgenMarkdown(r: LoadgenBenchResult): string {
  const md = (t: LoadgenTable) => markdownTable([t.head, ...t.rows]);
  const ts = loadgenTransportSummaryTable(r);
  const tc = loadgenTransportCellTable(r);
  const transportMd = ts === null || tc === null ? [] : [
    '## Transport: raw echo, QUIC vs TCP; memory per connection', '', md(ts), '', md(tc), '', ...TRANSPORT_NOTES.map((n) => `- ${n}`), '',
  ];
  return [
    '# Load generator benchmark: gatectl load vs raw echo', '',
    `- command: \`${r.command}\``,
    `- machine: ${environmentLine(r)}`,
    `- run: ${r.created_at}, transport ${r.options.transport}, ${r.options.connections} connections × ${r.options.inFlight} in flight, ` +
      `${r.options.durationS} s per phase, ${r.options.rounds} round(s) after a ${r.options.warmupS} s warm-up of each side, ${r.options.payloadBytes}-byte payload; ` +
      (r.transport === null ? 'transport section skipped' : `transport section quic and tcp at ${r.transport.shapes.map(shapeText).join(', ')}`),
    '',
    md(loadgenSummaryTable(r)), '',
    ...transportMd,
    ...(r.warnings.length > 0 ? ['## Warnings', '', ...r.warnings.map((w) => `- ${w}`), ''] : []),
    '## Phases', '',
    md(loadgenCellTable(r)), '',
    ...NOTES.map((n) => `- ${n}`), '',
  ].join('\n');
}

/** The benchmark for a terminal (cli-table3): environment, headline table, the transport section's two tables, phases, warnings. */
export function renderLoadgenTerminal(r: LoadgenBenchResult): string {
  const draw = (t: LoadgenTable) => {
    const table = new Table({ head: t.head, style: { head: [], border: [] }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
    for (const row of t.rows) table.push(row);
    return table.toString();
  };
  const ts = loadgenTransportSummaryTable(r);
  const tc = loadgenTransportCellTable(r);
  return [
    `Load generator benchmark — ${environmentLine(r)}`,
    draw(loadgenSummaryTable(r)),
    ...(ts === null || tc === null ? [] : ['transport section (raw echo, QUIC vs TCP; memory per connection):', draw(ts), draw(tc)]),
    draw(loadgenCellTable(r)),
    ...r.warnings.map((w) => `warning: ${w}`),
  ].join('\n') + '\n';
}

/**
 * Writes `<outDir>/<name>.json` and `.md` (name default `loadgen-bench-<UTC stamp>`) atomically,
 * creating outDir. Returns both paths. Rejects with the fs error.
 */
export async function writeLoadgenReports(r: LoadgenBenchResult, outDir = 'reports', name?: string): Promise<{ json: string; md: string }> {
  const base = name ?? `loadgen-bench-${r.created_at.replace(/[:.]/g, '-')}`;
  const json = path.join(outDir, `${base}.json`);
  const md = path.join(outDir, `${base}.md`);
  await writeFileAtomic(json, JSON.stringify(r, null, 2) + '\n');
  await writeFileAtomic(md, renderLoadgenMarkdown(r));
  return { json, md };
}
