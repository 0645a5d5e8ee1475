/** Number formatting shared by the renderers (pure). */

/** Formats a µs value with a readable unit: `850µs`, `12.3ms`, `1.20s`. */
export function fmtUs(us: number | null): string {
  if (us === null) return 'n/a';
  if (us < 1000) return `${Math.round(us)}µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)}ms`;
  return `${(us / 1_000_000).toFixed(2)}s`;
}

/** Formats a value of a comparison row in its unit. */
export function fmtValue(v: number | null, unit: 'µs' | '/s' | 'count'): string {
  if (v === null) return 'n/a';
  if (unit === 'µs') return fmtUs(v);
  if (unit === '/s') return `${v.toFixed(1)}/s`;
  return String(v);
}

/** Formats an improvement factor: `12.5x`, `0.80x`, `n/a`. */
export function fmtFactor(f: number | null): string {
  if (f === null || !Number.isFinite(f)) return 'n/a';
  return f >= 10 ? `${f.toFixed(0)}x` : `${f.toFixed(2)}x`;
}

/** Formats bytes as MiB with one decimal. */
export function fmtMiB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
