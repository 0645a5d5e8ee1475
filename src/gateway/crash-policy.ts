/**
 * The process-level crash policy of `gatectl serve` (issue 16 §6): an exception nobody caught (for
 * instance one thrown from a library's socket callback) or a promise rejection nobody handled leaves
 * the process in an unknown state. The policy logs it with its stack (pino, level fatal), counts it,
 * drains gracefully within a bound, and exits non-zero; it never lets the process go on silently.
 * Later faults during the drain are counted and logged (the first `MAX_LOGGED_FAULTS`) but start
 * no second drain. If the drain does not finish within its bound, the process exits anyway.
 */
import type { Logger } from '../log.js';

/** Exit code after a crash (sysexits EX_SOFTWARE: an internal software error). */
export const EXIT_CRASH = 70;

/** Default bound of the drain after a crash, ms (half of a signal's 10 s: the state is unknown). */
export const CRASH_DRAIN_TIMEOUT_MS = 5_000;

/** Faults logged one by one; beyond it only counted (a fault that repeats per datagram would flood the log). */
export const MAX_LOGGED_FAULTS = 10;

/** The two kinds of fault. */
export type FaultKind = 'exception' | 'rejection';

/** What the policy needs. */
export interface CrashPolicyOptions {
  /** where the fatal lines go */
  log: Logger;
  /** counts each fault (the gateway's `uncaught_exceptions` / `unhandled_rejections`) */
  count(kind: FaultKind): void;
  /** the graceful drain, started once at the first fault; may reject (the exit follows anyway) */
  drain(kind: FaultKind, error: Error): Promise<void>;
  /** bound of `drain`, ms: the process exits this long after the first fault at the latest (default 5000) */
  drainTimeoutMs?: number;
  /** ends the process (default `process.exit`); tests pass their own */
  exit?: (code: number) => void;
  /** the process whose events are watched (default `process`) */
  proc?: NodeJS.EventEmitter;
}

/** An installed policy: how many faults it saw, whether it is draining, and how to remove it. */
export interface CrashPolicy {
  readonly faults: number;
  readonly crashed: boolean;
  uninstall(): void;
}

/**
 * Installs handlers for `uncaughtException` and `unhandledRejection` on `opts.proc`. Returns the
 * policy; `uninstall()` removes the handlers (Node's defaults apply again). Never throws.
 */
export function installCrashPolicy(opts: CrashPolicyOptions): CrashPolicy {
  const proc = opts.proc ?? process;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const bound = opts.drainTimeoutMs ?? CRASH_DRAIN_TIMEOUT_MS;
  let faults = 0;
  let crashed = false;
  let exited = false;
  const finish = (why: string): void => {
    if (exited) return;
    exited = true;
    opts.log.fatal({ faults, exit_code: EXIT_CRASH }, why);
    opts.log.flush();
    exit(EXIT_CRASH);
  };
  const onFault = (kind: FaultKind, error: Error, origin?: string): void => {
    faults++;
    try {
      opts.count(kind);
    } catch {
      // counting must not become a second fault
    }
    if (faults <= MAX_LOGGED_FAULTS) {
      opts.log.fatal({ err: error, kind, origin, fault: faults, draining: crashed },
        crashed ? `another ${kind === 'exception' ? 'uncaught exception' : 'unhandled rejection'} during the crash drain` :
          `${kind === 'exception' ? 'uncaught exception' : 'unhandled rejection'}: draining for at most ${bound} ms, then exiting with code ${EXIT_CRASH}`);
    }
    if (crashed) return;
    crashed = true;
    const timer = setTimeout(() => finish(`crash drain did not finish within ${bound} ms: exiting`), bound + 500);
    let drained: Promise<void>;
    try {
      drained = opts.drain(kind, error);
    } catch (err) {
      drained = Promise.reject(err);
    }
    drained.then(
      () => { clearTimeout(timer); finish('crash drain finished: exiting'); },
      (err: unknown) => {
        clearTimeout(timer);
        opts.log.fatal({ err }, 'crash drain failed');
        finish('exiting after a failed crash drain');
      },
    );
  };
  const onException = (error: unknown, origin?: string): void => onFault('exception', asError(error), origin);
  const onRejection = (reason: unknown): void => onFault('rejection', asError(reason));
  proc.on('uncaughtException', onException);
  proc.on('unhandledRejection', onRejection);
  return {
    get faults() { return faults; },
    get crashed() { return crashed; },
    uninstall() {
      proc.removeListener('uncaughtException', onException);
      proc.removeListener('unhandledRejection', onRejection);
    },
  };
}

/** `value` if it is an Error, else an Error describing it (so every fault is logged with a stack). */
function asError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(`non-Error value thrown or rejected: ${typeof value === 'string' ? value : JSON.stringify(value) ?? String(value)}`);
}
