/** The HTTP listener of the live outputs (dashboard, Prometheus exporter): 127.0.0.1 only. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidInputError } from '../errors.js';

/** A listening local server: its port and how to stop it. */
export interface LocalServer {
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Stops listening and ends open connections (event streams included). */
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1:`port` (0: any free port) with `handler`. Throws InvalidInputError naming
 * `flag` when the port is taken or not allowed.
 */
export async function listenLocal(port: number, flag: string, handler: http.RequestListener): Promise<LocalServer> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new InvalidInputError(`${flag} ${port}: the port is in use on 127.0.0.1; choose another one, or 0 for any free port`)
        : err.code === 'EACCES' ? new InvalidInputError(`${flag} ${port}: not allowed to listen on this port; use one above 1023, or 0 for any free port`)
          : err);
    });
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
