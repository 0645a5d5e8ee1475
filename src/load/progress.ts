/** The one-line progress display (pure: formats a tick; the command writes it to stderr each second). */
import type { ProgressTick } from './run.js';

/** e.g. `[steady 12s] clients 1000/1000 · 998 req/s · 1001 resp/s · p99 7.1ms · errors 0` */
export function formatProgress(t: ProgressTick): string {
  const p99 = t.e2e_p99_us >= 1000 ? `${(t.e2e_p99_us / 1000).toFixed(1)}ms` : `${t.e2e_p99_us}µs`;
  return `[${t.phase} ${t.elapsed_s}s] clients ${t.connected}/${t.clients} · ${t.requests_per_s} req/s · ${t.responses_per_s} resp/s · p99 ${p99} · errors ${t.errors}`;
}
