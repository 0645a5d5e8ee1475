/** Wire protocol: message shapes and the varint-delimited frame codec (DESIGN §3). */
export * from './messages.js';
export * from './codec.js';
export * from './client-frames.js';
