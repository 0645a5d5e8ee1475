/** Renderers of the WebTransport benchmark (pure) and its result files; tables by the benchmarks' one drawer (../report.ts). */
import { fmtUs } from '../../report/format.js';
import { environmentLine } from '../environment.js';
import { drawMarkdown, drawTerminal, fmtRate, writeBenchFiles, type TableData } from '../report.js';
import { TRANSFER_TRANSPORTS, type LoadFigures, type WebTransportBenchResult } from './bench.js';

/** 10 MB each way per transport, MB/s. */
export function transferTable(r: WebTransportBenchResult): TableData {
  return {
    head: ['transport', 'up MB/s', 'down MB/s'],
    rows: TRANSFER_TRANSPORTS.filter((n) => r.transfer_10mb_best_of_3[n] !== undefined)
      .map((n) => [n, String(r.transfer_10mb_best_of_3[n]!.up_mb_s), String(r.transfer_10mb_best_of_3[n]!.down_mb_s)]),
  };
}

/** One load run per transport: responses/s, e2e p50 and p99, violations, errors. */
export function loadTable(runs: Record<string, LoadFigures>): TableData {
  return {
    head: ['transport', 'responses/s', 'e2e p50', 'e2e p99', 'violations', 'errors'],
    rows: Object.entries(runs).map(([n, f]) => [n, fmtRate(f.responses_per_s), fmtUs(f.p50_us), fmtUs(f.p99_us), String(f.violations), String(f.errors)]),
  };
}

function sections(r: WebTransportBenchResult): [string, TableData][] {
  const o = r.options;
  return [
    ['10 MB over one connection, each way (best of 3; 1 MB = 10^6 bytes)', transferTable(r)],
    [`Load: ${o.clients} clients, ${o.durationMs / 1000} s, open model at ${o.rate} req/s`, loadTable(r.load_open)],
    [`Load: ${o.clients} clients, ${o.durationMs / 1000} s, closed model (1 request in flight per client)`, loadTable(r.load_closed)],
  ];
}

const machine = (r: WebTransportBenchResult) =>
  `${environmentLine(r.environment)}; the transfers in this process, the load runs against gatectl's in-process target`;

/** The benchmark as a markdown document. */
export function renderWebTransportMarkdown(r: WebTransportBenchResult): string {
  return [
    `# WebTransport (${r.webtransport_mode} mode) vs QUIC vs TLS/TCP`, '',
    `- command: \`${r.command}\``, `- machine: ${machine(r)}`, '',
    ...sections(r).flatMap(([title, t]) => [`## ${title}`, '', drawMarkdown(t), '']),
  ].join('\n');
}

/** The benchmark for a terminal. */
export function renderWebTransportTerminal(r: WebTransportBenchResult): string {
  return [`WebTransport (${r.webtransport_mode} mode) vs QUIC vs TLS/TCP — ${machine(r)}`, ...sections(r).flatMap(([title, t]) => [`${title}:`, drawTerminal(t)])].join('\n') + '\n';
}

/** Writes `<outDir>/<name>.json` and `.md` (name default `webtransport-bench`) atomically. Rejects with the fs error. */
export function writeWebTransportReports(r: WebTransportBenchResult, outDir = 'reports', name = 'webtransport-bench'): Promise<{ json: string; md: string }> {
  return writeBenchFiles(r, renderWebTransportMarkdown(r), outDir, name);
}
