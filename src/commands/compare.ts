import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base.js';
import { capacityFlags, gatewayFlags, loadFlags } from '../cli/flags.js';
import { executeCapacity, executeRun } from '../cli/execute.js';
import { resolveCapacityOptions, resolveLoadOptions } from '../config/load.js';
import type { CapacityResult } from '../metrics/capacity.js';
import { MODES } from '../config/resolve.js';
import { applyThresholds, setupRun, type RunFlags } from '../cli/run-setup.js';
import { renderThresholds } from '../metrics/thresholds.js';
import { defaultResultPath, readResultFile, writeFileAtomic } from '../metrics/files.js';
import { makeComparison } from '../metrics/compare.js';
import type { ComparisonResult, RunResult } from '../metrics/result.js';
import { renderComparisonTerminal } from '../report/index.js';
import { InvalidInputError } from '../errors.js';

/** `gatectl compare sync async` (two fresh in-process runs) or `gatectl compare BEFORE.json AFTER.json`. */
export default class Compare extends BaseCommand {
  static description = 'Before/after comparison: run the same load against the sync and async gateway, or compare two saved results';
  static examples = [
    '<%= config.bin %> compare sync async --clients 1000 --duration 20s',
    '<%= config.bin %> compare reports/run-sync.json reports/run-async.json',
    '<%= config.bin %> compare sync async --scenario scenarios/seed-003.yaml --single-call --find-max',
  ];
  static args = {
    before: Args.string({ description: 'sync, async, or a result file', required: true }),
    after: Args.string({ description: 'sync, async, or a result file', required: true }),
  };
  static flags = {
    ...gatewayFlags,
    ...loadFlags,
    ...capacityFlags,
    'single-call': Flags.boolean({ description: 'also measure each side with one client and one request in flight (seed 003 单次API调用)', default: false }),
    'single-call-duration': Flags.string({ description: 'length of the single-call run', default: '3s' }),
    out: Flags.string({ description: 'comparison file (default reports/compare-<before>-vs-<after>-<time>.json)' }),
  };

  async run(): Promise<ComparisonResult> {
    const { args, flags, metadata } = await this.parse(Compare);
    const typed = new Set(Object.keys(flags).filter((k) => metadata.flags[k]?.setFromDefault !== true));
    const isMode = (s: string) => (MODES as readonly string[]).includes(s);
    let before: RunResult;
    let after: RunResult;
    let extras: ComparisonResult['extras'];
    if (isMode(args.before) && isMode(args.after)) {
      const runs: RunResult[] = [];
      const singles: RunResult[] = [];
      const caps: CapacityResult[] = [];
      // every setup first: a bad scenario, threshold or flag fails before anything runs
      const setups = [args.before, args.after].map((mode) => setupRun({ ...flags, port: 0, mode } as RunFlags, typed, { remote: false, mode }));
      const single = resolveLoadOptions({ ...flags, clients: 1, duration: flags['single-call-duration'], model: 'closed', concurrency: 1, 'think-time': '0ms', rate: undefined, 'rate-per-client': undefined, workers: 1, shard: undefined }, 'single');
      // the search uses the run's client count (the scenario's, if any) and starts at --start-rate (default 100/s)
      const capFlags = { ...flags, clients: setups[0]!.load.clients, scenario: undefined, rate: String(flags['start-rate'] ?? 100), 'rate-per-client': undefined };
      const capacity = flags['find-max'] ? resolveCapacityOptions(capFlags, resolveLoadOptions({ ...capFlags, model: 'open', 'rate-per-client': undefined }, 'capacity')) : null;
      for (const setup of setups) {
        const gateway = setup.gateway;
        const label = setup.load.label;
        if (!flags.quiet) this.note(`== ${label}: ${gateway.processorMode} processor, ${gateway.queue.enableAsyncSend ? 'async' : 'sync'} send, ${gateway.queue.lockScope} lock, quota ${gateway.quota?.mode ?? 'off'}`);
        if (flags['single-call']) {
          if (!flags.quiet) this.note(`-- ${label}: single call (1 client, 1 in flight, ${flags['single-call-duration']})`);
          singles.push(await executeRun({ ...single, label }, gateway, null, !flags.quiet));
        }
        const run = await executeRun(setup.load, gateway, null, !flags.quiet);
        const th = applyThresholds(run, setup.thresholds);
        if (th.length > 0 && !flags.quiet) this.note(`${label} ${renderThresholds(th)}`);
        runs.push(run);
        if (capacity !== null) {
          if (!flags.quiet) this.note(`-- ${label}: capacity search from ${capacity.startRate}/s`);
          const capLoad = resolveLoadOptions({ ...capFlags, model: 'open', 'rate-per-client': undefined }, label);
          caps.push(await executeCapacity(capLoad, capacity, gateway, null, !flags.quiet,
            (s) => { if (!flags.quiet) this.note(`step ${s.rate}/s: ${s.ok ? 'held' : `broke (${s.failed.join('; ')})`}`); }));
        }
      }
      [before, after] = runs as [RunResult, RunResult];
      extras = {
        ...(singles.length === 2 ? { single_call: { before: singles[0]!, after: singles[1]! } } : {}),
        ...(caps.length === 2 ? { capacity: { before: caps[0]!, after: caps[1]! } } : {}),
      };
    } else if (!isMode(args.before) && !isMode(args.after)) {
      const load = async (f: string): Promise<RunResult> => {
        const r = await readResultFile(f);
        if (r.schema !== 'gatectl.run/v1') throw new InvalidInputError(`${f} is a comparison, not a run result: compare takes two files written by gatectl load`);
        return r;
      };
      before = await load(args.before);
      after = await load(args.after);
    } else {
      throw new InvalidInputError(`compare takes two modes (sync async) or two result files, not a mix: got ${JSON.stringify(args.before)} and ${JSON.stringify(args.after)}`);
    }
    const cmp = makeComparison(before, after, new Date(), extras !== undefined && Object.keys(extras).length > 0 ? extras : undefined);
    const out = flags.out ?? defaultResultPath('compare', `${before.label}-vs-${after.label}`);
    await writeFileAtomic(out, JSON.stringify(cmp, null, 2) + '\n');
    if (!this.jsonEnabled()) {
      this.log(renderComparisonTerminal(cmp));
      this.log(`comparison written to ${out}`);
    }
    return cmp;
  }
}
