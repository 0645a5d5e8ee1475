/**
 * The load run (DESIGN §6 `gatectl load`, issue 4): the run's clients are split into slices (one per
 * generator process, `--workers`; a `--shard i/n` keeps only its part), each slice connects and says
 * Hello, all slices start the steady phase at one common instant, then drain. Open model: requests
 * leave at intended times from the arrival schedule, and e2e latency is measured from those times
 * (coordinated-omission corrected, wrk2) beside the uncorrected latency from the actual send.
 * Closed model: `concurrency` requests in flight per client. The slices' histograms are merged.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TransportName, TransportStats } from '../transport/types.js';
import { sumTransportStats } from '../transport/util.js';
import { WEBTRANSPORT_PATH, webtransportMode } from '../transport/webtransport.js';
import { errorFromWire, InvalidInputError, TransportError, type WireError } from '../errors.js';
import { decodeHistogram, encodeHistogram, encodeLatency, mergeHistograms } from '../metrics/histogram.js';
import type { ProgressTick } from '../metrics/progress.js';
import { RUN_SCHEMA, type RunResult, type ServerResult, type SlowClientsResult, type TimeSeriesPoint, type ViolationCounts } from '../metrics/result.js';
import { outageWarnings, reconnectResult } from './outage.js';
import { mergeSlowPartials } from './slow-reader.js';
import { Slice, type DriveOptions, type SliceSecond, type SlicePartial, type SliceSpec, type SliceTick } from './engine.js';


/** `{ slow }` for a `--slow-clients` run, else nothing (the key is left out). */
function slowField(slow: SlowClientsResult | null): { slow?: SlowClientsResult } {
  return slow === null ? {} : { slow };
}

/**
 * CPU time of one side (µs, user + system) and per response (µs; every response the clients
 * received, slow readers' included), or nothing when it was not measured.
 */
function cpuField(cpuUs: number | undefined, responses: number): { cpu_us?: number; cpu_us_per_response?: number } {
  if (cpuUs === undefined) return {};
  return { cpu_us: Math.round(cpuUs), ...(responses > 0 ? { cpu_us_per_response: Math.round((cpuUs / responses) * 10) / 10 } : {}) };
}

/** `{ transport }` when there are transport counters, else nothing (the key is left out). */
function transportField(stats: TransportStats | null): { transport?: TransportStats } {
  return stats === null ? {} : { transport: stats };
}
/** A gateway to load: where it is, how to trust it, and how to read its server-side figures. */
export interface TargetHandle {
  /** `quic://host:port` or `tcp://host:port` */
  url: string;
  kind: 'in-process' | 'remote';
  /** PEM CA to verify the server with, when known */
  ca?: string;
  /** skip certificate verification */
  insecure: boolean;
  /** Called when the steady phase begins: server figures from here on belong to the run. */
  markSteadyStart(): Promise<void>;
  /** Server figures for the steady phase (plus the drain), or null when none are available. */
  serverResult(): Promise<ServerResult | null>;
}

/** Options of one run (resolved from flags or a scenario by src/config/load.ts). */
export interface LoadOptions extends DriveOptions {
  /** clients in the whole run (all shards): the schedule's maxClients */
  clients: number;
  /** how the schedule was made, for the result (e.g. `constant 1000/s`, or the scenario name) */
  scheduleLabel: string;
  /** generator processes (1 = this process; more = child processes, see worker.ts) */
  workers: number;
  /**
   * `--start-at`: the wall-clock instant (Date.now() ms) the steady phase begins, after connecting,
   * so the shards of a distributed run start together; absent = right after connecting
   */
  startAtEpochMs?: number;
  /** run only slice `index` of `count` of the clients and of the rate (`--shard index/count`) */
  shard?: { index: number; count: number };
  /** label stored in the result (e.g. `sync`) */
  label: string;
  /** extra configuration recorded in the result */
  recordedConfig?: Record<string, unknown>;
  /**
   * another observer of the once-a-second progress ticks, called after runLoad's `onProgress` with
   * the same tick (the command's live outputs: --out json=/csv=, --metrics-port, --dashboard)
   */
  onTick?: (t: ProgressTick) => void;
}

/** What the progress display and the live outputs receive once per second (it lives in metrics/, below src/output/). */
export type { ProgressTick };

/** Event-loop delay p99 above this (ms) marks a run generator_bound. */
export const GENERATOR_BOUND_ELD_P99_MS = 20;

/**
 * Parses a `--target` URL: `quic://HOST:PORT`, `tcp://HOST:PORT`, or `https://HOST:PORT/gate`
 * (WebTransport; the port defaults to 443, the path to `/gate`, the only path a gatectl gateway
 * serves). `webtransport://HOST:PORT` is accepted as another spelling of the latter.
 * Throws InvalidInputError naming the fix.
 */
export function parseTargetUrl(url: string): { transport: TransportName; host: string; port: number } {
  const forms = `quic://HOST:PORT, tcp://HOST:PORT or https://HOST:PORT${WEBTRANSPORT_PATH} (WebTransport)`;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidInputError(`--target ${JSON.stringify(url)} is not a URL: use ${forms}`);
  }
  const scheme = u.protocol.replace(/:$/, '');
  let transport: TransportName;
  if (scheme === 'quic' || scheme === 'tcp' || scheme === 'webtransport') transport = scheme;
  else if (scheme === 'https') transport = 'webtransport';
  else throw new InvalidInputError(`--target ${JSON.stringify(url)}: unsupported scheme ${JSON.stringify(u.protocol)}; use ${forms}`);
  if (scheme === 'https' && u.pathname !== '/' && u.pathname !== '' && u.pathname !== WEBTRANSPORT_PATH) {
    throw new InvalidInputError(
      `--target ${JSON.stringify(url)}: a gatectl gateway serves WebTransport at ${WEBTRANSPORT_PATH} only; use https://${u.host}${WEBTRANSPORT_PATH}`,
    );
  }
  const port = u.port === '' && scheme === 'https' ? 443 : Number(u.port);
  if ((u.port === '' && scheme !== 'https') || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidInputError(`--target ${JSON.stringify(url)} has no port: use ${scheme}://HOST:PORT, e.g. ${scheme}://127.0.0.1:4433`);
  }
  return { transport, host: u.hostname.replace(/^\[|\]$/g, ''), port };
}

/** A slice on this thread or in a generator child process, seen the same way by runLoad. */
interface SliceHandle {
  connected: Promise<{ connected: number; summary: Slice['connectSummary'] }>;
  run(startEpochMs: number): Promise<SlicePartial>;
  close(): Promise<void>;
  /** latest unread tick */
  tick: SliceTick | null;
  /** ends the steady phase now (SIGINT); the drain follows */
  interrupt(): void;
}

function localSlice(spec: SliceSpec): SliceHandle {
  const h: SliceHandle = {
    tick: null,
    connected: Promise.resolve({ connected: 0, summary: { connectFailures: 0, helloFailures: 0, firstConnectError: null } }),
    run: (e) => slice.run(e),
    close: () => slice.close(),
    interrupt: () => slice.interrupt(),
  };
  const slice = new Slice(spec, (t) => { h.tick = laterTick(h.tick, t); });
  h.connected = slice.connect().then((connected) => ({ connected, summary: slice.connectSummary }));
  return h;
}

/**
 * The tick to keep when `next` arrives while `prev` is still unread (the progress timer waits for
 * every slice's tick, so a fast slice can tick twice): `next`'s counters (running totals) and both
 * seconds' histograms merged, so no second's e2e or schedule lag is lost to the live outputs.
 */
function laterTick(prev: SliceTick | null, next: SliceTick): SliceTick {
  if (prev === null) return next;
  const merge = (a: string, b: string) => encodeHistogram(mergeHistograms([decodeHistogram(a), decodeHistogram(b)]));
  return { ...next, e2e: merge(prev.e2e, next.e2e), schedule_lag: merge(prev.schedule_lag, next.schedule_lag) };
}

/** A slice in a child process (see worker.ts for why not a worker_thread). */
function workerSlice(spec: SliceSpec): SliceHandle {
  const worker = fork(fileURLToPath(new URL('./worker.js', import.meta.url)), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' });
  worker.send({ type: 'spec', spec });
  let onConnected!: (v: { connected: number; summary: Slice['connectSummary'] }) => void;
  let onPartial!: (p: SlicePartial) => void;
  let onClosed!: () => void;
  let onError!: (e: Error) => void;
  const failed = new Promise<never>((_, reject) => { onError = reject; });
  failed.catch(() => undefined);
  const h: SliceHandle = {
    tick: null,
    connected: Promise.race([new Promise<{ connected: number; summary: Slice['connectSummary'] }>((r) => { onConnected = r; }), failed]),
    run: (startEpochMs) => {
      worker.send({ type: 'run', startEpochMs });
      return Promise.race([new Promise<SlicePartial>((r) => { onPartial = r; }), failed]);
    },
    interrupt: () => {
      if (worker.connected) worker.send({ type: 'interrupt' });
    },
    close: async () => {
      const closed = new Promise<void>((r) => { onClosed = r; });
      if (worker.connected) worker.send({ type: 'close' });
      await Promise.race([closed, new Promise((r) => setTimeout(r, 5000)), failed.catch(() => undefined)]);
      if (worker.exitCode === null) worker.kill();
    },
  };
  worker.on('message', (msg: { type: string; tick?: SliceTick; connected?: number; summary?: Slice['connectSummary']; partial?: SlicePartial; error?: WireError }) => {
    switch (msg.type) {
      case 'tick': h.tick = laterTick(h.tick, msg.tick!); break;
      case 'connected': onConnected({ connected: msg.connected!, summary: msg.summary! }); break;
      case 'partial': onPartial(msg.partial!); break;
      case 'closed': onClosed?.(); break;
      case 'error': onError(errorFromWire({ code: msg.error?.code ?? 'GATECTL_TRANSPORT', message: `generator process failed: ${msg.error?.message ?? 'no message'}` })); break;
    }
  });
  worker.on('error', (err) => onError(new TransportError(`generator process failed: ${err.message}`)));
  worker.on('exit', (code, signal) => {
    onClosed?.();
    if (code !== 0) onError(new TransportError(`generator process exited (${signal ?? `code ${code}`}) before finishing its slice`));
  });
  return h;
}

/**
 * The global client indices of one generator process. `--shard k/n` owns the clients c with
 * c mod n = k (and the arrivals i with i mod n = k), so shards interleave evenly through any ramp
 * and their union is exactly the single-process run; `--workers W` splits a shard the same way
 * (client c goes to thread ⌊c/n⌋ mod W, arrival i to thread ⌊i/n⌋ mod W).
 */
export function sliceClientIds(clients: number, shard: { index: number; count: number }, worker: number, workers: number): number[] {
  const out: number[] = [];
  for (let c = shard.index; c < clients; c += shard.count) if (Math.floor(c / shard.count) % workers === worker) out.push(c);
  return out;
}

/**
 * Runs the load against `target` and returns the RunResult. Histograms of the generator processes
 * are merged, never averaged.
 * Throws InvalidInputError when the shard holds no client, TransportError when no client could
 * connect (the message names the target and the first connect error) or a generator process failed.
 * When `signal` aborts (the first SIGINT), the steady phase ends at once, the drain follows as usual
 * and the result is marked `interrupted: true` (rates over the time actually run).
 */
export async function runLoad(opts: LoadOptions, target: TargetHandle, onProgress?: (t: ProgressTick) => void, signal?: AbortSignal): Promise<RunResult> {
  const { transport, host, port } = parseTargetUrl(target.url);
  const startedAt = new Date();
  const shard = opts.shard ?? { index: 0, count: 1 };
  if (shard.index >= opts.clients) throw new InvalidInputError(`--shard ${shard.index}/${shard.count} holds no client of ${opts.clients}: use at most as many shards as clients`);
  const workers = Math.min(opts.workers, Math.ceil((opts.clients - shard.index) / shard.count));
  const slices = Array.from({ length: workers }, (_, w) => ({ w, ids: sliceClientIds(opts.clients, shard, w, workers) }));
  const handles = slices.map(({ w, ids }) => {
    const spec: SliceSpec = {
      transport, host, port, insecure: target.insecure, ...(target.ca !== undefined ? { ca: target.ca } : {}),
      clientIds: ids, model: opts.model, schedule: opts.schedule, arrivalOffset: shard.index + shard.count * w, arrivalStride: shard.count * workers,
      maxInFlight: opts.maxInFlight, concurrency: opts.concurrency, thinkTimeMs: opts.thinkTimeMs, mix: opts.mix,
      heartbeatMs: opts.heartbeatMs, connectTimeoutMs: opts.connectTimeoutMs, drainTimeoutMs: opts.drainTimeoutMs,
      ...(opts.slowClients !== undefined ? { slowClients: opts.slowClients } : {}),
      reconnect: opts.reconnect, clientIdleTimeoutMs: opts.clientIdleTimeoutMs,
    };
    return workers > 1 ? workerSlice(spec) : localSlice(spec);
  });
  const onAbort = (): void => {
    for (const h of handles) h.interrupt();
  };
  if (signal?.aborted === true) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  const myClients = slices.reduce((a, s) => a + s.ids.length, 0);
  let lastTotals = { requests: 0, responses: 0 };
  const tConnect = performance.now();
  let steadyStart = 0;
  let parentPeakRss = process.memoryUsage.rss();
  const progressTimer = setInterval(() => {
    parentPeakRss = Math.max(parentPeakRss, process.memoryUsage.rss());
    const ticks = handles.map((h) => h.tick);
    if (ticks.some((t) => t === null)) return;
    for (const h of handles) h.tick = null;
    const ts = ticks as SliceTick[];
    const phase = ts.some((t) => t.phase === 'connecting') ? 'connecting' : ts.some((t) => t.phase === 'steady') ? 'steady' : 'draining';
    const totals = { requests: ts.reduce((a, t) => a + t.requests, 0), responses: ts.reduce((a, t) => a + t.responses, 0) };
    const e2e = mergeHistograms(ts.map((t) => decodeHistogram(t.e2e)));
    const lag = onProgress !== undefined || opts.onTick !== undefined ? mergeHistograms(ts.map((t) => decodeHistogram(t.schedule_lag))) : null;
    const tick: ProgressTick = {
      phase, elapsed_s: Math.round((performance.now() - (phase === 'connecting' || steadyStart === 0 ? tConnect : steadyStart)) / 1000),
      connected: ts.reduce((a, t) => a + t.connected, 0), clients: myClients,
      requests_per_s: totals.requests - lastTotals.requests, responses_per_s: totals.responses - lastTotals.responses,
      e2e_p99_us: e2e.totalCount > 0 ? e2e.getValueAtPercentile(99) : 0, errors: ts.reduce((a, t) => a + t.errors, 0),
      e2e_p50_us: e2e.totalCount > 0 ? e2e.getValueAtPercentile(50) : 0,
      schedule_lag_p99_us: lag !== null && lag.totalCount > 0 ? lag.getValueAtPercentile(99) : 0,
      violations: ts.reduce((a, t) => a + t.violations, 0), requests_total: totals.requests, responses_total: totals.responses, e2e,
    };
    onProgress?.(tick);
    opts.onTick?.(tick);
    lastTotals = totals;
  }, 1000);
  try {
    const connected = await Promise.all(handles.map((h) => h.connected));
    const total = connected.reduce((a, c) => a + c.connected, 0);
    if (total === 0) {
      const f = connected.reduce((a, c) => a + c.summary.connectFailures, 0);
      const hf = connected.reduce((a, c) => a + c.summary.helloFailures, 0);
      const first = connected.find((c) => c.summary.firstConnectError !== null)?.summary.firstConnectError;
      throw new TransportError(`no client could connect to ${target.url} (${f} connect failures, ${hf} Hello failures)` + (first !== undefined ? `: ${first}` : ''));
    }
    await target.markSteadyStart();
    // --start-at: every shard begins its schedule at the same wall-clock instant (k6-operator
    // starts its runners together); one that connected too late starts at once and says so
    const soon = Date.now() + 50;
    const startEpochMs = opts.startAtEpochMs !== undefined ? Math.max(opts.startAtEpochMs, soon) : soon;
    const startLateMs = opts.startAtEpochMs !== undefined ? soon - opts.startAtEpochMs : 0;
    steadyStart = performance.now() + (startEpochMs - Date.now());
    const partials = await Promise.all(handles.map((h) => h.run(startEpochMs)));
    const server = await target.serverResult();
    parentPeakRss = Math.max(parentPeakRss, process.memoryUsage.rss());
    const result = buildResult(opts, target, transport, startedAt, partials, server, myClients, workers, parentPeakRss);
    result.steady_started_at = new Date(startEpochMs).toISOString();
    if (startLateMs > 0) {
      result.warnings.push(`--start-at ${new Date(opts.startAtEpochMs!).toISOString()} was missed by ${startLateMs} ms (connecting took longer): this run began at once, out of step with the other shards; give a later --start-at`);
    }
    if (signal?.aborted === true) {
      result.interrupted = true;
      result.warnings.unshift(`interrupted: the run was stopped (SIGINT) after ${result.steady_s} s of the ${opts.schedule.durationMs / 1000} s planned; its figures cover the time it ran`);
    }
    return result;
  } finally {
    clearInterval(progressTimer);
    signal?.removeEventListener('abort', onAbort);
    await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
  }
}

/** Merges the slices' partials into a RunResult (counters summed, histograms merged, seconds aligned). */
function buildResult(opts: LoadOptions, target: TargetHandle, transport: TransportName, startedAt: Date,
  partials: SlicePartial[], server: ServerResult | null, myClients: number, workers: number, parentPeakRss: number): RunResult {
  const sum = (f: (p: SlicePartial) => number) => partials.reduce((a, p) => a + f(p), 0);
  const addInto = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
    return into;
  };
  const merged = (key: keyof SlicePartial['histograms']) => encodeLatency(mergeHistograms(partials.map((p) => decodeHistogram(p.histograms[key]))));
  const steadyMs = Math.max(...partials.map((p) => p.steadyMs));
  const steadyS = steadyMs / 1000;
  const bySecond = new Map<number, { p: SliceSecond[] }>();
  for (const p of partials) for (const sec of p.series) {
    const e = bySecond.get(sec.t_s) ?? { p: [] };
    e.p.push(sec);
    bySecond.set(sec.t_s, e);
  }
  const series: TimeSeriesPoint[] = [...bySecond.entries()].sort((a, b) => a[0] - b[0]).map(([t_s, { p }]) => {
    const h = mergeHistograms(p.map((x) => decodeHistogram(x.e2e)));
    const lag = mergeHistograms(p.map((x) => decodeHistogram(x.schedule_lag)));
    return {
      t_s, connected: p.reduce((a, x) => a + x.connected, 0), requests: p.reduce((a, x) => a + x.requests, 0),
      responses: p.reduce((a, x) => a + x.responses, 0), errors: p.reduce((a, x) => a + x.errors, 0),
      e2e_p99_us: h.totalCount > 0 ? h.getValueAtPercentile(99) : 0,
      e2e_histogram: encodeHistogram(h), schedule_lag_histogram: encodeHistogram(lag),
      reconnects: p.reduce((a, x) => a + x.reconnects, 0), lost_on_disconnect: p.reduce((a, x) => a + x.lost_on_disconnect, 0),
      e2e_p50_us: h.totalCount > 0 ? h.getValueAtPercentile(50) : 0,
      schedule_lag_p99_us: lag.totalCount > 0 ? lag.getValueAtPercentile(99) : 0,
    };
  });
  const connectFailures = sum((p) => p.connectFailures);
  const helloFailures = sum((p) => p.helloFailures);
  const firstConnectError = partials.find((p) => p.firstConnectError !== null)?.firstConnectError ?? null;
  const eldP99 = Math.max(...partials.map((p) => p.eldP99Ms));
  const eldMax = Math.max(...partials.map((p) => p.eldMaxMs));
  const responses = sum((p) => p.responses);
  const requests = sum((p) => p.requestsSent);
  const latency = { e2e: merged('e2e'), e2e_uncorrected: merged('e2e_uncorrected'), connect: merged('connect'), schedule_lag: merged('schedule_lag') };
  const reconnects = reconnectResult(partials);
  const warnings: string[] = [...reachabilityWarnings(opts), ...outageWarnings(reconnects, myClients)];
  if (connectFailures > 0) warnings.push(`${connectFailures} of ${myClients} clients failed to connect: ${firstConnectError}`);
  if (helloFailures > 0) warnings.push(`${helloFailures} clients were refused at Hello`);
  const slow = mergeSlowPartials(partials.map((p) => p.slow));
  const allResponses = responses + (slow?.responses ?? 0);
  const generatorCpuUs = partials.every((p) => p.cpuUs !== undefined) ? sum((p) => p.cpuUs!) : undefined;
  const generatorBound = eldP99 > GENERATOR_BOUND_ELD_P99_MS;
  if (generatorBound) {
    warnings.push(`generator_bound (${opts.label}): the load generator's event-loop delay p99 was ${eldP99.toFixed(1)} ms (> ${GENERATOR_BOUND_ELD_P99_MS} ms); ` +
      'latencies include the generator\'s own stalls. Use fewer clients, a lower rate or more --workers.');
  }
  if (target.insecure && target.kind === 'remote') warnings.push('--insecure: the server certificate was not verified');
  const dropped = sum((p) => p.droppedIterations);
  if (dropped > 0) warnings.push(`dropped_iterations ${dropped}: arrivals never sent — still waiting for a free --max-in-flight ${opts.maxInFlight} slot when the schedule ended (the target could not keep up)`);
  if (latency.schedule_lag.summary.p99_us > 50_000) warnings.push(`schedule lag p99 ${(latency.schedule_lag.summary.p99_us / 1000).toFixed(1)} ms: requests left late`);
  return {
    schema: RUN_SCHEMA,
    label: opts.label,
    started_at: startedAt.toISOString(),
    finished_at: new Date().toISOString(),
    steady_s: Math.round(steadyS * 1000) / 1000,
    config: {
      target: target.url, target_kind: target.kind, transport, ...(transport === 'webtransport' ? { webtransport_mode: webtransportMode() } : {}),
      clients: opts.clients, model: opts.model,
      duration_ms: opts.schedule.durationMs, schedule: opts.scheduleLabel,
      rate_per_s: opts.model === 'open' && opts.schedule.segments.every((g) => g.rateFrom === g.rateTo && g.rateTo === opts.schedule.maxRate) ? opts.schedule.maxRate : null,
      max_in_flight: opts.maxInFlight, concurrency: opts.model === 'closed' ? opts.concurrency : null,
      think_time_ms: opts.model === 'closed' ? opts.thinkTimeMs : null, mix: opts.mix, heartbeat_ms: opts.heartbeatMs,
      reconnect: opts.reconnect !== false, client_idle_timeout_ms: opts.clientIdleTimeoutMs ?? null,
      workers: partials.length, shard: opts.shard !== undefined ? `${opts.shard.index}/${opts.shard.count}` : null,
      ...(opts.startAtEpochMs !== undefined ? { start_at: new Date(opts.startAtEpochMs).toISOString() } : {}),
      ...(opts.slowClients !== undefined ? { slow_clients: { percent: opts.slowClients.percent, read_bytes_per_s: opts.slowClients.readBytesPerS, receive_window_bytes: opts.slowClients.receiveWindowBytes } } : {}),
      ...opts.recordedConfig,
    },
    environment: {
      node: process.version, platform: `${process.platform}-${process.arch}`, cpus: os.availableParallelism(),
      cpu_model: os.cpus()[0]?.model ?? 'unknown', total_mem_bytes: os.totalmem(),
    },
    client: {
      clients: myClients,
      connected: sum((p) => p.connected),
      connect_failures: connectFailures,
      hello_failures: helloFailures,
      requests_sent: requests,
      responses,
      notifies: sum((p) => p.notifies),
      unbound_notifies: sum((p) => p.unboundNotifies),
      heartbeats: sum((p) => p.heartbeats),
      dropped_iterations: dropped,
      unanswered: sum((p) => p.unanswered),
      ...reconnects,
      errors_by_code: partials.reduce((a, p) => addInto(a, p.errorsByCode), {} as Record<string, number>),
      transport_errors: partials.reduce((a, p) => addInto(a, p.transportErrors), {} as Record<string, number>),
      violations: partials.reduce((a, p) => addInto(a as unknown as Record<string, number>, p.violations as unknown as Record<string, number>) as unknown as ViolationCounts,
        { reorders: 0, gaps: 0, duplicates: 0, notify_order_violations: 0 } as ViolationCounts),
      responses_per_s: Math.round((responses / steadyS) * 10) / 10,
      requests_per_s: Math.round((requests / steadyS) * 10) / 10,
      latency,
      ...slowField(slow),
    },
    generator: {
      workers: partials.length,
      event_loop_delay_p99_ms: Math.round(eldP99 * 100) / 100,
      event_loop_delay_max_ms: Math.round(eldMax * 100) / 100,
      generator_bound: generatorBound,
      peak_rss_bytes: workers > 1 ? parentPeakRss : Math.max(parentPeakRss, ...partials.map((p) => p.peakRssBytes)),
      ...(workers > 1 ? { workers_peak_rss_bytes: Math.max(...partials.map((p) => p.peakRssBytes)) } : {}),
      ...transportField(sumTransportStats(partials.map((p) => p.transportStats))),
      ...cpuField(generatorCpuUs, allResponses),
    },
    server: server === null ? null : { ...server, ...cpuField(server.cpu_us, allResponses) },
    timeseries: series,
    stages: opts.schedule.segments.map((g, i) => {
      const e2e = encodeLatency(mergeHistograms(partials.map((p) => decodeHistogram(p.stages[i]!.e2e))));
      return {
        index: i, kind: g.kind, ...(g.label !== undefined ? { label: g.label } : {}), start_ms: g.startMs, end_ms: g.endMs, rate_from: g.rateFrom, rate_to: g.rateTo,
        clients_from: g.clientsFrom, clients_to: g.clientsTo, requests: sum((p) => p.stages[i]!.sent), responses: e2e.summary.count, e2e,
      };
    }),
    warnings,
  };
}

/**
 * Warnings, given at start, for an open-model rate the clients cannot reach, with the arithmetic:
 * a client with M requests in flight at R requests/s keeps up only while the latency stays below
 * M/R s; below 50 ms that is tighter than a loaded gateway's latency, so arrivals will wait
 * (schedule lag) and may be dropped. Empty for the closed model.
 */
export function reachabilityWarnings(opts: LoadOptions): string[] {
  if (opts.model !== 'open' || opts.clients === 0) return [];
  const perClient = opts.schedule.maxRate / opts.clients;
  if (perClient <= 0) return [];
  const budgetMs = (opts.maxInFlight / perClient) * 1000;
  if (budgetMs >= 50) return [];
  return [`rate ${opts.schedule.maxRate}/s over ${opts.clients} clients is ${perClient.toFixed(1)}/s per client; with --max-in-flight ${opts.maxInFlight} ` +
    `a client keeps up only while the latency stays below ${opts.maxInFlight}/${perClient.toFixed(1)} s = ${budgetMs.toFixed(1)} ms. ` +
    'Beyond that arrivals wait (schedule lag) or are dropped: add clients or raise --max-in-flight.'];
}
