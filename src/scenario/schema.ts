/**
 * JSON Schema (draft-07, validated with ajv) of a scenario file, `scenarios/*.yaml` (issue 4 §3).
 * Each property's `description` is the hint printed when a value is wrong. Rules that JSON Schema
 * cannot say clearly (model-specific keys, a stage without a level, error_rate + timeout_rate ≤ 1,
 * threshold syntax) are checked in load.ts after the schema.
 */

import { DURATION_PATTERN } from '../duration.js';

/** A duration in gatectl's one grammar (src/duration.ts), e.g. `500ms`, `30s`, `1m30s`. */
export { DURATION_PATTERN };

/** A percentage such as `1%` or `2.5%`. */
const PERCENT_PATTERN = '^[0-9]+(\\.[0-9]+)?%$';

const duration = (what: string) => ({ type: 'string', pattern: DURATION_PATTERN, description: `${what}: a number with a unit ms, s, m, h or d, largest first, e.g. 500ms, 30s, 1m30s` });
const positive = (what: string) => ({ type: 'number', exclusiveMinimum: 0, description: `${what}: a number above 0` });
const count = (what: string, minimum = 1) => ({ type: 'integer', minimum, description: `${what}: a whole number of at least ${minimum}` });
const fraction = (what: string) => ({ type: 'number', minimum: 0, maximum: 1, description: `${what}: a fraction from 0 to 1, e.g. 0.01` });

const stageBody = (kind: 'ramp' | 'steady') => ({
  type: 'object',
  additionalProperties: false,
  required: ['duration'],
  description: kind === 'ramp'
    ? 'a ramp: { duration, clients?, rate? } — moves linearly from the previous level to clients and/or rate'
    : 'a steady stage: { duration, clients?, rate? } — holds the level (optionally stepping to clients/rate first)',
  properties: {
    duration: duration(`${kind} duration`),
    clients: count('clients at the end of the stage', 0),
    rate: { type: 'number', minimum: 0, description: 'total requests/s over all clients at the end of the stage (open model), a number ≥ 0' },
    label: { type: 'string', description: 'label: the row name of this stage in reports and comparisons, e.g. "高并发(100 QPS)"' },
  },
});

/** The top-level keys a scenario (and its `full:` block) may set. */
const settings = {
  description: { type: 'string', description: 'description: free text' },
  source: { type: 'string', description: 'source: where the test comes from, e.g. "seed 003 测试场景2"' },
  target: { type: 'string', pattern: '^(quic|tcp)://', description: 'target: a gateway URL quic://HOST:PORT or tcp://HOST:PORT; leave out for the in-process gateway' },
  transport: { enum: ['quic', 'tcp'], description: 'transport of the in-process gateway: quic or tcp' },
  model: { enum: ['open', 'closed'], description: 'model: open (arrival rate, wrk2 -R / k6 constant-arrival-rate) or closed (concurrency per client)' },
  clients: count('clients (connections) at the start'),
  duration: duration('duration of a scenario without stages'),
  rate: positive('rate: total requests/s over all clients (open model)'),
  rate_per_client: positive('rate_per_client: requests/s per client (open model)'),
  concurrency: count('concurrency: requests in flight per client (closed model)'),
  think_time: duration('think_time between a response and the next request (closed model)'),
  max_in_flight: count('max_in_flight: outstanding requests per client before arrivals are dropped (open model)'),
  connect_timeout: duration('connect_timeout'),
  drain_timeout: duration('drain_timeout'),
  stages: {
    type: 'array',
    minItems: 1,
    description: 'stages: a list of { ramp: {…} }, { steady: {…} } or { burst: {…} }',
    items: {
      type: 'object',
      minProperties: 1,
      maxProperties: 1,
      additionalProperties: false,
      description: 'a stage: exactly one of ramp, steady or burst, e.g. - steady: { duration: 30s, rate: 100 }',
      properties: {
        ramp: stageBody('ramp'),
        steady: stageBody('steady'),
        burst: {
          type: 'object',
          additionalProperties: false,
          required: ['duration', 'rate'],
          description: 'a burst: { duration, rate } — steps to rate for duration, then back to the level before it',
          properties: {
            duration: duration('burst duration'), rate: positive('burst rate: total requests/s during the burst'),
            label: { type: 'string', description: 'label: the row name of this stage in reports and comparisons' },
          },
        },
      },
    },
  },
  mix: {
    type: 'array',
    minItems: 1,
    description: 'mix: a list of { action: hello|business|zone, weight, payload_bytes }',
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['action'],
      description: 'a mix entry: { action: business, weight: 8, payload_bytes: 64 }',
      properties: {
        action: { enum: ['hello', 'business', 'zone'], description: 'action: hello, business or zone' },
        weight: positive('weight: relative share of requests'),
        payload_bytes: {
          description: 'payload_bytes: a whole number of bytes, or { min, max } for a uniform size',
          anyOf: [
            { type: 'integer', minimum: 0, maximum: 1_000_000 },
            {
              type: 'object', additionalProperties: false, required: ['min', 'max'],
              properties: { min: { type: 'integer', minimum: 0, maximum: 1_000_000 }, max: { type: 'integer', minimum: 0, maximum: 1_000_000 } },
            },
          ],
        },
      },
    },
  },
  upstream: {
    type: 'object',
    additionalProperties: false,
    description: 'upstream: settings of the in-process mock upstream',
    properties: {
      latency: duration('upstream latency (the mean for exponential and lognormal); 0ms allowed'),
      distribution: { enum: ['fixed', 'uniform', 'exponential', 'lognormal'], description: 'distribution: fixed, uniform, exponential or lognormal' },
      sigma: positive('sigma of the log of the latency (lognormal)'),
      error_rate: fraction('error_rate (calls answered 500)'),
      timeout_rate: fraction('timeout_rate (calls never answered: 504 after task_timeout)'),
      before_notifies: { type: 'integer', minimum: 0, maximum: 100, description: 'before_notifies: a whole number from 0 to 100' },
      after_notifies: { type: 'integer', minimum: 0, maximum: 100, description: 'after_notifies: a whole number from 0 to 100' },
      url: { type: 'string', pattern: '^https?://', description: 'url: an HTTP upstream base URL http://HOST:PORT instead of the mock' },
    },
  },
  gateway: {
    type: 'object',
    additionalProperties: false,
    description: 'gateway: settings of the in-process gateway',
    properties: {
      mode: { enum: ['sync', 'async'], description: 'mode: sync or async' },
      send_workers: count('send_workers (QUEUE_SEND_WORKER_COUNT)'),
      send_queue_size: count('send_queue_size (QUEUE_SEND_QUEUE_SIZE)'),
      max_queue_size: count('max_queue_size (QUEUE_MAX_QUEUE_SIZE)'),
      batch_size: count('batch_size (QUEUE_SEND_BATCH_SIZE)'),
      lock_scope: { enum: ['global', 'session'], description: 'lock_scope: global or session' },
      processor_workers: count('processor_workers (PROCESSOR_MAX_WORKERS)'),
      processor_queue_size: count('processor_queue_size (PROCESSOR_MAX_QUEUE_SIZE)'),
      task_timeout: duration('task_timeout (PROCESSOR_TASK_TIMEOUT)'),
    },
  },
  slow_clients: {
    description: 'slow_clients: the share of clients that read their stream slowly (seed 001), e.g. 1%, or { share: 1%, read_rate: 16384, receive_window: 1024 } (bytes/s; bytes)',
    anyOf: [
      { type: 'string', pattern: PERCENT_PATTERN },
      {
        type: 'object', additionalProperties: false, required: ['share'],
        properties: {
          share: { type: 'string', pattern: PERCENT_PATTERN, description: 'share: a percentage of the clients, e.g. 1%' },
          read_rate: { type: 'integer', minimum: 1, description: 'read_rate: bytes per second each slow client reads at most, a whole number of at least 1' },
          receive_window: { type: 'integer', minimum: 64, maximum: 1_048_576, description: 'receive_window: stream receive window of each slow client, bytes, 64 to 1048576' },
        },
      },
    ],
  },
  thresholds: {
    type: 'array',
    description: 'thresholds: a list of k6 expressions, e.g. - "e2e:p(99)<50ms"',
    items: { type: 'string', description: 'a threshold: a k6 expression such as "e2e:p(99)<50ms" (quote it in YAML)' },
  },
} as const;

/** The scenario schema: `name` plus settings, and `full:` (the same settings) for the full-length run. */
export const SCENARIO_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  description: 'a scenario',
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', description: 'name: letters, digits, _ . - (it labels the results)' },
    ...settings,
    full: {
      type: 'object',
      additionalProperties: false,
      description: 'full: settings that replace the top-level ones for the full-length run (--full)',
      properties: settings,
    },
  },
} as const;
