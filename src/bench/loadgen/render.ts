/**
 * Renderers of the load-generator benchmark (pure: result in, string out) and its result files:
 * the headline table, the phases, the transport section's two tables, notes; tables drawn by the
 * benchmarks' one drawer (../report.ts), µs with src/report/format.ts fmtUs.
 */
import { ACK_DELAY_MS } from '../../load/client.js';
import { fmtUs } from '../../report/format.js';
import { environmentLine } from '../environment.js';
import { drawMarkdown, drawTerminal, fileStamp, fmtRate, writeBenchFiles, type TableData } from '../report.js';
import { REFERENCE_RESULT_FILE } from './reference.js';
import type { LoadgenBenchResult, ThroughputCell } from './result.js';
import { MEMORY_SETTLE_MS, PRIME_ECHOES } from './transport.js';

const mean = <T>(xs: T[], f: (x: T) => number) => (xs.length === 0 ? 0 : xs.reduce((a, x) => a + f(x), 0) / xs.length);
const fmtNsAsUs = (ns: number) => `${(ns / 1000).toFixed(1)} µs`;

/** The headline table: each figure with its unit, measured in this run. */
export function loadgenSummaryTable(r: LoadgenBenchResult): TableData {
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
export function loadgenCellTable(r: LoadgenBenchResult): TableData {
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
export function loadgenTransportCellTable(r: LoadgenBenchResult): TableData | null {
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
export function loadgenTransportSummaryTable(r: LoadgenBenchResult): TableData | null {
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

function machineLine(r: LoadgenBenchResult): string {
  const e = r.environment;
  return `${environmentLine(e)}; load average ${e.loadavg_start.join(' ')} at start, ${e.loadavg_end.join(' ')} at end`;
}

const NOTES = [
  'Every figure was measured in this run on this machine. Target: the null gateway (decode, answer at once, no queue/processor/upstream) in its own process on 127.0.0.1.',
  'Raw echo: N connections × K pre-encoded requests in flight, one write per request, response frames counted, not decoded; no gatectl bookkeeping. gatectl: runLoad, closed model, same N and K, one generator process.',
  'An unrecorded warm-up (one raw echo and one gatectl phase, --warmup s each) precedes round 1.',
  'Throughput (both sides alike) = BusinessResponses the null gateway wrote inside the phase less min(250 ms, D/10) at each end, counted and timed by the gateway ÷ that window. "client resp/s" is the clients\' own count ÷ the phase, drain included (what `gatectl load` prints). Rounds alternate the order of the two phases.',
  `acks/resp: ClientAcks the gateway received per response (gatectl acks cumulatively: the ack rides in the next request's write, or leaves on its own ${ACK_DELAY_MS} ms after new pushes when no request does; the raw client never acks).`,
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
  const md = drawMarkdown;
  const ts = loadgenTransportSummaryTable(r);
  const tc = loadgenTransportCellTable(r);
  const transportMd = ts === null || tc === null ? [] : [
    '## Transport: raw echo, QUIC vs TCP; memory per connection', '', md(ts), '', md(tc), '', ...TRANSPORT_NOTES.map((n) => `- ${n}`), '',
  ];
  return [
    '# Load generator benchmark: gatectl load vs raw echo', '',
    `- command: \`${r.command}\``,
    `- machine: ${machineLine(r)}`,
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
  const draw = drawTerminal;
  const ts = loadgenTransportSummaryTable(r);
  const tc = loadgenTransportCellTable(r);
  return [
    `Load generator benchmark — ${machineLine(r)}`,
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
export function writeLoadgenReports(r: LoadgenBenchResult, outDir = 'reports', name?: string): Promise<{ json: string; md: string }> {
  return writeBenchFiles(r, renderLoadgenMarkdown(r), outDir, name ?? `loadgen-bench-${fileStamp(r.created_at)}`);
}
