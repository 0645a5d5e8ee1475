/**
 * Renderers of the VineQueue benchmark (pure: result in, string out): seed 002's table with V1/V2
 * measured side by side, the factor, and the seed's figures labelled as claims; markdown via
 * markdown-table, terminal via cli-table3.
 */
import Table from 'cli-table3';
import { markdownTable } from 'markdown-table';
import { SEED_002_CLAIMS, type CellName, type CellResult, type VariantResult, type VineBenchResult } from './bench.js';

/** Header row plus body rows. */
export interface BenchTable {
  head: string[];
  rows: string[][];
}

function cell(v: VariantResult, name: CellName): CellResult {
  const c = v.cells.find((x) => x.cell === name);
  if (c === undefined) throw new Error(`benchmark result has no ${name} cell for ${v.variant}`);
  return c;
}

/** `1,234,567/s` */
function fmtQps(n: number): string {
  return `${Math.round(n).toLocaleString('en-US')}/s`;
}

/** µs with a readable unit; below 1 µs shown as `<1µs` (the histogram records whole µs). */
function fmtUs(us: number): string {
  if (us < 1) return '<1µs';
  if (us < 1000) return `${Math.round(us)}µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)}ms`;
  return `${(us / 1_000_000).toFixed(2)}s`;
}

function fmtMiB(b: number): string {
  return `${(b / 1024 / 1024).toFixed(1)} MiB`;
}

function fmtFactor(f: number): string {
  if (!Number.isFinite(f) || f <= 0) return 'n/a';
  return f >= 10 ? `${f.toFixed(0)}x` : `${f.toFixed(2)}x`;
}

/** Factor for a lower-is-better pair, with the change in percent: `1.61x (−38%)`. */
function lowerBetter(v1: number, v2: number): string {
  if (v1 <= 0 || v2 <= 0) return 'n/a';
  const pct = ((v2 - v1) / v1) * 100;
  return `${fmtFactor(v1 / v2)} (${pct <= 0 ? '−' : '+'}${Math.abs(pct).toFixed(0)}%)`;
}

/** The seed 002 table: metric, V1 measured, V2 measured, factor, then the seed's claims (labelled). */
export function benchTable(r: VineBenchResult): BenchTable {
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
      ['QPS, 1 producer (seed 单线程QPS)', fmtQps(s1.qps), fmtQps(s2.qps), fmtFactor(s2.qps / s1.qps), C.single_qps.v1, C.single_qps.v2, C.single_qps.factor],
      [`QPS, ${p} producers (seed 并发QPS 100线程)`, fmtQps(c1.qps), fmtQps(c2.qps), fmtFactor(c2.qps / c1.qps), C.concurrent_qps.v1, C.concurrent_qps.v2, C.concurrent_qps.factor],
      [`p99 enqueue latency, ${p} producers (seed P99延迟)`, fmtUs(p99(c1)), fmtUs(p99(c2)), lowerBetter(p99(c1), p99(c2)), C.p99.v1, C.p99.v2, C.p99.factor],
      ['p99 enqueue latency, 1 producer', fmtUs(p99(s1)), fmtUs(p99(s2)), lowerBetter(p99(s1), p99(s2)), '', '', ''],
      [`p99 enqueue latency, fixed ${rate}/s`, fmtUs(p99(f1)), fmtUs(p99(f2)), lowerBetter(p99(f1), p99(f2)), '', '', ''],
      [`peak RSS, ${p} producers (seed 内存使用)`, fmtMiB(c1.peak_rss_bytes), fmtMiB(c2.peak_rss_bytes), lowerBetter(c1.peak_rss_bytes, c2.peak_rss_bytes), C.memory.v1, C.memory.v2, C.memory.factor],
      [`peak heap used, ${p} producers`, fmtMiB(c1.peak_heap_used_bytes), fmtMiB(c2.peak_heap_used_bytes), lowerBetter(c1.peak_heap_used_bytes, c2.peak_heap_used_bytes), '', '', ''],
      [`CPU at fixed ${rate}/s, % of one core (seed CPU使用率)`, `${f1.cpu_percent.toFixed(1)}%`, `${f2.cpu_percent.toFixed(1)}%`, lowerBetter(f1.cpu_percent, f2.cpu_percent), C.cpu.v1, C.cpu.v2, C.cpu.factor],
      [`CPU per 1000 items, ${p} producers`, fmtUs(c1.cpu_us_per_1000), fmtUs(c2.cpu_us_per_1000), lowerBetter(c1.cpu_us_per_1000, c2.cpu_us_per_1000), '', '', ''],
    ],
  };
}

/** Every cell in detail. */
export function cellTable(r: VineBenchResult): BenchTable {
  const rows: string[][] = [];
  for (const v of r.variants) {
    for (const c of v.cells) {
      const s = c.latency.summary;
      rows.push([
        v.variant.toUpperCase(), c.cell, String(c.producers), c.duration_s.toFixed(2), fmtQps(c.qps), String(c.enqueued), String(c.rejected),
        `${c.sent_total} / ${c.batches_sent_total}`, [s.p50_us, s.p99_us, s.p999_us, s.max_us].map(fmtUs).join(' / '),
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

function environmentLine(r: VineBenchResult): string {
  const e = r.environment;
  return `${e.cpus} CPUs (${e.cpu_model}), ${fmtMiB(e.total_mem_bytes)} RAM, Node ${e.node}, ${e.platform} ${e.os_release}`;
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
  const md = (t: BenchTable) => markdownTable([t.head, ...t.rows]);
  return [
    '# VineQueue benchmark: V1 vs V2 (seed 002)', '',
    `- command: \`${r.command}\``,
    `- machine: ${environmentLine(r)}`,
    `- run: ${r.created_at}, ${r.options.seconds} s per cell, ${r.options.producers} producers, fixed rate ${r.options.rate}/s, WAL ${r.options.wal ? 'on (fsync interval)' : 'off'}`,
    `- ${configLine(r.variants[0])}`,
    `- ${configLine(r.variants[1])}`, '',
    md(benchTable(r)), '',
    ...NOTES.map((n) => `- ${n}`), '',
    '## Cells', '',
    md(cellTable(r)), '',
  ].join('\n');
}

/** The benchmark for a terminal: environment line, the seed table, the notes. */
export function renderBenchTerminal(r: VineBenchResult): string {
  const draw = (t: BenchTable) => {
    const table = new Table({ head: t.head, style: { head: [], border: [] }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
    for (const row of t.rows) table.push(row);
    return table.toString();
  };
  return [
    `VineQueue benchmark V1 vs V2 — ${environmentLine(r)}`,
    `${r.options.seconds} s per cell, ${r.options.producers} producers, fixed ${r.options.rate}/s, WAL ${r.options.wal ? 'on' : 'off'}`,
    draw(benchTable(r)),
    ...NOTES,
  ].join('\n') + '\n';
}
