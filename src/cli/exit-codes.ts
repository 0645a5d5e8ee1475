/**
 * Exit codes, in one list (k6 `errext/exitcodes`), decided at the command edge from an error's
 * stable `GATECTL_*` code (src/errors.ts). Runtime code never picks an exit code.
 *
 * | exit | meaning |
 * |---|---|
 * | 0 | ok |
 * | 1 | runtime failure: network, target, I/O, anything not listed; `load` whose requests went unanswered because the target was unreachable (`GATECTL_TARGET_UNREACHABLE`, the result written first) |
 * | 2 | bad usage or input: a flag, environment variable, scenario or result file; the address in use |
 * | 99 | a threshold failed (k6's code); the result was written first |
 * | 130 | interrupted by SIGINT (Ctrl-C); the partial result was written first |
 */
import { errorToWire } from '../errors.js';

/** Every exit code a gatectl command returns. */
export const EXIT = Object.freeze({ ok: 0, runtime: 1, usage: 2, threshold: 99, interrupted: 130 });

/** `GATECTL_*` codes whose exit code is not {@link EXIT.runtime}. */
export const EXIT_BY_CODE: Readonly<Record<string, number>> = Object.freeze({
  GATECTL_BAD_INPUT: EXIT.usage,
  GATECTL_ADDRESS_IN_USE: EXIT.usage,
  GATECTL_WAL_KEY: EXIT.usage,
  GATECTL_USAGE: EXIT.usage,
  GATECTL_THRESHOLDS_FAILED: EXIT.threshold,
  GATECTL_INTERRUPTED: EXIT.interrupted,
});

/** The exit code for `err` (by its code; 1 for anything else). */
export function exitCodeOf(err: unknown): number {
  return EXIT_BY_CODE[errorToWire(err).code] ?? EXIT.runtime;
}
