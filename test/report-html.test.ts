/**
 * `gatectl report --format html|svg|png` and markdown `--images` (issue 12 items 1 and 2), on results
 * of small real loads against in-process gateways: the HTML report opens from disk in headless
 * Chromium with no console error and no request off the page, every chart is drawn, and the key
 * figures equal the result file's; SVG charts parse and name the result's series; PNG decodes at the
 * size asked for; bad input is refused with exit code 2.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startInProcessGateway } from '../src/gateway/index.js';
import { resolveGatewayConfig, type GatewayFlags } from '../src/config/resolve.js';
import { runLoad } from '../src/load/run.js';
import { findMaxRate } from '../src/load/capacity.js';
import type { CapacityResult } from '../src/metrics/capacity.js';
import { stagesToSchedule } from '../src/scenario/index.js';
import { makeComparison, totalErrors } from '../src/metrics/compare.js';
import type { ComparisonResult, RunResult } from '../src/metrics/result.js';
import { availableCharts, fmtUs, renderHgrm, spectrumPoints, type ReportInput } from '../src/report/index.js';
import { decodeHistogram } from '../src/metrics/histogram.js';
import { percentileLabel, usLabel } from '../src/report/chart-fns.js';
import { gatectl, loadOptions } from './support.js';
import { launchChromium, openReport, type Chromium } from './browser.js';

const gwFlags: GatewayFlags = {
  host: '127.0.0.1', port: 0, transport: 'quic', 'upstream-latency': '2ms', 'upstream-distribution': 'exponential',
  'before-notifies': 1, 'after-notifies': 1,
};

let tmp = '';
let run: RunResult;
let cmp: ComparisonResult;
let cap: CapacityResult;
const files = { run: '', cmp: '', cap: '' };
let chromium: Chromium | undefined;

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'gatectl-report-html-'));
  const sync = await startInProcessGateway(resolveGatewayConfig({ ...gwFlags, mode: 'sync' }, {}));
  let syncRun: RunResult;
  try {
    syncRun = await runLoad(loadOptions('sync', { clients: 20, duration: '2s', 'rate-per-client': '2' }), sync);
  } finally {
    await sync.stop();
  }
  const gw = await startInProcessGateway(resolveGatewayConfig({ ...gwFlags, mode: 'async' }, {}));
  try {
    // a two-stage schedule, so the time series has stage boundaries to mark
    const schedule = stagesToSchedule({
      model: 'open', clients: 20, rate: null, ratePerClient: null,
      stages: [{ kind: 'steady', durationMs: 1000, rate: 20, label: 'warm-up' }, { kind: 'steady', durationMs: 1000, rate: 60, label: 'peak' }],
    });
    run = await runLoad({ ...loadOptions('async', { clients: 20 }), schedule, scheduleLabel: 'two stages' }, gw);
    cap = await findMaxRate(loadOptions('async', { clients: 10, rate: '50' }),
      { startRate: 50, maxRate: 200, stepMs: 1000, refine: 0, slo: ['e2e:p(99)<2s'], errorBudget: 0.01 }, gw);
  } finally {
    await gw.stop();
  }
  cmp = makeComparison(syncRun, run);
  files.run = path.join(tmp, 'run.json');
  files.cmp = path.join(tmp, 'cmp.json');
  files.cap = path.join(tmp, 'cap.json');
  writeFileSync(files.run, JSON.stringify(run));
  writeFileSync(files.cmp, JSON.stringify(cmp));
  writeFileSync(files.cap, JSON.stringify(cap));
  chromium = await launchChromium();
});

after(async () => {
  await chromium?.close();
  if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
});

/** The key figures the HTML shows for a run, from the result: metric → [raw value, display text]. */
function runFigures(r: RunResult): Record<string, [number, string]> {
  const c = r.client;
  const e = c.latency.e2e.summary;
  const p95 = decodeHistogram(c.latency.e2e.histogram).getValueAtPercentile(95);
  return {
    'client.connected': [c.connected, String(c.connected)],
    'client.requests_sent': [c.requests_sent, String(c.requests_sent)],
    'client.responses': [c.responses, String(c.responses)],
    'client.responses_per_s': [c.responses_per_s, c.responses_per_s.toFixed(1)],
    errors: [totalErrors(r), String(totalErrors(r))],
    'e2e.p50_us': [e.p50_us, fmtUs(e.p50_us)],
    'e2e.p90_us': [e.p90_us, fmtUs(e.p90_us)],
    'e2e.p95_us': [p95, fmtUs(p95)],
    'e2e.p99_us': [e.p99_us, fmtUs(e.p99_us)],
    'e2e.p999_us': [e.p999_us, fmtUs(e.p999_us)],
    'e2e.max_us': [e.max_us, fmtUs(e.max_us)],
  };
}

interface PageFacts {
  kpis: { side: string | null; metric: string; value: string; text: string }[];
  charts: { kind: string; canvases: number; inked: number }[];
  ready: string | null;
  order: string[];
  claims: string[];
  summaryRows: Record<string, string>[];
  externalRefs: string[];
}

/**
 * What the page shows (PageFacts), read in the page: key figures, chart containers and the pixels
 * their canvases inked (not white, not transparent), section order, claim cells, the metric/value
 * tables, any src/href. Plain JavaScript text: it runs in Chromium, where the DOM is.
 */
const READ_PAGE = `(() => {
  const inked = (c) => {
    const ctx = c.getContext('2d');
    if (ctx === null || c.width === 0 || c.height === 0) return 0;
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0 && !(d[i - 3] === 255 && d[i - 2] === 255 && d[i - 1] === 255)) n++;
    return n;
  };
  const rowsOf = (t) => Object.fromEntries([...t.querySelectorAll('tbody tr')].map((tr) => {
    const td = [...tr.querySelectorAll('td')].map((x) => x.textContent);
    return [td[0], td[1]];
  }));
  return {
    kpis: [...document.querySelectorAll('.kpi')].map((k) => ({
      side: k.closest('[data-side]')?.getAttribute('data-side') ?? null,
      metric: k.getAttribute('data-metric'), value: k.getAttribute('data-value'), text: k.querySelector('.kpi-value').textContent,
    })),
    charts: [...document.querySelectorAll('.chart')].map((el) => {
      const canvases = [...el.querySelectorAll('canvas')];
      return { kind: el.getAttribute('data-chart'), canvases: canvases.length, inked: canvases.reduce((a, c) => a + inked(c), 0) };
    }),
    ready: document.documentElement.getAttribute('data-charts-ready'),
    order: [...document.querySelectorAll('#warnings, #summary, #comparison, #charts, #tables, #config')].map((e) => e.id),
    claims: [...document.querySelectorAll('td.claim:not(.empty)')].map((td) => td.textContent),
    summaryRows: [...document.querySelectorAll('table')]
      .filter((t) => t.querySelector('th')?.textContent === 'metric' && t.querySelector('th:nth-child(2)')?.textContent === 'value').map(rowsOf),
    externalRefs: [...document.querySelectorAll('[src], link[href]')].map((e) => e.getAttribute('src') ?? e.getAttribute('href')),
  };
})()`;

/** Renders `file` as HTML with the CLI, opens it in Chromium and reads what the page shows. */
async function htmlFacts(file: string, name: string): Promise<PageFacts> {
  const out = path.join(tmp, `${name}.html`);
  const r = await gatectl(['report', file, '--format', 'html', '--out', out], tmp);
  assert.equal(r.code, 0, r.stderr);
  const html = readFileSync(out, 'utf8');
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|@import|url\(\s*['"]?https?:/i, 'self-contained: no external script, style or font');
  const { page, errors, requests } = await openReport(chromium!, out);
  try {
    assert.deepEqual(errors, [], 'no console error, page error or failed request');
    assert.deepEqual(requests.filter((u) => !u.startsWith('file:')), [], 'the page requests nothing but itself');
    return await page.evaluate(READ_PAGE) as PageFacts;
  } finally {
    await page.close();
  }
}

function assertChartsDrawn(f: PageFacts, input: ReportInput): void {
  const kinds = availableCharts(input);
  assert.deepEqual(f.charts.map((c) => c.kind), kinds, 'one container per chart of the result');
  assert.equal(f.ready, String(kinds.length));
  for (const c of f.charts) {
    assert.ok(c.canvases >= 1, `${c.kind}: ECharts drew a canvas`);
    assert.ok(c.inked > 2000, `${c.kind}: the canvas is not blank (${c.inked} inked pixels)`);
  }
  assert.deepEqual(f.externalRefs, []);
}

function assertKpis(f: PageFacts, side: string | null, expected: Record<string, [number, string]>): void {
  const shown = f.kpis.filter((k) => k.side === side);
  assert.deepEqual(shown.map((k) => k.metric), Object.keys(expected), `key figures of ${side ?? 'the run'}`);
  for (const k of shown) {
    const [value, text] = expected[k.metric]!;
    assert.equal(Number(k.value), value, `${k.metric}: the number is the result file's`);
    assert.equal(k.text, text, `${k.metric}: shown as ${text}`);
  }
}

test('report --format html of a run opens in headless Chromium: charts drawn, no errors, key figures and summary equal the result file\'s', { timeout: 60_000 }, async () => {
  const f = await htmlFacts(files.run, 'run');
  assertChartsDrawn(f, run);
  assert.deepEqual(availableCharts(run), ['spectrum', 'timeseries', 'stages']);
  assertKpis(f, null, runFigures(run));
  assert.deepEqual(f.order.slice(0, 3), ['warnings', 'summary', 'charts'], 'warnings first, then key figures, then charts');
  const summary = f.summaryRows[0]!;
  assert.equal(summary['responses'], `${run.client.responses} (${run.client.responses_per_s.toFixed(1)}/s)`);
  assert.equal(summary['clients connected'], `${run.client.connected}/${run.client.clients}`);
  const e = run.client.latency.e2e.summary;
  const p95 = decodeHistogram(run.client.latency.e2e.histogram).getValueAtPercentile(95);
  assert.equal(summary['e2e p50 / p90 / p95 / p99 / p99.9 / max'], [e.p50_us, e.p90_us, p95, e.p99_us, e.p999_us, e.max_us].map(fmtUs).join(' / '));
});

test('report --format html of a comparison: both sides\' figures, the seed claims marked as claims, every chart drawn', { timeout: 60_000 }, async () => {
  const f = await htmlFacts(files.cmp, 'cmp');
  assertChartsDrawn(f, cmp);
  assertKpis(f, 'before', runFigures(cmp.before));
  assertKpis(f, 'after', runFigures(cmp.after));
  assert.deepEqual(f.order.slice(0, 4), ['warnings', 'summary', 'comparison', 'charts']);
  assert.ok(f.claims.length >= 5, `claims shown: ${f.claims.length}`);
  for (const c of f.claims) assert.match(c, /^claim seed 00\d: /, 'every claim cell carries the claim badge and names its seed');
  assert.ok(f.claims.some((c) => c.includes('seed 000: 100ms → 1-5ms (20-100x)')));
});

test('report --format html of a capacity search: max rate held, latency against offered rate', { timeout: 60_000 }, async () => {
  const f = await htmlFacts(files.cap, 'cap');
  assertChartsDrawn(f, cap);
  const at = cap.at_max!;
  assertKpis(f, null, {
    max_rate_held: [cap.max_rate_held!, String(cap.max_rate_held)],
    'at_max.e2e.p50_us': [at.e2e.p50_us, fmtUs(at.e2e.p50_us)],
    'at_max.e2e.p99_us': [at.e2e.p99_us, fmtUs(at.e2e.p99_us)],
    steps: [cap.steps.length, String(cap.steps.length)],
  });
  assert.deepEqual(cap.steps.map((s) => s.rate), [50, 100, 200]);
});

/** Texts of an SVG document, parsed by Chromium's XML parser (throws on a parse error). */
async function svgTexts(svg: string): Promise<string[]> {
  const page = await chromium!.browser.newPage();
  try {
    // Chromium's XML parser; the page function is plain JavaScript (it runs where the DOM is)
    const texts = await page.evaluate(`((text) => {
      const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
      const err = doc.querySelector('parsererror');
      if (err !== null || doc.documentElement.nodeName !== 'svg') return { error: err === null ? doc.documentElement.nodeName : err.textContent };
      return { texts: [...doc.querySelectorAll('text')].map((t) => t.textContent) };
    })(${JSON.stringify(svg)})`) as { texts?: string[]; error?: string };
    if (texts.texts === undefined) throw new Error(`SVG does not parse: ${texts.error}`);
    return texts.texts;
  } finally {
    await page.close();
  }
}

test('report --format svg: each chart parses as SVG and names the result\'s series', { timeout: 60_000 }, async () => {
  const stages = Object.entries(run.server!.stages).filter(([, v]) => v.summary.count > 0).map(([k]) => k);
  const spectrum = await gatectl(['report', files.run, '--format', 'svg', '--chart', 'spectrum'], tmp);
  assert.equal(spectrum.code, 0, spectrum.stderr);
  assert.match(spectrum.stdout, /^<svg [^>]*width="1000"/);
  const texts = await svgTexts(spectrum.stdout);
  for (const name of ['e2e', 'e2e_uncorrected', ...stages]) assert.ok(texts.includes(name), `spectrum names ${name}`);
  for (const tick of ['50%', '90%', '99%']) assert.ok(texts.includes(tick), `spectrum x tick ${tick}`);
  const ts = await svgTexts((await gatectl(['report', files.run, '--format', 'svg', '--chart', 'timeseries'], tmp)).stdout);
  for (const name of ['requests/s', 'responses/s', 'errors/s', 'clients connected', 'e2e p99 per second', 'warm-up', 'peak']) assert.ok(ts.includes(name), `timeseries names ${name}`);
  const cmpStages = await svgTexts((await gatectl(['report', files.cmp, '--format', 'svg', '--chart', 'stages'], tmp)).stdout);
  for (const name of ['sync: p50', 'sync: p99', 'async: p50', 'async: p99', 'enqueue_latency', 'lock_wait']) assert.ok(cmpStages.includes(name), `stages names ${name}`);
  const cmpSpectrum = await svgTexts((await gatectl(['report', files.cmp, '--format', 'svg'], tmp)).stdout);
  assert.ok(cmpSpectrum.includes('sync: e2e') && cmpSpectrum.includes('async: e2e'), 'a comparison overlays both sides');
  const capSvg = path.join(tmp, 'cap.svg');
  const c = await gatectl(['report', files.cap, '--format', 'svg', '--out', capSvg], tmp);
  assert.equal(c.code, 0, c.stderr);
  const capTexts = await svgTexts(readFileSync(capSvg, 'utf8'));
  for (const name of ['e2e p50', 'e2e p99', 'responses/s (achieved)', 'SLO e2e:p(99)<2s', `max held ${cap.max_rate_held}/s (--max-rate)`]) assert.ok(capTexts.includes(name), `capacity names ${name}`);
});

test('report --format png decodes at the asked size; PNG needs --out', { timeout: 60_000 }, async () => {
  const out = path.join(tmp, 'stages.png');
  const r = await gatectl(['report', files.cmp, '--format', 'png', '--chart', 'stages', '--width', '800', '--height', '500', '--out', out], tmp);
  assert.equal(r.code, 0, r.stderr);
  const png = readFileSync(out);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(png.subarray(12, 16).toString('latin1'), 'IHDR');
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [800, 500], 'IHDR width × height');
  const page = await chromium!.browser.newPage();
  try {
    const size = await page.evaluate(`(async () => {
      const img = new Image();
      img.src = 'data:image/png;base64,${png.toString('base64')}';
      await img.decode();
      return [img.naturalWidth, img.naturalHeight];
    })()`);
    assert.deepEqual(size, [800, 500], 'Chromium decodes it at that size');
  } finally {
    await page.close();
  }
  const noOut = await gatectl(['report', files.run, '--format', 'png'], tmp);
  assert.equal(noOut.code, 2);
  assert.match(noOut.stderr, /--format png writes binary data: give --out FILE\.png/);
});

test('report --format markdown --images DIR writes the charts as SVG beside the markdown and links them', { timeout: 60_000 }, async () => {
  const md = path.join(tmp, 'md', 'cmp.md');
  const r = await gatectl(['report', files.cmp, '--format', 'markdown', '--out', md, '--images', path.join(tmp, 'md', 'img')], tmp);
  assert.equal(r.code, 0, r.stderr);
  const text = readFileSync(md, 'utf8');
  const kinds = availableCharts(cmp);
  assert.deepEqual(readdirSync(path.join(tmp, 'md', 'img')).sort(), kinds.map((k) => `cmp-${k}.svg`).sort(), 'one SVG per chart, no temp file left');
  for (const k of kinds) assert.match(text, new RegExp(`!\\[[^\\]]+\\]\\(img/cmp-${k}\\.svg\\)`), `links img/cmp-${k}.svg`);
  assert.doesNotMatch(text, /responses\/s per second:/, 'the images replace the ascii charts');
  assert.ok((await svgTexts(readFileSync(path.join(tmp, 'md', 'img', 'cmp-spectrum.svg'), 'utf8'))).includes('async: e2e'));
  const cap = await gatectl(['report', files.cap, '--format', 'markdown', '--images', 'cap-img'], tmp);
  assert.equal(cap.code, 0, cap.stderr);
  assert.match(cap.stdout, /^# gatectl capacity search/);
  assert.match(cap.stdout, /!\[[^\]]+\]\(cap-img\/cap-capacity\.svg\)/);
  assert.ok(existsSync(path.join(tmp, 'cap-img', 'cap-capacity.svg')));
});

test('report: a chart the file has not, an unknown chart, --chart or --images with the wrong format, a non-gatectl file: exit 2 with the fix', { timeout: 60_000 }, async () => {
  writeFileSync(path.join(tmp, 'other.json'), JSON.stringify({ schema: 'k6/summary', metrics: {} }));
  writeFileSync(path.join(tmp, 'badcap.json'), JSON.stringify({ schema: 'gatectl.capacity/v1', steps: [{}] }));
  const cases: [string[], RegExp][] = [
    [[files.run, '--format', 'svg', '--chart', 'capacity'], /--chart capacity: a run result has no capacity chart; use --chart spectrum or --chart timeseries or --chart stages/],
    [[files.cap, '--format', 'svg', '--chart', 'spectrum'], /a capacity result has no spectrum chart; use --chart capacity/],
    [[files.run, '--format', 'svg', '--chart', 'pie'], /--chart "pie" is not supported: use one of spectrum, timeseries, stages, capacity/],
    [[files.run, '--format', 'html', '--chart', 'stages'], /--chart applies to --format svg or png/],
    [[files.run, '--format', 'html', '--images', 'img'], /--images DIR applies to --format markdown/],
    [[files.run, '--format', 'table', '--width', '800'], /--width and --height apply to --format svg or png and to --images DIR/],
    [[files.cap, '--format', 'hgrm'], /--format hgrm renders one run's latency histogram/],
    [['other.json', '--format', 'html'], /other\.json is not a gatectl result: expected "schema": "gatectl\.run\/v1", "gatectl\.compare\/v1" or "gatectl\.capacity\/v1", found "k6\/summary"; give a file written by gatectl load, load --find-max or compare/],
    [['badcap.json', '--format', 'html'], /claims gatectl\.capacity\/v1 but its steps are not capacity steps/],
  ];
  for (const [args, re] of cases) {
    const r = await gatectl(['report', ...args], tmp);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  assert.ok(!existsSync(path.join(tmp, 'img')), 'a refused command writes nothing');
});

test('spectrum points are the .hgrm rows; axis and value labels', () => {
  const e2e = run.client.latency.e2e;
  const rows = renderHgrm(e2e, { scale: 'us' }).split('\n').filter((l) => /^\s+\d/.test(l));
  const points = spectrumPoints(e2e);
  assert.equal(points.length, rows.length - 1, 'every row but the last (p = 100 %, infinite 1/(1−p))');
  for (const [i, [x, v]] of points.entries()) {
    const [value, , , inv] = rows[i]!.trim().split(/\s+/).map(Number);
    assert.equal(v, value! > 0 ? value : null);
    assert.ok(Math.abs(x - inv!) <= 0.01 * x + 0.01, `1/(1-p) ${x} vs ${inv}`);
  }
  assert.deepEqual([1, 2, 10, 100, 1000, 10000].map(percentileLabel), ['0%', '50%', '90%', '99%', '99.9%', '99.99%']);
  assert.deepEqual([850, 1000, 12_340, 1_500_000].map(usLabel), ['850µs', '1ms', '12.3ms', '1.5s']);
});
