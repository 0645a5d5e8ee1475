/**
 * The bounded soak (issue 7 §6, `gatectl bench soak`, `npm run soak`): well-behaved clients on the in-process gateway for
 * a fixed time while a few misbehaving clients inject the faults the gateway must survive —
 * garbage frames, clients that stop reading (slow consumers), silent sessions (idle timeout),
 * connections that never say Hello, connect floods, bursts of random and truncated datagrams, and
 * floods of Initials that replay one Retry token under fresh connection ids. It passes when the well-behaved clients
 * lose no response and see no reorder, gap or duplicate, every fault was actually injected and
 * handled (counted by the gateway or its QUIC listener), the well-behaved clients' e2e p99 stays
 * below 100 ms, and the gateway process's RSS grows less than 10% from minute 2 to the end. RSS is
 * sampled every 5 s; one sample swings by ±10% with garbage collection, so the check compares the
 * median of minute 2 (120–180 s; for a shorter run the second fifth) with the median of the run's
 * last minute (last fifth), both before the gateway stops.
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { startInProcessGateway } from '../../gateway/in-process.js';
import { resolveGatewayConfig, type GatewayFlags } from '../../config/resolve.js';
import { runLoad, type LoadOptions } from '../../load/run.js';
import { getTransport } from '../../transport/index.js';
import type { Connection } from '../../transport/types.js';
import { ClientMessageType } from '../../protocol/index.js';
import type { RunResult } from '../../metrics/result.js';
import { benchEnvironment, type BenchEnvironment } from '../environment.js';
import { cliLoadOptions } from '../load-options.js';
import { InvalidInputError } from '../../errors.js';
import { parseDurationMs } from '../../duration.js';
import { runStateDir } from '../../state-dir.js';
import { fetchRetryToken, garbageDatagrams, replayedTokenInitials, sendAll, udpSocket } from './datagrams.js';

/** Soak options. Durations in ms. */
export interface SoakOptions {
  /** length of the steady phase, ms */
  durationMs: number;
  /** well-behaved clients */
  clients: number;
  /** total requests/s of the well-behaved clients */
  rate: number;
  /** generator processes for the well-behaved clients */
  workers: number;
  /** the gateway's idle timeout (silent sessions are closed after it), ms */
  idleTimeoutMs: number;
}

/** Defaults (`gatectl bench soak` with no flags): 10 min, 2000 clients, 500 requests/s in total, 2 generator processes, idle timeout 30 s. */
export const DEFAULT_SOAK_OPTIONS: Readonly<SoakOptions> = Object.freeze({ durationMs: 600_000, clients: 2000, rate: 500, workers: 2, idleTimeoutMs: 30_000 });

/** The soak's flags as oclif parses them (src/commands/bench/soak.ts); an absent one takes its default. */
export interface SoakFlags {
  /** e.g. `10m` (default), `90s` */
  duration?: string;
  clients?: number;
  /** total requests/s, e.g. `500` */
  rate?: string;
  workers?: number;
  /** e.g. `30s` (default) */
  'idle-timeout'?: string;
}

/**
 * Validated options from the flags (durations in src/duration.ts's grammar). Throws
 * InvalidInputError naming the flag, the value and the fix.
 */
export function soakOptionsFromFlags(f: SoakFlags): SoakOptions {
  const d = DEFAULT_SOAK_OPTIONS;
  const rate = f.rate === undefined ? d.rate : Number(f.rate);
  if (!Number.isFinite(rate) || rate <= 0 || rate > 1_000_000 || f.rate?.trim() === '') {
    throw new InvalidInputError(`--rate ${JSON.stringify(f.rate)} is not valid: use the total requests/s of the well-behaved clients, above 0 and at most 1000000, e.g. 500`);
  }
  const o: SoakOptions = {
    durationMs: f.duration === undefined ? d.durationMs : parseDurationMs(f.duration, '--duration', { maxMs: MAX_SOAK_MS, limitHint: 'a soak runs at most 24h' }),
    clients: f.clients ?? d.clients,
    rate,
    workers: f.workers ?? d.workers,
    idleTimeoutMs: f['idle-timeout'] === undefined ? d.idleTimeoutMs : parseDurationMs(f['idle-timeout'], '--idle-timeout', { maxMs: 3_600_000, limitHint: 'use at most 1h' }),
  };
  if (!Number.isInteger(o.clients) || o.clients < 1) throw new InvalidInputError(`--clients ${o.clients} is not valid: use a whole number of at least 1, e.g. 2000`);
  if (!Number.isInteger(o.workers) || o.workers < 1 || o.workers > 64) throw new InvalidInputError(`--workers ${o.workers} is not valid: use 1..64 generator processes`);
  return o;
}

/** Longest soak, ms (24 h). */
const MAX_SOAK_MS = 86_400_000;

/**
 * The well-behaved clients' LoadOptions: `gatectl load`'s defaults (../load-options.ts) with the
 * soak's clients, rate, duration and generator processes, 64-byte payloads, heartbeats every 10 s,
 * a 30 s connect timeout and a 15 s drain.
 */
export function soakLoadOptions(opts: SoakOptions): LoadOptions {
  return {
    ...cliLoadOptions({ clients: opts.clients, durationMs: opts.durationMs, rate: opts.rate, payloadBytes: 64, label: 'soak' }),
    workers: opts.workers, heartbeatMs: 10_000, connectTimeoutMs: 30_000, drainTimeoutMs: 15_000,
  };
}

/** Fault counts injected by the misbehaving clients. */
export interface FaultsInjected {
  garbage_connections: number;
  slow_consumers: number;
  silent_sessions: number;
  no_hello_connections: number;
  flood_connections: number;
  /** random, truncated and 7-byte 0-RTT datagrams sent at the listener */
  garbage_datagrams: number;
  /** Initials that replayed a real Retry token under fresh destination connection ids */
  replayed_token_initials: number;
}

/** Soaks shorter than this (ms) do not check the Hello deadline (10 s by default, the first fault after 10 s). */
const HELLO_DEADLINE_CHECK_MIN_MS = 30_000;

/** The well-behaved clients' e2e p99 (µs) under the fault mix must stay below this (issue 13). */
export const SOAK_E2E_P99_LIMIT_US = 100_000;

/** The soak's outcome (`schema: gatectl.soak/v1`). RSS in bytes, times in s. */
export interface SoakResult {
  schema: 'gatectl.soak/v1';
  started_at: string;
  finished_at: string;
  command: string;
  options: SoakOptions;
  environment: BenchEnvironment;
  faults_injected: FaultsInjected;
  /** the gateway's counters at the end (frame_errors, slow_consumer_closes, idle_closes, …) */
  gateway_counters: Record<string, unknown>;
  /** the gateway listener's QUIC counters at the end (invalid_datagrams by reason, retries_sent, …) */
  gateway_transport: Record<string, number | Record<string, number>> | null;
  /** RSS once per 5 s: [seconds since start, bytes] */
  rss_samples: [number, number][];
  /**
   * whose RSS `rss_samples` holds: the gateway's own process (the in-process target is a child
   * process, read from /proc/<pid>/status), or this process where /proc is not readable (then the
   * gateway is not in it and the RSS check says so). Absent in results before 2026-12-02: this
   * process, which then held the gateway on a worker thread.
   */
  rss_process?: 'gateway' | 'generator';
  /** the gateway's used V8 heap once per 5 s: [seconds since start, bytes] (tells JS objects from native memory) */
  gateway_heap_samples: [number, number][];
  rss_baseline_bytes: number;
  rss_baseline_at_s: number;
  rss_end_bytes: number;
  rss_growth: number;
  /** the well-behaved clients' run */
  run: RunResult;
  checks: { name: string; ok: boolean; detail: string }[];
  passed: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RSS of process `pid` from /proc/<pid>/status (`VmRSS`, Linux), bytes; null where that is not readable. */
export async function processRssBytes(pid: number): Promise<number | null> {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]) * 1024;
  } catch {
    return null;
  }
}

/**
 * Runs the soak. `onLine` receives progress lines. Throws what the gateway or the load run throws
 * at start (e.g. TransportError); fault-client failures are counted, never thrown.
 */
export async function runSoak(opts: SoakOptions, command: string, onLine: (l: string) => void = () => undefined): Promise<SoakResult> {
  const startedAt = new Date().toISOString();
  const flags: GatewayFlags = {
    host: '127.0.0.1', port: 0, transport: 'quic', mode: 'async', 'upstream-latency': '5ms', 'upstream-distribution': 'exponential',
    'before-notifies': 1, 'after-notifies': 1, 'idle-timeout': `${opts.idleTimeoutMs}ms`, 'session-buffer-limit': 200, 'write-stall-timeout': '5s',
  };
  const gw = await startInProcessGateway(resolveGatewayConfig(flags, {}, runStateDir()));
  const url = new URL(gw.url);
  const port = Number(url.port);
  const faults: FaultsInjected = {
    garbage_connections: 0, slow_consumers: 0, silent_sessions: 0, no_hello_connections: 0, flood_connections: 0,
    garbage_datagrams: 0, replayed_token_initials: 0,
  };
  const raw = await udpSocket();
  const dialer = await getTransport('quic').createDialer({ insecure: true, connectTimeoutMs: 10_000 });
  const t0 = performance.now();
  const end = t0 + opts.durationMs;
  const rss: [number, number][] = [];
  const heap: [number, number][] = [];
  const rssProcess: 'gateway' | 'generator' = (await processRssBytes(gw.pid)) === null ? 'generator' : 'gateway';
  const sampleRss = async (t: number): Promise<void> => {
    const bytes = rssProcess === 'gateway' ? await processRssBytes(gw.pid) : process.memoryUsage.rss();
    if (bytes !== null) rss.push([t, bytes]);
  };
  const sampler = setInterval(() => {
    const t = Math.round((performance.now() - t0) / 1000);
    sampleRss(t).catch(() => undefined);
    gw.heap().then((h) => heap.push([t, h.used_heap_size]), () => undefined);
  }, 5_000);
  const held = new Set<Connection>();
  const open = async (): Promise<Connection | null> => {
    try {
      const c = await dialer.dial('127.0.0.1', port);
      held.add(c);
      c.setHandlers({ data: () => undefined, close: () => held.delete(c) });
      return c;
    } catch {
      return null;
    }
  };
  const hello = (c: Connection, user: string) => c.write(ClientMessageType.encodeDelimited({ msgId: 1, hello: { userId: user, token: 't' } })).catch(() => undefined);
  const every = (periodMs: number, fault: () => Promise<void>): Promise<void> => (async () => {
    await sleep(Math.min(periodMs / 2, 5_000));
    while (performance.now() < end - 3_000) {
      await fault().catch(() => undefined);
      await sleep(periodMs);
    }
  })();
  const payload = new Uint8Array(32 * 1024);
  const misbehaving = Promise.all([
    // a frame whose length prefix is a 10-byte varint: the decoder's varint error closes only this connection
    every(5_000, async () => {
      const c = await open();
      if (c === null) return;
      faults.garbage_connections++;
      await c.write(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).catch(() => undefined);
    }),
    // a client that says Hello, stops reading and keeps asking for 32 KiB answers
    every(30_000, async () => {
      const c = await open();
      if (c === null || c.stopReading === undefined) return;
      faults.slow_consumers++;
      await hello(c, `slow-${faults.slow_consumers}`);
      await sleep(200);
      c.stopReading();
      for (let i = 1; i <= 2000 && held.has(c); i++) {
        await c.write(ClientMessageType.encodeDelimited({ msgId: 1 + i, seqId: i, business: { action: 'business', payload } })).catch(() => undefined);
        if (i % 50 === 0) await sleep(10);
      }
    }),
    // a session that says Hello, then nothing: closed by the idle timeout
    every(20_000, async () => {
      const c = await open();
      if (c === null) return;
      faults.silent_sessions++;
      await hello(c, `silent-${faults.silent_sessions}`);
    }),
    // a connection that never says Hello
    every(20_000, async () => {
      const c = await open();
      if (c === null) return;
      faults.no_hello_connections++;
      await c.write(ClientMessageType.encodeDelimited({ heartbeat: { clientTimeMs: Date.now() } })).catch(() => undefined);
    }),
    // a burst of 50 connections opened and dropped at once
    every(10_000, async () => {
      const cs = await Promise.all(Array.from({ length: 50 }, () => open()));
      faults.flood_connections += cs.filter((c) => c !== null).length;
      await Promise.all(cs.map((c) => c?.close(0, 'flood', 1000)));
    }),
    // 200 datagrams that are not QUIC or are cut short, the 7-byte 0-RTT datagram among them
    every(10_000, async () => {
      const burst = garbageDatagrams(port, 200);
      await sendAll(raw, port, burst);
      faults.garbage_datagrams += burst.length;
    }),
    // one real Retry token replayed in 300 Initials under fresh connection ids
    every(15_000, async () => {
      const token = await fetchRetryToken(raw, port);
      if (token === null) return;
      const flood = replayedTokenInitials(token, 300);
      await sendAll(raw, port, flood);
      faults.replayed_token_initials += flood.length;
    }),
  ]);
  let run: RunResult;
  try {
    run = await runLoad(soakLoadOptions(opts), gw, (t) => { if (t.elapsed_s % 30 === 0) onLine(`${t.phase} ${t.elapsed_s}s: ${t.connected} connected, ${t.responses_per_s} resp/s, errors ${t.errors}`); });
    await misbehaving;
    // the end sample is taken while everything still runs (stopping the gateway frees memory)
    await sampleRss(Math.round((performance.now() - t0) / 1000));
  } finally {
    clearInterval(sampler);
    await Promise.all([...held].map((c) => c.close(0, 'soak done', 1000)));
    await dialer.close();
    raw.close();
  }
  const snap = await gw.serverResult();
  await gw.stop();
  rss.sort((a, b) => a[0] - b[0]);
  const endS = rss[rss.length - 1]![0];
  const win = Math.min(60, Math.max(5, endS / 5));
  const baseFrom = Math.min(120, endS / 5);
  const median = (from: number, to: number): [number, number] => {
    const xs = rss.filter(([t]) => t >= from && t < to).map(([, b]) => b).sort((a, b) => a - b);
    return [from, xs.length === 0 ? rss[0]![1] : xs[Math.floor(xs.length / 2)]!];
  };
  const base = median(baseFrom, baseFrom + win);
  const last = median(endS - win, endS + 1);
  const growth = (last[1] - base[1]) / base[1];
  const counters = (snap?.counters ?? {}) as Record<string, unknown>;
  const transport = snap?.transport;
  const invalid = (typeof transport?.invalid_datagrams === 'object' ? transport.invalid_datagrams : {}) as Record<string, number>;
  const droppedDatagrams = Object.values(invalid).reduce((a, b) => a + b, 0);
  const c = run.client;
  const frameErrors = Object.values((counters.frame_errors ?? {}) as Record<string, number>).reduce((a, b) => a + b, 0);
  const checks = [
    { name: 'no lost responses', ok: c.unanswered === 0 && c.responses === c.requests_sent, detail: `${c.responses}/${c.requests_sent} answered, ${c.unanswered} unanswered` },
    { name: 'no reorders, gaps or duplicates', ok: c.violations.reorders + c.violations.gaps + c.violations.duplicates + c.violations.notify_order_violations === 0, detail: JSON.stringify(c.violations) },
    { name: 'no well-behaved client dropped', ok: c.connected === opts.clients && Object.keys(c.transport_errors).length === 0, detail: `${c.connected}/${opts.clients} connected, transport errors ${JSON.stringify(c.transport_errors)}` },
    { name: 'garbage frames closed their connections', ok: faults.garbage_connections === 0 || frameErrors >= 1, detail: `${faults.garbage_connections} injected, frame_errors ${JSON.stringify(counters.frame_errors)}` },
    { name: 'slow consumers closed', ok: faults.slow_consumers === 0 || Number(counters.slow_consumer_closes) >= 1, detail: `${faults.slow_consumers} injected, slow_consumer_closes ${String(counters.slow_consumer_closes)}` },
    { name: 'silent sessions closed by the idle timeout', ok: faults.silent_sessions === 0 || opts.durationMs < opts.idleTimeoutMs * 2 || Number(counters.idle_closes) >= 1, detail: `${faults.silent_sessions} injected, idle_closes ${String(counters.idle_closes)}` },
    { name: 'connections without Hello closed at the Hello deadline', ok: faults.no_hello_connections === 0 || opts.durationMs < HELLO_DEADLINE_CHECK_MIN_MS || Number(counters.hello_timeouts) >= 1, detail: `${faults.no_hello_connections} injected, hello_timeouts ${String(counters.hello_timeouts)}` },
    { name: 'garbage datagrams dropped and counted by the listener', ok: faults.garbage_datagrams === 0 || droppedDatagrams >= faults.garbage_datagrams / 2, detail: `${faults.garbage_datagrams} sent, invalid_datagrams ${JSON.stringify(invalid)}` },
    { name: 'replayed retry tokens opened no connection', ok: faults.replayed_token_initials === 0 || (invalid.token_dcid_mismatch ?? 0) >= faults.replayed_token_initials, detail: `${faults.replayed_token_initials} sent, token_dcid_mismatch ${invalid.token_dcid_mismatch ?? 0}` },
    { name: 'well-behaved e2e p99 below 100 ms', ok: c.latency.e2e.summary.p99_us < SOAK_E2E_P99_LIMIT_US, detail: `p99 ${(c.latency.e2e.summary.p99_us / 1000).toFixed(1)} ms` },
    { name: 'RSS grew less than 10%', ok: growth < 0.1, detail: `${rssProcess === 'gateway' ? 'gateway process' : 'this process (no /proc: the gateway\'s own RSS was not readable)'}: median ${(base[1] / 2 ** 20).toFixed(1)} MiB over ${base[0]}–${base[0] + win} s → median ${(last[1] / 2 ** 20).toFixed(1)} MiB over ${last[0]}–${endS} s (${(growth * 100).toFixed(1)}%)` },
  ];
  return {
    schema: 'gatectl.soak/v1',
    started_at: startedAt,
    finished_at: new Date().toISOString(),
    command,
    options: opts,
    environment: benchEnvironment(),
    faults_injected: faults,
    gateway_counters: counters,
    gateway_transport: transport ?? null,
    rss_samples: rss,
    rss_process: rssProcess,
    gateway_heap_samples: heap,
    rss_baseline_bytes: base[1],
    rss_baseline_at_s: base[0],
    rss_end_bytes: last[1],
    rss_growth: growth,
    run,
    checks,
    passed: checks.every((k) => k.ok),
  };
}
