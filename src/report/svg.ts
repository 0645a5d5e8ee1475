/**
 * Charts without a browser: ECharts' server-side SVG renderer (`echarts.init(null, null, { renderer:
 * 'svg', ssr: true, width, height })` then `renderToSVGString()`), and PNG through @resvg/resvg-js
 * (resvg, a Rust SVG renderer; prebuilt binary from the npm registry, no browser). ECharts is the
 * same minified bundle the HTML report inlines (`echarts/dist/echarts.common.min.js`), so a chart
 * looks the same in both. Pure functions of their arguments (no I/O); PNG text uses the system's
 * fonts (Liberation Sans, Debian's fonts-liberation, which the chromium package brings; ECharts measures text with Arial-like metrics).
 */
import { createRequire } from 'node:module';
import type * as EChartsModule from 'echarts';
import type { Resvg as ResvgClass } from '@resvg/resvg-js';
import { CHART_FNS, hydrateOption } from './chart-fns.js';
import type { ChartSpec } from './charts.js';

/** The ECharts bundle the HTML report inlines, as a module path (resolve it with require.resolve). */
export const ECHARTS_BUNDLE = 'echarts/dist/echarts.common.min.js';

const require = createRequire(import.meta.url);
// loaded on first use: every command imports the report module, few render charts
let echarts: typeof EChartsModule | undefined;
let Resvg: typeof ResvgClass | undefined;

/** Default image width in px. */
export const DEFAULT_CHART_WIDTH = 1000;

/** Size of a rendered chart in px. */
export interface ChartSize {
  width: number;
  height: number;
}

/** SVG text of `chart` at `size` (default: DEFAULT_CHART_WIDTH × the chart's suggested height). */
export function renderChartSvg(chart: ChartSpec, size: Partial<ChartSize> = {}): string {
  echarts ??= require(ECHARTS_BUNDLE) as typeof EChartsModule;
  const c = echarts.init(null, null, { renderer: 'svg', ssr: true, width: size.width ?? DEFAULT_CHART_WIDTH, height: size.height ?? chart.height });
  try {
    c.setOption(hydrateOption(chart.option, CHART_FNS) as EChartsModule.EChartsOption);
    return c.renderToSVGString();
  } finally {
    c.dispose();
  }
}

/** PNG bytes of an SVG (its own width × height), on a white background. */
export function svgToPng(svg: string): Buffer {
  Resvg ??= (require('@resvg/resvg-js') as { Resvg: typeof ResvgClass }).Resvg;
  const r = new Resvg(svg, {
    background: '#ffffff',
    font: { loadSystemFonts: true, defaultFontFamily: 'Liberation Sans', sansSerifFamily: 'Liberation Sans' },
  });
  return r.render().asPng();
}
