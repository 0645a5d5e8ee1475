/** Async quota (seed 003): public API of the module. */
export * from './types.js';
export * from './config.js';
export { BoundedChannel, TIMEOUT, CLOSED } from './channel.js';
export { QuotaConsumer, defaultQuotaLogger, type QuotaLogger, type QuotaConsumerOptions, type ConsumerHealth, type ConsumerStopResult } from './consumer.js';
export { openSqliteQuotaStore, SqliteQuotaStore, type QuotaStore, type SqliteStoreOptions, type UsageRow, type ApplyEventsResult, type DurableQuotaEvent } from './store.js';
export {
  DurableQuotaLog, claimWalDir, describeRecovery, WAL_MARKER_FILE, WAL_FORMAT,
  type DurableQuotaOptions, type DurableQuotaStats, type QuotaRecoveryReport,
} from './durable.js';
export { QuotaService, type QuotaMode, type QuotaServiceOptions, type QuotaServiceCounters, type QuotaStopResult, type ConsumePath } from './service.js';
export { quotaStatsJson, quotaHealthJson, registerQuotaMetrics, QUOTA_ENDPOINTS } from './monitor.js';
