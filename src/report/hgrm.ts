/**
 * Percentile spectra (issue 4 §5), pure renderers:
 * - `renderHgrm`: HdrHistogram's percentile distribution format (`.hgrm`: columns Value, Percentile,
 *   TotalCount, 1/(1-Percentile), then the `#[Mean …]`, `#[Max …]`, `#[Buckets …]` trailer),
 *   readable by HdrHistogram's plotter (hdrhistogram.github.io/HdrHistogram/plotFiles.html). The
 *   text is hdr-histogram-js's own `outputPercentileDistribution`.
 * - `renderSpectrum`: wrk2 `--latency` style output for `gatectl load -L`: the latency distribution
 *   lines (50 … 100 %), the detailed percentile spectrum, and the summary lines; with the
 *   uncorrected latency (wrk2 `-U`) when the result carries `client.latency.e2e_uncorrected`.
 */
import { decodeHistogram, type EncodedLatency, type Histogram } from '../metrics/histogram.js';
import type { RunResult } from '../metrics/result.js';
import { totalErrors } from '../metrics/compare.js';

/** Output value unit of a spectrum; histograms record µs. */
export type SpectrumScale = 'ms' | 'us';

/** Options of renderHgrm. */
export interface HgrmOptions {
  /** unit of the Value column: `ms` (default; HdrHistogram plotter convention) or `us` */
  scale?: SpectrumScale;
  /** percentile ticks per half distance (HdrHistogram's default 5) */
  ticksPerHalfDistance?: number;
}

function toHistogram(h: EncodedLatency | Histogram): Histogram {
  return 'histogram' in h && typeof h.histogram === 'string' ? decodeHistogram(h.histogram) : (h as Histogram);
}

/**
 * HdrHistogram percentile distribution of a µs histogram (encoded or live), values divided by 1000
 * for `scale: 'ms'` (the default) or left in µs for `scale: 'us'`. An empty histogram gives the
 * header and the trailer with zero counts. Throws Error when an encoded histogram does not decode.
 */
export function renderHgrm(latency: EncodedLatency | Histogram, opts: HgrmOptions = {}): string {
  const ratio = (opts.scale ?? 'ms') === 'ms' ? 1000 : 1;
  return toHistogram(latency).outputPercentileDistribution(opts.ticksPerHalfDistance ?? 5, ratio);
}

/** wrk2's value format: `850.00us`, `12.34ms`, `1.20s`, `2.50m` (from µs). */
function wrkTime(us: number): string {
  if (us < 1000) return `${us.toFixed(2)}us`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(2)}ms`;
  if (us < 60_000_000) return `${(us / 1_000_000).toFixed(2)}s`;
  return `${(us / 60_000_000).toFixed(2)}m`;
}

const WRK_PERCENTILES = [50, 75, 90, 99, 99.9, 99.99, 99.999, 100];

function distribution(title: string, h: Histogram): string[] {
  return [`  ${title}`, ...WRK_PERCENTILES.map((p) => `${p.toFixed(3).padStart(7)}%${wrkTime(h.getValueAtPercentile(p)).padStart(10)}`)];
}

/**
 * wrk2 `--latency` output of a run (pure): corrected e2e distribution, the uncorrected one when the
 * result has `client.latency.e2e_uncorrected`, the detailed spectrum of the corrected e2e in ms,
 * then `N requests in Xs`, responses, errors and `Requests/sec` / `Responses/sec` over the steady
 * phase. Values are µs histograms shown in wrk2's units.
 */
export function renderSpectrum(result: RunResult): string {
  const e2e = decodeHistogram(result.client.latency.e2e.histogram);
  const uncorrected = (result.client.latency as unknown as Record<string, EncodedLatency | undefined>).e2e_uncorrected;
  const out: string[] = [...distribution('Latency Distribution (HdrHistogram - Recorded Latency)', e2e)];
  if (uncorrected !== undefined && typeof uncorrected.histogram === 'string') {
    out.push('', ...distribution('Uncorrected Latency (measured without taking delayed starts into account)', decodeHistogram(uncorrected.histogram)));
  }
  const c = result.client;
  out.push('', '  Detailed Percentile spectrum:', renderHgrm(e2e).trimEnd(),
    '----------------------------------------------------------',
    `  ${c.requests_sent} requests in ${result.steady_s.toFixed(2)}s, ${c.responses} responses, ${totalErrors(result)} errors`,
    `Requests/sec: ${c.requests_per_s.toFixed(2).padStart(10)}`,
    `Responses/sec:${c.responses_per_s.toFixed(2).padStart(10)}`);
  return out.join('\n') + '\n';
}
