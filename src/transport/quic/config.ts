/**
 * quiche through @matrixai/quic's native binding (`native.quiche`, napi-rs over Cloudflare quiche):
 * the constants of gatectl's QUIC endpoints and the quiche `Config` each side uses. Only the native
 * binding is used; the library's JavaScript layer (QUICServer, QUICClient, QUICSocket, QUICStream)
 * is not (issue 13).
 */
// The subpath loads only the binding, not the library's JS layer and its dependencies.
import { quiche as nativeQuiche } from '@matrixai/quic/native/index.js';
import type * as native from '@matrixai/quic/native/types.js';
import { TransportError } from '../../errors.js';
import { errorText } from '../util.js';

/** The quiche binding. */
export const quiche = nativeQuiche;
export type QuicheConfig = native.Config;
export type QuicheConnection = native.Connection;
export type QuicheHostPort = native.Host;
export type QuicheRecvInfo = native.RecvInfo;
export type QuicheConnectionError = native.ConnectionError;

/** ALPN protocol id negotiated by gatectl's QUIC and TCP transports. */
export const ALPN_PROTOCOL = 'gatesvr/1';
/** UDP receive (and send) buffer asked for on every QUIC socket, in bytes (4 MiB). */
export const UDP_RECV_BUFFER_BYTES = 4 * 1024 * 1024;
/** Idle timeout of a QUIC connection, in ms: a peer silent for this long is dropped. */
export const QUIC_MAX_IDLE_TIMEOUT_MS = 60_000;
/** Keep-alive interval, in ms: a connection that sent nothing for this long sends a PING. */
export const QUIC_KEEP_ALIVE_INTERVAL_MS = 15_000;
/** Server-side limit for a handshake to complete, in ms (half-open handshakes are dropped after it). */
export const QUIC_SERVER_HANDSHAKE_TIMEOUT_MS = 10_000;
/** An established server connection that opened no stream within this many ms is closed (issue 13). */
export const QUIC_STREAMLESS_TIMEOUT_MS = 5_000;
/** Handshakes a Dialer runs at once; further `dial()` calls wait in a queue. */
export const MAX_HANDSHAKES_IN_FLIGHT = 100;
/** Handshakes a Listener keeps in progress at once; Initials beyond it are dropped and counted. */
export const MAX_SERVER_HANDSHAKES_IN_FLIGHT = 256;
/** Lifetime of a stateless-retry token, in ms (RFC 9000 §8.1.3: short-lived). */
export const RETRY_TOKEN_LIFETIME_MS = 5_000;
/** Largest UDP payload gatectl sends or accepts, in bytes (quiche's MAX_DATAGRAM_SIZE, 1350). */
export const MAX_DATAGRAM_SIZE: number = quiche.MAX_DATAGRAM_SIZE;
/** RFC 9000 §14.1: a client's Initial must be carried in a datagram of at least 1200 bytes. */
export const MIN_INITIAL_DATAGRAM_BYTES: number = quiche.MIN_CLIENT_INITIAL_LEN;
/** The only stream of a gatectl connection: the client's first bidirectional stream (DESIGN §2). */
export const STREAM_ID = 0;

/** Per-stream and per-connection flow-control windows, in bytes. */
const INITIAL_MAX_STREAM_DATA = 1024 * 1024;
const INITIAL_MAX_DATA = 10 * 1024 * 1024;

/** Signature algorithms BoringSSL offers (the RSA-PSS-PSS and ed448 ones it lacks are left out). */
const SIGALGS = [
  'rsa_pkcs1_sha256',
  'rsa_pkcs1_sha384',
  'rsa_pkcs1_sha512',
  'rsa_pss_rsae_sha256',
  'rsa_pss_rsae_sha384',
  'rsa_pss_rsae_sha512',
  'ecdsa_secp256r1_sha256',
  'ecdsa_secp384r1_sha384',
  'ecdsa_secp521r1_sha512',
  'ed25519',
].join(':');

const encoder = new TextEncoder();

/** PEM blocks of `pem` (certificates or keys), each as one string with its BEGIN/END lines. */
export function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN [^-]+-----[\s\S]+?-----END [^-]+-----/g) ?? [];
}

/** Transport parameters both sides share; the stream limits allow the client exactly one stream. */
function applyCommon(config: QuicheConfig, side: 'client' | 'server', idleTimeoutMs: number, streamWindowBytes?: number): QuicheConfig {
  config.setApplicationProtos([ALPN_PROTOCOL]);
  config.setMaxIdleTimeout(idleTimeoutMs);
  config.setMaxRecvUdpPayloadSize(MAX_DATAGRAM_SIZE);
  config.setMaxSendUdpPayloadSize(MAX_DATAGRAM_SIZE);
  config.setInitialMaxData(INITIAL_MAX_DATA);
  config.setInitialMaxStreamDataBidiLocal(INITIAL_MAX_STREAM_DATA);
  config.setInitialMaxStreamDataBidiRemote(INITIAL_MAX_STREAM_DATA);
  config.setInitialMaxStreamDataUni(0);
  if (streamWindowBytes !== undefined) {
    // a small receive window that never grows (quiche would auto-tune it): the slow-reader fault
    config.setInitialMaxStreamDataBidiLocal(streamWindowBytes);
    config.setMaxStreamWindow(streamWindowBytes);
  }
  // The server lets the client open one bidirectional stream; the client lets the server open none.
  config.setInitialMaxStreamsBidi(side === 'server' ? 1 : 0);
  config.setInitialMaxStreamsUni(0);
  config.setDisableActiveMigration(true);
  config.grease(true);
  return config;
}

/**
 * The quiche Config of a listener: its certificate chain and key (PEM), no client certificates.
 *
 * @throws {TransportError} when BoringSSL refuses the certificate or key.
 */
export function serverConfig(certPem: string, keyPem: string, idleTimeoutMs = QUIC_MAX_IDLE_TIMEOUT_MS): QuicheConfig {
  try {
    const config = quiche.Config.withBoringSslCtx(
      false,
      false,
      undefined,
      pemBlocks(keyPem).map((k) => encoder.encode(k)),
      [encoder.encode(certPem)],
      SIGALGS,
    );
    return applyCommon(config, 'server', idleTimeoutMs);
  } catch (error) {
    throw new TransportError(`quiche refused the certificate or key: ${errorText(error)} (check the certificate and key PEM)`, 'GATECTL_TRANSPORT', {
      cause: error,
    });
  }
}

/**
 * The quiche Config of a dialer. `verifyPeer` checks the server's chain (against `caPem`, else the
 * system store); `verifyAllowFail` lets a failed native check through so gatectl can verify itself
 * (IP-literal targets, see verify.ts). `streamWindowBytes`, when given, is the stream receive window
 * the client advertises and keeps (bytes; default 1 MiB, auto-tuned), see DialerOptions.receiveWindowBytes.
 *
 * @throws {TransportError} when BoringSSL refuses the CA PEM.
 */
export function clientConfig(
  verifyPeer: boolean,
  verifyAllowFail: boolean,
  caPem: string | undefined,
  idleTimeoutMs = QUIC_MAX_IDLE_TIMEOUT_MS,
  streamWindowBytes?: number,
): QuicheConfig {
  try {
    const ca = caPem !== undefined && verifyPeer ? encoder.encode(pemBlocks(caPem).join('\n')) : undefined;
    const config = quiche.Config.withBoringSslCtx(verifyPeer, verifyAllowFail, ca, undefined, undefined, SIGALGS);
    return applyCommon(config, 'client', idleTimeoutMs, streamWindowBytes);
  } catch (error) {
    throw new TransportError(`quiche refused the CA certificate: ${errorText(error)} (check the --ca PEM file)`, 'GATECTL_TRANSPORT', {
      cause: error,
    });
  }
}
