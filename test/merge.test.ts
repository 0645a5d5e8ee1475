/**
 * Shards that run together and merge exactly (issue 14 §7): per-second encoded histograms make the
 * merged seconds' percentiles exact, `--start-at` starts every shard's schedule at one instant,
 * and the merge refuses the same shard twice and an unsharded run mixed with shards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessGateway } from '../src/gateway/index.js';
import { resolveGatewayConfig } from '../src/config/resolve.js';
import { runLoad } from '../src/load/run.js';
import { parseStartAt } from '../src/config/load.js';
import { mergeRunResults } from '../src/metrics/merge.js';
import { decodeHistogram, mergeHistograms } from '../src/metrics/histogram.js';
import { InvalidInputError } from '../src/errors.js';
import type { RunResult } from '../src/metrics/result.js';
import { loadOptions } from './support.js';

const gatewayFlags = { host: '127.0.0.1', port: 0, transport: 'quic', mode: 'async', 'upstream-latency': '2ms', 'upstream-distribution': 'exponential', 'before-notifies': 1, 'after-notifies': 1, 'task-timeout': '30s' };

test('parseStartAt: ISO 8601 with a zone; no zone, too far ahead or long past refused with the fix', () => {
  const now = Date.parse('2026-12-01T23:00:00Z');
  assert.equal(parseStartAt('2026-12-01T23:02:00Z', now), Date.parse('2026-12-01T23:02:00Z'));
  assert.equal(parseStartAt('2026-12-02T00:02:00+01:00', now), Date.parse('2026-12-01T23:02:00Z'));
  assert.equal(parseStartAt('2026-12-01T22:59:30.500Z', now), Date.parse('2026-12-01T22:59:30.500Z'), 'a few seconds late is accepted (the run warns)');
  for (const [bad, why] of [['2026-12-01T23:02:00', /zone/], ['tomorrow', /zone/], ['2026-12-03T23:00:00Z', /24 h/], ['2026-12-01T22:00:00Z', /min ago/]] as const) {
    assert.throws(() => parseStartAt(bad, now), (e: unknown) => e instanceof InvalidInputError && why.test((e as Error).message), bad);
  }
});

/** Two shards of one run against one gateway, started together with --start-at. */
async function twoShards(): Promise<{ shards: RunResult[]; startAt: number }> {
  const gw = await startInProcessGateway(resolveGatewayConfig(gatewayFlags as never, {}) as never);
  try {
    const startAt = Math.ceil((Date.now() + 2500) / 1000) * 1000;
    const shards = await Promise.all([0, 1].map((i) => runLoad({
      ...loadOptions(`shard-${i}`, { clients: 20, duration: '3s', 'rate-per-client': '10', shard: `${i}/2` }),
      startAtEpochMs: startAt,
    }, gw)));
    return { shards, startAt };
  } finally {
    await gw.stop();
  }
}

test('shards started with --start-at merge second by second exactly; duplicates and an unsharded run are refused', { timeout: 120_000 }, async () => {
  const { shards, startAt } = await twoShards();
  for (const s of shards) {
    assert.equal(s.steady_started_at, new Date(startAt).toISOString(), 'the steady phase began at --start-at');
    assert.equal(s.config.start_at, new Date(startAt).toISOString());
    assert.ok(s.timeseries.length >= 2);
    for (const p of s.timeseries) assert.equal(typeof p.e2e_histogram, 'string', 'each second carries its histogram');
  }
  const merged = mergeRunResults(shards);
  assert.equal(merged.client.responses, shards[0]!.client.responses + shards[1]!.client.responses);
  assert.ok(!merged.warnings.some((w) => /upper bound|did not run together/.test(w)), merged.warnings.join('\n'));
  assert.equal(merged.timeseries.length, Math.max(shards[0]!.timeseries.length, shards[1]!.timeseries.length), 'the shards\' seconds line up');
  for (const p of merged.timeseries) {
    const parts = shards.flatMap((s) => s.timeseries.filter((q) => q.t_s === p.t_s));
    const h = mergeHistograms(parts.map((q) => decodeHistogram(q.e2e_histogram!)));
    assert.equal(h.totalCount, parts.reduce((a, q) => a + q.responses, 0), 'the histogram holds that second\'s responses');
    assert.equal(p.e2e_p99_us, h.totalCount > 0 ? h.getValueAtPercentile(99) : 0, `second ${p.t_s}: p99 of the added histograms`);
    assert.equal(p.e2e_p50_us, h.totalCount > 0 ? h.getValueAtPercentile(50) : 0);
    assert.equal(decodeHistogram(p.e2e_histogram!).totalCount, h.totalCount);
  }

  assert.throws(() => mergeRunResults([shards[0]!, shards[0]!]), (e: unknown) => e instanceof InvalidInputError && /shard 0\/2/.test((e as Error).message));
  assert.throws(() => mergeRunResults([merged, shards[1]!]), (e: unknown) => e instanceof InvalidInputError && /shard 1\/2/.test((e as Error).message), 'a merged result already holds shard 1');
  const whole = structuredClone(shards[1]!);
  whole.config.shard = null;
  assert.throws(() => mergeRunResults([shards[0]!, whole]), (e: unknown) => e instanceof InvalidInputError && /whole run \(no --shard\)/.test((e as Error).message));

  const alone = mergeRunResults([shards[0]!]);
  assert.ok(alone.warnings.some((w) => /shards 1\/2 are missing/.test(w)), alone.warnings.join('\n'));

  // results from before per-second histograms: the largest part, and a warning that it is an upper bound
  const old = shards.map((s) => ({ ...structuredClone(s), timeseries: s.timeseries.map(({ e2e_histogram: _e, schedule_lag_histogram: _l, ...rest }) => rest) }));
  const approx = mergeRunResults(old);
  assert.ok(approx.warnings.some((w) => /upper bound/.test(w)));
  for (const p of approx.timeseries) {
    const parts = old.flatMap((s) => s.timeseries.filter((q) => q.t_s === p.t_s));
    assert.equal(p.e2e_p99_us, Math.max(...parts.map((q) => q.e2e_p99_us)));
  }
});
