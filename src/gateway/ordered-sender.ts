/**
 * OrderedSender (seed 004 §2.1 OMS): gives pushes their server_seq and hands them to the session's
 * OrderedMessageQueue. A group (before-notifies, response, after-notifies of one request) gets
 * consecutive server_seq values reserved at once, so the client sees each request's messages
 * contiguous and in order even when several processor workers serve the same session.
 */
import { ServerPushType, type ServerPush } from '../protocol/index.js';
import type { Session } from './session.js';

/** Encodes and enqueues pushes for a session. */
export class OrderedSender {
  /**
   * Sends `pushes` in order with consecutive server_seq values, as one group: one
   * `enqueueMessages` call, so async send workers can coalesce the group into one write (seed 001
   * 方案2). Rejects with the queue's error (closed, full, write failure in sync mode).
   */
  async sendGroup(session: Session, pushes: ServerPush[]): Promise<void> {
    const first = session.reserveServerSeqs(pushes.length);
    const frames: Uint8Array[] = new Array(pushes.length);
    for (let i = 0; i < pushes.length; i++) {
      const push = pushes[i]!;
      push.serverSeq = first + i;
      frames[i] = ServerPushType.encodeDelimited(push);
    }
    await session.queue.enqueueMessages(first, frames);
  }

  /** Sends one push. */
  send(session: Session, push: ServerPush): Promise<void> {
    return this.sendGroup(session, [push]);
  }

  /** Sends an ErrorResponse (seed 004 sendErrorResponse). */
  sendError(session: Session, msgId: number, code: number, message: string, detail = ''): Promise<void> {
    return this.send(session, { error: { msgId, code, message, detail } });
  }
}
