import { Args, Flags } from '@oclif/core';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { BaseCommand } from '../cli/base.js';
import { oneOf } from '../config/resolve.js';
import { readResultFile, writeFileAtomic } from '../metrics/files.js';
import { mergeRunResults } from '../metrics/merge.js';
import { COMPARISON_SCHEMA, RUN_SCHEMA, type RunResult } from '../metrics/result.js';
import { CAPACITY_SCHEMA, type CapacityResult } from '../metrics/capacity.js';
import { findLatency } from '../metrics/thresholds.js';
import {
  CHART_KINDS, ECHARTS_BUNDLE, REPORT_FORMATS, buildCharts, renderChartSvg, renderResult, svgToPng,
  type MarkdownImage, type RenderOptions, type ReportInput,
} from '../report/index.js';
import { InvalidInputError } from '../errors.js';
import { parsePercentiles, statLabel } from '../report/percentiles.js';

/**
 * `gatectl report [FILE] --format markdown|json|table|hgrm|html|svg|png [--metric NAME] [--chart
 * KIND] [--images DIR] [--width PX] [--height PX] [--out FILE]` of a run, comparison or capacity
 * search, and `gatectl report --merge A.json B.json … --out MERGED.json` (exact merge of shard
 * results, see src/metrics/merge.ts). Every file is written atomically.
 */
export default class Report extends BaseCommand {
  static description = 'Render a run, comparison or capacity result (default: the newest file under reports/)';
  static examples = [
    '<%= config.bin %> report reports/compare-sync-vs-async-….json --format html --out reports/compare.html',
    '<%= config.bin %> report reports/run-async-….json --format png --chart spectrum --out spectrum.png',
    '<%= config.bin %> report reports/compare-sync-vs-async-….json --format markdown --out reports/compare.md --images reports/img',
    '<%= config.bin %> report reports/run-async-….json --format hgrm --out e2e.hgrm',
    '<%= config.bin %> report reports/run-async-….json --format hgrm --metric enqueue_latency',
    '<%= config.bin %> report --merge results/shard-*.json --out results/merged.json',
  ];
  static args = { file: Args.string({ description: 'result JSON written by load, load --find-max or compare' }) };
  static flags = {
    format: Flags.string({ description: 'table, markdown, json, hgrm (HdrHistogram percentile distribution, ms), html (self-contained page with charts), svg or png (one chart)', default: 'table' }),
    chart: Flags.string({ description: `svg/png: the chart, ${CHART_KINDS.join(', ')} (default: spectrum; capacity for a capacity search)` }),
    images: Flags.string({ description: 'markdown: write the charts as SVG files into this directory and link them' }),
    width: Flags.integer({ description: 'svg/png/--images: width in px (default 1000)', min: 200, max: 8000 }),
    height: Flags.integer({ description: 'svg/png/--images: height in px (default: the chart\'s own, which grows with its legend)', min: 150, max: 8000 }),
    percentiles: Flags.string({ description: 'latency statistics of the tables and key figures, in this order: percentiles and min, mean, max (default: the run\'s own --percentiles, else 50,90,95,99,99.9,max)' }),
    metric: Flags.string({ description: 'hgrm: latency to render: e2e, e2e_uncorrected, connect, schedule_lag or a server stage (e.g. enqueue_latency)', default: 'e2e' }),
    merge: Flags.string({ description: 'merge these run results exactly (histograms added, counters summed) into --out', multiple: true }),
    out: Flags.string({ description: 'write to this file (atomically) instead of stdout' }),
  };

  async run(): Promise<ReportOutput | { merged: string[]; out: string; label: string }> {
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
    const chart = flags.chart === undefined ? undefined : oneOf(flags.chart, CHART_KINDS, '--chart');
    const image = format === 'svg' || format === 'png';
    if (chart !== undefined && !image) throw new InvalidInputError(`--chart applies to --format svg or png (one chart); --format html shows every chart`);
    if ((flags.width !== undefined || flags.height !== undefined) && !image && flags.images === undefined) throw new InvalidInputError('--width and --height apply to --format svg or png and to --images DIR');
    if (flags.images !== undefined && format !== 'markdown') throw new InvalidInputError(`--images DIR applies to --format markdown; for one chart use --format svg --chart KIND --out FILE`);
    if (format === 'png' && flags.out === undefined) throw new InvalidInputError('--format png writes binary data: give --out FILE.png (or use --format svg to print the chart as text)');
    const { file, result } = args.file !== undefined ? { file: args.file, result: await readReportFile(args.file) } : await newestResult('reports');
    if (flags.percentiles !== undefined) {
      const labels = parsePercentiles(flags.percentiles).map(statLabel);
      if (result.schema === RUN_SCHEMA) result.percentiles = labels;
      else if (result.schema === COMPARISON_SCHEMA) for (const r of [result.before, result.after]) r.percentiles = labels;
      else throw new InvalidInputError(`--percentiles: ${file} is a capacity search, whose steps keep p50 and p99 only; drop --percentiles`);
    }
    const opts: RenderOptions = {};
    if (format === 'hgrm' && result.schema === 'gatectl.run/v1') {
      opts.latency = findLatency(result, flags.metric);
      if (opts.latency === undefined) {
        const names = [...Object.keys(result.client.latency), ...Object.keys(result.server?.stages ?? {})];
        throw new InvalidInputError(`--metric ${JSON.stringify(flags.metric)}: ${file} has no such latency; use one of ${names.join(', ')}`);
      }
    }
    const size = { ...(flags.width !== undefined ? { width: flags.width } : {}), ...(flags.height !== undefined ? { height: flags.height } : {}) };
    if (format === 'html') Object.assign(opts, await echartsBundle(), { sourceFile: path.basename(file) });
    if (flags.images !== undefined) opts.images = await writeChartImages(result, flags.images, flags.out, path.basename(flags.out ?? file).replace(/\.[^.]*$/, ''), size);
    Object.assign(opts, { size, ...(chart !== undefined ? { chart } : {}) });
    const text = renderResult(result, format === 'png' ? 'svg' : format, opts);
    const output = format === 'png' ? svgToPng(text) : text;
    if (flags.out !== undefined) {
      // writeFileAtomic hands its data to fs.writeFile, which takes the PNG's Buffer as well as text
      await writeFileAtomic(flags.out, output as string);
      this.note(`written to ${flags.out}`);
    } else if (!this.jsonEnabled()) {
      process.stdout.write(output);
    }
    const report = flags.out !== undefined || format === 'png' ? null : format === 'json' ? result : text;
    return { file, schema: result.schema, format, out: flags.out ?? null, report };
  }
}

/**
 * What `report --json` prints: the file rendered, its schema, and the rendered report itself
 * (`report`: the text — or, for `--format json`, the result object — or null when it went to `out`).
 */
export interface ReportOutput {
  file: string;
  schema: string;
  format: string;
  out: string | null;
  report: unknown;
}

/**
 * Reads a result `report` renders: a run or comparison (readResultFile's checks), or a capacity
 * search (`gatectl.capacity/v1`, written by `load --find-max`). Throws InvalidInputError naming the
 * file and the fix.
 */
async function readReportFile(file: string): Promise<ReportInput> {
  try {
    return await readResultFile(file);
  } catch (err) {
    if (!(err instanceof InvalidInputError) || !/is not a gatectl result/.test(err.message)) throw err;
    const data = JSON.parse(await readFile(file, 'utf8')) as Partial<CapacityResult> | null;
    if (data?.schema !== CAPACITY_SCHEMA) {
      throw new InvalidInputError(`${file} is not a gatectl result: expected "schema": "${RUN_SCHEMA}", "${COMPARISON_SCHEMA}" or "${CAPACITY_SCHEMA}", ` +
        `found ${JSON.stringify(data?.schema)}; give a file written by gatectl load, load --find-max or compare`);
    }
    if (!Array.isArray(data.steps) || data.steps.some((s) => typeof s?.rate !== 'number' || typeof s?.e2e?.p99_us !== 'number') || !Array.isArray(data.slo)) {
      throw new InvalidInputError(`result file ${file} claims ${CAPACITY_SCHEMA} but its steps are not capacity steps (rate, e2e); re-run gatectl load --find-max`);
    }
    return data as CapacityResult;
  }
}

/** The ECharts bundle the HTML report inlines, and its version. Rejects with the fs error. */
async function echartsBundle(): Promise<{ echartsSource: string; echartsVersion: string }> {
  const require = createRequire(import.meta.url);
  const [source, pkg] = await Promise.all([readFile(require.resolve(ECHARTS_BUNDLE), 'utf8'), readFile(require.resolve('echarts/package.json'), 'utf8')]);
  return { echartsSource: source, echartsVersion: String((JSON.parse(pkg) as { version?: unknown }).version) };
}

/**
 * `--images DIR`: writes every chart of `result` as `DIR/STEM-KIND.svg` (atomically) and returns the
 * links for the markdown, relative to the markdown file's directory (`out`'s, or the working
 * directory when the markdown goes to stdout).
 */
async function writeChartImages(result: ReportInput, dir: string, out: string | undefined, stem: string, size: { width?: number; height?: number }): Promise<MarkdownImage[]> {
  const base = path.dirname(path.resolve(out ?? 'report.md'));
  const images: MarkdownImage[] = [];
  for (const chart of buildCharts(result)) {
    const target = path.join(dir, `${stem}-${chart.kind}.svg`);
    await writeFileAtomic(target, renderChartSvg(chart, size));
    images.push({ title: chart.title, href: path.relative(base, path.resolve(target)).split(path.sep).join('/') });
  }
  return images;
}

/**
 * The newest `*.json` under `dir` that `report` can render (a run, comparison or capacity result),
 * skipping other JSON (bench reports, broken files). Throws InvalidInputError when there is none.
 */
async function newestResult(dir: string): Promise<{ file: string; result: ReportInput }> {
  let names: string[] = [];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
  } catch {
    // no reports directory yet
  }
  const withTimes = await Promise.all(names.map(async (n) => ({ n, t: (await stat(path.join(dir, n))).mtimeMs })));
  withTimes.sort((a, b) => b.t - a.t);
  for (const { n } of withTimes) {
    const file = path.join(dir, n);
    try {
      return { file, result: await readReportFile(file) };
    } catch (err) {
      if (!(err instanceof InvalidInputError) && !(err instanceof SyntaxError)) throw err;
    }
  }
  throw new InvalidInputError(`no result file given and none under ${dir}/ that report can render: run gatectl load or compare first, or pass FILE`);
}
