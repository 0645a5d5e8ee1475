/**
 * `npm run soak` entry (node dist/bench/soak.js): the bounded soak of issue 7 (src/soak/soak.ts).
 * Writes reports/soak-<time>.json and .md (machine and command inside); exit code 0 when it passed,
 * 1 when a check failed, 2 for bad arguments.
 *
 *   node dist/bench/soak.js [--minutes 10 | --seconds N] [--clients 2000] [--rate 500] [--workers 2] [--idle-timeout-s 30] [--out-dir reports]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { renderSoakMarkdown, runSoak } from '../src/soak/soak.js';
import { writeFileAtomic } from '../src/metrics/files.js';

const USAGE = 'usage: node dist/bench/soak.js [--minutes 10 | --seconds N] [--clients 2000] [--rate 500 (total req/s)] [--workers 2] [--idle-timeout-s 30] [--out-dir reports]';

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ options: {
      minutes: { type: 'string' }, seconds: { type: 'string' }, clients: { type: 'string' }, rate: { type: 'string' },
      workers: { type: 'string' }, 'idle-timeout-s': { type: 'string' }, 'out-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    } }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help === true) { process.stdout.write(`${USAGE}\n`); return 0; }
  const num = (v: string | undefined, d: number, name: string): number => {
    const n = v === undefined ? d : Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} ${JSON.stringify(v)} is not a positive number\n${USAGE}`);
    return n;
  };
  let opts;
  try {
    const seconds = values.seconds !== undefined ? num(values.seconds, 0, 'seconds') : num(values.minutes, 10, 'minutes') * 60;
    opts = {
      durationMs: Math.round(seconds * 1000), clients: Math.round(num(values.clients, 2000, 'clients')), rate: num(values.rate, 500, 'rate'),
      workers: Math.round(num(values.workers, 2, 'workers')), idleTimeoutMs: Math.round(num(values['idle-timeout-s'], 30, 'idle-timeout-s') * 1000),
    };
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const command = ['npm run soak --', ...process.argv.slice(2)].join(' ');
  process.stderr.write(`soak: ${opts.clients} clients, ${opts.rate} req/s, ${opts.durationMs / 1000} s, faults injected alongside\n`);
  const r = await runSoak(opts, command, (l) => process.stderr.write(`${l}\n`));
  const dir = values['out-dir'] ?? 'reports';
  await mkdir(dir, { recursive: true });
  const stamp = r.started_at.replace(/[:.]/g, '-');
  const json = path.join(dir, `soak-${stamp}.json`);
  const md = path.join(dir, `soak-${stamp}.md`);
  await writeFileAtomic(json, JSON.stringify(r, null, 2) + '\n');
  await writeFile(md, renderSoakMarkdown(r));
  process.stdout.write(renderSoakMarkdown(r));
  process.stdout.write(`written: ${json}, ${md}\n`);
  return r.passed ? 0 : 1;
}

process.exitCode = await main();
