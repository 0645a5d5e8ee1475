/** Resolution of load flags into LoadOptions (validated; errors name the flag and the fix). */
import { InvalidInputError } from '../errors.js';
import type { LoadOptions } from '../load/run.js';
import { parseDurationMs } from './resolve.js';

/** Load flags as given on the command line. */
export interface LoadFlags {
  clients: number;
  duration: string;
  'rate-per-client': string;
  'payload-bytes': number;
  'connect-timeout': string;
  'drain-timeout': string;
}

/** Validates and converts load flags. Throws InvalidInputError. */
export function resolveLoadOptions(flags: LoadFlags, label: string, recordedConfig: Record<string, unknown> = {}): LoadOptions {
  const rate = Number(flags['rate-per-client']);
  if (!Number.isFinite(rate) || rate <= 0 || rate > 10_000) {
    throw new InvalidInputError(`--rate-per-client ${JSON.stringify(flags['rate-per-client'])} is not valid: use a number of requests per second above 0 and at most 10000, e.g. 1 or 0.5`);
  }
  if (!Number.isInteger(flags.clients) || flags.clients < 1) {
    throw new InvalidInputError(`--clients ${flags.clients} is not valid: use a whole number of at least 1`);
  }
  return {
    clients: flags.clients,
    durationMs: parseDurationMs(flags.duration, '--duration'),
    ratePerClient: rate,
    payloadBytes: flags['payload-bytes'],
    connectTimeoutMs: parseDurationMs(flags['connect-timeout'], '--connect-timeout'),
    drainTimeoutMs: parseDurationMs(flags['drain-timeout'], '--drain-timeout', { allowZero: true }),
    label,
    recordedConfig,
  };
}
