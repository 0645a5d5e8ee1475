/**
 * Renderers of the VineQueue benchmark (pure: result in, string out): seed 002's table with V1/V2
 * measured side by side, the factor, and the seed's figures labelled as claims; tables drawn by the
 * benchmarks' one drawer (../report.ts: markdown-table, cli-table3).
 */
import { InvalidInputError } from '../../errors.js';
import { fmtFactor, fmtMiB, fmtUs } from '../../report/format.js';
import { drawMarkdown, drawTerminal, fileStamp, fmtRate, writeBenchFiles, type TableData } from '../report.js';
import { environmentLine } from '../environment.js';
import { SEED_002_CLAIMS, type CellName, type CellResult, type VariantResult, type VineBenchResult } from './bench.js';

function cell(v: VariantResult, name: CellName): CellResult {
  const c = v.cells.find((x) => x.cell === name);
  if (c === undefined) throw new InvalidInputError(`benchmark result has no ${name} cell for ${v.variant}`);
  return c;
}

/** An enqueue latency, µs: the histogram records whole µs, so below 1 µs is `<1µs`; else src/report/format.ts fmtUs. */
const fmtLatency = (us: number): string => (us < 1 ? '<1µs' : fmtUs(us));

/** Factor for a lower-is-better pair, with the change in percent: `1.61x (−38%)`. */
function lowerBetter(v1: number, v2: number): string {
  if (v1 <= 0 || v2 <= 0) return 'n/a';
  const pct = ((v2 - v1) / v1) * 100;
  return `${fmtFactor(v1 / v2)} (${pct <= 0 ? '−' : '+'}${Math.abs(pct).toFixed(0)}%)`;
}

/** The seed 002 table: metric, V1 measured, V2 measured, factor, then the seed's claims (labelled). */
export function benchTable(r: VineBenchResult): TableData {
  const [v1, v2] = r.variants;
  const s1 = cell(v1, 'single'); const s2 = cell(v2, 'single');
  const c1 = cell(v1, 'concurrent'); const c2 = cell(v2, 'concurrent');
  const f1 = cell(v1, 'fixed'); const f2 = cell(v2, 'fixed');
  const C = SEED_002_CLAIMS;
  const p = r.options.producers;
  const rate = r.options.rate.toLocaleString('en-US');
  const p99 = (c: CellResult) => c.latency.summary.p99_us;
  return {
    head: ['metric', 'V1 measured', 'V2 measured', 'factor (measured)', 'V1 claim', 'V2 claim', 'claimed factor'],
    rows: [
      ['QPS, 1 producer (seed 单线程QPS)', fmtRate(s1.qps), fmtRate(s2.qps), fmtFactor(s2.qps / s1.qps), C.single_qps.v1, C.single_qps.v2, C.single_qps.factor],
      [`QPS, ${p} producers (seed 并发QPS 100线程)`, fmtRate(c1.qps), fmtRate(c2.qps), fmtFactor(c2.qps / c1.qps), C.concurrent_qps.v1, C.concurrent_qps.v2, C.concurrent_qps.factor],
      [`p99 enqueue latency, ${p} producers (seed P99延迟)`, fmtLatency(p99(c1)), fmtLatency(p99(c2)), lowerBetter(p99(c1), p99(c2)), C.p99.v1, C.p99.v2, C.p99.factor],
      ['p99 enqueue latency, 1 producer', fmtLatency(p99(s1)), fmtLatency(p99(s2)), lowerBetter(p99(s1), p99(s2)), '', '', ''],
      [`p99 enqueue latency, fixed ${rate}/s`, fmtLatency(p99(f1)), fmtLatency(p99(f2)), lowerBetter(p99(f1), p99(f2)), '', '', ''],
      [`peak RSS, ${p} producers (seed 内存使用)`, fmtMiB(c1.peak_rss_bytes), fmtMiB(c2.peak_rss_bytes), lowerBetter(c1.peak_rss_bytes, c2.peak_rss_bytes), C.memory.v1, C.memory.v2, C.memory.factor],
      [`peak heap used, ${p} producers`, fmtMiB(c1.peak_heap_used_bytes), fmtMiB(c2.peak_heap_used_bytes), lowerBetter(c1.peak_heap_used_bytes, c2.peak_heap_used_bytes), '', '', ''],
      [`CPU at fixed ${rate}/s, % of one core (seed CPU使用率)`, `${f1.cpu_percent.toFixed(1)}%`, `${f2.cpu_percent.toFixed(1)}%`, lowerBetter(f1.cpu_percent, f2.cpu_percent), C.cpu.v1, C.cpu.v2, C.cpu.factor],
      [`CPU per 1000 items, ${p} producers`, fmtUs(c1.cpu_us_per_1000), fmtUs(c2.cpu_us_per_1000), lowerBetter(c1.cpu_us_per_1000, c2.cpu_us_per_1000), '', '', ''],
    ],
  };
}

/** Every cell in detail. */
export function cellTable(r: VineBenchResult): TableData {
  const rows: string[][] = [];
  for (const v of r.variants) {
    for (const c of v.cells) {
      const s = c.latency.summary;
      rows.push([
        v.variant.toUpperCase(), c.cell, String(c.producers), c.duration_s.toFixed(2), fmtRate(c.qps), String(c.enqueued), String(c.rejected),
        `${c.sent_total} / ${c.batches_sent_total}`, [s.p50_us, s.p99_us, s.p999_us, s.max_us].map(fmtLatency).join(' / '),
        fmtMiB(c.peak_rss_bytes), fmtMiB(c.peak_heap_used_bytes), `${c.cpu_percent.toFixed(1)}%`,
      ]);
    }
  }
  return {
    head: ['variant', 'cell', 'producers', 'seconds', 'accepted/s', 'accepted', 'rejected', 'sent / batches', 'enqueue p50 / p99 / p99.9 / max', 'peak RSS', 'peak heap', 'CPU'],
    rows,
  };
}

function configLine(v: VariantResult): string {
  const c = v.config;
  return `${v.variant.toUpperCase()}: architecture ${c.architecture}, batch ${c.batchSize} items / ${c.flushIntervalMs} ms, memory queue ${c.memoryQueueSize}, ` +
    `processors ${c.processorPoolSize}, senders ${c.senderPoolSize}, zero-copy ${c.useZeroCopy}, breaker ${c.enableCircuitBreaker}, backpressure ${c.enableBackpressure}, WAL ${c.enableWal}`;
}

const NOTES = [
  'Measured here, in this run, unless labelled "claim". The claims are seed 002\'s own table (16 cores, 32 GB, Go); they were not measured here.',
  'Each variant runs in its own child process against a sink that acknowledges at once, so the queue is measured, not a downstream.',
  'Producers are async loops on one Node event loop (not threads): "100 producers" interleave on one core.',
  'Factor: V2/V1 for QPS; V1/V2 for latency, memory and CPU (higher is better), with V2\'s change in percent.',
  'Latency: enqueue call to resolution, µs, HDR histogram (whole µs; below 1 µs shows as <1µs).',
];

/** The benchmark as a markdown document. */
export function renderBenchMarkdown(r: VineBenchResult): string {
  return [
    '# VineQueue benchmark: V1 vs V2 (seed 002)', '',
    `- command: \`${r.command}\``,
    `- machine: ${environmentLine(r.environment)}`,
    `- run: ${r.created_at}, ${r.options.seconds} s per cell, ${r.options.producers} producers, fixed rate ${r.options.rate}/s, WAL ${r.options.wal ? 'on (fsync interval)' : 'off'}`,
    `- ${configLine(r.variants[0])}`,
    `- ${configLine(r.variants[1])}`, '',
    drawMarkdown(benchTable(r)), '',
    ...NOTES.map((n) => `- ${n}`), '',
    '## Cells', '',
    drawMarkdown(cellTable(r)), '',
  ].join('\n');
}

/** The benchmark for a terminal: environment line, the seed table, the notes. */
export function renderBenchTerminal(r: VineBenchResult): string {
  return [
    `VineQueue benchmark V1 vs V2 — ${environmentLine(r.environment)}`,
    `${r.options.seconds} s per cell, ${r.options.producers} producers, fixed ${r.options.rate}/s, WAL ${r.options.wal ? 'on' : 'off'}`,
    drawTerminal(benchTable(r)),
    ...NOTES,
  ].join('\n') + '\n';
}

/**
 * Writes `<outDir>/<name>.json` and `<outDir>/<name>.md` (name default `vinequeue-bench-<UTC stamp>`)
 * atomically, creating outDir. Returns both paths. Rejects with the fs error.
 */
export function writeVineQueueReports(r: VineBenchResult, outDir = 'reports', name?: string): Promise<{ json: string; md: string }> {
  return writeBenchFiles(r, renderBenchMarkdown(r), outDir, name ?? `vinequeue-bench-${fileStamp(r.created_at)}`);
}
