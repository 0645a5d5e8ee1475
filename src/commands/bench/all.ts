import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base.js';
import { InvalidInputError } from '../../errors.js';
import { loadgenOptionsFromFlags } from '../../bench/loadgen/options.js';
import { renderLoadgenTerminal, writeLoadgenReports } from '../../bench/loadgen/render.js';
import type { LoadgenBenchResult } from '../../bench/loadgen/result.js';
import { runLoadgenBench } from '../../bench/loadgen/run.js';
import { runVineQueueBench, type VineBenchResult } from '../../bench/vinequeue/bench.js';
import { renderBenchTerminal, writeVineQueueReports } from '../../bench/vinequeue/report.js';
import { loadgenFlags } from './loadgen.js';
import { vinequeueFlags } from './vinequeue.js';

/** What `gatectl bench all --json` prints: each benchmark's result, null when not run. */
export interface BenchAllResult {
  vinequeue: VineBenchResult | null;
  loadgen: LoadgenBenchResult | null;
}

/**
 * `gatectl bench all` (`npm run bench`): `bench vinequeue`, then `bench loadgen`, each writing its
 * files and printing its tables; `--only` runs one. The loadgen flags are checked before anything
 * runs. A benchmark that fails does not stop the other; the first failure is raised at the end.
 */
export default class BenchAll extends BaseCommand {
  static description = 'Run the VineQueue and the load-generator benchmarks one after the other (npm run bench); --only runs one of them';
  static examples = ['<%= config.bin %> bench all', '<%= config.bin %> bench all --only loadgen --transport tcp'];
  static flags = {
    only: Flags.string({ description: 'run only this benchmark (default: both)', options: ['vinequeue', 'loadgen'] }),
    ...vinequeueFlags,
    ...loadgenFlags,
    'out-dir': Flags.string({ description: 'directory of the JSON and markdown results of both', default: 'reports' }),
    name: Flags.string({ description: 'base name of the VineQueue result files (default vinequeue-bench-<UTC time>)' }),
    'loadgen-name': Flags.string({ description: 'base name of the loadgen result files (default loadgen-bench-<UTC time>)' }),
  };

  async run(): Promise<BenchAllResult> {
    const { flags } = await this.parse(BenchAll);
    if (flags.only === 'vinequeue' && flags['loadgen-name'] !== undefined) throw new InvalidInputError('--loadgen-name names the loadgen results, and --only vinequeue does not run that benchmark: drop one of them');
    if (flags.only === 'loadgen' && flags.name !== undefined) throw new InvalidInputError('--name names the VineQueue results, and --only loadgen does not run that benchmark: use --loadgen-name');
    // the loadgen flags first, so a typo does not cost a VineQueue run
    const loadgenOpts = flags.only === 'vinequeue' ? null : loadgenOptionsFromFlags(flags);
    const command = ['gatectl', 'bench', 'all', ...this.argv].join(' ');
    const out: BenchAllResult = { vinequeue: null, loadgen: null };
    let failure: unknown;
    if (flags.only !== 'loadgen') {
      try {
        const r = await runVineQueueBench({ seconds: flags.seconds, producers: flags.producers, rate: flags.rate, wal: flags.wal }, command, (l) => this.note(l));
        const files = await writeVineQueueReports(r, flags['out-dir'], flags.name);
        if (!this.jsonEnabled()) this.log(`${renderBenchTerminal(r)}written: ${files.json}, ${files.md}`);
        out.vinequeue = r;
      } catch (err) {
        this.note(`vinequeue bench failed: ${(err as Error).message}`);
        failure = err;
      }
    }
    if (loadgenOpts !== null) {
      try {
        const r = await runLoadgenBench(loadgenOpts, command, (l) => this.note(l));
        const files = await writeLoadgenReports(r, flags['out-dir'], flags['loadgen-name']);
        if (!this.jsonEnabled()) this.log(`${renderLoadgenTerminal(r)}written: ${files.json}, ${files.md}`);
        out.loadgen = r;
      } catch (err) {
        this.note(`loadgen bench failed: ${(err as Error).message}`);
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
    return out;
  }
}
