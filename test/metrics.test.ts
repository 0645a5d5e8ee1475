import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHistogram, decodeHistogram, encodeHistogram, mergeHistograms, recordUs, summarize, HIGHEST_TRACKABLE_US } from '../src/metrics/histogram.js';

test('histograms: encode/decode keeps counts and percentiles; merge adds, never averages', () => {
  const a = createHistogram();
  const b = createHistogram();
  for (let i = 1; i <= 1000; i++) recordUs(a, i);
  for (let i = 0; i < 20; i++) recordUs(b, 50_000);
  const a2 = decodeHistogram(encodeHistogram(a));
  assert.deepEqual(summarize(a2), summarize(a));
  const m = mergeHistograms([a2, decodeHistogram(encodeHistogram(b))]);
  const s = summarize(m);
  assert.equal(s.count, 1020);
  assert.ok(s.p99_us >= 50_000 * 0.999, `merged p99 ${s.p99_us} must see the slow tail`);
  assert.ok(s.p50_us > 490 && s.p50_us < 520);
});

test('histograms: negatives record as 0, values above 60 s are clamped', () => {
  const h = createHistogram();
  recordUs(h, -5);
  recordUs(h, HIGHEST_TRACKABLE_US * 10);
  const s = summarize(h);
  assert.equal(s.count, 2);
  assert.equal(s.min_us, 0);
  assert.ok(s.max_us >= HIGHEST_TRACKABLE_US * 0.999 && s.max_us <= HIGHEST_TRACKABLE_US * 1.001);
  assert.deepEqual(summarize(createHistogram()), { count: 0, min_us: 0, mean_us: 0, p50_us: 0, p90_us: 0, p99_us: 0, p999_us: 0, max_us: 0 });
});
