/**
 * The VineQueue benchmark (seed 002 "性能基准", `gatectl bench vinequeue`): V1 (defaultConfig) and V2 (v2Config) in the same run,
 * each in its own child process (so memory and CPU are its own), against a sink that acknowledges at
 * once — the queue is measured, not a downstream. Three cells per variant, each `seconds` long:
 *
 * - `single`: one producer awaiting each enqueue in a loop (seed "单线程QPS");
 * - `concurrent`: `producers` (default 100) such loops on the same event loop (seed "并发QPS (100线程)";
 *   Node has one event loop, so these are 100 interleaved async producers, not threads);
 * - `fixed`: an open loop offering `rate` items/s in 1 ms ticks, for CPU and latency at equal load.
 *
 * Per cell: accepted enqueues/s, enqueue latency (call to resolution, µs, HDR histogram via
 * src/metrics/histogram.ts), peak RSS and heap (sampled), CPU (process.cpuUsage over wall time, % of one
 * core, and CPU µs per 1000 items). After each cell the queue is stopped and sent_total checked against
 * enqueued_total.
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createHistogram, encodeLatency, recordUs, type EncodedLatency } from '../../metrics/histogram.js';
import { GatectlError, InvalidInputError } from '../../errors.js';
import { defaultConfig, v2Config, type VineQueueConfig } from '../../vinequeue/config.js';
import { create } from '../../vinequeue/queue.js';
import { benchEnvironment, type BenchEnvironment } from '../environment.js';

/** Result schema id. */
export const BENCH_SCHEMA = 'gatectl.vinequeue-bench/v1';

/** Benchmark options. */
export interface BenchOptions {
  /** seconds per cell (default 3) */
  seconds: number;
  /** producers of the concurrent cell (default 100, as the seed) */
  producers: number;
  /** offered items/s of the fixed-rate cell (default 20000) */
  rate: number;
  /** WAL on (in a temporary directory, fsync interval) for both variants (default false) */
  wal: boolean;
}

/** Default options: 3 s per cell, 100 producers, 20000 items/s fixed rate, WAL off. */
export const DEFAULT_BENCH_OPTIONS: Readonly<BenchOptions> = Object.freeze({ seconds: 3, producers: 100, rate: 20_000, wal: false });

/** Cell names. */
export type CellName = 'single' | 'concurrent' | 'fixed';

/** What one cell measured. */
export interface CellResult {
  cell: CellName;
  /** producers (fixed cell: 1 open-loop ticker) */
  producers: number;
  /** measured wall time of the cell, s */
  duration_s: number;
  /** enqueues that resolved (accepted) */
  enqueued: number;
  /** enqueues refused (VineQueueFullError / BackpressureError …) */
  rejected: number;
  /** accepted enqueues per second */
  qps: number;
  /** enqueue call → resolution, µs */
  latency: EncodedLatency;
  /** peak process RSS during the cell, bytes */
  peak_rss_bytes: number;
  /** peak V8 heap used during the cell, bytes */
  peak_heap_used_bytes: number;
  /** user+system CPU time over wall time, % of one core */
  cpu_percent: number;
  /** CPU time per 1000 accepted items, µs */
  cpu_us_per_1000: number;
  /** items the sink acknowledged by the end of stop() (should equal enqueued) */
  sent_total: number;
  /** batches the sink acknowledged */
  batches_sent_total: number;
}

/** One variant's cells. */
export interface VariantResult {
  variant: 'v1' | 'v2';
  /** the config fields that differ between V1 and V2, as run */
  config: Pick<VineQueueConfig, 'architecture' | 'batchSize' | 'flushIntervalMs' | 'memoryQueueSize' | 'processorPoolSize' | 'senderPoolSize' | 'useZeroCopy' | 'enableCircuitBreaker' | 'enableBackpressure' | 'enableWal'>;
  /** process RSS before the first cell, bytes */
  baseline_rss_bytes: number;
  cells: CellResult[];
}

/** The whole benchmark result (JSON file). */
export interface VineBenchResult {
  schema: typeof BENCH_SCHEMA;
  created_at: string;
  /** the command line that produced it */
  command: string;
  environment: BenchEnvironment;
  options: BenchOptions;
  variants: [VariantResult, VariantResult];
}

/** Seed 002 "性能基准" table (16 cores, 32 GB): quoted as claims, never as measurements. */
export const SEED_002_CLAIMS = Object.freeze({
  machine: '16-core CPU, 32 GB (seed 002)',
  single_qps: { v1: '50,000', v2: '150,000', factor: '3x' },
  concurrent_qps: { v1: '200,000', v2: '800,000', factor: '4x' },
  p99: { v1: '5ms', v2: '0.5ms', factor: '10x' },
  memory: { v1: '500MB', v2: '300MB', factor: '40%↓' },
  cpu: { v1: '60%', v2: '35%', factor: '42%↓' },
});

/** The sample item: one gateway event, the same object every time (the queue is measured, not allocation). */
const ITEM = Object.freeze({ session_id: 'bench-session', action: 'business', code: 200, upstream_latency_us: 5000, business_latency_us: 5200, ts_ms: 0 });

function configFor(variant: 'v1' | 'v2', walDir: string | null): VineQueueConfig {
  const c = variant === 'v1' ? defaultConfig() : v2Config();
  return walDir === null ? c : { ...c, enableWal: true, walDir, walFsync: 'interval' };
}

/**
 * Runs one cell in this process (the child calls it). Returns its measurements.
 * @param walDir WAL directory for this cell, or null for WAL off
 */
export async function runCell(variant: 'v1' | 'v2', cell: CellName, opts: BenchOptions, walDir: string | null): Promise<CellResult> {
  const q = create<typeof ITEM>(configFor(variant, walDir), async () => undefined);
  await q.start();
  const h = createHistogram();
  let enqueued = 0;
  let rejected = 0;
  let peakRss = 0;
  let peakHeap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    if (m.rss > peakRss) peakRss = m.rss;
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
  };
  sample();
  const durMs = opts.seconds * 1000;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + durMs;
  if (cell === 'fixed') {
    const perMs = opts.rate / 1000;
    let issued = 0;
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const now = performance.now();
        if (now >= end) { clearInterval(tick); resolve(); return; }
        sample();
        const target = Math.floor((now - t0) * perMs);
        for (; issued < target; issued++) {
          const s = performance.now();
          q.enqueue(ITEM).then(() => { enqueued++; recordUs(h, (performance.now() - s) * 1000); }, () => { rejected++; });
        }
      }, 1);
    });
  } else {
    const producers = cell === 'single' ? 1 : opts.producers;
    const loop = async () => {
      while (performance.now() < end) {
        const s = performance.now();
        try {
          await q.enqueue(ITEM);
          enqueued++;
          recordUs(h, (performance.now() - s) * 1000);
        } catch {
          rejected++;
        }
        if (((enqueued + rejected) & 4095) === 0) sample();
      }
    };
    await Promise.all(Array.from({ length: producers }, loop));
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  sample();
  await q.stop({ timeoutMs: 30_000 });
  const m = q.getMetrics();
  const cpuUs = cpu.user + cpu.system;
  return {
    cell, producers: cell === 'single' ? 1 : cell === 'concurrent' ? opts.producers : 1,
    duration_s: wallMs / 1000, enqueued, rejected, qps: enqueued / (wallMs / 1000), latency: encodeLatency(h),
    peak_rss_bytes: peakRss, peak_heap_used_bytes: peakHeap,
    cpu_percent: (cpuUs / (wallMs * 1000)) * 100, cpu_us_per_1000: enqueued === 0 ? 0 : (cpuUs / enqueued) * 1000,
    sent_total: m.sent_total, batches_sent_total: m.batches_sent_total,
  };
}

/** Runs the three cells of one variant in this process (child side), WAL in a fresh temp dir per cell when on. */
export async function runVariant(variant: 'v1' | 'v2', opts: BenchOptions): Promise<VariantResult> {
  const c = configFor(variant, opts.wal ? '/tmp/x' : null);
  const baseline = process.memoryUsage().rss;
  const cells: CellResult[] = [];
  for (const cell of ['single', 'concurrent', 'fixed'] as const) {
    const dir = opts.wal ? await mkdtemp(path.join(os.tmpdir(), 'vinequeue-bench-')) : null;
    try {
      cells.push(await runCell(variant, cell, opts, dir));
    } finally {
      if (dir !== null) await rm(dir, { recursive: true, force: true });
    }
  }
  return {
    variant,
    config: {
      architecture: c.architecture, batchSize: c.batchSize, flushIntervalMs: c.flushIntervalMs, memoryQueueSize: c.memoryQueueSize,
      processorPoolSize: c.processorPoolSize, senderPoolSize: c.senderPoolSize, useZeroCopy: c.useZeroCopy,
      enableCircuitBreaker: c.enableCircuitBreaker, enableBackpressure: c.enableBackpressure, enableWal: opts.wal,
    },
    baseline_rss_bytes: baseline,
    cells,
  };
}

/** Checks options; throws InvalidInputError naming the bad one. */
export function validateBenchOptions(o: BenchOptions): void {
  if (!(o.seconds > 0 && o.seconds <= 600)) throw new InvalidInputError(`--seconds ${o.seconds} is not valid: use seconds per cell within (0, 600], e.g. 3`);
  if (!Number.isInteger(o.producers) || o.producers < 1 || o.producers > 10_000) throw new InvalidInputError(`--producers ${o.producers} is not valid: use a whole number from 1 to 10000, e.g. 100`);
  if (!(o.rate >= 1 && o.rate <= 10_000_000)) throw new InvalidInputError(`--rate ${o.rate} is not valid: use items/s from 1 to 10000000, e.g. 20000`);
}

function runChild(variant: 'v1' | 'v2', opts: BenchOptions): Promise<VariantResult> {
  const entry = fileURLToPath(new URL('./child.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = fork(entry, [variant, JSON.stringify(opts)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: VariantResult | null = null;
    child.on('message', (m) => { result = m as VariantResult; });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (result !== null) resolve(result);
      else reject(new GatectlError(`vinequeue bench child for ${variant} exited with code ${code} without a result`));
    });
  });
}

/**
 * Runs V1 then V2, each in a child process (`child.js`), and returns the result. `command` is
 * recorded as given. `onProgress` gets one line per variant.
 * @throws InvalidInputError for bad options; Error when a child fails
 */
export async function runVineQueueBench(opts: BenchOptions, command: string, onProgress?: (line: string) => void): Promise<VineBenchResult> {
  validateBenchOptions(opts);
  const variants: VariantResult[] = [];
  for (const v of ['v1', 'v2'] as const) {
    onProgress?.(`vinequeue bench: ${v} (${opts.seconds} s × 3 cells, ${opts.producers} producers, fixed ${opts.rate}/s, WAL ${opts.wal ? 'on' : 'off'})`);
    variants.push(await runChild(v, opts));
  }
  return {
    schema: BENCH_SCHEMA,
    created_at: new Date().toISOString(),
    command,
    environment: benchEnvironment(),
    options: { ...opts },
    variants: variants as [VariantResult, VariantResult],
  };
}
