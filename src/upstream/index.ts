/**
 * Upstream services the gateway calls (seed 004 §2.1 callUpstreamService, §3.1 routing, §3.4
 * timeout, §5.2 errors): the Upstream interface, the in-process MockUpstream, HttpUpstream (HTTP
 * client on an undici Pool) and the mock upstream HTTP server. Contract: top of contract.ts.
 */
export * from './errors.js';
export * from './routing.js';
export * from './mock.js';
export * from './contract.js';
export * from './http-client.js';
export * from './http-server.js';
