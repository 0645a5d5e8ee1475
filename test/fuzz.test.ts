/**
 * Decoder fuzzing (issue 7 item 2, DESIGN §3): fast-check properties over FrameDecoder and message
 * decoding, bounded in runs so they belong in the normal suite, and a gateway-level check that a
 * garbage frame closes only its own connection with a counted reason.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { FrameError } from '../src/errors.js';
import {
  ClientMessageType,
  DEFAULT_MAX_FRAME_BYTES,
  FrameDecoder,
  ServerPushType,
  type ClientMessage,
  type MessageType,
  type ServerPush,
} from '../src/protocol/index.js';
import { startInProcessGateway } from '../src/gateway/index.js';
import { resolveGatewayConfig, type GatewayFlags } from '../src/config/resolve.js';
import { runLoad } from '../src/load/run.js';
import { getTransport } from '../src/transport/index.js';
import type { Connection } from '../src/transport/index.js';
import { loadOptions } from './support.js';

const REASONS = new Set(['oversize', 'decode', 'varint']);
/** Longest length prefix: a varint of a 32-bit length is at most 5 bytes. */
const MAX_PREFIX = 5;
/** Buffer's shared allocation pool: small copies live in it (Buffer.poolSize, 8 KiB by default). */
const POOL = Buffer.poolSize;

/** What feeding a decoder chunk by chunk did. */
interface Fed<T> {
  messages: T[];
  error: FrameError | undefined;
  /** index of the chunk whose push threw */
  errorAt: number;
  /** largest `bufferedBytes` seen after any push */
  maxBuffered: number;
  /** largest backing store the decoder kept between pushes (bytes) */
  maxRetained: number;
}

/** Backing-store size of what the decoder keeps between pushes (test-only peek at private state). */
function retained(decoder: FrameDecoder<unknown>): number {
  const d = decoder as unknown as Record<string, unknown>;
  let total = 0;
  for (const v of Object.values(d)) {
    if (v instanceof Uint8Array) total += v.buffer.byteLength;
    else if (Array.isArray(v)) for (const x of v) if (x instanceof Uint8Array) total += x.buffer.byteLength;
  }
  return total;
}

/**
 * Pushes `chunks` in order. Asserts the contract: a push either returns or throws a FrameError with
 * reason oversize|decode|varint (never anything else), and a decoder that threw keeps throwing
 * FrameError. `measureRetained` records the backing store kept between pushes. `scribble` overwrites each chunk after its push (the caller reusing its buffer): what
 * the decoder still needs of it must have been copied.
 */
function feed<T>(type: MessageType<T>, chunks: Uint8Array[], maxFrame: number, scribble = false, measureRetained = false): Fed<T> {
  const messages: T[] = [];
  // With `scribble`, each message is re-decoded from its canonical bytes on delivery: protobufjs
  // hands out `bytes` fields as views of the input, which a caller reusing its chunk would change.
  const onFrame = scribble ? (m: T) => messages.push(type.decode(type.encode(m))) : (m: T) => messages.push(m);
  const decoder = new FrameDecoder<T>(type, onFrame, maxFrame);
  const fed: Fed<T> = { messages, error: undefined, errorAt: -1, maxBuffered: 0, maxRetained: 0 };
  for (let i = 0; i < chunks.length; i++) {
    try {
      decoder.push(chunks[i]!);
    } catch (error) {
      assert.ok(error instanceof FrameError, `push threw ${String(error)}, not a FrameError`);
      assert.ok(REASONS.has(error.reason), `unknown reason ${error.reason}`);
      fed.error = error;
      fed.errorAt = i;
      assert.throws(() => decoder.push(new Uint8Array([0])), FrameError, 'a failed decoder keeps failing');
      return fed;
    }
    if (scribble) chunks[i]!.fill(0xa5);
    fed.maxBuffered = Math.max(fed.maxBuffered, decoder.bufferedBytes);
    if (measureRetained) fed.maxRetained = Math.max(fed.maxRetained, retained(decoder as FrameDecoder<unknown>));
  }
  return fed;
}

/** Splits `data` at the given offsets (any order, duplicates allowed). */
function split(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.min(c, data.length)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    chunks.push(data.slice(prev, p));
    prev = p;
  }
  chunks.push(data.slice(prev));
  return chunks;
}

/** `data` and up to `maxCuts` split points into it. */
function withCuts(data: fc.Arbitrary<Uint8Array>, maxCuts = 24): fc.Arbitrary<[Uint8Array, number[]]> {
  return data.chain((d) => fc.tuple(fc.constant(d), fc.array(fc.nat({ max: d.length }), { maxLength: maxCuts })));
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** Varint encoding of `n` (n < 2^35). */
function varint(n: number): Uint8Array {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return new Uint8Array(out);
}

const uint53 = fc.maxSafeNat();
const text = fc.string({ maxLength: 24 });
const bytes = fc.uint8Array({ maxLength: 64 });
const headers = fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 });

/** Any valid ClientMessage (every oneof branch, empty fields included). */
const clientMessage: fc.Arbitrary<ClientMessage> = fc.oneof(
  fc.record({ msgId: uint53, seqId: uint53, hello: fc.record({ userId: text, token: text, clientVersion: text }) }),
  fc.record({ msgId: uint53, seqId: uint53, business: fc.record({ action: text, payload: bytes, headers }) }),
  fc.record({ msgId: uint53, seqId: uint53, ack: fc.record({ ackedServerSeq: uint53 }) }),
  fc.record({ msgId: uint53, seqId: uint53, heartbeat: fc.record({ clientTimeMs: uint53 }) }),
  fc.record({ msgId: uint53 }, { requiredKeys: [] }),
);

/** Any valid ServerPush. */
const serverPush: fc.Arbitrary<ServerPush> = fc.oneof(
  fc.record({ serverSeq: uint53, business: fc.record({ msgId: uint53, code: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), message: text, data: bytes, headers }) }),
  fc.record({ serverSeq: uint53, notify: fc.record({ grid: uint53, placement: fc.constantFrom(0, 1, 2), topic: text, payload: bytes }) }),
  fc.record({ serverSeq: uint53, error: fc.record({ msgId: uint53, code: fc.constantFrom(400, 401, 429, 500, 503, 504), message: text, detail: text }) }),
  fc.record({ serverSeq: uint53, hello: fc.record({ msgId: uint53, code: fc.integer({ min: 0, max: 999 }), sessionId: text, message: text }) }),
);

/** Canonical bytes of a message (for equality: protobufjs objects carry defaults and prototypes). */
function canon<T>(type: MessageType<T>, msg: T): string {
  return Buffer.from(type.encode(msg)).toString('hex');
}

const RUNS = { numRuns: 1000 };

describe('FrameDecoder fuzzing', () => {
  test('random bytes in random chunks: decoded messages or a typed FrameError, nothing else; buffers stay within the frame limit', () => {
    fc.assert(
      fc.property(
        withCuts(fc.uint8Array({ maxLength: 2048 })),
        fc.constantFrom(16, 64, 300, 1024, DEFAULT_MAX_FRAME_BYTES),
        fc.constantFrom<MessageType<unknown>>(ClientMessageType as MessageType<unknown>, ServerPushType as MessageType<unknown>),
        ([data, cuts], maxFrame, type) => {
          const fed = feed(type, split(data, cuts), maxFrame);
          assert.ok(fed.maxBuffered <= maxFrame + MAX_PREFIX, `buffered ${fed.maxBuffered} > ${maxFrame} + ${MAX_PREFIX}`);
        },
      ),
      RUNS,
    );
  });

  test('a valid stream split anywhere decodes to the same messages as in one piece, in order', () => {
    fc.assert(
      fc.property(
        fc.array(clientMessage, { minLength: 1, maxLength: 12 }).chain((msgs) => {
          const stream = concat(msgs.map((m) => ClientMessageType.encodeDelimited(m)));
          return fc.tuple(fc.constant(msgs), fc.constant(stream), fc.array(fc.nat({ max: stream.length }), { maxLength: 40 }));
        }),
        ([msgs, stream, cuts]) => {
          const whole = feed(ClientMessageType, [stream.slice()], DEFAULT_MAX_FRAME_BYTES);
          const pieces = feed(ClientMessageType, split(stream, cuts), DEFAULT_MAX_FRAME_BYTES);
          assert.equal(whole.error, undefined);
          assert.equal(pieces.error, undefined);
          assert.deepEqual(pieces.messages.map((m) => canon(ClientMessageType, m)), msgs.map((m) => canon(ClientMessageType, m)));
          assert.deepEqual(pieces.messages.map((m) => canon(ClientMessageType, m)), whole.messages.map((m) => canon(ClientMessageType, m)));
          assert.equal(pieces.maxBuffered <= DEFAULT_MAX_FRAME_BYTES + MAX_PREFIX, true);
        },
      ),
      RUNS,
    );
  });

  test('ServerPush streams split anywhere decode intact (the load client side)', () => {
    fc.assert(
      fc.property(
        fc.array(serverPush, { minLength: 1, maxLength: 12 }).chain((msgs) => {
          const stream = concat(msgs.map((m) => ServerPushType.encodeDelimited(m)));
          return fc.tuple(fc.constant(msgs), fc.constant(stream), fc.array(fc.nat({ max: stream.length }), { maxLength: 40 }));
        }),
        ([msgs, stream, cuts]) => {
          const fed = feed(ServerPushType, split(stream, cuts), DEFAULT_MAX_FRAME_BYTES);
          assert.equal(fed.error, undefined);
          assert.deepEqual(fed.messages.map((m) => canon(ServerPushType, m)), msgs.map((m) => canon(ServerPushType, m)));
        },
      ),
      RUNS,
    );
  });

  test('the decoder keeps no view of the caller\'s chunk: reusing a chunk after push changes nothing, and little memory is retained', () => {
    fc.assert(
      fc.property(
        fc.array(clientMessage, { minLength: 1, maxLength: 12 }).chain((msgs) => {
          const stream = concat(msgs.map((m) => ClientMessageType.encodeDelimited(m)));
          return fc.tuple(fc.constant(msgs), fc.constant(stream), fc.array(fc.nat({ max: stream.length }), { maxLength: 8 }));
        }),
        ([msgs, stream, cuts]) => {
          const fed = feed(ClientMessageType, split(stream, cuts), DEFAULT_MAX_FRAME_BYTES, true);
          assert.equal(fed.error, undefined);
          assert.deepEqual(fed.messages.map((m) => canon(ClientMessageType, m)), msgs.map((m) => canon(ClientMessageType, m)));
        },
      ),
      RUNS,
    );
    // A big chunk of many frames ending in a 3-byte partial frame: the decoder keeps the 3 bytes,
    // not the whole chunk.
    const frames = Array.from({ length: 2000 }, (_, i) => ClientMessageType.encodeDelimited({ msgId: i, seqId: i, heartbeat: { clientTimeMs: i } }));
    const big = concat([...frames, ClientMessageType.encodeDelimited({ msgId: 1, business: { action: 'x', payload: new Uint8Array(100) } }).subarray(0, 3)]);
    const fed = feed(ClientMessageType, [big], DEFAULT_MAX_FRAME_BYTES, false, true);
    assert.equal(fed.messages.length, 2000);
    assert.equal(fed.maxBuffered, 3);
    assert.ok(fed.maxRetained <= POOL, `retained ${fed.maxRetained} bytes for a 3-byte tail (chunk ${big.length} bytes)`);
  });

  test('truncated varints wait (at most 4 bytes buffered); a bad 5th byte is a varint error; lengths over the limit are oversize', () => {
    /** Reference reading of a length prefix (protobuf varint, at most 5 bytes for 32 bits). */
    const reference = (prefix: number[]): 'incomplete' | 'varint' | number => {
      let len = 0;
      for (let i = 0; i < prefix.length; i++) {
        const b = prefix[i]!;
        if (i === 4) return b > 0x0f ? 'varint' : len + b * 2 ** 28;
        len += (b & 0x7f) * 2 ** (7 * i);
        if (b < 0x80) return len;
      }
      return 'incomplete';
    };
    const MAX = 64;
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0x80, max: 0xff }), { minLength: 0, maxLength: 8 }),
        fc.option(fc.integer({ min: 0, max: 0xff }), { nil: undefined }),
        fc.array(fc.nat({ max: 9 }), { maxLength: 4 }),
        (continuation, last, cuts) => {
          const prefix = last === undefined ? continuation : [...continuation, last];
          fc.pre(prefix.length > 0);
          const fed = feed(ClientMessageType, split(new Uint8Array(prefix), cuts), MAX);
          const want = reference(prefix);
          const hex = Buffer.from(prefix).toString('hex');
          if (want === 'incomplete') {
            assert.equal(fed.error, undefined, hex);
            assert.equal(fed.maxBuffered, prefix.length);
            assert.ok(fed.maxBuffered <= 4);
          } else if (want === 'varint') {
            assert.equal(fed.error?.reason, 'varint', hex);
          } else if (want > MAX) {
            assert.equal(fed.error?.reason, 'oversize', hex);
          } else {
            // a valid length: waits for the body (an empty body is a complete, empty message)
            assert.equal(fed.error, undefined, hex);
            assert.equal(fed.messages.length, want === 0 ? 1 : 0);
          }
        },
      ),
      RUNS,
    );
  });

  test('an oversize length prefix fails at once, before any of its body arrives', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 1, max: 2 ** 32 - 1 }), fc.nat({ max: 8 }), (maxFrame, len, bodyBytes) => {
        fc.pre(len > maxFrame);
        const fed = feed(ClientMessageType, [concat([varint(len), new Uint8Array(bodyBytes)])], maxFrame);
        assert.equal(fed.error?.reason, 'oversize');
        assert.match(fed.error.message, new RegExp(`${len} bytes exceeds the maximum of ${maxFrame}`));
      }),
      RUNS,
    );
  });

  test('wrong wire types and field types: a message or FrameError("decode"), never another error', () => {
    // A field key is (field number << 3) | wire type; use ClientMessage's real field numbers with
    // every wire type (0..7, including the deprecated groups 3/4 and the invalid 6/7).
    const field = fc.record({
      num: fc.constantFrom(1, 2, 10, 11, 12, 13, 3, 99),
      wire: fc.integer({ min: 0, max: 7 }),
      payload: fc.uint8Array({ maxLength: 12 }),
    });
    fc.assert(
      fc.property(fc.array(field, { minLength: 1, maxLength: 6 }), fc.constantFrom<MessageType<unknown>>(ClientMessageType as MessageType<unknown>, ServerPushType as MessageType<unknown>), (fields, type) => {
        const body = concat(fields.flatMap((f) => [varint(f.num * 8 + f.wire), f.payload]));
        const frame = concat([varint(body.length), body]);
        const fed = feed(type, split(frame, [1, 3]), DEFAULT_MAX_FRAME_BYTES);
        if (fed.error !== undefined) assert.equal(fed.error.reason, 'decode');
        else assert.equal(fed.messages.length, 1);
      }),
      RUNS,
    );
  });

  test('valid frames interleaved with garbage: every frame before the garbage is delivered intact, nothing after a failure', () => {
    fc.assert(
      fc.property(
        fc.array(clientMessage, { maxLength: 6 }),
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
        fc.boolean(),
        fc.array(clientMessage, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat({ max: 2000 }), { maxLength: 16 }),
        (before, garbage, framed, afterMsgs, cuts) => {
          const head = before.map((m) => ClientMessageType.encodeDelimited(m));
          const bad = framed ? concat([varint(garbage.length), garbage]) : garbage;
          const tail = afterMsgs.map((m) => ClientMessageType.encodeDelimited(m));
          const fed = feed(ClientMessageType, split(concat([...head, bad, ...tail]), cuts), 256);
          const want = before.map((m) => canon(ClientMessageType, m));
          const got = fed.messages.map((m) => canon(ClientMessageType, m));
          assert.deepEqual(got.slice(0, want.length), want, 'frames before the garbage are delivered in order');
          if (fed.error !== undefined) {
            // after a failure nothing more is delivered: at most the garbage itself decoded as one
            // message and some following frames before the (possibly misaligned) stream failed
            assert.ok(got.length <= want.length + 1 + afterMsgs.length);
          }
          assert.ok(fed.maxBuffered <= 256 + MAX_PREFIX);
        },
      ),
      RUNS,
    );
  });

  test('a frame trickled in 1-byte chunks decodes (linear copying, not one concatenation per byte)', () => {
    const msg: ClientMessage = { msgId: 7, seqId: 8, business: { action: 'zone', payload: new Uint8Array(64 * 1024).fill(3), headers: { a: 'b' } } };
    const frame = ClientMessageType.encodeDelimited(msg);
    const chunks = Array.from(frame, (b) => new Uint8Array([b]));
    const fed = feed(ClientMessageType, chunks, DEFAULT_MAX_FRAME_BYTES);
    assert.equal(fed.error, undefined);
    assert.equal(fed.messages.length, 1);
    assert.equal(canon(ClientMessageType, fed.messages[0]!), canon(ClientMessageType, msg));
  });
});

describe('garbage at the gateway', () => {
  const flags: GatewayFlags = {
    host: '127.0.0.1', port: 0, transport: 'quic', mode: 'async', 'upstream-latency': '1ms', 'upstream-distribution': 'fixed',
    'before-notifies': 1, 'after-notifies': 1, 'task-timeout': '30s', 'max-frame-bytes': 4096,
  };

  test('each bad frame closes only its own connection, counted by reason; a load run on the same gateway sees 0 violations', { timeout: 90_000 }, async () => {
    const gw = await startInProcessGateway(resolveGatewayConfig(flags, {}) as never);
    const dialer = await getTransport('quic').createDialer({ ca: gw.certPem, connectTimeoutMs: 10_000 });
    try {
      const garbage: Record<'oversize' | 'decode' | 'varint', Uint8Array> = {
        oversize: concat([varint(1_000_000), new Uint8Array(10)]),
        // field 99 with wire type 7 (key 799 = 0x9f 0x06): protobuf refuses it
        decode: new Uint8Array([2, 0x9f, 0x06]),
        varint: new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
      };
      const load = runLoad(loadOptions('fuzz', { clients: 5, duration: '2s', 'rate-per-client': '10', 'payload-bytes': 16 }), gw);
      // While the load runs: one bad client per reason, each first sending a valid Hello.
      await new Promise((r) => setTimeout(r, 500));
      const bad = await Promise.all(
        Object.entries(garbage).map(async ([reason, bytes]) => {
          const conn: Connection = await dialer.dial('127.0.0.1', gw.port);
          let closes = 0;
          const closed = new Promise<void>((resolve) => conn.setHandlers({ data: () => {}, close: () => { closes++; resolve(); } }));
          await conn.write(ClientMessageType.encodeDelimited({ msgId: 1, seqId: 1, hello: { userId: `bad-${reason}`, token: 't' } }));
          await conn.write(bytes);
          const outcome = await Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('open'), 10_000))]);
          return { reason, outcome, closes, conn };
        }),
      );
      for (const b of bad) {
        assert.equal(b.outcome, 'closed', `${b.reason}: the gateway closed the connection`);
        assert.equal(b.closes, 1);
      }
      const r = await load;
      assert.equal(r.client.connected, 5);
      assert.equal(r.client.responses, r.client.requests_sent, 'the well-behaved clients got every answer');
      assert.equal(r.client.unanswered, 0);
      assert.deepEqual(r.client.violations, { reorders: 0, gaps: 0, duplicates: 0, notify_order_violations: 0 });
      assert.deepEqual(r.client.transport_errors, {});
      const counters = (await gw.snapshot()).counters;
      assert.deepEqual(counters.frame_errors, { oversize: 1, decode: 1, varint: 1 });
      await Promise.all(bad.map((b) => b.conn.close()));
    } finally {
      await dialer.close();
      await gw.stop();
    }
  });
});
