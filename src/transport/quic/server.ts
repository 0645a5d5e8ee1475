/**
 * The QUIC listener: accepts connections on one UDP socket (RFC 9000 §5.2.2, §8.1, §17.2.1).
 *
 * An Initial for an unknown connection id is accepted only when it is a well-formed v1 Initial in a
 * datagram of at least 1200 bytes, fewer than MAX_SERVER_HANDSHAKES_IN_FLIGHT handshakes are in
 * progress and the connection cap is not reached. Address validation (on by default): the first
 * Initial gets a stateless Retry with an authenticated, expiring token bound to the client's IP,
 * the original destination id and the retry source id (retry-token.ts); the connection is created
 * for the Initial that returns it. An unknown version gets Version Negotiation. Every refusal is
 * counted by reason and nothing is thrown out of the socket handler.
 *
 * A connection is handed to `onConnection` once the client opened its stream; one that completes
 * the handshake but opens no stream within QUIC_STREAMLESS_TIMEOUT_MS is closed and counted, and a
 * handshake that does not complete within QUIC_SERVER_HANDSHAKE_TIMEOUT_MS is dropped.
 */
import type dgram from 'node:dgram';
import { isIP } from 'node:net';
import { AddressInUseError, TransportError } from '../../errors.js';
import type { ListenOptions, Listener } from '../types.js';
import { DEFAULT_CLOSE_TIMEOUT_MS, errorText, hostPort, settleWithin } from '../util.js';
import {
  MAX_SERVER_HANDSHAKES_IN_FLIGHT,
  MIN_INITIAL_DATAGRAM_BYTES,
  QUIC_MAX_IDLE_TIMEOUT_MS,
  QUIC_SERVER_HANDSHAKE_TIMEOUT_MS,
  QUIC_STREAMLESS_TIMEOUT_MS,
  quiche,
  serverConfig,
  type QuicheConfig,
} from './config.js';
import { QuicConnection } from './connection.js';
import { QuicEndpoint, bindSocket, type QuicEndpointStats } from './endpoint.js';
import { CID_LEN, cidSlot, type UnroutedLongHeader } from './packet.js';
import { RetryTokens } from './retry-token.js';

/** Application error code sent to a connection that opened no stream in time. */
const STREAMLESS_CLOSE_CODE = 0x10;

/** Options of a QUIC listener beyond the transport-neutral ListenOptions. */
export interface QuicListenOptions extends ListenOptions {
  /** Handshakes in progress at once; default MAX_SERVER_HANDSHAKES_IN_FLIGHT (256). */
  maxHandshakes?: number;
  /** Idle timeout of the listener's connections, in ms; default QUIC_MAX_IDLE_TIMEOUT_MS (60000). */
  idleTimeoutMs?: number;
}

/** A QUIC Listener with its counters. */
export interface QuicListener extends Listener {
  /** Effective `SO_RCVBUF` of the server UDP socket, in bytes (Linux reports twice the value set). */
  readonly recvBufferBytes: number;
  /** The endpoint's counters (packets, handshakes, retries, invalid datagrams by reason, …). */
  stats(): QuicEndpointStats;
}

class QuicListenerImpl extends QuicEndpoint implements QuicListener {
  readonly host: string;
  readonly port: number;
  readonly recvBufferBytes: number;
  private readonly config: QuicheConfig;
  private readonly onConnection: ListenOptions['onConnection'];
  private readonly retry: boolean;
  private readonly maxHandshakes: number;
  private readonly maxConnections: number;
  private readonly tokens = new RetryTokens();
  /** Handshaking connections by the client's original destination id (retransmitted first Initials). */
  private readonly byOdcid = new Map<string, QuicConnection>();
  private readonly exposedConns = new Set<QuicConnection>();
  private handshaking = 0;
  private closePromise: Promise<void> | undefined;

  constructor(socket: dgram.Socket, recvBufferBytes: number, config: QuicheConfig, opts: QuicListenOptions) {
    super(socket, recvBufferBytes, opts.idleTimeoutMs ?? QUIC_MAX_IDLE_TIMEOUT_MS);
    this.host = this.local.host;
    this.port = this.local.port;
    this.recvBufferBytes = recvBufferBytes;
    this.config = config;
    this.onConnection = opts.onConnection;
    this.retry = opts.retry ?? true;
    this.maxHandshakes = opts.maxHandshakes ?? MAX_SERVER_HANDSHAKES_IN_FLIGHT;
    this.maxConnections = opts.maxConnections ?? Infinity;
  }

  protected routeUnknownDcid(msg: Buffer, header: UnroutedLongHeader): QuicConnection | undefined {
    if (this.byOdcid.size === 0) return undefined;
    return this.byOdcid.get(msg.toString('latin1', header.dcidOffset, header.dcidOffset + header.dcidLength));
  }

  protected onUnrouted(msg: Buffer, rinfo: dgram.RemoteInfo, h: UnroutedLongHeader): void {
    if (this.closePromise !== undefined) return this.drop('listener_closing');
    if (h.version === 0) return this.drop('unknown_connection');
    if (!quiche.versionIsSupported(h.version)) {
      this.drop('unknown_version');
      // RFC 9000 §6.1: answer only datagrams large enough for an Initial (no amplification).
      if (msg.byteLength >= MIN_INITIAL_DATAGRAM_BYTES) this.sendVersionNegotiation(msg, rinfo);
      return;
    }
    if (h.type !== 0) return this.drop('unknown_connection');
    if (msg.byteLength < MIN_INITIAL_DATAGRAM_BYTES) return this.drop('short_initial');
    let header: ReturnType<typeof quiche.Header.fromSlice>;
    try {
      header = quiche.Header.fromSlice(msg, CID_LEN);
    } catch {
      return this.drop('bad_header');
    }
    if (this.handshaking >= this.maxHandshakes) {
      this.counters.handshakes_refused++;
      return this.drop('handshake_cap');
    }
    if (this.bySlot.size >= this.maxConnections) {
      this.counters.handshakes_refused++;
      return this.drop('connection_cap');
    }
    let slot: number;
    let scid: Buffer;
    let odcid: Uint8Array | undefined;
    if (this.retry) {
      const token = header.token;
      if (token === undefined || token.byteLength === 0) {
        this.sendRetry(header, rinfo);
        return;
      }
      const checked = this.tokens.validate(token, header.dcid, rinfo.address, Date.now());
      if (typeof checked === 'string') return this.drop(checked);
      scid = Buffer.from(header.dcid);
      slot = cidSlot(scid, 0);
      // A live connection already has this id: a replayed token.
      if (this.bySlot.has(slot)) return this.drop('token_dcid_mismatch');
      odcid = checked;
    } else {
      ({ slot, cid: scid } = this.allocateCid());
    }
    let native;
    try {
      native = quiche.Connection.accept(scid, odcid ?? null, this.local, { host: rinfo.address, port: rinfo.port }, this.config);
    } catch {
      return this.drop('bad_header');
    }
    const conn = new QuicConnection(this, native, 'server', slot, scid, { host: rinfo.address, port: rinfo.port }, hostPort(rinfo.address, rinfo.port));
    this.register(conn);
    if (!this.retry) {
      conn.odcidKey = Buffer.from(header.dcid).toString('latin1');
      this.byOdcid.set(conn.odcidKey, conn);
    }
    conn.handshakePending = true;
    this.handshaking++;
    this.counters.handshakes_started++;
    if (!conn.receive(msg, rinfo.address, rinfo.port)) this.counters.recv_errors++;
  }

  private sendRetry(header: ReturnType<typeof quiche.Header.fromSlice>, rinfo: dgram.RemoteInfo): void {
    // The retry source id is a fresh gatectl id; no state is kept until the client returns the token.
    const { cid } = this.allocateCid();
    const token = this.tokens.mint(header.dcid, cid, rinfo.address, Date.now());
    this.sendRaw((out) => {
      try {
        return quiche.retry(header.scid, header.dcid, cid, token, header.version, out);
      } catch {
        return 0;
      }
    }, rinfo.address, rinfo.port);
    this.counters.retries_sent++;
  }

  private sendVersionNegotiation(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    let header: ReturnType<typeof quiche.Header.fromSlice>;
    try {
      header = quiche.Header.fromSlice(msg, CID_LEN);
    } catch {
      return;
    }
    this.sendRaw((out) => {
      try {
        return quiche.negotiateVersion(header.scid, header.dcid, out);
      } catch {
        return 0;
      }
    }, rinfo.address, rinfo.port);
    this.counters.version_negotiations_sent++;
  }

  onEstablished(conn: QuicConnection): void {
    this.settleHandshake(conn, true);
    this.forgetOdcid(conn);
  }

  /** Counts the end of `conn`'s handshake once: completed, or failed (closed, timed out, dropped). */
  private settleHandshake(conn: QuicConnection, completed: boolean): void {
    if (!conn.handshakePending) return;
    conn.handshakePending = false;
    this.handshaking--;
    if (completed) this.counters.handshakes_completed++;
    else this.counters.handshakes_failed++;
  }

  onStreamOpened(conn: QuicConnection): void {
    if (this.closePromise !== undefined) {
      void conn.close(0, 'server closing');
      return;
    }
    this.exposedConns.add(conn);
    this.onConnection(conn);
  }

  onEnded(conn: QuicConnection): void {
    this.dropState(conn);
  }

  /** Forgets `conn` in the listener's own tables (ended, or dropped from the connection table). */
  private dropState(conn: QuicConnection): void {
    this.settleHandshake(conn, false);
    this.exposedConns.delete(conn);
    this.forgetOdcid(conn);
  }

  private forgetOdcid(conn: QuicConnection): void {
    if (conn.odcidKey !== undefined) {
      if (this.byOdcid.get(conn.odcidKey) === conn) this.byOdcid.delete(conn.odcidKey);
      conn.odcidKey = undefined;
    }
  }

  protected forget(conn: QuicConnection): void {
    this.dropState(conn);
  }

  protected sweepConnection(conn: QuicConnection, now: number): boolean {
    if (!conn.established) {
      if (now - conn.createdMs > QUIC_SERVER_HANDSHAKE_TIMEOUT_MS) {
        this.unregister(conn, new TransportError(`QUIC handshake from ${conn.remoteAddress} timed out`));
        return true;
      }
      return false;
    }
    if (!conn.exposed && !conn.isClosing && now - conn.establishedMs > QUIC_STREAMLESS_TIMEOUT_MS) {
      this.counters.streamless_closes++;
      void conn.close(STREAMLESS_CLOSE_CODE, 'no stream opened');
      return true;
    }
    return false;
  }

  /**
   * Stops accepting and closes every connection concurrently (application code 0, "server closing"),
   * then closes the UDP socket. Resolves when done or after `timeoutMs` (default 2000 ms), whichever
   * is first; never rejects. Every accepted Connection has had `handlers.close` by then.
   */
  close(timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    if (this.closePromise !== undefined) return this.closePromise;
    const started = Date.now();
    const closes: Promise<void>[] = [];
    for (const conn of this.connections()) closes.push(conn.close(0, 'server closing', timeoutMs));
    this.closePromise = (async () => {
      await settleWithin(Promise.all(closes), timeoutMs);
      await settleWithin(this.shutdown(), Math.max(0, timeoutMs - (Date.now() - started)));
    })();
    return this.closePromise;
  }
}

/**
 * Binds a QUIC server on `opts.host:opts.port` (UDP) and accepts connections; `onConnection` fires
 * once a connection's client stream is open (in practice when the client's first bytes arrive).
 *
 * @throws {AddressInUseError} when the UDP port is taken.
 * @throws {TransportError} when the address cannot be bound or quiche refuses the certificate or key.
 */
export async function listenQuic(opts: QuicListenOptions): Promise<QuicListener> {
  const where = hostPort(opts.host, opts.port);
  const config = serverConfig(opts.certificate.certPem, opts.certificate.keyPem, opts.idleTimeoutMs ?? QUIC_MAX_IDLE_TIMEOUT_MS);
  let bound: Awaited<ReturnType<typeof bindSocket>>;
  try {
    bound = await bindSocket(isIP(opts.host) === 6 ? 'udp6' : 'udp4', opts.host, opts.port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new AddressInUseError(
        `cannot listen on ${where} (UDP): the address is already in use. Stop the other process, pick another port, or use --port 0 for a free one`,
        { cause: error },
      );
    }
    throw new TransportError(`cannot listen on ${where} (UDP): ${errorText(error)}`, 'GATECTL_TRANSPORT', { cause: error });
  }
  return new QuicListenerImpl(bound.socket, bound.recvBufferBytes, config, opts);
}
