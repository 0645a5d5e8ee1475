/**
 * Scenario files (issue 4 §3): YAML (the `yaml` package) validated against SCENARIO_SCHEMA with ajv,
 * then checked for the rules JSON Schema cannot say, and converted to a typed Scenario (durations
 * in ms). Every error names the file, the line, the path in the document (e.g. `stages[2].steady.rate`)
 * and the fix.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { InvalidInputError } from '../errors.js';
import { parseDurationMs } from '../duration.js';
import { parseThreshold } from '../metrics/thresholds.js';
import { SCENARIO_SCHEMA } from './schema.js';
import { stagesToSchedule } from './schedule.js';
import type { MixEntry, Scenario, ScenarioGateway, ScenarioSlowClients, ScenarioStage, ScenarioUpstream } from './types.js';

/** Options of loadScenario. */
export interface LoadScenarioOptions {
  /** apply the file's `full:` block (the full-length version of the test); default false */
  full?: boolean;
}

type Obj = Record<string, unknown>;
type Seg = string | number;

let validator: ValidateFunction | null = null;
function validate(data: unknown): ErrorObject[] {
  validator ??= new Ajv({ allErrors: true, verbose: true, strictTypes: false }).compile(SCENARIO_SCHEMA);
  return validator(data) ? [] : [...(validator.errors ?? [])];
}

/** `stages[2].steady.rate` from ['stages', 2, 'steady', 'rate']. */
export function formatPath(segs: readonly Seg[]): string {
  return segs.reduce<string>((acc, s) => (typeof s === 'number' ? `${acc}[${s}]` : acc === '' ? s : `${acc}.${s}`), '') || '(top level)';
}

function pointerToSegs(pointer: string): Seg[] {
  return pointer === '' ? [] : pointer.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~')).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

class Problems {
  readonly list: string[] = [];
  constructor(private readonly doc: Document, private readonly lines: LineCounter) {}

  add(segs: readonly Seg[], problem: string, fix: string): void {
    let node: unknown;
    for (let k = segs.length; k >= 0 && node === undefined; k--) node = k === 0 ? this.doc.contents : this.doc.getIn(segs.slice(0, k), true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    const line = range !== undefined ? `line ${this.lines.linePos(range[0]).line}: ` : '';
    const msg = `${line}${formatPath(segs)}: ${problem}${fix === '' ? '' : `; ${fix}`}`;
    if (!this.list.includes(msg)) this.list.push(msg);
  }
}

function schemaHint(e: ErrorObject): string {
  const d = (e.parentSchema as { description?: string } | undefined)?.description;
  return d === undefined ? '' : `expected ${d}`;
}

function describeAjvError(e: ErrorObject, p: Problems): void {
  const segs = pointerToSegs(e.instancePath);
  const params = e.params as Record<string, unknown>;
  const value = JSON.stringify(e.data);
  switch (e.keyword) {
    case 'additionalProperties': {
      const allowed = Object.keys((e.parentSchema as { properties?: Obj }).properties ?? {});
      if (segs.length === 2 && segs[0] === 'stages') {
        p.add([...segs, String(params.additionalProperty)], `unknown stage kind "${String(params.additionalProperty)}"`, `use one of ${allowed.join(', ')}, e.g. - steady: { duration: 30s, rate: 100 }`);
      } else {
        p.add([...segs, String(params.additionalProperty)], `unknown key "${String(params.additionalProperty)}"`, `allowed keys here: ${allowed.join(', ')}`);
      }
      return;
    }
    case 'required': {
      const missing = String(params.missingProperty);
      const d = ((e.parentSchema as { properties?: Record<string, { description?: string }> }).properties ?? {})[missing]?.description;
      p.add(segs, `missing "${missing}"`, d !== undefined ? `add ${d}` : '');
      return;
    }
    case 'minProperties': case 'maxProperties':
      p.add(segs, `a stage has exactly one of ramp, steady or burst (found ${Object.keys(e.data as Obj).length})`, schemaHint(e));
      return;
    case 'minItems':
      p.add(segs, 'is empty', schemaHint(e));
      return;
    case 'type':
      p.add(segs, `${value} is not ${params.type === 'integer' ? 'a whole number' : `a${/^[aeiou]/.test(String(params.type)) ? 'n' : ''} ${String(params.type)}`}`, schemaHint(e));
      return;
    default:
      p.add(segs, `${value} is not valid (${e.message ?? e.keyword})`, schemaHint(e));
  }
}

function ajvProblems(data: unknown, p: Problems): void {
  const errors = validate(data);
  // anyOf (payload_bytes) reports each branch: keep the anyOf error itself, drop its branches
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  for (const e of errors) {
    if (e.keyword !== 'anyOf' && [...anyOfPaths].some((ap) => e.instancePath.startsWith(ap) && e.schemaPath.includes('/anyOf/'))) continue;
    describeAjvError(e, p);
  }
}

const dur = (text: string, segs: readonly Seg[]): number => parseDurationMs(text, formatPath(segs), { allowZero: true });

/**
 * Reads, validates and converts the scenario at `path`. With `opts.full`, the keys of the file's
 * `full:` block replace the top-level ones (a shallow override: `full.stages` replaces `stages`
 * whole); without a `full:` block the scenario is used as is, with a warning.
 * Throws InvalidInputError naming the file, and for each problem its line, path and fix (unreadable
 * file, YAML syntax, schema violations, model-specific keys, stages without clients or rate, bad
 * thresholds, error_rate + timeout_rate > 1).
 */
export function loadScenario(path: string, opts: LoadScenarioOptions = {}): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidInputError(`cannot read scenario ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; give the path of a YAML file such as scenarios/seed-003.yaml`);
  }
  return parseScenario(text, path, opts);
}

/** As loadScenario, from YAML `text`; `file` names it in errors. */
export function parseScenario(text: string, file: string, opts: LoadScenarioOptions = {}): Scenario {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = lines.linePos(e.pos[0]);
    throw new InvalidInputError(`scenario ${file}: YAML syntax error at line ${pos.line}, column ${pos.col}: ${e.message.split('\n')[0]}; fix the YAML (indentation, quotes around values with ':' or '<')`);
  }
  const raw: unknown = doc.toJS();
  const p = new Problems(doc, lines);
  const fail = (): never => {
    throw new InvalidInputError(`scenario ${file} is not valid:\n${p.list.map((l) => `  - ${l}`).join('\n')}`);
  };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    p.add([], `the document is ${raw === null ? 'empty' : Array.isArray(raw) ? 'a list' : `a ${typeof raw}`}`, 'a scenario is a mapping with at least name: and stages: (see scenarios/seed-003.yaml)');
    fail();
  }
  ajvProblems(raw, p);
  if (p.list.length > 0) fail();

  const top = raw as Obj;
  const fullBlock = (top.full ?? null) as Obj | null;
  const warnings: string[] = [];
  if (opts.full === true && fullBlock === null) warnings.push(`${file} has no full: block; the full-length run uses the default settings`);
  const useFull = opts.full === true && fullBlock !== null;
  const d: Obj = useFull ? { ...top, ...fullBlock } : top;
  /** path of a top-level key: under full: when the value came from there */
  const at = (key: string, ...rest: Seg[]): Seg[] => (useFull && key in fullBlock! ? ['full', key, ...rest] : [key, ...rest]);
  const has = (k: string): boolean => d[k] !== undefined;

  const model: Scenario['model'] = (d.model as Scenario['model'] | undefined) ?? (has('concurrency') || has('think_time') ? 'closed' : 'open');
  if (model === 'open') {
    for (const k of ['concurrency', 'think_time']) if (has(k)) p.add(at(k), `${k} belongs to the closed model`, 'remove it, or set model: closed');
    if (has('rate') && has('rate_per_client')) p.add(at('rate_per_client'), 'rate and rate_per_client both set', 'give one: rate is the total over all clients, rate_per_client is per client');
  } else {
    for (const k of ['rate', 'rate_per_client', 'max_in_flight']) if (has(k)) p.add(at(k), `${k} belongs to the open model`, 'remove it, or set model: open');
  }

  const stages: ScenarioStage[] = [];
  if (has('stages') && has('duration')) p.add(at('duration'), 'duration and stages both set', 'give one: stages carry their own durations');
  if (!has('stages') && !has('duration')) p.add(at('stages'), 'no stages and no duration', 'add stages: [- steady: { duration: 30s }] or duration: 30s');
  if (has('stages')) {
    (d.stages as Obj[]).forEach((entry, i) => {
      const kind = Object.keys(entry)[0] as ScenarioStage['kind'];
      const body = entry[kind] as Obj;
      const segs = at('stages', i, kind);
      const durationMs = dur(String(body.duration), [...segs, 'duration']);
      if (durationMs <= 0) p.add([...segs, 'duration'], 'a stage lasts longer than 0', 'e.g. duration: 30s');
      if (kind === 'ramp' && body.clients === undefined && body.rate === undefined) p.add(segs, 'a ramp needs clients and/or rate to move to', 'e.g. - ramp: { duration: 30s, rate: 2000 }');
      if (model === 'closed' && body.rate !== undefined) p.add([...segs, 'rate'], 'a closed-model scenario has no arrival rate', 'ramp clients instead, or set model: open');
      if (model === 'open' && has('rate_per_client') && body.rate !== undefined) {
        p.add([...segs, 'rate'], 'stage rates are totals over all clients, but this scenario sets rate_per_client', 'use rate: (total) at the top level instead of rate_per_client, or ramp clients');
      }
      stages.push({
        kind, durationMs, ...(body.clients !== undefined ? { clients: body.clients as number } : {}), ...(body.rate !== undefined ? { rate: body.rate as number } : {}),
        ...(body.label !== undefined ? { label: body.label as string } : {}),
      });
    });
  } else if (has('duration')) {
    stages.push({ kind: 'steady', durationMs: dur(String(d.duration), at('duration')) });
    if (stages[0]!.durationMs <= 0) p.add(at('duration'), 'the run lasts longer than 0', 'e.g. duration: 30s');
  }

  const scenarioBase = {
    model, clients: (d.clients as number | undefined) ?? 0,
    rate: model === 'open' ? (d.rate as number | undefined) ?? null : null,
    ratePerClient: model === 'open' ? (d.rate_per_client as number | undefined) ?? null : null,
    stages,
  };
  if (p.list.length === 0) {
    const schedule = stagesToSchedule(scenarioBase);
    for (const g of schedule.segments) {
      const segs = at('stages', g.stage, g.kind);
      const stageSegs = has('stages') ? segs : at('duration');
      if (g.clientsFrom === 0 && g.clientsTo === 0) p.add(stageSegs, 'no clients during this stage', 'set clients: at the top level or in a stage');
      else if (model === 'open' && g.rateFrom === 0 && g.rateTo === 0) {
        p.add(stageSegs, 'no arrival rate during this stage (open model)', 'set rate: (total requests/s) or rate_per_client: at the top level, or rate: in this stage');
      }
    }
  }

  let mix: MixEntry[] = [{ action: 'business', weight: 1, payloadBytes: { min: 64, max: 64 } }];
  if (has('mix')) {
    mix = (d.mix as Obj[]).map((m, i) => {
      const pb = m.payload_bytes ?? 64;
      const size = typeof pb === 'number' ? { min: pb, max: pb } : (pb as { min: number; max: number });
      if (size.min > size.max) p.add(at('mix', i, 'payload_bytes'), `min ${size.min} is above max ${size.max}`, 'swap them');
      return { action: m.action as MixEntry['action'], weight: (m.weight as number | undefined) ?? 1, payloadBytes: { ...size } };
    });
  }

  const u = (d.upstream ?? {}) as Obj;
  if (((u.error_rate as number | undefined) ?? 0) + ((u.timeout_rate as number | undefined) ?? 0) > 1) {
    p.add(at('upstream', 'timeout_rate'), 'error_rate + timeout_rate is above 1', 'lower one of them: together they are the fraction of calls that fail');
  }
  if (u.distribution !== 'lognormal' && u.sigma !== undefined) p.add(at('upstream', 'sigma'), 'sigma applies to the lognormal distribution only', 'remove it or set distribution: lognormal');
  const upstream: ScenarioUpstream = {
    ...(u.latency !== undefined ? { latencyMs: dur(String(u.latency), at('upstream', 'latency')) } : {}),
    ...(u.distribution !== undefined ? { distribution: u.distribution as ScenarioUpstream['distribution'] } : {}),
    ...(u.sigma !== undefined ? { lognormalSigma: u.sigma as number } : {}),
    ...(u.error_rate !== undefined ? { errorRate: u.error_rate as number } : {}),
    ...(u.timeout_rate !== undefined ? { timeoutRate: u.timeout_rate as number } : {}),
    ...(u.before_notifies !== undefined ? { beforeNotifies: u.before_notifies as number } : {}),
    ...(u.after_notifies !== undefined ? { afterNotifies: u.after_notifies as number } : {}),
    ...(u.url !== undefined ? { url: u.url as string } : {}),
  };
  const g = (d.gateway ?? {}) as Obj;
  const gateway: ScenarioGateway = {};
  const gmap: [string, keyof ScenarioGateway][] = [['mode', 'mode'], ['send_workers', 'sendWorkers'], ['send_queue_size', 'sendQueueSize'], ['max_queue_size', 'maxQueueSize'],
    ['batch_size', 'batchSize'], ['lock_scope', 'lockScope'], ['processor_workers', 'processorWorkers'], ['processor_queue_size', 'processorQueueSize']];
  for (const [k, key] of gmap) if (g[k] !== undefined) (gateway as Obj)[key] = g[k];
  if (g.task_timeout !== undefined) {
    gateway.taskTimeoutMs = dur(String(g.task_timeout), at('gateway', 'task_timeout'));
    if (gateway.taskTimeoutMs <= 0) p.add(at('gateway', 'task_timeout'), 'the task timeout must be above 0', 'e.g. task_timeout: 30s');
  }

  let slowClients: ScenarioSlowClients | null = null;
  if (has('slow_clients')) {
    const sc = d.slow_clients as string | Obj;
    const o = typeof sc === 'string' ? { share: sc } : sc;
    const percent = Number(String(o.share).replace(/%$/, ''));
    if (!(percent >= 0 && percent <= 100)) p.add(at('slow_clients'), `share ${String(o.share)} is outside 0% to 100%`, 'give a share of the clients, e.g. 1%');
    slowClients = { percent, readBytesPerS: (o.read_rate as number | undefined) ?? null, receiveWindowBytes: (o.receive_window as number | undefined) ?? null };
  }

  const thresholds = ((d.thresholds ?? []) as string[]).map((t) => t.trim());
  thresholds.forEach((t, i) => {
    try {
      parseThreshold(t);
    } catch (err) {
      p.add(at('thresholds', i), (err as Error).message, '');
    }
  });
  if (p.list.length > 0) fail();

  if (has('target') && (has('upstream') || has('gateway') || has('transport'))) {
    warnings.push(`${file}: upstream, gateway and transport settings apply to the in-process gateway only; they are ignored with target ${String(d.target)}`);
  }
  const schedule = stagesToSchedule(scenarioBase);
  return {
    file,
    name: d.name as string,
    description: (d.description as string | undefined) ?? '',
    source: (d.source as string | undefined) ?? null,
    full: useFull,
    target: (d.target as string | undefined) ?? null,
    transport: (d.transport as Scenario['transport'] | undefined) ?? 'quic',
    ...scenarioBase,
    concurrency: model === 'closed' ? (d.concurrency as number | undefined) ?? 1 : null,
    thinkTimeMs: has('think_time') ? dur(String(d.think_time), at('think_time')) : 0,
    maxInFlight: (d.max_in_flight as number | undefined) ?? null,
    connectTimeoutMs: has('connect_timeout') ? dur(String(d.connect_timeout), at('connect_timeout')) : null,
    drainTimeoutMs: has('drain_timeout') ? dur(String(d.drain_timeout), at('drain_timeout')) : null,
    durationMs: schedule.durationMs,
    mix,
    upstream,
    gateway,
    thresholds,
    slowClients,
    warnings,
  };
}

/**
 * The scenario's in-process gateway settings as `gatectl load` flag values (keys of GatewayFlags in
 * src/config/resolve.ts, values as a user would type them), for the engine to lay under the
 * command-line flags. `lognormalSigma` has no flag: take it from scenario.upstream.
 */
export function scenarioGatewayFlags(s: Scenario): Record<string, string | number> {
  const out: Record<string, string | number> = { transport: s.transport };
  const g = s.gateway;
  const u = s.upstream;
  const put = (k: string, v: string | number | undefined): void => { if (v !== undefined) out[k] = v; };
  put('mode', g.mode);
  put('send-workers', g.sendWorkers);
  put('send-queue-size', g.sendQueueSize);
  put('max-queue-size', g.maxQueueSize);
  put('batch-size', g.batchSize);
  put('lock-scope', g.lockScope);
  put('processor-workers', g.processorWorkers);
  put('processor-queue-size', g.processorQueueSize);
  put('task-timeout', g.taskTimeoutMs !== undefined ? `${g.taskTimeoutMs}ms` : undefined);
  put('upstream-latency', u.latencyMs !== undefined ? `${u.latencyMs}ms` : undefined);
  put('upstream-distribution', u.distribution);
  put('upstream-error-rate', u.errorRate !== undefined ? String(u.errorRate) : undefined);
  put('upstream-timeout-rate', u.timeoutRate !== undefined ? String(u.timeoutRate) : undefined);
  put('before-notifies', u.beforeNotifies);
  put('after-notifies', u.afterNotifies);
  put('upstream', u.url);
  return out;
}
