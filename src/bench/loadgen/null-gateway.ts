/**
 * The load-generator benchmark's target (issue 4 "Done when"): the *null gateway*. It decodes every
 * ClientMessage and answers at once (Hello → HelloResponse 200, each BusinessRequest → one
 * BusinessResponse with the same msg_id and contiguous server_seq; acks and heartbeats counted and
 * otherwise ignored), the answers to one received chunk in one write. No queue, processor or
 * upstream: what is measured is the clients. It runs in a child process (./null-gateway-child.ts),
 * started and sampled from here.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TransportError } from '../../errors.js';
import type { Connection, TransportName } from '../../transport/index.js';
import { ClientMessageType, FrameDecoder, ServerPushType } from '../../protocol/index.js';

const noop = (): void => undefined;

/** Counters of a null gateway process. */
export interface NullGatewayCounters {
  /** connections served so far */
  connections: number;
  /** connections open now */
  open: number;
  /** BusinessResponses written */
  responses: number;
  /** ClientAcks received (ignored otherwise) */
  acks: number;
  /** connections closed for a frame that did not decode */
  badFrames: number;
}

/**
 * Serves one connection as the null gateway: Hello → HelloResponse code 200; each BusinessRequest →
 * one BusinessResponse (same msg_id, code 200) with server_seq 1, 2, 3, … for the connection; acks
 * and heartbeats ignored. The answers to one received chunk go out in one write. A frame that does
 * not decode closes the connection (code 0x11) and counts in `badFrames`.
 */
export function serveNullConnection(conn: Connection, counters: NullGatewayCounters): void {
  counters.connections++;
  counters.open++;
  const sessionId = `null-${counters.connections}`;
  let serverSeq = 0;
  const out: Uint8Array[] = [];
  const decoder = new FrameDecoder(ClientMessageType, (m) => {
    if (m.body === 'business') {
      out.push(ServerPushType.encodeDelimited({ serverSeq: ++serverSeq, business: { msgId: m.msgId ?? 0, code: 200 } }));
      counters.responses++;
    } else if (m.body === 'hello') {
      out.push(ServerPushType.encodeDelimited({ serverSeq: ++serverSeq, hello: { msgId: m.msgId ?? 0, code: 200, sessionId } }));
    } else if (m.body === 'ack') {
      counters.acks++;
    }
  });
  conn.setHandlers({
    data: (chunk) => {
      try {
        decoder.push(chunk);
      } catch {
        counters.badFrames++;
        out.length = 0;
        void conn.close(0x11, 'bad frame');
        return;
      }
      if (out.length === 0) return;
      const frame = out.length === 1 ? out[0]! : Buffer.concat(out);
      out.length = 0;
      conn.write(frame).catch(noop);
    },
    close: () => { counters.open--; },
  });
}

/** A sample of the null gateway process: CPU time so far (µs), counters, memory (bytes), and when (its clock, ms). */
export interface TargetSample {
  userUs: number;
  systemUs: number;
  /** BusinessResponses written so far */
  responses: number;
  /** ClientAcks received so far */
  acks: number;
  /** connections open at the sample */
  open: number;
  /** process.memoryUsage() of the child: resident set size and V8 heap used, bytes */
  rssBytes: number;
  heapUsedBytes: number;
  /** performance.timeOrigin + performance.now() of the child when sampled, ms */
  atMs: number;
}

/** A running null gateway child process. */
export interface NullGateway {
  transport: TransportName;
  port: number;
  /** `quic://127.0.0.1:PORT` or `tcp://…` */
  url: string;
  /** its self-signed certificate, the clients' CA (PEM) */
  certPem: string;
  /** CPU time and counters of the child now. Rejects with TransportError when it does not answer within 10 s. */
  sample(): Promise<TargetSample>;
  /** Closes the listener and ends the child (bounded: 5 s, then SIGKILL). */
  stop(): Promise<void>;
}

/**
 * Starts the null gateway in a child process on 127.0.0.1 (free port). Rejects with TransportError
 * when the child fails to bind or says nothing within 30 s.
 */
export async function startNullGateway(transport: TransportName): Promise<NullGateway> {
  const entry = fileURLToPath(new URL('./null-gateway-child.js', import.meta.url));
  // no --cpu-prof etc. in the target: profile flags belong to the generator process
  const child: ChildProcess = fork(entry, [transport], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
  const next = <T>(type: string, timeoutMs: number, id?: number): Promise<T> => new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new TransportError(`null gateway: no '${type}' within ${timeoutMs} ms`)); }, timeoutMs);
    const onMsg = (m: { type: string; id?: number; message?: string }) => {
      if (m.type === type && m.id === id) { cleanup(); resolve(m as T); } else if (m.type === 'error') { cleanup(); reject(new TransportError(`null gateway failed: ${m.message}`)); }
    };
    const onExit = (code: number | null) => { cleanup(); reject(new TransportError(`null gateway exited (code ${code}) before '${type}'`)); };
    const cleanup = () => { clearTimeout(timer); child.off('message', onMsg); child.off('exit', onExit); };
    child.on('message', onMsg);
    child.on('exit', onExit);
  });
  let ready: { port: number; certPem: string };
  try {
    ready = await next<{ port: number; certPem: string }>('ready', 30_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  let ids = 0;
  return {
    transport, port: ready.port, certPem: ready.certPem, url: `${transport}://127.0.0.1:${ready.port}`,
    async sample() {
      const id = ++ids;
      const p = next<TargetSample>('sample', 10_000, id);
      child.send({ type: 'sample', id });
      const s = await p;
      return { userUs: s.userUs, systemUs: s.systemUs, responses: s.responses, acks: s.acks, open: s.open, rssBytes: s.rssBytes, heapUsedBytes: s.heapUsedBytes, atMs: s.atMs };
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      if (child.connected) child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
