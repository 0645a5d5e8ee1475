/**
 * prom-client helpers shared by every `/metrics` contributor (gateway, quota, VineQueue): metrics
 * whose values are computed from live figures at scrape time (prom-client's custom-metric interface,
 * an object with `name` and `get()`), so nothing is recorded twice, and the conversion of an HDR µs
 * histogram into Prometheus histogram samples (seconds).
 */
import type { Histogram as HdrHistogram } from 'hdr-histogram-js';

/** One sample: a value with labels (and, for histogram series, the series name). */
export interface PromValue { value: number; labels: Record<string, string | number>; metricName?: string }

/** Prometheus metric types used here. */
export type PromType = 'counter' | 'gauge' | 'histogram';

/** Bucket upper bounds of converted HDR histograms, in seconds (10 µs … 30 s). */
export const STAGE_BUCKETS_S = [0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** A metric whose samples `values()` computes on each scrape; register it with `registry.registerMetric`. */
export function computedMetric(name: string, help: string, type: PromType, values: () => PromValue[]) {
  return {
    name,
    help,
    type,
    aggregator: 'sum' as const,
    get: async () => ({ name, help, type, aggregator: 'sum' as const, values: values() }),
  };
}

/** Cumulative bucket counts, `_sum` (s) and `_count` of an HDR histogram recorded in µs, with `labels`. */
export function hdrToPromValues(name: string, h: HdrHistogram, labels: Record<string, string>): PromValue[] {
  const counts = new Array<number>(STAGE_BUCKETS_S.length).fill(0);
  let sumUs = 0;
  const it = (h as unknown as { recordedValuesIterator: { reset(): void; hasNext(): boolean; next(): { valueIteratedTo: number; countAtValueIteratedTo: number } } }).recordedValuesIterator;
  it.reset();
  while (it.hasNext()) {
    const v = it.next();
    sumUs += v.valueIteratedTo * v.countAtValueIteratedTo;
    const s = v.valueIteratedTo / 1e6;
    for (let i = 0; i < STAGE_BUCKETS_S.length; i++) if (s <= STAGE_BUCKETS_S[i]!) counts[i] += v.countAtValueIteratedTo;
  }
  const out: PromValue[] = STAGE_BUCKETS_S.map((le, i) => ({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: counts[i]! }));
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.totalCount });
  out.push({ metricName: `${name}_sum`, labels, value: sumUs / 1e6 });
  out.push({ metricName: `${name}_count`, labels, value: h.totalCount });
  return out;
}
