import { Args, Flags, type Interfaces } from '@oclif/core';
import path from 'node:path';
import { BaseCommand } from '../cli/base.js';
import { capacityFlags, gatewayFlags, loadFlags } from '../cli/flags.js';
import { executeCapacity, executeRun } from '../cli/execute.js';
import { runRounds } from '../cli/rounds.js';
import { resolveCapacityOptions } from '../config/load.js';
import { parseDurationMs } from '../duration.js';
import type { LoadOptions } from '../load/run.js';
import { stagesToSchedule } from '../scenario/schedule.js';
import type { CapacityResult } from '../metrics/capacity.js';
import { MODES } from '../config/resolve.js';
import { applyThresholds, setupRun, type RunFlags } from '../cli/run-setup.js';
import { renderThresholds } from '../metrics/thresholds.js';
import { defaultResultPath, readResultFile, writeFileAtomic } from '../metrics/files.js';
import { analyzeComparison, formatDifference, loadShapeDifferences, makeComparison, makeRoundsComparison, DEFAULT_MIN_CHANGE, type Comparison, type Side } from '../metrics/compare.js';
import { judgeSaturation } from '../metrics/saturation.js';
import type { ComparisonResult, RunResult } from '../metrics/result.js';
import { renderComparisonTerminal } from '../report/index.js';
import { InterruptedError, InvalidInputError } from '../errors.js';
import { onInterrupt } from '../cli/interrupt.js';

/**
 * Parses `--min-change`: a percentage (`5%`) or a fraction (`0.05`), at least 0 and below 100%.
 *
 * @throws {InvalidInputError} naming the value and the accepted forms.
 */
export function parseMinChange(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text);
  const v = m === null ? NaN : Number(m[1]) / (m[2] === '%' ? 100 : 1);
  if (!Number.isFinite(v) || v < 0 || v >= 1) {
    throw new InvalidInputError(`--min-change ${JSON.stringify(text)} is not a change size: give a percentage from 0% to below 100% (e.g. 5%) or a fraction (e.g. 0.05)`);
  }
  return v;
}

/**
 * `gatectl compare sync async [--repeat N]` (N rounds of two fresh in-process runs, ABBA order) or
 * `gatectl compare BEFORE.json AFTER.json [--allow-different]`.
 */
export default class Compare extends BaseCommand {
  static description = 'Before/after comparison: run the same load against the sync and async gateway in repeated rounds (medians, 95% intervals, saturation verdicts), or compare two saved results';
  static usage = ['sync async [-c CLIENTS] [-d DURATION] [--repeat N] [FLAGS]', 'BEFORE.json AFTER.json [--allow-different]'];
  static examples = [
    '<%= config.bin %> compare sync async --clients 1000 --duration 20s --repeat 3',
    '<%= config.bin %> compare reports/run-sync.json reports/run-async.json',
    '<%= config.bin %> compare sync async --scenario scenarios/seed-003.yaml --single-call --find-max',
  ];
  static args = {
    before: Args.string({ description: 'sync, async, or a result file', required: true }),
    after: Args.string({ description: 'sync, async, or a result file', required: true }),
  };
  static flags = {
    ...gatewayFlags,
    ...loadFlags,
    ...capacityFlags,
    'single-call': Flags.boolean({ helpGroup: 'COMPARE', description: 'also measure each side with one client and one request in flight (seed 003 单次API调用), in the first round', default: false }),
    'single-call-duration': Flags.string({ helpGroup: 'COMPARE', description: 'length of the single-call run', default: '3s' }),
    repeat: Flags.integer({ helpGroup: 'COMPARE', description: 'rounds per side, run in alternating order (ABBA…), each against a fresh gateway; rows show the median of the rounds and a 95% bootstrap interval of the factor (1 = one run per side, interval over its seconds)', default: 3 }),
    'min-change': Flags.string({ helpGroup: 'COMPARE', description: 'a factor whose change is smaller than this (e.g. 5% or 0.05) is "no significant change", even when its interval excludes 1', default: '5%' }),
    'allow-different': Flags.boolean({ helpGroup: 'COMPARE', description: 'compare two result files whose load shapes differ (clients, rate/model, duration, payload, transport, scenario); the differences are listed in every output', default: false }),
    out: Flags.string({ helpGroup: 'OUTPUT', description: 'comparison file (default reports/compare-<before>-vs-<after>-<time>.json); each round\'s runs go to <out>.rounds/ as they finish' }),
  };

  async run(): Promise<ComparisonResult> {
    const { args, flags, metadata } = await this.parse(Compare);
    const typed = new Set(Object.keys(flags).filter((k) => metadata.flags[k]?.setFromDefault !== true));
    const isMode = (s: string) => (MODES as readonly string[]).includes(s);
    const minChange = typed.has('min-change') ? parseMinChange(flags['min-change']) : DEFAULT_MIN_CHANGE;
    let cmp: Comparison;
    let out: string;
    if (isMode(args.before) && isMode(args.after)) {
      if (flags.repeat < 1) throw new InvalidInputError(`--repeat ${flags.repeat}: a comparison needs at least 1 round per side (default 3; 1 = one run per side)`);
      if (typed.has('allow-different')) throw new InvalidInputError('--allow-different applies to comparing two result files; compare sync async runs the same load on both sides: drop --allow-different');
      out = flags.out ?? defaultResultPath('compare', `${args.before}-vs-${args.after}`);
      cmp = await this.runModes(args.before, args.after, flags, typed, out, minChange);
    } else if (!isMode(args.before) && !isMode(args.after)) {
      if (typed.has('repeat')) throw new InvalidInputError('--repeat runs new rounds; two result files are one saved run each: drop --repeat, or compare sync async --repeat N');
      const load = async (f: string): Promise<RunResult> => {
        const r = await readResultFile(f);
        if (r.schema !== 'gatectl.run/v1') throw new InvalidInputError(`${f} is a comparison (schema ${r.schema}), not a run result: compare takes two files written by gatectl load (schema gatectl.run/v1)`);
        return r;
      };
      const before = await load(args.before);
      const after = await load(args.after);
      const differences = loadShapeDifferences(before, after);
      if (differences.length > 0 && !flags['allow-different']) {
        throw new InvalidInputError(`${args.before} and ${args.after} ran different loads (${differences.map(formatDifference).join('; ')}): ` +
          'a factor between them would mix the load with the design. Re-run with the same load, or pass --allow-different to compare anyway (the differences are then listed in the output)');
      }
      cmp = makeComparison(before, after, new Date());
      cmp.min_change = minChange;
      if (differences.length > 0) cmp.differences = differences;
      cmp.analysis = analyzeComparison(cmp);
      out = flags.out ?? defaultResultPath('compare', `${before.label}-vs-${after.label}`);
    } else {
      throw new InvalidInputError(`compare takes two modes (sync async) or two result files, not a mix: got ${JSON.stringify(args.before)} and ${JSON.stringify(args.after)}`);
    }
    await writeFileAtomic(out, JSON.stringify(cmp, null, 2) + '\n');
    if (!this.jsonEnabled()) {
      this.log(renderComparisonTerminal(cmp));
      this.log(`comparison written to ${out}`);
    }
    return cmp;
  }

  /** The rounds of `compare MODE MODE`: each run written to `<out>.rounds/` as it finishes, the comparison rewritten after each round. */
  private async runModes(beforeMode: string, afterMode: string, flags: Interfaces.InferredFlags<typeof Compare.flags>,
    typed: ReadonlySet<string>, out: string, minChange: number): Promise<Comparison> {
    const quiet = flags.quiet;
    // every setup first: a bad scenario, threshold or flag fails before anything runs
    const setups = { before: setupRun({ ...flags, port: 0, mode: beforeMode } as RunFlags, typed, { remote: false, mode: beforeMode }),
      after: setupRun({ ...flags, port: 0, mode: afterMode } as RunFlags, typed, { remote: false, mode: afterMode }) };
    // the single-call run and the capacity search derive their options from the typed run options (issue 11 §4)
    const { shard, startAtEpochMs, slowClients, ...base } = setups.before.load; // one process, no shard, no start time, no slow readers
    const singleMs = parseDurationMs(flags['single-call-duration'], '--single-call-duration');
    const single: LoadOptions = {
      ...base, clients: 1, model: 'closed', concurrency: 1, thinkTimeMs: 0, workers: 1, label: 'single', scheduleLabel: 'closed, 1 in flight per client',
      schedule: stagesToSchedule({ model: 'closed', clients: 1, rate: null, ratePerClient: null, stages: [{ kind: 'steady', durationMs: singleMs }] }),
    };
    // the search uses the run's client count (the scenario's, if any) and starts at --start-rate (default 100/s)
    const startRate = flags['start-rate'] ?? 100;
    const capBase: LoadOptions = {
      ...base, model: 'open', scheduleLabel: `constant ${startRate}/s`,
      schedule: stagesToSchedule({ model: 'open', clients: base.clients, rate: startRate, ratePerClient: null, stages: [{ kind: 'steady', durationMs: base.schedule.durationMs }] }),
    };
    const capacity = flags['find-max'] ? resolveCapacityOptions({ ...flags, scenario: undefined }, capBase) : null;
    const singles: Partial<Record<Side, RunResult>> = {};
    const caps: Partial<Record<Side, CapacityResult>> = {};
    const roundsDir = `${out.replace(/\.json$/, '')}.rounds`;
    const repeat = flags.repeat;
    const once = [flags['single-call'] ? '--single-call' : '', flags['find-max'] ? '--find-max' : ''].filter((x) => x !== '');
    if (!quiet) {
      this.note(`${repeat} round${repeat === 1 ? '' : 's'} per side in ABBA order, a fresh gateway for every run; each run is written to ${roundsDir}/ as it finishes` +
        (once.length > 0 ? `; ${once.join(' and ')} run once per side, in round 1` : ''));
    }
    const extras = (): ComparisonResult['extras'] => {
      const e = {
        ...(singles.before !== undefined && singles.after !== undefined ? { single_call: { before: singles.before, after: singles.after } } : {}),
        ...(caps.before !== undefined && caps.after !== undefined ? { capacity: { before: caps.before, after: caps.after } } : {}),
      };
      return Object.keys(e).length > 0 ? e : undefined;
    };
    const build = (r: { before: RunResult[]; after: RunResult[]; order: Side[][] }, interrupted: boolean): Comparison => {
      const ex = extras();
      return makeRoundsComparison({ ...r, planned: repeat, interrupted }, { minChange, ...(ex !== undefined ? { extras: ex } : {}) });
    };
    const interrupt = onInterrupt((l) => this.note(l));
    const signal = interrupt.signal;
    const outcome = await runRounds<RunResult>(repeat, async (side, round) => {
      const setup = setups[side];
      const gateway = setup.gateway;
      const label = setup.load.label;
      if (!quiet) this.note(`== round ${round + 1}/${repeat}, ${label}: ${gateway.processorMode} processor, ${gateway.queue.enableAsyncSend ? 'async' : 'sync'} send, ${gateway.queue.lockScope} lock, quota ${gateway.quota?.mode ?? 'off'}`);
      if (round === 0 && flags['single-call']) {
        if (!quiet) this.note(`-- ${label}: single call (1 client, 1 in flight, ${flags['single-call-duration']})`);
        singles[side] = await executeRun({ ...single, label }, gateway, null, !quiet, signal);
      }
      const run = await executeRun(setup.load, gateway, null, !quiet, signal);
      const th = applyThresholds(run, setup.thresholds);
      if (th.length > 0 && !quiet) this.note(`${label} round ${round + 1} ${renderThresholds(th)}`);
      if (round === 0 && capacity !== null && !signal.aborted) {
        if (!quiet) this.note(`-- ${label}: capacity search from ${capacity.startRate}/s`);
        caps[side] = await executeCapacity({ ...capBase, label }, capacity, gateway, null, !quiet,
          (s) => { if (!quiet) this.note(`step ${s.rate}/s: ${s.ok ? 'held' : `broke (${s.failed.join('; ')})`}`); }, signal);
      }
      return run;
    }, {
      stop: (run) => run.interrupted === true || signal.aborted,
      onRun: async (side, round, run) => {
        const file = path.join(roundsDir, `round-${round + 1}-${side}-${run.label}.json`);
        await writeFileAtomic(file, JSON.stringify(run, null, 2) + '\n');
        if (!quiet) {
          const v = judgeSaturation(run);
          const served = v.served_per_s !== null ? `served ${v.served_per_s.toFixed(1)}/s` + (v.offered_per_s !== null ? ` of ${v.offered_per_s.toFixed(1)}/s offered` : '') : '';
          this.note(`${run.label} round ${round + 1}: ${v.saturated ? `SATURATED — ${v.reasons.join('; ')}` : v.judged ? `kept up (${served})` : 'saturation not judged (closed model)'}; written to ${file}`);
        }
      },
      onRound: async (round, sofar) => {
        if (round + 1 < repeat) await writeFileAtomic(out, JSON.stringify(build(sofar, false), null, 2) + '\n');
      },
    }).finally(() => interrupt.dispose());
    if (outcome.stopped === true) {
      const done = outcome.before.length;
      if (done === 0) {
        throw new InterruptedError(`interrupted in round 1 before both sides finished: no comparison written; the runs that finished are in ${roundsDir}/`);
      }
      const partial = build(outcome, true);
      await writeFileAtomic(out, JSON.stringify(partial, null, 2) + '\n');
      if (!this.jsonEnabled()) this.log(renderComparisonTerminal(partial));
      this.resultForJson = partial;
      throw new InterruptedError(`interrupted after ${done} of ${repeat} rounds: the ${done} complete round${done === 1 ? ' is' : 's are'} in ${out} (marked interrupted), ` +
        `every finished run (the interrupted one too) in ${roundsDir}/`, partial);
    }
    if (outcome.error !== undefined) {
      if (outcome.before.length === 0) {
        this.note(`compare stopped in round 1 before both sides ran; the runs that finished are in ${roundsDir}/`);
        throw outcome.error;
      }
      const partial = build(outcome, true);
      await writeFileAtomic(out, JSON.stringify(partial, null, 2) + '\n');
      this.note(`compare stopped after ${outcome.before.length} of ${repeat} rounds: ${(outcome.error as Error).message ?? String(outcome.error)}; ` +
        `the ${outcome.before.length} complete round${outcome.before.length === 1 ? ' is' : 's are'} in ${out} (marked interrupted), every finished run in ${roundsDir}/`);
      if (!this.jsonEnabled()) this.log(renderComparisonTerminal(partial));
      throw outcome.error;
    }
    return build(outcome, false);
  }
}
