import { Args, Flags } from '@oclif/core';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { BaseCommand } from '../cli/base.js';
import { oneOf } from '../config/resolve.js';
import { readResultFile, writeFileAtomic } from '../metrics/files.js';
import { mergeRunResults } from '../metrics/merge.js';
import type { RunResult } from '../metrics/result.js';
import { findLatency } from '../load/thresholds.js';
import { REPORT_FORMATS, renderResult } from '../report/index.js';
import { InvalidInputError } from '../errors.js';

/**
 * `gatectl report [FILE] --format markdown|json|table|hgrm [--metric NAME] [--out FILE]`, and
 * `gatectl report --merge A.json B.json … --out MERGED.json` (exact merge of shard results, see
 * src/metrics/merge.ts).
 */
export default class Report extends BaseCommand {
  static description = 'Render a run or comparison result (default: the newest file under reports/)';
  static examples = [
    '<%= config.bin %> report reports/compare-sync-vs-async-….json --format markdown --out reports/compare.md',
    '<%= config.bin %> report reports/run-async-….json --format hgrm --out e2e.hgrm',
    '<%= config.bin %> report reports/run-async-….json --format hgrm --metric enqueue_latency',
    '<%= config.bin %> report --merge results/shard-*.json --out results/merged.json',
  ];
  static args = { file: Args.string({ description: 'result JSON written by load or compare' }) };
  static flags = {
    format: Flags.string({ description: 'markdown, json, table or hgrm (HdrHistogram percentile distribution, ms)', default: 'table' }),
    metric: Flags.string({ description: 'hgrm: latency to render: e2e, e2e_uncorrected, connect, schedule_lag or a server stage (e.g. enqueue_latency)', default: 'e2e' }),
    merge: Flags.string({ description: 'merge these run results exactly (histograms added, counters summed) into --out', multiple: true }),
    out: Flags.string({ description: 'write to this file (atomically) instead of stdout' }),
  };

  async run(): Promise<{ file: string; format: string; out: string | null } | { merged: string[]; out: string; label: string }> {
    const { args, flags } = await this.parse(Report);
    if (flags.merge !== undefined) {
      const files = [...(args.file !== undefined ? [args.file] : []), ...flags.merge];
      if (flags.out === undefined) throw new InvalidInputError('--merge needs --out FILE: where to write the merged result, e.g. --out results/merged.json');
      const results = await Promise.all(files.map(async (f) => {
        const r = await readResultFile(f);
        if (r.schema !== 'gatectl.run/v1') throw new InvalidInputError(`--merge: ${f} is a comparison; merge only run results written by gatectl load`);
        return r;
      }));
      let merged: RunResult;
      try {
        merged = mergeRunResults(results);
      } catch (err) {
        if (err instanceof InvalidInputError) throw new InvalidInputError(`${err.message} (files: ${files.map((f, i) => `#${i + 1} ${f}`).join(', ')})`);
        throw err;
      }
      await writeFileAtomic(flags.out, JSON.stringify(merged, null, 2) + '\n');
      this.note(`merged ${files.length} results (${merged.client.responses} responses) into ${flags.out}`);
      return { merged: files, out: flags.out, label: merged.label };
    }
    const format = oneOf(flags.format, REPORT_FORMATS, '--format');
    const file = args.file ?? (await newestResult('reports'));
    const result = await readResultFile(file);
    let latency;
    if (format === 'hgrm' && result.schema === 'gatectl.run/v1') {
      latency = findLatency(result, flags.metric);
      if (latency === undefined) {
        const names = [...Object.keys(result.client.latency), ...Object.keys(result.server?.stages ?? {})];
        throw new InvalidInputError(`--metric ${JSON.stringify(flags.metric)}: ${file} has no such latency; use one of ${names.join(', ')}`);
      }
    }
    const text = renderResult(result, format, latency !== undefined ? { latency } : {});
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
