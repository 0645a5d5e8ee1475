/**
 * One QUIC connection of a gatectl endpoint and its single bidirectional stream (DESIGN §2), seen
 * through the Connection interface. The endpoint owns the socket, the timers and the sending; this
 * class feeds quiche what arrived, reads the stream into the data handler, and turns writes into
 * `streamSend` with real backpressure.
 *
 * - Reading: after every received datagram, `streamRecv` into the endpoint's scratch buffer until
 *   quiche has nothing more; each read is copied into a fresh Buffer (from Node's pool for small
 *   reads) and handed to the data handler, so handlers may keep what they get.
 * - Writing: `write()` hands the bytes to `streamSend`; when quiche took them all it returns an
 *   already-resolved promise (no allocation). Otherwise the rest waits in a queue and is offered
 *   again after each datagram from the peer (acks and MAX_STREAM_DATA open capacity), so a writer to
 *   a peer that stopped reading stays pending until the peer reads again.
 * - Closing: `close()` waits until the queued writes are in quiche and quiche has sent and seen
 *   acknowledged what it holds (quiet: its timer is no longer a loss-recovery timer), at most half of
 *   the timeout, then sends CONNECTION_CLOSE. quiche drops unsent stream data at close, so closing at
 *   once would lose a final frame such as an out-of-band 408. Draining (3 PTO) runs on the endpoint's
 *   timers without callers waiting for it.
 */
import { TransportError } from '../../errors.js';
import { HandlerSlotConnection } from '../connection-base.js';
import { DEFAULT_CLOSE_TIMEOUT_MS, errorText, settleWithin } from '../util.js';
import { STREAM_ID, type QuicheConnection, type QuicheHostPort, type QuicheRecvInfo } from './config.js';
import type { DeadlineEntry } from './deadline-heap.js';
import { closeFailure } from './verify.js';

/** What a connection needs from its endpoint. */
export interface ConnectionOwner {
  /** Local address of the endpoint's socket, as quiche knows it. */
  readonly local: QuicheHostPort;
  /** Idle timeout the endpoint configured, in ms. */
  readonly idleTimeoutMs: number;
  /** Scratch buffer for stream reads (overwritten by the next read). */
  readonly scratch: Buffer;
  /** Current time, ms on the `performance.now()` clock. */
  now(): number;
  /** Schedules a send pass for `conn` in this event-loop turn. */
  markDirty(conn: QuicConnection): void;
  /** The handshake completed (quiche `isEstablished`). */
  onEstablished(conn: QuicConnection): void;
  /** Server side: the client opened the stream. */
  onStreamOpened(conn: QuicConnection): void;
  /** The connection ended (before or after the handshake). */
  onEnded(conn: QuicConnection): void;
}

interface PendingWrite {
  data: Uint8Array;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** A resolved promise returned by every write that quiche accepted at once. */
const WRITTEN: Promise<void> = Promise.resolve();

/** A timeout() at least this long (ms) means quiche has nothing in flight (see `quiet`). */
const QUIET_TIMER_FLOOR_MS = 5_000;

/** One QUIC connection; also an entry of its endpoint's deadline heap. */
export class QuicConnection extends HandlerSlotConnection implements DeadlineEntry {
  readonly remoteAddress: string;
  readonly native: QuicheConnection;
  /** Slot in the endpoint's connection table (the first 4 bytes of `scid`). */
  readonly slot: number;
  /** This endpoint's connection id for the connection (packets to us carry it). */
  readonly scid: Buffer;
  readonly side: 'client' | 'server';
  /** Where packets go: the peer as quiche knows it. */
  peer: QuicheHostPort;
  private recvInfo: QuicheRecvInfo;
  private readonly owner: ConnectionOwner;

  // DeadlineEntry
  deadline = Infinity;
  heapIndex = -1;
  /** Queued for the endpoint's next send pass. */
  dirty = false;
  /** Removed from the endpoint's table (quiche closed it, or the endpoint dropped it). */
  released = false;

  established = false;
  /** Server: the client's stream is open and the connection was handed to `onConnection`. */
  exposed = false;
  readonly createdMs: number;
  establishedMs = 0;
  lastSendMs: number;
  lastRecvMs: number;
  /** Lost and retransmitted packets at the endpoint's last stats() sum (see QuicEndpoint.stats). */
  readonly lossSeen: [number, number] = [0, 0];
  /** The endpoint counts this connection's handshake as in progress. */
  handshakePending = false;
  /** Key of the client's original destination id in the listener's handshake table, if any. */
  odcidKey: string | undefined;

  /** The stream exists in quiche: server, the client opened it; client, the first write did. */
  private streamOpen = false;
  private readStopped = false;
  private readDone = false;
  private readonly writes: PendingWrite[] = [];
  private pendingHead = 0;

  /** Stream bytes were accepted since the last send pass. */
  private unflushed = false;
  private closePromise: Promise<void> | undefined;
  private closeRequest: { code: number; reason: Buffer } | undefined;
  private closeForced = false;
  private nativeCloseSent = false;
  private resolveClose: (() => void) | undefined;
  private closeTimer: NodeJS.Timeout | undefined;

  constructor(
    owner: ConnectionOwner,
    native: QuicheConnection,
    side: 'client' | 'server',
    slot: number,
    scid: Buffer,
    peer: QuicheHostPort,
    remoteAddress: string,
  ) {
    super();
    this.owner = owner;
    this.native = native;
    this.side = side;
    this.slot = slot;
    this.scid = scid;
    this.peer = peer;
    this.recvInfo = { from: peer, to: owner.local };
    this.remoteAddress = remoteAddress;
    this.createdMs = owner.now();
    this.lastSendMs = this.createdMs;
    this.lastRecvMs = this.createdMs;
  }

  /** True once a local close began (`close()` was called). */
  get isClosing(): boolean {
    return this.closing;
  }

  /** True once CONNECTION_CLOSE was requested from quiche or quiche closed on its own. */
  get nativeClosing(): boolean {
    return this.nativeCloseSent || this.native.isDraining() || this.native.isClosed();
  }

  /**
   * Feeds one datagram from `host:port` to quiche and handles what it changed. Errors quiche throws
   * (a protocol violation, a TLS failure) have already made it close the connection; they end this
   * connection with that error, never the endpoint. Returns false when quiche refused the datagram.
   */
  receive(msg: Buffer, host: string, port: number): boolean {
    if (host !== this.peer.host || port !== this.peer.port) {
      this.peer = { host, port };
      this.recvInfo = { from: this.peer, to: this.owner.local };
    }
    let ok = true;
    try {
      this.native.recv(msg, this.recvInfo);
    } catch {
      ok = false;
    }
    this.lastRecvMs = this.owner.now();
    this.afterEvent();
    this.owner.markDirty(this);
    return ok;
  }

  /** After a receive or a timeout: handshake progress, stream reads, queued writes, the end. */
  afterEvent(): void {
    const native = this.native;
    if (!this.established && native.isEstablished()) {
      this.established = true;
      this.establishedMs = this.owner.now();
      this.owner.onEstablished(this);
    }
    if (this.established && !this.ended) {
      if (!this.exposed && this.side === 'server' && native.streamReadable(STREAM_ID)) {
        this.exposed = true;
        this.streamOpen = true;
        this.owner.onStreamOpened(this);
      }
      // A client's stream exists once it wrote to it (QUIC opens streams implicitly).
      if (this.exposed && this.streamOpen) this.readStream();
      if (this.pendingHead < this.writes.length) this.drainWrites();
    }
    if (!this.ended && (native.isDraining() || native.isClosed())) this.end(this.failure());
    this.progressClose();
  }

  /** The error of a connection quiche closed (undefined for a normal close or a local close). */
  private failure(): Error | undefined {
    const n = this.native;
    return closeFailure(this.remoteAddress, n.localError(), n.peerError(), n.isTimedOut(), this.owner.idleTimeoutMs);
  }

  /** Client side: the stream is usable from now on (the dial resolved). */
  expose(): void {
    this.exposed = true;
  }

  private readStream(): void {
    if (this.readStopped || this.readDone) return;
    const scratch = this.owner.scratch;
    for (;;) {
      let result: [number, boolean] | null;
      try {
        result = this.native.streamRecv(STREAM_ID, scratch);
      } catch (error) {
        // The peer reset the stream, or quiche collected it: the connection is of no further use.
        this.readDone = true;
        this.end(new TransportError(`QUIC stream from ${this.remoteAddress} failed: ${errorText(error)}`));
        void this.close(1, 'stream failed');
        return;
      }
      if (result === null) return;
      const n = result[0];
      if (n > 0) {
        const chunk = Buffer.allocUnsafe(n);
        scratch.copy(chunk, 0, 0, n);
        const handlerError = this.deliver(chunk);
        if (handlerError !== undefined) {
          this.readDone = true;
          this.finishReading(handlerError);
          return;
        }
      }
      if (result[1]) {
        this.readDone = true;
        this.finishReading(undefined);
        return;
      }
      if (this.readStopped || this.ended) return;
    }
  }

  /** Fault injection: stop reading, so QUIC flow control stalls the peer's writes. */
  stopReading(): void {
    this.readStopped = true;
  }

  /** Undoes `stopReading()`: reads what quiche buffered meanwhile, which reopens the peer's window. */
  resumeReading(): void {
    if (!this.readStopped) return;
    this.readStopped = false;
    if (this.established && !this.ended && this.exposed && this.streamOpen) {
      this.readStream();
      this.owner.markDirty(this);
    }
  }

  /**
   * Writes bytes on the stream. Resolves when quiche has accepted all of them (they are in its send
   * buffer); while the peer's flow-control window or the congestion window is full it stays pending.
   * `data` is not copied before then; do not modify it until the promise settles.
   * Rejects with TransportError when the connection is closed or the stream failed.
   */
  write(data: Uint8Array): Promise<void> {
    if (this.ended || this.closing) {
      return Promise.reject(new TransportError(`write on a closed QUIC connection to ${this.remoteAddress}`));
    }
    let rest = data;
    if (this.pendingHead === this.writes.length) {
      let accepted: number;
      try {
        accepted = this.native.streamSend(STREAM_ID, data, false) ?? 0;
      } catch (error) {
        return Promise.reject(this.writeFailed(error));
      }
      this.streamOpen = true;
      if (accepted > 0) this.wroteSinceFlush();
      if (accepted === data.byteLength) return WRITTEN;
      rest = data.subarray(accepted);
    }
    return new Promise<void>((resolve, reject) => {
      this.writes.push({ data: rest, resolve, reject });
    });
  }

  private writeFailed(error: unknown): TransportError {
    const failure = new TransportError(`write to ${this.remoteAddress} failed: ${errorText(error)}`, 'GATECTL_TRANSPORT', {
      cause: error,
    });
    this.end(failure);
    void this.close(1, 'stream write failed');
    return failure;
  }

  /** Offers queued writes to quiche again, in order. */
  private drainWrites(): void {
    const pending = this.writes;
    let wrote = false;
    while (this.pendingHead < pending.length) {
      const head = pending[this.pendingHead];
      let accepted: number;
      try {
        accepted = this.native.streamSend(STREAM_ID, head.data, false) ?? 0;
      } catch (error) {
        this.writeFailed(error);
        return;
      }
      if (accepted > 0) wrote = true;
      if (accepted < head.data.byteLength) {
        head.data = head.data.subarray(accepted);
        break;
      }
      this.pendingHead++;
      head.resolve();
    }
    if (this.pendingHead === pending.length) {
      pending.length = 0;
      this.pendingHead = 0;
    }
    if (wrote) this.wroteSinceFlush();
  }

  /** quiche took stream bytes that no send pass has seen yet: a close must wait for that pass. */
  private wroteSinceFlush(): void {
    this.unflushed = true;
    this.owner.markDirty(this);
  }

  private rejectPending(): void {
    const pending = this.writes;
    for (let i = this.pendingHead; i < pending.length; i++) {
      pending[i].reject(new TransportError(`write on a closed QUIC connection to ${this.remoteAddress}`));
    }
    pending.length = 0;
    this.pendingHead = 0;
  }

  protected onEnd(): void {
    this.rejectPending();
    this.owner.onEnded(this);
  }

  /** Called by the endpoint after a send pass over this connection. */
  afterFlush(packets: number, now: number): void {
    if (packets > 0) this.lastSendMs = now;
    this.unflushed = false;
    if (this.nativeCloseSent && this.resolveClose !== undefined) {
      const resolve = this.resolveClose;
      this.resolveClose = undefined;
      resolve();
      return;
    }
    this.progressClose();
  }

  /**
   * True when quiche holds nothing unacknowledged: with data in flight its timer is the
   * loss-recovery (PTO) timer, well under a second on a live path; otherwise the idle timer.
   */
  private quiet(): boolean {
    const t = this.native.timeout();
    return t === null || t >= Math.min(QUIET_TIMER_FLOOR_MS, this.owner.idleTimeoutMs / 2);
  }

  private progressClose(): void {
    const request = this.closeRequest;
    if (request === undefined || this.nativeCloseSent) return;
    if (!this.closeForced) {
      if (this.pendingHead < this.writes.length || this.unflushed) return;
      if (!this.native.isDraining() && !this.native.isClosed() && !this.quiet()) return;
    }
    this.nativeCloseSent = true;
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    try {
      this.native.close(true, request.code, request.reason);
    } catch {
      // Already closed by quiche (the peer closed, or a protocol error): nothing more to send.
    }
    this.rejectPending();
    this.owner.markDirty(this);
  }

  /**
   * Closes the connection with application `code` (default 0) and `reason`: queued writes and data
   * quiche holds get up to half of `timeoutMs` to be sent and acknowledged, then CONNECTION_CLOSE is
   * sent. Resolves once CONNECTION_CLOSE has been handed to the socket, or after `timeoutMs`
   * (default 2000 ms); never rejects. `handlers.close` has been called when it resolves.
   */
  close(code = 0, reason = '', timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    if (this.closePromise !== undefined) return this.closePromise;
    this.closing = true;
    const closed = new Promise<void>((resolve) => (this.resolveClose = resolve));
    this.closeRequest = { code, reason: Buffer.from(reason) };
    this.closeTimer = setTimeout(() => {
      this.closeForced = true;
      this.progressClose();
    }, timeoutMs / 2);
    this.closeTimer.unref();
    this.progressClose();
    if (this.released) this.resolveClose?.();
    this.closePromise = settleWithin(closed, timeoutMs).then(() => this.end(undefined));
    return this.closePromise;
  }

  /** Ends at once without packets (the endpoint dropped the connection or tore everything down). */
  release(error: Error | undefined): void {
    this.released = true;
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    const resolve = this.resolveClose;
    this.resolveClose = undefined;
    resolve?.();
    this.end(error);
  }
}
