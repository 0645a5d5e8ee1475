import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base.js';
import { DEFAULT_LOADGEN_BENCH_OPTIONS as D, formatTransportShapes, loadgenOptionsFromFlags } from '../../bench/loadgen/options.js';
import { renderLoadgenTerminal, writeLoadgenReports } from '../../bench/loadgen/render.js';
import type { LoadgenBenchResult } from '../../bench/loadgen/result.js';
import { runLoadgenBench } from '../../bench/loadgen/run.js';

/** The loadgen flags (also `gatectl bench all`'s), defaults from DEFAULT_LOADGEN_BENCH_OPTIONS; validated by loadgenOptionsFromFlags. */
export const loadgenFlags = {
  transport: Flags.string({ description: 'transport of the null gateway and of both clients', options: ['quic', 'tcp'], default: D.transport }),
  connections: Flags.integer({ description: 'N: connections of the raw echo client = clients of gatectl load', default: D.connections, min: 1, max: 5000 }),
  'in-flight': Flags.integer({ description: 'K: requests in flight per connection (raw echo) = closed-model --concurrency (gatectl)', default: D.inFlight, min: 1, max: 1000 }),
  duration: Flags.string({ description: 'length of each measured phase, e.g. 5s or 500ms (at most 10m)', default: `${D.durationS}s` }),
  rounds: Flags.integer({ description: 'raw echo / gatectl closed pairs, the order alternating per round', default: D.rounds, min: 1, max: 10 }),
  warmup: Flags.string({ description: 'unrecorded warm-up of each side before round 1, e.g. 1s (0 = none, at most 1m)', default: `${D.warmupS}s` }),
  'payload-bytes': Flags.integer({ description: 'BusinessRequest payload, bytes (gatectl load\'s default)', default: D.payloadBytes, min: 0, max: 1_000_000 }),
  'open-fraction': Flags.string({ description: 'rate of the open-model phase as a fraction of the raw echo rate, within (0, 2]', default: String(D.openFraction) }),
  'histogram-values': Flags.integer({ description: 'values recorded in the histogram record-cost loop', default: D.histogramValues, min: 1000, max: 100_000_000 }),
  'codec-iterations': Flags.integer({ description: 'messages in the codec-cost loops', default: D.codecIterations, min: 1000, max: 100_000_000 }),
  'transport-shapes': Flags.string({ description: 'shapes (connections x in flight) of the transport section, 1 to 4; memory is measured at the one with the most connections', default: formatTransportShapes(D.transportShapes) }),
  'skip-transport': Flags.boolean({ description: 'leave out the transport section (QUIC vs TCP raw echo, memory per connection, reference factor)', default: false }),
};

/** `gatectl bench loadgen`: gatectl load against raw echo on a null gateway, micro-costs, the transport section (core: src/bench/loadgen/). */
export default class BenchLoadgen extends BaseCommand {
  static description = 'Benchmark the load generator: gatectl load throughput against a raw echo client on a null gateway (goal >= 0.85), the open model at 0.9 x raw, histogram and codec costs; QUIC vs TCP raw echo, memory per connection and the factor against the committed reference run';
  static examples = [
    '<%= config.bin %> bench loadgen',
    '<%= config.bin %> bench loadgen --transport tcp --skip-transport',
    '<%= config.bin %> bench loadgen --connections 200 --in-flight 4 --duration 10s --rounds 3',
    '<%= config.bin %> bench loadgen --transport-shapes 100x8,2000x1 --duration 3s',
  ];
  static flags = {
    ...loadgenFlags,
    'out-dir': Flags.string({ description: 'directory of the JSON and markdown results', default: 'reports' }),
    name: Flags.string({ description: 'base name of the result files (default loadgen-bench-<UTC time>)' }),
  };

  async run(): Promise<LoadgenBenchResult> {
    const { flags } = await this.parse(BenchLoadgen);
    const opts = loadgenOptionsFromFlags(flags);
    const r = await runLoadgenBench(opts, ['gatectl', 'bench', 'loadgen', ...this.argv].join(' '), (l) => this.note(l));
    const files = await writeLoadgenReports(r, flags['out-dir'], flags.name);
    if (!this.jsonEnabled()) {
      this.log(renderLoadgenTerminal(r));
      this.log(`written: ${files.json}, ${files.md}`);
    }
    return r;
  }
}
