/** Shared test helpers. */
import { resolveLoadOptions, type LoadFlags } from '../src/config/load.js';
import type { LoadOptions } from '../src/load/run.js';

/** LoadOptions built the way the CLI builds them, from flags (defaults: open model, 1 s, 1 req/s per client). */
export function loadOptions(label: string, flags: Partial<LoadFlags> & { clients: number }): LoadOptions {
  return resolveLoadOptions({ duration: '1s', 'payload-bytes': 8, 'connect-timeout': '10s', 'drain-timeout': '10s', ...flags }, label);
}
