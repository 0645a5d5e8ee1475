/**
 * The committed reference run the load-generator benchmark compares its QUIC raw echo with (issue
 * 13): reading it (reports/reference/loadgen-bench-matrixai-js.json, REFERENCE_RESULT_FILE) and
 * the factor of this run against it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Issue 13's goal: this run's quic raw echo at 100 × 8 ≥ 15 × the reference's. */
export const REFERENCE_MIN_FACTOR = 15;

/**
 * The committed result the transport section compares its QUIC raw echo with (issue 13): the last
 * reference run of the `quic` transport on @matrixai/quic's JS layer (2026-11-21), kept under its
 * own name when reports/reference/loadgen-bench.json was refreshed with the native driver.
 */
export const REFERENCE_RESULT_FILE = 'reports/reference/loadgen-bench-matrixai-js.json';

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

/**
 * Reads the committed reference result (default: REFERENCE_RESULT_FILE in this checkout). Returns
 * the figures the comparison needs, or a string saying why there is none (missing file, other format).
 */
export function readLoadgenReference(file = fileURLToPath(new URL(`../../../../${REFERENCE_RESULT_FILE}`, import.meta.url))): LoadgenReference | string {
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

/**
 * This run's raw echo at the reference's transport and shape against the reference (pure).
 * `responsesPerS` is that figure of this run, or undefined when the run has no such cell;
 * `payloadBytes` this run's payload. Returns the comparison, or a string saying why there is none
 * (`reference` itself a string: no reference; no cell; another payload; a reference figure ≤ 0).
 */
export function compareWithReference(reference: LoadgenReference | string, responsesPerS: number | undefined, payloadBytes: number): ReferenceComparison | string {
  if (typeof reference === 'string') return reference;
  if (responsesPerS === undefined) return `this run has no ${reference.transport} ${reference.connections} × ${reference.in_flight} raw echo (the reference's transport and shape)`;
  if (reference.payload_bytes !== payloadBytes) return `the reference used ${reference.payload_bytes}-byte payloads, this run ${payloadBytes}`;
  if (!(reference.raw_echo_responses_per_s > 0)) return `the reference's raw echo figure is ${reference.raw_echo_responses_per_s}`;
  const factor = Math.round((responsesPerS / reference.raw_echo_responses_per_s) * 100) / 100;
  return {
    file: reference.file, created_at: reference.created_at, command: reference.command, transport: reference.transport,
    connections: reference.connections, in_flight: reference.in_flight, reference_responses_per_s: reference.raw_echo_responses_per_s,
    responses_per_s: responsesPerS, factor, goal_min_factor: REFERENCE_MIN_FACTOR, goal_met: factor >= REFERENCE_MIN_FACTOR,
  };
}
