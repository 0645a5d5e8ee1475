/**
 * The one histogram factory of gatectl (DESIGN §5). Every latency histogram records integer
 * microseconds (µs) from 1 µs to 60 s at 3 significant digits, travels encoded (compressed base64,
 * HdrHistogram's V2 encoding) and is merged by adding counts, never averaged.
 * Model: autocannon `lib/histUtil.js`. Library: hdr-histogram-js.
 */
import * as hdr from 'hdr-histogram-js';

/** A latency histogram whose values are µs. */
export type Histogram = hdr.Histogram;

/** Highest trackable value: 60 s, in µs. Larger values are clamped to it. */
export const HIGHEST_TRACKABLE_US = 60_000_000;

/**
 * The factory's histogram: hdr-histogram-js's Int32Histogram (what `hdr.build` makes for
 * `bitBucketSize: 32`), with `countsArrayIndex` — the bucket lookup of every record — computed with
 * integer operations (Math.clz32 and a shift) instead of the library's Math.log2, Math.pow and
 * Math.floor on doubles. For an integer value in [0, 2^31) and lowestDiscernibleValue 1 this is the
 * library's formula exactly (tested against it at every power of two and around it); any other
 * value goes to the library's own code. A record took ~90 ns, most of it in that lookup; the load
 * generator records three values per request (docs/bench.md "Load engine per-response cost").
 */
class MicrosHistogram extends hdr.Int32Histogram {
  /** Index in the counts array of `value` (the library's bucket / sub-bucket arithmetic). */
  override countsArrayIndex(value: number): number {
    if ((value | 0) !== value || value < 0 || this.unitMagnitude !== 0) return super.countsArrayIndex(value);
    // floor(log2(value)) = 31 - clz32(value) (-1 for 0); buckets below the first sub-bucket count are bucket 0
    const bucket = Math.max(0, 31 - Math.clz32(value) - this.subBucketHalfCountMagnitude);
    return (bucket + 1) * this.subBucketHalfCount + ((value >>> bucket) - this.subBucketHalfCount);
  }
}

/** Creates an empty µs histogram (1 µs .. 60 s, 3 significant digits, 32-bit counts, no auto-resize). */
export function createHistogram(): Histogram {
  const h = new MicrosHistogram(1, HIGHEST_TRACKABLE_US, 3);
  h.autoResize = false;
  return h;
}

/**
 * Records `us` (µs, any finite number: rounded to an integer, negatives recorded as 0, values over
 * 60 s clamped to 60 s).
 */
export function recordUs(h: Histogram, us: number): void {
  const v = us <= 0 ? 0 : us >= HIGHEST_TRACKABLE_US ? HIGHEST_TRACKABLE_US : Math.round(us);
  h.recordValue(v);
}

/** Encodes a histogram as compressed base64 (HdrHistogram V2 log format payload). */
export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

/**
 * Decodes a histogram encoded by `encodeHistogram` (or any HdrHistogram compressed base64).
 * Throws Error when the text is not a valid encoding.
 */
export function decodeHistogram(encoded: string): Histogram {
  const decoded = hdr.decodeFromCompressedBase64(encoded, 32, false);
  // Re-home into a factory histogram so every histogram has the same range.
  const h = createHistogram();
  h.add(decoded);
  return h;
}

/** Adds every histogram in `parts` into a new factory histogram (exact merge, never an average). */
export function mergeHistograms(parts: Iterable<Histogram>): Histogram {
  const out = createHistogram();
  for (const p of parts) out.add(p);
  return out;
}

/**
 * Latency summary in µs (DESIGN §5 key names). Percentiles are HdrHistogram values at
 * 50/90/99/99.9; `mean_us` is rounded to 0.1 µs. All zero when `count` is 0.
 */
export interface LatencySummary {
  count: number;
  min_us: number;
  mean_us: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  p999_us: number;
  max_us: number;
}

/** Summarises a µs histogram. */
export function summarize(h: Histogram): LatencySummary {
  const count = h.totalCount;
  if (count === 0) return { count: 0, min_us: 0, mean_us: 0, p50_us: 0, p90_us: 0, p99_us: 0, p999_us: 0, max_us: 0 };
  return {
    count,
    min_us: h.getValueAtPercentile(0),
    mean_us: Math.round(h.mean * 10) / 10,
    p50_us: h.getValueAtPercentile(50),
    p90_us: h.getValueAtPercentile(90),
    p99_us: h.getValueAtPercentile(99),
    p999_us: h.getValueAtPercentile(99.9),
    max_us: h.maxValue,
  };
}

/** A summary plus the encoded histogram it was computed from, so consumers can merge exactly. */
export interface EncodedLatency {
  summary: LatencySummary;
  /** compressed base64 of the µs histogram */
  histogram: string;
}

/** Summary + encoding of a histogram. */
export function encodeLatency(h: Histogram): EncodedLatency {
  return { summary: summarize(h), histogram: encodeHistogram(h) };
}
