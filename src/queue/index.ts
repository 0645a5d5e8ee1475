/** The ordered send path: OrderedMessageQueue, the send worker pool and SendQueueStats (seeds 000, 001). */
export * from './config.js';
export * from './stats.js';
export * from './ordered-queue.js';
export * from './worker-pool.js';
