/**
 * Graceful interrupt (issue 11 §2; k6 prints its summary and keeps its outputs on the first
 * Ctrl-C): the first SIGINT aborts the returned signal, so the run stops new arrivals, drains up to
 * `--drain-timeout`, and the command writes and prints the result marked `interrupted` before it
 * exits 130; a second SIGINT exits 130 at once. Generator processes ignore SIGINT (the terminal
 * sends it to the whole process group) and are told by their parent instead.
 */
import { EXIT } from './exit-codes.js';

/** A command's SIGINT handling while it runs; call `dispose()` when the run is over. */
export interface InterruptHandle {
  /** aborted by the first SIGINT */
  signal: AbortSignal;
  dispose(): void;
}

/** Installs the SIGINT handler; `note` tells the user what happens (stderr). */
export function onInterrupt(note: (line: string) => void): InterruptHandle {
  const controller = new AbortController();
  const handler = (): void => {
    if (controller.signal.aborted) {
      note('interrupted again: exiting at once (the result of this run is not written)');
      process.exit(EXIT.interrupted);
    }
    note('interrupted: no new requests; draining the outstanding ones, then writing the result (Ctrl-C again to exit at once)');
    controller.abort();
  };
  process.on('SIGINT', handler);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', handler) };
}
