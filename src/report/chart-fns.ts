/**
 * The functions of the chart options (axis labels, tooltips). A chart option is JSON data so that it
 * can travel into the HTML report; where ECharts wants a function, the option holds a reference
 * `{ "$fn": "usLabel" }`, and `hydrateOption` swaps each reference for the function of that name.
 * Node does that before server-side rendering (SVG, PNG); the HTML report carries the same functions
 * as source text (`chartFnsSource`) and does it in the browser. So every function here is
 * self-contained: no imports and no closure, only the other functions of this module by name.
 */

/** A function reference inside a chart option: the name of one of CHART_FNS. */
export interface FnRef {
  $fn: keyof typeof CHART_FNS;
}

/** `{ $fn: name }`: a reference to a function of CHART_FNS, resolved by hydrateOption. */
export function fnRef(name: keyof typeof CHART_FNS): FnRef {
  return { $fn: name };
}

/** A latency in µs as a short label: `850µs`, `12ms`, `1.5s`; up to 3 significant digits, no trailing zeros. */
export function usLabel(us: number): string {
  if (typeof us !== 'number' || !Number.isFinite(us)) return String(us);
  const short = (v: number): string => String(Number(v.toPrecision(3)));
  if (Math.abs(us) < 1000) return short(us) + 'µs';
  if (Math.abs(us) < 1_000_000) return short(us / 1000) + 'ms';
  return short(us / 1_000_000) + 's';
}

/** A request rate as a label: `1000/s`, `250.5/s`. */
export function rateLabel(v: number): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return String(v);
  return String(Number(v.toFixed(1))) + '/s';
}

/**
 * The percentile of a spectrum x position x = 1/(1−p) (HdrHistogram's axis), as a label: `50%`,
 * `99.9%`; `0%` at x = 1.
 */
export function percentileLabel(x: number): string {
  if (!(x >= 1)) return '';
  const p = 100 * (1 - 1 / x);
  return String(Number(p.toFixed(Math.max(0, Math.ceil(Math.log10(x)) - 2)))) + '%';
}

/** Text escaped for HTML (tooltips render HTML; series names may come from a result's label). */
export function escapeHtml(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&#39;' }[c] ?? c));
}

/** Tooltip of a spectrum point `[x = 1/(1−p), µs]`: the series, the percentile and the latency. */
export function spectrumTooltip(params: { seriesName?: string; marker?: string; value?: [number, number] }): string {
  const v = params.value ?? [1, 0];
  const p = 100 * (1 - 1 / v[0]);
  return (params.marker ?? '') + escapeHtml(params.seriesName ?? '') + '<br>p' + String(Number(p.toFixed(4))) + ': <b>' + usLabel(v[1]) + '</b>';
}

/** Label of a bar: its µs value (usLabel); '' for a missing bar. */
export function barValueLabel(params: { value?: number | null }): string {
  return typeof params.value === 'number' ? usLabel(params.value) : '';
}

/** Seconds as an axis label: `12 s`. */
export function secondsLabel(s: number): string {
  return String(s) + ' s';
}

/** Every function a chart option may reference, by name. */
export const CHART_FNS = { usLabel, rateLabel, percentileLabel, escapeHtml, spectrumTooltip, barValueLabel, secondsLabel };

/**
 * A copy of `option` (JSON data) in which every `{ $fn: name }` is replaced by `fns[name]`. Throws
 * Error naming an unknown function.
 */
export function hydrateOption(option: unknown, fns: Record<string, unknown>): unknown {
  if (Array.isArray(option)) return option.map((x) => hydrateOption(x, fns));
  if (option === null || typeof option !== 'object') return option;
  const o = option as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && keys[0] === '$fn') {
    const f = fns[String(o.$fn)];
    if (typeof f !== 'function') throw new Error('chart option refers to an unknown function ' + String(o.$fn));
    return f;
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = hydrateOption(o[k], fns);
  return out;
}

/**
 * The functions of this module as browser script source: declarations of every CHART_FNS function
 * and of hydrateOption, then `const CHART_FNS = { … }`. Meant for the inside of a function scope.
 */
export function chartFnsSource(): string {
  const fns = [...Object.values(CHART_FNS), hydrateOption];
  return [...fns.map((f) => f.toString()), `const CHART_FNS = { ${Object.keys(CHART_FNS).join(', ')} };`].join('\n');
}
