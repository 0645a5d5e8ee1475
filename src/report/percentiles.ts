/**
 * The latency statistics a report shows (`--percentiles`, issue 12 §5; k6's `summaryTrendStats`):
 * a list of percentiles and, if asked for, min, mean and max, in the order given. The default,
 * `50,90,95,99,99.9,max`, is what the reports showed before plus p95 (k6 prints p(95) by default).
 * Values are read from the result's encoded HDR histograms (µs), so any percentile of any run can be
 * shown, also of results written before the option existed; the stored summary is used when it
 * already holds the value (p50, p90, p99, p99.9, min, mean, max).
 */
import { decodeHistogram, type EncodedLatency, type LatencySummary } from '../metrics/histogram.js';
import type { RunResult } from '../metrics/result.js';
import { InvalidInputError } from '../errors.js';

/** One statistic of a latency histogram: a percentile `p` (0 < p ≤ 100) or min, mean or max. */
export type LatencyStat = { kind: 'percentile'; p: number } | { kind: 'min' | 'mean' | 'max' };

/** The default `--percentiles`: p50, p90, p95, p99, p99.9 and max. */
export const DEFAULT_PERCENTILES = '50,90,95,99,99.9,max';

/**
 * Parses a `--percentiles` list: comma-separated items, each a percentile (`95`, `99.9`, `p95`,
 * `p(99.9)`, `med` = 50) or `min`, `mean` (`avg`), `max`. Duplicates are dropped, the order is kept.
 * Throws InvalidInputError naming the bad item and giving an example.
 */
export function parsePercentiles(text: string): LatencyStat[] {
  const example = `e.g. --percentiles ${DEFAULT_PERCENTILES} (percentiles above 0 and at most 100, and min, mean, max)`;
  const items = text.split(',').map((x) => x.trim().toLowerCase());
  if (items.length === 0 || items.every((x) => x === '')) throw new InvalidInputError(`--percentiles ${JSON.stringify(text)} is empty; ${example}`);
  const out: LatencyStat[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    let stat: LatencyStat;
    if (item === 'min' || item === 'max' || item === 'mean') stat = { kind: item };
    else if (item === 'avg') stat = { kind: 'mean' };
    else if (item === 'med') stat = { kind: 'percentile', p: 50 };
    else {
      const m = /^(?:p\(?)?([0-9]+(?:\.[0-9]+)?)\)?$/.exec(item);
      const p = m === null ? NaN : Number(m[1]);
      if (!Number.isFinite(p) || p <= 0 || p > 100) throw new InvalidInputError(`--percentiles: ${JSON.stringify(item)} is not a percentile (above 0, at most 100) nor min, mean or max; ${example}`);
      stat = { kind: 'percentile', p };
    }
    const label = statLabel(stat);
    if (seen.has(label)) continue;
    seen.add(label);
    out.push(stat);
  }
  return out;
}

/** Display label of a statistic: `p50`, `p99.9`, `min`, `mean`, `max`. */
export function statLabel(s: LatencyStat): string {
  return s.kind === 'percentile' ? `p${s.p}` : s.kind;
}

/**
 * Key of a statistic in the result's naming (LatencySummary style, µs): `p50_us`, `p95_us`,
 * `p999_us` (p99.9), `p9999_us`, `min_us`, `mean_us`, `max_us`.
 */
export function statKey(s: LatencyStat): string {
  return s.kind === 'percentile' ? `p${String(s.p).replace('.', '')}_us` : `${s.kind}_us`;
}

/** The statistics a run's reports show: the ones it was run with (`RunResult.percentiles`), else the default. */
export function runPercentiles(r: RunResult): LatencyStat[] {
  return parsePercentiles(r.percentiles !== undefined && r.percentiles.length > 0 ? r.percentiles.join(',') : DEFAULT_PERCENTILES);
}

const SUMMARY_PERCENTILES: Record<number, keyof LatencySummary> = { 50: 'p50_us', 90: 'p90_us', 99: 'p99_us', 99.9: 'p999_us' };

/**
 * The values of `stats` for one latency, in µs, in the order of `stats`; all null when the histogram
 * has no sample. Decodes the histogram (a few ms) only when a percentile is not in the summary.
 * Throws Error when the encoded histogram is invalid.
 */
export function statValuesUs(lat: EncodedLatency, stats: readonly LatencyStat[]): (number | null)[] {
  const s = lat.summary;
  if (s.count === 0) return stats.map(() => null);
  let h: ReturnType<typeof decodeHistogram> | null = null;
  return stats.map((st) => {
    if (st.kind !== 'percentile') return s[`${st.kind}_us`];
    const key = SUMMARY_PERCENTILES[st.p];
    if (key !== undefined) return s[key];
    h ??= decodeHistogram(lat.histogram);
    return h.getValueAtPercentile(st.p);
  });
}
