/** VineQueue (seed 002): durable async batch queue with WAL, circuit breaker and backpressure. */
export { create, VineQueue, type SendContext, type SendFn, type Sink, type StopResult, type VineMetrics } from './queue.js';
export { defaultConfig, v2Config, V4Config, v4Config, validateConfig, cpuCount, type Architecture, type VineQueueConfig } from './config.js';
export { BackpressureError, CircuitOpenError, VineQueueClosedError, VineQueueFullError, SinkError, WalCorruptError, WalKeyError, VINEQUEUE_CODES } from './errors.js';
export { CircuitBreaker, type CircuitState } from './breaker.js';
export { createHttpSink, toNdjson, type HttpSinkOptions, type HttpSinkPayload } from './http-sink.js';
export { createEventExporter, type EventExporter, type EventExporterMetrics, type EventExporterOptions, type GatewayEvent } from './event-export.js';
export { registerVineQueueMetrics } from './prometheus.js';
export { loadWalKey, WAL_HEADER_BYTES, WAL_RECORD_OVERHEAD } from './wal.js';
