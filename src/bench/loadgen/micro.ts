/**
 * Micro-costs of the load-generator benchmark, single-thread loops in the generator process timed
 * with process.hrtime.bigint(): a histogram record (and encode/decode of one histogram) and the load
 * client's codec path (BusinessRequest encode, BusinessResponse frame decode).
 */
import { GatectlError } from '../../errors.js';
import { ClientMessageType, FrameDecoder, ServerPushType } from '../../protocol/index.js';
import { createHistogram, decodeHistogram, encodeHistogram, recordUs } from '../../metrics/histogram.js';
import { round1 } from './meter.js';
import type { CodecCost, HistogramCost } from './result.js';

/**
 * Histogram record cost: `values` values log-uniform over 1 µs .. 1 s (a low-discrepancy sequence,
 * no random generator) recorded with recordUs into one factory histogram, timed with
 * process.hrtime.bigint; the same loop summing instead gives the loop overhead. Then encode and
 * decode of that histogram (µs each, best of 5 averages).
 */
export function measureHistogramCost(values: number): HistogramCost {
  const size = Math.min(values, 1 << 20);
  const mask = (1 << Math.ceil(Math.log2(size))) - 1;
  const vals = new Float64Array(mask + 1);
  for (let k = 0; k < vals.length; k++) vals[k] = 10 ** (6 * ((k * 0.6180339887498949) % 1));
  const h = createHistogram();
  // warm-up (JIT) on a throwaway histogram
  const warm = createHistogram();
  for (let i = 0; i < 200_000; i++) recordUs(warm, vals[i & mask]!);
  let t = process.hrtime.bigint();
  for (let i = 0; i < values; i++) recordUs(h, vals[i & mask]!);
  const recordNs = Number(process.hrtime.bigint() - t);
  let sum = 0;
  t = process.hrtime.bigint();
  for (let i = 0; i < values; i++) sum += vals[i & mask]!;
  const loopNs = Number(process.hrtime.bigint() - t);
  if (sum < 0 || h.totalCount !== values) throw new GatectlError(`histogram cost: recorded ${h.totalCount} of ${values} values`);
  const reps = 5;
  let encoded = '';
  t = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) encoded = encodeHistogram(h);
  const encodeNs = Number(process.hrtime.bigint() - t) / reps;
  t = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) decodeHistogram(encoded);
  const decodeNs = Number(process.hrtime.bigint() - t) / reps;
  const perRecord = recordNs / values;
  const overhead = loopNs / values;
  const r2 = (n: number) => Math.round(n * 100) / 100;
  return {
    values, ns_per_record: r2(perRecord), loop_overhead_ns: r2(overhead), net_ns_per_record: r2(Math.max(0, perRecord - overhead)),
    encode_us: round1(encodeNs / 1000), encoded_bytes: encoded.length, decode_us: round1(decodeNs / 1000),
  };
}

/**
 * The load client's per-message codec cost: `iterations` BusinessRequest encodes
 * (ClientMessageType.encodeDelimited, `payloadBytes` payload) and as many BusinessResponse frames
 * decoded through FrameDecoder.push, timed with process.hrtime.bigint, ns per message.
 */
export function measureCodecCost(iterations: number, payloadBytes: number): CodecCost {
  const payload = new Uint8Array(payloadBytes);
  let bytes = 0;
  for (let i = 1; i <= 50_000; i++) bytes += ClientMessageType.encodeDelimited({ msgId: i, seqId: i, business: { action: 'business', payload } }).length;
  let t = process.hrtime.bigint();
  for (let i = 1; i <= iterations; i++) bytes += ClientMessageType.encodeDelimited({ msgId: 100_000 + i, seqId: 100_000 + i, business: { action: 'business', payload } }).length;
  const encodeNs = Number(process.hrtime.bigint() - t);
  const response = ServerPushType.encodeDelimited({ serverSeq: 123_456, business: { msgId: 123_456, code: 200 } });
  let n = 0;
  const decoder = new FrameDecoder(ServerPushType, (p) => { if (p.body === 'business') n++; });
  for (let i = 0; i < 50_000; i++) decoder.push(response);
  t = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) decoder.push(response);
  const decodeNs = Number(process.hrtime.bigint() - t);
  if (n !== 50_000 + iterations || bytes <= 0) throw new GatectlError(`codec cost: decoded ${n} of ${50_000 + iterations} frames`);
  const request = ClientMessageType.encodeDelimited({ msgId: 1_000_000, seqId: 1_000_000, business: { action: 'business', payload } });
  return {
    iterations, request_bytes: request.length, response_bytes: response.length,
    request_encode_ns: Math.round(encodeNs / iterations), response_decode_ns: Math.round(decodeNs / iterations),
  };
}
