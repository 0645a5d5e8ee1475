/** The gateway (seed 004) and its in-process harness. */
export * from './config.js';
export * from './session.js';
export * from './ordered-sender.js';
export * from './processor.js';
export * from './server.js';
export * from './in-process.js';
export * from './counters.js';
export * from './crash-policy.js';
