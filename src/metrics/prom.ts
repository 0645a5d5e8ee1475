/**
 * prom-client helpers shared by every `/metrics` contributor (gateway, quota, VineQueue): metrics
 * whose values are computed from live figures at scrape time (prom-client's custom-metric interface,
 * an object with `name` and `get()`), so nothing is recorded twice, and the conversion of an HDR µs
 * histogram into Prometheus histogram samples (seconds).
 */
import { JsHistogram, type Histogram as HdrHistogram } from 'hdr-histogram-js';

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

/**
 * Per histogram layout (all factory histograms share one): the value each counts-array index stands
 * for (its highest equivalent value, µs), computed once.
 */
const indexValues = new Map<string, Float64Array>();

/**
 * Builds the index-value table of `h`'s layout now (about 10 ms, once per layout) instead of at the
 * first conversion, e.g. when a monitor starts rather than during its first scrape.
 */
export function prepareHdrConversion(h: HdrHistogram): void {
  if (h instanceof JsHistogram) valuesOf(h);
}

function valuesOf(h: JsHistogram): Float64Array {
  const key = `${h.countsArrayLength}/${h.lowestDiscernibleValue}/${h.numberOfSignificantValueDigits}`;
  let v = indexValues.get(key);
  if (v === undefined) {
    v = new Float64Array(h.countsArrayLength);
    for (let i = 0; i < v.length; i++) v[i] = h.highestEquivalentValue(h.valueFromIndex(i));
    indexValues.set(key, v);
  }
  return v;
}

/**
 * Cumulative bucket counts, `_sum` (s) and `_count` of an HDR histogram recorded in µs, with `labels`.
 * Each recorded value counts as the highest value equivalent to it (HdrHistogram's
 * `valueIteratedTo`). Cost: one pass over the counts array up to the largest recorded value (about
 * 18,000 entries for a 60 s range at 3 digits) against a table of index values built once, a few
 * tens of µs per histogram; the recorded-values iterator it replaces took several ms per histogram
 * (issue 16: a `/metrics` scrape held the gateway's event loop for 12-17 ms).
 */
export function hdrToPromValues(name: string, h: HdrHistogram, labels: Record<string, string>): PromValue[] {
  const n = STAGE_BUCKETS_S.length;
  const counts = new Array<number>(n).fill(0);
  let sumUs = 0;
  if (h.totalCount > 0 && h instanceof JsHistogram) {
    const values = valuesOf(h);
    const last = Math.min(h.countsArrayIndex(h.maxValue), values.length - 1);
    let b = 0;
    let boundUs = STAGE_BUCKETS_S[0]! * 1e6;
    for (let i = 0; i <= last; i++) {
      const c = h.getCountAtIndex(i);
      if (c === 0) continue;
      const us = values[i]!;
      sumUs += us * c;
      while (b < n && us > boundUs) boundUs = ++b < n ? STAGE_BUCKETS_S[b]! * 1e6 : Infinity;
      if (b < n) counts[b]! += c; // the first bucket that holds it; made cumulative below
    }
  } else if (h.totalCount > 0) {
    const it = (h as unknown as { recordedValuesIterator: { reset(): void; hasNext(): boolean; next(): { valueIteratedTo: number; countAtValueIteratedTo: number } } }).recordedValuesIterator;
    it.reset();
    while (it.hasNext()) {
      const v = it.next();
      sumUs += v.valueIteratedTo * v.countAtValueIteratedTo;
      const s = v.valueIteratedTo / 1e6;
      const b = STAGE_BUCKETS_S.findIndex((le) => s <= le);
      if (b >= 0) counts[b]! += v.countAtValueIteratedTo;
    }
  }
  for (let i = 1; i < n; i++) counts[i]! += counts[i - 1]!;
  const out: PromValue[] = STAGE_BUCKETS_S.map((le, i) => ({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: counts[i]! }));
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.totalCount });
  out.push({ metricName: `${name}_sum`, labels, value: sumUs / 1e6 });
  out.push({ metricName: `${name}_count`, labels, value: h.totalCount });
  return out;
}
