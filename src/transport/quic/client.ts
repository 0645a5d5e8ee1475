/**
 * The QUIC dialer: every connection of a load run to one target over one UDP socket connected to
 * that target (a connected socket sends without an address conversion per datagram), at most
 * MAX_HANDSHAKES_IN_FLIGHT handshakes at once.
 *
 * TLS: `--insecure` skips verification; otherwise a host name is verified by BoringSSL (chain and
 * name), and an IP literal by verify.ts once the handshake is done (chain, dates, IP SAN). A dial
 * resolves once the handshake completed and the certificate passed; the stream (id 0) is opened
 * implicitly by the first write, as QUIC does.
 */
import type dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Semaphore } from 'async-mutex';
import { InvalidInputError, TransportError } from '../../errors.js';
import type { Connection, Dialer, DialerOptions } from '../types.js';
import { DEFAULT_CLOSE_TIMEOUT_MS, errorText, hostPort, sumTransportStats } from '../util.js';
import { MAX_HANDSHAKES_IN_FLIGHT, QUIC_MAX_IDLE_TIMEOUT_MS, clientConfig, quiche, type QuicheConfig } from './config.js';
import { QuicConnection } from './connection.js';
import { QuicEndpoint, bindSocket, emptyStats, type QuicEndpointStats } from './endpoint.js';
import { IpVerifier, dialFailure, dialTimeout, trustAnchors } from './verify.js';

/** A QUIC Dialer with its counters. */
export interface QuicDialer extends Dialer {
  /** Effective `SO_RCVBUF` of the shared client UDP socket, in bytes. */
  readonly recvBufferBytes: number;
  /** The endpoint's counters (packets, handshakes, invalid datagrams by reason, …). */
  stats(): QuicEndpointStats;
}

/** A dial waiting for its handshake. */
interface DialWaiter {
  target: string;
  /** IP literal to verify the certificate for, when gatectl verifies it (see verify.ts). */
  verifyIp: string | undefined;
  timer: NodeJS.Timeout;
  timedOut: boolean;
  resolve(conn: QuicConnection): void;
  reject(error: Error): void;
}

/** The settings every endpoint of one dialer shares. */
interface DialerShared {
  readonly opts: DialerOptions;
  readonly idleTimeoutMs: number;
  readonly hostConfig: QuicheConfig;
  /** Config for IP-literal targets when verifying: native verification may fail softly. */
  readonly ipConfig: QuicheConfig;
  ipVerifier: IpVerifier | undefined;
}

/** The connections of one dialer to one target address, over one UDP socket connected to it. */
class TargetEndpoint extends QuicEndpoint {
  private readonly shared: DialerShared;
  private readonly peer: { host: string; port: number };
  private readonly waiters = new Map<QuicConnection, DialWaiter>();
  /** Established connections not yet ended. */
  readonly open = new Set<QuicConnection>();
  /** Effective `SO_RCVBUF` of this endpoint's socket, in bytes. */
  readonly recvBufferBytes: number;

  constructor(socket: dgram.Socket, recvBufferBytes: number, peer: { host: string; port: number }, shared: DialerShared) {
    super(socket, recvBufferBytes, shared.idleTimeoutMs, true);
    this.recvBufferBytes = recvBufferBytes;
    this.peer = peer;
    this.shared = shared;
  }

  /** Starts a handshake with the target; resolves once it completed and the certificate passed. */
  connect(host: string, target: string): Promise<QuicConnection> {
    const { opts } = this.shared;
    const verifyIp = opts.insecure !== true && isIP(host) !== 0 ? host : undefined;
    const { slot, cid } = this.allocateCid();
    let native;
    try {
      native = quiche.Connection.connect(
        isIP(host) === 0 ? host : null,
        cid,
        this.local,
        this.peer,
        verifyIp !== undefined ? this.shared.ipConfig : this.shared.hostConfig,
      );
    } catch (error) {
      return Promise.reject(new TransportError(`QUIC connect to ${target} failed: ${errorText(error)}`, 'GATECTL_TRANSPORT', { cause: error }));
    }
    const conn = new QuicConnection(this, native, 'client', slot, cid, { ...this.peer }, target);
    this.register(conn);
    this.counters.handshakes_started++;
    return new Promise<QuicConnection>((resolve, reject) => {
      const waiter: DialWaiter = {
        target,
        verifyIp,
        timedOut: false,
        resolve,
        reject,
        timer: setTimeout(() => {
          waiter.timedOut = true;
          this.unregister(conn, dialTimeout(target, opts.connectTimeoutMs));
        }, opts.connectTimeoutMs),
      };
      this.waiters.set(conn, waiter);
      this.markDirty(conn);
    });
  }

  onEstablished(conn: QuicConnection): void {
    const waiter = this.waiters.get(conn);
    if (waiter === undefined) return;
    if (waiter.verifyIp !== undefined) {
      this.shared.ipVerifier ??= new IpVerifier(trustAnchors(this.shared.opts.ca));
      const alert = this.shared.ipVerifier.verify(conn.native.peerCertChain(), waiter.verifyIp);
      if (alert !== undefined) {
        // As BoringSSL would: close with the TLS alert; the dial rejects when the connection ends.
        try {
          conn.native.close(false, alert, Buffer.alloc(0));
        } catch {
          // already closing
        }
        this.markDirty(conn);
        return;
      }
    }
    this.waiters.delete(conn);
    clearTimeout(waiter.timer);
    this.counters.handshakes_completed++;
    this.open.add(conn);
    conn.expose();
    waiter.resolve(conn);
  }

  onStreamOpened(): void {
    // Client connections open their stream themselves.
  }

  onEnded(conn: QuicConnection): void {
    this.open.delete(conn);
    const waiter = this.waiters.get(conn);
    if (waiter === undefined) return;
    this.waiters.delete(conn);
    clearTimeout(waiter.timer);
    this.counters.handshakes_failed++;
    const n = conn.native;
    const timeoutMs = this.shared.opts.connectTimeoutMs;
    waiter.reject(
      waiter.timedOut ? dialTimeout(waiter.target, timeoutMs) : dialFailure(waiter.target, n.localError(), n.peerError(), n.isTimedOut(), timeoutMs),
    );
  }

  /** Closes the open connections (concurrently, 2000 ms at most), then the socket. Never rejects. */
  async close(): Promise<void> {
    await Promise.all([...this.open].map((c) => c.close(0, 'dialer closed', DEFAULT_CLOSE_TIMEOUT_MS)));
    await this.shutdown();
  }
}

class QuicDialerImpl implements QuicDialer {
  private readonly shared: DialerShared;
  private readonly handshakes = new Semaphore(MAX_HANDSHAKES_IN_FLIGHT);
  /** One endpoint (one connected socket) per target address, created on the first dial to it. */
  private readonly endpoints = new Map<string, Promise<TargetEndpoint>>();
  /** The endpoints whose socket is open, in creation order. */
  private readonly settled: TargetEndpoint[] = [];
  private closed = false;

  constructor(opts: DialerOptions) {
    const idleTimeoutMs = opts.idleTimeoutMs ?? QUIC_MAX_IDLE_TIMEOUT_MS;
    const verify = opts.insecure !== true;
    const hostConfig = clientConfig(verify, false, opts.ca, idleTimeoutMs, opts.receiveWindowBytes);
    this.shared = {
      opts,
      idleTimeoutMs,
      hostConfig,
      ipConfig: verify ? clientConfig(true, true, opts.ca, idleTimeoutMs, opts.receiveWindowBytes) : hostConfig,
      ipVerifier: undefined,
    };
  }

  /** Effective `SO_RCVBUF` of the first target's socket, in bytes (0 before the first dial). */
  get recvBufferBytes(): number {
    return this.settled[0]?.recvBufferBytes ?? 0;
  }

  /** The counters of every target endpoint, added up. */
  stats(): QuicEndpointStats {
    return (sumTransportStats(this.settled.map((e) => e.stats())) as QuicEndpointStats | null) ?? emptyStats();
  }

  private endpointFor(ip: string, port: number, target: string): Promise<TargetEndpoint> {
    const key = hostPort(ip, port);
    let endpoint = this.endpoints.get(key);
    if (endpoint === undefined) {
      const family = isIP(ip) === 6 ? 'udp6' : 'udp4';
      endpoint = bindSocket(family, family === 'udp6' ? '::' : '0.0.0.0', 0, { host: ip, port }).then(
        ({ socket, recvBufferBytes }) => {
          const e = new TargetEndpoint(socket, recvBufferBytes, { host: ip, port }, this.shared);
          this.settled.push(e);
          return e;
        },
        (error: unknown) => {
          this.endpoints.delete(key);
          throw new TransportError(`QUIC connect to ${target} failed: cannot open a UDP socket to it: ${errorText(error)}`, 'GATECTL_TRANSPORT', {
            cause: error,
          });
        },
      );
      this.endpoints.set(key, endpoint);
    }
    return endpoint;
  }

  /**
   * Connects to `host:port`. At most MAX_HANDSHAKES_IN_FLIGHT handshakes run at once over the whole
   * dialer; `connectTimeoutMs` applies to the handshake itself, so with a queue the call can take
   * longer than that in total.
   *
   * @throws {ConnectTimeoutError} when the handshake did not finish within `connectTimeoutMs`.
   * @throws {TransportError} when the dialer is closed, the host does not resolve, no UDP socket can
   *   be opened, TLS verification or ALPN fails, or the connection fails otherwise.
   */
  async dial(host: string, port: number): Promise<Connection> {
    const target = hostPort(host, port);
    if (this.closed) throw new TransportError(`dial ${target}: the dialer is closed`);
    let ip = host;
    if (isIP(host) === 0) {
      try {
        ip = (await lookup(host)).address;
      } catch (error) {
        throw new TransportError(`QUIC connect to ${target} failed: cannot resolve ${host}: ${errorText(error)}`, 'GATECTL_TRANSPORT', {
          cause: error,
        });
      }
    }
    const endpoint = await this.endpointFor(ip, port, target);
    return this.handshakes.runExclusive(() => {
      if (this.closed) return Promise.reject(new TransportError(`dial ${target}: the dialer is closed`));
      return endpoint.connect(host, target);
    });
  }

  /**
   * Closes any connection still open (concurrently, 2000 ms at most) and the sockets.
   * Never rejects; later `dial()` calls reject with TransportError.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const endpoints = await Promise.all([...this.endpoints.values()].map((p) => p.catch(() => undefined)));
    await Promise.all(endpoints.map((e) => e?.close()));
  }
}

/**
 * Creates a QUIC Dialer. Each target address gets one UDP socket (4 MiB receive buffer) connected
 * to it on the first dial, shared by every connection to that target.
 *
 * @throws {InvalidInputError} when `idleTimeoutMs` is below 300 ms.
 * @throws {TransportError} when quiche refuses the `ca` PEM.
 */
export async function createQuicDialer(opts: DialerOptions): Promise<QuicDialer> {
  if (opts.idleTimeoutMs !== undefined && !(Number.isFinite(opts.idleTimeoutMs) && opts.idleTimeoutMs >= 300)) {
    throw new InvalidInputError(`QUIC idle timeout ${opts.idleTimeoutMs} ms is too short: give at least 300 ms`);
  }
  return new QuicDialerImpl(opts);
}
