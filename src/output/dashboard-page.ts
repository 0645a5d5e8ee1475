/**
 * The live dashboard's page (pure): one HTML document with the ECharts bundle and the page script
 * inline. The script opens `/events` (EventSource), draws each `tick` (a LiveSecond, second.ts) on
 * three charts with a time axis and in the key figures, and on `report` offers the run's HTML
 * report as a download and in a new tab (a Blob URL, so it works after the server has gone).
 * Test hooks: `data-phase` on `<html>` (the last tick's phase, `done` at the end), `data-ticks`
 * (ticks drawn), `#report-link` (present once the report arrived).
 */
import { chartFnsSource, escapeHtml as esc } from '../report/chart-fns.js';

/** What the page shows in its title: the run's label and size, and the e2e keys of the ticks. */
export interface DashboardInfo {
  label: string;
  clients: number;
  /** the e2e statistics of the ticks to draw, in display order (p50, p99, then --percentiles): LiveSecond key and label */
  e2e: { key: string; label: string }[];
}

/** The page for `info`, with `echartsSource` inlined. */
export function dashboardPage(info: DashboardInfo, echartsSource: string): string {
  const title = `gatectl load — ${info.label} (live)`;
  return `<!doctype html>
<html lang="en" data-phase="waiting" data-ticks="0">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<link rel="icon" href="data:,">
<style>${CSS}</style>
</head>
<body>
<main>
<header><h1>${esc(title)}</h1><p class="sub" id="status">waiting for the first second…</p></header>
<div id="report" class="report" hidden></div>
<div class="kpis" id="kpis"></div>
<figure><div class="chart" id="chart-rates"></div></figure>
<figure><div class="chart" id="chart-latency"></div></figure>
<figure><div class="chart small" id="chart-clients"></div></figure>
<footer>gatectl load --dashboard · one point per second from the run's progress ticks (server-sent events from /events) · charts: Apache ECharts, inlined</footer>
</main>
<script type="application/json" id="gatectl-info">${JSON.stringify(info).replace(/</g, '\\u003c')}</script>
<script>${echartsSource.replace(/<\/script/gi, '<\\/script')}</script>
<script>${PAGE_SCRIPT.replace('/*CHART_FNS*/', chartFnsSource())}</script>
</body>
</html>
`;
}

const PAGE_SCRIPT = `
(function () {
/*CHART_FNS*/
  var info = JSON.parse(document.getElementById('gatectl-info').textContent);
  var root = document.documentElement;
  var seconds = [];
  var latKeys = info.e2e.map(function (e) { return e.key; });
  var labels = {};
  info.e2e.forEach(function (e) { labels[e.key] = e.label; });
  function label(k) { return labels[k]; }
  function mk(id) { return echarts.init(document.getElementById(id), null, { renderer: 'canvas' }); }
  var rates = mk('chart-rates'), lat = mk('chart-latency'), cl = mk('chart-clients');
  var base = { animation: false, grid: { left: 70, right: 170, top: 40, bottom: 30 }, tooltip: { trigger: 'axis' },
    legend: { orient: 'vertical', right: 5, top: 40 }, xAxis: { type: 'time' } };
  function line(name) { return { name: name, type: 'line', showSymbol: false, data: [] }; }
  rates.setOption(Object.assign({}, base, { title: { text: 'per second', textStyle: { fontSize: 13 } }, yAxis: { type: 'value', axisLabel: { formatter: rateLabel } },
    series: [line('requests/s'), line('responses/s'), line('errors/s')] }));
  lat.setOption(Object.assign({}, base, { title: { text: 'latency of each second (µs axis, log; 0 not drawn)', textStyle: { fontSize: 13 } },
    yAxis: { type: 'log', axisLabel: { formatter: usLabel } }, tooltip: { trigger: 'axis', valueFormatter: usLabel },
    series: latKeys.map(function (k) { return line(label(k)); }).concat([line('schedule lag p99')]) }));
  cl.setOption(Object.assign({}, base, { title: { text: 'clients connected', textStyle: { fontSize: 13 } }, yAxis: { type: 'value', min: 0 },
    series: [line('connected')] }));
  window.addEventListener('resize', function () { rates.resize(); lat.resize(); cl.resize(); });
  function kpi(name, value) { return '<div class="kpi"><div class="kpi-value">' + value + '</div><div class="kpi-label">' + name + '</div></div>'; }
  var totals = { requests: 0, responses: 0, errors: 0, violations: 0 };
  function draw() {
    var last = seconds[seconds.length - 1];
    var xy = function (f) { return seconds.map(function (s) { var v = f(s); return [s.time, v]; }); };
    var pos = function (k) { return xy(function (s) { return s[k] > 0 ? s[k] : null; }); };
    rates.setOption({ series: [{ data: xy(function (s) { return s.requests; }) }, { data: xy(function (s) { return s.responses; }) }, { data: xy(function (s) { return s.errors; }) }] });
    lat.setOption({ series: latKeys.map(function (k) { return { data: pos(k) }; }).concat([{ data: pos('schedule_lag_p99_us') }]) });
    cl.setOption({ series: [{ data: xy(function (s) { return s.connected; }) }] });
    if (!finished) document.getElementById('status').textContent = last.phase + ' ' + last.elapsed_s + ' s · clients ' + last.connected + '/' + last.clients + ' · updated ' + last.time;
    var k = [kpi('clients connected', last.connected + '/' + last.clients), kpi('requests/s', last.requests), kpi('responses/s', last.responses),
      kpi('requests (total)', totals.requests), kpi('responses (total)', totals.responses), kpi('errors (total)', totals.errors), kpi('violations (total)', totals.violations)];
    latKeys.forEach(function (key) { k.push(kpi(label(key), last.responses > 0 || last[key] > 0 ? usLabel(last[key]) : '–')); });
    k.push(kpi('schedule lag p99', usLabel(last.schedule_lag_p99_us)));
    document.getElementById('kpis').innerHTML = k.join('');
    if (!finished) root.setAttribute('data-phase', last.phase);
    root.setAttribute('data-ticks', String(seconds.length));
  }
  var pending = false;
  var finished = false;
  var es = new EventSource('/events');
  es.addEventListener('tick', function (e) {
    var s = JSON.parse(e.data);
    totals.requests += s.requests; totals.responses += s.responses; totals.errors += s.errors; totals.violations += s.violations;
    // the 'end' second is the remainder after the last tick (it makes the totals exact), not a second to draw
    if (s.phase === 'end') { if (seconds.length > 0 && !pending) draw(); return; }
    seconds.push(s);
    if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; draw(); }); }
  });
  es.addEventListener('report', function (e) {
    var html = JSON.parse(e.data);
    var url = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
    var box = document.getElementById('report');
    box.innerHTML = 'The run has ended. <a id="report-link" href="' + url + '" target="_blank" rel="noopener">Open the HTML report</a> · <a href="' + url + '" download="gatectl-report-' + info.label.replace(/[^A-Za-z0-9_.-]+/g, '_') + '.html">download it</a>';
    box.hidden = false;
  });
  es.addEventListener('done', function (e) {
    var s = JSON.parse(e.data);
    es.close();
    finished = true;
    root.setAttribute('data-phase', 'done');
    var box = document.getElementById('report');
    if (box.hidden) { box.textContent = 'The run has ended.'; box.hidden = false; }
    document.getElementById('status').textContent = 'finished ' + (s && s.finished_at ? s.finished_at : '') + (s && s.result_file ? ' · result ' + s.result_file : '');
  });
  es.onerror = function () { if (root.getAttribute('data-phase') !== 'done') document.getElementById('status').textContent = 'connection to gatectl lost; retrying…'; };
})();
`;

const CSS = `
* { box-sizing: border-box; }
body { margin: 0; background: #f5f6f8; color: #1d2330; font: 14px/1.45 "DejaVu Sans", "Liberation Sans", system-ui, Arial, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 16px 24px 30px; }
h1 { margin: 0 0 4px; font-size: 20px; }
.sub, footer { color: #5b6472; font-size: 12px; }
.report { background: #eaf6ec; border: 1px solid #b7dfbf; border-radius: 6px; padding: 8px 14px; margin: 10px 0; color: #256b34; font-weight: 600; }
.kpis { display: flex; flex-wrap: wrap; gap: 8px; margin: 10px 0; }
.kpi { flex: 1 1 130px; max-width: 200px; background: #fff; border: 1px solid #e3e6ec; border-radius: 8px; padding: 6px 10px; }
.kpi-value { font-size: 17px; font-weight: 600; font-variant-numeric: tabular-nums; white-space: nowrap; }
.kpi-label { color: #5b6472; font-size: 12px; }
figure { margin: 0 0 12px; background: #fff; border: 1px solid #e3e6ec; border-radius: 8px; padding: 6px; }
.chart { width: 100%; height: 260px; }
.chart.small { height: 180px; }
footer { margin-top: 20px; }
`;
