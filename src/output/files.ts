/**
 * The file outputs written while a run goes (`--out json=FILE`, `--out csv=FILE`; k6's `--out json`
 * and `--out csv`), one line per second, appended as the seconds come so a long run can be
 * followed with `tail -f`:
 * - NDJSON: each line one JSON object, `{"type":"second",…}` per second (LiveSecond, second.ts),
 *   then one `{"type":"summary",…}` (RunSummaryLine) when the run ends;
 * - CSV: a header row (secondColumns) and one row per second; fields are numbers, an ISO time and a
 *   phase word, none of which needs quoting (RFC 4180).
 * Both end with the `end` second, so the seconds' counts add up to the result's totals.
 * The parent directory is created; writes go through one fs.WriteStream per file.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import type { RunResult } from '../metrics/result.js';
import { totalErrors, totalViolations } from '../metrics/compare.js';
import { statKey, statValuesUs, type LatencyStat } from '../report/percentiles.js';
import { InvalidInputError } from '../errors.js';
import { secondColumns, type LiveSecond } from './second.js';

/** The last NDJSON line: the run's totals and latency statistics (µs), and where the result went. */
export interface RunSummaryLine {
  type: 'summary';
  label: string;
  started_at: string;
  finished_at: string;
  steady_s: number;
  clients: number;
  connected: number;
  requests_sent: number;
  responses: number;
  /** every error the run counts (metrics/compare.ts totalErrors) */
  errors: number;
  violations: number;
  responses_per_s: number;
  requests_per_s: number;
  /** e2e (corrected) statistics of `--percentiles`, µs, keys p50_us, p95_us, max_us, … */
  e2e: Record<string, number | null>;
  e2e_uncorrected?: Record<string, number | null>;
  schedule_lag_p99_us: number;
  generator_bound: boolean;
  warnings: string[];
  thresholds?: RunResult['thresholds'];
  /** the result JSON written by the run */
  result_file: string | null;
}

/** The summary line of `r` (pure). */
export function runSummaryLine(r: RunResult, stats: readonly LatencyStat[], resultFile: string | null): RunSummaryLine {
  const c = r.client;
  const statsOf = (lat: RunResult['client']['latency']['e2e']) => {
    const values = statValuesUs(lat, stats);
    return Object.fromEntries(stats.map((s, i) => [statKey(s), values[i]!]));
  };
  return {
    type: 'summary', label: r.label, started_at: r.started_at, finished_at: r.finished_at, steady_s: r.steady_s,
    clients: c.clients, connected: c.connected, requests_sent: c.requests_sent, responses: c.responses, errors: totalErrors(r), violations: totalViolations(r),
    responses_per_s: c.responses_per_s, requests_per_s: c.requests_per_s,
    e2e: statsOf(c.latency.e2e), ...(c.latency.e2e_uncorrected !== undefined ? { e2e_uncorrected: statsOf(c.latency.e2e_uncorrected) } : {}),
    schedule_lag_p99_us: c.latency.schedule_lag.summary.p99_us, generator_bound: r.generator.generator_bound, warnings: r.warnings,
    ...(r.thresholds !== undefined ? { thresholds: r.thresholds } : {}), result_file: resultFile,
  };
}

/** One live file output. */
export interface SecondsWriter {
  readonly file: string;
  /** Appends one second. */
  second(s: LiveSecond): void;
  /** Appends the summary (NDJSON only; CSV has rows only), then closes the file. */
  end(summary: RunSummaryLine | null): Promise<void>;
}

/** Opens `file` for writing, creating its directory. Throws InvalidInputError when it cannot be created. */
async function open(file: string, flag: string): Promise<WriteStream> {
  try {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  } catch (err) {
    throw new InvalidInputError(`${flag}: cannot create the directory of ${file} (${(err as NodeJS.ErrnoException).code}); give a writable path`);
  }
  const ws = createWriteStream(file, { flags: 'w' });
  try {
    await once(ws, 'open');
  } catch (err) {
    throw new InvalidInputError(`${flag}: cannot write ${file} (${(err as NodeJS.ErrnoException).code}); give a writable path`);
  }
  ws.on('error', () => undefined); // reported by end()
  return ws;
}

async function close(ws: WriteStream): Promise<void> {
  if (ws.destroyed) return;
  await new Promise<void>((resolve, reject) => ws.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

/** `--out json=FILE`: NDJSON seconds and a summary. Throws InvalidInputError when the file cannot be opened. */
export async function ndjsonWriter(file: string): Promise<SecondsWriter> {
  const ws = await open(file, `--out json=${file}`);
  return {
    file,
    second: (s) => { ws.write(JSON.stringify(s) + '\n'); },
    end: async (summary) => {
      if (summary !== null) ws.write(JSON.stringify(summary) + '\n');
      await close(ws);
    },
  };
}

/** `--out csv=FILE`: a header of secondColumns(stats) and a row per second. Throws InvalidInputError when the file cannot be opened. */
export async function csvWriter(file: string, stats: readonly LatencyStat[]): Promise<SecondsWriter> {
  const ws = await open(file, `--out csv=${file}`);
  const cols = secondColumns(stats);
  ws.write(cols.join(',') + '\n');
  return {
    file,
    second: (s) => {
      const rec = s as unknown as Record<string, unknown>;
      ws.write(cols.map((c) => String(rec[c] ?? '')).join(',') + '\n');
    },
    end: () => close(ws),
  };
}
