/**
 * The `quic` transport (DESIGN §2) on `@matrixai/quic` (Cloudflare quiche): QUIC v1, TLS 1.3,
 * ALPN `gatesvr/1`, X.509 certificates in PEM. One client-opened bidirectional stream per connection.
 *
 * What `@matrixai/quic` needs at 1000+ connections, and how it is done here:
 * - a 4 MiB UDP receive buffer: `QUICSocket` keeps its `dgram.Socket` in a protected field `socket`;
 *   we own every `QUICSocket` (server and client) and call `setRecvBufferSize` on it after `start()`.
 *   Linux caps the value at `net.core.rmem_max`; the effective size is read back and exposed as
 *   `recvBufferBytes` on the listener and the dialer.
 * - one shared client `QUICSocket` per Dialer, passed to every `QUICClient.createQUICClient`.
 * - paced connects: at most `MAX_HANDSHAKES_IN_FLIGHT` handshakes at once (a `Semaphore`).
 * - closes run concurrently with a timeout: the library's `stop()`/`destroy()` resolves only after
 *   the draining period (3 PTO; seconds under load), so `Connection.close` resolves once the
 *   CONNECTION_CLOSE is sent (or after its timeout) and leaves the draining to the library;
 *   `Listener.close` and `Dialer.close` close their connections concurrently the same way, then
 *   stop the socket with `force: true`.
 */
import { X509Certificate, createHmac, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';
import type dgram from 'node:dgram';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import { QUICClient, QUICServer, QUICSocket, errors as quicErrors, events as quicEvents } from '@matrixai/quic';
import type {
  QUICConnection,
  QUICStream,
  QUICClientCrypto,
  QUICServerCrypto,
  QUICConfig,
  TLSVerifyCallback,
} from '@matrixai/quic';
import Logger, { LogLevel } from '@matrixai/logger';
import { Semaphore } from '@matrixai/async-locks';
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
import { errorText, noop, settleWithin } from './util.js';

/** ALPN protocol id negotiated by gatectl's QUIC and TCP transports. */
export const ALPN_PROTOCOL = 'gatesvr/1';
/** UDP receive buffer asked for on every QUIC socket, in bytes (4 MiB). */
export const UDP_RECV_BUFFER_BYTES = 4 * 1024 * 1024;
/** Idle timeout of a QUIC connection, in ms: a peer silent for this long is dropped. */
export const QUIC_MAX_IDLE_TIMEOUT_MS = 60_000;
/** Keep-alive (PING) interval of a QUIC connection, in ms; well below the idle timeout. */
export const QUIC_KEEP_ALIVE_INTERVAL_MS = 15_000;
/** Server-side limit for a handshake to complete, in ms (half-open handshakes are dropped after it). */
export const QUIC_SERVER_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Handshakes a Dialer runs at once; further `dial()` calls wait in a queue. */
export const MAX_HANDSHAKES_IN_FLIGHT = 100;
/** Default wait for a close, in ms. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 2_000;
/** How long `Listener.close` waits for the library's server stop after the connections closed, in ms. */
const LISTENER_STOP_GRACE_MS = 250;

/** A QUIC Listener; `recvBufferBytes` is the effective UDP receive buffer (as reported by the kernel). */
export interface QuicListener extends Listener {
  /** Effective `SO_RCVBUF` of the server UDP socket, in bytes (Linux reports twice the value set). */
  readonly recvBufferBytes: number;
}

/** A QUIC Dialer; `recvBufferBytes` is the effective UDP receive buffer of its shared socket. */
export interface QuicDialer extends Dialer {
  /** Effective `SO_RCVBUF` of the shared client UDP socket, in bytes. */
  readonly recvBufferBytes: number;
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/** A Logger that prints nothing: @matrixai/quic logs at info level to stderr by default. */
function silentLogger(key: string): Logger {
  return new Logger(key, LogLevel.SILENT, []);
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function toBuffer(data: ArrayBuffer | ArrayBufferView): Buffer {
  return ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);
}

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/** Retry tokens and connection ids are authenticated with HMAC-SHA256 under a per-listener key. */
function serverCrypto(): QUICServerCrypto {
  return {
    key: toArrayBuffer(randomBytes(32)),
    ops: {
      sign: async (key, data) => toArrayBuffer(createHmac('sha256', toBuffer(key)).update(toBuffer(data)).digest()),
      verify: async (key, data, sig) => {
        const expected = createHmac('sha256', toBuffer(key)).update(toBuffer(data)).digest();
        const actual = toBuffer(sig);
        return actual.byteLength === expected.byteLength && timingSafeEqual(actual, expected);
      },
    },
  };
}

const clientCrypto: QUICClientCrypto = {
  ops: {
    randomBytes: async (data) => {
      randomFillSync(new Uint8Array(data));
    },
  },
};

/** Config common to both sides. Stream limits are small: a connection carries one stream. */
const commonConfig: Partial<QUICConfig> = {
  applicationProtos: [ALPN_PROTOCOL],
  maxIdleTimeout: QUIC_MAX_IDLE_TIMEOUT_MS,
  keepAliveIntervalTime: QUIC_KEEP_ALIVE_INTERVAL_MS,
  initialMaxStreamsBidi: 4,
  initialMaxStreamsUni: 0,
};

/**
 * Sets the receive buffer of a started QUICSocket and returns the effective size. `QUICSocket` has
 * no option for it; its `dgram.Socket` lives in the protected field `socket` (set by `start()`).
 * Also installs an `error` listener: QUICSocket removes its own after bind, and an unhandled
 * `error` on a dgram socket would crash the process.
 */
function tuneSocket(socket: QUICSocket): number {
  const udp = (socket as unknown as { socket?: dgram.Socket }).socket;
  if (udp == null) return 0;
  udp.on('error', noop);
  try {
    udp.setRecvBufferSize(UDP_RECV_BUFFER_BYTES);
  } catch {
    // Not fatal: the kernel refused (e.g. a sandbox); the default buffer is used.
  }
  try {
    return udp.getRecvBufferSize();
  } catch {
    return 0;
  }
}

function isAddressInUse(error: unknown): boolean {
  let e: unknown = error;
  for (let i = 0; i < 5 && e != null; i++) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** A QUIC connection-level close, as reported by quiche. */
interface QuicCloseInfo {
  isApp: boolean;
  errorCode: number;
  reason?: Uint8Array;
}

/**
 * Maps a library error seen by a connection to what `handlers.close` gets: `undefined` for a normal
 * close (application code 0 by either side), a TransportError otherwise.
 */
function closeError(error: unknown, remote: string): Error | undefined {
  if (error == null) return undefined;
  const data = (error as { data?: QuicCloseInfo }).data;
  if (
    (error instanceof quicErrors.ErrorQUICConnectionPeer || error instanceof quicErrors.ErrorQUICConnectionLocal) &&
    data != null &&
    data.isApp &&
    data.errorCode === 0
  ) {
    return undefined;
  }
  if (error instanceof TransportError) return error;
  if (error instanceof quicErrors.ErrorQUICConnectionIdleTimeout) {
    return new TransportError(
      `QUIC connection to ${remote} timed out: no packet for ${QUIC_MAX_IDLE_TIMEOUT_MS} ms`,
      'GATECTL_TRANSPORT',
      { cause: error },
    );
  }
  if (data != null) {
    const reason = data.reason != null && data.reason.byteLength > 0 ? `: ${Buffer.from(data.reason).toString()}` : '';
    const by = error instanceof quicErrors.ErrorQUICConnectionPeer ? 'peer' : 'local side';
    return new TransportError(
      `QUIC connection to ${remote} closed by the ${by} with ${data.isApp ? 'application' : 'transport'} code ${data.errorCode}${reason}`,
      'GATECTL_TRANSPORT',
      { cause: error },
    );
  }
  return new TransportError(`QUIC connection to ${remote} failed: ${errorText(error)}`, 'GATECTL_TRANSPORT', {
    cause: error,
  });
}

// ---------------------------------------------------------------------------------------------
// Connection

/** How a QuicStreamConnection stops its QUIC connection (client: destroy the QUICClient). */
type StopConnection = (code: number, reason: string) => Promise<void>;

/**
 * One QUIC connection and its single bidirectional stream, seen through the Connection interface.
 * Reading: a loop over the stream's WHATWG `readable`; chunks are delivered as they come (the library
 * already hands out a fresh Buffer per read, so nothing is copied here). Writing: one writer for the
 * life of the connection.
 */
class QuicStreamConnection extends HandlerSlotConnection {
  readonly remoteAddress: string;
  private readonly quicConn: QUICConnection;
  private readonly stream: QUICStream;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly stopConnection: StopConnection;
  private readonly onEnded: (conn: QuicStreamConnection) => void;
  private closePromise: Promise<void> | undefined;
  /** The last connection-level error the library reported (the close reason). */
  private lastError: unknown;
  /** Resolves once the connection is closing: CONNECTION_CLOSE queued (local or peer) or stopped. */
  private readonly closeStarted: Promise<void>;
  private resolveCloseStarted!: () => void;

  constructor(
    quicConn: QUICConnection,
    stream: QUICStream,
    remoteAddress: string,
    stopConnection: StopConnection,
    onEnded: (conn: QuicStreamConnection) => void,
  ) {
    super();
    this.quicConn = quicConn;
    this.stream = stream;
    this.remoteAddress = remoteAddress;
    this.stopConnection = stopConnection;
    this.onEnded = onEnded;
    this.closeStarted = new Promise<void>((resolve) => (this.resolveCloseStarted = resolve));
    this.writer = stream.writable.getWriter();
    // A rejected `closed` would otherwise be an unhandled rejection when the stream errors.
    this.writer.closed.catch(noop);
    quicConn.addEventListener(quicEvents.EventQUICConnectionError.name, this.handleConnectionError);
    quicConn.addEventListener(quicEvents.EventQUICConnectionStopped.name, this.handleConnectionStopped, {
      once: true,
    });
    void this.readLoop();
  }

  private readonly handleConnectionError = (evt: Event): void => {
    // Every connection close is reported as an error event (local, peer, idle timeout), before
    // the draining period starts.
    this.lastError = (evt as quicEvents.EventQUICConnectionError).detail;
    this.resolveCloseStarted();
  };

  private readonly handleConnectionStopped = (): void => {
    this.quicConn.removeEventListener(quicEvents.EventQUICConnectionError.name, this.handleConnectionError);
    this.resolveCloseStarted();
    this.end(closeError(this.lastError, this.remoteAddress));
  };

  protected onEnd(): void {
    this.onEnded(this);
  }

  /** Resolves never once stopReading() was called: the read loop parks on it. */
  private readGate: Promise<void> | null = null;

  /** Fault injection: stop reading, so QUIC flow control stalls the peer's writes. */
  stopReading(): void {
    this.readGate ??= new Promise<void>(() => undefined);
  }

  private async readLoop(): Promise<void> {
    const reader = this.stream.readable.getReader();
    let handlerError: unknown;
    try {
      for (;;) {
        if (this.readGate !== null) await Promise.race([this.readGate, this.closeStarted]);
        if (this.closing || this.ended) break;
        const { value, done } = await reader.read();
        if (done) break;
        handlerError = this.deliver(value);
        if (handlerError !== undefined) break;
      }
    } catch (error) {
      // The stream was cancelled or reset, normally because the connection closed: the connection
      // error is the better reason.
      this.end(closeError(this.lastError ?? error, this.remoteAddress));
      if (!this.closing) void this.close(1, 'stream failed');
      return;
    } finally {
      reader.releaseLock();
    }
    this.finishReading(handlerError);
  }

  /**
   * Writes bytes on the stream; resolves when the stream writer accepted them (they are in quiche's
   * send buffer). `data` is not copied before that; do not modify it until the promise settles.
   * Rejects with TransportError when the connection is closed or the stream failed.
   */
  write(data: Uint8Array): Promise<void> {
    if (this.ended || this.closing) {
      return Promise.reject(new TransportError(`write on a closed QUIC connection to ${this.remoteAddress}`));
    }
    return this.writer.write(data).catch((error: unknown) => {
      throw new TransportError(`write to ${this.remoteAddress} failed: ${errorText(error)}`, 'GATECTL_TRANSPORT', {
        cause: error,
      });
    });
  }

  /**
   * Finishes the stream (pending writes get up to half of `timeoutMs`), then closes the connection
   * with application `code` (default 0) and `reason`. Resolves once the CONNECTION_CLOSE has been
   * handed to the socket, or after `timeoutMs` (default 2000 ms); never rejects. It does not wait for
   * QUIC's draining period (3 PTO, which under load is seconds): the library finishes that in the
   * background. `handlers.close` has been called when it resolves.
   */
  close(code = 0, reason = '', timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    if (this.closePromise !== undefined) return this.closePromise;
    this.closing = true;
    const work = (async () => {
      await settleWithin(this.writer.close(), timeoutMs / 2);
      const stopped = this.stopConnection(code, reason);
      stopped.catch(noop);
      await Promise.race([stopped, this.closeStarted]);
      // Let the library flush the CONNECTION_CLOSE packet to the socket.
      await new Promise<void>((resolve) => setImmediate(resolve));
    })();
    this.closePromise = settleWithin(work, timeoutMs).then(() => this.end(undefined));
    return this.closePromise;
  }

  /** Ends without waiting for the library (used when the owner already tore everything down). */
  forceEnd(): void {
    this.end(undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Server

class QuicListenerImpl implements QuicListener {
  readonly host: string;
  readonly port: number;
  readonly recvBufferBytes: number;
  private readonly server: QUICServer;
  private readonly socket: QUICSocket;
  private readonly conns = new Set<QuicStreamConnection>();
  private closePromise: Promise<void> | undefined;

  constructor(server: QUICServer, socket: QUICSocket, recvBufferBytes: number, onConnection: ListenOptions['onConnection']) {
    this.server = server;
    this.socket = socket;
    this.host = socket.host;
    this.port = socket.port;
    this.recvBufferBytes = recvBufferBytes;
    server.addEventListener(quicEvents.EventQUICServerConnection.name, (evt: Event) => {
      this.accept((evt as quicEvents.EventQUICServerConnection).detail, onConnection);
    });
  }

  private accept(quicConn: QUICConnection, onConnection: ListenOptions['onConnection']): void {
    let accepted = false;
    const onStream = (stream: QUICStream): void => {
      if (accepted || this.closePromise !== undefined) {
        // One stream per connection (DESIGN §2): refuse any further stream.
        stream.cancel(new TransportError('only one stream per connection'));
        return;
      }
      accepted = true;
      const remote = hostPort(quicConn.remoteHost, quicConn.remotePort);
      const conn = new QuicStreamConnection(
        quicConn,
        stream,
        remote,
        (code, reason) => quicConn.stop({ isApp: true, errorCode: code, reason: Buffer.from(reason), force: true }),
        (c) => this.conns.delete(c),
      );
      this.conns.add(conn);
      onConnection(conn);
    };
    quicConn.addEventListener(quicEvents.EventQUICConnectionStream.name, (evt: Event) => {
      onStream((evt as quicEvents.EventQUICConnectionStream).detail);
    });
    // The stream can be created in the same receive that completes the handshake, before this
    // listener existed: pick it up from the connection's stream map.
    const streamMap = (quicConn as unknown as { streamMap?: Map<number, QUICStream> }).streamMap;
    if (streamMap !== undefined) for (const stream of streamMap.values()) onStream(stream);
  }

  /**
   * Stops accepting and closes every connection concurrently (application code 0, streams
   * cancelled), then closes the UDP socket. Resolves when done or after `timeoutMs` (default 2000 ms),
   * whichever is first; never rejects. Every accepted Connection has had `handlers.close` by then.
   */
  close(timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    if (this.closePromise !== undefined) return this.closePromise;
    const started = Date.now();
    // Our connections: close concurrently, each resolving once its CONNECTION_CLOSE is sent.
    const connsClosed = Promise.all([...this.conns].map((c) => c.close(0, 'server closing', timeoutMs)));
    // The server: stop accepting, abort handshakes, close stream-less connections. Its promise waits
    // for every connection's draining period, so it only gets what is left of a short grace time.
    const stop = this.server.stop({ isApp: true, errorCode: 0, force: true });
    this.closePromise = (async () => {
      await settleWithin(connsClosed, timeoutMs);
      const left = timeoutMs - (Date.now() - started);
      await settleWithin(stop, Math.min(LISTENER_STOP_GRACE_MS, Math.max(0, left)));
      for (const conn of [...this.conns]) conn.forceEnd();
      await settleWithin(this.socket.stop({ force: true }), Math.max(0, timeoutMs - (Date.now() - started)));
    })();
    return this.closePromise;
  }
}

/**
 * Binds a QUIC server on `opts.host:opts.port` (UDP) and accepts connections; `onConnection` fires
 * once a connection's client stream is open (in practice when the client's first bytes arrive).
 *
 * @throws {AddressInUseError} when the UDP port is taken.
 * @throws {TransportError} when the address cannot be bound or the certificate is rejected by quiche.
 */
export async function listenQuic(opts: ListenOptions): Promise<QuicListener> {
  const logger = silentLogger('gatectl.quic.server');
  const socket = new QUICSocket({ logger: logger.getChild('socket') });
  const where = hostPort(opts.host, opts.port);
  try {
    await socket.start({ host: opts.host, port: opts.port });
  } catch (error) {
    if (isAddressInUse(error)) {
      throw new AddressInUseError(
        `cannot listen on ${where} (UDP): the address is already in use. Stop the other process, pick another port, or use --port 0 for a free one`,
        { cause: error },
      );
    }
    throw new TransportError(`cannot listen on ${where} (UDP): ${errorText(error)}`, 'GATECTL_TRANSPORT', {
      cause: error,
    });
  }
  const recvBufferBytes = tuneSocket(socket);
  let server: QUICServer;
  try {
    server = new QUICServer({
      socket,
      crypto: serverCrypto(),
      config: {
        ...commonConfig,
        key: opts.certificate.keyPem,
        cert: opts.certificate.certPem,
        verifyPeer: false,
      },
      minIdleTimeout: QUIC_SERVER_HANDSHAKE_TIMEOUT_MS,
      logger,
    });
    await server.start();
  } catch (error) {
    await socket.stop({ force: true }).catch(noop);
    throw new TransportError(
      `cannot start the QUIC server on ${where}: ${errorText(error)} (check the certificate and key PEM)`,
      'GATECTL_TRANSPORT',
      { cause: error },
    );
  }
  return new QuicListenerImpl(server, socket, recvBufferBytes, opts.onConnection);
}

// ---------------------------------------------------------------------------------------------
// Certificate verification for IP-literal targets
//
// quiche hands the dial host to BoringSSL as the expected host name (X509_VERIFY_PARAM_set1_host),
// which matches only DNS subjectAltNames: a certificate for IP SAN 127.0.0.1 fails with
// bad_certificate (298) when dialling 127.0.0.1 with `ca`. For IP targets we therefore let native
// verification fail softly (`verifyCallback` sets quiche's verifyAllowFail) and verify here: validity
// dates, the IP SAN, and a chain to one of the trusted CAs (the `ca` option, else Node's roots).

/** TLS alert codes (offset 0x100) that quiche sends when our verification fails. */
const CRYPTO_BAD_CERTIFICATE = 298;
const CRYPTO_CERTIFICATE_EXPIRED = 301;
const CRYPTO_UNKNOWN_CA = 304;

let systemAnchors: X509Certificate[] | undefined;

function ipVerifyCallback(ip: string): TLSVerifyCallback {
  return async (certs, ca) => {
    try {
      if (certs.length === 0) return CRYPTO_BAD_CERTIFICATE;
      const chain = certs.map((der) => new X509Certificate(der));
      const anchors =
        ca.length > 0 ? ca.map((der) => new X509Certificate(der)) : (systemAnchors ??= rootCertificates.map((pem) => new X509Certificate(pem)));
      const now = Date.now();
      for (const cert of chain) {
        if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) return CRYPTO_CERTIFICATE_EXPIRED;
      }
      if (chain[0].checkIP(ip) === undefined) return CRYPTO_BAD_CERTIFICATE;
      for (let i = 0; i < chain.length; i++) {
        const cert = chain[i];
        for (const anchor of anchors) {
          if (cert.raw.equals(anchor.raw)) return undefined;
          if (cert.checkIssued(anchor) && cert.verify(anchor.publicKey)) return undefined;
        }
        const issuer = chain[i + 1];
        if (issuer === undefined || !issuer.ca || !cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) break;
      }
      return CRYPTO_UNKNOWN_CA;
    } catch {
      return CRYPTO_BAD_CERTIFICATE;
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Client

class QuicDialerImpl implements QuicDialer {
  readonly recvBufferBytes: number;
  private readonly socket: QUICSocket;
  private readonly opts: DialerOptions;
  private readonly config: Partial<QUICConfig>;
  private readonly logger: Logger;
  private readonly handshakes = new Semaphore(MAX_HANDSHAKES_IN_FLIGHT);
  private readonly conns = new Set<QuicStreamConnection>();
  /** Per IP-literal target: the config with its verify callback (see ipVerifyCallback). */
  private readonly ipConfigs = new Map<string, Partial<QUICConfig>>();
  private closed = false;

  constructor(socket: QUICSocket, recvBufferBytes: number, opts: DialerOptions, logger: Logger) {
    this.socket = socket;
    this.recvBufferBytes = recvBufferBytes;
    this.opts = opts;
    this.logger = logger;
    this.config = {
      ...commonConfig,
      verifyPeer: opts.insecure !== true,
      ...(opts.ca !== undefined && opts.insecure !== true ? { ca: opts.ca } : {}),
    };
  }

  private configFor(host: string): Partial<QUICConfig> {
    if (this.config.verifyPeer !== true || isIP(host) === 0) return this.config;
    let config = this.ipConfigs.get(host);
    if (config === undefined) {
      config = { ...this.config, verifyCallback: ipVerifyCallback(host) };
      this.ipConfigs.set(host, config);
    }
    return config;
  }

  /**
   * Connects to `host:port` over the shared UDP socket and opens the bidirectional stream. At most
   * `MAX_HANDSHAKES_IN_FLIGHT` handshakes run at once; `connectTimeoutMs` applies to the handshake
   * itself, so with a queue the call can take longer than that in total.
   *
   * @throws {ConnectTimeoutError} when the handshake did not finish within `connectTimeoutMs`.
   * @throws {TransportError} when the dialer is closed, TLS verification or ALPN fails, or the
   *   connection fails otherwise.
   */
  async dial(host: string, port: number): Promise<Connection> {
    const target = hostPort(host, port);
    if (this.closed) throw new TransportError(`dial ${target}: the dialer is closed`);
    const client = await this.handshakes.withF(async () => {
      if (this.closed) throw new TransportError(`dial ${target}: the dialer is closed`);
      try {
        return await QUICClient.createQUICClient(
          { host, port, socket: this.socket, crypto: clientCrypto, config: this.configFor(host), logger: this.logger },
          { timer: this.opts.connectTimeoutMs },
        );
      } catch (error) {
        throw dialError(error, target, this.opts.connectTimeoutMs);
      }
    });
    let stream: QUICStream;
    try {
      stream = client.connection.newStream('bidi');
    } catch (error) {
      await settleWithin(client.destroy({ force: true }), DEFAULT_CLOSE_TIMEOUT_MS);
      throw new TransportError(`dial ${target}: cannot open the stream: ${errorText(error)}`, 'GATECTL_TRANSPORT', {
        cause: error,
      });
    }
    const conn = new QuicStreamConnection(
      client.connection,
      stream,
      target,
      (code, reason) => client.destroy({ isApp: true, errorCode: code, reason: Buffer.from(reason), force: true }),
      (c) => this.conns.delete(c),
    );
    this.conns.add(conn);
    return conn;
  }

  /**
   * Closes any connection still open (concurrently, 2000 ms at most) and the shared UDP socket.
   * Never rejects; later `dial()` calls reject with TransportError.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.conns].map((c) => c.close(0, 'dialer closed', DEFAULT_CLOSE_TIMEOUT_MS)));
    await settleWithin(this.socket.stop({ force: true }), 1_000);
  }
}

function dialError(error: unknown, target: string, timeoutMs: number): Error {
  if (error instanceof TransportError) return error;
  if (
    error instanceof quicErrors.ErrorQUICClientCreateTimeout ||
    error instanceof quicErrors.ErrorQUICConnectionStartTimeout
  ) {
    return new ConnectTimeoutError(
      `QUIC connect to ${target} timed out after ${timeoutMs} ms: the target may be down or not listening on UDP. ` +
        'Check that `gatectl serve` is running there and that the host and port are right',
      { cause: error },
    );
  }
  if (
    error instanceof quicErrors.ErrorQUICConnectionLocalTLS ||
    error instanceof quicErrors.ErrorQUICConnectionPeerTLS
  ) {
    const code = (error as { data?: QuicCloseInfo }).data?.errorCode;
    if (code === 376) {
      return new TransportError(
        `QUIC connect to ${target} failed: the server does not speak ALPN ${ALPN_PROTOCOL} (is it a gatectl server?)`,
        'GATECTL_TRANSPORT',
        { cause: error },
      );
    }
    return new TransportError(
      `QUIC connect to ${target} failed: TLS verification of the server certificate failed. ` +
        'For a self-signed target use --insecure, or trust its certificate with --ca FILE',
      'GATECTL_TRANSPORT',
      { cause: error },
    );
  }
  return new TransportError(`QUIC connect to ${target} failed: ${errorText(error)}`, 'GATECTL_TRANSPORT', {
    cause: error,
  });
}

/**
 * Creates a QUIC Dialer with one shared UDP socket (dual-stack `::`, or `0.0.0.0` where IPv6 is
 * unavailable) and a 4 MiB receive buffer.
 *
 * @throws {TransportError} when no UDP socket can be bound.
 */
export async function createQuicDialer(opts: DialerOptions): Promise<QuicDialer> {
  const logger = silentLogger('gatectl.quic.client');
  let socket = new QUICSocket({ logger: logger.getChild('socket') });
  try {
    await socket.start({ host: '::', port: 0 });
  } catch {
    socket = new QUICSocket({ logger: logger.getChild('socket') });
    try {
      await socket.start({ host: '0.0.0.0', port: 0 });
    } catch (error) {
      throw new TransportError(`cannot bind a local UDP socket for QUIC: ${errorText(error)}`, 'GATECTL_TRANSPORT', {
        cause: error,
      });
    }
  }
  return new QuicDialerImpl(socket, tuneSocket(socket), opts, logger);
}

/** The `quic` transport: `@matrixai/quic`, QUIC v1, TLS 1.3, ALPN `gatesvr/1`. */
export const quicTransport: Transport = {
  name: 'quic',
  listen: listenQuic,
  createDialer: createQuicDialer,
};
