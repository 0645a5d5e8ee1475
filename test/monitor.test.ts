import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayServer } from '../src/gateway/index.js';
import { resolveGatewayConfig } from '../src/config/resolve.js';
import { startMonitor } from '../src/monitor/server.js';
import { optimizationAnalysis } from '../src/monitor/optimization.js';
import { defaultQueueConfig, OrderedSendSystem } from '../src/queue/index.js';
import { loadOptions } from './support.js';
import { runLoad } from '../src/load/run.js';
import { summarize, createHistogram } from '../src/metrics/histogram.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

test('monitor: seed 000 paths, Prometheus exposition, 404 and 405, against a live gateway under load', { timeout: 60_000 }, async () => {
  const config = resolveGatewayConfig({
    host: '127.0.0.1', port: 0, transport: 'quic', mode: 'async', 'upstream-latency': '1ms', 'upstream-distribution': 'fixed',
    'before-notifies': 1, 'after-notifies': 1, 'task-timeout': '30s',
  }, {});
  const gw = new GatewayServer(config);
  await gw.start();
  const mon = await startMonitor(gw, '127.0.0.1', 0);
  try {
    const r = await runLoad(loadOptions('t', { clients: 10, 'rate-per-client': '5', 'drain-timeout': '5s' }),
      { url: gw.url, kind: 'remote', insecure: true, markSteadyStart: async () => undefined, serverResult: async () => null });
    const get = async (p: string): Promise<Json> => {
      const res = await fetch(mon.url + p);
      assert.equal(res.status, 200, p);
      return res.json();
    };
    // the jq paths of seed 000
    const summary = (await get('/queue/async-stats')).async_queue_analysis.summary;
    assert.equal(summary.total_sent, r.client.responses * 3 + 10);
    assert.equal(summary.dropped_tasks, 0);
    assert.equal(summary.success_rate, 1);
    const queuing = (await get('/latency/send-ordered')).send_ordered_message_latency_analysis.queuing_phase;
    assert.equal(queuing.enqueue_latency.summary.count, r.client.responses + 10);
    assert.equal(typeof queuing.lock_wait.histogram, 'string');
    const cfg = (await get('/queue/config')).queue_configuration;
    assert.deepEqual(cfg.current_config.send_queue_size, 1000);
    assert.deepEqual(cfg.configuration_examples.memory_constrained, { QUEUE_SEND_WORKER_COUNT: '2', QUEUE_SEND_QUEUE_SIZE: '500' });
    const opt = (await get('/queue/optimization')).optimization_analysis;
    assert.equal(opt.solution.in_place, true);
    assert.match(opt.performance_improvement.claimed.source, /not measured/);
    assert.equal(opt.performance_improvement.measured.enqueue_latency_p99_us, queuing.enqueue_latency.summary.p99_us);
    assert.ok(opt.next_steps.length >= 1);
    const biz = (await get('/latency/business')).business_latency_analysis;
    assert.equal(biz.business_latency.summary.count, r.client.responses);
    assert.equal((await get('/processor/stats')).processor.submitted, r.client.responses);

    const prom = await fetch(`${mon.url}/metrics`);
    assert.equal(prom.status, 200);
    assert.match(prom.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await prom.text();
    const sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? -?[0-9.e+-]+|NaN|[+-]Inf$/;
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
      assert.match(line, sample, `exposition line: ${line}`);
    }
    assert.match(text, /# TYPE gatectl_stage_latency_seconds histogram/);
    const count = text.match(/^gatectl_stage_latency_seconds_count\{stage="business_latency"\} (\d+)$/m);
    assert.equal(Number(count?.[1]), r.client.responses);
    const inf = text.match(/^gatectl_stage_latency_seconds_bucket\{stage="business_latency",le="\+Inf"\} (\d+)$/m);
    assert.equal(Number(inf?.[1]), r.client.responses);
    assert.match(text, new RegExp(`^gatectl_queue_sent_total ${summary.total_sent}$`, 'm'));

    const missing = await fetch(`${mon.url}/nope`);
    assert.equal(missing.status, 404);
    assert.ok(((await missing.json()) as Json).endpoints.includes('/queue/optimization'));
    const post = await fetch(`${mon.url}/queue/config`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    await post.text();
  } finally {
    await mon.close();
    await gw.stop(2000);
  }
});

test('optimization: next steps follow seed 000 故障处理 rules from the figures', () => {
  const sys = new OrderedSendSystem(defaultQueueConfig(false), { record: () => undefined });
  const base = sys.snapshot();
  const slow = createHistogram();
  for (let i = 0; i < 100; i++) slow.recordValue(80_000);
  const fast = createHistogram();
  fast.recordValue(5);
  const rules = (o: Json): string[] => o.optimization_analysis.next_steps.map((s: Json) => s.rule);
  const sync = optimizationAnalysis({ queue: base, enqueue: summarize(slow), lockWait: summarize(slow), config: defaultQueueConfig(false) });
  assert.ok(rules(sync).includes('enqueue_latency high in sync mode'));
  assert.match(JSON.stringify(sync), /QUEUE_ENABLE_ASYNC_SEND=true/);
  const dropped = optimizationAnalysis({ queue: { ...base, dropped_tasks: 3, sync_fallbacks: 2 }, enqueue: summarize(fast), lockWait: summarize(fast), config: defaultQueueConfig(true) });
  assert.ok(rules(dropped).includes('dropped_tasks > 0'));
  assert.ok(rules(dropped).includes('sync_fallbacks > 0 (send queue full)'));
  const ok = optimizationAnalysis({ queue: base, enqueue: summarize(fast), lockWait: summarize(fast), config: defaultQueueConfig(true) });
  assert.deepEqual(rules(ok), ['none triggered']);
  const failing = optimizationAnalysis({ queue: { ...base, success_rate: 0.9, total_failed: 10 }, enqueue: summarize(fast), lockWait: summarize(fast), config: defaultQueueConfig(true) });
  assert.ok(rules(failing).includes('success_rate < 99%'));
});
