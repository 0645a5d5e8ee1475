import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { InvalidInputError } from '../src/errors.js';
import { NotifyPlacement, UpstreamRequestType, UpstreamResponseType } from '../src/protocol/index.js';
import {
  DEFAULT_MOCK_UPSTREAM, HttpUpstream, LATENCY_DISTRIBUTIONS, MockUpstream, UpstreamError, UpstreamTimeoutError,
  determineUpstreamService, startMockUpstreamServer, type MockUpstreamConfig,
} from '../src/upstream/index.js';

const T = { timeout: 20_000 };

/** A throwaway HTTP server on 127.0.0.1 answering with `handler`. */
async function tinyServer(handler: RequestListener): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

function cfg(over: Partial<MockUpstreamConfig> = {}): MockUpstreamConfig {
  return { ...DEFAULT_MOCK_UPSTREAM, latencyMs: 1, ...over };
}

test('determineUpstreamService routes hello/login to hello, zone* to zone, the rest to business (seed 004 §3.1)', () => {
  const table: [string, string][] = [
    ['hello', 'hello'], ['login', 'hello'], ['zone', 'zone'], ['zone.move', 'zone'], ['zoneEnter', 'zone'],
    ['business', 'business'], ['', 'business'], ['Hello', 'business'], ['hello2', 'business'], ['myzone', 'business'], ['buy', 'business'],
  ];
  for (const [action, service] of table) assert.equal(determineUpstreamService(action), service, `action '${action}'`);
});

test('MockUpstream latency distributions: 2000 samples, mean within ±15% of latencyMs', () => {
  const latencyMs = 10;
  for (const distribution of LATENCY_DISTRIBUTIONS) {
    const m = new MockUpstream(cfg({ latencyMs, distribution }));
    let sum = 0;
    let min = Infinity;
    let max = 0;
    for (let i = 0; i < 2000; i++) {
      const x = m.sampleLatencyMs();
      sum += x;
      min = Math.min(min, x);
      max = Math.max(max, x);
    }
    const mean = sum / 2000;
    assert.ok(Math.abs(mean - latencyMs) <= 0.15 * latencyMs, `${distribution}: mean ${mean.toFixed(3)} ms`);
    assert.ok(min >= 0, `${distribution}: min ${min}`);
    if (distribution === 'fixed') assert.equal(max, latencyMs);
    if (distribution === 'uniform') assert.ok(max <= 2 * latencyMs, `uniform max ${max}`);
    if (distribution !== 'fixed') assert.ok(max > min, `${distribution} varies`);
  }
  assert.equal(new MockUpstream(cfg({ latencyMs: 0, distribution: 'lognormal' })).sampleLatencyMs(), 0);
});

test('MockUpstream rejects out-of-range settings with InvalidInputError', () => {
  for (const bad of [{ errorRate: 1.5 }, { timeoutRate: -0.1 }, { errorRate: 0.6, timeoutRate: 0.5 }, { latencyMs: -1 }, { lognormalSigma: 0 },
    { distribution: 'pareto' as never }]) {
    assert.throws(() => new MockUpstream(cfg(bad)), InvalidInputError, JSON.stringify(bad));
  }
});

test('MockUpstream in-process: errorRate 1 rejects with UpstreamError, timeoutRate 1 with UpstreamTimeoutError after timeoutMs', T, async () => {
  const failing = new MockUpstream(cfg({ errorRate: 1 }));
  await assert.rejects(failing.call({ action: 'business', seqId: 3 }), (e: unknown) =>
    e instanceof UpstreamError && !(e instanceof UpstreamTimeoutError) && e.code === 'GATECTL_UPSTREAM' && /injected error/.test(e.message));
  assert.equal((await failing.login('u', 't')).code, 200, 'logins are never failed');

  const silent = new MockUpstream(cfg({ timeoutRate: 1 }));
  const t0 = performance.now();
  await assert.rejects(silent.call({ action: 'business', seqId: 4 }, { timeoutMs: 100 }), (e: unknown) =>
    e instanceof UpstreamTimeoutError && e.code === 'GATECTL_UPSTREAM_TIMEOUT' && e.timeoutMs === 100);
  const elapsed = performance.now() - t0;
  assert.ok(elapsed >= 90 && elapsed < 1000, `timed out after ${elapsed} ms`);

  const ac = new AbortController();
  const p = silent.call({ action: 'zone', seqId: 5 }, { signal: ac.signal });
  ac.abort();
  await assert.rejects(p, (e: unknown) => e instanceof UpstreamError && /aborted/.test(e.message));

  // answers normally with a deadline it meets
  const ok = await new MockUpstream(cfg({ beforeNotifies: 0, afterNotifies: 2 })).call({ action: 'business', seqId: 9 }, { timeoutMs: 5000 });
  assert.equal(ok.code, 200);
  assert.deepEqual(ok.notifies!.map((n) => [n.grid, n.placement]), [[9, NotifyPlacement.AFTER_RESPONSE], [9, NotifyPlacement.AFTER_RESPONSE]]);
});

test('mock server + HttpUpstream: protobuf round trip, notifies bound to seqId, routing, login', T, async () => {
  const srv = await startMockUpstreamServer(cfg({ beforeNotifies: 2, afterNotifies: 1 }));
  const up = new HttpUpstream(srv.url, { connections: 4, timeoutMs: 5000 });
  try {
    assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const payload = new Uint8Array([1, 2, 3, 250]);
    for (const [action, seqId] of [['business', 42], ['zone.move', 43]] as const) {
      const resp = await up.call({ sessionId: 's1', userId: 'u1', action, seqId, payload, headers: { k: 'v' } });
      assert.equal(resp.code, 200);
      assert.equal(resp.message, 'ok');
      assert.deepEqual(new Uint8Array(resp.data!), payload);
      assert.deepEqual(resp.notifies!.map((n) => [n.grid, n.placement, n.topic]), [
        [seqId, NotifyPlacement.BEFORE_RESPONSE, 'before'], [seqId, NotifyPlacement.BEFORE_RESPONSE, 'before'], [seqId, NotifyPlacement.AFTER_RESPONSE, 'after'],
      ]);
    }
    // concurrent calls over the keep-alive pool
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => up.call({ action: 'business', seqId: 100 + i })));
    assert.deepEqual(many.map((r) => r.notifies![0]!.grid), Array.from({ length: 50 }, (_, i) => 100 + i));

    assert.deepEqual(await up.login('u1', 'tok'), { code: 200, message: 'ok' });
    assert.equal((await up.login('', 'tok')).code, 401);
  } finally {
    await up.close();
    await srv.close();
  }
});

test('mock server speaks JSON: JSON body or accept application/json gets JSON; unknown path is a 404 JSON error', T, async () => {
  const srv = await startMockUpstreamServer(cfg({ beforeNotifies: 1, afterNotifies: 1 }));
  try {
    const res = await request(`${srv.url}/upstream/business`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sessionId: 's', userId: 'u', action: 'business', seqId: 7, payload: Buffer.from('hi').toString('base64') }),
    });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const json = await res.body.json() as { code: number; data: string; notifies: { grid: number; placement: string; topic: string }[] };
    assert.equal(json.code, 200);
    assert.equal(Buffer.from(json.data, 'base64').toString(), 'hi');
    assert.deepEqual(json.notifies.map((n) => [n.grid, n.placement]), [[7, 'BEFORE_RESPONSE'], [7, 'AFTER_RESPONSE']]);

    // protobuf body, JSON answer through accept
    const res2 = await request(`${srv.url}/upstream/zone`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', accept: 'application/json' },
      body: UpstreamRequestType.encode({ action: 'zone', seqId: 8 }),
    });
    assert.equal(res2.statusCode, 200);
    const json2 = await res2.body.json() as { notifies: { grid: number }[] };
    assert.deepEqual(json2.notifies.map((n) => n.grid), [8, 8]);

    // JSON login
    const res3 = await request(`${srv.url}/upstream/hello`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action: 'hello', userId: 'u9', headers: { token: 't' } }),
    });
    assert.deepEqual(await res3.body.json(), { code: 200, message: 'ok' });

    const res4 = await request(`${srv.url}/nope`, { method: 'POST', body: 'x' });
    assert.equal(res4.statusCode, 404);
    const err = await res4.body.json() as { code: number; message: string; detail: string };
    assert.equal(err.code, 404);
    assert.match(err.detail, /\/upstream\//);

    const res5 = await request(`${srv.url}/upstream/business`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{broken' });
    assert.equal(res5.statusCode, 400);
    assert.match((await res5.body.json() as { detail: string }).detail, /does not parse/);
  } finally {
    await srv.close();
  }
});

test('HttpUpstream decodes a JSON answer (camelCase, base64 bytes, enum names)', T, async () => {
  const srv = await tinyServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ code: 201, message: 'made', data: Buffer.from('yo').toString('base64'), headers: { h: '1' },
        notifies: [{ grid: '5', placement: 'BEFORE_RESPONSE', topic: 't' }, { grid: 5, placement: 2 }] }));
    });
  });
  const up = new HttpUpstream(srv.url);
  try {
    const r = await up.call({ action: 'business', seqId: 5 });
    assert.equal(r.code, 201);
    assert.equal(Buffer.from(r.data!).toString(), 'yo');
    assert.deepEqual({ ...r.headers }, { h: '1' });
    assert.deepEqual(r.notifies!.map((n) => [n.grid, n.placement]), [[5, NotifyPlacement.BEFORE_RESPONSE], [5, NotifyPlacement.AFTER_RESPONSE]]);
  } finally {
    await up.close();
    await srv.close();
  }
});

test('errorRate 1 over HTTP: UpstreamError with status 500 and the detail', T, async () => {
  const srv = await startMockUpstreamServer(cfg({ errorRate: 1 }));
  const up = new HttpUpstream(srv.url, { timeoutMs: 5000 });
  try {
    await assert.rejects(up.call({ action: 'business', seqId: 1 }), (e: unknown) =>
      e instanceof UpstreamError && !(e instanceof UpstreamTimeoutError) && e.status === 500 && e.code === 'GATECTL_UPSTREAM'
      && /HTTP 500/.test(e.message) && /injected error/.test(e.message));
  } finally {
    await up.close();
    await srv.close();
  }
});

test('timeoutRate 1 over HTTP with timeoutMs 200: UpstreamTimeoutError within ~1 s; the pool keeps working', T, async () => {
  const srv = await startMockUpstreamServer(cfg({ timeoutRate: 1 }));
  const up = new HttpUpstream(srv.url, { timeoutMs: 10_000 });
  try {
    const t0 = performance.now();
    await assert.rejects(up.call({ action: 'business', seqId: 1 }, { timeoutMs: 200 }), (e: unknown) =>
      e instanceof UpstreamTimeoutError && e.code === 'GATECTL_UPSTREAM_TIMEOUT' && e.timeoutMs === 200 && /200 ms/.test(e.message));
    const elapsed = performance.now() - t0;
    assert.ok(elapsed >= 190 && elapsed < 1000, `timed out after ${elapsed} ms`);
    // several at once, then a login (never silenced) on the same pool
    const all = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => up.call({ action: 'zone', seqId: 2 + i }, { timeoutMs: 200 })));
    assert.ok(all.every((r) => r.status === 'rejected' && r.reason instanceof UpstreamTimeoutError));
    assert.equal((await up.login('u', 't')).code, 200);
    // abort through a signal
    const ac = new AbortController();
    const p = up.call({ action: 'business', seqId: 20 }, { signal: ac.signal, timeoutMs: 5000 });
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(p, (e: unknown) => e instanceof UpstreamError && !(e instanceof UpstreamTimeoutError) && /aborted/.test(e.message));
    // no timeout of ours at all: only the signal ends the call
    const untimed = new HttpUpstream(srv.url, { timeoutMs: 0 });
    try {
      const ac2 = new AbortController();
      const p2 = untimed.call({ action: 'business', seqId: 21 }, { signal: ac2.signal });
      setTimeout(() => ac2.abort(), 20);
      await assert.rejects(p2, (e: unknown) => e instanceof UpstreamError && !(e instanceof UpstreamTimeoutError) && /aborted/.test(e.message));
    } finally {
      await untimed.close();
    }
  } finally {
    await up.close();
    await srv.close();
  }
});

test('garbage, wrong content-type, non-2xx and refused connections: UpstreamError with the detail', T, async () => {
  const srv = await tinyServer((req, res) => {
    req.resume();
    const body = {
      '/upstream/business': ['application/x-protobuf', '<html>garbage</html>', 200],
      '/upstream/zone': ['application/json', '{not json', 200],
      '/upstream/hello': ['text/html', '<p>hi</p>', 200],
      '/x/upstream/business': ['application/json', '{"code":503,"message":"busy","detail":"try later"}', 503],
    }[req.url!] as [string, string, number];
    req.on('end', () => { res.writeHead(body[2], { 'content-type': body[0] }); res.end(body[1]); });
  });
  const up = new HttpUpstream(srv.url, { timeoutMs: 5000 });
  const prefixed = new HttpUpstream(`${srv.url}/x/`, { timeoutMs: 5000 });
  try {
    await assert.rejects(up.call({ action: 'business', seqId: 1 }), (e: unknown) =>
      e instanceof UpstreamError && /\/upstream\/business: protobuf body does not parse/.test(e.message) && /invalid wire type/.test(e.message));
    await assert.rejects(up.call({ action: 'zone', seqId: 2 }), (e: unknown) =>
      e instanceof UpstreamError && /JSON body of 9 bytes does not parse/.test(e.message));
    await assert.rejects(up.login('u', 't'), (e: unknown) => e instanceof UpstreamError && /unsupported content-type text\/html/.test(e.message));
    await assert.rejects(prefixed.call({ action: 'business', seqId: 3 }), (e: unknown) =>
      e instanceof UpstreamError && e.status === 503 && /HTTP 503/.test(e.message) && /try later/.test(e.message));
  } finally {
    await up.close();
    await prefixed.close();
    await srv.close();
  }

  // nothing listens on the port any more
  const refused = new HttpUpstream(srv.url, { timeoutMs: 5000 });
  try {
    await assert.rejects(refused.call({ action: 'business', seqId: 1 }), (e: unknown) =>
      e instanceof UpstreamError && !(e instanceof UpstreamTimeoutError) && /ECONNREFUSED/.test(e.message));
  } finally {
    await refused.close();
  }
  assert.throws(() => new HttpUpstream('ftp://127.0.0.1:1'), InvalidInputError);
  assert.throws(() => new HttpUpstream('not a url'), InvalidInputError);
});

test('mock server answers protobuf by default (UpstreamResponseType)', T, async () => {
  const srv = await startMockUpstreamServer(cfg({ beforeNotifies: 0, afterNotifies: 0 }));
  try {
    const res = await request(`${srv.url}/upstream/business`, {
      method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: UpstreamRequestType.encode({ action: 'business', seqId: 1, payload: Buffer.from('z') }),
    });
    assert.equal(res.headers['content-type'], 'application/x-protobuf');
    const r = UpstreamResponseType.decode(await res.body.bytes());
    assert.equal(r.code, 200);
    assert.equal(Buffer.from(r.data!).toString(), 'z');
  } finally {
    await srv.close();
  }
});
