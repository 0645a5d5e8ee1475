/** Small helpers shared by the transports. */
import type { TransportStats } from './types.js';

/** The message of an Error, or the value as a string. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Does nothing (a rejection handler for promises whose failure is reported elsewhere). */
export function noop(): void {}

/** Resolves when `p` settles or after `ms` ms, whichever is first; never rejects. */
export function settleWithin(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, ms));
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    p.then(done, done);
  });
}

/** Default wait for a `Connection.close` or `Listener.close`, in ms. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 2_000;

/** `host:port`, with an IPv6 host bracketed (`[::1]:4433`). */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Adds transport counters (`TransportStats`: numbers and one level of records of numbers) of
 * several endpoints key by key; null when none has any. Gauges such as `recv_buffer_bytes` add up
 * too (total over the generator processes).
 */
export function sumTransportStats(all: readonly (TransportStats | null)[]): TransportStats | null {
  let out: TransportStats | null = null;
  for (const stats of all) {
    if (stats === null) continue;
    out ??= {};
    for (const [key, value] of Object.entries(stats)) {
      if (typeof value === 'number') {
        out[key] = ((out[key] as number | undefined) ?? 0) + value;
      } else {
        const into = ((out[key] as Record<string, number> | undefined) ??= {});
        for (const [k, v] of Object.entries(value)) into[k] = (into[k] ?? 0) + v;
      }
    }
  }
  return out;
}
