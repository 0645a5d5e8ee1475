/**
 * Hostile peers for the hardening tests and probes (issue 16), each bounded in count and time and
 * on 127.0.0.1 only:
 * - big senders: clients that send the largest frames the gateway accepts, as fast as it lets them
 *   (a window of requests in flight each), reading and discarding the echoed answers;
 * - Hello-less sessions: connections that send only Heartbeats;
 * - concurrent scrapers of a monitor URL.
 * Big senders and scrapers run in a child process (`spawnPeer`), so their CPU is not the load
 * generator's event loop and the measured latencies stay the gateway's. This file is also that
 * child's entry: `node hostile-peers.js <big-senders|scrape> '<json options>'` prints one JSON
 * result line. Imported (or run by `node --test`, without arguments) it does nothing by itself.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { getTransport } from '../src/transport/index.js';
import type { Connection, Dialer } from '../src/transport/types.js';
import { ClientMessageType, FrameDecoder, ServerPushType, type ServerPush } from '../src/protocol/index.js';

/** Options of `runBigSenders`. */
export interface BigSenderOptions {
  port: number;
  /** concurrent big senders (one connection each) */
  senders: number;
  /** payload bytes of each request (choose it so the frame is just under the gateway's frame limit) */
  payloadBytes: number;
  /** requests each sender keeps in flight */
  inFlight: number;
  /** how long they send, ms */
  durationMs: number;
  /** map entries in each request's headers (0 = none); each key and value is 8 bytes */
  headerEntries?: number;
}

/** What the big senders saw. */
export interface BigSenderResult {
  requests: number;
  responses: number;
  errors: Record<string, number>;
  /** senders whose connection the gateway closed */
  closed: number;
  /** bytes of business responses received */
  bytesIn: number;
}

/**
 * Runs `senders` clients that say Hello and then keep `inFlight` requests of `payloadBytes` each in
 * flight for `durationMs`, counting answers. Resolves after the duration plus at most 2 s for the
 * last answers; never rejects on a closed connection (it is counted).
 */
export async function runBigSenders(o: BigSenderOptions): Promise<BigSenderResult> {
  const dialer = await getTransport('quic').createDialer({ insecure: true, connectTimeoutMs: 10_000 });
  const result: BigSenderResult = { requests: 0, responses: 0, errors: {}, closed: 0, bytesIn: 0 };
  const payload = new Uint8Array(o.payloadBytes).fill(0x61);
  const headers: Record<string, string> = {};
  for (let i = 0; i < (o.headerEntries ?? 0); i++) headers[`k${String(i).padStart(7, '0')}`] = 'vvvvvvvv';
  const end = performance.now() + o.durationMs;
  try {
    await Promise.all(Array.from({ length: o.senders }, async (_, n) => {
      const conn = await dialer.dial('127.0.0.1', o.port);
      let closed = false;
      let helloDone: () => void = () => undefined;
      const hello = new Promise<void>((r) => (helloDone = r));
      let wake: () => void = () => undefined;
      let outstanding = 0;
      const decoder = new FrameDecoder<ServerPush>(ServerPushType, (p) => {
        if (p.body === 'hello') return helloDone();
        if (p.body === 'business') {
          result.responses++;
          result.bytesIn += p.business?.data?.length ?? 0;
        } else if (p.body === 'error') {
          const code = String(p.error?.code ?? 0);
          result.errors[code] = (result.errors[code] ?? 0) + 1;
        } else {
          return;
        }
        outstanding--;
        wake();
      }, 32 * 1024 * 1024);
      conn.setHandlers({ data: (c) => decoder.push(c), close: () => { closed = true; result.closed++; helloDone(); wake(); } });
      await conn.write(ClientMessageType.encodeDelimited({ msgId: 1, hello: { userId: `big${n}`, token: 't' } }));
      await hello;
      let seq = 0;
      while (!closed && performance.now() < end) {
        if (outstanding >= o.inFlight) {
          await new Promise<void>((r) => { wake = r; setTimeout(r, 50); });
          continue;
        }
        seq++;
        outstanding++;
        result.requests++;
        await conn.write(ClientMessageType.encodeDelimited({ msgId: 1 + seq, seqId: seq, business: { action: 'business', payload, headers } })).catch(() => undefined);
      }
      const drainEnd = performance.now() + 2000;
      while (!closed && outstanding > 0 && performance.now() < drainEnd) await new Promise((r) => setTimeout(r, 20));
      await conn.close(0, 'done', 1000);
    }));
  } finally {
    await dialer.close();
  }
  return result;
}

/** Options of `runScrapes`. */
export interface ScrapeOptions {
  url: string;
  /** requests sent at once */
  concurrent: number;
  /** rounds of `concurrent` requests, each round after the previous one finished */
  rounds: number;
  /** pause between rounds, ms */
  pauseMs: number;
}

/** What the scrapers saw: statuses and each request's duration (ms). */
export interface ScrapeResult {
  ok: number;
  failed: number;
  durationsMs: number[];
}

/** Scrapes `url` `concurrent` times at once, `rounds` times. Never rejects (failures are counted). */
export async function runScrapes(o: ScrapeOptions): Promise<ScrapeResult> {
  const out: ScrapeResult = { ok: 0, failed: 0, durationsMs: [] };
  for (let r = 0; r < o.rounds; r++) {
    await Promise.all(Array.from({ length: o.concurrent }, async () => {
      const t0 = performance.now();
      try {
        const res = await fetch(o.url, { signal: AbortSignal.timeout(20_000) });
        await res.arrayBuffer();
        if (res.status === 200) out.ok++;
        else out.failed++;
      } catch {
        out.failed++;
      }
      out.durationsMs.push(performance.now() - t0);
    }));
    if (o.pauseMs > 0) await new Promise((res) => setTimeout(res, o.pauseMs));
  }
  return out;
}

/** A peer running in a child process. */
export interface SpawnedPeer<T> {
  /** the child's result (rejects if it exits without one, or after `timeoutMs`) */
  result: Promise<T>;
}

const SELF = fileURLToPath(import.meta.url);

/**
 * Runs `kind` with `options` in a child process (this file as its entry) at the lowest CPU
 * priority; killed after `timeoutMs`.
 */
export function spawnPeer<T>(kind: 'big-senders' | 'scrape', options: BigSenderOptions | ScrapeOptions, timeoutMs = 60_000): SpawnedPeer<T> {
  const child = spawn(process.execPath, [SELF, kind, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
  // lowest priority: the peer stands for clients on other machines, so its own CPU must not be
  // taken from the gateway or the load generator it is measured against (2 cores here)
  try {
    if (child.pid !== undefined) os.setPriority(child.pid, 19);
  } catch {
    // not permitted: the peer runs at normal priority
  }
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const result = new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${kind} peer timed out after ${timeoutMs} ms\n${stderr}`)); }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as T);
      } catch {
        reject(new Error(`${kind} peer exited with code ${code} and no result\n${stderr}`));
      }
    });
  });
  return { result };
}

/**
 * Opens `n` connections that never say Hello and send a Heartbeat every `everyMs` (ms), as the
 * issue's probe did. Returns them; `stop()` ends the heartbeats and closes what is still open.
 */
export async function helloLessSessions(dialer: Dialer, port: number, n: number, everyMs: number): Promise<{ conns: { conn: Connection; closed: boolean; pushes: ServerPush[] }[]; stop(): Promise<void> }> {
  const conns = await Promise.all(Array.from({ length: n }, async () => {
    const conn = await dialer.dial('127.0.0.1', port);
    const entry = { conn, closed: false, pushes: [] as ServerPush[] };
    const decoder = new FrameDecoder<ServerPush>(ServerPushType, (p) => entry.pushes.push(p));
    conn.setHandlers({ data: (c) => decoder.push(c), close: () => { entry.closed = true; } });
    await conn.write(ClientMessageType.encodeDelimited({ heartbeat: { clientTimeMs: Date.now() } }));
    return entry;
  }));
  const timer = setInterval(() => {
    for (const c of conns) if (!c.closed) void c.conn.write(ClientMessageType.encodeDelimited({ heartbeat: { clientTimeMs: Date.now() } })).catch(() => undefined);
  }, everyMs);
  return {
    conns,
    async stop() {
      clearInterval(timer);
      await Promise.all(conns.filter((c) => !c.closed).map((c) => c.conn.close(0, 'done', 1000)));
    },
  };
}

if (process.argv[1] === SELF && (process.argv[2] === 'big-senders' || process.argv[2] === 'scrape')) {
  const options = JSON.parse(process.argv[3] ?? '{}');
  const out = process.argv[2] === 'big-senders' ? await runBigSenders(options as BigSenderOptions) : await runScrapes(options as ScrapeOptions);
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}
