import { readFileSync } from 'node:fs';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base.js';
import { capacityFlags, gatewayFlags, loadFlags, outputFlags } from '../cli/flags.js';
import { executeCapacity, executeRun } from '../cli/execute.js';
import { resolveCapacityOptions } from '../config/load.js';
import type { CapacityResult } from '../metrics/capacity.js';
import { applyThresholds, setupRun, type RunFlags } from '../cli/run-setup.js';
import { assertThresholds, renderThresholds } from '../metrics/thresholds.js';
import { parseTargetUrl, reachabilityWarnings, type TargetHandle } from '../load/run.js';
import { remoteTarget } from '../load/remote.js';
import { assertTargetReachable } from '../load/outage.js';
import { defaultResultPath, writeFileAtomic } from '../metrics/files.js';
import type { RunResult } from '../metrics/result.js';
import { renderCapacityTerminal, renderRunTerminal, renderSpectrum } from '../report/index.js';
import { DEFAULT_PERCENTILES, parsePercentiles, statLabel } from '../report/percentiles.js';
import { DEFAULT_DASHBOARD_PORT, parseOutSpecs, startLiveOutputs, type LiveOutputs } from '../output/index.js';
import { InterruptedError, InvalidInputError } from '../errors.js';
import { onInterrupt } from '../cli/interrupt.js';

/** `gatectl load`: drive N QUIC clients against a gateway and record per-stage latency. */
export default class Load extends BaseCommand {
  static description = 'Drive concurrent clients against a gateway (the in-process one unless --target) and record latency';
  static usage = ['[-c CLIENTS] [-d DURATION] [-R RATE | --model closed] [--target URL] [FLAGS]'];
  static examples = [
    '<%= config.bin %> load --clients 1000 --duration 20s',
    '<%= config.bin %> load --mode sync --clients 200 --duration 10s --out reports/sync.json',
    '<%= config.bin %> load --target quic://127.0.0.1:4433 --insecure --monitor http://127.0.0.1:8080',
    '<%= config.bin %> load --rate 2000 --clients 200 --duration 30s -L --threshold \'e2e:p(99)<100ms\'',
    '<%= config.bin %> load --scenario scenarios/seed-003.yaml',
    '<%= config.bin %> load --workers 2 --shard 0/4 --out shard-0.json',
    '<%= config.bin %> load --duration 10m --out json=reports/run.ndjson --out csv=reports/run.csv --metrics-port 9465 --percentiles 50,95,99,99.9,max',
    '<%= config.bin %> load --dashboard --clients 500 --duration 60s',
  ];
  static flags = {
    ...gatewayFlags,
    ...loadFlags,
    mode: Flags.string({ helpGroup: 'GATEWAY', description: 'in-process gateway profile: sync or async', default: 'async' }),
    target: Flags.string({ helpGroup: 'TARGET', description: 'gateway URL (quic://HOST:PORT or tcp://HOST:PORT); default: start the in-process gateway' }),
    monitor: Flags.string({ helpGroup: 'TARGET', description: 'monitor URL of a remote target, to fetch its stage histograms' }),
    insecure: Flags.boolean({ helpGroup: 'TARGET', description: 'do not verify a remote target\'s certificate', default: false }),
    ca: Flags.string({ helpGroup: 'TARGET', description: 'PEM CA file to verify a remote target with' }),
    ...outputFlags,
    ...capacityFlags,
    latency: Flags.boolean({ helpGroup: 'OUTPUT', char: 'L', description: 'print the detailed percentile spectrum (wrk2 --latency), corrected and uncorrected', default: false }),
  };

  /** the live outputs of this run (--out json=/csv=, --metrics-port, --dashboard), closed in finally() */
  private live: LiveOutputs | null = null;

  /** Closes the live outputs whatever happened (a failed run leaves no server or open file behind). */
  protected async finally(err: Error | undefined): Promise<unknown> {
    await this.live?.close();
    return super.finally(err);
  }

  async run(): Promise<RunResult | CapacityResult> {
    const { flags, metadata } = await this.parse(Load);
    const typed = new Set(Object.keys(flags).filter((k) => metadata.flags[k]?.setFromDefault !== true));
    const setup = setupRun({ ...flags, port: 0 } as RunFlags, typed, { remote: flags.target !== undefined });
    const label = setup.load.label;
    let target: TargetHandle | null = null;
    if (flags.target !== undefined) {
      parseTargetUrl(flags.target);
      let ca: string | undefined;
      if (flags.ca !== undefined) {
        try {
          ca = readFileSync(flags.ca, 'utf8');
        } catch (err) {
          throw new InvalidInputError(`--ca ${flags.ca}: cannot read the file (${(err as NodeJS.ErrnoException).code}); give a PEM CA certificate`);
        }
      }
      if (!flags.insecure && ca === undefined) {
        throw new InvalidInputError(`--target ${flags.target}: give --ca FILE to verify the server certificate, or --insecure to skip verification (e.g. for gatectl serve's self-signed certificate)`);
      }
      target = remoteTarget(flags.target, { insecure: flags.insecure, ...(ca !== undefined ? { ca } : {}), ...(flags.monitor !== undefined ? { monitorUrl: flags.monitor } : {}) });
    }
    const outs = parseOutSpecs(flags.out);
    const stats = flags.percentiles !== undefined ? parsePercentiles(flags.percentiles) : null;
    if (flags['dashboard-port'] !== undefined && !flags.dashboard) throw new InvalidInputError('--dashboard-port applies to --dashboard: add --dashboard, or leave --dashboard-port out');
    if (flags['find-max'] && (outs.live.length > 0 || flags.dashboard)) {
      throw new InvalidInputError('--out json=/csv= and --dashboard follow one run; --find-max runs a step per rate: leave them out (--metrics-port works with --find-max)');
    }
    const live = this.live = await startLiveOutputs({
      files: outs.live, stats: stats ?? parsePercentiles(DEFAULT_PERCENTILES), label, clients: setup.load.clients,
      ...(flags['metrics-port'] !== undefined ? { metricsPort: flags['metrics-port'] } : {}),
      ...(flags.dashboard ? { dashboardPort: flags['dashboard-port'] ?? DEFAULT_DASHBOARD_PORT } : {}),
    });
    if (live.dashboardUrl !== null) this.note(`dashboard: ${live.dashboardUrl}`);
    if (live.metricsUrl !== null) this.note(`metrics: ${live.metricsUrl}`);
    setup.load.onTick = (t) => live.onTick(t);
    for (const w of setup.scenario?.warnings ?? []) this.note(`scenario: ${w}`);
    for (const w of reachabilityWarnings(setup.load)) this.note(`WARNING: ${w}`);
    const interrupt = onInterrupt((l) => this.note(l));
    if (flags['find-max']) {
      const capacity = resolveCapacityOptions(flags, setup.load);
      const cap = await executeCapacity(setup.load, capacity, setup.gateway, target, !flags.quiet,
        (s) => this.note(`step ${s.rate}/s: ${s.ok ? 'held' : `broke (${s.failed.join('; ')})`}, e2e p99 ${(s.e2e.p99_us / 1000).toFixed(1)} ms`), interrupt.signal)
        .finally(() => interrupt.dispose());
      const capOut = outs.resultFile ?? defaultResultPath('capacity', label);
      await writeFileAtomic(capOut, JSON.stringify(cap, null, 2) + '\n');
      if (!this.jsonEnabled()) {
        this.log(renderCapacityTerminal(cap));
        this.log(`result written to ${capOut}`);
      }
      if (cap.interrupted === true) {
        this.resultForJson = cap;
        throw new InterruptedError(`interrupted after ${cap.steps.length} capacity step(s); the result was written to ${capOut}`, cap);
      }
      return cap;
    }
    const result = await executeRun(setup.load, setup.gateway, target, !flags.quiet, interrupt.signal).finally(() => interrupt.dispose());
    if (stats !== null) result.percentiles = stats.map(statLabel);
    const thresholds = applyThresholds(result, setup.thresholds);
    const out = outs.resultFile ?? defaultResultPath('run', label);
    await writeFileAtomic(out, JSON.stringify(result, null, 2) + '\n');
    await live.finish(result, out);
    if (!this.jsonEnabled()) {
      this.log(renderRunTerminal(result));
      if (flags.latency) this.log(renderSpectrum(result));
      if (thresholds.length > 0) this.log(renderThresholds(thresholds));
      this.log(`result written to ${out}`);
    }
    this.resultForJson = result;
    if (result.interrupted === true) throw new InterruptedError(`interrupted after ${result.steady_s} s; the result was written to ${out}`, result);
    if (thresholds.length === 0) assertTargetReachable(result); // issue 15 §3: unanswered because unreachable → exit 1
    assertThresholds(thresholds);
    return result;
  }
}
