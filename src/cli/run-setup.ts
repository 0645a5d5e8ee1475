/**
 * What `load` and `compare` share between parsing flags and running: the scenario (if any) laid
 * under the typed flags, the gateway config, the LoadOptions, the threshold list; and, after the
 * run, the threshold evaluation stored in the result.
 */
import { resolveGatewayConfig, type GatewayFlags } from '../config/resolve.js';
import { runStateDir } from '../state-dir.js';
import { resolveLoadOptions, type LoadFlags } from '../config/load.js';
import { scenarioGatewayOverlay, scenarioLoadOptions, withScenarioSigma } from '../config/scenario.js';
import type { GatewayConfig } from '../gateway/config.js';
import type { LoadOptions } from '../load/run.js';
import { evaluateThresholds, parseThreshold, type ThresholdResult } from '../metrics/thresholds.js';
import type { RunResult } from '../metrics/result.js';
import { loadScenario, type Scenario } from '../scenario/index.js';
import { InvalidInputError } from '../errors.js';

/** Flags that only `--find-max` reads (capacity search). */
const CAPACITY_ONLY_FLAGS = ['slo', 'error-budget', 'start-rate', 'max-rate', 'step-duration', 'refine'] as const;

/**
 * Refuses flags that this run would silently ignore (issue 11: "flags that would be ignored are
 * errors"): capacity-search flags without `--find-max`, and `--full` without `--scenario`.
 * `typed` = flags given on the command line.
 *
 * @throws {InvalidInputError} naming the flag and the fix.
 */
export function refuseIgnoredFlags(flags: { full?: boolean; scenario?: string; 'find-max'?: boolean }, typed: ReadonlySet<string>): void {
  if (flags['find-max'] !== true) {
    const given = CAPACITY_ONLY_FLAGS.filter((f) => typed.has(f));
    if (given.length > 0) {
      const list = given.map((f) => `--${f}`).join(', ');
      throw new InvalidInputError(`${list} ${given.length === 1 ? 'applies' : 'apply'} only to a capacity search: add --find-max, or drop ${list}`);
    }
  }
  if (flags.full === true && flags.scenario === undefined) {
    throw new InvalidInputError("--full applies a scenario's full: block: give --scenario FILE, or drop --full");
  }
}

/** Parsed flags of load/compare, as oclif returns them. */
export type RunFlags = GatewayFlags & LoadFlags & { scenario?: string; full: boolean; threshold?: string[] };

/** A run ready to go. */
export interface RunSetup {
  gateway: Readonly<GatewayConfig>;
  load: LoadOptions;
  thresholds: string[];
  scenario: Scenario | null;
}

/**
 * Resolves one run's setup. `typed` = flags given on the command line (oclif: not setFromDefault).
 * `mode` overrides the profile (compare runs both). The run's label is `remote` for a remote target,
 * else the gateway's processor mode. Throws InvalidInputError for a bad scenario, threshold or flag,
 * or a flag the run would ignore (all are checked before anything runs).
 */
export function setupRun(flags: RunFlags, typed: ReadonlySet<string>, opts: { remote: boolean; mode?: string }): RunSetup {
  refuseIgnoredFlags(flags as RunFlags & { 'find-max'?: boolean }, typed);
  const mode = opts.mode;
  const scenario = flags.scenario !== undefined ? loadScenario(flags.scenario, { full: flags.full }) : null;
  const thresholds = [...(flags.threshold ?? []), ...(scenario?.thresholds ?? [])];
  for (const t of thresholds) parseThreshold(t);
  const gwFlags = scenario !== null ? scenarioGatewayOverlay(flags, typed, scenario) : flags;
  const base = resolveGatewayConfig({ ...gwFlags, port: 0, ...(mode !== undefined ? { mode } : {}) }, process.env, runStateDir());
  const gateway = scenario !== null ? withScenarioSigma(base, scenario) : base;
  const label = opts.remote ? 'remote' : gateway.processorMode;
  const load = scenario !== null ? scenarioLoadOptions(flags, typed, scenario, label) : resolveLoadOptions(flags, label);
  return { gateway, load, thresholds, scenario };
}

/** Evaluates `thresholds` on `result` and stores the outcome in it (before it is written). */
export function applyThresholds(result: RunResult, thresholds: readonly string[]): ThresholdResult[] {
  const results = evaluateThresholds(result, thresholds);
  if (results.length > 0) {
    result.thresholds = results.map((r) => ({ expr: r.expr, ok: r.ok, actual: r.actual, ...(r.reason !== undefined ? { reason: r.reason } : {}) }));
  }
  return results;
}
