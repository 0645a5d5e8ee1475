/**
 * `node dist/bench/loadgen.js`: the load-generator benchmark alone (src/bench/loadgen.ts, issue 4):
 * gatectl load throughput against the raw echo throughput of the same transport (goal ≥ 0.85), the
 * open model at 90 % of it, the histogram record and codec costs, and the transport section (quic and
 * tcp raw echo per shape, memory per connection, factor against the reference run; issue 13). Writes reports/<name>.json and
 * .md (machine, load average and this command inside) and prints the tables. `npm run bench` runs it
 * together with the VineQueue benchmark (bench/run.ts).
 *
 *   node dist/bench/loadgen.js [--transport quic|tcp] [--connections 100] [--in-flight 8] [--duration 5] [--rounds 2] [--out-dir reports] [--name NAME]
 */
import { parseArgs } from 'node:util';
import { LOADGEN_ARG_OPTIONS, LOADGEN_USAGE, loadgenOptionsFromArgs, renderLoadgenTerminal, runLoadgenBench, writeLoadgenReports } from '../src/bench/loadgen.js';
import { exitCodeOf } from '../src/cli/exit-codes.js';

const USAGE = `usage: node dist/bench/loadgen.js ${LOADGEN_USAGE} [--out-dir DIR (reports)] [--name NAME]`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ options: { ...LOADGEN_ARG_OPTIONS, 'out-dir': { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help === true) { process.stdout.write(`${USAGE}\n`); return 0; }
  const command = ['node', 'dist/bench/loadgen.js', ...process.argv.slice(2)].join(' ');
  try {
    const opts = loadgenOptionsFromArgs(values);
    const r = await runLoadgenBench(opts, command, (l) => process.stderr.write(`${l}\n`));
    const files = await writeLoadgenReports(r, values['out-dir'] ?? 'reports', values.name);
    process.stdout.write(renderLoadgenTerminal(r));
    process.stdout.write(`written: ${files.json}, ${files.md}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    return exitCodeOf(err);
  }
}

process.exitCode = await main();
