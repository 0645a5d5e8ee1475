/** Upstream services the gateway calls (seed 004 §3.4); for now the in-process mock. */
export * from './mock.js';
