/**
 * Hostile datagrams for the soak and the tests (issue 13 "Bad input"): real client Initials made by
 * quiche, Initials with a chosen token and a junk payload, the Retry token a listener hands out, and
 * bursts of random and truncated datagrams. Loopback only; nothing here needs a connection.
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { ALPN_PROTOCOL, quiche } from '../../transport/quic/config.js';
import { CID_LEN } from '../../transport/quic/packet.js';

const HOST = '127.0.0.1';

/** Binds a udp4 socket on 127.0.0.1 and an ephemeral port. */
export async function udpSocket(): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, HOST, () => resolve()));
  return socket;
}

/** Sends `datagrams` to 127.0.0.1:`port` from `socket`, one after the other. */
export async function sendAll(socket: dgram.Socket, port: number, datagrams: readonly Uint8Array[]): Promise<void> {
  for (const d of datagrams) await new Promise<void>((resolve) => socket.send(d, port, HOST, () => resolve()));
}

/** Encodes a QUIC variable-length integer (RFC 9000 §16), up to 2^30 − 1. */
function varint(n: number): Buffer {
  if (n < 64) return Buffer.from([n]);
  if (n < 16384) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  const b = Buffer.alloc(4);
  b.writeUInt32BE(((0x80 << 24) | n) >>> 0);
  return b;
}

/**
 * A v1 Initial datagram of 1200 bytes with the given ids and token and a junk payload: its header
 * parses, its packet does not decrypt. What a forged or replayed token arrives in.
 */
export function rawInitial(dcid: Uint8Array, scid: Uint8Array, token: Uint8Array): Buffer {
  const head = Buffer.concat([Buffer.from([0xc3, 0, 0, 0, 1, dcid.byteLength]), dcid, Buffer.from([scid.byteLength]), scid, varint(token.byteLength), token]);
  const rest = 1200 - head.byteLength - 2;
  return Buffer.concat([head, varint(rest), randomBytes(rest)]);
}

/** The first datagram a quiche client would send to 127.0.0.1:`port` (a real client Initial), not sent. */
export function clientInitial(port: number): Buffer {
  const config = quiche.Config.withBoringSslCtx(false, false, undefined, undefined, undefined, 'ecdsa_secp256r1_sha256');
  config.setApplicationProtos([ALPN_PROTOCOL]);
  const conn = quiche.Connection.connect(null, randomBytes(16), { host: HOST, port: 1 }, { host: HOST, port }, config);
  const out = Buffer.alloc(1500);
  const result = conn.send(out);
  if (result === null) throw new Error('quiche produced no Initial');
  return Buffer.from(out.subarray(0, result[0]));
}

/**
 * Sends a real client Initial from `socket` to 127.0.0.1:`port` and returns the token of the Retry
 * the listener answers with, or null when none came within `timeoutMs` (ms).
 */
export function fetchRetryToken(socket: dgram.Socket, port: number, timeoutMs = 2_000): Promise<Uint8Array | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.off('message', onMessage);
      resolve(null);
    }, timeoutMs);
    const onMessage = (msg: Buffer): void => {
      try {
        const header = quiche.Header.fromSlice(msg, CID_LEN);
        if (header.ty !== quiche.Type.Retry || header.token === undefined) return;
        clearTimeout(timer);
        socket.off('message', onMessage);
        resolve(header.token);
      } catch {
        // not a Retry: keep waiting
      }
    };
    socket.on('message', onMessage);
    socket.send(clientInitial(port), port, HOST);
  });
}

/**
 * `n` hostile datagrams: random bytes of random length, truncated real Initials, and the 7-byte
 * 0-RTT long header with empty connection ids that crashed @matrixai/quic's QUICServer.
 */
export function garbageDatagrams(port: number, n: number): Buffer[] {
  const real = clientInitial(port);
  const out: Buffer[] = [Buffer.from([0xd0, 0, 0, 0, 1, 0, 0])];
  for (let i = 1; i < n; i++) {
    if (i % 3 === 0) out.push(real.subarray(0, 1 + ((i * 37) % (real.byteLength - 1))));
    else out.push(randomBytes((i * 131) % 1400));
  }
  return out;
}

/** `n` Initials that replay `token` under fresh destination ids (each must be refused). */
export function replayedTokenInitials(token: Uint8Array, n: number): Buffer[] {
  return Array.from({ length: n }, () => rawInitial(randomBytes(CID_LEN), randomBytes(8), token));
}
