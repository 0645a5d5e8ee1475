/**
 * The QUIC dialer: every connection of a load run over one shared UDP socket (dual-stack `::`, or
 * `0.0.0.0` where IPv6 is unavailable), at most MAX_HANDSHAKES_IN_FLIGHT handshakes at once.
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
import { DEFAULT_CLOSE_TIMEOUT_MS, errorText, hostPort } from '../util.js';
import { MAX_HANDSHAKES_IN_FLIGHT, QUIC_MAX_IDLE_TIMEOUT_MS, clientConfig, quiche, type QuicheConfig } from './config.js';
import { QuicConnection } from './connection.js';
import { QuicEndpoint, bindSocket, type QuicEndpointStats } from './endpoint.js';
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

class QuicDialerImpl extends QuicEndpoint implements QuicDialer {
  readonly recvBufferBytes: number;
  private readonly opts: DialerOptions;
  private readonly dualStack: boolean;
  private readonly hostConfig: QuicheConfig;
  /** Config for IP-literal targets when verifying: native verification may fail softly. */
  private readonly ipConfig: QuicheConfig;
  private ipVerifier: IpVerifier | undefined;
  private readonly handshakes = new Semaphore(MAX_HANDSHAKES_IN_FLIGHT);
  private readonly waiters = new Map<QuicConnection, DialWaiter>();
  private readonly open = new Set<QuicConnection>();
  private closed = false;

  constructor(socket: dgram.Socket, recvBufferBytes: number, dualStack: boolean, opts: DialerOptions) {
    super(socket, recvBufferBytes, opts.idleTimeoutMs ?? QUIC_MAX_IDLE_TIMEOUT_MS);
    this.recvBufferBytes = recvBufferBytes;
    this.dualStack = dualStack;
    this.opts = opts;
    const verify = opts.insecure !== true;
    this.hostConfig = clientConfig(verify, false, opts.ca, this.idleTimeoutMs);
    this.ipConfig = verify ? clientConfig(true, true, opts.ca, this.idleTimeoutMs) : this.hostConfig;
  }

  /**
   * Connects to `host:port` over the shared UDP socket. At most MAX_HANDSHAKES_IN_FLIGHT handshakes
   * run at once; `connectTimeoutMs` applies to the handshake itself, so with a queue the call can
   * take longer than that in total.
   *
   * @throws {ConnectTimeoutError} when the handshake did not finish within `connectTimeoutMs`.
   * @throws {TransportError} when the dialer is closed, the host does not resolve, TLS verification
   *   or ALPN fails, or the connection fails otherwise.
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
    return this.handshakes.runExclusive(() => this.connect(host, ip, port, target));
  }

  private connect(host: string, ip: string, port: number, target: string): Promise<QuicConnection> {
    if (this.closed) return Promise.reject(new TransportError(`dial ${target}: the dialer is closed`));
    const family = isIP(ip);
    if (family === 6 && !this.dualStack) {
      return Promise.reject(new TransportError(`QUIC connect to ${target} failed: this machine has no IPv6 UDP socket`));
    }
    // A dual-stack socket reaches IPv4 peers at their IPv4-mapped address.
    const peerHost = family === 4 && this.dualStack ? `::ffff:${ip}` : ip;
    const peer = { host: peerHost, port };
    const verifyIp = this.opts.insecure !== true && isIP(host) !== 0 ? host : undefined;
    const { slot, cid } = this.allocateCid();
    let native;
    try {
      native = quiche.Connection.connect(
        isIP(host) === 0 ? host : null,
        cid,
        this.local,
        peer,
        verifyIp !== undefined ? this.ipConfig : this.hostConfig,
      );
    } catch (error) {
      return Promise.reject(new TransportError(`QUIC connect to ${target} failed: ${errorText(error)}`, 'GATECTL_TRANSPORT', { cause: error }));
    }
    const conn = new QuicConnection(this, native, 'client', slot, cid, peer, target);
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
          this.unregister(conn, dialTimeout(target, this.opts.connectTimeoutMs));
        }, this.opts.connectTimeoutMs),
      };
      this.waiters.set(conn, waiter);
      this.markDirty(conn);
    });
  }

  onEstablished(conn: QuicConnection): void {
    const waiter = this.waiters.get(conn);
    if (waiter === undefined) return;
    if (waiter.verifyIp !== undefined) {
      this.ipVerifier ??= new IpVerifier(trustAnchors(this.opts.ca));
      const alert = this.ipVerifier.verify(conn.native.peerCertChain(), waiter.verifyIp);
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
    waiter.reject(
      waiter.timedOut
        ? dialTimeout(waiter.target, this.opts.connectTimeoutMs)
        : dialFailure(waiter.target, n.localError(), n.peerError(), n.isTimedOut(), this.opts.connectTimeoutMs),
    );
  }

  /**
   * Closes any connection still open (concurrently, 2000 ms at most) and the shared UDP socket.
   * Never rejects; later `dial()` calls reject with TransportError.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.open].map((c) => c.close(0, 'dialer closed', DEFAULT_CLOSE_TIMEOUT_MS)));
    await this.shutdown();
  }
}

/**
 * Creates a QUIC Dialer with one shared UDP socket (dual-stack `::`, or `0.0.0.0` where IPv6 is
 * unavailable) and a 4 MiB receive buffer.
 *
 * @throws {InvalidInputError} when `idleTimeoutMs` is below 300 ms.
 * @throws {TransportError} when no UDP socket can be bound, or quiche refuses the `ca` PEM.
 */
export async function createQuicDialer(opts: DialerOptions): Promise<QuicDialer> {
  if (opts.idleTimeoutMs !== undefined && !(Number.isFinite(opts.idleTimeoutMs) && opts.idleTimeoutMs >= 300)) {
    throw new InvalidInputError(`QUIC idle timeout ${opts.idleTimeoutMs} ms is too short: give at least 300 ms`);
  }
  let bound: Awaited<ReturnType<typeof bindSocket>>;
  let dualStack = true;
  try {
    bound = await bindSocket('udp6', '::', 0);
  } catch {
    dualStack = false;
    try {
      bound = await bindSocket('udp4', '0.0.0.0', 0);
    } catch (error) {
      throw new TransportError(`cannot bind a local UDP socket for QUIC: ${errorText(error)}`, 'GATECTL_TRANSPORT', {
        cause: error,
      });
    }
  }
  try {
    return new QuicDialerImpl(bound.socket, bound.recvBufferBytes, dualStack, opts);
  } catch (error) {
    bound.socket.close();
    throw error;
  }
}
