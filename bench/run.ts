/**
 * `npm run bench` entry (node dist/bench/run.js): runs both benchmarks, one after the other, each
 * writing reports/<name>.json and .md (machine info and this command inside) and printing its tables:
 * - `vinequeue`: the VineQueue V1/V2 benchmark of seed 002 (src/vinequeue/bench.ts);
 * - `loadgen`: gatectl load throughput against the raw echo throughput of the same transport (goal
 *   ≥ 0.85), the open model at 90 % of it, and the histogram record and codec costs (issue 4,
 *   src/bench/loadgen.ts); and its transport section: quic and tcp raw echo at 100 × 8 and 1000 × 1,
 *   QUIC ÷ TCP, memory per connection at 1000 connections, and the factor against the committed
 *   reference run (issue 13).
 * `--only vinequeue|loadgen` runs one of them. VineQueue flags: --seconds (per cell), --producers,
 * --rate, --wal, --name. Loadgen flags: --transport, --connections, --in-flight, --duration (s per
 * phase), --rounds, --warmup, --payload-bytes, --open-fraction, --histogram-values, --codec-iterations,
 * --transport-shapes, --skip-transport, --loadgen-name. --out-dir applies to both.
 *
 *   node dist/bench/run.js [--only vinequeue|loadgen] [--seconds 3] [--producers 100] [--rate 20000] [--wal] [--connections 100] [--in-flight 8] [--duration 5] [--out-dir reports]
 */
import { parseArgs } from 'node:util';
import { DEFAULT_BENCH_OPTIONS, runVineQueueBench } from '../src/vinequeue/bench.js';
import { writeBenchReports } from '../src/vinequeue/bench-files.js';
import { renderBenchTerminal } from '../src/vinequeue/bench-report.js';
import { LOADGEN_ARG_OPTIONS, LOADGEN_USAGE, loadgenOptionsFromArgs, renderLoadgenTerminal, runLoadgenBench, writeLoadgenReports } from '../src/bench/loadgen.js';
import { exitCodeOf as exitCode } from '../src/cli/exit-codes.js';

const USAGE = 'usage: node dist/bench/run.js [--only vinequeue|loadgen (default: both)] [--out-dir DIR (default reports)]\n' +
  '  VineQueue: [--seconds N (per cell, default 3)] [--producers N (default 100)] [--rate items/s (default 20000)] [--wal] [--name NAME]\n' +
  `  loadgen:   ${LOADGEN_USAGE} [--loadgen-name NAME]`;

function exitCodeOf(err: unknown): number {
  process.stderr.write(`Error: ${(err as Error).message}\n`);
  return exitCode(err);
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        only: { type: 'string' },
        seconds: { type: 'string' }, producers: { type: 'string' }, rate: { type: 'string' }, wal: { type: 'boolean' },
        ...LOADGEN_ARG_OPTIONS, 'loadgen-name': { type: 'string' },
        'out-dir': { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help === true) { process.stdout.write(`${USAGE}\n`); return 0; }
  if (values.only !== undefined && values.only !== 'vinequeue' && values.only !== 'loadgen') {
    process.stderr.write(`--only ${JSON.stringify(values.only)} is not a benchmark: use --only vinequeue or --only loadgen (or leave it out for both)\n${USAGE}\n`);
    return 2;
  }
  const runVine = values.only !== 'loadgen';
  const runLoadgen = values.only !== 'vinequeue';
  let loadgenOpts;
  try {
    // check the loadgen flags before anything runs, so a typo does not cost a VineQueue run
    if (runLoadgen) loadgenOpts = loadgenOptionsFromArgs(values);
  } catch (err) {
    const c = exitCodeOf(err);
    process.stderr.write(`${USAGE}\n`);
    return c;
  }
  const num = (v: string | undefined, d: number) => (v === undefined ? d : Number(v));
  const outDir = values['out-dir'] ?? 'reports';
  const command = ['node', 'dist/bench/run.js', ...process.argv.slice(2)].join(' ');
  let code = 0;
  if (runVine) {
    const opts = {
      seconds: num(values.seconds, DEFAULT_BENCH_OPTIONS.seconds),
      producers: num(values.producers, DEFAULT_BENCH_OPTIONS.producers),
      rate: num(values.rate, DEFAULT_BENCH_OPTIONS.rate),
      wal: values.wal ?? false,
    };
    try {
      const r = await runVineQueueBench(opts, command, (l) => process.stderr.write(`${l}\n`));
      const files = await writeBenchReports(r, outDir, values.name);
      process.stdout.write(renderBenchTerminal(r));
      process.stdout.write(`written: ${files.json}, ${files.md}\n`);
    } catch (err) {
      code ||= exitCodeOf(err);
    }
  }
  if (runLoadgen && loadgenOpts !== undefined) {
    try {
      const r = await runLoadgenBench(loadgenOpts, command, (l) => process.stderr.write(`${l}\n`));
      const files = await writeLoadgenReports(r, outDir, values['loadgen-name']);
      process.stdout.write(renderLoadgenTerminal(r));
      process.stdout.write(`written: ${files.json}, ${files.md}\n`);
    } catch (err) {
      code ||= exitCodeOf(err);
    }
  }
  return code;
}

process.exitCode = await main();
