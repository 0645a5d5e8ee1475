/**
 * A remote target: a gateway already running (ours or any that speaks proto/gateway.proto). With a
 * monitor URL, server stage histograms are fetched with undici from `/latency/send-ordered` and
 * `/latency/business` at the start of the steady phase and at the end; the run's figures are the
 * difference (HdrHistogram subtract), so earlier traffic on the gateway does not leak in.
 */
import { request } from 'undici';
import { GatectlError } from '../errors.js';
import { decodeHistogram, encodeLatency, type EncodedLatency } from '../metrics/histogram.js';
import type { ServerResult } from '../metrics/result.js';
import type { TargetHandle } from './run.js';

type StageMap = Record<string, EncodedLatency>;

async function getJson(url: string): Promise<unknown> {
  try {
    const res = await request(url, { headersTimeout: 5000, bodyTimeout: 5000 });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new GatectlError(`monitor ${url} answered HTTP ${res.statusCode}`, 'GATECTL_MONITOR');
    }
    return await res.body.json();
  } catch (err) {
    if (err instanceof GatectlError) throw err;
    throw new GatectlError(`cannot read monitor ${url}: ${(err as Error).message}; check --monitor points at the gateway's monitor port`, 'GATECTL_MONITOR', { cause: err });
  }
}

/** Fetches every stage histogram the monitor exposes, keyed by stage name. */
export async function fetchMonitorStages(monitorUrl: string): Promise<StageMap> {
  const base = monitorUrl.replace(/\/+$/, '');
  const send = (await getJson(`${base}/latency/send-ordered`)) as { send_ordered_message_latency_analysis?: Record<string, unknown> };
  const biz = (await getJson(`${base}/latency/business`)) as { business_latency_analysis?: Record<string, unknown> };
  const out: StageMap = {};
  const collect = (o: Record<string, unknown> | undefined) => {
    for (const [k, v] of Object.entries(o ?? {})) {
      if (v !== null && typeof v === 'object' && typeof (v as EncodedLatency).histogram === 'string') out[k] = v as EncodedLatency;
      else if (v !== null && typeof v === 'object') collect(v as Record<string, unknown>);
    }
  };
  collect(send.send_ordered_message_latency_analysis);
  collect(biz.business_latency_analysis);
  return out;
}

/** The stage histograms of `end` minus those of `start` (exact). */
export function subtractStages(end: StageMap, start: StageMap): StageMap {
  const out: StageMap = {};
  for (const [k, v] of Object.entries(end)) {
    const h = decodeHistogram(v.histogram);
    const s = start[k];
    if (s !== undefined) h.subtract(decodeHistogram(s.histogram));
    out[k] = encodeLatency(h);
  }
  return out;
}

/** Builds the TargetHandle of a remote gateway. */
export function remoteTarget(url: string, opts: { monitorUrl?: string; insecure: boolean; ca?: string }): TargetHandle {
  let baseline: StageMap | null = null;
  return {
    url,
    kind: 'remote',
    insecure: opts.insecure,
    ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
    async markSteadyStart() {
      if (opts.monitorUrl !== undefined) baseline = await fetchMonitorStages(opts.monitorUrl);
    },
    async serverResult(): Promise<ServerResult | null> {
      if (opts.monitorUrl === undefined) return null;
      const base = opts.monitorUrl.replace(/\/+$/, '');
      const end = await fetchMonitorStages(base);
      const stats = (await getJson(`${base}/queue/async-stats`)) as { async_queue_analysis?: { summary?: Record<string, unknown> } };
      return {
        source: 'monitor',
        stages: subtractStages(end, baseline ?? {}),
        queue: stats.async_queue_analysis?.summary ?? {},
        processor: null,
        counters: {},
      };
    },
  };
}
