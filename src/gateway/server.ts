/**
 * GatewayServer (seed 004, DESIGN §4): accepts connections, runs sessions, handles Hello
 * synchronously and business/zone requests either inline (`sync` processor mode, the "before") or
 * through the AsyncRequestProcessor (`async`), calls the upstream, and sends before-notifies,
 * the response and after-notifies through the OrderedSender and each session's OrderedMessageQueue.
 */
import { performance } from 'node:perf_hooks';
import { FrameDecoder, ClientMessageType, ServerPushType, NotifyPlacement, type ClientMessage, type ServerPush, type UpstreamResponse } from '../protocol/index.js';
import { OrderedSendSystem, type SendQueueStatsSnapshot } from '../queue/index.js';
import { StageRecorder, type ServerStage } from '../metrics/stages.js';
import type { EncodedLatency } from '../metrics/histogram.js';
import { gatewayUrl, getTransport } from '../transport/index.js';
import { certificateDaysFor, generateCertificate, loadCertificate } from '../transport/certificate.js';
import type { CertificateMaterial, Connection, Listener, TransportStats } from '../transport/types.js';
import { FrameError, QueueFullError, SlowConsumerError } from '../errors.js';
import { HttpUpstream, MockUpstream, UpstreamTimeoutError, type Upstream } from '../upstream/index.js';
import type { GatewayConfig } from './config.js';
import { Session, SessionManager } from './session.js';
import { OrderedSender } from './ordered-sender.js';
import { AsyncRequestProcessor, type AsyncTask, type ProcessorStats } from './processor.js';
import { createLogger, type Logger } from '../log.js';
import { createEventExporter, type EventExporter, type StopResult } from '../vinequeue/index.js';
import { QuotaExceededError, QuotaService, type QuotaStopResult } from '../quota/index.js';
import { emptyCounters, type GatewayCounters } from './counters.js';
import { CohortStages, cohortOf, type Cohort } from './cohorts.js';
import { InputTurns } from './input-turns.js';

/** Connections the listener holds beyond --max-sessions (handshakes, stream-less, refused-with-503). */
const TRANSPORT_CONNECTION_HEADROOM = 64;

/** QUIC application close codes of the gateway's own closes. */
const CLOSE_CODE = { frame: 0x11, hello_timeout: 0x17, pending_evicted: 0x18 } as const;

/** Bytes an upstream answer puts into frames: its data, header keys and values, and notify topics and payloads. */
function upstreamAnswerBytes(resp: UpstreamResponse): number {
  let n = (resp.data?.length ?? 0) + headerSize(resp.headers, Infinity).bytes;
  for (const x of resp.notifies ?? []) n += (x.payload?.length ?? 0) + Buffer.byteLength(x.topic ?? '');
  return n;
}

/** Keys plus values of a headers map, UTF-8 bytes, and its entry count; stops counting past `maxEntries`. */
function headerSize(headers: Record<string, string> | undefined | null, maxEntries: number): { entries: number; bytes: number } {
  let entries = 0;
  let bytes = 0;
  if (headers == null) return { entries, bytes };
  for (const k in headers) {
    if (++entries > maxEntries) break;
    bytes += Buffer.byteLength(k) + Buffer.byteLength(headers[k] ?? '');
  }
  return { entries, bytes };
}


/** Target of a server-initiated push: one session, every session of a user, or every active session. */
export type PushTarget = { sessionId: string } | { userId: string } | { all: true };

/** Unbound notify content (placement UNBOUND, grid 0). */
export interface UnboundNotify {
  topic: string;
  payload?: Uint8Array;
}

/**
 * What a graceful stop did (printed by `serve` on SIGINT/SIGTERM). Counts are frames (pushes) and
 * tasks; durations in ms.
 */
export interface ShutdownReport {
  /** processor tasks queued or running when the stop began */
  tasks_pending_at_stop: number;
  /**
   * of those, tasks no worker had started when the processor's share of the timeout (half) ran out:
   * each was answered `ErrorResponse{503, "server busy", "gateway shutting down"}` instead
   */
  tasks_refused: number;
  /** tasks still running in a worker when the sessions were closed: their answers are lost */
  tasks_abandoned: number;
  /** frames written to clients between the start of the stop and the close of the connections */
  frames_flushed: number;
  /** frames still queued (ready or waiting out of order) when the sessions were closed: lost */
  frames_discarded: number;
  sessions_closed: number;
  /** event export (when on): what VineQueue's stop did (unsent events stay in its WAL) */
  events: StopResult | null;
  /** quota (when on): what the consumer flushed to the store */
  quota: QuotaStopResult | null;
  /** true when both the processor and the send queues drained before the timeout */
  complete: boolean;
  duration_ms: number;
}

/** Everything the gateway measured, JSON-ready: what the load generator and the monitor read. */
export interface GatewaySnapshot {
  stages: Record<ServerStage, EncodedLatency>;
  queue: SendQueueStatsSnapshot;
  processor: ProcessorStats | null;
  counters: GatewayCounters;
  config: GatewayConfig;
  /** the listener's transport counters (QUIC), or null */
  transport: TransportStats | null;
  /** send-queue stages of the sessions of each declared client cohort (gateway/cohorts.ts); absent when no session declared one */
  cohorts?: Partial<Record<Cohort, Partial<Record<ServerStage, EncodedLatency>>>>;
}


/** The gateway. `start()` binds; `stop()` drains and closes within a bound. */
export class GatewayServer {
  readonly stages = new StageRecorder();
  /** the send-queue stages of sessions whose client declared a cohort in Hello (issue 14 §6) */
  readonly cohorts = new CohortStages(this.stages);
  readonly sessions = new SessionManager();
  readonly send: OrderedSendSystem;
  readonly sender = new OrderedSender();
  readonly processor: AsyncRequestProcessor | null;
  readonly upstream: Upstream;
  private listener: Listener | null = null;
  private certificate: CertificateMaterial | null = null;
  private stopping: Promise<ShutdownReport> | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private helloTimer: NodeJS.Timeout | null = null;
  /** Fairness (issue 16 §2): held input is decoded within per-turn budgets, round robin (input-turns.ts). */
  private readonly input: InputTurns;
  /** VineQueue event export (config.events), after start() */
  events: EventExporter | null = null;
  /** seed 003 quota service (config.quota), after start() */
  quota: QuotaService | null = null;
  private readonly counters: GatewayCounters = emptyCounters();

  /**
   * @param config resolved gateway configuration
   * @param upstream overrides the upstream chosen from the config (tests)
   * @param log pino logger; default: stderr, level debug when QUEUE_ENABLE_DEBUG_LOG is on
   */
  constructor(readonly config: Readonly<GatewayConfig>, upstream?: Upstream, readonly log: Logger = createLogger(config.queue.enableDebugLog, 'gateway')) {
    this.send = new OrderedSendSystem(config.queue, this.stages, log);
    this.upstream = upstream ?? (config.upstreamUrl !== undefined
      ? new HttpUpstream(config.upstreamUrl, { timeoutMs: config.processor.taskTimeoutMs })
      : new MockUpstream(config.upstream));
    this.processor = config.processorMode === 'async'
      ? new AsyncRequestProcessor(config.processor, (task) => this.processTask(task).catch((err: unknown) => this.onSendError(task.session, err)))
      : null;
    this.input = new InputTurns(config.turnBudget, this.counters, (session, err) => this.onFrameError(session, err));
  }

  /** Bound port (after start). */
  get port(): number {
    return this.listener?.port ?? 0;
  }

  /** The server certificate (after start). */
  get cert(): CertificateMaterial {
    if (this.certificate === null) throw new Error('gateway not started');
    return this.certificate;
  }

  /** `quic://host:port` (or `tcp://`) of the bound listener. */
  get url(): string {
    return gatewayUrl(this.config.transport, this.config.host, this.port);
  }

  /**
   * Loads or generates the certificate and starts listening. Rejects with AddressInUseError when the
   * port is taken, InvalidInputError for unreadable cert/key files.
   */
  async start(): Promise<void> {
    const c = this.config;
    this.certificate = c.certPath !== undefined && c.keyPath !== undefined
      ? await loadCertificate(c.certPath, c.keyPath)
      : await generateCertificate({ days: certificateDaysFor(c.transport) });
    try {
      if (c.quota !== null) this.quota = await QuotaService.start({ config: c.quota.config, mode: c.quota.mode, ...(c.quotaDurable !== undefined ? { durable: c.quotaDurable } : {}) });
      if (c.events !== undefined) this.events = await createEventExporter({ url: c.events.url, dir: c.events.dir });
      this.listener = await getTransport(c.transport).listen({
        host: c.host, port: c.port, certificate: this.certificate, onConnection: (conn) => this.accept(conn),
        // Handshakes and stream-less connections count too (issue 13); the headroom lets a client
        // beyond --max-sessions still hear the out-of-band 503 instead of a connect timeout.
        maxConnections: c.maxSessions + TRANSPORT_CONNECTION_HEADROOM,
        retry: c.quicRetry,
      });
    } catch (err) {
      await this.events?.stop(1000);
      await this.quota?.stop(1000);
      throw err;
    }
    const periods = [c.idleTimeoutMs, c.writeStallTimeoutMs].filter((t) => t > 0);
    if (periods.length > 0) {
      this.idleTimer = setInterval(() => this.sweepSessions(), Math.min(5000, Math.max(50, Math.min(...periods) / 4)));
      this.idleTimer.unref();
    }
    if (c.helloTimeoutMs > 0) {
      // only pending sessions are visited, oldest first: cheap even every few ms
      this.helloTimer = setInterval(() => this.sweepHelloDeadline(), Math.min(1000, Math.max(25, c.helloTimeoutMs / 10)));
      this.helloTimer.unref();
    }
  }

  /**
   * Graceful stop (DESIGN §4, issue: "stops accepting, drains the queues and closes sessions within
   * 10 s"): the processor takes no new task and finishes queued ones, the send queues drain, then
   * every connection is closed. Bounded by `timeoutMs` (ms) in total.
   */
  stop(timeoutMs = 10_000): Promise<ShutdownReport> {
    this.stopping ??= this.stopInternal(timeoutMs);
    return this.stopping;
  }

  private async stopInternal(timeoutMs: number): Promise<ShutdownReport> {
    const t0 = performance.now();
    const deadline = t0 + timeoutMs;
    const left = () => Math.max(0, deadline - performance.now());
    if (this.idleTimer !== null) clearInterval(this.idleTimer);
    if (this.helloTimer !== null) clearInterval(this.helloTimer);
    const stats = this.send.stats;
    const sentBefore = stats.totalSent;
    const discardedBefore = stats.discardedOnClose;
    const pending = this.processor?.pending ?? 0;
    const processorDone = this.processor === null ? true : await this.processor.stop(left() * 0.5);
    const refused = processorDone || this.processor === null ? [] : this.processor.takeQueued();
    await Promise.all(refused.map((task) => {
      if (!task.session.valid) return undefined;
      this.counters.refused_shutting_down++;
      return this.replyError(task.session, task.request.msgId ?? 0, 503, 'server busy', 'gateway shutting down').catch((err: unknown) => this.onSendError(task.session, err));
    }));
    // tasks already in a worker: let them answer (bounded by half of what is left)
    if (!processorDone) await this.processor!.whenIdle(left() * 0.5);
    const sendDone = await this.send.drain(left() * 0.8);
    const sessions = [...this.sessions.all()];
    this.counters.shutdown_closes += sessions.length;
    for (const s of sessions) this.closeSession(s);
    const report: ShutdownReport = {
      tasks_pending_at_stop: pending,
      tasks_refused: refused.length,
      tasks_abandoned: this.processor?.pending ?? 0,
      frames_flushed: stats.totalSent - sentBefore,
      frames_discarded: stats.discardedOnClose - discardedBefore,
      sessions_closed: sessions.length,
      events: null,
      quota: null,
      complete: processorDone && sendDone,
      duration_ms: 0,
    };
    if (this.quota !== null) report.quota = await this.quota.stop(Math.max(100, left() * 0.5));
    await this.listener?.close(Math.max(100, left()));
    if (this.events !== null) report.events = await this.events.stop(Math.max(100, left()));
    await this.upstream.close?.();
    report.duration_ms = Math.round(performance.now() - t0);
    this.log.info(report, 'gateway stopped');
    this.log.flush();
    return report;
  }

  /**
   * Pushes an unbound notify (placement UNBOUND, grid 0) to the target sessions through their
   * ordered queues, so it interleaves with responses in server_seq order (issue 3 §5). Sessions
   * that have not completed Hello are skipped. Resolves with the number of sessions it was enqueued
   * for; a session whose queue refuses it is handled like any failed push (QueueFullError closes it).
   */
  async push(target: PushTarget, notify: UnboundNotify): Promise<number> {
    const sessions: Session[] = [];
    if ('sessionId' in target) {
      const s = this.sessions.get(target.sessionId);
      if (s !== undefined) sessions.push(s);
    } else {
      for (const s of this.sessions.all()) if ('all' in target || s.userId === target.userId) sessions.push(s);
    }
    let delivered = 0;
    await Promise.all(sessions.map(async (s) => {
      if (s.state !== 'active') return;
      try {
        await this.sender.send(s, { notify: { grid: 0, placement: NotifyPlacement.UNBOUND, topic: notify.topic, payload: notify.payload } });
        delivered++;
        this.counters.unbound_notifies++;
      } catch (err) {
        await this.onSendError(s, err);
      }
    }));
    return delivered;
  }

  /**
   * Closes sessions silent for longer than `idleTimeoutMs` (out-of-band ErrorResponse 408) and
   * sessions whose current write has been pending longer than `writeStallTimeoutMs` (slow consumers).
   */
  private sweepSessions(): void {
    const { idleTimeoutMs, writeStallTimeoutMs } = this.config;
    const idleLimit = Date.now() - idleTimeoutMs;
    const stallLimit = performance.now() - writeStallTimeoutMs;
    for (const s of [...this.sessions.all()]) {
      const w = s.queue.writeStartedAt;
      if (writeStallTimeoutMs > 0 && w > 0 && w < stallLimit) {
        this.closeSlowConsumer(s, `a write has been pending for more than ${writeStallTimeoutMs} ms`);
      } else if (idleTimeoutMs > 0 && s.lastActivityMs < idleLimit) {
        this.counters.idle_closes++;
        void this.failSession(s, 408, 'idle timeout', `no request, ack or heartbeat for ${idleTimeoutMs} ms`, 0x13);
      }
    }
  }

  /**
   * The Hello deadline (issue 16 §1): sessions that have not completed Hello `helloTimeoutMs` after
   * their connection opened get an out-of-band ErrorResponse 408 and are closed (`hello_timeouts`).
   * Visits pending sessions oldest first and stops at the first one still within its deadline.
   */
  private sweepHelloDeadline(): void {
    const { helloTimeoutMs } = this.config;
    const limit = performance.now() - helloTimeoutMs;
    const expired: Session[] = [];
    for (const s of this.sessions.pending()) {
      if (s.createdAt > limit) break;
      expired.push(s);
    }
    for (const s of expired) {
      this.counters.hello_timeouts++;
      void this.failSession(s, 408, 'hello timeout', `no Hello completed within ${helloTimeoutMs} ms of connecting (--hello-timeout); heartbeats do not extend it`, CLOSE_CODE.hello_timeout);
    }
  }

  /** A client that does not read: closed without writing to it (a write could wait forever), counted. */
  private closeSlowConsumer(session: Session, why: string): void {
    if (!session.valid) return;
    this.counters.slow_consumer_closes++;
    this.log.warn({ session: session.id, user: session.userId, why }, 'slow consumer closed');
    this.closeSession(session);
    void session.conn.close(0x15, `slow consumer: ${why}`);
  }

  /**
   * Ends a session with an out-of-band ErrorResponse (server_seq 0, outside the ordered sequence)
   * and closes its connection. No-op for a session already closed.
   */
  private async failSession(session: Session, code: number, message: string, detail: string, closeCode: number): Promise<void> {
    if (!session.valid) return;
    this.closeSession(session);
    await this.sendOutOfBand(session.conn, code, message, detail, closeCode);
  }

  /** Writes one out-of-band ErrorResponse (server_seq 0) on `conn`, counted by code, then closes it. */
  private async sendOutOfBand(conn: Connection, code: number, message: string, detail: string, closeCode: number): Promise<void> {
    this.counters.errors_by_code[code] = (this.counters.errors_by_code[code] ?? 0) + 1;
    const frame = ServerPushType.encodeDelimited({ serverSeq: 0, error: { msgId: 0, code, message, detail } });
    await conn.write(frame).catch(() => undefined);
    await conn.close(closeCode, message);
  }

  /** The listener's transport counters (QUIC: packets, handshakes, invalid datagrams), or null. */
  transportStats(): TransportStats | null {
    return this.listener?.stats?.() ?? null;
  }

  /** The gateway counters (live and pending sessions filled in), without encoding any histogram. */
  snapshotCounters(): GatewayCounters {
    return {
      ...this.counters, errors_by_code: { ...this.counters.errors_by_code }, frame_errors: { ...this.counters.frame_errors },
      sessions_active: this.sessions.size, sessions_pending: this.sessions.pendingCount, sessions_created: this.sessions.created,
    };
  }

  /**
   * Counts an uncaught exception or unhandled rejection (`serve`'s crash policy), so it shows in
   * `/metrics` and `/gateway/stats` while the gateway drains.
   */
  noteUncaught(kind: 'exception' | 'rejection'): void {
    if (kind === 'exception') this.counters.uncaught_exceptions++;
    else this.counters.unhandled_rejections++;
  }

  /** Sessions holding input that fairness deferred, and the bytes they hold. */
  heldInput(): { sessions: number; bytes: number; paused: number } {
    let sessions = 0;
    let bytes = 0;
    let paused = 0;
    for (const s of this.sessions.all()) {
      if (s.rxBytes > 0) sessions++;
      bytes += s.rxBytes;
      if (s.readPaused) paused++;
    }
    return { sessions, bytes, paused };
  }

  /** Counters, stage histograms (encoded), queue and processor stats. */
  snapshot(): GatewaySnapshot {
    const cohorts = this.cohorts.snapshot();
    return {
      ...(cohorts !== null ? { cohorts } : {}),
      stages: this.stages.snapshot(),
      queue: this.send.snapshot(),
      processor: this.processor?.stats() ?? null,
      counters: this.snapshotCounters(),
      config: this.config,
      transport: this.transportStats(),
    };
  }

  /**
   * A new connection: refused while stopping; refused (503) when `maxSessions` are open and no
   * pending session can make room; when `maxPendingSessions` sessions have not completed Hello, the
   * oldest of them without a Hello in progress is closed (503) to make room, or, if every one has
   * a Hello in progress, the connection is refused (503).
   */
  private accept(conn: Connection): void {
    if (this.stopping !== null) {
      this.counters.refused_connections_shutting_down++;
      void conn.close(0x10, 'gateway shutting down');
      return;
    }
    const { maxSessions, maxPendingSessions } = this.config;
    if (this.sessions.pendingCount >= maxPendingSessions) {
      let victim: Session | undefined;
      for (const s of this.sessions.pending()) {
        if (!s.helloInProgress) { victim = s; break; }
      }
      if (victim === undefined) {
        this.counters.refused_pending_sessions++;
        void this.sendOutOfBand(conn, 503, 'too many pending sessions',
          `${maxPendingSessions} sessions are completing Hello (--max-pending-sessions); retry shortly`, 0x14);
        return;
      }
      this.counters.pending_evictions++;
      void this.failSession(victim, 503, 'too many pending sessions',
        `${maxPendingSessions} sessions were waiting for Hello (--max-pending-sessions) and this one was the oldest: send Hello right after connecting`, CLOSE_CODE.pending_evicted);
    } else if (this.sessions.size >= maxSessions) {
      this.counters.refused_max_sessions++;
      void this.sendOutOfBand(conn, 503, 'too many sessions', `the gateway holds its limit of ${maxSessions} sessions (--max-sessions)`, 0x14);
      return;
    }
    const session = this.sessions.create(conn);
    session.queue = this.send.createQueue(session.id, (data) => conn.write(data));
    session.decoder = new FrameDecoder<ClientMessage>(ClientMessageType, (msg) => {
      session.turnMessages++;
      session.inbox.push({ msg, readAt: session.decodingAt });
      if (!session.handling) void this.drainInbox(session);
    }, this.config.maxFrameBytes);
    conn.setHandlers({
      data: (chunk) => this.input.onData(session, chunk),
      close: () => {
        if (session.valid) this.counters.peer_closes++;
        this.closeSession(session);
      },
    });
  }

  /**
   * Transport data: the chunk is held (no copy) and, unless the session already waits in the
   * round-robin queue, decoded at once as far as its budget for this turn allows (`serve`).
   */
  /**
   * A frame that does not decode: counted by reason; an oversize frame gets an out-of-band 413
   * naming the limit, other bad frames an out-of-band 400; then the connection is closed.
   */
  private onFrameError(session: Session, err: unknown): void {
    const reason = err instanceof FrameError ? err.reason : 'decode';
    this.counters.frame_errors[reason] = (this.counters.frame_errors[reason] ?? 0) + 1;
    const text = (err as Error).message;
    if (reason === 'oversize') {
      void this.failSession(session, 413, 'frame too large', `${text} (--max-frame-size)`, CLOSE_CODE.frame);
    } else {
      void this.failSession(session, 400, 'bad frame', `${text}; the connection cannot be resynchronised`, CLOSE_CODE.frame);
    }
  }

  private closeSession(session: Session): void {
    if (session.state === 'closed') return;
    this.sessions.remove(session);
    session.queue.close();
    session.rx.length = 0;
    session.rxHead = 0;
    session.rxOffset = 0;
    session.rxBytes = 0;
    session.inbox.clear();
  }

  /**
   * The connection handler: one request at a time per session, in arrival order. When the inbox
   * empties and input is held, decoding resumes (within the turn's budget).
   */
  private async drainInbox(session: Session): Promise<void> {
    session.handling = true;
    try {
      while (session.inbox.length > 0 && session.valid) {
        const { msg, readAt } = session.inbox.shift()!;
        try {
          await this.handle(session, msg, readAt);
        } catch (err) {
          await this.onSendError(session, err);
        }
        if (session.inbox.length === 0 && session.rxBytes > 0 && !session.scheduled) this.input.serve(session, false);
      }
    } finally {
      session.handling = false;
    }
  }

  private async handle(session: Session, msg: ClientMessage, readAt: number): Promise<void> {
    session.lastActivityMs = Date.now();
    const msgId = msg.msgId ?? 0;
    switch (msg.body) {
      case 'hello': {
        // Hello is synchronous (seed 004 §3.1): the login result must update the session first
        this.counters.hellos++;
        const hello = msg.hello!;
        let res: { code: number; message: string };
        session.helloInProgress = true;
        try {
          res = await this.upstream.login(hello.userId ?? '', hello.token ?? '');
        } catch (err) {
          this.counters.upstream_errors++;
          res = { code: 500, message: `login failed: ${(err as Error).message}` };
        } finally {
          session.helloInProgress = false;
        }
        // closed meanwhile (Hello deadline, peer gone, shutdown): nothing to answer
        if (!session.valid) return;
        if (res.code === 200) {
          session.userId = hello.userId ?? '';
          const cohort = cohortOf(hello.clientVersion);
          if (cohort !== null) session.queue.sink = this.cohorts.sinkFor(cohort);
          this.sessions.activate(session);
          await this.sender.send(session, { hello: { msgId, code: res.code, sessionId: session.id, message: res.message } });
          return;
        }
        // refused login (seed 004 §3.1; issue 7: bad token → 401, session closed): the HelloResponse is
        // the session's only push, written directly, then the connection is closed
        this.counters.login_failures++;
        this.counters.errors_by_code[res.code] = (this.counters.errors_by_code[res.code] ?? 0) + 1;
        const frame = ServerPushType.encodeDelimited({ serverSeq: session.reserveServerSeqs(1), hello: { msgId, code: res.code, sessionId: '', message: res.message } });
        this.closeSession(session);
        await session.conn.write(frame).catch(() => undefined);
        await session.conn.close(0x16, `login refused: ${res.message}`);
        return;
      }
      case 'business': {
        this.counters.requests++;
        if (session.state !== 'active') return this.replyError(session, msgId, 401, 'no session: send Hello first');
        const seqId = msg.seqId ?? 0;
        if (seqId <= session.maxClientSeq) {
          return this.replyError(session, msgId, 400, `seq_id ${seqId} does not increase (last ${session.maxClientSeq})`);
        }
        session.maxClientSeq = seqId;
        const { maxHeaderEntries, maxHeaderBytes } = this.config;
        const h = headerSize(msg.business?.headers, maxHeaderEntries);
        if (h.entries > maxHeaderEntries || h.bytes > maxHeaderBytes) {
          this.counters.headers_too_large++;
          this.exportEvent(session, msg, 400, 0, readAt);
          const what = h.entries > maxHeaderEntries ? `more than ${maxHeaderEntries} entries` : `${h.entries} entries of ${h.bytes} bytes`;
          return this.replyError(session, msgId, 400, 'headers too large',
            `${what}; the limits are ${maxHeaderEntries} entries and ${maxHeaderBytes} bytes of keys and values (--max-header-entries, --max-header-bytes)`);
        }
        if (this.config.sessionRateLimit > 0 && !session.takeToken(this.config.sessionRateLimit)) {
          this.counters.rate_limited++;
          this.exportEvent(session, msg, 429, 0, readAt);
          return this.replyError(session, msgId, 429, 'rate limited', `more than ${this.config.sessionRateLimit} requests/s on this session (--session-rate-limit)`);
        }
        if (this.stopping !== null) {
          this.counters.refused_shutting_down++;
          this.exportEvent(session, msg, 503, 0, readAt);
          return this.replyError(session, msgId, 503, 'server busy', 'gateway shutting down');
        }
        const task: AsyncTask = { taskId: `${session.id}-${seqId}`, session, request: msg, readAt };
        if (this.processor === null) return this.processTask(task); // sync processor: inline
        if (!this.processor.submitTask(task)) {
          this.exportEvent(session, msg, 503, 0, readAt);
          return this.replyError(session, msgId, 503, 'server busy', `request queue full (${this.config.processor.maxQueueSize} tasks)`);
        }
        return;
      }
      case 'ack': {
        this.counters.acks++;
        const acked = msg.ack!.ackedServerSeq ?? 0;
        if (acked > session.ackedServerSeq) session.ackedServerSeq = acked;
        return;
      }
      case 'heartbeat':
        this.counters.heartbeats++;
        return;
      default:
        return this.replyError(session, msgId, 400, 'empty message: set one of hello, business, ack, heartbeat');
    }
  }

  /**
   * A push could not be enqueued. A full waiting heap (QUEUE_MAX_QUEUE_SIZE) fails the session: it
   * gets an out-of-band ErrorResponse (server_seq 0, outside the ordered sequence, since the queue
   * cannot take it) and is closed; counted in `queue_full_closes`. Other failures (closed session,
   * failed write) are counted in `send_failures`.
   */
  private async onSendError(session: Session, err: unknown): Promise<void> {
    if (err instanceof SlowConsumerError) return this.closeSlowConsumer(session, err.message);
    if (!(err instanceof QueueFullError)) {
      this.counters.send_failures++;
      return;
    }
    this.counters.queue_full_closes++;
    await this.failSession(session, 503, 'session send queue full', err.message, 0x12);
  }

  private replyError(session: Session, msgId: number, code: number, message: string, detail = ''): Promise<void> {
    this.counters.errors_by_code[code] = (this.counters.errors_by_code[code] ?? 0) + 1;
    return this.sender.sendError(session, msgId, code, message, detail);
  }

  /** seed 004 processTask: upstream call, then before-notifies, response, after-notifies. */
  private async processTask(task: AsyncTask): Promise<void> {
    const { session, request } = task;
    const msgId = request.msgId ?? 0;
    const quota = this.quota;
    if (quota !== null) {
      // seed 003: the check is synchronous with respect to the request
      const tq = performance.now();
      try {
        await quota.enforceQuota(session.userId, 'requests', 1);
      } catch (err) {
        this.stages.record('quota_check_latency', (performance.now() - tq) * 1000);
        const code = err instanceof QuotaExceededError ? err.status : 500;
        this.exportEvent(session, request, code, 0, task.readAt);
        return this.replyError(session, msgId, code, code === 429 ? 'quota exceeded' : 'quota check failed', (err as Error).message);
      }
      this.stages.record('quota_check_latency', (performance.now() - tq) * 1000);
    }
    const t0 = performance.now();
    let resp: UpstreamResponse;
    try {
      const biz = request.business!;
      resp = await this.upstream.call({
        sessionId: session.id, userId: session.userId, action: biz.action ?? 'business', seqId: request.seqId ?? 0,
        payload: biz.payload, headers: biz.headers,
      }, { timeoutMs: this.config.processor.taskTimeoutMs });
    } catch (err) {
      const upstreamUs = (performance.now() - t0) * 1000;
      this.stages.record('upstream_latency', upstreamUs);
      if (err instanceof UpstreamTimeoutError) {
        this.counters.upstream_timeouts++;
        this.exportEvent(session, request, 504, upstreamUs, task.readAt);
        return this.replyError(session, msgId, 504, 'upstream timeout', `no answer within ${this.config.processor.taskTimeoutMs} ms`);
      }
      this.counters.upstream_errors++;
      this.exportEvent(session, request, 500, upstreamUs, task.readAt);
      return this.replyError(session, msgId, 500, '上游服务错误', (err as Error).message);
    }
    const upstreamUs = (performance.now() - t0) * 1000;
    this.stages.record('upstream_latency', upstreamUs);
    const answerBytes = upstreamAnswerBytes(resp);
    if (answerBytes > this.config.maxFrameBytes) {
      // issue 16 §2: upstream bodies are bounded like client frames (no 16 MiB echo on one event loop)
      this.counters.upstream_oversize++;
      this.exportEvent(session, request, 500, upstreamUs, task.readAt);
      return this.replyError(session, msgId, 500, 'upstream response too large',
        `the upstream answered ${answerBytes} bytes of data, headers and notify payloads; the limit is ${this.config.maxFrameBytes} (--max-frame-size)`);
    }
    if (quota !== null) {
      // seed 003: consumption after the business call — awaited store write (sync) or a channel publish (async)
      const tc = performance.now();
      try {
        await quota.consume(QuotaService.event(session.userId, 'requests', 1, task.taskId));
      } catch (err) {
        this.stages.record('quota_consume_latency', (performance.now() - tc) * 1000);
        this.exportEvent(session, request, 500, upstreamUs, task.readAt);
        return this.replyError(session, msgId, 500, 'quota consumption failed', (err as Error).message);
      }
      this.stages.record('quota_consume_latency', (performance.now() - tc) * 1000);
    }
    if (!session.valid) return;
    const pushes: ServerPush[] = [];
    const notifies = resp.notifies ?? [];
    for (const n of notifies) if (n.placement === NotifyPlacement.BEFORE_RESPONSE) pushes.push({ notify: n });
    pushes.push({ business: { msgId, code: resp.code ?? 200, message: resp.message ?? '', data: resp.data, headers: resp.headers } });
    for (const n of notifies) if (n.placement !== NotifyPlacement.BEFORE_RESPONSE) pushes.push({ notify: n });
    await this.sender.sendGroup(session, pushes);
    this.counters.responses++;
    this.stages.record('business_latency', (performance.now() - task.readAt) * 1000);
    this.exportEvent(session, request, resp.code ?? 200, upstreamUs, task.readAt);
  }

  /** One GatewayEvent per answered business request, when the event export is on (never throws). */
  private exportEvent(session: Session, request: ClientMessage, code: number, upstreamUs: number, readAt: number): void {
    if (this.events === null) return;
    this.events.export({
      session_id: session.id, action: request.business?.action ?? 'business', code,
      upstream_latency_us: Math.round(upstreamUs), business_latency_us: Math.round((performance.now() - readAt) * 1000), ts_ms: Date.now(),
    });
  }
}
