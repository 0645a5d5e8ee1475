/**
 * The probes of issue 16, before and after, in one run: each round alternates a gateway built from
 * another checkout (`--before DIR`, e.g. `git archive <rev> | tar -x -C DIR`, its node_modules linked,
 * `npx tsc -p DIR`) with this one, so both sides share the machine's state at that moment. Figures
 * are ratios to a baseline run on the same gateway (2-core machine shared with other benchmarks).
 *
 *   node dist/test/hardening-probe.js hello   --before DIR          Hello-less sessions vs real clients
 *   node dist/test/hardening-probe.js big     --before DIR [--rounds 2] [--in-flight 4]
 *                                                                    others' p99 beside five big senders
 *   node dist/test/hardening-probe.js scrape  --before DIR [--rounds 3]
 *                                                                    load p99 with 200 concurrent /metrics scrapes
 *   node dist/test/hardening-probe.js cost    --before DIR          gateway event-loop time per /metrics scrape
 *   node dist/test/hardening-probe.js build                         work of one exposition build, cold and warm (this checkout)
 *
 * Normal load: 100 clients at 10 requests/s for 4 s from this process; the gateway in a child
 * process (`host`); hostile peers in a low-priority child (hostile-peers.ts). Without a known
 * command (as when `node --test` runs this file) it does nothing.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance, monitorEventLoopDelay } from 'node:perf_hooks';
import { loadOptions, repoRoot } from './support.js';
import { helloLessSessions, spawnPeer, type BigSenderOptions, type BigSenderResult, type ScrapeResult } from './hostile-peers.js';
import type { RunResult } from '../src/metrics/result.js';
import type { TargetHandle } from '../src/load/run.js';

type GatewayModule = typeof import('../src/gateway/index.js');
type ResolveModule = typeof import('../src/config/resolve.js');
type MonitorModule = typeof import('../src/monitor/server.js');
type LoadModule = typeof import('../src/load/run.js');
type TransportModule = typeof import('../src/transport/index.js');
type LogModule = typeof import('../src/log.js');
type StagesModule = typeof import('../src/metrics/stages.js');

const SELF = fileURLToPath(import.meta.url);
const FLAGS = {
  host: '127.0.0.1', port: 0, transport: 'quic', 'upstream-latency': '1ms', 'upstream-distribution': 'fixed',
  'before-notifies': 1, 'after-notifies': 1, mode: 'async', quota: 'off',
};

/** The modules of the checkout at `root` (its dist/). */
async function modules(root: string) {
  const m = (p: string) => import(path.join(root, 'dist/src', p));
  return {
    gateway: (await m('gateway/index.js')) as GatewayModule,
    resolve: (await m('config/resolve.js')) as ResolveModule,
    monitor: (await m('monitor/server.js')) as MonitorModule,
    log: (await m('log.js')) as LogModule,
    stages: (await m('metrics/stages.js')) as StagesModule,
  };
}

/** `host ROOT FLAGS`: a gateway (and its monitor) of checkout ROOT; prints its ports; ends when stdin closes. */
async function host(root: string, extra: Record<string, unknown>): Promise<void> {
  const { gateway, resolve, monitor, log } = await modules(root);
  const gw = new gateway.GatewayServer(resolve.resolveGatewayConfig({ ...FLAGS, ...extra } as never, {}), undefined, log.createLogger(false, 'gateway', 'warn'));
  await gw.start();
  const mon = await monitor.startMonitor(gw, '127.0.0.1', 0);
  process.stdout.write(`${JSON.stringify({ quic: gw.port, monitor: mon.url })}\n`);
  process.stdin.on('end', () => void mon.close().then(() => gw.stop(2000)).then(() => process.exit(0)));
  process.stdin.resume();
}

/** Starts `host` for `root` in a child process; `stop()` ends it. */
async function hostChild(root: string, extra: Record<string, unknown> = {}): Promise<{ target: TargetHandle; port: number; monitor: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [SELF, 'host', root, JSON.stringify(extra)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(String(d)));
    child.once('exit', (code) => reject(new Error(`host exited with ${code}`)));
  });
  const p = JSON.parse(line) as { quic: number; monitor: string };
  const target: TargetHandle = { url: `quic://127.0.0.1:${p.quic}`, kind: 'remote', insecure: true, markSteadyStart: async () => undefined, serverResult: async () => null };
  return { target, port: p.quic, monitor: p.monitor, stop: async () => { child.stdin.end(); await new Promise((r) => child.once('exit', r)); } };
}

/** This checkout's load engine (loaded when a probe runs, not when `node --test` imports the file). */
const loader = { runLoad: async (...a: Parameters<LoadModule['runLoad']>) => ((await import(path.join(repoRoot, 'dist/src/load/run.js'))) as LoadModule).runLoad(...a) };
const load = loader;
const normal = () => loadOptions('probe', { clients: 100, 'rate-per-client': '10', duration: '4s' });
const ms = (us: number) => `${(us / 1000).toFixed(1)} ms`;
const e2e = (r: RunResult) => r.client.latency.e2e.summary;

/** Both sides, alternating, `rounds` times: `run(side, root)` prints one line per call. */
async function alternate(before: string, rounds: number, run: (side: string, root: string) => Promise<void>): Promise<void> {
  for (let i = 0; i < rounds; i++) for (const [side, root] of [['before', before], ['after', repoRoot]] as const) await run(`round ${i + 1} ${side}`, root);
}

async function probeBig(before: string, rounds: number, inFlight: number): Promise<void> {
  const shapes: [string, Partial<BigSenderOptions>, Partial<BigSenderOptions>][] = [
    ['1 MiB payloads', { payloadBytes: 1024 * 1024 - 200 }, { payloadBytes: 1024 * 1024 - 200 }],
    ['largest frames the gateway accepts (64 KiB after)', { payloadBytes: 64 * 1024 - 200 }, { payloadBytes: 64 * 1024 - 200 }],
    ['headers maps of 29,000 entries (before) / 2,900, the most a 64 KiB frame holds (after)', { payloadBytes: 0, headerEntries: 29_000 }, { payloadBytes: 0, headerEntries: 2_900 }],
  ];
  for (const [shape, b, a] of shapes) {
    console.log(`-- 5 big senders (${inFlight} in flight each), ${shape}`);
    await alternate(before, rounds, async (side, root) => {
      const h = await hostChild(root);
      try {
        await load.runLoad(loadOptions('warm-up', { clients: 20, duration: '1s' }), h.target);
        const base = await load.runLoad(normal(), h.target);
        const peer = spawnPeer<BigSenderResult>('big-senders', { port: h.port, senders: 5, inFlight, durationMs: 8000, payloadBytes: 0, ...(root === before ? b : a) });
        await new Promise((r) => setTimeout(r, 1000));
        const loaded = await load.runLoad(normal(), h.target);
        const big = await peer.result;
        console.log(`${side}: others' p50/p99 ${ms(e2e(base).p50_us)}/${ms(e2e(base).p99_us)} → ${ms(e2e(loaded).p50_us)}/${ms(e2e(loaded).p99_us)} (p99 x${(e2e(loaded).p99_us / e2e(base).p99_us).toFixed(2)}), ` +
          `${loaded.client.responses}/${loaded.client.requests_sent} answered; big senders: ${big.responses} answers, errors ${JSON.stringify(big.errors)}`);
      } finally {
        await h.stop();
      }
    });
  }
}

async function probeScrape(before: string, rounds: number): Promise<void> {
  console.log('-- load p99 without and with 200 concurrent /metrics scrapes (1.2 s into the run)');
  await alternate(before, rounds, async (side, root) => {
    const h = await hostChild(root);
    try {
      await load.runLoad(loadOptions('warm-up', { clients: 20, duration: '1s' }), h.target);
      const base = await load.runLoad(normal(), h.target);
      const loading = load.runLoad(normal(), h.target);
      await new Promise((r) => setTimeout(r, 1200));
      const sc = await spawnPeer<ScrapeResult>('scrape', { url: `${h.monitor}/metrics`, concurrent: 200, rounds: 1, pauseMs: 0 }, 120_000).result;
      const loaded = await loading;
      console.log(`${side}: p99 ${ms(e2e(base).p99_us)} → ${ms(e2e(loaded).p99_us)} (x${(e2e(loaded).p99_us / e2e(base).p99_us).toFixed(2)}); ${sc.ok}/200 scrapes ok, slowest ${Math.max(...sc.durationsMs).toFixed(0)} ms`);
    } finally {
      await h.stop();
    }
  });
}

async function probeCost(before: string): Promise<void> {
  console.log('-- gateway event-loop time per /metrics scrape (gateway and monitor in this process, 10 stages x 200,000 values)');
  for (const [side, root] of [['before', before], ['after', repoRoot]] as const) {
    const { gateway, resolve, monitor, log, stages } = await modules(root);
    const gw = new gateway.GatewayServer(resolve.resolveGatewayConfig(FLAGS as never, {}), undefined, log.silentLogger);
    for (const s of stages.SERVER_STAGES) for (let i = 0; i < 200_000; i++) gw.stages.record(s, Math.exp(Math.random() * 14));
    const mon = await monitor.startMonitor(gw, '127.0.0.1', 0);
    const measure = async (concurrent: number, rounds: number, pauseMs: number) => {
      const e0 = performance.eventLoopUtilization();
      const eld = monitorEventLoopDelay({ resolution: 1 });
      eld.enable();
      const r = await spawnPeer<ScrapeResult>('scrape', { url: `${mon.url}/metrics`, concurrent, rounds, pauseMs }, 300_000).result;
      eld.disable();
      return { busyMs: performance.eventLoopUtilization(e0).active, r, stallMs: eld.max / 1e6 };
    };
    const idle = (await measure(0, 1, 0)).busyMs; // the scraper child's own cost on this loop
    for (const [c, n, p] of [[1, 200, 0], [200, 1, 0], [1, 5, 1100]] as const) {
      const m = await measure(c, n, p);
      console.log(`${side}: ${c * n} scrapes (${c} at once${p > 0 ? `, ${p} ms apart: each one a fresh build` : ''}): ${m.r.ok} ok, ` +
        `${((m.busyMs - idle) / (c * n)).toFixed(3)} ms of the gateway's loop per scrape, longest stall ${m.stallMs.toFixed(1)} ms, slowest scrape ${Math.max(...m.r.durationsMs).toFixed(0)} ms`);
    }
    await mon.close();
  }
}

async function probeBuild(): Promise<void> {
  const { gateway, resolve, log, stages } = await modules(repoRoot);
  const { Exposition, createGatewayRegistry } = (await import(path.join(repoRoot, 'dist/src/monitor/prometheus.js'))) as typeof import('../src/monitor/prometheus.js');
  for (const [label, value] of [['stages of 20,000 values from 0.1 to 20 ms', () => 100 + Math.random() * 20_000], ['stages of 20,000 values from 1 µs to 1.2 s', () => Math.exp(Math.random() * 14)]] as const) {
    const gw = new gateway.GatewayServer(resolve.resolveGatewayConfig(FLAGS as never, {}), undefined, log.silentLogger);
    await gw.start();
    for (const s of stages.SERVER_STAGES) for (let i = 0; i < 20_000; i++) gw.stages.record(s, value());
    const e = new Exposition((st) => createGatewayRegistry(gw, st));
    const work: number[] = [];
    const slices: number[] = [];
    for (let k = 0; k < 60; k++) {
      await e.build();
      work.push(e.stats.last_build_ms);
      slices.push(e.stats.last_longest_slice_ms);
      await new Promise((r) => setTimeout(r, 5));
    }
    const warm = work.slice(10).sort((a, b) => a - b);
    console.log(`${label}: first build ${work[0]!.toFixed(2)} ms of work, then median ${warm[Math.floor(warm.length / 2)]!.toFixed(2)} ms, max ${warm.at(-1)!.toFixed(2)} ms; longest run of work between two yields: median ${[...slices.slice(10)].sort((a, b) => a - b)[25]!.toFixed(2)} ms, max ${Math.max(...slices.slice(10)).toFixed(2)} ms`);
    await gw.stop(1000);
  }
}

async function probeHello(before: string): Promise<void> {
  console.log('-- --max-sessions 200: 200 connections that only send Heartbeats, then 20 real clients');
  for (const [side, root] of [['before', before], ['after', repoRoot]] as const) {
    const h = await hostChild(root, { 'max-sessions': 200 });
    const transport = (await import(path.join(repoRoot, 'dist/src/transport/index.js'))) as TransportModule;
    const dialer = await transport.getTransport('quic').createDialer({ insecure: true, connectTimeoutMs: 10_000 });
    try {
      const bad = await helloLessSessions(dialer, h.port, 200, 1000);
      await new Promise((r) => setTimeout(r, 500));
      let line: string;
      try {
        const r = await load.runLoad(loadOptions('real', { clients: 20, 'rate-per-client': '10', duration: '2s', 'connect-timeout': '5s' }), h.target);
        line = `${r.client.connected}/20 real clients connected, ${r.client.responses}/${r.client.requests_sent} answered, e2e p99 ${ms(e2e(r).p99_us)}`;
      } catch (err) {
        line = `the load failed: ${(err as Error).message}`;
      }
      console.log(`${side}: ${line}; Hello-less connections still open: ${bad.conns.filter((c) => !c.closed).length}/200`);
      await bad.stop();
    } finally {
      await dialer.close();
      await h.stop();
    }
  }
}

const command = process.argv[2];
if (process.argv[1] === SELF && command === 'host') {
  await host(process.argv[3]!, JSON.parse(process.argv[4] ?? '{}') as Record<string, unknown>);
} else if (process.argv[1] === SELF && command === 'build') {
  await probeBuild();
  process.exit(0);
} else if (process.argv[1] === SELF && (command === 'hello' || command === 'big' || command === 'scrape' || command === 'cost')) {
  const { values } = parseArgs({ args: process.argv.slice(3), options: { before: { type: 'string' }, rounds: { type: 'string' }, 'in-flight': { type: 'string' } } });
  if (values.before === undefined) {
    console.error('give --before DIR: a built checkout of the gateway to compare with (see the top of this file)');
    process.exit(2);
  }
  const before = path.resolve(values.before);
  const rounds = Number(values.rounds ?? (command === 'scrape' ? 3 : 2));
  if (command === 'hello') await probeHello(before);
  else if (command === 'big') await probeBig(before, rounds, Number(values['in-flight'] ?? 4));
  else if (command === 'scrape') await probeScrape(before, rounds);
  else await probeCost(before);
  process.exit(0);
}
