import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base.js';
import { gatewayFlags, loadFlags } from '../cli/flags.js';
import { executeRun } from '../cli/execute.js';
import { MODES } from '../config/resolve.js';
import { applyThresholds, setupRun, type RunFlags } from '../cli/run-setup.js';
import { renderThresholds } from '../load/thresholds.js';
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
  ];
  static args = {
    before: Args.string({ description: 'sync, async, or a result file', required: true }),
    after: Args.string({ description: 'sync, async, or a result file', required: true }),
  };
  static flags = {
    ...gatewayFlags,
    ...loadFlags,
    out: Flags.string({ description: 'comparison file (default reports/compare-<before>-vs-<after>-<time>.json)' }),
  };

  async run(): Promise<ComparisonResult> {
    const { args, flags, metadata } = await this.parse(Compare);
    const typed = new Set(Object.keys(flags).filter((k) => metadata.flags[k]?.setFromDefault !== true));
    const isMode = (s: string) => (MODES as readonly string[]).includes(s);
    let before: RunResult;
    let after: RunResult;
    if (isMode(args.before) && isMode(args.after)) {
      const runs: RunResult[] = [];
      // both setups first: a bad scenario or threshold fails before anything runs
      const setups = [args.before, args.after].map((mode) => setupRun({ ...flags, port: 0, mode } as RunFlags, typed, { remote: false, mode }));
      for (const setup of setups) {
        const gateway = setup.gateway;
        if (!flags.quiet) this.note(`== ${setup.load.label}: ${gateway.processorMode} processor, ${gateway.queue.enableAsyncSend ? 'async' : 'sync'} send, ${gateway.queue.lockScope} lock`);
        const run = await executeRun(setup.load, gateway, null, !flags.quiet);
        const th = applyThresholds(run, setup.thresholds);
        if (th.length > 0 && !flags.quiet) this.note(`${setup.load.label} ${renderThresholds(th)}`);
        runs.push(run);
      }
      [before, after] = runs as [RunResult, RunResult];
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
    const cmp = makeComparison(before, after);
    const out = flags.out ?? defaultResultPath('compare', `${before.label}-vs-${after.label}`);
    await writeFileAtomic(out, JSON.stringify(cmp, null, 2) + '\n');
    if (!this.jsonEnabled()) {
      this.log(renderComparisonTerminal(cmp));
      this.log(`comparison written to ${out}`);
    }
    return cmp;
  }
}
