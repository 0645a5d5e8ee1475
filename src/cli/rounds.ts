/**
 * Rounds of `compare sync async --repeat N` (issue 14 §1): the sides run in alternating order,
 * ABBA… (round 1 before then after, round 2 after then before, …), so neither machine drift nor
 * warm-up favours one side — the same counterbalancing hyperfine's and criterion.rs's users apply
 * by hand when they interleave two benchmarks. The caller's `run` starts each run against a fresh
 * target (executeRun with no target); this module only orders and collects.
 */
import type { Side } from '../metrics/compare.js';

/** The order of round `round` (0-based): even rounds `['before', 'after']`, odd rounds `['after', 'before']`. */
export function roundOrder(round: number): [Side, Side] {
  return round % 2 === 0 ? ['before', 'after'] : ['after', 'before'];
}

/** What runRounds collected. */
export interface RoundsOutcome<T> {
  /** results of the complete rounds, in round order */
  before: T[];
  after: T[];
  /** the order of each complete round */
  order: Side[][];
  /** the error that stopped the rounds early (a failed run), if any */
  error?: unknown;
  /** true when `stop` ended the rounds early (e.g. Ctrl-C) */
  stopped?: boolean;
}

/**
 * Runs `repeat` rounds of both sides in ABBA order. `run(side, round)` makes one run (round
 * 0-based); `onRun` is awaited after each run (e.g. to write that run's file as it finishes) and
 * `onRound` after each complete round (e.g. to rewrite the comparison file with the rounds so far).
 * A run that throws stops the rounds: the outcome keeps the complete rounds and carries the error
 * (a half-done round is dropped from `before`/`after`, its finished run was already given to
 * `onRun`). After each run (and its `onRun`), `stop(result)` may end the rounds: the outcome keeps
 * the rounds complete before it and is marked `stopped` (an interrupted run never counts as a
 * round). Errors of `onRun`/`onRound` propagate.
 */
export async function runRounds<T>(repeat: number, run: (side: Side, round: number) => Promise<T>,
  hooks: { stop?: (result: T) => boolean; onRun?: (side: Side, round: number, result: T) => Promise<void>; onRound?: (round: number, sofar: RoundsOutcome<T>) => Promise<void> } = {}): Promise<RoundsOutcome<T>> {
  const out: RoundsOutcome<T> = { before: [], after: [], order: [] };
  for (let round = 0; round < repeat; round++) {
    const order = roundOrder(round);
    const got: Partial<Record<Side, T>> = {};
    for (const side of order) {
      let result: T;
      try {
        result = await run(side, round);
      } catch (err) {
        out.error = err;
        return out;
      }
      got[side] = result;
      await hooks.onRun?.(side, round, result);
      if (hooks.stop?.(result) === true) {
        out.stopped = true;
        return out;
      }
    }
    out.before.push(got.before!);
    out.after.push(got.after!);
    out.order.push(order);
    await hooks.onRound?.(round, out);
  }
  return out;
}
