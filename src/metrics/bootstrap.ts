/**
 * Percentile bootstrap of a ratio of two samples' statistics (Efron & Tibshirani, "An Introduction
 * to the Bootstrap", 1993, ch. 13: the percentile interval), as hyperfine and criterion.rs report a
 * benchmark's spread: resample each side with replacement, recompute the statistic of each
 * resample, and take the 2.5th and 97.5th percentiles of the resampled ratios as the 95% interval.
 * The two sides are resampled independently (they are two samples, as criterion.rs compares a new
 * sample with its saved baseline). The random source is a seeded PRNG, so the same inputs always
 * give the same interval: rendering a saved comparison twice prints the same figures.
 */

/**
 * mulberry32, a 32-bit PRNG by Tommy Ettinger (public domain; as given in the "bryc/code" PRNG
 * notes). Returns a function yielding floats in [0, 1). Period 2^32: ample for a few thousand
 * resamples of a handful of values.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a 32-bit hash of `s`: a stable per-metric seed, so rows do not share one random stream. */
export function seedOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Median of `xs` (mean of the two middle values for an even count). NaN for an empty list. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Arithmetic mean of `xs`. NaN for an empty list. */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let sum = 0;
  for (const x of xs) sum += x;
  return sum / xs.length;
}

/** Options of bootstrapRatio. */
export interface BootstrapOptions {
  /** statistic of one sample (default: median) */
  stat?: (xs: readonly number[]) => number;
  /** resamples per side (default 2000; criterion.rs uses 100,000 for its many samples, a few rounds need far fewer) */
  resamples?: number;
  /** confidence level in (0, 1) (default 0.95) */
  confidence?: number;
  /** PRNG seed (default 1); use seedOf(metric name) for a per-row stream */
  seed?: number;
}

/**
 * The percentile-bootstrap interval of `stat(num) / stat(den)`: `[lo, hi]` at `confidence`.
 * Resamples whose denominator statistic is 0 are skipped; returns null when either sample is empty,
 * or when fewer than half of the resamples gave a finite ratio (e.g. a side that is 0 throughout).
 * The values' unit cancels (µs ÷ µs, /s ÷ /s).
 */
export function bootstrapRatio(num: readonly number[], den: readonly number[], opts: BootstrapOptions = {}): [number, number] | null {
  if (num.length === 0 || den.length === 0) return null;
  const stat = opts.stat ?? median;
  const n = opts.resamples ?? 2000;
  const conf = opts.confidence ?? 0.95;
  const rand = mulberry32(opts.seed ?? 1);
  const a = new Array<number>(num.length);
  const b = new Array<number>(den.length);
  const ratios: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < a.length; j++) a[j] = num[Math.floor(rand() * num.length)]!;
    for (let j = 0; j < b.length; j++) b[j] = den[Math.floor(rand() * den.length)]!;
    const d = stat(b);
    if (d === 0) continue;
    const r = stat(a) / d;
    if (Number.isFinite(r)) ratios.push(r);
  }
  if (ratios.length < n / 2) return null;
  ratios.sort((x, y) => x - y);
  const at = (q: number) => ratios[Math.min(ratios.length - 1, Math.max(0, Math.floor(q * ratios.length)))]!;
  return [at((1 - conf) / 2), at(1 - (1 - conf) / 2)];
}
