/**
 * Issue 12 §3: `load --dashboard` serves a page and server-sent events during a small run, offers the
 * HTML report at the end, and closes with the run. One real run against the in-process gateway,
 * read twice: by a raw event-stream client (node:http) and by the page in headless Chromium
 * (test/browser.ts), which must draw the seconds, show no error and offer the report link.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunResult } from '../src/metrics/result.js';
import { startDashboard } from '../src/output/dashboard.js';
import { InvalidInputError } from '../src/errors.js';
import { repoRoot } from './support.js';
import { launchChromium, type Chromium } from './browser.js';

let chromium: Chromium | null = null;
let tmp = '';
before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'gatectl-dashboard-'));
  chromium = await launchChromium();
});
after(async () => {
  await chromium?.close();
  if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
});

interface Sse { id: string; event: string; data: string }

/** Reads an event stream until the server ends it (bounded by `timeoutMs`). */
function readEvents(url: string, timeoutMs: number, headers: Record<string, string> = {}): Promise<{ status: number; type: string; events: Sse[] }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let buf = '';
      const events: Sse[] = [];
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const e: Sse = { id: '', event: 'message', data: '' };
          let fields = 0;
          for (const line of block.split('\n')) {
            const m = /^(id|event|data): ?(.*)$/.exec(line);
            if (m === null) continue;
            fields++;
            e[m[1] as keyof Sse] = m[2]!;
          }
          if (fields > 0 && e.data !== '') events.push(e);
        }
      });
      res.on('end', () => { clearTimeout(timer); resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), events }); });
    });
    const timer = setTimeout(() => { req.destroy(); reject(new Error(`${url}: the event stream did not end within ${timeoutMs} ms`)); }, timeoutMs);
    req.on('error', (err) => { clearTimeout(timer); reject(err); });
  });
}

test('load --dashboard: the page and /events during the run, ticks once a second, the HTML report at the end, closed with the run', { timeout: 150_000 }, async () => {
  const c = chromium!;
  let onUrl!: (u: string) => void;
  const urlSeen = new Promise<string>((r) => { onUrl = r; });
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/run.js'), 'load', '--dashboard', '--dashboard-port', '0', '--clients', '10', '--rate', '50',
    '--duration', '6s', '--upstream-latency', '1ms', '--out', 'result.json', '--out', 'json=live.ndjson'], { cwd: tmp, env: { ...process.env, NO_COLOR: '1' } });
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (d: Buffer) => {
    stderr += d;
    const m = /^dashboard: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(stderr);
    if (m !== null) onUrl(m[1]!);
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  try {
    const url = await Promise.race([urlSeen, exited.then((code) => { throw new Error(`gatectl exited (${code}) before printing the dashboard URL:\n${stderr}`); })]);
    // the raw stream: read to its end (the server ends it when the run is over)
    const stream = readEvents(`${url}events`, 100_000);
    const page = await c.browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e instanceof Error ? e.message : String(e)}`));
    page.on('requestfailed', (r) => { if (!r.url().startsWith('blob:')) errors.push(`request failed: ${r.url()}`); });
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
    // page code as text: it runs in Chromium, where the DOM is
    await page.waitForFunction('Number(document.documentElement.getAttribute("data-ticks")) >= 2', { timeout: 60_000 });
    try {
      await page.waitForSelector('#report-link', { timeout: 90_000 });
    } catch (err) {
      throw new Error(`no report link: page errors ${JSON.stringify(errors)}, status ${String(await page.evaluate('document.getElementById("status").textContent'))}, gatectl stderr:\n${stderr}`, { cause: err });
    }
    await page.waitForFunction('document.documentElement.getAttribute("data-phase") === "done"', { timeout: 10_000 });
    const facts = await page.evaluate(`({
      ticks: Number(document.documentElement.getAttribute('data-ticks')),
      canvases: document.querySelectorAll('.chart canvas').length,
      kpis: document.querySelectorAll('.kpi').length,
      href: document.getElementById('report-link').href,
    })`) as { ticks: number; canvases: number; kpis: number; href: string };
    assert.ok(facts.canvases >= 3, `three charts drawn: ${facts.canvases} canvases`);
    assert.ok(facts.kpis >= 6, `key figures: ${facts.kpis}`);
    assert.match(facts.href, /^blob:/, 'the report is offered from the page itself (works after the server is gone)');
    // the report the page offers is the HTML report of the run
    const reportTitle = await page.evaluate(async (href) => {
      const text = await (await fetch(href)).text();
      return /<title>([^<]*)<\/title>/.exec(text)?.[1] ?? '';
    }, facts.href);
    assert.equal(reportTitle, 'gatectl run: async');
    assert.deepEqual(errors, [], 'no console or page errors');
    await page.close();

    const { status, type, events } = await stream;
    assert.equal(status, 200);
    assert.match(type, /^text\/event-stream/);
    const kinds = events.map((e) => e.event);
    assert.equal(kinds[0], 'hello');
    assert.deepEqual(kinds.slice(-2), ['report', 'done'], 'the report, then done, at the end');
    const ticks = events.filter((e) => e.event === 'tick').map((e) => JSON.parse(e.data) as Record<string, unknown>);
    assert.ok(ticks.length >= 5, `about one tick a second of a 6 s run: ${ticks.length}`);
    assert.ok(ticks.some((t) => t.phase === 'steady' && Number(t.responses) > 0));
    assert.equal(ticks.at(-1)!.phase, 'end');
    assert.deepEqual(events.map((e) => Number(e.id)), events.map((_, i) => i + 1), 'ids 1, 2, 3, …');
    const report = JSON.parse(events.at(-2)!.data) as string;
    assert.match(report, /^<!doctype html>/);
    const done = JSON.parse(events.at(-1)!.data) as Record<string, unknown>;

    const code = await exited;
    assert.equal(code, 0, stderr);
    const result = JSON.parse(readFileSync(path.join(tmp, 'result.json'), 'utf8')) as RunResult;
    assert.equal(done.responses, result.client.responses);
    assert.equal(ticks.reduce((a, t) => a + Number(t.responses), 0), result.client.responses, 'the ticks add up to the result');
    // the dashboard ticks are the NDJSON seconds
    const ndjson = readFileSync(path.join(tmp, 'live.ndjson'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(ticks, ndjson.filter((l) => l.type === 'second'));
    // closed with the run
    await assert.rejects(fetch(url), 'the dashboard is gone once the command exited');
  } finally {
    clearTimeout(killer);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('the dashboard replays the events after Last-Event-ID, serves /report only at the end, refuses a taken port', { timeout: 30_000 }, async () => {
  const d = await startDashboard(0, { label: 'x', clients: 1, e2e: [{ key: 'e2e_p99_us', label: 'e2e p99' }] }, '/* no echarts */');
  try {
    d.tick({ n: 1 });
    d.tick({ n: 2 });
    assert.equal((await fetch(`${d.server.url}/report`)).status, 404);
    const page = await (await fetch(`${d.server.url}/`)).text();
    assert.match(page, /new EventSource\('\/events'\)/);
    await assert.rejects(startDashboard(d.server.port, { label: 'x', clients: 1, e2e: [] }, ''), (e: unknown) => e instanceof InvalidInputError && /--dashboard-port \d+: the port is in use/.test(e.message));
    const resumed = readEvents(`${d.server.url}/events`, 10_000, { 'last-event-id': '2' });
    setTimeout(() => {
      d.finish('<!doctype html><title>r</title>', { ok: true });
      void d.close();
    }, 300);
    const { events } = await resumed;
    assert.deepEqual(events.map((e) => [e.id, e.event]), [['3', 'tick'], ['4', 'report'], ['5', 'done']], 'only what came after event 2');
  } finally {
    await d.close();
  }
});
