/**
 * Glue shared by `load` and `compare`: start the in-process gateway when no target is given, run
 * the load against it, always stop the gateway. Progress goes to stderr.
 */
import type { GatewayConfig } from '../gateway/config.js';
import { startInProcessGateway } from '../gateway/in-process.js';
import { runLoad, type LoadOptions, type TargetHandle } from '../load/run.js';
import { formatProgress } from '../load/progress.js';
import type { RunResult } from '../metrics/result.js';

/** Runs `opts` against `target`, or against a fresh in-process gateway built from `gateway`. */
export async function executeRun(opts: LoadOptions, gateway: Readonly<GatewayConfig>, target: TargetHandle | null, progress: boolean): Promise<RunResult> {
  const onProgress = progress
    ? (t: Parameters<typeof formatProgress>[0]) => process.stderr.write(`${formatProgress(t)}\n`)
    : undefined;
  if (target !== null) return runLoad(opts, target, onProgress);
  const gw = await startInProcessGateway({ ...gateway, queue: { ...gateway.queue }, processor: { ...gateway.processor }, upstream: { ...gateway.upstream } });
  try {
    const result = await runLoad({ ...opts, recordedConfig: { ...opts.recordedConfig, gateway } }, gw, onProgress);
    return result;
  } finally {
    await gw.stop();
  }
}
