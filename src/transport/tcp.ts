/**
 * The `tcp` transport (DESIGN §2): the same byte stream over TLS/TCP (`node:tls`, ALPN `gatesvr/1`,
 * Nagle off). A control run that shows what the QUIC stack itself costs.
 *
 * TCP has no application close codes: `close(code, reason)` ends the TLS stream gracefully
 * (close_notify + FIN) whatever the code, and destroys the socket after the timeout.
 */
import { isIP } from 'node:net';
import tls from 'node:tls';
import { AddressInUseError, ConnectTimeoutError, TransportError } from '../errors.js';
import { HandlerSlotConnection } from './connection-base.js';
import type {
  Connection,
  Dialer,
  DialerOptions,
  ListenOptions,
  Listener,
  Transport,
} from './types.js';
import { DEFAULT_CLOSE_TIMEOUT_MS, errorText, hostPort } from './util.js';

/** ALPN protocol id, the same as the QUIC transport's. */
const ALPN_PROTOCOL = 'gatesvr/1';


/**
 * One TLS socket seen through the Connection interface. Data chunks are the Buffers node hands out
 * (no copy). Half-open is not used: the peer's FIN ends the connection.
 */
class TcpConnection extends HandlerSlotConnection {
  readonly remoteAddress: string;
  private readonly socket: tls.TLSSocket;
  private readonly onEnded: (conn: TcpConnection) => void;
  private socketError: Error | undefined;
  private closePromise: Promise<void> | undefined;

  constructor(socket: tls.TLSSocket, remoteAddress: string, onEnded: (conn: TcpConnection) => void) {
    super();
    this.socket = socket;
    this.remoteAddress = remoteAddress;
    this.onEnded = onEnded;
    socket.setNoDelay(true);
    socket.on('data', this.handleData);
    socket.on('error', (error: Error) => {
      this.socketError ??= error;
    });
    socket.once('close', () => {
      const error = this.socketError;
      this.end(
        error === undefined
          ? undefined
          : new TransportError(`TLS connection to ${this.remoteAddress} failed: ${error.message}`, 'GATECTL_TRANSPORT', {
              cause: error,
            }),
      );
    });
  }

  private readonly handleData = (chunk: Buffer): void => {
    const error = this.deliver(chunk);
    if (error !== undefined) {
      // A data handler threw (e.g. a bad frame): that error closes the connection.
      this.end(error instanceof Error ? error : new TransportError(`data handler failed: ${errorText(error)}`));
      void this.close(1, 'data handler failed');
    }
  };

  protected onEnd(): void {
    this.onEnded(this);
  }

  /**
   * Writes bytes; resolves on the socket write callback (handed to the kernel). `data` is not copied;
   * do not modify it until the promise settles. Rejects with TransportError when the connection is
   * closed or the write fails.
   */
  /** Fault injection: stop reading, so TCP flow control stalls the peer's writes. */
  stopReading(): void {
    this.socket.pause();
  }

  write(data: Uint8Array): Promise<void> {
    if (this.ended || this.closing || this.socket.destroyed) {
      return Promise.reject(new TransportError(`write on a closed TLS connection to ${this.remoteAddress}`));
    }
    return new Promise<void>((resolve, reject) => {
      this.socket.write(data, (error) => {
        if (error == null) resolve();
        else {
          reject(
            new TransportError(`write to ${this.remoteAddress} failed: ${error.message}`, 'GATECTL_TRANSPORT', {
              cause: error,
            }),
          );
        }
      });
    });
  }

  /**
   * Ends the TLS stream gracefully (pending writes are flushed first); `code` and `reason` are not
   * sent (TCP has no close codes). Resolves when the socket closed or after `timeoutMs` (default
   * 2000 ms), when the socket is destroyed; never rejects. `handlers.close` has been called by then.
   */
  close(_code = 0, _reason = '', timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    if (this.closePromise !== undefined) return this.closePromise;
    this.closing = true;
    const socket = this.socket;
    this.closePromise = new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.end(undefined);
        resolve();
      };
      const timer = setTimeout(() => {
        socket.destroy();
        done();
      }, Math.max(0, timeoutMs));
      if (socket.closed) done();
      else {
        socket.once('close', done);
        socket.end();
      }
    });
    return this.closePromise;
  }
}

class TcpListener implements Listener {
  readonly host: string;
  readonly port: number;
  private readonly server: tls.Server;
  private readonly conns: Set<TcpConnection>;
  private closePromise: Promise<void> | undefined;

  constructor(server: tls.Server, host: string, port: number, conns: Set<TcpConnection>) {
    this.server = server;
    this.host = host;
    this.port = port;
    this.conns = conns;
  }

  /**
   * Stops accepting and closes every connection concurrently. Resolves when done or after
   * `timeoutMs` (default 2000 ms), when remaining sockets are destroyed; never rejects.
   */
  close(timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    if (this.closePromise !== undefined) return this.closePromise;
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const connsClosed = Promise.all([...this.conns].map((c) => c.close(0, 'server closing', timeoutMs)));
    this.closePromise = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, timeoutMs) + 50);
      void Promise.all([serverClosed, connsClosed]).then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.closePromise;
  }
}

/**
 * Binds a TLS server on `opts.host:opts.port` (TCP). `onConnection` fires once the TLS handshake
 * with ALPN `gatesvr/1` is complete.
 *
 * @throws {AddressInUseError} when the TCP port is taken.
 * @throws {TransportError} when the address cannot be bound or the certificate/key is unusable.
 */
export async function listenTcp(opts: ListenOptions): Promise<Listener> {
  const where = hostPort(opts.host, opts.port);
  const conns = new Set<TcpConnection>();
  let server: tls.Server;
  try {
    server = tls.createServer({
      key: opts.certificate.keyPem,
      cert: opts.certificate.certPem,
      ALPNProtocols: [ALPN_PROTOCOL],
      minVersion: 'TLSv1.3',
    });
  } catch (error) {
    throw new TransportError(
      `cannot start the TLS server on ${where}: ${errorText(error)} (check the certificate and key PEM)`,
      'GATECTL_TRANSPORT',
      { cause: error },
    );
  }
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    const remote = hostPort(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
    const conn = new TcpConnection(socket, remote, (c) => conns.delete(c));
    conns.add(conn);
    opts.onConnection(conn);
  });
  // Handshake failures of single clients are not the server's failure.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      if (error.code === 'EADDRINUSE') {
        reject(
          new AddressInUseError(
            `cannot listen on ${where} (TCP): the address is already in use. Stop the other process, pick another port, or use --port 0 for a free one`,
            { cause: error },
          ),
        );
      } else {
        reject(new TransportError(`cannot listen on ${where} (TCP): ${error.message}`, 'GATECTL_TRANSPORT', { cause: error }));
      }
    };
    server.once('error', onError);
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.off('error', onError);
      server.on('error', () => {});
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  return new TcpListener(server, opts.host, port, conns);
}

class TcpDialer implements Dialer {
  private readonly opts: DialerOptions;
  private readonly conns = new Set<TcpConnection>();
  private closed = false;

  constructor(opts: DialerOptions) {
    this.opts = opts;
  }

  /**
   * Connects to `host:port` with TLS and ALPN `gatesvr/1`; certificate checks follow `insecure`/`ca`.
   *
   * @throws {ConnectTimeoutError} when the TLS handshake did not finish within `connectTimeoutMs`.
   * @throws {TransportError} when the connection is refused, TLS verification or ALPN fails, or the
   *   dialer is closed.
   */
  dial(host: string, port: number): Promise<Connection> {
    const target = hostPort(host, port);
    if (this.closed) return Promise.reject(new TransportError(`dial ${target}: the dialer is closed`));
    const timeoutMs = this.opts.connectTimeoutMs;
    return new Promise<Connection>((resolve, reject) => {
      const socket = tls.connect({
        host,
        port,
        // SNI must not be an IP address (RFC 6066); identity is then checked against IP SANs.
        ...(isIP(host) === 0 ? { servername: host } : {}),
        ALPNProtocols: [ALPN_PROTOCOL],
        rejectUnauthorized: this.opts.insecure !== true,
        ...(this.opts.ca !== undefined ? { ca: this.opts.ca } : {}),
        minVersion: 'TLSv1.3',
      });
      socket.setNoDelay(true);
      const fail = (error: Error): void => {
        clearTimeout(timer);
        socket.off('error', onError);
        socket.off('secureConnect', onSecure);
        socket.on('error', () => {});
        socket.destroy();
        reject(error);
      };
      const timer = setTimeout(() => {
        fail(
          new ConnectTimeoutError(
            `TLS connect to ${target} timed out after ${timeoutMs} ms: the target may be down or overloaded. ` +
              'Check that `gatectl serve` is running there and that the host and port are right',
          ),
        );
      }, timeoutMs);
      const onError = (error: NodeJS.ErrnoException): void => {
        if (error.code === 'ECONNREFUSED') {
          fail(
            new TransportError(
              `TLS connect to ${target} refused: nothing listens there. Check that \`gatectl serve\` is running and that the port is right`,
              'GATECTL_TRANSPORT',
              { cause: error },
            ),
          );
        } else if (error.code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS_CERT/.test(error.code)) {
          fail(
            new TransportError(
              `TLS connect to ${target} failed: the server certificate was not accepted (${error.message}). ` +
                'For a self-signed target use --insecure, or trust its certificate with --ca FILE',
              'GATECTL_TRANSPORT',
              { cause: error },
            ),
          );
        } else {
          fail(new TransportError(`TLS connect to ${target} failed: ${error.message}`, 'GATECTL_TRANSPORT', { cause: error }));
        }
      };
      const onSecure = (): void => {
        if (socket.alpnProtocol !== ALPN_PROTOCOL) {
          fail(
            new TransportError(
              `TLS connect to ${target} failed: the server does not speak ALPN ${ALPN_PROTOCOL} (is it a gatectl server?)`,
            ),
          );
          return;
        }
        clearTimeout(timer);
        socket.off('error', onError);
        const conn = new TcpConnection(socket, target, (c) => this.conns.delete(c));
        this.conns.add(conn);
        resolve(conn);
      };
      socket.once('error', onError);
      socket.once('secureConnect', onSecure);
    });
  }

  /** Closes any connection still open (concurrently, 2000 ms at most). Never rejects. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.conns].map((c) => c.close(0, 'dialer closed', DEFAULT_CLOSE_TIMEOUT_MS)));
  }
}

/** Creates a TLS/TCP Dialer (no shared resources). Never rejects. */
export async function createTcpDialer(opts: DialerOptions): Promise<Dialer> {
  return new TcpDialer(opts);
}

/** The `tcp` transport: `node:tls` over TCP, ALPN `gatesvr/1`, TLS 1.3, Nagle off. */
export const tcpTransport: Transport = {
  name: 'tcp',
  listen: listenTcp,
  createDialer: createTcpDialer,
};
