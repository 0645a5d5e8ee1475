/**
 * What every transport's Connection shares: the handler slot. Bytes that arrive before
 * `setHandlers` are buffered and delivered on it; `handlers.close` is called exactly once; a data
 * handler that throws ends the connection with that error (DESIGN §3: a bad frame closes it).
 */
import { TransportError } from '../errors.js';
import type { Connection, ConnectionHandlers } from './types.js';
import { errorText } from './util.js';

/** Base of QUIC and TCP connections; subclasses implement the I/O. */
export abstract class HandlerSlotConnection implements Connection {
  abstract readonly remoteAddress: string;
  protected handlers: ConnectionHandlers | undefined;
  /** Chunks that arrived before `setHandlers`. */
  private pending: Uint8Array[] | undefined = [];
  protected ended = false;
  protected endError: Error | undefined;
  /** True once a local close began: the end is then reported without an error. */
  protected closing = false;

  /** Called once when the connection ends, before `handlers.close`. */
  protected abstract onEnd(): void;
  abstract write(data: Uint8Array): Promise<void>;
  abstract close(code?: number, reason?: string, timeoutMs?: number): Promise<void>;

  /**
   * Hands a received chunk to the data handler, or buffers it before `setHandlers`. Chunks after
   * the end or during a local close are ignored. Returns what the handler threw, else undefined.
   */
  protected deliver(chunk: Uint8Array): unknown {
    if (this.ended || this.closing) return undefined;
    const handlers = this.handlers;
    if (handlers === undefined) {
      this.pending?.push(chunk);
      return undefined;
    }
    try {
      handlers.data(chunk);
      return undefined;
    } catch (error) {
      return error;
    }
  }

  /** Marks the connection ended and calls `handlers.close` once (without an error after a local close). */
  /**
   * Ends a stream read loop: a data handler that threw ends the connection with that error and
   * closes it (code 1); otherwise the peer finished its side, so the connection is over (code 0).
   */
  protected finishReading(handlerError: unknown): void {
    if (handlerError !== undefined) {
      this.end(handlerError instanceof Error ? handlerError : new TransportError(`data handler failed: ${errorText(handlerError)}`));
      void this.close(1, 'data handler failed');
      return;
    }
    this.end(undefined);
    void this.close(0, 'peer finished the stream');
  }

  protected end(error: Error | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.endError = this.closing ? undefined : error;
    this.onEnd();
    const handlers = this.handlers;
    if (handlers !== undefined) handlers.close(this.endError);
  }

  /** Installs the handlers and delivers what arrived before. Throws TransportError when called twice. */
  setHandlers(handlers: ConnectionHandlers): void {
    if (this.handlers !== undefined) {
      throw new TransportError(`setHandlers called twice on the connection to ${this.remoteAddress}`);
    }
    this.handlers = handlers;
    const pending = this.pending;
    this.pending = undefined;
    if (pending !== undefined) for (const chunk of pending) handlers.data(chunk);
    if (this.ended) handlers.close(this.endError);
  }
}
