/**
 * One generator slice: a contiguous range of the run's clients on one thread (the main thread, a
 * `--workers` thread, or a `--shard`). It connects its clients, waits for the common steady start,
 * drives them in the open model (intended send times from an ArrivalSchedule, requests dealt
 * round-robin over the active clients, coordinated-omission corrected) or the closed model
 * (`concurrency` requests in flight per client with an optional think time), drains, and returns a
 * SlicePartial: counters plus encoded histograms, so slices merge exactly (never averaged).
 *
 * Reconnects (issue 15): a client whose session is lost dials again with exponential backoff and
 * full jitter (the `exponential-backoff` package: first retry within RECONNECT_FIRST_DELAY_MS,
 * capped at RECONNECT_MAX_DELAY_MS), says Hello again and goes on with the schedule; its arrivals
 * due meanwhile wait in its backlog (open model, latency from the intended time: coordinated
 * omission corrected), the closed model refills its `concurrency`. The OutageTracker records the
 * windows in which some client was disconnected.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { backOff } from 'exponential-backoff';
import { getTransport } from '../transport/index.js';
import type { Dialer, TransportName, TransportStats } from '../transport/types.js';
import { sumTransportStats } from '../transport/util.js';
import { encodeHistogram } from '../metrics/histogram.js';
import { encodeActionField } from '../protocol/index.js';
import type { ViolationCounts } from '../metrics/result.js';
import { ClientMetrics } from './metrics.js';
import { LoadClient } from './client.js';
import { SlowCohort, isSlowClient, type SlowClientsOptions, type SlowPartial } from './slow-reader.js';
import { OutageTracker, RECONNECT_CONNECT_TIMEOUT_MS, RECONNECT_FIRST_DELAY_MS, RECONNECT_MAX_DELAY_MS, type ReconnectCounts } from './outage.js';
import { arrivalTimeMs, clientsAt, type Schedule } from '../scenario/schedule.js';
import { mixPicker } from '../scenario/mix.js';
import type { MixEntry } from '../scenario/types.js';

/** Open (arrival-rate) or closed (concurrency) model. */
export type LoadModel = 'open' | 'closed';

/** How clients are driven: shared by the whole run's LoadOptions and each slice's SliceSpec. */
export interface DriveOptions {
  model: LoadModel;
  /** rate(t) and clients(t) of the whole run (src/scenario/schedule.ts); its durationMs is the steady-phase length */
  schedule: Schedule;
  /** open model: per-client cap on outstanding requests; at the cap an intended send is dropped and counted (k6 dropped_iterations) */
  maxInFlight: number;
  /** closed model: requests kept in flight per client */
  concurrency: number;
  /** closed model: pause after an answer before the next send, ms */
  thinkTimeMs: number;
  /** request mix (action, weight, payload bytes) */
  mix: MixEntry[];
  /** a client silent this long sends a Heartbeat, ms (0 = never) */
  heartbeatMs: number;
  /** per-connection connect timeout, ms */
  connectTimeoutMs: number;
  /** longest wait for outstanding responses after the steady phase, ms */
  drainTimeoutMs: number;
  /** `--slow-clients` (issue 14 §6): the share of clients that read slowly, absent = none */
  slowClients?: SlowClientsOptions;
  /** a lost session is dialled again (default true; `--no-reconnect`: false, the client stays closed) */
  reconnect?: boolean;
  /**
   * QUIC: the client declares a peer lost that sent nothing (keep-alive PINGs unanswered) for this
   * long, ms (`--client-idle-timeout`; DialerOptions.idleTimeoutMs). Default: the transport's 60000 ms.
   */
  clientIdleTimeoutMs?: number;
}

/** Everything one slice needs; plain data, so it can be handed to a generator process. */
export interface SliceSpec extends DriveOptions {
  transport: TransportName;
  host: string;
  port: number;
  insecure: boolean;
  ca?: string;
  /** global indices (0-based, ascending) of this slice's clients; user ids are `user-<index+1>` */
  clientIds: number[];
  /** open model: this slice sends arrivals i = arrivalOffset + arrivalStride·m, m = 0, 1, … */
  arrivalOffset: number;
  arrivalStride: number;
}

/** One second of a slice's steady phase; `e2e` is the encoded histogram of that second (µs). */
export interface SliceSecond {
  t_s: number;
  connected: number;
  requests: number;
  responses: number;
  errors: number;
  e2e: string;
  /** encoded schedule-lag histogram of the requests sent in that second (µs) */
  schedule_lag: string;
  /** sessions set up again after a loss in that second */
  reconnects: number;
  /** requests lost with a session in that second */
  lost_on_disconnect: number;
}

/** What a slice reports once per second while running. */
export interface SliceTick {
  phase: 'connecting' | 'steady' | 'draining';
  connected: number;
  requests: number;
  responses: number;
  errors: number;
  /** encoded e2e histogram of the last second (µs) */
  e2e: string;
  /** encoded schedule-lag histogram of the requests sent in the last second (µs) */
  schedule_lag: string;
  /** protocol violations so far (reorders + gaps + duplicates + notify order) */
  violations: number;
}

/** A slice's result. Histograms are base64 HDR encodings (µs); counts are totals of the slice. */
export interface SlicePartial extends ReconnectCounts {
  clients: number;
  connected: number;
  connectFailures: number;
  helloFailures: number;
  firstConnectError: string | null;
  requestsSent: number;
  responses: number;
  notifies: number;
  unboundNotifies: number;
  heartbeats: number;
  droppedIterations: number;
  unanswered: number;
  errorsByCode: Record<string, number>;
  transportErrors: Record<string, number>;
  violations: ViolationCounts;
  histograms: { e2e: string; e2e_uncorrected: string; connect: string; schedule_lag: string };
  /** per schedule stage: requests sent and the encoded corrected e2e histogram (µs), by intended send time */
  stages: { sent: number; e2e: string }[];
  /** measured steady-phase length, ms */
  steadyMs: number;
  series: SliceSecond[];
  /** this thread's event-loop delay during the steady phase and drain, ms */
  eldP99Ms: number;
  eldMaxMs: number;
  /** largest process RSS sampled by this slice, bytes */
  peakRssBytes: number;
  /** the dialer's transport counters at the end of the run (QUIC), or null */
  transportStats: TransportStats | null;
  /** `--slow-clients`: the slow clients' figures (the request, response and latency fields above then count the healthy clients only) */
  slow?: SlowPartial;
  /** CPU time (user + system) of this generator process from the steady start to the end of the drain, µs */
  cpuUs?: number;
}

/** A running slice: `connect()` first, then `run(steadyStartEpochMs)`, then `close()`. */
export class Slice {
  private readonly m = new ClientMetrics();
  private readonly clients: LoadClient[] = [];
  private dialer: Dialer | null = null;
  /** the dialer of reconnect attempts (a shorter connect timeout), created on the first loss */
  private redialer: Promise<Dialer> | null = null;
  /** no more reconnect attempts: the steady phase is over */
  private stopped = false;
  private readonly outages = new OutageTracker();
  /** the running model's way to go on with a client that said Hello again (open: its backlog; closed: refill) */
  private resume: ((c: LoadClient, now: number) => void) | null = null;
  private connectFailures = 0;
  private helloFailures = 0;
  private firstConnectError: string | null = null;
  private phase: SliceTick['phase'] = 'connecting';
  private readonly eld = monitorEventLoopDelay({ resolution: 10 });
  private peakRss = process.memoryUsage.rss();
  private readonly picker: ReturnType<typeof mixPicker>;
  /** BusinessRequest `action` field of each mix entry (same index as spec.mix), encoded once */
  private readonly actionFields: Uint8Array[];
  private picks = 0;
  /** `--slow-clients`: the slice's slow clients, or null */
  private readonly slow: SlowCohort | null;

  /** @param onTick called once per second with this slice's figures (progress display) */
  constructor(readonly spec: SliceSpec, private readonly onTick?: (t: SliceTick) => void) {
    const slow = spec.slowClients;
    this.slow = slow === undefined || slow.percent <= 0 ? null : new SlowCohort(slow, new Set(spec.clientIds.filter((id) => isSlowClient(id, slow.percent))), spec.transport,
      (receiveWindowBytes) => getTransport(spec.transport).createDialer({ insecure: spec.insecure, ca: spec.ca, connectTimeoutMs: spec.connectTimeoutMs, receiveWindowBytes }));
    this.picker = mixPicker(spec.mix);
    this.actionFields = spec.mix.map((e) => encodeActionField(e.action));
  }

  /**
   * Sends the next request of the mix on `c`. Entries and payload sizes follow low-discrepancy
   * sequences (k·φ and k·√2 mod 1), so the mix is exact and repeatable without a random generator.
   * The payload is that many zero bytes. `intended` and `now` are performance.now() ms.
   */
  private sendNext(c: LoadClient, intended: number, now: number): void {
    const k = ++this.picks;
    const entry = this.picker.pick((k * 0.6180339887498949) % 1);
    const n = this.picker.payloadBytes(entry, (k * 0.41421356237309515) % 1);
    const mix = this.spec.mix;
    let i = 0;
    while (mix[i] !== entry) i++;
    c.send(intended, now, this.actionFields[i]!, n);
  }

  /** Connects and says Hello for every client of the slice (paced by the dialer); resolves with the number connected. */
  async connect(): Promise<number> {
    const s = this.spec;
    this.dialer = await getTransport(s.transport).createDialer({ insecure: s.insecure, ca: s.ca, connectTimeoutMs: s.connectTimeoutMs, idleTimeoutMs: s.clientIdleTimeoutMs });
    const dialer = this.dialer;
    const timer = setInterval(() => this.tick(), 1000);
    try {
      await Promise.all(s.clientIds.map(async (id) => {
        const t = performance.now();
        let c: LoadClient;
        try {
          // a slow reader dials through the small-window dialer, reads through its group, counts apart and never reconnects
          const slow = this.slow?.ids.has(id) === true ? this.slow : null;
          const conn = await (slow !== null ? await slow.dialer() : dialer).dial(s.host, s.port);
          this.m.connect.recordValue(Math.max(0, Math.round((performance.now() - t) * 1000)));
          c = slow !== null ? new LoadClient(id, slow.readers.wrap(conn), slow.metrics, false) : new LoadClient(id, conn, this.m, s.reconnect !== false);
          // a slow reader's loss (the gateway's write-stall close, seed 001) is the fault itself, not an outage
          if (slow === null) c.onLost = this.onLost;
        } catch (err) {
          this.connectFailures++;
          this.firstConnectError ??= (err as Error).message;
          return;
        }
        const code = await c.hello(`user-${id + 1}`, this.slow?.clientVersion(id));
        if (code !== 200) {
          this.helloFailures++;
          void c.close(2000);
          return;
        }
        if (this.slow?.ids.has(id) === true) this.slow.helloDone();
        this.clients.push(c);
      }));
    } finally {
      clearInterval(timer);
    }
    // a stable order: client i of the slice is always the same user
    this.clients.sort((a, b) => a.id - b.id);
    return this.clients.length;
  }

  /** Counts of the connect phase (for the error when nothing connected). */
  get connectSummary(): { connectFailures: number; helloFailures: number; firstConnectError: string | null } {
    return { connectFailures: this.connectFailures, helloFailures: this.helloFailures, firstConnectError: this.firstConnectError };
  }

  /**
   * Runs the steady phase from `steadyStartEpochMs` (a Date.now() value shared by all slices, so
   * their seconds line up), then the drain. Resolves with the slice's partial result.
   */
  async run(steadyStartEpochMs: number): Promise<SlicePartial> {
    const s = this.spec;
    const m = this.m;
    const start = performance.now() + (steadyStartEpochMs - Date.now());
    await new Promise((r) => setTimeout(r, Math.max(0, start - performance.now())));
    this.eld.enable();
    m.resetLatency();
    m.beginStages(start, s.schedule.segments.map((g) => g.endMs));
    this.phase = 'steady';
    const cpuAtStart = process.cpuUsage();
    this.slow?.metrics.resetLatency();
    this.slow?.readers.start();
    const series: SliceSecond[] = [];
    let second = 0;
    let last = { requests: m.requestsSent, responses: m.responses, errors: m.errors, reconnects: m.reconnects, lost: m.lostOnDisconnect };
    const secondTimer = setInterval(() => {
      const now = performance.now();
      second++;
      const e2e = m.takeIntervalE2e(encodeHistogram);
      const lag = m.takeIntervalScheduleLag(encodeHistogram);
      if (this.phase === 'steady') {
        series.push({ t_s: second, connected: this.liveClients(), requests: m.requestsSent - last.requests, responses: m.responses - last.responses, errors: m.errors - last.errors, e2e, schedule_lag: lag,
          reconnects: m.reconnects - last.reconnects, lost_on_disconnect: m.lostOnDisconnect - last.lost });
      }
      last = { requests: m.requestsSent, responses: m.responses, errors: m.errors, reconnects: m.reconnects, lost: m.lostOnDisconnect };
      this.tick(e2e, lag);
      if (s.heartbeatMs > 0) for (const c of this.clients) if (now - c.lastWriteAt >= s.heartbeatMs) c.heartbeat(now);
    }, 1000);
    try {
      if (s.model === 'open') {
        await this.runOpen(start);
        // rates are over the requested duration, not up to the last arrival (2/s for 2 s ends at 2 s, not 1.5 s)
        await this.untilOrInterrupt(start + s.schedule.durationMs);
      }
      else await this.runClosed(start, start + s.schedule.durationMs);
      this.stopped = true;
      this.resume = null;
      const steadyEnd = performance.now();
      const steadyMs = steadyEnd - start;
      this.phase = 'draining';
      const drainEnd = performance.now() + s.drainTimeoutMs;
      while (this.clients.some((c) => c.outstanding > 0 && c.connected) && performance.now() < drainEnd) {
        await new Promise((r) => setTimeout(r, 10));
      }
      this.slow?.readers.stop();
      const cpu = process.cpuUsage(cpuAtStart);
      this.eld.disable();
      this.peakRss = Math.max(this.peakRss, process.memoryUsage.rss());
      return {
        clients: s.clientIds.length,
        connected: this.clients.length,
        connectFailures: this.connectFailures,
        helloFailures: this.helloFailures,
        firstConnectError: this.firstConnectError,
        requestsSent: m.requestsSent,
        responses: m.responses,
        notifies: m.notifies,
        unboundNotifies: m.unboundNotifies,
        heartbeats: m.heartbeats,
        droppedIterations: m.droppedIterations,
        // requests lost with their session were never answered either (lost_on_disconnect says which)
        unanswered: this.clients.reduce((a, c) => a + (this.slow?.ids.has(c.id) === true ? 0 : c.outstanding), 0) + m.lostOnDisconnect,
        disconnects: m.disconnects,
        reconnects: m.reconnects,
        reconnectFailures: m.reconnectFailures,
        lostOnDisconnect: m.lostOnDisconnect,
        lostUnreachable: m.lostUnreachable + this.lostNotBack(),
        droppedDisconnected: m.droppedDisconnected,
        disconnectedMsByClient: this.disconnectedMs(start, steadyEnd),
        outages: this.outages.windows(start, steadyStartEpochMs, steadyEnd),
        errorsByCode: m.errorsByCode,
        transportErrors: m.transportErrors,
        violations: { ...m.violations },
        histograms: {
          e2e: encodeHistogram(m.e2eTotal()), e2e_uncorrected: encodeHistogram(m.e2eUncorrected),
          connect: encodeHistogram(m.connect), schedule_lag: encodeHistogram(m.scheduleLag),
        },
        stages: m.stageSent.map((sent, i) => ({ sent, e2e: encodeHistogram(m.stageE2e(i)) })),
        steadyMs,
        series,
        eldP99Ms: this.eld.percentile(99) / 1e6,
        eldMaxMs: this.eld.max / 1e6,
        peakRssBytes: this.peakRss,
        transportStats: await this.transportStats(),
        cpuUs: cpu.user + cpu.system,
        ...(this.slow !== null ? { slow: this.slow.partial(this.clients.reduce((a, c) => a + (this.slow!.ids.has(c.id) ? c.outstanding : 0), 0)) } : {}),
      };
    } finally {
      clearInterval(secondTimer);
      this.eld.disable();
    }
  }

  /** Closes every connection and the dialers (bounded). */
  async close(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.clients.map((c) => c.close(2000)));
    await this.dialer?.close();
    await this.slow?.close();
    await (await this.redialer?.catch(() => null))?.close();
  }

  /** The dialers' transport counters (QUIC), summed; null when the transport keeps none. */
  private async transportStats(): Promise<TransportStats | null> {
    const re = this.redialer !== null ? await this.redialer.catch(() => null) : null;
    return sumTransportStats([this.dialer?.stats?.() ?? null, re?.stats?.() ?? null]);
  }

  /** Requests in flight on sessions lost and not back at the end, not yet counted as lost to an unreachable target. */
  private lostNotBack(): number {
    let n = 0;
    for (const c of this.clients) if (c.lostAt > 0 && !c.lostCounted && c.onLost !== null) n += c.lostInFlight;
    return n;
  }

  /** Per client (user id), ms disconnected within [start, end] (performance.now() ms); only those > 0. */
  private disconnectedMs(start: number, end: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.clients) {
      const open = c.lostAt > 0 ? Math.max(0, end - Math.max(c.lostAt, start)) : 0;
      const ms = Math.round(c.disconnectedMs + open);
      if (ms > 0) out[`user-${c.id + 1}`] = ms;
    }
    return out;
  }

  /**
   * A client lost its session (LoadClient.onLost): recorded as an outage, then dialled again unless
   * the run is over or reconnects are off (the client is closed then).
   */
  private readonly onLost = (c: LoadClient): void => {
    // a peer declared silent went quiet up to the idle timeout before: the outage began at the last data heard
    const idle = this.spec.clientIdleTimeoutMs ?? QUIC_DEFAULT_IDLE_TIMEOUT_MS;
    const since = c.lostSilent ? Math.min(c.lostAt, Math.max(c.lastDataAt, c.lostAt - idle)) : c.lostAt;
    this.outages.lost(c.lostAt, c.lostInFlight, since);
    if (this.stopped || c.closed) return;
    backOff(() => this.redial(c), {
      delayFirstAttempt: true, startingDelay: RECONNECT_FIRST_DELAY_MS, maxDelay: RECONNECT_MAX_DELAY_MS, timeMultiple: 2, jitter: 'full',
      numOfAttempts: Number.MAX_SAFE_INTEGER, retry: () => !this.stopped && !c.closed,
    }).catch(() => undefined);
  };

  /**
   * One reconnect attempt of `c`: dial (a connect timeout of at most RECONNECT_CONNECT_TIMEOUT_MS),
   * attach, Hello. Resolves once `c` is connected again (then the model resumes it); rejects when
   * the attempt failed (counted in reconnectFailures) or the run is over.
   */
  private async redial(c: LoadClient): Promise<void> {
    const s = this.spec;
    const m = this.m;
    if (this.stopped || c.closed) throw new Error('the run is over');
    this.redialer ??= getTransport(s.transport).createDialer({
      insecure: s.insecure, ca: s.ca, connectTimeoutMs: Math.min(s.connectTimeoutMs, RECONNECT_CONNECT_TIMEOUT_MS), idleTimeoutMs: s.clientIdleTimeoutMs,
    });
    let conn;
    try {
      conn = await (await this.redialer).dial(s.host, s.port);
    } catch (err) {
      m.reconnectFailures++;
      // the target does not answer a dial: what the lost session had in flight was lost to an unreachable target
      if (!c.lostCounted) {
        c.lostCounted = true;
        m.lostUnreachable += c.lostInFlight;
      }
      throw err;
    }
    if (this.stopped || c.closed) {
      void conn.close(0, 'load done', 1000);
      throw new Error('the run is over');
    }
    c.attach(conn);
    const code = await c.hello(`user-${c.id + 1}`);
    if (code !== 200) {
      if (!this.stopped && !c.closed) m.reconnectFailures++;
      void conn.close(0, 'Hello refused', 1000);
      throw new Error(`Hello answered ${code}`);
    }
    const now = performance.now();
    m.reconnects++;
    c.disconnectedMs += now - c.lostAt;
    c.lostAt = 0;
    this.outages.recovered(now);
    if (this.resume !== null) {
      c.hold();
      try {
        this.resume(c, now);
      } finally {
        c.release();
      }
    }
  }

  /** set by interrupt(): the steady phase ends now */
  private interrupted = false;
  /** ends the current wait of the running schedule early (set while runOpen, runClosed or untilOrInterrupt waits) */
  private wake: (() => void) | null = null;
  private wakeTimer: NodeJS.Timeout | undefined = undefined;

  /**
   * Ends the steady phase now (the first SIGINT, issue 11 §2): no arrival after this one is sent;
   * the drain then waits for the answers still outstanding, as at a normal end. Idempotent; before
   * run() it makes run() end at once.
   */
  interrupt(): void {
    this.interrupted = true;
    this.wake?.();
  }

  /** Resolves at `t` (performance.now() ms) or at interrupt(), whichever is first. */
  private untilOrInterrupt(t: number): Promise<void> {
    if (this.interrupted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(this.wakeTimer);
        this.wake = null;
        resolve();
      };
      this.wakeTimer = setTimeout(done, Math.max(0, t - performance.now()));
      this.wake = done;
    });
  }

  /**
   * Open model: arrival i (of the whole run) is due at `arrivalTimeMs(schedule, i)`; this slice
   * takes i = offset + stride·m and deals them round-robin over its clients that are active then
   * (global index below clientsAt(t)). A client that already has `maxInFlight` outstanding keeps the
   * arrival in its backlog and sends it when an answer frees a slot — late, so the wait is schedule
   * lag and part of the corrected latency but not of the uncorrected one (wrk2). Arrivals still in a
   * backlog when the schedule ends, beyond MAX_BACKLOG, or dealt to a closed client are
   * dropped_iterations (k6). One timer for the slice; when the event loop is late, every overdue
   * arrival is dealt at once. The arrivals one client gets in one timer turn leave in one write
   * (`hold`/`release`; QUIC sends once per turn anyway), each timed at that turn's start.
   */
  private runOpen(start: number): Promise<void> {
    const s = this.spec;
    const clients = this.clients;
    const m = this.m;
    let open = true;
    const drainBacklog = (c: LoadClient, now: number): void => {
      while (open && c.backlog.length > 0 && c.outstanding < s.maxInFlight && c.connected) {
        this.sendNext(c, c.backlog.shift()!, now);
      }
    };
    for (const c of clients) c.onAnswer = drainBacklog;
    // a client back after a loss sends what waited meanwhile, timed from the intended send times
    this.resume = drainBacklog;
    let k = 0;
    /** clients holding writes in this turn */
    const held: LoadClient[] = [];
    return new Promise<void>((resolve) => {
      const deal = (now: number): boolean => {
        for (;;) {
          if (this.interrupted) return false;
          const t = arrivalTimeMs(s.schedule, s.arrivalOffset + s.arrivalStride * k);
          if (t === null || clients.length === 0) return false;
          const due = start + t;
          if (due > now) {
            this.wakeTimer = setTimeout(loop, due - now);
            return true;
          }
          const active = activeCount(clients, clientsAt(s.schedule, t));
          const c = clients[k % active]!;
          k++;
          if (c.closed || c.backlog.length >= MAX_BACKLOG) {
            m.droppedIterations++;
            if (c.lostAt > 0 && c.onLost !== null) m.droppedDisconnected++;
          } else if (!c.connected || c.outstanding >= s.maxInFlight || c.backlog.length > 0) c.backlog.push(due);
          else {
            if (!c.held) {
              c.hold();
              held.push(c);
            }
            this.sendNext(c, due, now);
          }
        }
      };
      const loop = (): void => {
        let more: boolean;
        try {
          more = deal(performance.now());
        } finally {
          for (const c of held) c.release();
          held.length = 0;
        }
        if (!more) resolve();
      };
      this.wake = () => {
        clearTimeout(this.wakeTimer);
        loop();
      };
      loop();
    }).then(() => {
      this.wake = null;
      // the schedule is over: what still waits was never sent
      open = false;
      for (const c of clients) {
        m.droppedIterations += c.backlog.length;
        if (!c.connected && c.lostAt > 0 && c.onLost !== null) m.droppedDisconnected += c.backlog.length;
        c.backlog.clear();
        c.onAnswer = null;
      }
    });
  }

  /** Closed model: each client keeps `concurrency` requests outstanding until `end`, pausing `thinkTimeMs` after each answer. */
  private runClosed(start: number, end: number): Promise<void> {
    const s = this.spec;
    // k6 ramping-vus: a client takes part while its global id is below clientsAt(t); one that
    // drops out finishes what it has in flight and sends nothing more
    let limit = clientsAt(s.schedule, 0);
    /** sends c's next request at `now` (performance.now() ms; the time the answer that frees the slot arrived) */
    const send = (c: LoadClient, now: number): void => {
      // at most `concurrency` in flight: a think-time timer of a lost session may fire after the refill
      if (now >= end || !c.connected || c.id >= limit || c.outstanding >= s.concurrency) return;
      this.sendNext(c, now, now);
    };
    // a client back after a loss refills its `concurrency` (its requests in flight were lost)
    this.resume = (c, now) => {
      for (let j = c.outstanding; j < s.concurrency; j++) send(c, now);
    };
    const sendAfterThink = (c: LoadClient): void => send(c, performance.now());
    const active = new Set<LoadClient>();
    const activate = (): void => {
      limit = clientsAt(s.schedule, performance.now() - start);
      for (const c of this.clients) {
        if (c.id < limit && !active.has(c)) {
          active.add(c);
          c.onAnswer = s.thinkTimeMs > 0 ? (cl) => setTimeout(sendAfterThink, s.thinkTimeMs, cl) : send;
          const now = performance.now();
          for (let j = 0; j < s.concurrency; j++) send(c, now);
        } else if (c.id >= limit) {
          active.delete(c);
        }
      }
    };
    activate();
    const ramp = setInterval(activate, 50);
    return this.untilOrInterrupt(end).then(() => {
      end = Math.min(end, performance.now()); // a think-time timer still pending sends nothing more
      clearInterval(ramp);
      for (const c of this.clients) c.onAnswer = null;
    });
  }

  /** Clients with a session up now. */
  private liveClients(): number {
    let n = 0;
    for (const c of this.clients) if (c.connected) n++;
    return n;
  }

  /** Reports progress; `e2e` and `lag` are the second's encoded e2e and schedule-lag histograms when the caller already took them. */
  private tick(e2e?: string, lag?: string): void {
    this.peakRss = Math.max(this.peakRss, process.memoryUsage.rss());
    const m = this.m;
    const encoded = e2e ?? m.takeIntervalE2e(encodeHistogram);
    const scheduleLag = lag ?? m.takeIntervalScheduleLag(encodeHistogram);
    this.onTick?.({ phase: this.phase, connected: this.phase === 'connecting' ? this.clients.length : this.liveClients(), requests: m.requestsSent, responses: m.responses, errors: m.errors, e2e: encoded, schedule_lag: scheduleLag,
      violations: m.violations.reorders + m.violations.gaps + m.violations.duplicates + m.violations.notify_order_violations });
  }
}

/** The QUIC dialer's idle timeout when DriveOptions.clientIdleTimeoutMs is not given, ms (transport/quic QUIC_MAX_IDLE_TIMEOUT_MS). */
const QUIC_DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** Arrivals one client may hold back at its in-flight cap; beyond, they are dropped_iterations (bounded memory). */
const MAX_BACKLOG = 100_000;

/** Clients (sorted by global id) whose global id is below `limit`: binary search; at least 1. */
function activeCount(clients: readonly LoadClient[], limit: number): number {
  let lo = 0;
  let hi = clients.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (clients[mid]!.id < limit) lo = mid + 1;
    else hi = mid;
  }
  return Math.max(1, lo);
}
