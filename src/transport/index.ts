/**
 * The transport module (DESIGN §2): pick an implementation by name. The gateway and the load clients
 * use only the types re-exported here, never a QUIC or TLS library.
 */
import { InvalidInputError } from '../errors.js';
import { quicTransport } from './quic/index.js';
import { tcpTransport } from './tcp.js';
import { WEBTRANSPORT_PATH, webtransportTransport } from './webtransport.js';
import type { Transport, TransportName } from './types.js';

export type {
  CertificateMaterial,
  Connection,
  ConnectionHandlers,
  Dialer,
  DialerOptions,
  ListenOptions,
  Listener,
  Transport,
  TransportName,
} from './types.js';
export {
  generateCertificate,
  loadCertificate,
  fingerprintSha256,
  certificateDaysFor,
  WEBTRANSPORT_CERTIFICATE_DAYS,
} from './certificate.js';
export type { GenerateCertificateOptions } from './certificate.js';
export { ALPN_PROTOCOL } from './quic/index.js';
export { WEBTRANSPORT_PATH, webtransportMode } from './webtransport.js';
export type { WebTransportMode } from './webtransport.js';

/** Accepted transport names, the first being the default. */
export const TRANSPORT_NAMES: readonly TransportName[] = ['quic', 'tcp', 'webtransport'];

const transports: Record<TransportName, Transport> = {
  quic: quicTransport,
  tcp: tcpTransport,
  webtransport: webtransportTransport,
};

/**
 * Returns the transport called `name` (`quic`, `tcp` or `webtransport`).
 *
 * @throws {InvalidInputError} for any other name, naming the accepted values.
 */
export function getTransport(name: string): Transport {
  if (Object.prototype.hasOwnProperty.call(transports, name)) return transports[name as TransportName];
  throw new InvalidInputError(`unknown transport "${name}": accepted values are ${TRANSPORT_NAMES.join(', ')}`);
}

/**
 * The URL a client uses for a gateway listening with `transport` on host:port: `quic://` or
 * `tcp://HOST:PORT`, and `https://HOST:PORT/gate` for WebTransport (what `--target` accepts).
 * IPv6 hosts are bracketed.
 */
export function gatewayUrl(transport: TransportName, host: string, port: number): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return transport === 'webtransport' ? `https://${h}:${port}${WEBTRANSPORT_PATH}` : `${transport}://${h}:${port}`;
}
