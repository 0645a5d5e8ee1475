/**
 * The load run (closed schedule per client, DESIGN §6 `gatectl load`): connect all clients (paced by
 * the transport's dialer), Hello each, then a steady phase in which every client sends business
 * requests at `ratePerClient` on a fixed schedule for `durationMs`, then a drain that waits for
 * outstanding responses. Latency is measured from each request's scheduled send time, so a stalled
 * target or generator shows up as latency instead of hiding as fewer requests (wrk2's coordinated
 * omission argument).
 */
import os from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { getTransport } from '../transport/index.js';
import type { Dialer, TransportName } from '../transport/types.js';
import { InvalidInputError, TransportError } from '../errors.js';
import { encodeLatency, summarize } from '../metrics/histogram.js';
import { RUN_SCHEMA, type RunResult, type ServerResult, type TimeSeriesPoint } from '../metrics/result.js';
import { ClientMetrics } from './metrics.js';
import { LoadClient } from './client.js';

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

/** Options of one run. */
export interface LoadOptions {
  clients: number;
  /** steady-phase length, ms */
  durationMs: number;
  /** business requests per second per client */
  ratePerClient: number;
  /** business request payload, bytes */
  payloadBytes: number;
  /** per-connection connect timeout, ms */
  connectTimeoutMs: number;
  /** longest wait for outstanding responses after the steady phase, ms */
  drainTimeoutMs: number;
  /** label stored in the result (e.g. `sync`) */
  label: string;
  /** extra configuration recorded in the result */
  recordedConfig?: Record<string, unknown>;
}

/** What the progress display receives once per second. */
export interface ProgressTick {
  phase: 'connecting' | 'steady' | 'draining';
  elapsed_s: number;
  connected: number;
  clients: number;
  requests_per_s: number;
  responses_per_s: number;
  e2e_p99_us: number;
  errors: number;
}

/** Event-loop delay p99 above this (ms) marks a run generator_bound. */
export const GENERATOR_BOUND_ELD_P99_MS = 20;

/** Parses `quic://host:port` / `tcp://host:port`. Throws InvalidInputError naming the fix. */
export function parseTargetUrl(url: string): { transport: TransportName; host: string; port: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidInputError(`--target ${JSON.stringify(url)} is not a URL: use quic://HOST:PORT or tcp://HOST:PORT`);
  }
  const transport = u.protocol.replace(/:$/, '');
  if (transport !== 'quic' && transport !== 'tcp') {
    throw new InvalidInputError(`--target ${JSON.stringify(url)}: unsupported scheme ${JSON.stringify(u.protocol)}; use quic:// or tcp://`);
  }
  const port = Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidInputError(`--target ${JSON.stringify(url)} has no port: use ${transport}://HOST:PORT, e.g. ${transport}://127.0.0.1:4433`);
  }
  return { transport, host: u.hostname.replace(/^\[|\]$/g, ''), port };
}

/**
 * Runs the load against `target` and returns the RunResult.
 * Throws TransportError when no client could connect (the message names the target and the first
 * connect error).
 */
export async function runLoad(opts: LoadOptions, target: TargetHandle, onProgress?: (t: ProgressTick) => void): Promise<RunResult> {
  const { transport, host, port } = parseTargetUrl(target.url);
  const startedAt = new Date();
  const m = new ClientMetrics();
  const eld = monitorEventLoopDelay({ resolution: 10 });
  eld.enable();
  const dialer: Dialer = await getTransport(transport).createDialer({
    insecure: target.insecure, ca: target.ca, connectTimeoutMs: opts.connectTimeoutMs,
  });
  const payload = new Uint8Array(opts.payloadBytes);
  const clients: LoadClient[] = [];
  let connectFailures = 0;
  let helloFailures = 0;
  let firstConnectError: string | null = null;
  const tConnect = performance.now();
  let phase: ProgressTick['phase'] = 'connecting';
  let lastReq = 0;
  let lastResp = 0;
  let lastErr = 0;
  let steadyStart = 0;
  const series: TimeSeriesPoint[] = [];
  let peakRss = process.memoryUsage.rss();
  const tickTimer = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    const elapsed = performance.now() - (phase === 'connecting' ? tConnect : steadyStart);
    const req = m.requestsSent - lastReq;
    const resp = m.responses - lastResp;
    const err = m.errors - lastErr;
    lastReq = m.requestsSent; lastResp = m.responses; lastErr = m.errors;
    const p99 = m.e2eInterval.totalCount > 0 ? m.e2eInterval.getValueAtPercentile(99) : 0;
    m.e2eInterval.reset();
    if (phase === 'steady') {
      series.push({ t_s: Math.round(elapsed / 1000), connected: clients.length, requests: req, responses: resp, errors: err, e2e_p99_us: p99 });
    }
    onProgress?.({ phase, elapsed_s: Math.round(elapsed / 1000), connected: clients.length, clients: opts.clients,
      requests_per_s: req, responses_per_s: resp, e2e_p99_us: p99, errors: m.errors });
  }, 1000);

  try {
    // 1. connect + Hello, paced by the dialer
    await Promise.all(Array.from({ length: opts.clients }, async (_, i) => {
      const t = performance.now();
      let c: LoadClient;
      try {
        const conn = await dialer.dial(host, port);
        m.connect.recordValue(Math.max(0, Math.round((performance.now() - t) * 1000)));
        c = new LoadClient(i, conn, m, payload);
      } catch (err) {
        connectFailures++;
        firstConnectError ??= (err as Error).message;
        return;
      }
      const code = await c.hello(`user-${i + 1}`);
      if (code !== 200) {
        helloFailures++;
        void c.close(2000);
        return;
      }
      clients.push(c);
    }));
    if (clients.length === 0) {
      throw new TransportError(`no client could connect to ${target.url} (${connectFailures} connect failures, ${helloFailures} Hello failures)` +
        (firstConnectError !== null ? `: ${firstConnectError}` : ''));
    }

    // 2. steady phase: fixed schedule per client, phases spread over one interval
    await target.markSteadyStart();
    eld.reset();
    m.e2e.reset();
    m.scheduleLag.reset();
    phase = 'steady';
    steadyStart = performance.now();
    lastReq = m.requestsSent; lastResp = m.responses; lastErr = m.errors;
    const end = steadyStart + opts.durationMs;
    const interval = 1000 / opts.ratePerClient;
    await Promise.all(clients.map((c, i) => new Promise<void>((resolve) => {
      const start = steadyStart + (i / clients.length) * interval;
      let k = 0;
      const tick = (): void => {
        const now = performance.now();
        for (let due = start + k * interval; due <= now && due < end; due = start + k * interval) {
          c.send(due, now);
          k++;
        }
        const next = start + k * interval;
        if (next < end && !c.closed) setTimeout(tick, Math.max(0, next - performance.now()));
        else resolve();
      };
      setTimeout(tick, Math.max(0, start - performance.now()));
    })));
    const steadyMs = performance.now() - steadyStart;

    // 3. drain outstanding responses
    phase = 'draining';
    const drainEnd = performance.now() + opts.drainTimeoutMs;
    while (clients.some((c) => c.outstanding > 0 && !c.closed) && performance.now() < drainEnd) {
      await new Promise((r) => setTimeout(r, 10));
    }
    eld.disable();
    const server = await target.serverResult();
    const unanswered = clients.reduce((a, c) => a + c.outstanding, 0);
    const eldP99 = eld.percentile(99) / 1e6;
    const warnings: string[] = [];
    if (connectFailures > 0) warnings.push(`${connectFailures} of ${opts.clients} clients failed to connect: ${firstConnectError}`);
    if (helloFailures > 0) warnings.push(`${helloFailures} clients were refused at Hello`);
    const generatorBound = eldP99 > GENERATOR_BOUND_ELD_P99_MS;
    if (generatorBound) {
      warnings.push(`generator_bound: the load generator's event-loop delay p99 was ${eldP99.toFixed(1)} ms (> ${GENERATOR_BOUND_ELD_P99_MS} ms); ` +
        'latencies include the generator\'s own stalls. Use fewer clients or a lower rate.');
    }
    if (target.insecure && target.kind === 'remote') warnings.push('--insecure: the server certificate was not verified');
    const lagP99 = summarize(m.scheduleLag).p99_us;
    const steadyS = steadyMs / 1000;
    return {
      schema: RUN_SCHEMA,
      label: opts.label,
      started_at: startedAt.toISOString(),
      finished_at: new Date().toISOString(),
      steady_s: Math.round(steadyS * 1000) / 1000,
      config: {
        target: target.url, target_kind: target.kind, transport, clients: opts.clients, duration_ms: opts.durationMs,
        rate_per_client: opts.ratePerClient, payload_bytes: opts.payloadBytes, ...opts.recordedConfig,
      },
      environment: {
        node: process.version, platform: `${process.platform}-${process.arch}`, cpus: os.availableParallelism(),
        cpu_model: os.cpus()[0]?.model ?? 'unknown', total_mem_bytes: os.totalmem(),
      },
      client: {
        clients: opts.clients,
        connected: clients.length,
        connect_failures: connectFailures,
        hello_failures: helloFailures,
        requests_sent: m.requestsSent,
        responses: m.responses,
        notifies: m.notifies,
        unanswered,
        errors_by_code: m.errorsByCode,
        transport_errors: m.transportErrors,
        violations: { ...m.violations },
        responses_per_s: Math.round((m.responses / steadyS) * 10) / 10,
        requests_per_s: Math.round((m.requestsSent / steadyS) * 10) / 10,
        latency: { e2e: encodeLatency(m.e2e), connect: encodeLatency(m.connect), schedule_lag: encodeLatency(m.scheduleLag) },
      },
      generator: {
        event_loop_delay_p99_ms: Math.round(eldP99 * 100) / 100,
        event_loop_delay_max_ms: Math.round((eld.max / 1e6) * 100) / 100,
        generator_bound: generatorBound,
        peak_rss_bytes: Math.max(peakRss, process.memoryUsage.rss()),
      },
      server,
      timeseries: series,
      warnings: lagP99 > 50_000 ? [...warnings, `schedule lag p99 ${(lagP99 / 1000).toFixed(1)} ms: requests left late`] : warnings,
    };
  } finally {
    clearInterval(tickTimer);
    eld.disable();
    await Promise.all(clients.map((c) => c.close(2000)));
    await dialer.close();
  }
}
