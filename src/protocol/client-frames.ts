/**
 * The load client's per-message codec path (src/load/client.ts), where protobufjs's general
 * encoder and decoder cost more than the rest of the client's work per response (`npm run bench`,
 * docs/bench.md "Load engine per-response cost").
 *
 * - Requests: a BusinessRequest frame is the same bytes as `ClientMessageType.encodeDelimited({
 *   msgId, seqId, business: { action, payload } })` (tested byte for byte against protobufjs), but
 *   written straight into the caller's buffer. The `action` field is encoded once per mix entry by
 *   protobufjs (`encodeActionField`); per request only the varints and the payload are written.
 * - Acks: a cumulative ClientAck frame, likewise (`ackFrameBytes`, `writeAckFrame`).
 * - Responses: `ServerPushHeadType` decodes of a ServerPush only what the client uses (server_seq,
 *   which body, and that body's fields 1 and 2), with protobufjs's Reader (uint64 fields with a
 *   local varint read: protobufjs allocates an object per uint64), into one reused object: no
 *   message objects, no strings or `bytes` views, no subarray per frame.
 *
 * Wire format (proto/gateway.proto): a frame is varint(body length) + body; a body is a sequence of
 * (tag = field << 3 | wire type, value); uint64 as varint; messages and bytes as varint(length) +
 * bytes. Integers here are JS numbers, exact below 2^53 (as everywhere in gatectl's codec).
 */
import protobuf from 'protobufjs';
import { FrameError } from '../errors.js';
import { protoRoot } from './codec.js';

/** Tag of ClientMessage.msg_id (field 1, varint). */
const TAG_MSG_ID = (1 << 3) | 0;
/** Tag of ClientMessage.seq_id (field 2, varint). */
const TAG_SEQ_ID = (2 << 3) | 0;
/** Tag of ClientMessage.business (field 11, length-delimited). */
const TAG_BUSINESS = (11 << 3) | 2;
/** Tag of ClientMessage.ack (field 12, length-delimited). */
const TAG_ACK = (12 << 3) | 2;
/** Tag of ClientAck.acked_server_seq (field 1, varint). */
const TAG_ACKED_SERVER_SEQ = (1 << 3) | 0;
/** Tag of BusinessRequest.payload (field 2, length-delimited). */
const TAG_PAYLOAD = (2 << 3) | 2;

/** Bytes of the varint encoding of `v`, an integer 0 ≤ v < 2^53. */
export function varintBytes(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 5;
  for (let x = Math.floor(v / 0x800000000); x > 0; x = Math.floor(x / 0x80)) n++;
  return n;
}

/** Writes `v` (an integer 0 ≤ v < 2^53) as a varint at `buf[pos]`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, v: number): number {
  while (v >= 0x10000000) {
    // above 28 bits: bitwise operators would truncate to 32 bits, so split arithmetically
    buf[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** TypedArray fill (a memset), not Buffer#fill's argument-checking wrapper. */
const fillBytes = Uint8Array.prototype.fill;

const BusinessRequest = protoRoot.lookupType('gatesvr.v1.BusinessRequest');

/** BusinessRequest field 1 (`action`), encoded by protobufjs: the part of a request body that never changes. */
export function encodeActionField(action: string): Uint8Array {
  return BusinessRequest.encode({ action }).finish();
}

/** Body bytes of a BusinessRequest { action (pre-encoded field), payload of `payloadBytes` bytes }. */
function businessBodyBytes(actionField: Uint8Array, payloadBytes: number): number {
  return actionField.length + 1 + varintBytes(payloadBytes) + payloadBytes;
}

/** Body bytes of ClientMessage { msgId, seqId, business }. */
function requestBodyBytes(msgId: number, seqId: number, businessBytes: number): number {
  return 1 + varintBytes(msgId) + 1 + varintBytes(seqId) + 1 + varintBytes(businessBytes) + businessBytes;
}

/**
 * Frame bytes (length prefix included) of a BusinessRequest with message id `msgId`, sequence id
 * `seqId`, the pre-encoded `actionField` and `payloadBytes` bytes of payload.
 */
export function businessFrameBytes(msgId: number, seqId: number, actionField: Uint8Array, payloadBytes: number): number {
  const body = requestBodyBytes(msgId, seqId, businessBodyBytes(actionField, payloadBytes));
  return varintBytes(body) + body;
}

/**
 * Writes the frame of `businessFrameBytes` at `buf[pos]`: the bytes of
 * `ClientMessageType.encodeDelimited({ msgId, seqId, business: { action, payload } })` with a payload
 * of `payloadBytes` zero bytes (what the load generator sends). Returns the position after it.
 */
export function writeBusinessFrame(buf: Uint8Array, pos: number, msgId: number, seqId: number, actionField: Uint8Array, payloadBytes: number): number {
  const business = businessBodyBytes(actionField, payloadBytes);
  pos = writeVarint(buf, pos, requestBodyBytes(msgId, seqId, business));
  buf[pos++] = TAG_MSG_ID;
  pos = writeVarint(buf, pos, msgId);
  buf[pos++] = TAG_SEQ_ID;
  pos = writeVarint(buf, pos, seqId);
  buf[pos++] = TAG_BUSINESS;
  pos = writeVarint(buf, pos, business);
  buf.set(actionField, pos);
  pos += actionField.length;
  buf[pos++] = TAG_PAYLOAD;
  pos = writeVarint(buf, pos, payloadBytes);
  fillBytes.call(buf, 0, pos, pos + payloadBytes);
  return pos + payloadBytes;
}

/** Frame bytes (length prefix included) of ClientMessage { ack: { ackedServerSeq } }. */
export function ackFrameBytes(ackedServerSeq: number): number {
  const ack = 1 + varintBytes(ackedServerSeq);
  return 1 + 1 + 1 + ack; // prefix (body < 128 bytes), tag, length, ack
}

/**
 * Writes the bytes of `ClientMessageType.encodeDelimited({ ack: { ackedServerSeq } })` at
 * `buf[pos]`; returns the position after them.
 */
export function writeAckFrame(buf: Uint8Array, pos: number, ackedServerSeq: number): number {
  const ack = 1 + varintBytes(ackedServerSeq);
  buf[pos++] = 2 + ack;
  buf[pos++] = TAG_ACK;
  buf[pos++] = ack;
  buf[pos++] = TAG_ACKED_SERVER_SEQ;
  return writeVarint(buf, pos, ackedServerSeq);
}

/** Which body of a ServerPush is set: the field number of the `body` oneof, 0 for none. */
export const enum PushBody { NONE = 0, HELLO = 10, BUSINESS = 11, NOTIFY = 12, ERROR = 13 }

/**
 * What the load client reads of a ServerPush. Every body message has its id at field 1 (uint64)
 * and a code at field 2 (int32), so two fields cover all four bodies.
 */
export interface ServerPushHead {
  /** server_seq (0 = out-of-band fatal error) */
  serverSeq: number;
  /** the body that is set (the last one on the wire, as protobufjs decides) */
  body: PushBody;
  /** hello / business / error: msg_id; notify: grid (the request's seq_id) */
  id: number;
  /** hello / business / error: code; notify: placement (NotifyPlacement) */
  code: number;
}

/**
 * Decodes the head of a ServerPush body in `buf[start, end)` into `out` (cleared first) with
 * protobufjs's Reader, the way protobufjs's generated `ServerPush.decode` walks the fields, skipping
 * what the client does not use. Throws FrameError('decode') when the bytes do not decode.
 */
export function decodeServerPushHead(reader: protobuf.Reader, buf: Uint8Array, start: number, end: number, out: ServerPushHead): ServerPushHead {
  out.serverSeq = 0;
  out.body = PushBody.NONE;
  out.id = 0;
  out.code = 0;
  const r = reader;
  r.buf = buf;
  r.pos = start;
  r.len = end;
  try {
    while (r.pos < end) {
      const tag = r.uint32();
      const field = tag >>> 3;
      if (field === 1) {
        out.serverSeq = readUint64(r);
      } else if (field >= PushBody.HELLO && field <= PushBody.ERROR) {
        // a body message: a new one replaces what an earlier body field set (protobufjs)
        const sub = r.uint32() + r.pos;
        if (sub > end) throw new RangeError('index out of range');
        out.body = field;
        out.id = 0;
        out.code = 0;
        r.len = sub;
        while (r.pos < sub) {
          const t = r.uint32();
          const f = t >>> 3;
          if (f === 1) out.id = readUint64(r);
          else if (f === 2) out.code = r.int32();
          else r.skipType(t & 7);
        }
        if (r.pos !== sub) throw new RangeError('index out of range');
        r.len = end;
      } else {
        r.skipType(tag & 7);
      }
    }
  } catch (err) {
    throw new FrameError('decode', `gatesvr.v1.ServerPush: frame of ${end - start} bytes does not decode: ${(err as Error).message}`, { cause: err });
  } finally {
    r.buf = EMPTY; // do not pin the caller's chunk
  }
  return out;
}

const EMPTY = new Uint8Array(0);

/**
 * Reads a uint64 varint at the reader's position as a JS number, exact below 2^53: what
 * protobufjs's `uint64()` returns with Long disabled, without the LongBits object it allocates per
 * read. Throws RangeError past the reader's end, Error after 10 bytes (as protobufjs).
 */
function readUint64(r: protobuf.Reader): number {
  const buf = r.buf;
  let pos = r.pos;
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= r.len) throw new RangeError(`index out of range: ${pos} + 1 > ${r.len}`);
    const b = buf[pos++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      r.pos = pos;
      return value;
    }
    scale *= 128;
  }
  throw new Error('invalid varint encoding');
}

/**
 * A FrameDecoder body type (see FrameDecoder's `decodeRange`) that yields ServerPushHeads. The head it
 * returns is one object, overwritten by the next frame: read it inside the frame callback.
 */
export class ServerPushHeadType {
  private readonly reader = protobuf.Reader.create(EMPTY);
  private readonly head: ServerPushHead = { serverSeq: 0, body: PushBody.NONE, id: 0, code: 0 };

  /** Decodes a whole body. Throws FrameError('decode'). */
  decode(body: Uint8Array): ServerPushHead {
    return decodeServerPushHead(this.reader, body, 0, body.length, this.head);
  }

  /** Decodes the body in `buf[start, end)`. Throws FrameError('decode'). */
  decodeRange(buf: Uint8Array, start: number, end: number): ServerPushHead {
    return decodeServerPushHead(this.reader, buf, start, end, this.head);
  }
}
