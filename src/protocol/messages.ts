/**
 * TypeScript shapes of the messages in `proto/gateway.proto` (package `gatesvr.v1`, DESIGN §3), as
 * protobufjs presents them: camelCase fields, uint64 as JS numbers (exact up to 2^53 - 1), bytes as
 * Uint8Array. The `body` oneof names the field that is set.
 */

/** Hello: the login request, handled synchronously by the gateway (seed 004 §3.1). */
export interface Hello { userId?: string; token?: string; clientVersion?: string }
/** A business or zone request (seed 004 §2.1). */
export interface BusinessRequest { action?: string; payload?: Uint8Array; headers?: Record<string, string> }
/** Cumulative acknowledgement of server pushes up to `ackedServerSeq`. */
export interface ClientAck { ackedServerSeq?: number }
/** Keep-alive; `clientTimeMs` is the client's wall clock in ms. */
export interface Heartbeat { clientTimeMs?: number }

/** Client -> server message. `seqId` strictly increases per session. */
export interface ClientMessage {
  msgId?: number;
  seqId?: number;
  hello?: Hello | null;
  business?: BusinessRequest | null;
  ack?: ClientAck | null;
  heartbeat?: Heartbeat | null;
  body?: 'hello' | 'business' | 'ack' | 'heartbeat';
}

/** Reply to Hello; `code` 200 on success. */
export interface HelloResponse { msgId?: number; code?: number; sessionId?: string; message?: string }
/** Reply to a business request, carrying the upstream's code and data. */
export interface BusinessResponse {
  msgId?: number; code?: number; message?: string; data?: Uint8Array; headers?: Record<string, string>;
}
/** Error reply: 400 bad request, 401 no session, 429 quota, 500 upstream error, 503 busy, 504 upstream timeout. */
export interface ErrorResponse { msgId?: number; code?: number; message?: string; detail?: string }

/** Where a notify sits relative to the response of request `grid` (seed 004 §4.1). */
export enum NotifyPlacement { UNBOUND = 0, BEFORE_RESPONSE = 1, AFTER_RESPONSE = 2 }

/** A server-initiated message bound to request `grid` (its seq_id), or unbound (grid 0). */
export interface Notify { grid?: number; placement?: NotifyPlacement; topic?: string; payload?: Uint8Array }

/** Server -> client message; `serverSeq` is 1, 2, 3, … contiguous per session. */
export interface ServerPush {
  serverSeq?: number;
  hello?: HelloResponse | null;
  business?: BusinessResponse | null;
  notify?: Notify | null;
  error?: ErrorResponse | null;
  body?: 'hello' | 'business' | 'notify' | 'error';
}

/** Gateway -> upstream call (seed 004 §3.4). */
export interface UpstreamRequest {
  sessionId?: string; userId?: string; action?: string; seqId?: number; payload?: Uint8Array;
  headers?: Record<string, string>;
}
/** Upstream reply, with the notifies to send before and after the response. */
export interface UpstreamResponse {
  code?: number; message?: string; data?: Uint8Array; headers?: Record<string, string>; notifies?: Notify[];
}
