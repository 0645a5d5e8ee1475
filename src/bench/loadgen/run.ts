/**
 * The load-generator benchmark (`gatectl bench loadgen`, issue 4 "Done when", issue 13): how much
 * of the transport's throughput gatectl's load engine reaches, measured in one run on one machine,
 * plus the cost of the per-message work it does. docs/bench.md describes every phase; the pieces:
 * - ./null-gateway.ts: the target, a null gateway in a child process on 127.0.0.1;
 * - ./raw-echo.ts: the raw echo client (the transport's ceiling);
 * - ./gatectl.ts: gatectl closed (the figure compared, goal ≥ 0.85 × raw echo) and open (at
 *   `openFraction` × raw echo: did it keep up?);
 * - ./meter.ts: how a phase is counted (gateway-side, inside the window) and its CPU;
 * - ./micro.ts: histogram record and codec costs;
 * - ./transport.ts and ./reference.ts: the transport section (QUIC vs TCP, memory per connection,
 *   factor against the committed reference run);
 * - ./render.ts: tables, markdown, terminal, the result files.
 */
import { availableParallelism } from 'node:os';
import { GatectlError } from '../../errors.js';
import { benchEnvironment, loadAverage } from '../environment.js';
import { closedPhase, openPhase } from './gatectl.js';
import { sumBy, round1 } from './meter.js';
import { measureCodecCost, measureHistogramCost } from './micro.js';
import { startNullGateway } from './null-gateway.js';
import { validateLoadgenBenchOptions, type LoadgenBenchOptions } from './options.js';
import { rawPhase } from './raw-echo.js';
import { readLoadgenReference } from './reference.js';
import { LOADGEN_BENCH_SCHEMA, THROUGHPUT_GOAL, type LoadgenBenchResult, type OpenModelCell, type ThroughputCell } from './result.js';
import { measureTransportSection, memoryShape, summarizeTransportSection, transportWarnings, TRANSPORT_SECTION_TRANSPORTS, type TransportMeasurements } from './transport.js';

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
  const loadStart = loadAverage();
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
  const loadEnd = loadAverage();
  const cpus = availableParallelism();
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
    environment: { ...benchEnvironment(), loadavg_start: loadStart, loadavg_end: loadEnd },
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
