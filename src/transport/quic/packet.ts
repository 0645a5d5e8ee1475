/**
 * The first look at a datagram (RFC 9000 §17, RFC 8999) and gatectl's connection ids.
 *
 * Every connection id gatectl issues (the server's source ids, the client's source ids) is CID_LEN
 * bytes: a 32-bit slot number (big-endian) that indexes the endpoint's connection table, then
 * random bytes. A packet is routed by reading the slot from its destination id and comparing the
 * rest, with no allocation and no call into quiche; quiche sees only packets for a known connection
 * and the Initials the listener decides to accept. Nothing here throws: a datagram that is not a
 * QUIC packet gatectl can route is dropped and counted by reason.
 */

/** Length of every connection id gatectl issues, in bytes. */
export const CID_LEN = 16;
/** Smallest short-header packet: flags, CID_LEN id, 1-byte packet number, 16-byte AEAD tag. */
const MIN_SHORT_PACKET_BYTES = 1 + CID_LEN + 1 + 16;
/** Longest connection id of QUIC v1 (RFC 9000 §17.2). */
const MAX_V1_CID_BYTES = 20;

/** Why a datagram was dropped without reaching a connection. */
export type DropReason =
  | 'not_quic'
  | 'truncated'
  | 'bad_header'
  | 'unknown_connection'
  | 'unknown_version'
  | 'short_initial'
  | 'bad_token'
  | 'expired_token'
  | 'token_dcid_mismatch'
  | 'handshake_cap'
  | 'connection_cap'
  | 'listener_closing';

/** All drop reasons, for zero-filled counters. */
export const DROP_REASONS: readonly DropReason[] = [
  'not_quic',
  'truncated',
  'bad_header',
  'unknown_connection',
  'unknown_version',
  'short_initial',
  'bad_token',
  'expired_token',
  'token_dcid_mismatch',
  'handshake_cap',
  'connection_cap',
  'listener_closing',
];

/** A long-header packet that no connection claimed (what a listener may accept). */
export interface UnroutedLongHeader {
  /** QUIC version field (0 = Version Negotiation). */
  version: number;
  /** Long packet type bits (RFC 9000 §17.2: 0 Initial, 1 0-RTT, 2 Handshake, 3 Retry). */
  type: number;
  /** Offset and length of the destination connection id in the datagram. */
  dcidOffset: number;
  dcidLength: number;
}

/**
 * Looks at the first bytes of `msg` and says where its destination connection id is. Returns the
 * offset of a short header's id (1), -1 for a long header (fields in `scratch`), or a DropReason.
 * Allocation-free.
 */
export function classify(msg: Uint8Array, scratch: UnroutedLongHeader): number | DropReason {
  const n = msg.byteLength;
  if (n === 0) return 'truncated';
  const b0 = msg[0];
  if ((b0 & 0x80) === 0) {
    if ((b0 & 0x40) === 0) return 'not_quic';
    if (n < MIN_SHORT_PACKET_BYTES) return 'truncated';
    return 1;
  }
  if (n < 7) return 'truncated';
  const version = ((msg[1] << 24) >>> 0) + (msg[2] << 16) + (msg[3] << 8) + msg[4];
  // RFC 9000 §17.2: the fixed bit is 1 in every v1 packet; a Version Negotiation packet (version 0)
  // leaves it unspecified.
  if (version !== 0 && (b0 & 0x40) === 0) return 'not_quic';
  const dcidLength = msg[5];
  if (6 + dcidLength >= n) return 'truncated';
  const scidLength = msg[6 + dcidLength];
  if (7 + dcidLength + scidLength > n) return 'truncated';
  if (version === 1 && (dcidLength > MAX_V1_CID_BYTES || scidLength > MAX_V1_CID_BYTES)) return 'bad_header';
  scratch.version = version;
  scratch.type = (b0 & 0x30) >> 4;
  scratch.dcidOffset = 6;
  scratch.dcidLength = dcidLength;
  return -1;
}

/** Reads the slot number of a gatectl connection id at `offset` of `buf`. */
export function cidSlot(buf: Uint8Array, offset: number): number {
  return ((buf[offset] << 24) >>> 0) + (buf[offset + 1] << 16) + (buf[offset + 2] << 8) + buf[offset + 3];
}

/** True when `buf[offset .. offset + CID_LEN)` equals `cid`. */
export function cidEquals(buf: Uint8Array, offset: number, cid: Uint8Array): boolean {
  for (let i = 4; i < CID_LEN; i++) if (buf[offset + i] !== cid[i]) return false;
  return true;
}
