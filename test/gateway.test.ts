import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessGateway } from '../src/gateway/index.js';
import { resolveGatewayConfig, type GatewayFlags } from '../src/config/resolve.js';
import { runLoad } from '../src/load/run.js';
import { assertCleanRun, loadOptions } from './support.js';

const baseFlags: GatewayFlags = {
  host: '127.0.0.1', port: 0, transport: 'quic', 'upstream-latency': '2ms', 'upstream-distribution': 'exponential',
  'before-notifies': 2, 'after-notifies': 1, 'task-timeout': '30s',
};

for (const mode of ['sync', 'async'] as const) {
  test(`gateway over QUIC, ${mode} mode, 50 clients: every request answered in before/response/after order`, { timeout: 90_000 }, async () => {
    const gw = await startInProcessGateway(resolveGatewayConfig({ ...baseFlags, mode }, {}) as never);
    try {
      const r = await runLoad(loadOptions(mode, { clients: 50, duration: '2s', 'rate-per-client': '5', 'payload-bytes': 32 }), gw);
      const c = r.client;
      assertCleanRun(c, 50, 50 * 5 * 2 * 0.9, 3);
      assert.equal(c.latency.e2e.summary.count, c.responses);
      const s = r.server!;
      assert.equal(s.source, 'in-process');
      assert.equal(s.stages.business_latency!.summary.count, c.responses);
      assert.equal(s.stages.enqueue_latency!.summary.count, c.responses, 'one enqueue call per request group');
      if (mode === 'sync') {
        assert.equal(s.stages.direct_send_latency!.summary.count, c.responses * 4);
        assert.equal(s.stages.send_queue_wait!.summary.count, 0);
        assert.equal(s.processor, null);
      } else {
        assert.equal(s.stages.direct_send_latency!.summary.count, 0);
        assert.ok(s.stages.send_queue_wait!.summary.count > 0);
        assert.equal((s.processor as { submitted: number }).submitted, c.responses);
      }
      assert.equal(s.queue.total_failed, 0);
      assert.ok(r.timeseries.length >= 1);
    } finally {
      await gw.stop();
    }
  });
}

test('a tiny processor queue answers 503 "server busy" at once; every request still gets exactly one answer, in order', { timeout: 60_000 }, async () => {
  const gw = await startInProcessGateway(resolveGatewayConfig({
    ...baseFlags, mode: 'async', 'upstream-latency': '200ms', 'upstream-distribution': 'fixed', 'processor-workers': 1, 'processor-queue-size': 1,
  }, {}) as never);
  try {
    const r = await runLoad(loadOptions('busy', { clients: 10, 'rate-per-client': '5', 'drain-timeout': '15s' }), gw);
    const busy = r.client.errors_by_code['503'] ?? 0;
    assert.ok(busy > 0, 'some requests were refused with 503');
    assert.ok(r.client.responses > 0, 'some requests were served');
    assert.equal(r.client.responses + busy, r.client.requests_sent);
    assert.equal(r.client.unanswered, 0);
    assert.deepEqual(r.client.violations, { reorders: 0, gaps: 0, duplicates: 0, notify_order_violations: 0 });
    assert.equal((r.server!.processor as { rejected_503: number }).rejected_503, busy);
  } finally {
    await gw.stop();
  }
});

test('processor limits come from PROCESSOR_* variables, flags win, bad values name the variable', () => {
  const c = resolveGatewayConfig({ ...baseFlags, mode: 'async', 'task-timeout': undefined }, { PROCESSOR_MAX_WORKERS: '3', PROCESSOR_MAX_QUEUE_SIZE: '7', PROCESSOR_TASK_TIMEOUT: '2s' });
  assert.deepEqual(c.processor, { maxWorkers: 3, maxQueueSize: 7, taskTimeoutMs: 2000 });
  const f = resolveGatewayConfig({ ...baseFlags, mode: 'async', 'processor-workers': 5 }, { PROCESSOR_MAX_WORKERS: '3' });
  assert.equal(f.processor.maxWorkers, 5);
  assert.throws(() => resolveGatewayConfig({ ...baseFlags, mode: 'async' }, { PROCESSOR_MAX_QUEUE_SIZE: '-1' }), /PROCESSOR_MAX_QUEUE_SIZE="-1" is not valid/);
  assert.throws(() => resolveGatewayConfig({ ...baseFlags, mode: 'async', 'task-timeout': undefined }, { PROCESSOR_TASK_TIMEOUT: 'forever' }), /PROCESSOR_TASK_TIMEOUT "forever" is not a valid duration/);
});

test('upstream failures: error rate → 500, never-answering upstream → 504 after the task timeout; sessions stay up', { timeout: 60_000 }, async () => {
  for (const [knob, code] of [['upstream-error-rate', '500'], ['upstream-timeout-rate', '504']] as const) {
    const gw = await startInProcessGateway(resolveGatewayConfig({ ...baseFlags, mode: 'async', 'task-timeout': '300ms', [knob]: '1' }, {}) as never);
    try {
      const r = await runLoad(loadOptions(code, { clients: 5, 'rate-per-client': '2', 'drain-timeout': '5s' }), gw);
      assert.equal(r.client.errors_by_code[code], r.client.requests_sent, `${knob}: every request answered ${code}`);
      assert.equal(r.client.responses, 0);
      assert.deepEqual(r.client.transport_errors, {}, 'no connection was dropped');
      assert.deepEqual(r.client.violations, { reorders: 0, gaps: 0, duplicates: 0, notify_order_violations: 0 });
    } finally {
      await gw.stop();
    }
  }
});
