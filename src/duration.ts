/**
 * gatectl's one duration grammar (issue 11 §6), used by every flag, environment variable and
 * scenario field that takes a duration: one or more `<number><unit>` parts with the units `ms`, `s`,
 * `m`, `h`, `d`, largest first and each at most once, e.g. `500ms`, `30s`, `1.5m`, `1m30s`, `2h`,
 * `365d` (a quota window). `3sec`, `30 s`, `1s30m` and a bare number are refused (a bare `0` only where "0 = never" is
 * allowed). This module imports nothing but the error classes, so every layer may use it.
 */
import { InvalidInputError } from './errors.js';

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
const UNIT_ORDER = ['d', 'h', 'm', 's', 'ms'] as const;
const PART = /(\d+(?:\.\d+)?)(ms|d|h|m|s)/y;

/** The JSON-schema pattern of the same grammar (for scenario files checked by ajv). */
export const DURATION_PATTERN = '^(?=\\d)(\\d+(\\.\\d+)?d)?(\\d+(\\.\\d+)?h)?(\\d+(\\.\\d+)?m)?(\\d+(\\.\\d+)?s)?(\\d+(\\.\\d+)?ms)?$';

/** Options of {@link parseDurationMs}. */
export interface DurationOptions {
  /** accept `0` (and `0s`, …) for "0 = never / off"; default false */
  allowZero?: boolean;
  /** largest accepted value, ms; above it the error names the limit and `limitHint` */
  maxMs?: number;
  /** how to lift the limit, appended to the error, e.g. "give --no-duration-limit" */
  limitHint?: string;
}

/**
 * Parses `input` in the grammar above into milliseconds (may be fractional, e.g. `0.5ms`).
 * Throws InvalidInputError naming `name` (a flag, variable or scenario path), the value and the
 * accepted forms; or the limit when the value exceeds `opts.maxMs`.
 */
export function parseDurationMs(input: string, name: string, opts: DurationOptions = {}): number {
  const text = input.trim();
  const value = text === '0' ? 0 : parseParts(text);
  if (value === undefined || (value === 0 && opts.allowZero !== true)) {
    const zero = opts.allowZero === true ? ' (or 0 for never)' : '';
    throw new InvalidInputError(`${name} ${JSON.stringify(input)} is not a valid duration: use a number with a unit ms, s, m, h or d, largest first, e.g. 500ms, 20s, 1m30s or 2h${zero}`);
  }
  if (opts.maxMs !== undefined && value > opts.maxMs) {
    throw new InvalidInputError(`${name} ${input} is longer than the limit of ${formatDurationMs(opts.maxMs)}${opts.limitHint !== undefined ? `: ${opts.limitHint}` : ''}`);
  }
  return value;
}

/** The grammar above without the error: ms, or undefined when `text` is not a duration (`0` is 0). */
export function durationMsOrUndefined(text: string): number | undefined {
  const t = text.trim();
  return t === '0' ? 0 : parseParts(t);
}

function parseParts(text: string): number | undefined {
  if (text === '') return undefined;
  let total = 0;
  let next = 0; // index into UNIT_ORDER of the smallest unit still allowed
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const m = PART.exec(text);
    if (m === null) return undefined;
    const unit = m[2] as keyof typeof UNIT_MS;
    const at = UNIT_ORDER.indexOf(unit);
    if (at < next) return undefined;
    next = at + 1;
    total += Number(m[1]) * UNIT_MS[unit];
  }
  return Number.isFinite(total) ? total : undefined;
}

/** Formats ms in the same grammar, the largest units first: 90000 → `1m30s`, 250 → `250ms`, 31536000000 → `365d`, 0 → `0s`. */
export function formatDurationMs(valueMs: number): string {
  if (valueMs === 0) return '0s';
  let rest = valueMs;
  let out = '';
  for (const unit of UNIT_ORDER) {
    const n = unit === 'ms' ? rest : Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) out += `${Number.isInteger(n) ? n : Number(n.toFixed(3))}${unit}`;
    rest -= unit === 'ms' ? rest : n * UNIT_MS[unit];
  }
  return out;
}
