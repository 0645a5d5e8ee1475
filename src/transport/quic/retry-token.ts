/**
 * Stateless-retry tokens (RFC 9000 §8.1.2-8.1.4): the listener answers a client's first Initial with
 * a Retry carrying this token, and creates connection state only for an Initial that returns a valid
 * one, so a spoofed source address cannot make the listener keep state or amplify traffic.
 *
 * Layout (all lengths in bytes): `g1` (2) | issue time, ms since the epoch (6) | odcid length (1) |
 * odcid | retry source connection id (CID_LEN) | HMAC-SHA256 (32) over everything before it and the
 * client's IP address. A token is valid only from that IP, for `RETRY_TOKEN_LIFETIME_MS`, and only in
 * an Initial whose destination connection id is the retry source connection id it was issued with
 * (so a replayed token cannot open fresh connections under fresh connection ids).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { CID_LEN } from './packet.js';
import { RETRY_TOKEN_LIFETIME_MS } from './config.js';

const MAGIC_0 = 0x67; // 'g'
const MAGIC_1 = 0x31; // '1'
const HEADER_BYTES = 2 + 6 + 1;
const MAC_BYTES = 32;
/** Longest connection id QUIC v1 allows (RFC 9000 §17.2). */
const MAX_CID_BYTES = 20;
/** Tolerated clock step backwards between minting and validating, in ms. */
const CLOCK_SKEW_MS = 1_000;

/** Why a token was refused; also the `invalid_datagrams` reason it is counted under. */
export type TokenRefusal = 'bad_token' | 'expired_token' | 'token_dcid_mismatch';

/** Mints and checks the retry tokens of one listener, under a key of its own (32 random bytes). */
export class RetryTokens {
  private readonly key = randomBytes(32);
  private readonly lifetimeMs: number;

  /** @param lifetimeMs how long a token stays valid, in ms (default RETRY_TOKEN_LIFETIME_MS). */
  constructor(lifetimeMs = RETRY_TOKEN_LIFETIME_MS) {
    this.lifetimeMs = lifetimeMs;
  }

  private mac(body: Uint8Array, address: string): Buffer {
    return createHmac('sha256', this.key).update(body).update(address).digest();
  }

  /**
   * A token for a client at `address` (IP text) whose first Initial had destination id `odcid`, to be
   * sent in a Retry whose source connection id is `retryScid` (CID_LEN bytes). `nowMs`: epoch ms.
   */
  mint(odcid: Uint8Array, retryScid: Uint8Array, address: string, nowMs: number): Buffer {
    const token = Buffer.allocUnsafe(HEADER_BYTES + odcid.byteLength + CID_LEN + MAC_BYTES);
    token[0] = MAGIC_0;
    token[1] = MAGIC_1;
    token.writeUIntBE(Math.floor(nowMs), 2, 6);
    token[8] = odcid.byteLength;
    token.set(odcid, HEADER_BYTES);
    token.set(retryScid, HEADER_BYTES + odcid.byteLength);
    const bodyEnd = HEADER_BYTES + odcid.byteLength + CID_LEN;
    this.mac(token.subarray(0, bodyEnd), address).copy(token, bodyEnd);
    return token;
  }

  /**
   * Checks `token` from an Initial sent from `address` (IP text) to destination id `dcid`.
   * Returns the original destination connection id (for quiche's `accept`), or why it was refused.
   */
  validate(token: Uint8Array, dcid: Uint8Array, address: string, nowMs: number): Uint8Array | TokenRefusal {
    if (token.byteLength < HEADER_BYTES + CID_LEN + MAC_BYTES || token[0] !== MAGIC_0 || token[1] !== MAGIC_1) {
      return 'bad_token';
    }
    const odcidLen = token[8];
    const bodyEnd = HEADER_BYTES + odcidLen + CID_LEN;
    if (odcidLen > MAX_CID_BYTES || token.byteLength !== bodyEnd + MAC_BYTES) return 'bad_token';
    const buf = Buffer.from(token.buffer, token.byteOffset, token.byteLength);
    const expected = this.mac(buf.subarray(0, bodyEnd), address);
    if (!timingSafeEqual(expected, buf.subarray(bodyEnd))) return 'bad_token';
    const age = nowMs - buf.readUIntBE(2, 6);
    if (age > this.lifetimeMs || age < -CLOCK_SKEW_MS) return 'expired_token';
    const retryScid = buf.subarray(HEADER_BYTES + odcidLen, bodyEnd);
    if (dcid.byteLength !== CID_LEN || !retryScid.equals(dcid)) return 'token_dcid_mismatch';
    return Buffer.from(buf.subarray(HEADER_BYTES, HEADER_BYTES + odcidLen));
  }
}
