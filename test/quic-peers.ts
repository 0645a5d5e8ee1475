/**
 * Test peers for the QUIC driver: a UDP relay that can drop everything (a silent peer), a bare
 * quiche client driven packet by packet (for handshakes without a stream), and @matrixai/quic's own
 * JS client and server (an
 * independent driver of quiche, for interoperability in both directions). Loopback only.
 */
import dgram from 'node:dgram';
import { createHmac, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';
import Logger, { LogLevel } from '@matrixai/logger';
import { QUICClient, QUICServer, events as quicEvents } from '@matrixai/quic';
import type { QUICStream } from '@matrixai/quic';
import { quiche } from '../src/transport/quic/config.js';
import { udpSocket } from '../src/bench/soak/datagrams.js';
import { ALPN_PROTOCOL } from '../src/transport/quic/index.js';
import type { CertificateMaterial } from '../src/transport/index.js';

const HOST = '127.0.0.1';

/** A UDP relay between one client and `targetPort`; `blackhole` drops everything both ways. */
export interface UdpRelay {
  readonly port: number;
  blackhole: boolean;
  /** Datagrams seen from the client (copies), for mutation fuzzing. */
  readonly fromClient: Buffer[];
  close(): Promise<void>;
}

/** Starts a relay on 127.0.0.1 that forwards to 127.0.0.1:`targetPort` and back. */
export async function udpRelay(targetPort: number): Promise<UdpRelay> {
  const front = await udpSocket();
  const back = await udpSocket();
  let client: { address: string; port: number } | undefined;
  const relay: UdpRelay = {
    port: front.address().port,
    blackhole: false,
    fromClient: [],
    close: async () => {
      await Promise.all([new Promise<void>((r) => front.close(() => r())), new Promise<void>((r) => back.close(() => r()))]);
    },
  };
  front.on('message', (msg, rinfo) => {
    client = { address: rinfo.address, port: rinfo.port };
    if (relay.fromClient.length < 200) relay.fromClient.push(Buffer.from(msg));
    if (!relay.blackhole) back.send(msg, targetPort, HOST);
  });
  back.on('message', (msg) => {
    if (!relay.blackhole && client !== undefined) front.send(msg, client.port, client.address);
  });
  return relay;
}

/** A bare quiche client over its own socket: handshakes, and nothing else unless told. */
export class BareQuicheClient {
  readonly native;
  readonly socket: dgram.Socket;
  private readonly targetPort: number;
  private readonly timer: NodeJS.Timeout;
  private readonly out = Buffer.alloc(1500);

  private constructor(socket: dgram.Socket, targetPort: number) {
    this.socket = socket;
    this.targetPort = targetPort;
    const config = quiche.Config.withBoringSslCtx(false, false, undefined, undefined, undefined, 'ecdsa_secp256r1_sha256:ed25519:rsa_pss_rsae_sha256:rsa_pkcs1_sha256');
    config.setApplicationProtos([ALPN_PROTOCOL]);
    config.setMaxIdleTimeout(30_000);
    config.setInitialMaxData(1 << 20);
    config.setInitialMaxStreamDataBidiLocal(1 << 20);
    config.setInitialMaxStreamDataBidiRemote(1 << 20);
    config.setInitialMaxStreamsBidi(0);
    config.setInitialMaxStreamsUni(0);
    const scid = randomBytes(16);
    const local = { host: HOST, port: socket.address().port };
    this.native = quiche.Connection.connect(null, scid, local, { host: HOST, port: targetPort }, config);
    socket.on('message', (msg, rinfo) => {
      try {
        this.native.recv(msg, { from: { host: rinfo.address, port: rinfo.port }, to: local });
      } catch {
        // counted by the test through the connection's state
      }
      this.flush();
    });
    this.timer = setInterval(() => {
      const t = this.native.timeout();
      if (t !== null && t <= 10) this.native.onTimeout();
      this.flush();
    }, 10);
  }

  /** Starts the handshake with 127.0.0.1:`port`. */
  static async connect(port: number): Promise<BareQuicheClient> {
    const client = new BareQuicheClient(await udpSocket(), port);
    client.flush();
    return client;
  }

  flush(): void {
    for (;;) {
      let result;
      try {
        result = this.native.send(this.out);
      } catch {
        return;
      }
      if (result === null) return;
      this.socket.send(Buffer.from(this.out.subarray(0, result[0])), this.targetPort, HOST);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await new Promise<void>((r) => this.socket.close(() => r()));
  }
}

const silent = (): Logger => new Logger('test', LogLevel.SILENT, []);
const toAB = (b: Buffer): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
const asBuffer = (d: ArrayBuffer | ArrayBufferView): Buffer =>
  ArrayBuffer.isView(d) ? Buffer.from(d.buffer, d.byteOffset, d.byteLength) : Buffer.from(d);

/** @matrixai/quic's QUICServer answering each stream with an echo, on 127.0.0.1 and a free port. */
export async function matrixaiEchoServer(certificate: CertificateMaterial): Promise<{ port: number; stop(): Promise<void> }> {
  const key = randomBytes(32);
  const server = new QUICServer({
    crypto: {
      key: toAB(key),
      ops: {
        sign: async (k, data) => toAB(createHmac('sha256', asBuffer(k)).update(asBuffer(data)).digest()),
        verify: async (k, data, sig) => {
          const expected = createHmac('sha256', asBuffer(k)).update(asBuffer(data)).digest();
          const actual = asBuffer(sig);
          return actual.byteLength === expected.byteLength && timingSafeEqual(actual, expected);
        },
      },
    },
    config: { applicationProtos: [ALPN_PROTOCOL], key: certificate.keyPem, cert: certificate.certPem, verifyPeer: false },
    logger: silent(),
  });
  server.addEventListener(quicEvents.EventQUICServerConnection.name, (evt: Event) => {
    const conn = (evt as quicEvents.EventQUICServerConnection).detail;
    const seen = new Set<QUICStream>();
    const echo = (stream: QUICStream): void => {
      if (seen.has(stream)) return;
      seen.add(stream);
      void stream.readable.pipeTo(stream.writable).catch(() => {});
    };
    conn.addEventListener(quicEvents.EventQUICConnectionStream.name, (e: Event) => echo((e as quicEvents.EventQUICConnectionStream).detail));
    // A stream opened in the packet that completed the handshake exists before this listener did.
    const streamMap = (conn as unknown as { streamMap?: Map<number, QUICStream> }).streamMap;
    if (streamMap !== undefined) for (const stream of streamMap.values()) echo(stream);
  });
  await server.start({ host: HOST, port: 0 });
  return { port: server.port, stop: () => server.stop({ force: true }) };
}

/** Dials 127.0.0.1:`port` with @matrixai/quic's QUICClient (no verification) and writes `data`; returns what came back. */
export async function matrixaiEchoClient(port: number, data: Uint8Array, expectBytes: number): Promise<Buffer> {
  const client = await QUICClient.createQUICClient({
    host: HOST,
    port,
    crypto: { ops: { randomBytes: async (b: ArrayBuffer) => void randomFillSync(new Uint8Array(b)) } },
    config: { applicationProtos: [ALPN_PROTOCOL], verifyPeer: false },
    logger: silent(),
  });
  try {
    const stream = client.connection.newStream('bidi');
    const writer = stream.writable.getWriter();
    await writer.write(data);
    const reader = stream.readable.getReader();
    const chunks: Buffer[] = [];
    let total = 0;
    while (total < expectBytes) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(value));
      total += value.byteLength;
    }
    reader.releaseLock();
    return Buffer.concat(chunks);
  } finally {
    await client.destroy({ force: true });
  }
}
