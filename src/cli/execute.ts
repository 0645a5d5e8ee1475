/**
 * Glue shared by `load` and `compare`: start the in-process gateway when no target is given, run
 * against it, always stop the gateway. Progress goes to stderr.
 */
import type { GatewayConfig } from '../gateway/config.js';
import { startInProcessGateway } from '../gateway/in-process.js';
import { runLoad, type LoadOptions, type ProgressTick, type TargetHandle } from '../load/run.js';
import { findMaxRate } from '../load/capacity.js';
import type { CapacityOptions, CapacityResult, CapacityStep } from '../metrics/capacity.js';
import { formatProgress } from '../load/progress.js';
import type { RunResult } from '../metrics/result.js';

/** The progress printer for stderr, or undefined when quiet. */
function progressPrinter(progress: boolean): ((t: ProgressTick) => void) | undefined {
  return progress ? (t) => process.stderr.write(`${formatProgress(t)}\n`) : undefined;
}

/** Calls `fn` with `target`, or with a fresh in-process gateway built from `gateway` (stopped afterwards). */
async function withTarget<T>(gateway: Readonly<GatewayConfig>, target: TargetHandle | null, fn: (t: TargetHandle) => Promise<T>): Promise<T> {
  if (target !== null) return fn(target);
  const gw = await startInProcessGateway({ ...gateway, queue: { ...gateway.queue }, processor: { ...gateway.processor }, upstream: { ...gateway.upstream } });
  try {
    return await fn(gw);
  } finally {
    await gw.stop();
  }
}

/** Runs `opts` against `target`, or against a fresh in-process gateway built from `gateway`; `signal` interrupts it (runLoad). */
export function executeRun(opts: LoadOptions, gateway: Readonly<GatewayConfig>, target: TargetHandle | null, progress: boolean, signal?: AbortSignal): Promise<RunResult> {
  const recorded = target === null ? { ...opts, recordedConfig: { ...opts.recordedConfig, gateway } } : opts;
  return withTarget(gateway, target, (t) => runLoad(recorded, t, progressPrinter(progress), signal));
}

/** A capacity search (`load --find-max`) against `target` or a fresh in-process gateway. */
export function executeCapacity(opts: LoadOptions, capacity: CapacityOptions, gateway: Readonly<GatewayConfig>, target: TargetHandle | null,
  progress: boolean, onStep?: (s: CapacityStep) => void, signal?: AbortSignal): Promise<CapacityResult> {
  const recorded = target === null ? { ...opts, recordedConfig: { ...opts.recordedConfig, gateway } } : opts;
  return withTarget(gateway, target, (t) => findMaxRate(recorded, capacity, t, onStep, progressPrinter(progress), signal));
}
