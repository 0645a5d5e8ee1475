/**
 * Frame codec (DESIGN §3): each message is a protobuf message preceded by its length as a varint
 * (protobufjs `encodeDelimited`). Frames above the maximum size, malformed varints and bodies that do
 * not decode raise a typed FrameError. No sockets here.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { FrameError } from '../errors.js';
import type { ClientMessage, ServerPush, UpstreamRequest, UpstreamResponse } from './messages.js';

// uint64 fields decode to JS numbers instead of Long objects: no allocation per field, and every
// sequence number gatectl uses stays far below 2^53.
protobuf.util.Long = undefined as unknown as typeof protobuf.util.Long;
protobuf.configure();


/** Default maximum frame body size: 1 MiB, in bytes. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

const root = protobuf.loadSync(fileURLToPath(new URL('../../../proto/gateway.proto', import.meta.url)));
/** The protobufjs root of `proto/gateway.proto` (Long disabled: uint64 decodes to a JS number). */
export const protoRoot: protobuf.Root = root;

/** A protobufjs message type with typed encode/decode. */
export interface MessageType<T> {
  /** Encodes `msg` with its varint length prefix. */
  encodeDelimited(msg: T): Uint8Array;
  /** Encodes `msg` without a length prefix. */
  encode(msg: T): Uint8Array;
  /** Decodes a body (no length prefix). Throws FrameError('decode') when the bytes do not decode. */
  decode(body: Uint8Array): T;
}

function messageType<T>(name: string): MessageType<T> {
  const type = root.lookupType(name);
  return {
    encodeDelimited: (msg: T) => type.encodeDelimited(msg as protobuf.Message).finish(),
    encode: (msg: T) => type.encode(msg as protobuf.Message).finish(),
    decode: (body: Uint8Array): T => {
      try {
        return type.decode(body) as unknown as T;
      } catch (err) {
        throw new FrameError('decode', `${name}: frame of ${body.length} bytes does not decode: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}

/** `gatesvr.v1.ClientMessage`. */
export const ClientMessageType = messageType<ClientMessage>('gatesvr.v1.ClientMessage');
/** `gatesvr.v1.ServerPush`. */
export const ServerPushType = messageType<ServerPush>('gatesvr.v1.ServerPush');
/** `gatesvr.v1.UpstreamRequest`. */
export const UpstreamRequestType = messageType<UpstreamRequest>('gatesvr.v1.UpstreamRequest');
/** `gatesvr.v1.UpstreamResponse`. */
export const UpstreamResponseType = messageType<UpstreamResponse>('gatesvr.v1.UpstreamResponse');

/**
 * What FrameDecoder needs of a message type: `decode` of one body, and optionally `decodeRange`,
 * which decodes `buf[start, end)` in place (no subarray per frame).
 */
export interface FrameBodyType<T> {
  /** Decodes a body (no length prefix). Throws FrameError('decode'). */
  decode(body: Uint8Array): T;
  /** Decodes the body `buf[start, end)`. Throws FrameError('decode'). */
  decodeRange?(buf: Uint8Array, start: number, end: number): T;
}

/**
 * Incremental decoder for a byte stream of varint-delimited frames. Feed it chunks as they arrive;
 * it calls `onFrame` once per complete message, in order. After a FrameError the decoder is
 * poisoned: the connection must be closed (DESIGN §3).
 *
 * Memory: a chunk is decoded in place; only the bytes of an incomplete frame are kept, always as
 * copies (the caller may reuse its chunk after `push`, and a small tail never pins a large chunk).
 * At most `maxFrameBytes` + 5 (the length prefix) bytes are buffered. Once a frame's length is known,
 * chunks that do not complete it are appended to a list and joined once when it completes, so a frame
 * trickled in small chunks costs linear, not quadratic, copying. (Messages handed to `onFrame` may
 * still reference the chunk: protobufjs returns `bytes` fields as views of its input.)
 */
export class FrameDecoder<T> {
  /** Copies of the bytes of the incomplete frame at the head of the stream. */
  private parts: Uint8Array[] = [];
  private partsBytes = 0;
  /** Total bytes (prefix + body) of that frame once its length prefix is complete; 0 while unknown. */
  private need = 0;
  private failed = false;

  /**
   * @param type message type of every frame on this stream (a MessageType, or a FrameBodyType such as ServerPushHeadType)
   * @param onFrame called with each decoded message
   * @param maxFrameBytes largest accepted body, in bytes (default 1 MiB)
   */
  constructor(
    private readonly type: FrameBodyType<T>,
    private readonly onFrame: (msg: T) => void,
    private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
  ) {}

  /**
   * Consumes a chunk. Throws FrameError (`varint`, `oversize`, `decode`) on the first bad frame;
   * frames before it in the chunk have already been delivered. Does not keep a reference to `chunk`.
   */
  push(chunk: Uint8Array): void {
    if (this.failed) throw new FrameError('decode', 'decoder already failed; close the connection');
    let buf = chunk;
    if (this.partsBytes > 0) {
      if (this.need > 0 && this.partsBytes + chunk.length < this.need) {
        // Still short of the frame whose length is known: keep a copy, join later.
        this.parts.push(Uint8Array.prototype.slice.call(chunk));
        this.partsBytes += chunk.length;
        return;
      }
      this.parts.push(chunk);
      buf = Buffer.concat(this.parts, this.partsBytes + chunk.length);
      this.parts = [];
      this.partsBytes = 0;
      this.need = 0;
    }
    let off = 0;
    const end = buf.length;
    let need = 0;
    while (off < end) {
      // read varint length (at most 5 bytes for a 32-bit length)
      let len = 0;
      let shift = 0;
      let p = off;
      let complete = false;
      while (p < end) {
        const b = buf[p++]!;
        if (shift === 28 && b > 0x0f) return this.fail(new FrameError('varint', 'frame length prefix is not a valid varint (over 32 bits)'));
        len += (b & 0x7f) * 2 ** shift;
        if ((b & 0x80) === 0) { complete = true; break; }
        shift += 7;
        if (shift > 28) return this.fail(new FrameError('varint', 'frame length prefix is not a valid varint (over 5 bytes)'));
      }
      if (!complete) break;
      if (len > this.maxFrameBytes) {
        return this.fail(new FrameError('oversize', `frame of ${len} bytes exceeds the maximum of ${this.maxFrameBytes} bytes`));
      }
      if (end - p < len) {
        need = p - off + len;
        break;
      }
      let msg: T;
      try {
        const type = this.type;
        msg = type.decodeRange !== undefined ? type.decodeRange(buf, p, p + len) : type.decode(buf.subarray(p, p + len));
      } catch (err) {
        return this.fail(err as FrameError);
      }
      off = p + len;
      this.onFrame(msg);
    }
    if (off < end) {
      // Keep a copy of the incomplete frame (`buf` is the caller's chunk or a join that may be much larger).
      this.parts = [Uint8Array.prototype.slice.call(buf, off)];
      this.partsBytes = end - off;
      this.need = need;
    }
  }

  /** Bytes buffered of an incomplete frame (at most the frame limit + 5). */
  get bufferedBytes(): number {
    return this.partsBytes;
  }

  private fail(err: FrameError): never {
    this.failed = true;
    this.parts = [];
    this.partsBytes = 0;
    this.need = 0;
    throw err;
  }
}
