/** Small helpers shared by the transports. */

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
