/**
 * TLS outcomes of a QUIC dial: verification of IP-literal targets and the errors a failed dial
 * reports.
 *
 * quiche hands a dial's server name to BoringSSL as the expected host name, which matches only DNS
 * subjectAltNames, and an IP literal is not a valid SNI (RFC 6066 §3). For IP targets the dialer
 * therefore lets native verification fail softly (quiche's `verifyAllowFail`) and verifies here once
 * the handshake is done: validity dates, the IP SAN, and a chain to one of the trusted CAs (the `ca`
 * option, else Node's root store).
 */
import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { ConnectTimeoutError, TransportError } from '../../errors.js';
import { ALPN_PROTOCOL, quiche, type QuicheConnectionError } from './config.js';
import { pemBlocks } from './config.js';
import { PEER_IDLE_TIMEOUT_CODE } from '../types.js';

/** TLS alert codes offset by 0x100 (RFC 9001 §4.8), as quiche reports them. */
export const CRYPTO_BAD_CERTIFICATE = 0x100 + 42;
export const CRYPTO_CERTIFICATE_EXPIRED = 0x100 + 45;
export const CRYPTO_UNKNOWN_CA = 0x100 + 48;
export const CRYPTO_NO_APPLICATION_PROTOCOL = 0x100 + 120;

let systemAnchors: X509Certificate[] | undefined;

/** Trust anchors for IP-target verification: the certificates of `caPem`, else Node's root store. */
export function trustAnchors(caPem: string | undefined): X509Certificate[] {
  if (caPem !== undefined) return pemBlocks(caPem).map((pem) => new X509Certificate(pem));
  return (systemAnchors ??= rootCertificates.map((pem) => new X509Certificate(pem)));
}

/**
 * The last chain an IpVerifier trusted: a load run dials the same server thousands of times, and
 * parsing and checking its certificates each time cost about a sixth of the generator's CPU while
 * connecting 10,000 clients.
 */
interface TrustedChain {
  ip: string;
  ders: Buffer[];
  /** validity window of the whole chain, epoch ms */
  notBeforeMs: number;
  notAfterMs: number;
}

/** Verifies IP-target chains (`verifyIpTarget`), remembering the last chain it trusted. */
export class IpVerifier {
  private readonly anchors: X509Certificate[];
  private trusted: TrustedChain | undefined;

  constructor(anchors: X509Certificate[]) {
    this.anchors = anchors;
  }

  /** As `verifyIpTarget`; a chain identical to the last trusted one, for the same IP, is trusted again while valid. */
  verify(certs: Uint8Array[] | null, ip: string): number | undefined {
    const t = this.trusted;
    const now = Date.now();
    if (t !== undefined && certs !== null && t.ip === ip && certs.length === t.ders.length && now >= t.notBeforeMs && now <= t.notAfterMs) {
      let same = true;
      for (let i = 0; i < certs.length && same; i++) same = t.ders[i].equals(certs[i]);
      if (same) return undefined;
    }
    const alert = verifyIpTarget(certs, ip, this.anchors);
    if (alert === undefined && certs !== null) {
      const chain = certs.map((der) => new X509Certificate(der));
      this.trusted = {
        ip,
        ders: certs.map((der) => Buffer.from(der)),
        notBeforeMs: Math.max(...chain.map((c) => Date.parse(c.validFrom))),
        notAfterMs: Math.min(...chain.map((c) => Date.parse(c.validTo))),
      };
    }
    return alert;
  }
}

/**
 * Verifies the server chain `certs` (DER, leaf first) for a dial to IP `ip` against `anchors`.
 * Returns undefined when it is trusted, else the TLS alert (offset 0x100) to close the connection with.
 */
export function verifyIpTarget(certs: Uint8Array[] | null, ip: string, anchors: X509Certificate[]): number | undefined {
  try {
    if (certs === null || certs.length === 0) return CRYPTO_BAD_CERTIFICATE;
    const chain = certs.map((der) => new X509Certificate(der));
    const now = Date.now();
    for (const cert of chain) {
      if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) return CRYPTO_CERTIFICATE_EXPIRED;
    }
    if (chain[0].checkIP(ip) === undefined) return CRYPTO_BAD_CERTIFICATE;
    for (let i = 0; i < chain.length; i++) {
      const cert = chain[i];
      for (const anchor of anchors) {
        if (cert.raw.equals(anchor.raw)) return undefined;
        if (cert.checkIssued(anchor) && cert.verify(anchor.publicKey)) return undefined;
      }
      const issuer = chain[i + 1];
      if (issuer === undefined || !issuer.ca || !cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) break;
    }
    return CRYPTO_UNKNOWN_CA;
  } catch {
    return CRYPTO_BAD_CERTIFICATE;
  }
}

function isCrypto(code: number): boolean {
  return code >= quiche.CRYPTO_ERROR_START && code <= quiche.CRYPTO_ERROR_STOP;
}

function reasonText(error: QuicheConnectionError): string {
  return error.reason.byteLength > 0 ? `: ${Buffer.from(error.reason).toString()}` : '';
}

/**
 * The error a dial to `target` rejects with when its connection closed before it was established:
 * a TLS failure names the fix (--insecure / --ca), a wrong ALPN says the server is not gatectl.
 */
export function dialFailure(
  target: string,
  local: QuicheConnectionError | null,
  peer: QuicheConnectionError | null,
  timedOut: boolean,
  timeoutMs: number,
): TransportError {
  const error = local ?? peer;
  if (error === null) {
    if (timedOut) return dialTimeout(target, timeoutMs);
    return new TransportError(`QUIC connect to ${target} failed: the connection closed during the handshake`);
  }
  if (!error.isApp && error.errorCode === CRYPTO_NO_APPLICATION_PROTOCOL) {
    return new TransportError(
      `QUIC connect to ${target} failed: the server does not speak ALPN ${ALPN_PROTOCOL} (is it a gatectl server?)`,
    );
  }
  if (!error.isApp && isCrypto(error.errorCode)) {
    return new TransportError(
      `QUIC connect to ${target} failed: TLS verification of the server certificate failed (TLS alert ${error.errorCode - 0x100}). ` +
        'For a self-signed target use --insecure, or trust its certificate with --ca FILE',
    );
  }
  const by = error === local ? 'local side' : 'server';
  return new TransportError(
    `QUIC connect to ${target} failed: closed by the ${by} with ${error.isApp ? 'application' : 'transport'} code ${error.errorCode}${reasonText(error)}`,
  );
}

/** The ConnectTimeoutError of a dial to `target` that got no handshake within `timeoutMs` (ms). */
export function dialTimeout(target: string, timeoutMs: number): ConnectTimeoutError {
  return new ConnectTimeoutError(
    `QUIC connect to ${target} timed out after ${timeoutMs} ms: the target may be down or not listening on UDP. ` +
      'Check that `gatectl serve` is running there and that the host and port are right',
  );
}

/**
 * What `handlers.close` gets when an established connection to `remote` ends: undefined for a normal
 * close (application code 0 from either side), a TransportError otherwise.
 */
export function closeFailure(
  remote: string,
  local: QuicheConnectionError | null,
  peer: QuicheConnectionError | null,
  timedOut: boolean,
  idleTimeoutMs: number,
): Error | undefined {
  if (peer !== null) {
    if (peer.isApp && peer.errorCode === 0) return undefined;
    return new TransportError(
      `QUIC connection to ${remote} closed by the peer with ${peer.isApp ? 'application' : 'transport'} code ${peer.errorCode}${reasonText(peer)}`,
    );
  }
  if (timedOut) return new TransportError(`QUIC connection to ${remote} timed out: no packet for ${idleTimeoutMs} ms`, PEER_IDLE_TIMEOUT_CODE);
  if (local !== null) {
    if (local.isApp && local.errorCode === 0) return undefined;
    return new TransportError(
      `QUIC connection to ${remote} closed by the local side with ${local.isApp ? 'application' : 'transport'} code ${local.errorCode}${reasonText(local)}`,
    );
  }
  return new TransportError(`QUIC connection to ${remote} ended`);
}
