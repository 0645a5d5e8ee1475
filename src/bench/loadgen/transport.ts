/**
 * The transport section of the load-generator benchmark (issue 13): raw echo of quic and of tcp at
 * each shape, each transport against its own fresh null gateway; QUIC ÷ TCP per shape; RSS per
 * connection of the generator and of the null gateway at the shape with the most connections; and
 * this run's quic raw echo against the committed reference run (./reference.ts).
 */
import { GatectlError } from '../../errors.js';
import { round1, sumBy } from './meter.js';
import { startNullGateway, type TargetSample } from './null-gateway.js';
import type { LoadgenBenchOptions, TransportShape } from './options.js';
import { rawPhase, type RawPhaseSpec } from './raw-echo.js';
import { compareWithReference, REFERENCE_MIN_FACTOR, type LoadgenReference } from './reference.js';
import type { MemorySide, QuicTcpRatio, ThroughputCell, TransportCell, TransportMemory, TransportSection } from './result.js';

const noop = (): void => undefined;

/**
 * Goals of issue 13 for the transport section. The QUIC ÷ TCP raw echo goal is judged only at its
 * shape (1000 × 1); the memory goals (QUIC only; KB = 1024 bytes of RSS per connection) only when
 * the memory shape has at least `memoryMinConnections` connections; the reference factor only
 * against a reference run of the same transport and shape.
 */
export const TRANSPORT_GOALS = Object.freeze({
  quicTcpMinRatio: 0.3, quicTcpShape: Object.freeze({ connections: 1000, inFlight: 1 }) as Readonly<TransportShape>,
  memoryMinConnections: 1000, clientMaxKbPerConnection: 100, serverMaxKbPerConnection: 150,
  referenceMinFactor: REFERENCE_MIN_FACTOR,
});
/** Pause before each RSS sample of the memory measurement (nothing runs in it; no forced GC), ms. */
export const MEMORY_SETTLE_MS = 1000;
/** Requests each connection echoes (all in flight at once) before the memory sample and the window. */
export const PRIME_ECHOES = 3;
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
  const ref = typeof reference === 'string' ? undefined : cellOf(reference.transport, { connections: reference.connections, inFlight: reference.in_flight });
  const compared = compareWithReference(reference, ref?.responses_per_s, o.payloadBytes);
  return {
    shapes: o.transportShapes.map((s) => ({ connections: s.connections, in_flight: s.inFlight })), phase_s: o.durationS,
    cells, quic_tcp: quicTcp, memory, reference: typeof compared === 'string' ? null : compared, reference_unavailable: typeof compared === 'string' ? compared : null,
  };
}

/** Warnings about the transport section: missing connections, errors, a server that counted other connections than the client. */
export function transportWarnings(t: TransportSection): string[] {
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
