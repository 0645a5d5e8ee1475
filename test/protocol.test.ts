import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientMessageType, FrameDecoder, ServerPushType, NotifyPlacement, type ClientMessage, type ServerPush } from '../src/protocol/index.js';
import { FrameError } from '../src/errors.js';

test('codec: round trip, in one chunk and split byte by byte', () => {
  const msgs: ClientMessage[] = [
    { msgId: 1, seqId: 0, hello: { userId: 'u1', token: 't', clientVersion: 'x' } },
    { msgId: 2, seqId: 1, business: { action: 'zone', payload: new Uint8Array([1, 2, 3]), headers: { a: 'b' } } },
    { msgId: 3, ack: { ackedServerSeq: 2 ** 40 } },
  ];
  const bytes = Buffer.concat(msgs.map((m) => ClientMessageType.encodeDelimited(m)));
  for (const split of [bytes.length, 1, 3]) {
    const got: ClientMessage[] = [];
    const d = new FrameDecoder(ClientMessageType, (m) => got.push(m));
    for (let i = 0; i < bytes.length; i += split) d.push(bytes.subarray(i, i + split));
    assert.equal(got.length, 3);
    assert.equal(got[0]!.body, 'hello');
    assert.equal(got[0]!.hello!.userId, 'u1');
    assert.equal(got[1]!.business!.action, 'zone');
    assert.deepEqual([...got[1]!.business!.payload!], [1, 2, 3]);
    assert.equal(got[2]!.ack!.ackedServerSeq, 2 ** 40, 'uint64 decodes to a JS number');
    assert.equal(d.bufferedBytes, 0);
  }
  const push: ServerPush = { serverSeq: 7, notify: { grid: 3, placement: NotifyPlacement.AFTER_RESPONSE, topic: 't' } };
  const back: ServerPush[] = [];
  new FrameDecoder(ServerPushType, (p) => back.push(p)).push(ServerPushType.encodeDelimited(push));
  assert.equal(back[0]!.serverSeq, 7);
  assert.equal(back[0]!.notify!.placement, NotifyPlacement.AFTER_RESPONSE);
});

test('codec: oversized frame is rejected before it is buffered', () => {
  const d = new FrameDecoder(ClientMessageType, () => undefined, 100);
  const prefix = Buffer.from([0xe9, 0x07]); // varint 1001
  assert.throws(() => d.push(prefix), (e: unknown) => e instanceof FrameError && e.reason === 'oversize' && /1001 bytes exceeds the maximum of 100/.test(e.message));
  assert.throws(() => d.push(Buffer.from([0])), FrameError, 'a failed decoder stays failed');
});

test('codec: undecodable body and malformed varint are typed errors', () => {
  const d = new FrameDecoder(ClientMessageType, () => undefined);
  assert.throws(() => d.push(Buffer.from([3, 0xff, 0xff, 0xff])), (e: unknown) => e instanceof FrameError && e.reason === 'decode');
  const v = new FrameDecoder(ClientMessageType, () => undefined);
  assert.throws(() => v.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])), (e: unknown) => e instanceof FrameError && e.reason === 'varint');
});
