/**
 * Scenario files (issue 4 §3): schema, loader and the stage schedule the load engine follows.
 * See docs/load-engine.md for the YAML form.
 */
export * from './types.js';
export * from './schema.js';
export * from './schedule.js';
export * from './load.js';
export * from './mix.js';
