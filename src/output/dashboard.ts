/**
 * `gatectl load --dashboard [--dashboard-port 5665]` (issue 12 §3; k6's web dashboard, whose
 * default port 5665 we keep): a page on http://127.0.0.1:PORT/ that follows the run once a second.
 *
 * - `GET /`: the page (dashboard-page.ts): key figures and three ECharts charts on a time axis
 *   (requests/s, responses/s and errors/s; e2e p50/p99 and schedule lag p99; clients connected).
 *   The ECharts bundle is inlined, as in the HTML report, so the page needs nothing else.
 * - `GET /events`: server-sent events (text/event-stream, WHATWG HTML §9.2). `event: hello` (label,
 *   clients, the `--percentiles` keys), then one `event: tick` per second whose data is the
 *   LiveSecond of that second (second.ts; the NDJSON lines carry the same), and at the end `event:
 *   report` (data: the HTML report of the run as a JSON string) and `event: done` (data: the
 *   summary line, files.ts). Every event has an `id:`; a client that reconnects with
 *   `Last-Event-ID` gets the events after it, a new client gets every event so far (the page draws
 *   the run from its start).
 * - `GET /report`: the HTML report once the run has ended (404 before).
 * The server closes with the run: `close()` ends every event stream. The page keeps the report it
 * received (a download link to a Blob), so it stays usable after the command exits.
 */
import type http from 'node:http';
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { ECHARTS_BUNDLE } from '../report/svg.js';
import { listenLocal, type LocalServer } from './http.js';
import { dashboardPage, type DashboardInfo } from './dashboard-page.js';

export type { DashboardInfo } from './dashboard-page.js';

/** The default `--dashboard-port` (k6's web dashboard port). */
export const DEFAULT_DASHBOARD_PORT = 5665;

/** Most events kept for replay to late clients (one a second: 24 h). */
const MAX_EVENTS = 86_400;

/** A running dashboard. */
export interface Dashboard {
  readonly server: LocalServer;
  /** Sends one second (a LiveSecond or any JSON value) to every client. */
  tick(second: unknown): void;
  /** Sends the HTML report (`report` event, also served at /report) and the `done` event with `summary`. */
  finish(reportHtml: string | null, summary: unknown): void;
  /** Event streams open now (for tests). */
  readonly clients: number;
  /** Ends every event stream and stops listening. */
  close(): Promise<void>;
}

/** Reads the ECharts bundle the HTML report inlines (node_modules/echarts). */
export async function readEchartsBundle(): Promise<string> {
  return readFile(createRequire(import.meta.url).resolve(ECHARTS_BUNDLE), 'utf8');
}

/**
 * Starts the dashboard on 127.0.0.1:`port` (0: any free port). Throws InvalidInputError when the
 * port cannot be used.
 */
export async function startDashboard(port: number, info: DashboardInfo, echartsSource: string): Promise<Dashboard> {
  const page = Buffer.from(dashboardPage(info, echartsSource), 'utf8');
  const events: string[] = [];
  const streams = new Set<http.ServerResponse>();
  let report: string | null = null;
  const push = (name: string, data: string) => {
    const text = `id: ${events.length + 1}\nevent: ${name}\ndata: ${data}\n\n`;
    if (events.length < MAX_EVENTS) events.push(text);
    for (const s of streams) s.write(text);
  };
  push('hello', JSON.stringify(info));
  const server = await listenLocal(port, '--dashboard-port', (req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
    } else if (url === '/' || url === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-length': page.length }).end(page);
    } else if (url === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      const last = Number(req.headers['last-event-id'] ?? 0);
      res.write('retry: 2000\n\n');
      for (const e of events.slice(Number.isInteger(last) && last > 0 ? last : 0)) res.write(e);
      streams.add(res);
      req.on('close', () => streams.delete(res));
    } else if (url === '/report' && report !== null) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-disposition': 'inline; filename="gatectl-report.html"' }).end(report);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(url === '/report' ? 'the report is ready when the run ends\n' : 'not found\n');
    }
  });
  return {
    server,
    tick: (second) => push('tick', JSON.stringify(second)),
    finish(reportHtml, summary) {
      report = reportHtml;
      // JSON escapes CR and LF, the only line ends of an event stream, so one `data:` line holds it
      if (reportHtml !== null) push('report', JSON.stringify(reportHtml));
      push('done', JSON.stringify(summary));
    },
    get clients() { return streams.size; },
    async close() {
      // let each stream flush what it was sent (the report is large) before the sockets go; at most 3 s
      const flushed = [...streams].map((s) => new Promise<void>((r) => { s.end(() => r()); }));
      streams.clear();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(flushed), new Promise<void>((r) => { timer = setTimeout(r, 3000); })]);
      clearTimeout(timer);
      await server.close();
    },
  };
}
