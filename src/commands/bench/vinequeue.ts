import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base.js';
import { DEFAULT_BENCH_OPTIONS, runVineQueueBench, type VineBenchResult } from '../../bench/vinequeue/bench.js';
import { renderBenchTerminal, writeVineQueueReports } from '../../bench/vinequeue/report.js';

/** The VineQueue flags (also `gatectl bench all`'s), without --name and --out-dir. */
export const vinequeueFlags = {
  seconds: Flags.integer({ description: 'seconds per cell (3 cells per variant)', default: DEFAULT_BENCH_OPTIONS.seconds, min: 1, max: 600 }),
  producers: Flags.integer({ description: 'producers of the concurrent cell', default: DEFAULT_BENCH_OPTIONS.producers, min: 1, max: 10_000 }),
  rate: Flags.integer({ description: 'items/s offered in the fixed-rate cell (CPU and latency at equal load)', default: DEFAULT_BENCH_OPTIONS.rate, min: 1, max: 10_000_000 }),
  wal: Flags.boolean({ description: 'WAL on for both variants (temporary directory, fsync interval)', default: false }),
};

/** `gatectl bench vinequeue`: seed 002's V1/V2 table, measured (core: src/bench/vinequeue/). */
export default class BenchVineQueue extends BaseCommand {
  static description = 'Benchmark VineQueue V1 against V2 (seed 002 table: QPS with 1 and 100 producers, p99 enqueue latency, memory, CPU), claims labelled';
  static examples = ['<%= config.bin %> bench vinequeue', '<%= config.bin %> bench vinequeue --seconds 10 --wal'];
  static flags = {
    ...vinequeueFlags,
    'out-dir': Flags.string({ description: 'directory of the JSON and markdown results', default: 'reports' }),
    name: Flags.string({ description: 'base name of the result files (default vinequeue-bench-<UTC time>)' }),
  };

  async run(): Promise<VineBenchResult> {
    const { flags } = await this.parse(BenchVineQueue);
    const command = ['gatectl', 'bench', 'vinequeue', ...this.argv].join(' ');
    const r = await runVineQueueBench({ seconds: flags.seconds, producers: flags.producers, rate: flags.rate, wal: flags.wal }, command, (l) => this.note(l));
    const files = await writeVineQueueReports(r, flags['out-dir'], flags.name);
    if (!this.jsonEnabled()) {
      this.log(renderBenchTerminal(r));
      this.log(`written: ${files.json}, ${files.md}`);
    }
    return r;
  }
}
