/**
 * The once-a-second progress tick of a load run (load/run.ts makes it; the progress line, the
 * live outputs of src/output/ and the dashboard read it). It lives here, below both, so the
 * outputs need not import the load engine. Counts per second unless named `_total`; latencies µs.
 */
import type { Histogram } from './histogram.js';

/** What the progress display and the live outputs receive once per second. */
export interface ProgressTick {
  phase: 'connecting' | 'steady' | 'draining';
  elapsed_s: number;
  connected: number;
  clients: number;
  requests_per_s: number;
  responses_per_s: number;
  e2e_p99_us: number;
  errors: number;
  /** e2e p50 of the responses received in the last second, µs (0 when none) */
  e2e_p50_us: number;
  /** schedule lag p99 of the requests sent in the last second, µs (0 when none) */
  schedule_lag_p99_us: number;
  /** protocol violations since the run began (reorders + gaps + duplicates + notify order) */
  violations: number;
  /** requests sent and responses received since the run began (all generator processes) */
  requests_total: number;
  responses_total: number;
  /**
   * e2e of the responses received in the last second, µs, merged over the generator processes: a
   * new histogram per tick that the receiver may keep (the live outputs fold it into their totals)
   */
  e2e: Histogram;
}
