/**
 * Options of the load-generator benchmark (`gatectl bench loadgen`, issue 4 "Done when" and issue
 * 13): the typed options, their defaults, the flag values they come from (parsed once, here), and
 * their checks. Errors are InvalidInputError naming the flag, the value and the accepted form.
 */
import { InvalidInputError } from '../../errors.js';
import { parseDurationMs } from '../../duration.js';
import type { TransportName } from '../../transport/index.js';

/** One raw echo shape of the transport section: N connections × K requests in flight each. */
export interface TransportShape {
  /** N, connections */
  connections: number;
  /** K, requests in flight per connection */
  inFlight: number;
}

/** Benchmark options (the result file's `options`; durations in s, as results since v1 store them). */
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

/** `NxK` per shape, comma-separated, e.g. `100x8,1000x1`. */
export function formatTransportShapes(shapes: readonly TransportShape[]): string {
  return shapes.map((s) => `${s.connections}x${s.inFlight}`).join(',');
}

/** Parses `--transport-shapes` (`100x8,1000x1`; `×` also accepted). Throws InvalidInputError naming the flag and the form. */
export function parseTransportShapes(v: string): TransportShape[] {
  return v.split(',').map((part) => {
    const m = /^\s*(\d+)\s*[x×]\s*(\d+)\s*$/i.exec(part);
    if (m === null) throw new InvalidInputError(`--transport-shapes ${JSON.stringify(v)} is not valid: use NxK shapes separated by commas, e.g. 100x8,1000x1`);
    return { connections: Number(m[1]), inFlight: Number(m[2]) };
  });
}

/** Checks options; throws InvalidInputError naming the bad one (as its flag) and the accepted range. */
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
  if (!(o.durationS > 0 && o.durationS <= 600)) throw new InvalidInputError(`--duration ${o.durationS}s is not valid: use a phase length above 0 and at most 10m, e.g. 5s or 500ms`);
  if (!(o.warmupS >= 0 && o.warmupS <= 60)) throw new InvalidInputError(`--warmup ${o.warmupS}s is not valid: use at most 1m (0 = no warm-up)`);
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

/**
 * The loadgen flags as oclif parses them (src/commands/bench/loadgen.ts): whole numbers already
 * numbers, durations in src/duration.ts's grammar (`5s`, `500ms`), the fraction and the shapes as
 * text. An absent flag takes its default.
 */
export interface LoadgenBenchFlags {
  transport?: string;
  connections?: number;
  'in-flight'?: number;
  /** length of each measured phase, e.g. `5s` (default) or `500ms` */
  duration?: string;
  rounds?: number;
  /** warm-up of each side, e.g. `1s` (default); `0` = none */
  warmup?: string;
  'payload-bytes'?: number;
  'open-fraction'?: string;
  'histogram-values'?: number;
  'codec-iterations'?: number;
  'transport-shapes'?: string;
  'skip-transport'?: boolean;
}

/** Builds validated options from the flag values (defaults for absent ones). Throws InvalidInputError naming the flag. */
export function loadgenOptionsFromFlags(f: LoadgenBenchFlags): LoadgenBenchOptions {
  const d = DEFAULT_LOADGEN_BENCH_OPTIONS;
  let openFraction = d.openFraction;
  if (f['open-fraction'] !== undefined) {
    openFraction = Number(f['open-fraction']);
    if (f['open-fraction'].trim() === '' || !Number.isFinite(openFraction)) {
      throw new InvalidInputError(`--open-fraction ${JSON.stringify(f['open-fraction'])} is not a number: use a fraction of the raw echo rate, e.g. 0.9`);
    }
  }
  const o: LoadgenBenchOptions = {
    transport: (f.transport ?? d.transport) as TransportName,
    connections: f.connections ?? d.connections,
    inFlight: f['in-flight'] ?? d.inFlight,
    durationS: f.duration === undefined ? d.durationS : parseDurationMs(f.duration, '--duration') / 1000,
    rounds: f.rounds ?? d.rounds,
    warmupS: f.warmup === undefined ? d.warmupS : parseDurationMs(f.warmup, '--warmup', { allowZero: true }) / 1000,
    payloadBytes: f['payload-bytes'] ?? d.payloadBytes,
    openFraction,
    histogramValues: f['histogram-values'] ?? d.histogramValues,
    codecIterations: f['codec-iterations'] ?? d.codecIterations,
    transportShapes: f['transport-shapes'] === undefined ? d.transportShapes.map((s) => ({ ...s })) : parseTransportShapes(f['transport-shapes']),
    skipTransport: f['skip-transport'] ?? d.skipTransport,
  };
  validateLoadgenBenchOptions(o);
  return o;
}
