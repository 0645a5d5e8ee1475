/**
 * The transport boundary (DESIGN §2). The gateway and the load clients see only these types, never a
 * QUIC or TLS library. A Connection carries exactly one bidirectional byte stream, opened by the
 * client, plus `close(code, reason)`.
 */

/**
 * `code` of the TransportError a connection ends with (`ConnectionHandlers.close`) when the peer sent
 * nothing for the idle timeout (QUIC: no packet, keep-alive PINGs unanswered; RFC 9000 §10.1).
 */
export const PEER_IDLE_TIMEOUT_CODE = 'GATECTL_IDLE_TIMEOUT';

/** Name of a transport implementation. */
export type TransportName = 'quic' | 'tcp' | 'webtransport';

/** PEM material for a server, and the SHA-256 fingerprint of the certificate (hex, colon-separated). */
export interface CertificateMaterial {
  certPem: string;
  keyPem: string;
  /** SHA-256 of the DER certificate, upper-case hex pairs joined by ':' (as `openssl x509 -fingerprint -sha256`). */
  fingerprintSha256: string;
}

/** Callbacks for one connection. Set once with `Connection.setHandlers`. */
export interface ConnectionHandlers {
  /** A chunk of bytes from the peer, in order. Chunks are not frame-aligned. */
  data(chunk: Uint8Array): void;
  /** The connection ended (peer close, error, or local close). Called exactly once. */
  close(error?: Error): void;
}

/** One client connection with its single bidirectional stream. */
export interface Connection {
  /** `host:port` of the peer. */
  readonly remoteAddress: string;
  /**
   * Installs the handlers. Bytes that arrived before this call are buffered and delivered on it.
   * Must be called once.
   */
  setHandlers(handlers: ConnectionHandlers): void;
  /**
   * Stops reading from the peer for good (fault injection: a slow consumer whose receive window
   * fills, so the peer's writes stall). Optional: transports without it cannot play that fault.
   */
  stopReading?(): void;
  /** Undoes `stopReading()` (QUIC): reads what arrived meanwhile, which reopens the peer's window. */
  resumeReading?(): void;
  /**
   * Writes bytes to the stream. Resolves when the transport has accepted them (stream writer
   * resolved / socket write callback). Rejects with TransportError when the connection is closed.
   */
  write(data: Uint8Array): Promise<void>;
  /**
   * Closes the connection with an application error code (0 = normal) and a reason text.
   * Resolves when closed or after `timeoutMs` (default 2000 ms), whichever comes first; never rejects.
   */
  close(code?: number, reason?: string, timeoutMs?: number): Promise<void>;
}

/** Options for `listen`. */
export interface ListenOptions {
  /** Address to bind, e.g. `127.0.0.1` or `::1`. */
  host: string;
  /** Port to bind; 0 picks a free one. */
  port: number;
  /** Server certificate and key. */
  certificate: CertificateMaterial;
  /** Called for every accepted connection once its stream is open. */
  onConnection(conn: Connection): void;
  /**
   * Most connections held at once, handshakes and connections without a stream included (QUIC);
   * new ones beyond it are refused and counted. Default: no limit.
   */
  maxConnections?: number;
  /**
   * QUIC: validate a new client's address with a stateless Retry (RFC 9000 §8.1) before keeping
   * state for it. Default true; other transports ignore it.
   */
  retry?: boolean;
}

/** Counters of a transport endpoint (QUIC: packets, bytes, handshakes, invalid datagrams by reason). */
export type TransportStats = Record<string, number | Record<string, number>>;

/** A bound server. */
export interface Listener {
  /** Bound host. */
  readonly host: string;
  /** Bound port (the real one when 0 was asked). */
  readonly port: number;
  /** Stops accepting; existing connections are closed concurrently, waiting at most `timeoutMs` (ms). */
  close(timeoutMs?: number): Promise<void>;
  /** The endpoint's counters, where the transport keeps them (QUIC). */
  stats?(): TransportStats;
}

/** Options for a Dialer (the client side). */
export interface DialerOptions {
  /** Accept any server certificate (self-signed test targets). */
  insecure?: boolean;
  /** PEM CA certificate(s) to trust instead of the system store. */
  ca?: string;
  /** Connect timeout per connection, in ms. */
  connectTimeoutMs: number;
  /**
   * QUIC: a connection whose peer sent nothing for this long (ms) is declared lost; keep-alive PINGs
   * go out at a third of it (at most every 15 s). Default 60000 ms.
   */
  idleTimeoutMs?: number;
  /**
   * QUIC: the stream receive window the client advertises and keeps, bytes (default 1 MiB, which
   * quiche may grow). A small one makes the server's writes stall as soon as a slow reader falls
   * that far behind (the `--slow-clients` fault, issue 14). TCP ignores it.
   */
  receiveWindowBytes?: number;
}

/**
 * The client side. One Dialer may own shared resources (QUIC: one shared client UDP socket), so a
 * load run creates one Dialer and dials all its connections through it.
 */
export interface Dialer {
  /**
   * Opens a connection to host:port and its bidirectional stream.
   * Rejects with ConnectTimeoutError after `connectTimeoutMs`, TransportError otherwise.
   */
  dial(host: string, port: number): Promise<Connection>;
  /** Releases shared resources; call after all connections are closed. */
  close(): Promise<void>;
  /** The endpoint's counters, where the transport keeps them (QUIC). */
  stats?(): TransportStats;
}

/** A transport implementation. */
export interface Transport {
  readonly name: TransportName;
  /** Binds and starts accepting. Rejects with AddressInUseError when the port is taken. */
  listen(opts: ListenOptions): Promise<Listener>;
  /** Creates a dialer. */
  createDialer(opts: DialerOptions): Promise<Dialer>;
}
