/**
 * The `quic` transport (DESIGN §2; issue 13): QUIC v1 and TLS 1.3 by Cloudflare quiche, driven
 * directly through @matrixai/quic's native binding. gatectl owns the UDP sockets, the timers and the
 * send pass (endpoint.ts); ALPN `gatesvr/1`, X.509 certificates in PEM, one client-opened
 * bidirectional stream per connection.
 */
import type { Transport } from '../types.js';
import { createQuicDialer } from './client.js';
import { listenQuic } from './server.js';

export {
  ALPN_PROTOCOL,
  MAX_HANDSHAKES_IN_FLIGHT,
  MAX_SERVER_HANDSHAKES_IN_FLIGHT,
  QUIC_KEEP_ALIVE_INTERVAL_MS,
  QUIC_MAX_IDLE_TIMEOUT_MS,
  RETRY_TOKEN_LIFETIME_MS,
  UDP_RECV_BUFFER_BYTES,
} from './config.js';
export { createQuicDialer } from './client.js';
export type { QuicDialer } from './client.js';
export { listenQuic } from './server.js';
export type { QuicListenOptions, QuicListener } from './server.js';
export type { QuicEndpointStats } from './endpoint.js';
export type { DropReason } from './packet.js';

/** The `quic` transport: quiche through its native binding, QUIC v1, TLS 1.3, ALPN `gatesvr/1`. */
export const quicTransport: Transport = {
  name: 'quic',
  listen: listenQuic,
  createDialer: createQuicDialer,
};
