/**
 * A counting NDJSON sink for `--events-url` (issue 6 measurements): an HTTP server on 127.0.0.1 that
 * accepts POSTed NDJSON batches (gzip or not), answers 204, counts lines and the distinct
 * (session_id, ts_ms, business_latency_us) events, and prints the totals as JSON on SIGINT/SIGTERM.
 *
 *   node dist/bench/event-sink.js [--port 9900]
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';

const { values } = parseArgs({ options: { port: { type: 'string' } } });
const port = Number(values.port ?? '9900');
let batches = 0;
let lines = 0;
const seen = new Set<string>();
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    batches++;
    for (const line of body.toString('utf8').split('\n')) {
      if (line === '') continue;
      lines++;
      const e = JSON.parse(line) as { session_id: string; ts_ms: number; business_latency_us: number };
      seen.add(`${e.session_id}/${e.ts_ms}/${e.business_latency_us}`);
    }
    res.writeHead(204).end();
  });
});
server.listen(port, '127.0.0.1', () => process.stderr.write(`event sink on http://127.0.0.1:${port}/events\n`));
const done = (): void => {
  process.stdout.write(JSON.stringify({ batches, lines, distinct: seen.size, duplicates: lines - seen.size }) + '\n');
  process.exit(0);
};
process.once('SIGINT', done);
process.once('SIGTERM', done);
