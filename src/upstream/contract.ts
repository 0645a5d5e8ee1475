/**
 * README-contract — the upstream HTTP contract (issue 3 "Upstream over HTTP"; seed 004 §2.1
 * callUpstreamService, §3.1 routing, §3.4 timeout, §5.2 errors). HttpUpstream (http-client.ts) is
 * its client, startMockUpstreamServer (http-server.ts) its reference server.
 *
 * Request
 *   POST {base}/upstream/{serviceType}      serviceType = determineUpstreamService(action):
 *                                           hello (actions hello, login), zone (zone*), business (else)
 *   content-type: application/x-protobuf    body = gatesvr.v1.UpstreamRequest (proto/gateway.proto)
 *            or   application/json          body = the same message as JSON (below)
 *   accept: application/x-protobuf | application/json   (optional; the answer's preferred format)
 *
 *   Login (Hello, seed 004 §3.1) is POST {base}/upstream/hello with an UpstreamRequest whose
 *   action is `hello`, `userId` the user and `headers.token` the token.
 *
 * Response
 *   2xx, body = gatesvr.v1.UpstreamResponse: protobuf (content-type application/x-protobuf,
 *   application/protobuf, application/octet-stream, or none) or JSON (content-type
 *   application/json). For a login, UpstreamResponse.code 200 = accepted, any other code = rejected
 *   (passed through to the client's HelloResponse). For a business/zone call `code`, `message`,
 *   `data`, `headers` and `notifies` (placement BEFORE_RESPONSE / AFTER_RESPONSE, grid = the request's
 *   seq_id, seed 004 §4.1) are passed through as sent.
 *   Non-2xx = the call failed (the gateway answers 500); the body should be a JSON error
 *   `{"code": <status>, "message": "...", "detail": "..."}` whose text ends up in the error detail.
 *   A response body that does not parse is a failure as well.
 *
 * JSON form
 *   Field names camelCase, as protobufjs `toObject`/`fromObject` (`sessionId`, `userId`, `seqId`);
 *   bytes as base64 strings; uint64 as numbers (strings accepted); enums by name
 *   (`"BEFORE_RESPONSE"`; numbers accepted); absent fields take proto3 defaults.
 *
 * Timeout
 *   The client gives up after its per-request timeout (seed 004 §3.4, 30 s default there): it aborts
 *   the request, which closes that connection, and rejects with UpstreamTimeoutError (gateway: 504).
 */
import type protobuf from 'protobufjs';
import { UpstreamRequestType, UpstreamResponseType, type UpstreamRequest, type UpstreamResponse } from '../protocol/index.js';
import { UpstreamError } from './errors.js';
import type { ServiceType } from './routing.js';

/** Media type of a protobuf body. */
export const PROTOBUF_MEDIA_TYPE = 'application/x-protobuf';
/** Media type of a JSON body. */
export const JSON_MEDIA_TYPE = 'application/json';

/** Path prefix of the upstream services: `POST {base}/upstream/{serviceType}`. */
export const UPSTREAM_PATH_PREFIX = '/upstream/';

// The reflected protobufjs types, for fromObject/toObject. `$type` is protobufjs' public reference
// from a message to its Type; taking it from a decoded empty message reuses the root that
// src/protocol loaded (and its uint64-as-number configuration) instead of loading the .proto twice.
const requestReflection = (UpstreamRequestType.decode(new Uint8Array(0)) as unknown as protobuf.Message).$type;
const responseReflection = (UpstreamResponseType.decode(new Uint8Array(0)) as unknown as protobuf.Message).$type;

/** protobufjs conversion options of the JSON form: uint64 as numbers, enums by name, bytes base64. */
const TO_OBJECT: protobuf.IConversionOptions = Object.freeze({ longs: Number, enums: String, bytes: String, json: true });

/** Body format of a content-type header value: `json`, `protobuf`, or null for anything else. */
export function bodyFormat(contentType: string | string[] | undefined): 'json' | 'protobuf' | null {
  if (contentType === undefined || contentType === '') return 'protobuf';
  const value = (Array.isArray(contentType) ? contentType[0]! : contentType).toLowerCase();
  const semi = value.indexOf(';');
  const media = (semi < 0 ? value : value.slice(0, semi)).trim();
  if (media === JSON_MEDIA_TYPE || (media.startsWith('application/') && media.endsWith('+json'))) return 'json';
  if (media === PROTOBUF_MEDIA_TYPE || media === 'application/protobuf' || media === 'application/octet-stream' || media === '') return 'protobuf';
  return null;
}

function parseJson(body: Uint8Array, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    throw new UpstreamError(`${what}: JSON body of ${body.length} bytes does not parse: ${(err as Error).message}`, { cause: err });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UpstreamError(`${what}: JSON body is not an object`);
  }
  return parsed as Record<string, unknown>;
}

function fromJson<T>(type: protobuf.Type, body: Uint8Array, what: string): T {
  const obj = parseJson(body, what);
  try {
    return type.fromObject(obj) as unknown as T;
  } catch (err) {
    throw new UpstreamError(`${what}: JSON body does not match ${type.name}: ${(err as Error).message}`, { cause: err });
  }
}

function fromProtobuf<T>(decode: (b: Uint8Array) => T, body: Uint8Array, what: string): T {
  try {
    return decode(body);
  } catch (err) {
    throw new UpstreamError(`${what}: protobuf body does not parse: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Decodes an UpstreamResponse body in the given format.
 * @param what names the exchange in error messages, e.g. `POST http://…/upstream/business`
 * @throws UpstreamError when the body does not parse (message says why)
 */
export function decodeUpstreamResponse(body: Uint8Array, format: 'json' | 'protobuf', what: string): UpstreamResponse {
  return format === 'json'
    ? fromJson<UpstreamResponse>(responseReflection, body, what)
    : fromProtobuf((b) => UpstreamResponseType.decode(b), body, what);
}

/**
 * Decodes an UpstreamRequest body in the given format.
 * @throws UpstreamError when the body does not parse (message says why)
 */
export function decodeUpstreamRequest(body: Uint8Array, format: 'json' | 'protobuf', what: string): UpstreamRequest {
  return format === 'json'
    ? fromJson<UpstreamRequest>(requestReflection, body, what)
    : fromProtobuf((b) => UpstreamRequestType.decode(b), body, what);
}

/** Encodes an UpstreamRequest as protobuf (no length prefix). */
export function encodeUpstreamRequest(req: UpstreamRequest): Uint8Array {
  return UpstreamRequestType.encode(req);
}

/** Encodes an UpstreamRequest in the JSON form (camelCase, bytes base64, enums by name). */
export function upstreamRequestToJson(req: UpstreamRequest): string {
  return JSON.stringify(requestReflection.toObject(req as protobuf.Message, TO_OBJECT));
}

/** Encodes an UpstreamResponse as protobuf, or in the JSON form when `format` is `json`. */
export function encodeUpstreamResponse(resp: UpstreamResponse, format: 'json' | 'protobuf'): Uint8Array | string {
  return format === 'json'
    ? JSON.stringify(responseReflection.toObject(resp as protobuf.Message, TO_OBJECT))
    : UpstreamResponseType.encode(resp);
}

/** `/upstream/{service}` for each ServiceType, built once. */
export const UPSTREAM_PATHS: Readonly<Record<ServiceType, string>> = Object.freeze({
  hello: `${UPSTREAM_PATH_PREFIX}hello`,
  business: `${UPSTREAM_PATH_PREFIX}business`,
  zone: `${UPSTREAM_PATH_PREFIX}zone`,
});
