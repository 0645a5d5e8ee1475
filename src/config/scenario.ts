/**
 * A scenario file (src/scenario, issue 4 §3) laid under the command line: the scenario defines the
 * run's shape (model, clients, rate, stages, mix); flags the user typed win for everything else,
 * and flags left at their defaults take the scenario's values.
 */
import { InvalidInputError } from '../errors.js';
import type { GatewayConfig } from '../gateway/config.js';
import { scenarioGatewayFlags, stagesToSchedule, type Scenario } from '../scenario/index.js';
import type { LoadOptions } from '../load/run.js';
import { resolveLoadOptions, type LoadFlags } from './load.js';

/** Flags that describe the run's shape; with --scenario they must come from the file. */
const SHAPE_FLAGS = ['clients', 'duration', 'rate', 'rate-per-client', 'model'] as const;

/**
 * The gateway flags with the scenario's gateway/upstream settings laid under those the user typed.
 * @param typed names of flags given on the command line (not defaults)
 */
export function scenarioGatewayOverlay<F extends object>(flags: F, typed: ReadonlySet<string>, scenario: Scenario): F {
  const out = { ...flags } as Record<string, unknown>;
  for (const [k, v] of Object.entries(scenarioGatewayFlags(scenario))) if (!typed.has(k)) out[k] = v;
  return out as F;
}

/** The scenario's lognormal σ applied to a resolved gateway config (there is no flag for it). */
export function withScenarioSigma(config: Readonly<GatewayConfig>, scenario: Scenario): Readonly<GatewayConfig> {
  const sigma = scenario.upstream.lognormalSigma;
  return sigma === undefined ? config : { ...config, upstream: { ...config.upstream, lognormalSigma: sigma } };
}

/**
 * LoadOptions for a scenario run. Throws InvalidInputError when a shape flag (--clients, --duration,
 * --rate, --rate-per-client, --model) was typed beside --scenario: edit the scenario instead.
 */
export function scenarioLoadOptions(flags: LoadFlags, typed: ReadonlySet<string>, scenario: Scenario, label: string,
  recordedConfig: Record<string, unknown> = {}): LoadOptions {
  const clash = SHAPE_FLAGS.filter((f) => typed.has(f));
  if (clash.length > 0) {
    throw new InvalidInputError(`--${clash.join(', --')} given with --scenario ${scenario.file}: the scenario sets the run's shape; ` +
      'remove the flag or change the scenario (or copy it and edit the copy)');
  }
  const schedule = stagesToSchedule(scenario);
  const pick = <T>(flag: string, fromFile: T | null, fromFlags: T): T => (typed.has(flag) || fromFile === null ? fromFlags : fromFile);
  const ms = (v: number | null) => (v === null ? null : `${v}ms`);
  const merged: LoadFlags = {
    ...flags,
    clients: Math.max(1, schedule.maxClients),
    duration: `${schedule.durationMs}ms`,
    model: scenario.model,
    rate: undefined,
    'rate-per-client': undefined,
    'max-in-flight': pick('max-in-flight', scenario.maxInFlight, flags['max-in-flight']),
    concurrency: pick('concurrency', scenario.concurrency, flags.concurrency),
    'think-time': pick('think-time', ms(scenario.model === 'closed' ? scenario.thinkTimeMs : null), flags['think-time']),
    'connect-timeout': pick('connect-timeout', ms(scenario.connectTimeoutMs), flags['connect-timeout']),
    'drain-timeout': pick('drain-timeout', ms(scenario.drainTimeoutMs), flags['drain-timeout']),
    'slow-clients': pick('slow-clients', scenario.slowClients !== null ? `${scenario.slowClients.percent}%` : null, flags['slow-clients']),
    'slow-read-rate': pick('slow-read-rate', scenario.slowClients?.readBytesPerS ?? null, flags['slow-read-rate']),
    'slow-receive-window': pick('slow-receive-window', scenario.slowClients?.receiveWindowBytes ?? null, flags['slow-receive-window']),
  };
  return resolveLoadOptions(merged, label, { ...recordedConfig, scenario: scenario.name, scenario_file: scenario.file, scenario_full: scenario.full },
    { schedule, scheduleLabel: `scenario ${scenario.name}${scenario.full ? ' (full)' : ''}`, mix: scenario.mix });
}
