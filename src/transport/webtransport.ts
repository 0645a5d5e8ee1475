/**
 * The `webtransport` transport (DESIGN §2, issue 7 item 1) on `@fails-components/webtransport`.
 *
 * One WebTransport session per Connection, at path `/gate`, carrying one client-opened bidirectional
 * stream with the same varint-delimited frames as QUIC. HTTP/3 when the library's optional native
 * transport (`@fails-components/webtransport-transport-http3-quiche`) loads, otherwise the library's
 * HTTP/2 mode (WebTransport over an HTTP/2 extended CONNECT, RFC 8441 + the capsule protocol);
 * `webtransportMode()` says which one this process uses.
 *
 * What the library needs, and how it is done here:
 * - Flow control (HTTP/2 mode). The library runs its own WebTransport flow control (WT_MAX_DATA /
 *   WT_MAX_STREAM_DATA capsules) on top of HTTP/2's. Its server keeps `sessionFlowControlWindowSizeLimit`
 *   as its session receive window but advertises `initialSessionFlowControlWindow` to the client; when
 *   the two differ the client stops at the advertised value and the server never sends WT_MAX_DATA
 *   (it waits until half of the larger window is consumed): the stream stalls for good after the
 *   initial window (16 KiB by default). Both are therefore set to `WT_SESSION_WINDOW_BYTES` on both
 *   sides; then window updates flow and transfers of any size go through (tested with 10 MB each way).
 *   The HTTP/2 windows of the underlying node:http2 sessions (64 KiB by default, updated automatically
 *   as data is read) are raised to `H2_STREAM_WINDOW_BYTES` / `H2_CONNECTION_WINDOW_BYTES` so that a
 *   higher round-trip time does not cap throughput at 64 KiB per RTT. The library does not expose
 *   node:http2 settings; they are set through its internal fields (`transportInt.serverInt`, the
 *   client's `transportInt.clientInt`) when present, and skipped otherwise.
 * - Certificates. The library's client verifies a server either against the system CA store (no
 *   options) or by `serverCertificateHashes` (SHA-256 pinning, which the WebTransport spec and the
 *   library allow only for certificates valid at most 14 days). It has no `ca` option. So `insecure`
 *   and `ca` are implemented by one TLS pre-flight per Dialer and target: a `node:tls` handshake
 *   (ALPN `h2`) that verifies the chain and host against `ca` (or accepts anything with `insecure`),
 *   then every session pins the SHA-256 of the certificate so seen. A pinned certificate valid for
 *   more than 14 days is refused with a message saying how to fix it (`gatectl serve` generates
 *   14-day certificates for this transport: `WEBTRANSPORT_CERTIFICATE_DAYS`).
 * - Console noise. Importing the library tries to load the native HTTP/3 package and, when it is
 *   missing, prints three lines (two on stderr, one on stdout — which would break `--json`). The
 *   library is imported lazily (only when this transport is used) and exactly those lines are
 *   dropped while it loads; anything else printed meanwhile passes through.
 */
import { X509Certificate, randomBytes } from 'node:crypto';
import { isIP, type Socket } from 'node:net';
import tls from 'node:tls';
import type http2 from 'node:http2';
import { Semaphore } from '@matrixai/async-locks';
import { AddressInUseError, ConnectTimeoutError, TransportError } from '../errors.js';
import { HandlerSlotConnection } from './connection-base.js';
import type { Connection, Dialer, DialerOptions, ListenOptions, Listener, Transport } from './types.js';
import { DEFAULT_CLOSE_TIMEOUT_MS, errorText, hostPort, noop, settleWithin } from './util.js';

/** Path of the WebTransport endpoint a gatectl gateway serves and its clients open. */
export const WEBTRANSPORT_PATH = '/gate';
/** Longest certificate validity (days) that WebTransport certificate-hash pinning accepts. */
export const WEBTRANSPORT_MAX_PINNED_CERTIFICATE_DAYS = 14;
/** Library package that provides HTTP/3; optional, not installed here. */
export const HTTP3_NATIVE_PACKAGE = '@fails-components/webtransport-transport-http3-quiche';
/** WebTransport-level session window (initial = limit, both sides), in bytes (16 MiB). */
export const WT_SESSION_WINDOW_BYTES = 16 * 1024 * 1024;
/** WebTransport-level initial stream window, in bytes (1 MiB); auto-tuned up to `WT_STREAM_WINDOW_LIMIT_BYTES`. */
export const WT_STREAM_WINDOW_BYTES = 1024 * 1024;
/** WebTransport-level stream window limit for auto-tuning, in bytes (8 MiB). */
export const WT_STREAM_WINDOW_LIMIT_BYTES = 8 * 1024 * 1024;
/** HTTP/2 SETTINGS_INITIAL_WINDOW_SIZE asked for on both sides, in bytes (1 MiB). */
export const H2_STREAM_WINDOW_BYTES = 1024 * 1024;
/** HTTP/2 connection-level receive window set on both sides, in bytes (16 MiB). */
export const H2_CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;
/** Handshakes a Dialer runs at once; further `dial()` calls wait in a queue. */
export const MAX_HANDSHAKES_IN_FLIGHT = 100;
/** Server side: a session that opened no bidirectional stream within this many ms is closed. */
export const WT_STREAM_OPEN_TIMEOUT_MS = 10_000;
/** After a client connection ended, its HTTP/2 connection is destroyed this many ms later. */
const H2_TEARDOWN_GRACE_MS = 50;

const DAY_MS = 24 * 60 * 60 * 1000;
/** WebTransport close code sent when the server refuses an extra stream or a stream never came. */
const CLOSE_PROTOCOL = 1;

// ---------------------------------------------------------------------------------------------
// The library, seen through the few members used here (its bundled typings are partial).

interface WtBidiStream {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
}

interface WtCloseInfo {
  closeCode?: number;
  reason?: string;
}

interface WtSession {
  readonly ready: Promise<unknown>;
  readonly closed: Promise<WtCloseInfo>;
  readonly incomingBidirectionalStreams: ReadableStream<WtBidiStream>;
  readonly reliability?: string;
  /** `host:port` of the peer (server side). */
  readonly peerAddress?: string;
  createBidirectionalStream(): Promise<WtBidiStream>;
  close(info?: { closeCode: number; reason: string }): void;
}

interface WtServer {
  readonly ready: Promise<unknown>;
  readonly closed: Promise<unknown>;
  startServer(): void;
  stopServer(): void;
  address(): { port: number; host: string } | null;
  sessionStream(path: string): ReadableStream<WtSession>;
}

interface WtLib {
  Http2Server: new (init: Record<string, unknown>) => WtServer;
  HttpServer: new (init: Record<string, unknown>) => WtServer;
  WebTransport: new (url: string, opts: Record<string, unknown>) => WtSession;
  quicheLoaded: Promise<unknown>;
}

/** Which WebTransport flavour this process runs: HTTP/3 (native transport loaded) or HTTP/2. */
export type WebTransportMode = 'http3' | 'http2';

let libPromise: Promise<WtLib> | undefined;
let loadedMode: WebTransportMode | undefined;

/** True when the optional native HTTP/3 package can be resolved from here. */
function nativeResolvable(): boolean {
  try {
    import.meta.resolve(HTTP3_NATIVE_PACKAGE);
    return true;
  } catch {
    return false;
  }
}

/**
 * Which WebTransport flavour runs in this process: `'http3'` when the library's optional native
 * transport (`@fails-components/webtransport-transport-http3-quiche`) loaded, else `'http2'`.
 * Before the library was first used (no listen/dial yet), answers from whether the native package
 * can be resolved. Never throws.
 */
export function webtransportMode(): WebTransportMode {
  return loadedMode ?? (nativeResolvable() ? 'http3' : 'http2');
}

/** The console lines the library prints when the optional HTTP/3 package is missing. */
function isMissingHttp3Noise(args: unknown[]): boolean {
  const first = args[0];
  return (
    typeof first === 'string' &&
    (first === 'Problem loading http3-quiche transport' ||
      first === `Did you install ${HTTP3_NATIVE_PACKAGE}?` ||
      first === 'http3 loader:')
  );
}

/**
 * Imports the library once per thread and sets `webtransportMode()`. While it loads and the native
 * package is missing, exactly the library's "http3 loader" lines are dropped from console.log/error.
 */
function loadLib(): Promise<WtLib> {
  libPromise ??= (async () => {
    let http3 = false;
    if (nativeResolvable()) {
      try {
        await import(HTTP3_NATIVE_PACKAGE);
        http3 = true;
      } catch {
        http3 = false;
      }
    }
    const origLog = console.log;
    const origError = console.error;
    if (!http3) {
      console.log = (...args: unknown[]) => {
        if (!isMissingHttp3Noise(args)) origLog.apply(console, args);
      };
      console.error = (...args: unknown[]) => {
        if (!isMissingHttp3Noise(args)) origError.apply(console, args);
      };
    }
    try {
      const lib = (await import('@fails-components/webtransport')) as unknown as WtLib;
      await lib.quicheLoaded;
      // server.js runs the same failed import on its own promise chain: let it finish too.
      await new Promise<void>((resolve) => setTimeout(resolve, 20));
      loadedMode = http3 ? 'http3' : 'http2';
      return lib;
    } finally {
      if (!http3) {
        console.log = origLog;
        console.error = origError;
      }
    }
  })();
  return libPromise;
}

// ---------------------------------------------------------------------------------------------
// Shared helpers


/** `a.b.c:port` / `::1:port` (the library's format) → `a.b.c:port` / `[::1]:port`. */
function formatPeer(peer: string | undefined): string {
  if (peer === undefined) return '?';
  const i = peer.lastIndexOf(':');
  if (i < 0) return peer;
  const host = peer.slice(0, i);
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${peer.slice(i + 1)}` : peer;
}

/** Options common to the library's server and client: the flow-control windows (see the header). */
const flowControlOptions = {
  initialSessionFlowControlWindow: WT_SESSION_WINDOW_BYTES,
  sessionFlowControlWindowSizeLimit: WT_SESSION_WINDOW_BYTES,
  initialStreamFlowControlWindow: WT_STREAM_WINDOW_BYTES,
  streamFlowControlWindowSizeLimit: WT_STREAM_WINDOW_LIMIT_BYTES,
};

/** Raises the HTTP/2 windows of one node:http2 session; failures are ignored (an optimisation). */
function tuneH2Session(session: http2.Http2Session): void {
  try {
    session.setLocalWindowSize(H2_CONNECTION_WINDOW_BYTES);
    session.settings({ initialWindowSize: H2_STREAM_WINDOW_BYTES });
  } catch {
    // The session is closing or the peer refused: the defaults stay.
  }
}

/** Sessions this process already asked to close. */
const closedSessions = new WeakSet<WtSession>();

/**
 * Closes a session at most once. The library writes a second close capsule after the HTTP/2 stream
 * ended ("write after end"), after which node:http2 (20.x) can spin in `SendPendingData` for good.
 */
function closeSessionOnce(session: WtSession, code: number, reason: string): void {
  if (closedSessions.has(session)) return;
  closedSessions.add(session);
  try {
    session.close({ closeCode: code, reason });
  } catch {
    // not open, or already closed by the peer
  }
}

/** Maps how a session ended to what `handlers.close` gets: undefined for code 0, else a TransportError. */
function sessionCloseError(info: WtCloseInfo | undefined, failure: unknown, remote: string): Error | undefined {
  if (info !== undefined) {
    const code = Number(info.closeCode ?? 0);
    if (code === 0) return undefined;
    const reason = info.reason !== undefined && info.reason !== '' ? `: ${info.reason}` : '';
    return new TransportError(`WebTransport session with ${remote} closed with code ${code}${reason}`);
  }
  return new TransportError(`WebTransport session with ${remote} failed: ${errorText(failure)}`, 'GATECTL_TRANSPORT', {
    cause: failure,
  });
}

// ---------------------------------------------------------------------------------------------
// Connection

/**
 * One WebTransport session and its single bidirectional stream, seen through the Connection
 * interface. Reading: a loop over the stream's `readable` (the library hands out a fresh buffer per
 * read, so chunks are delivered without a copy). Writing: one writer for the life of the connection.
 */
class WtConnection extends HandlerSlotConnection {
  readonly remoteAddress: string;
  private readonly session: WtSession;
  private readonly stream: WtBidiStream;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly onEnded: (conn: WtConnection) => void;
  private closePromise: Promise<void> | undefined;
  /** How the session ended, once it did: the close info, or the failure. */
  private sessionEnd: { info?: WtCloseInfo; failure?: unknown } | undefined;
  private readonly sessionEnded: Promise<void>;
  /**
   * Rejects (with TransportError) when the connection ends: the library never settles a write that
   * is in flight when its session closes, so every write races this.
   */
  private readonly endedSignal: Promise<never>;
  private rejectEnded!: (error: Error) => void;

  constructor(session: WtSession, stream: WtBidiStream, remoteAddress: string, onEnded: (conn: WtConnection) => void) {
    super();
    this.session = session;
    this.stream = stream;
    this.remoteAddress = remoteAddress;
    this.onEnded = onEnded;
    this.endedSignal = new Promise<never>((_, reject) => (this.rejectEnded = reject));
    this.endedSignal.catch(noop);
    this.writer = stream.writable.getWriter();
    // A rejected `closed` would otherwise be an unhandled rejection when the stream errors.
    this.writer.closed.catch(noop);
    this.sessionEnded = session.closed.then(
      (info) => {
        this.sessionEnd = { info };
        this.end(sessionCloseError(info, undefined, this.remoteAddress));
      },
      (failure: unknown) => {
        this.sessionEnd = { failure };
        this.end(sessionCloseError(undefined, failure, this.remoteAddress));
      },
    );
    void this.readLoop();
  }

  protected onEnd(): void {
    this.rejectEnded(new TransportError(`write to ${this.remoteAddress} failed: the WebTransport connection closed`));
    this.onEnded(this);
  }

  private async readLoop(): Promise<void> {
    const reader = this.stream.readable.getReader();
    let handlerError: unknown;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (value.byteLength === 0) continue;
        handlerError = this.deliver(value);
        if (handlerError !== undefined) break;
      }
    } catch (error) {
      // The stream errored, normally because the session closed: its close info is the better reason
      // (the library settles `closed` in the same call that errors the stream).
      await settleWithin(this.sessionEnded, 100);
      const e = this.sessionEnd;
      this.end(e !== undefined ? sessionCloseError(e.info, e.failure, this.remoteAddress) : sessionCloseError(undefined, error, this.remoteAddress));
      if (!this.closing) void this.close(1, 'stream failed');
      return;
    } finally {
      try {
        reader.releaseLock();
      } catch {
        // already released
      }
    }
    this.finishReading(handlerError);
  }

  /**
   * Writes bytes on the stream; resolves when the library accepted them (written to the HTTP/2
   * stream; a write blocked by WebTransport flow control waits until the peer reads). `data` is not
   * copied before that; do not modify it until the promise settles. Rejects with TransportError when
   * the connection is closed, ends while the write waits, or the stream failed.
   */
  write(data: Uint8Array): Promise<void> {
    if (this.ended || this.closing) {
      return Promise.reject(new TransportError(`write on a closed WebTransport connection to ${this.remoteAddress}`));
    }
    return Promise.race([this.writer.write(data), this.endedSignal]).catch((error: unknown) => {
      if (error instanceof TransportError) throw error;
      throw new TransportError(`write to ${this.remoteAddress} failed: ${errorText(error)}`, 'GATECTL_TRANSPORT', {
        cause: error,
      });
    });
  }

  /**
   * Finishes the stream (pending writes get up to half of `timeoutMs`; skipped when the connection
   * already ended), then closes the session with
   * WebTransport close `code` (default 0) and `reason`. Resolves once the session reports closed, or
   * after `timeoutMs` (default 2000 ms); never rejects. `handlers.close` has been called when it resolves.
   */
  close(code = 0, reason = '', timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    if (this.closePromise !== undefined) return this.closePromise;
    this.closing = true;
    const work = (async () => {
      if (this.sessionEnd === undefined) {
        // Flush pending writes unless the connection already ended (peer finished or failed).
        if (!this.ended) await settleWithin(this.writer.close(), timeoutMs / 2);
        closeSessionOnce(this.session, code, reason);
        await this.sessionEnded;
      }
    })();
    this.closePromise = settleWithin(work, timeoutMs).then(() => this.end(undefined));
    return this.closePromise;
  }
}

// ---------------------------------------------------------------------------------------------
// Server

class WtListener implements Listener {
  readonly host: string;
  readonly port: number;
  private readonly server: WtServer;
  private readonly conns = new Set<WtConnection>();
  /** Sessions accepted but without their stream yet. */
  private readonly pendingSessions = new Set<WtSession>();
  /** TCP sockets of the server (when the library's internals are reachable). */
  private readonly sockets: Set<Socket>;
  private closePromise: Promise<void> | undefined;

  constructor(server: WtServer, host: string, port: number, sockets: Set<Socket>, onConnection: ListenOptions['onConnection']) {
    this.server = server;
    this.host = host;
    this.port = port;
    this.sockets = sockets;
    void this.acceptLoop(onConnection);
  }

  private async acceptLoop(onConnection: ListenOptions['onConnection']): Promise<void> {
    const reader = this.server.sessionStream(WEBTRANSPORT_PATH).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        if (this.closePromise !== undefined) {
          closeSessionOnce(value, CLOSE_PROTOCOL, 'server closing');
          continue;
        }
        void this.accept(value, onConnection);
      }
    } catch {
      // The server stopped.
    }
  }

  private async accept(session: WtSession, onConnection: ListenOptions['onConnection']): Promise<void> {
    this.pendingSessions.add(session);
    session.closed.catch(noop);
    const streams = session.incomingBidirectionalStreams.getReader();
    let timer: NodeJS.Timeout | undefined;
    try {
      await session.ready;
      const first = await Promise.race([
        streams.read(),
        new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), WT_STREAM_OPEN_TIMEOUT_MS))),
      ]);
      clearTimeout(timer);
      if (first === undefined || first.done === true || this.closePromise !== undefined) {
        closeSessionOnce(session, CLOSE_PROTOCOL, first === undefined ? 'no stream opened' : 'server closing');
        return;
      }
      this.pendingSessions.delete(session);
      const conn = new WtConnection(session, first.value, formatPeer(session.peerAddress), (c) => this.conns.delete(c));
      this.conns.add(conn);
      onConnection(conn);
      // One stream per session (DESIGN §2): refuse any further stream.
      for (;;) {
        const next = await streams.read();
        if (next.done === true) break;
        next.value.readable.cancel().catch(noop);
        next.value.writable.abort().catch(noop);
      }
    } catch {
      // Session failed before or while its stream opened; the connection (if any) reports it.
    } finally {
      clearTimeout(timer);
      this.pendingSessions.delete(session);
    }
  }

  /**
   * Stops accepting and closes every connection concurrently; after `timeoutMs` (default 2000 ms)
   * whatever HTTP/2 connection is left is destroyed. Never rejects.
   */
  close(timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    if (this.closePromise !== undefined) return this.closePromise;
    this.closePromise = (async () => {
      for (const s of this.pendingSessions) closeSessionOnce(s, CLOSE_PROTOCOL, 'server closing');
      await settleWithin(
        Promise.all([...this.conns].map((c) => c.close(0, 'server closing', timeoutMs))),
        timeoutMs,
      );
      try {
        this.server.stopServer();
      } catch {
        // already stopped
      }
      // Clients close their HTTP/2 connection when their session ends; give them a moment, then
      // destroy what is left (node:http2 ends a destroyed session's socket only half-way, and a
      // client whose session closed can leave its HTTP/2 connection open) so that the close completes.
      await settleWithin(this.server.closed, 100);
      for (const s of this.sockets) s.destroy();
      await settleWithin(this.server.closed, 250);
    })();
    return this.closePromise;
  }
}

/**
 * Binds a WebTransport server on `opts.host:opts.port` serving path `/gate`: HTTP/2 (TCP) when the
 * native HTTP/3 transport is absent (`webtransportMode() === 'http2'`), else HTTP/2 and HTTP/3 on
 * the same port number. `onConnection` fires once a session has opened its bidirectional stream.
 *
 * @throws {AddressInUseError} when the port is taken.
 * @throws {TransportError} when the library cannot start or the certificate/key is unusable.
 */
export async function listenWebTransport(opts: ListenOptions): Promise<Listener> {
  const where = hostPort(opts.host, opts.port);
  const lib = await loadLib();
  const init = {
    host: opts.host,
    port: opts.port,
    secret: randomBytes(32).toString('hex'),
    cert: opts.certificate.certPem,
    privKey: opts.certificate.keyPem,
    defaultDatagramsReadableMode: 'bytes',
    ...flowControlOptions,
  };
  let server: WtServer;
  try {
    server = loadedMode === 'http3' ? new lib.HttpServer({ ...init, reliability: 'both' }) : new lib.Http2Server(init);
  } catch (error) {
    throw new TransportError(
      `cannot start the WebTransport server on ${where}: ${errorText(error)} (check the certificate and key PEM)`,
      'GATECTL_TRANSPORT',
      { cause: error },
    );
  }
  server.sessionStream(WEBTRANSPORT_PATH);
  server.startServer();
  try {
    await server.ready;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new AddressInUseError(
        `cannot listen on ${where} (WebTransport over TCP): the address is already in use. Stop the other process, pick another port, or use --port 0 for a free one`,
        { cause: error },
      );
    }
    throw new TransportError(`cannot listen on ${where} (WebTransport): ${errorText(error)}`, 'GATECTL_TRANSPORT', {
      cause: error,
    });
  }
  // node:http2 windows and the set of TCP connections, through the library's internal server.
  const sockets = new Set<Socket>();
  const h2Server = (server as unknown as { transportInt?: { serverInt?: http2.Http2SecureServer } }).transportInt?.serverInt;
  if (h2Server !== undefined && typeof h2Server.on === 'function') {
    try {
      h2Server.updateSettings({ initialWindowSize: H2_STREAM_WINDOW_BYTES });
    } catch {
      // keep the defaults
    }
    h2Server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    h2Server.on('session', (session: http2.ServerHttp2Session) => {
      session.on('error', noop);
      tuneH2Session(session);
    });
    // A client that fails its TLS handshake is not the server's failure.
    h2Server.on('tlsClientError', noop);
  }
  const address = server.address();
  return new WtListener(server, opts.host, address?.port ?? opts.port, sockets, opts.onConnection);
}

// ---------------------------------------------------------------------------------------------
// Client

/** What the TLS pre-flight learnt about a target: the certificate hash to pin (none: system CAs). */
interface Preflight {
  pin: Uint8Array | undefined;
}

class WtDialer implements Dialer {
  private readonly opts: DialerOptions;
  private readonly conns = new Set<WtConnection>();
  private readonly preflights = new Map<string, Promise<Preflight>>();
  private readonly handshakes = new Semaphore(MAX_HANDSHAKES_IN_FLIGHT);
  private closed = false;

  constructor(opts: DialerOptions) {
    this.opts = opts;
  }

  /**
   * One TLS handshake to `host:port` (ALPN `h2`), cached per target: verifies the certificate
   * against `ca` (or accepts it with `insecure`; system CAs otherwise) and returns its SHA-256 to pin.
   */
  private preflight(host: string, port: number, deadline: number): Promise<Preflight> {
    const key = hostPort(host, port);
    let p = this.preflights.get(key);
    if (p === undefined) {
      p = tlsPreflight(host, port, this.opts, deadline);
      this.preflights.set(key, p);
      // A failed pre-flight is not cached: the next dial tries again.
      p.catch(() => this.preflights.delete(key));
    }
    return p;
  }

  /**
   * Opens a WebTransport session to `https://host:port/gate` and its bidirectional stream.
   * Certificate checks follow `insecure` / `ca` (pinned after a TLS pre-flight, see the module
   * header) or the system CA store.
   *
   * @throws {ConnectTimeoutError} when it did not complete within `connectTimeoutMs`.
   * @throws {TransportError} when the connection is refused, the certificate is not accepted (the
   *   message says `--insecure` / `--ca`), the session is refused, or the dialer is closed.
   */
  async dial(host: string, port: number): Promise<Connection> {
    const target = hostPort(host, port);
    const url = `https://${target}${WEBTRANSPORT_PATH}`;
    if (this.closed) throw new TransportError(`dial ${url}: the dialer is closed`);
    const timeoutMs = this.opts.connectTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    const lib = await loadLib();
    return this.handshakes.withF(async () => {
      const { pin } = await this.preflight(host, port, deadline);
      const left = Math.max(1, deadline - Date.now());
      const options: Record<string, unknown> = {
        ...flowControlOptions,
        quicConnectTimeout: left,
        webTransportConnectTimeout: left,
        ...(loadedMode === 'http3' ? {} : { forceReliable: true }),
        ...(pin !== undefined ? { serverCertificateHashes: [{ algorithm: 'sha-256', value: pin }] } : {}),
      };
      let session: WtSession;
      try {
        session = new lib.WebTransport(url, options);
      } catch (error) {
        throw new TransportError(`WebTransport connect to ${url} failed: ${errorText(error)}`, 'GATECTL_TRANSPORT', { cause: error });
      }
      session.closed.catch(noop);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(
            new ConnectTimeoutError(
              `WebTransport connect to ${url} timed out after ${timeoutMs} ms: the target may be down or overloaded. ` +
                'Check that `gatectl serve --transport webtransport` is running there and that the host and port are right',
            ),
          );
        }, left);
      });
      try {
        const stream = await Promise.race([
          (async () => {
            await session.ready;
            const h2 = clientH2(session);
            if (h2 !== undefined) tuneH2Session(h2);
            return { stream: await session.createBidirectionalStream(), h2 };
          })(),
          timedOut,
        ]);
        const conn = new WtConnection(session, stream.stream, target, (c) => {
          this.conns.delete(c);
          // The library closes its HTTP/2 connection gracefully, which can stay open when the
          // server ended the session: destroy it once the close had a moment to be sent.
          if (stream.h2 !== undefined) setTimeout(() => stream.h2?.destroy(), H2_TEARDOWN_GRACE_MS);
        });
        this.conns.add(conn);
        return conn;
      } catch (error) {
        closeSessionOnce(session, CLOSE_PROTOCOL, 'connect failed');
        // The server may have restarted with another certificate: pin again on the next dial.
        if (!(error instanceof ConnectTimeoutError)) this.preflights.delete(target);
        if (error instanceof TransportError) throw error;
        throw new TransportError(
          `WebTransport session to ${url} was not established (${errorText(error)}): check that \`gatectl serve --transport webtransport\` is running there ` +
            `(path ${WEBTRANSPORT_PATH}) and that the host and port are right`,
          'GATECTL_TRANSPORT',
          { cause: error },
        );
      } finally {
        clearTimeout(timer);
      }
    });
  }

  /** Closes any connection still open (concurrently, 2000 ms at most). Never rejects. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.conns].map((c) => c.close(0, 'dialer closed', DEFAULT_CLOSE_TIMEOUT_MS)));
  }
}

/** The client's node:http2 session, through the library's internals (undefined when absent). */
function clientH2(session: WtSession): http2.ClientHttp2Session | undefined {
  const h2 = (session as unknown as { sessionint?: { parentobj?: { transportInt?: { clientInt?: http2.ClientHttp2Session } } } })
    .sessionint?.parentobj?.transportInt?.clientInt;
  return h2 !== undefined && typeof h2.destroy === 'function' ? h2 : undefined;
}

/**
 * The TLS pre-flight (see the module header). Resolves with the SHA-256 of the server certificate
 * to pin when `insecure` or `ca` is set, with no pin otherwise (the library then verifies against
 * the system CA store).
 *
 * @throws {ConnectTimeoutError} at `deadline` (epoch ms).
 * @throws {TransportError} refused, certificate not accepted, not an HTTP/2 server, or a pinned
 *   certificate valid for more than 14 days.
 */
function tlsPreflight(host: string, port: number, opts: DialerOptions, deadline: number): Promise<Preflight> {
  const target = hostPort(host, port);
  const pinning = opts.insecure === true || opts.ca !== undefined;
  return new Promise<Preflight>((resolve, reject) => {
    const socket = tls.connect({
      host,
      port,
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ALPNProtocols: ['h2'],
      rejectUnauthorized: opts.insecure !== true,
      ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
    });
    const finish = (error: Error | undefined, value?: Preflight): void => {
      clearTimeout(timer);
      socket.removeAllListeners('secureConnect');
      socket.on('error', noop);
      socket.destroy();
      if (error !== undefined) reject(error);
      else resolve(value!);
    };
    const timer = setTimeout(() => {
      finish(
        new ConnectTimeoutError(
          `WebTransport connect to ${target} timed out after ${opts.connectTimeoutMs} ms (TLS handshake): the target may be down or overloaded. ` +
            'Check that `gatectl serve --transport webtransport` is running there and that the host and port are right',
        ),
      );
    }, Math.max(1, deadline - Date.now()));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') {
        finish(
          new TransportError(
            `WebTransport connect to ${target} refused: nothing listens there (TCP). Check that \`gatectl serve --transport webtransport\` is running and that the port is right`,
            'GATECTL_TRANSPORT',
            { cause: error },
          ),
        );
      } else if (error.code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS_CERT/.test(error.code)) {
        finish(
          new TransportError(
            `WebTransport connect to ${target} failed: the server certificate was not accepted (${error.message}). ` +
              'For a self-signed target use --insecure, or trust its certificate with --ca FILE',
            'GATECTL_TRANSPORT',
            { cause: error },
          ),
        );
      } else {
        finish(new TransportError(`WebTransport connect to ${target} failed: ${error.message}`, 'GATECTL_TRANSPORT', { cause: error }));
      }
    });
    socket.once('secureConnect', () => {
      if (socket.alpnProtocol !== 'h2') {
        finish(new TransportError(`WebTransport connect to ${target} failed: the server does not speak HTTP/2 (ALPN h2); is it \`gatectl serve --transport webtransport\`?`));
        return;
      }
      if (!pinning) {
        finish(undefined, { pin: undefined });
        return;
      }
      const peer = socket.getPeerX509Certificate();
      if (peer === undefined) {
        finish(new TransportError(`WebTransport connect to ${target} failed: the server sent no certificate`));
        return;
      }
      const days = certificateDays(peer);
      if (days > WEBTRANSPORT_MAX_PINNED_CERTIFICATE_DAYS) {
        finish(
          new TransportError(
            `WebTransport connect to ${target}: the server certificate is valid for ${days.toFixed(1)} days, but WebTransport ` +
              `certificate pinning (used with --insecure and --ca) accepts at most ${WEBTRANSPORT_MAX_PINNED_CERTIFICATE_DAYS}. ` +
              'Let `gatectl serve --transport webtransport` generate its certificate, or issue one valid for 14 days or less ' +
              '(a certificate trusted by the system CA store needs neither flag)',
          ),
        );
        return;
      }
      finish(undefined, { pin: Buffer.from(peer.fingerprint256.replaceAll(':', ''), 'hex') });
    });
  });
}

/** Validity span of a certificate, in days. */
function certificateDays(cert: X509Certificate): number {
  return (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / DAY_MS;
}

/** Creates a WebTransport Dialer (one TLS pre-flight per target, at most 100 handshakes at once). Never rejects. */
export async function createWebTransportDialer(opts: DialerOptions): Promise<Dialer> {
  return new WtDialer(opts);
}

/** The `webtransport` transport: `@fails-components/webtransport`, path `/gate`, HTTP/2 mode here. */
export const webtransportTransport: Transport = {
  name: 'webtransport',
  listen: listenWebTransport,
  createDialer: createWebTransportDialer,
};
