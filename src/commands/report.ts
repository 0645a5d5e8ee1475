import { Args, Flags } from '@oclif/core';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { BaseCommand } from '../cli/base.js';
import { oneOf } from '../config/resolve.js';
import { readResultFile, writeFileAtomic } from '../metrics/files.js';
import { REPORT_FORMATS, renderResult } from '../report/index.js';
import { InvalidInputError } from '../errors.js';

/** `gatectl report [FILE] --format markdown|json|table [--out FILE]`. */
export default class Report extends BaseCommand {
  static description = 'Render a run or comparison result (default: the newest file under reports/)';
  static examples = ['<%= config.bin %> report reports/compare-sync-vs-async-….json --format markdown --out reports/compare.md'];
  static args = { file: Args.string({ description: 'result JSON written by load or compare' }) };
  static flags = {
    format: Flags.string({ description: 'markdown, json or table', default: 'table' }),
    out: Flags.string({ description: 'write to this file (atomically) instead of stdout' }),
  };

  async run(): Promise<{ file: string; format: string; out: string | null }> {
    const { args, flags } = await this.parse(Report);
    const format = oneOf(flags.format, REPORT_FORMATS, '--format');
    const file = args.file ?? (await newestResult('reports'));
    const text = renderResult(await readResultFile(file), format);
    if (flags.out !== undefined) {
      await writeFileAtomic(flags.out, text);
      this.note(`written to ${flags.out}`);
    } else if (!this.jsonEnabled()) {
      process.stdout.write(text);
    }
    return { file, format, out: flags.out ?? null };
  }
}

async function newestResult(dir: string): Promise<string> {
  let names: string[] = [];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
  } catch {
    // no reports directory yet
  }
  if (names.length === 0) throw new InvalidInputError(`no result file given and none found under ${dir}/: run gatectl load or compare first, or pass FILE`);
  const withTimes = await Promise.all(names.map(async (n) => ({ n, t: (await stat(path.join(dir, n))).mtimeMs })));
  withTimes.sort((a, b) => b.t - a.t);
  return path.join(dir, withTimes[0]!.n);
}
