/**
 * Live outputs of `gatectl load` (issue 12 §3-4): what follows a run while it goes, fed by the
 * once-a-second progress ticks the command receives from the run (load/run.ts onProgress), so the
 * load engine knows nothing of them (layer: output/ uses metrics/ and report/; load/ never imports
 * output/):
 * - `--out json=FILE` / `--out csv=FILE` (files.ts), repeatable;
 * - `--metrics-port P`: Prometheus exposition of the generator (prom.ts);
 * - `--dashboard [--dashboard-port P]`: the live page (dashboard.ts), which offers the HTML report
 *   at the end.
 * Why a folder of its own: these are sinks that run beside a command (files, HTTP servers), not
 * pure renderers (report/) nor measurements (metrics/).
 */
import type { RunResult } from '../metrics/result.js';
import { renderHtml } from '../report/html.js';
import { statKey, statLabel, type LatencyStat } from '../report/percentiles.js';
import { SecondBuilder } from './second.js';
import type { ProgressTick } from '../metrics/progress.js';
import { csvWriter, ndjsonWriter, runSummaryLine, type SecondsWriter } from './files.js';
import { startPromExporter, type PromExporter } from './prom.js';
import { readEchartsBundle, startDashboard, type Dashboard } from './dashboard.js';
import type { LiveOutputKind } from './spec.js';

export { parseOutSpecs, LIVE_OUTPUT_KINDS, type OutSpecs, type LiveOutputKind } from './spec.js';
export { DEFAULT_DASHBOARD_PORT } from './dashboard.js';
export type { LiveSecond } from './second.js';
export type { RunSummaryLine } from './files.js';

/** What to start. */
export interface LiveOutputOptions {
  /** `--out KIND=FILE` outputs */
  files: { kind: LiveOutputKind; file: string }[];
  /** `--metrics-port` (0: any free port); undefined: no exporter */
  metricsPort?: number;
  /** `--dashboard-port` when `--dashboard` is given (0: any free port); undefined: no dashboard */
  dashboardPort?: number;
  /** the latency statistics of the outputs (`--percentiles`) */
  stats: LatencyStat[];
  /** run label and client count, for the dashboard's title */
  label: string;
  clients: number;
}

/** The tick a live output receives (the load run's ProgressTick, with the run's running totals). */
export type LiveTick = ProgressTick;

/** Started outputs. */
export interface LiveOutputs {
  /** `http://127.0.0.1:PORT/` of the dashboard and `…/metrics` of the exporter, when started */
  readonly dashboardUrl: string | null;
  readonly metricsUrl: string | null;
  /** Feeds one progress tick to every output. */
  onTick(t: LiveTick): void;
  /**
   * The run ended with `result` (written to `resultFile`): each file gets the `end` second and
   * (NDJSON) the summary, the dashboard the HTML report and `done`; then everything is closed.
   * Rejects when a file could not be written.
   */
  finish(result: RunResult, resultFile: string | null): Promise<void>;
  /** Closes everything without a summary (the run failed). Never rejects. */
  close(): Promise<void>;
}

/**
 * Starts the outputs of `opts`. Throws InvalidInputError when a file cannot be opened or a port
 * cannot be used (whatever was started is closed first).
 */
export async function startLiveOutputs(opts: LiveOutputOptions): Promise<LiveOutputs> {
  const writers: SecondsWriter[] = [];
  let prom: PromExporter | null = null;
  let dash: Dashboard | null = null;
  let echarts: string | null = null;
  const closeAll = async () => {
    await Promise.allSettled([...writers.map((w) => w.end(null)), prom?.close(), dash?.close()]);
  };
  try {
    for (const f of opts.files) writers.push(f.kind === 'json' ? await ndjsonWriter(f.file) : await csvWriter(f.file, opts.stats));
    if (opts.metricsPort !== undefined) prom = await startPromExporter(opts.metricsPort);
    if (opts.dashboardPort !== undefined) {
      echarts = await readEchartsBundle();
      const keys = new Map<string, string>([['e2e_p50_us', 'e2e p50'], ['e2e_p99_us', 'e2e p99']]);
      for (const s of opts.stats) if (s.kind !== 'min' && s.kind !== 'mean') keys.set(`e2e_${statKey(s)}`, `e2e ${statLabel(s)}`);
      dash = await startDashboard(opts.dashboardPort, { label: opts.label, clients: opts.clients, e2e: [...keys].map(([key, label]) => ({ key, label })) }, echarts);
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  const builder = new SecondBuilder(opts.stats);
  const needSeconds = writers.length > 0 || dash !== null;
  return {
    dashboardUrl: dash === null ? null : `${dash.server.url}/`,
    metricsUrl: prom === null ? null : `${prom.server.url}/metrics`,
    onTick(t) {
      prom?.tick(t);
      if (!needSeconds) return;
      const s = builder.fromTick(t);
      for (const w of writers) w.second(s);
      dash?.tick(s);
    },
    async finish(result, resultFile) {
      try {
        const tail = builder.tailSecond(result);
        const summary = runSummaryLine(result, opts.stats, resultFile);
        for (const w of writers) w.second(tail);
        prom?.done();
        if (dash !== null) {
          dash.tick(tail);
          dash.finish(renderHtml(result, { echartsSource: echarts!, ...(resultFile !== null ? { sourceFile: resultFile } : {}) }), summary);
        }
        await Promise.all(writers.map((w) => w.end(summary)));
        writers.length = 0;
      } finally {
        await closeAll();
      }
    },
    close: closeAll,
  };
}
