/**
 * Renderers of the soak (pure: result in, string out) and its result files; the checks table drawn
 * by the benchmarks' one drawer (../report.ts), latencies with src/report/format.ts fmtUs.
 */
import { fmtUs } from '../../report/format.js';
import { environmentLine } from '../environment.js';
import { drawMarkdown, drawTerminal, fileStamp, writeBenchFiles, type TableData } from '../report.js';
import type { SoakResult } from './soak.js';

/** The checks: name, ok (`yes` / `no`), what was seen. */
export function soakChecksTable(r: SoakResult, markdown = false): TableData {
  return { head: ['check', 'ok', 'detail'], rows: r.checks.map((k) => [k.name, k.ok ? 'yes' : markdown ? '**no**' : 'NO', k.detail]) };
}

/** The lines above the checks: command, machine, shape of the run, faults injected, the well-behaved clients' figures. */
function headline(r: SoakResult): string[] {
  const c = r.run.client;
  const e = c.latency.e2e.summary;
  return [
    `command: \`${r.command}\``,
    `machine: ${environmentLine(r.environment)}`,
    `${r.options.clients} well-behaved clients at ${r.options.rate} requests/s for ${r.options.durationMs / 1000} s (${r.options.workers} generator processes), in-process gateway over QUIC`,
    `faults injected: ${Object.entries(r.faults_injected).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `well-behaved: ${c.requests_sent} requests, ${c.responses} responses, e2e p50 ${fmtUs(e.p50_us)}, p99 ${fmtUs(e.p99_us)}, max ${fmtUs(e.max_us)}`,
  ];
}

const mib = (samples: [number, number][]) => samples.map(([t, b]) => `${t}:${(b / 2 ** 20).toFixed(0)}`).join(' ');

/** The soak as a markdown document: verdict, headline, checks, RSS and heap samples, the gateway's counters. */
export function renderSoakMarkdown(r: SoakResult): string {
  return [
    `# gatectl soak: ${r.passed ? 'PASSED' : 'FAILED'}`, '',
    ...headline(r).map((l) => `- ${l}`),
    '', drawMarkdown(soakChecksTable(r, true)),
    '', `RSS samples of the ${r.rss_process === 'generator' ? 'generator' : 'gateway'} process (s, MiB): ${mib(r.rss_samples)}`,
    '', `Gateway used V8 heap (s, MiB): ${mib(r.gateway_heap_samples)}`,
    '', `Gateway counters: \`${JSON.stringify(r.gateway_counters)}\``, '',
    `Gateway QUIC listener: \`${JSON.stringify(r.gateway_transport)}\``, '',
  ].join('\n');
}

/** The soak for a terminal: verdict, headline, the checks table. */
export function renderSoakTerminal(r: SoakResult): string {
  return [`gatectl soak: ${r.passed ? 'PASSED' : 'FAILED'}`, ...headline(r), drawTerminal(soakChecksTable(r))].join('\n') + '\n';
}

/**
 * Writes `<outDir>/<name>.json` and `.md` (name default `soak-<start time>`) atomically, creating
 * outDir. Returns both paths. Rejects with the fs error.
 */
export function writeSoakReports(r: SoakResult, outDir = 'reports', name?: string): Promise<{ json: string; md: string }> {
  return writeBenchFiles(r, renderSoakMarkdown(r), outDir, name ?? `soak-${fileStamp(r.started_at)}`);
}
