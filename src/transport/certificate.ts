/**
 * Certificate material for the transports (DESIGN §2): a self-signed certificate generated at start
 * (`gatectl serve` without `--cert/--key`), or PEM files loaded from disk.
 *
 * The generated certificate is ECDSA P-256 signed with SHA-256: accepted by quiche/BoringSSL
 * (`ecdsa_secp256r1_sha256` is in `@matrixai/quic`'s default sigalgs) and by `node:tls`, and its
 * handshakes are much cheaper than RSA-2048 at 1000+ connections.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { generate } from 'selfsigned';
import { InvalidInputError } from '../errors.js';
import type { CertificateMaterial, TransportName } from './types.js';
import { errorText } from './util.js';

/** Hosts put into the subjectAltName of a generated certificate when none are given. */
export const DEFAULT_CERTIFICATE_HOSTS: readonly string[] = ['127.0.0.1', '::1', 'localhost'];

/** Default validity of a generated certificate, in days. */
export const DEFAULT_CERTIFICATE_DAYS = 30;

/**
 * Validity of a certificate generated for the `webtransport` transport, in days: WebTransport
 * certificate-hash pinning (`serverCertificateHashes`, how clients accept a self-signed server) only
 * accepts certificates valid for at most 14 days (W3C WebTransport; enforced by
 * `@fails-components/webtransport`).
 */
export const WEBTRANSPORT_CERTIFICATE_DAYS = 14;

/**
 * Validity in days for a certificate generated at start for `transport`: 14 for `webtransport`
 * (`WEBTRANSPORT_CERTIFICATE_DAYS`), 30 otherwise (`DEFAULT_CERTIFICATE_DAYS`).
 * Use: `generateCertificate({ days: certificateDaysFor(config.transport) })`.
 */
export function certificateDaysFor(transport: TransportName): number {
  return transport === 'webtransport' ? WEBTRANSPORT_CERTIFICATE_DAYS : DEFAULT_CERTIFICATE_DAYS;
}

/** Options for `generateCertificate`. */
export interface GenerateCertificateOptions {
  /**
   * IP addresses and DNS names the certificate is valid for (subjectAltName). IPs become IP SANs,
   * anything else a DNS SAN. Default: `127.0.0.1`, `::1`, `localhost`.
   */
  hosts?: string[];
  /**
   * Validity in days from its start (one minute ago); default 30 (`DEFAULT_CERTIFICATE_DAYS`).
   * At most 14 (`WEBTRANSPORT_CERTIFICATE_DAYS`) when clients pin it over WebTransport.
   */
  days?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * SHA-256 fingerprint of a PEM certificate: upper-case hex pairs joined by `:` (the format of
 * `openssl x509 -fingerprint -sha256`).
 *
 * @throws {InvalidInputError} when `certPem` does not parse as an X.509 certificate.
 */
export function fingerprintSha256(certPem: string): string {
  try {
    return new X509Certificate(certPem).fingerprint256;
  } catch (error) {
    throw new InvalidInputError(`certificate is not a valid PEM X.509 certificate: ${errorText(error)}`, {
      cause: error,
    });
  }
}

/**
 * Generates a self-signed ECDSA P-256 / SHA-256 server certificate valid from one minute ago for
 * `days` days (default 30), with subjectAltNames for `hosts` (default `127.0.0.1`, `::1`, `localhost`).
 * The certificate is its own trust anchor: a client that passes its `certPem` as `ca` verifies it.
 *
 * @throws {InvalidInputError} when `hosts` is empty or `days` is not a positive number.
 */
export async function generateCertificate(opts: GenerateCertificateOptions = {}): Promise<CertificateMaterial> {
  const hosts = opts.hosts ?? [...DEFAULT_CERTIFICATE_HOSTS];
  const days = opts.days ?? DEFAULT_CERTIFICATE_DAYS;
  if (hosts.length === 0) {
    throw new InvalidInputError('generateCertificate: hosts must name at least one IP address or DNS name');
  }
  if (!Number.isFinite(days) || days <= 0) {
    throw new InvalidInputError(`generateCertificate: days must be a positive number, got ${String(days)}`);
  }
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + days * DAY_MS);
  const commonName = hosts.find((h) => isIP(h) === 0) ?? hosts[0];
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      // cA so that the certificate can be passed as the trust anchor (`--ca`) by OpenSSL/BoringSSL.
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: hosts.map((h) => (isIP(h) !== 0 ? { type: 7 as const, ip: h } : { type: 2 as const, value: h })),
      },
    ],
  });
  return { certPem: pems.cert, keyPem: pems.private, fingerprintSha256: fingerprintSha256(pems.cert) };
}

/**
 * Reads a PEM certificate (chain) and its PEM private key from disk and computes the certificate's
 * SHA-256 fingerprint.
 *
 * @throws {InvalidInputError} naming the file when a file is missing or unreadable, is not PEM, does
 *   not parse, or when the key does not belong to the certificate.
 */
export async function loadCertificate(certPath: string, keyPath: string): Promise<CertificateMaterial> {
  const certPem = await readPemFile(certPath, 'certificate', '--cert');
  const keyPem = await readPemFile(keyPath, 'private key', '--key');
  if (!/-----BEGIN CERTIFICATE-----/.test(certPem)) {
    throw new InvalidInputError(
      `certificate file ${certPath} has no "-----BEGIN CERTIFICATE-----" block: --cert must be a PEM X.509 certificate`,
    );
  }
  if (!/-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/.test(keyPem)) {
    throw new InvalidInputError(
      `key file ${keyPath} has no "-----BEGIN ... PRIVATE KEY-----" block: --key must be an unencrypted PEM private key`,
    );
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (error) {
    throw new InvalidInputError(`certificate file ${certPath} does not parse as X.509: ${errorText(error)}`, {
      cause: error,
    });
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    throw new InvalidInputError(
      `key file ${keyPath} does not parse as a private key (encrypted keys are not supported): ${errorText(error)}`,
      { cause: error },
    );
  }
  if (!cert.checkPrivateKey(key)) {
    throw new InvalidInputError(`key file ${keyPath} does not belong to the certificate in ${certPath}`);
  }
  return { certPem, keyPem, fingerprintSha256: cert.fingerprint256 };
}

async function readPemFile(path: string, what: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : `cannot be read (${errorText(error)})`;
    throw new InvalidInputError(`${what} file ${path} ${why}: check the ${flag} path`, { cause: error });
  }
}

