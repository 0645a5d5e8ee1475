/**
 * What a gatectl QUIC listener and dialer share: one `node:dgram` socket, the connection table
 * (routed by the slot in gatectl's connection ids, see packet.ts), one deadline heap and one timer
 * for all connections, one send pass per event-loop turn, a 1 s housekeeping sweep, and the
 * endpoint's counters.
 *
 * The application owns the socket, the timers and the loop, which is how quiche is meant to be
 * driven (cloudflare/quiche `apps/src/bin/quiche-server.rs`); this is the part of the transport whose
 * cost decides the load generator's own overhead (issue 13).
 *
 * Send pass: the connections that received, were written to or timed out in this turn are marked
 * dirty; one `setImmediate` pass then drains `quiche.send` of each into slices of a 256 KiB slab
 * (a slice is never reused, so a datagram the kernel could not take at once and libuv queued stays
 * intact) and hands each datagram to the socket. Acks therefore ride with the responses written in
 * the same turn.
 */
import dgram from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { randomFillSync } from 'node:crypto';
import { TransportError } from '../../errors.js';
import { MAX_DATAGRAM_SIZE, QUIC_KEEP_ALIVE_INTERVAL_MS, UDP_RECV_BUFFER_BYTES, type QuicheHostPort } from './config.js';
import type { ConnectionOwner, QuicConnection } from './connection.js';
import { DeadlineHeap } from './deadline-heap.js';
import { CID_LEN, DROP_REASONS, cidEquals, cidSlot, classify, type DropReason, type UnroutedLongHeader } from './packet.js';

/** Counters of one QUIC endpoint (listener or dialer). Packets and bytes are UDP datagrams. */
export interface QuicEndpointStats extends Record<string, number | Record<string, number>> {
  /** Datagrams received / sent. */
  packets_in: number;
  packets_out: number;
  /** UDP payload bytes received / sent. */
  bytes_in: number;
  bytes_out: number;
  /** Connections open now (handshaking, established or draining). */
  connections: number;
  /** Handshakes started (server: Initials accepted; client: dials sent). */
  handshakes_started: number;
  /** Handshakes that completed. */
  handshakes_completed: number;
  /** Handshakes that ended before completing (TLS failure, timeout, closed). */
  handshakes_failed: number;
  /** Server: Initials refused by the handshake or connection cap (also in invalid_datagrams). */
  handshakes_refused: number;
  /** Server: stateless Retry packets sent. */
  retries_sent: number;
  /** Server: Version Negotiation packets sent. */
  version_negotiations_sent: number;
  /** Server: established connections closed because they opened no stream in time. */
  streamless_closes: number;
  /** Datagrams quiche refused inside a known connection (decryption, protocol violation). */
  recv_errors: number;
  /** Datagrams dropped before reaching a connection, by reason. */
  invalid_datagrams: Record<DropReason, number>;
  /** Socket errors (send failures the kernel reported). */
  socket_errors: number;
  /** Packets quiche declared lost / retransmitted, over closed and open connections. */
  lost_packets: number;
  retransmitted_packets: number;
  /** Effective `SO_RCVBUF` of the socket, in bytes (Linux reports twice the value set). */
  recv_buffer_bytes: number;
}

/** Zeroed counters. */
export function emptyStats(): QuicEndpointStats {
  const invalid = {} as Record<DropReason, number>;
  for (const reason of DROP_REASONS) invalid[reason] = 0;
  return {
    packets_in: 0,
    packets_out: 0,
    bytes_in: 0,
    bytes_out: 0,
    connections: 0,
    handshakes_started: 0,
    handshakes_completed: 0,
    handshakes_failed: 0,
    handshakes_refused: 0,
    retries_sent: 0,
    version_negotiations_sent: 0,
    streamless_closes: 0,
    recv_errors: 0,
    invalid_datagrams: invalid,
    socket_errors: 0,
    lost_packets: 0,
    retransmitted_packets: 0,
    recv_buffer_bytes: 0,
  };
}

const SLAB_BYTES = 256 * 1024;
/** How often stats() re-sums the open connections' loss counters, in ms. */
const OPEN_LOSS_REFRESH_MS = 1_000;
/** Longest interval between housekeeping sweeps, in ms. */
const MAX_SWEEP_INTERVAL_MS = 1_000;
/** How long closing the socket waits for datagrams libuv still queues, in ms. */
const SOCKET_CLOSE_GRACE_MS = 200;
/**
 * A connection timer firing later than this (ms) marks an event-loop stall: its timeouts wait one
 * turn, so datagrams that arrived during the stall are read before quiche judges idleness or loss.
 */
const LATE_TIMER_MS = 50;

/**
 * `dgram`'s address lookup, answering IP literals synchronously: dgram calls it for every send on an
 * unconnected socket, and the default (`dns.lookup`) defers even an IP literal to the next tick.
 */
function fastLookup(
  address: string,
  family: unknown,
  callback: (error: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const kind = isIP(address);
  if (kind !== 0) {
    callback(null, address, kind);
    return;
  }
  dnsLookup(address, family as number, callback);
}

/**
 * Creates and binds a UDP socket with a 4 MiB receive and send buffer, connected to `connectTo` when
 * given. Returns the socket and the effective receive buffer size.
 *
 * @throws the bind error (the caller words it).
 */
export async function bindSocket(
  type: 'udp4' | 'udp6',
  host: string,
  port: number,
  connectTo?: { host: string; port: number },
): Promise<{ socket: dgram.Socket; recvBufferBytes: number }> {
  const socket = dgram.createSocket({ type, lookup: fastLookup as never, ipv6Only: false });
  const step = (start: (done: () => void) => void): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        socket.close();
        reject(error);
      };
      socket.once('error', onError);
      start(() => {
        socket.off('error', onError);
        resolve();
      });
    });
  await step((done) => socket.bind({ address: host, port, exclusive: true }, done));
  if (connectTo !== undefined) await step((done) => socket.connect(connectTo.port, connectTo.host, done));
  let recvBufferBytes = 0;
  try {
    socket.setRecvBufferSize(UDP_RECV_BUFFER_BYTES);
    socket.setSendBufferSize(UDP_RECV_BUFFER_BYTES);
  } catch {
    // Not fatal: the kernel refused (e.g. a sandbox); the default buffers are used.
  }
  try {
    recvBufferBytes = socket.getRecvBufferSize();
  } catch {
    recvBufferBytes = 0;
  }
  return { socket, recvBufferBytes };
}

/** Base of QuicListener and QuicDialer: socket, routing, timers, send pass, sweep, counters. */
export abstract class QuicEndpoint implements ConnectionOwner {
  readonly local: QuicheHostPort;
  readonly idleTimeoutMs: number;
  /** A connection that sent nothing for this long (ms) sends a PING: a third of the idle timeout, at most 15 s. */
  readonly keepAliveMs: number;
  readonly scratch: Buffer = Buffer.allocUnsafe(64 * 1024);
  protected readonly socket: dgram.Socket;
  private readonly connected: boolean;
  protected readonly counters: QuicEndpointStats = emptyStats();
  /** Connection table: slot → connection. */
  protected readonly bySlot = new Map<number, QuicConnection>();
  private nextSlot: number;
  private readonly heap = new DeadlineHeap<QuicConnection>();
  private readonly dirty: QuicConnection[] = [];
  private flushScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  /** the due timeouts, put off one turn because the timer fired late (see onTimer) */
  private deferred: NodeJS.Immediate | undefined;
  private readonly sweepTimer: NodeJS.Timeout;
  private slab: Buffer = Buffer.allocUnsafe(SLAB_BYTES);
  private slabOffset = 0;
  /** `slice()`'s last view of the slab and the offset it starts at. */
  private view: Buffer | undefined;
  private viewAt = -1;
  private readonly longHeader: UnroutedLongHeader = { version: 0, type: 0, dcidOffset: 0, dcidLength: 0 };
  private socketClosed = false;
  /** Lost and retransmitted packets of the open connections at `openLossAt` (ms, performance.now()). */
  private openLoss: [number, number] = [0, 0];
  private openLossAt = -Infinity;

  /**
   * @param connected the socket is connected to its only peer (a dialer's endpoint): datagrams are
   *   sent without an address, which saves the address conversion of every send (about 20% of a
   *   send's CPU on loopback)
   */
  constructor(socket: dgram.Socket, recvBufferBytes: number, idleTimeoutMs: number, connected = false) {
    this.socket = socket;
    this.connected = connected;
    const address = socket.address();
    this.local = { host: address.address, port: address.port };
    this.idleTimeoutMs = idleTimeoutMs;
    this.keepAliveMs = Math.min(QUIC_KEEP_ALIVE_INTERVAL_MS, Math.floor(idleTimeoutMs / 3));
    this.counters.recv_buffer_bytes = recvBufferBytes;
    const seed = new Uint32Array(1);
    randomFillSync(seed);
    this.nextSlot = seed[0];
    socket.on('message', this.onMessage);
    socket.on('error', () => {
      this.counters.socket_errors++;
    });
    this.sweepTimer = setInterval(this.sweep, Math.max(50, Math.min(MAX_SWEEP_INTERVAL_MS, Math.floor(this.keepAliveMs / 2))));
    this.sweepTimer.unref();
  }

  /** Current time in ms (`performance.now()`); cheap to call per event. */
  now(): number {
    return performance.now();
  }

  /** A fresh connection id for a new connection: a free slot and random bytes. */
  protected allocateCid(): { slot: number; cid: Buffer } {
    let slot = this.nextSlot;
    while (this.bySlot.has(slot)) slot = (slot + 1) >>> 0;
    this.nextSlot = (slot + 1) >>> 0;
    const cid = Buffer.allocUnsafe(CID_LEN);
    cid.writeUInt32BE(slot, 0);
    randomFillSync(cid, 4, CID_LEN - 4);
    return { slot, cid };
  }

  protected register(conn: QuicConnection): void {
    this.bySlot.set(conn.slot, conn);
    this.counters.connections = this.bySlot.size;
  }

  /** Drops `conn` from the table and the timers; ends it (with `error`) if it had not ended. */
  protected unregister(conn: QuicConnection, error?: Error): void {
    if (conn.released) return;
    if (this.bySlot.get(conn.slot) === conn) this.bySlot.delete(conn.slot);
    this.counters.connections = this.bySlot.size;
    this.heap.remove(conn);
    this.countClosedStats(conn);
    this.forget(conn);
    conn.release(error);
  }

  /** Moves a closing connection's loss counters from the open sum to the closed totals (exactly once). */
  private countClosedStats(conn: QuicConnection): void {
    this.openLoss[0] -= conn.lossSeen[0];
    this.openLoss[1] -= conn.lossSeen[1];
    try {
      const s = conn.native.stats();
      this.counters.lost_packets += s.lost;
      this.counters.retransmitted_packets += s.retrans;
    } catch {
      this.counters.lost_packets += conn.lossSeen[0];
      this.counters.retransmitted_packets += conn.lossSeen[1];
    }
    conn.lossSeen[0] = 0;
    conn.lossSeen[1] = 0;
  }

  /** Subclass hook: forget `conn` in the subclass's own tables. */
  protected forget(_conn: QuicConnection): void {}

  /**
   * The counters, with lost/retransmitted packets of the open connections added. Those two need
   * one quiche `stats()` call per open connection, so they are summed at most once per second
   * (a /metrics scrape reads the stats once per metric); every other counter is current.
   */
  stats(): QuicEndpointStats {
    const out: QuicEndpointStats = { ...this.counters, invalid_datagrams: { ...this.counters.invalid_datagrams } };
    const now = performance.now();
    if (now - this.openLossAt >= OPEN_LOSS_REFRESH_MS) {
      let lost = 0;
      let retrans = 0;
      for (const conn of this.bySlot.values()) {
        try {
          const s = conn.native.stats();
          conn.lossSeen[0] = s.lost;
          conn.lossSeen[1] = s.retrans;
        } catch {
          // A connection quiche already freed: counted at unregister.
        }
        lost += conn.lossSeen[0];
        retrans += conn.lossSeen[1];
      }
      this.openLoss = [lost, retrans];
      this.openLossAt = now;
    }
    out.lost_packets += this.openLoss[0];
    out.retransmitted_packets += this.openLoss[1];
    return out;
  }

  protected drop(reason: DropReason): void {
    this.counters.invalid_datagrams[reason]++;
  }

  private readonly onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    const counters = this.counters;
    counters.packets_in++;
    counters.bytes_in += msg.byteLength;
    const where = classify(msg, this.longHeader);
    if (typeof where === 'string') {
      this.drop(where);
      return;
    }
    let conn: QuicConnection | undefined;
    const offset = where === -1 ? this.longHeader.dcidOffset : where;
    if (where !== -1 || this.longHeader.dcidLength === CID_LEN) {
      const candidate = this.bySlot.get(cidSlot(msg, offset));
      if (candidate !== undefined && cidEquals(msg, offset, candidate.scid)) conn = candidate;
    }
    if (conn === undefined && where === -1) conn = this.routeUnknownDcid(msg, this.longHeader);
    if (conn === undefined) {
      if (where === -1) this.onUnrouted(msg, rinfo, this.longHeader);
      else this.drop('unknown_connection');
      return;
    }
    if (!conn.receive(msg, rinfo.address, rinfo.port)) counters.recv_errors++;
  };

  /** Subclass hook: a long-header packet whose destination id is not one of ours (server: the client's first id). */
  protected routeUnknownDcid(_msg: Buffer, _header: UnroutedLongHeader): QuicConnection | undefined {
    return undefined;
  }

  /** Subclass hook: a long-header packet no connection claimed (server: maybe a new connection). */
  protected onUnrouted(_msg: Buffer, _rinfo: dgram.RemoteInfo, _header: UnroutedLongHeader): void {
    this.drop('unknown_connection');
  }

  /** Queues `conn` for this turn's send pass. */
  markDirty(conn: QuicConnection): void {
    if (conn.dirty || conn.released) return;
    conn.dirty = true;
    this.dirty.push(conn);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Sends one datagram built outside a connection (Retry, Version Negotiation). */
  protected sendRaw(build: (out: Buffer) => number, host: string, port: number): void {
    const out = this.slice();
    const len = build(out);
    if (len <= 0) return;
    this.sendDatagram(len, host, port);
  }

  /**
   * The free part of the slab a datagram is built in. The view is made again only once a datagram
   * used the previous one (the last `send()` of every pass, which returns nothing, reuses it).
   */
  private slice(): Buffer {
    if (SLAB_BYTES - this.slabOffset < MAX_DATAGRAM_SIZE) {
      this.slab = Buffer.allocUnsafe(SLAB_BYTES);
      this.slabOffset = 0;
      this.view = undefined;
    }
    if (this.view === undefined || this.viewAt !== this.slabOffset) {
      this.view = this.slab.subarray(this.slabOffset, this.slabOffset + MAX_DATAGRAM_SIZE);
      this.viewAt = this.slabOffset;
    }
    return this.view;
  }

  private sendDatagram(len: number, host: string, port: number): void {
    if (this.socketClosed) return;
    if (this.connected) this.socket.send(this.slab, this.slabOffset, len);
    else this.socket.send(this.slab, this.slabOffset, len, port, host);
    this.slabOffset += len;
    this.counters.packets_out++;
    this.counters.bytes_out += len;
  }

  /** The send pass: drains quiche's packets for every dirty connection, then re-arms the timer. */
  protected readonly flush = (): void => {
    this.flushScheduled = false;
    const now = this.now();
    const dirty = this.dirty;
    for (let i = 0; i < dirty.length; i++) {
      const conn = dirty[i];
      conn.dirty = false;
      if (conn.released) continue;
      const native = conn.native;
      let packets = 0;
      for (;;) {
        const out = this.slice();
        let result: [number, unknown] | null;
        try {
          result = native.send(out);
        } catch {
          break;
        }
        if (result === null) break;
        this.sendDatagram(result[0], conn.peer.host, conn.peer.port);
        packets++;
      }
      conn.afterFlush(packets, now);
      if (native.isClosed()) {
        this.unregister(conn);
        continue;
      }
      const t = native.timeout();
      this.heap.set(conn, t === null ? Infinity : now + t);
    }
    dirty.length = 0;
    this.armTimer(now);
  };

  private armTimer(now: number): void {
    if (this.deferred !== undefined) return; // the deferred pass re-arms
    const top = this.heap.peek();
    if (top === undefined) {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Infinity;
      return;
    }
    if (this.timer !== undefined && top.deadline >= this.timerAt) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = top.deadline;
    this.timer = setTimeout(this.onTimer, Math.max(0, Math.ceil(top.deadline - now)));
    this.timer.unref();
  }

  private readonly onTimer = (): void => {
    const due = this.timerAt;
    this.timer = undefined;
    this.timerAt = Infinity;
    // A timer that fires late means the event loop stalled; datagrams that arrived meanwhile wait in
    // the socket, and libuv runs timers before it polls. Handling the timeouts now would let quiche
    // declare an idle timeout (or retransmit) for a peer whose packets are already here: put them
    // off one turn (setImmediate runs after the poll phase), so those datagrams are read first.
    if (this.now() - due > LATE_TIMER_MS) {
      this.deferred ??= setImmediate(this.onDeferredTimer);
      return;
    }
    this.runTimeouts();
  };

  private readonly onDeferredTimer = (): void => {
    this.deferred = undefined;
    this.runTimeouts();
  };

  /** quiche's on_timeout for every connection whose deadline is due, then the send pass (which re-arms the timer). */
  private runTimeouts(): void {
    const now = this.now();
    // quiche's timeout() is in whole ms: treat a deadline within 1 ms as due.
    for (let conn = this.heap.popDue(now + 1); conn !== undefined; conn = this.heap.popDue(now + 1)) {
      conn.native.onTimeout();
      conn.afterEvent();
      this.markDirty(conn);
    }
    if (this.dirty.length > 0) this.flush();
    else this.armTimer(now);
  }

  /** Housekeeping (every second, or half the keep-alive interval): keep-alive PINGs, the subclass's deadlines. */
  private readonly sweep = (): void => {
    const now = this.now();
    for (const conn of this.bySlot.values()) {
      if (this.sweepConnection(conn, now)) continue;
      if (conn.established && !conn.nativeClosing && now - conn.lastSendMs >= this.keepAliveMs) {
        conn.native.sendAckEliciting();
        this.markDirty(conn);
      }
    }
  };

  /** Subclass hook for the sweep; returns true when it dealt with `conn` (e.g. dropped it). */
  protected sweepConnection(_conn: QuicConnection, _now: number): boolean {
    return false;
  }

  // ConnectionOwner hooks, implemented by the listener and the dialer.
  abstract onEstablished(conn: QuicConnection): void;
  abstract onStreamOpened(conn: QuicConnection): void;
  abstract onEnded(conn: QuicConnection): void;

  /** Every connection in the table. */
  protected connections(): QuicConnection[] {
    return [...this.bySlot.values()];
  }

  /**
   * Drops every remaining connection without packets, stops the timers and closes the socket once
   * libuv sent what it still queues (at most 200 ms). Never rejects.
   */
  protected async shutdown(): Promise<void> {
    if (this.socketClosed) return;
    // Let a pending send pass put the last CONNECTION_CLOSE packets on the wire.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.flushScheduled) this.flush();
    const closedError = new TransportError('QUIC endpoint closed');
    for (const conn of this.connections()) this.unregister(conn, conn.isClosing ? undefined : closedError);
    clearInterval(this.sweepTimer);
    if (this.deferred !== undefined) clearImmediate(this.deferred);
    this.deferred = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const started = Date.now();
    while (this.socket.getSendQueueCount() > 0 && Date.now() - started < SOCKET_CLOSE_GRACE_MS) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    this.socketClosed = true;
    await new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
