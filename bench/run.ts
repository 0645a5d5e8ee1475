/**
 * `npm run bench` entry (node dist/bench/run.js): the VineQueue V1/V2 benchmark of seed 002. Writes
 * reports/<name>.json and .md (machine info and this command inside) and prints the table.
 *
 *   node dist/bench/run.js [--seconds 3] [--producers 100] [--rate 20000] [--wal] [--out-dir reports] [--name NAME]
 */
import { parseArgs } from 'node:util';
import { DEFAULT_BENCH_OPTIONS, runVineQueueBench } from '../src/vinequeue/bench.js';
import { writeBenchReports } from '../src/vinequeue/bench-files.js';
import { renderBenchTerminal } from '../src/vinequeue/bench-report.js';
import { GatectlError } from '../src/errors.js';

const USAGE = 'usage: node dist/bench/run.js [--seconds N (per cell, default 3)] [--producers N (default 100)] [--rate items/s (default 20000)] [--wal] [--out-dir DIR (default reports)] [--name NAME]';

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        seconds: { type: 'string' }, producers: { type: 'string' }, rate: { type: 'string' }, wal: { type: 'boolean' },
        'out-dir': { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help === true) { process.stdout.write(`${USAGE}\n`); return 0; }
  const num = (v: string | undefined, d: number) => (v === undefined ? d : Number(v));
  const opts = {
    seconds: num(values.seconds, DEFAULT_BENCH_OPTIONS.seconds),
    producers: num(values.producers, DEFAULT_BENCH_OPTIONS.producers),
    rate: num(values.rate, DEFAULT_BENCH_OPTIONS.rate),
    wal: values.wal ?? false,
  };
  const command = ['node', 'dist/bench/run.js', ...process.argv.slice(2)].join(' ');
  try {
    const r = await runVineQueueBench(opts, command, (l) => process.stderr.write(`${l}\n`));
    const files = await writeBenchReports(r, values['out-dir'] ?? 'reports', values.name);
    process.stdout.write(renderBenchTerminal(r));
    process.stdout.write(`written: ${files.json}, ${files.md}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    return err instanceof GatectlError ? err.exitCode : 1;
  }
}

process.exitCode = await main();
