/**
 * The `graphql-transport-ws` wire protocol (the protocol of the `graphql-ws` library): message
 * types, strict parsing of client frames, and serializers for server frames. Pure: no I/O, no
 * timers, and parsing never throws on client input, so the session core can turn every
 * violation into a close code.
 */
import {
  checkId,
  checkOperationPayload,
  fail,
  type FormattedErrorLike,
  isOptionalRecord,
  MAX_CLOSE_REASON_BYTES,
  type OperationPayload,
  type ParseResult,
  operationFrame,
  operationFramePrefix,
  parseEnvelope,
  quoteClient,
  serializeErrors,
  truncateUtf8,
} from "./common.js";

export type { FormattedErrorLike, OperationPayload, ParseResult } from "./common.js";

/** The `Sec-WebSocket-Protocol` token of this protocol. */
export const GRAPHQL_TRANSPORT_WS_PROTOCOL = "graphql-transport-ws";

/**
 * Close codes. The 4xxx values match graphql-ws's `CloseCode` enum exactly (clients branch on
 * them, e.g. to stop retrying on 4401); 1001 and 1013 are the standard RFC 6455 codes for
 * "going away" (shutdown) and "try again later" (we drop a consumer that cannot keep up).
 */
export const CloseCode = {
  InternalServerError: 4500,
  InternalClientError: 4005,
  BadRequest: 4400,
  BadResponse: 4004,
  Unauthorized: 4401,
  Forbidden: 4403,
  SubprotocolNotAcceptable: 4406,
  ConnectionInitialisationTimeout: 4408,
  ConnectionAcknowledgementTimeout: 4504,
  SubscriberAlreadyExists: 4409,
  TooManyInitialisationRequests: 4429,
  GoingAway: 1001,
  SlowConsumer: 1013,
} as const;

/** One of the {@link CloseCode} values. */
export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/** Message `type` strings, both directions. */
export const MessageType = {
  ConnectionInit: "connection_init",
  ConnectionAck: "connection_ack",
  Ping: "ping",
  Pong: "pong",
  Subscribe: "subscribe",
  Next: "next",
  Error: "error",
  Complete: "complete",
} as const;

/** Client → server: opens the session; `payload` carries connection params (e.g. Authorization). */
export interface ConnectionInitMessage {
  readonly type: "connection_init";
  readonly payload?: Readonly<Record<string, unknown>> | null;
}

/** Either direction: keep-alive probe. */
export interface PingMessage {
  readonly type: "ping";
  readonly payload?: Readonly<Record<string, unknown>> | null;
}

/** Either direction: answer to a ping (or unsolicited, as a one-way heartbeat). */
export interface PongMessage {
  readonly type: "pong";
  readonly payload?: Readonly<Record<string, unknown>> | null;
}

/** Client → server: starts an operation under a client-chosen id. */
export interface SubscribeMessage {
  readonly id: string;
  readonly type: "subscribe";
  readonly payload: OperationPayload;
}

/** Either direction: the operation `id` is over. */
export interface CompleteMessage {
  readonly id: string;
  readonly type: "complete";
}

/** Every message a client may legitimately send. */
export type ClientMessage =
  | ConnectionInitMessage
  | PingMessage
  | PongMessage
  | SubscribeMessage
  | CompleteMessage;

/**
 * Parses and validates one client frame, as strictly as graphql-ws's `validateMessage`. Frames
 * only a server may send (`connection_ack`, `next`, `error`) are rejected like unknown types,
 * since graphql-ws servers close with 4400 on them too. The returned message is a fresh object
 * holding only the known fields.
 */
export function parseClientMessage(data: string | ArrayBuffer | Uint8Array): ParseResult<ClientMessage> {
  const envelope = parseEnvelope(data);
  if (!envelope.ok) return envelope;
  const { value, type } = envelope;
  switch (type) {
    case "connection_init":
    case "ping":
    case "pong": {
      const payload = value.payload;
      if (!isOptionalRecord(payload)) return fail(`"${type}" 'payload' must be an object or null`);
      const message = payload === undefined ? { type } : { type, payload };
      return { ok: true, message };
    }
    case "subscribe": {
      const id = checkId(value, type);
      if ("reason" in id) return fail(id.reason);
      const checked = checkOperationPayload(value.payload, type);
      if ("reason" in checked) return fail(checked.reason);
      return { ok: true, message: { id: id.id, type, payload: checked.payload } };
    }
    case "complete": {
      const id = checkId(value, type);
      if ("reason" in id) return fail(id.reason);
      return { ok: true, message: { id: id.id, type } };
    }
    default:
      return fail(`Unexpected message type ${quoteClient(type)}`);
  }
}

// Payload-less frames are constants: no allocation on every keep-alive.
const CONNECTION_ACK = '{"type":"connection_ack"}';
const PING = '{"type":"ping"}';
const PONG = '{"type":"pong"}';

/** `connection_ack`; a nullish payload is omitted from the frame. */
export function connectionAck(payload?: Readonly<Record<string, unknown>> | null): string {
  return payload == null ? CONNECTION_ACK : `{"type":"connection_ack","payload":${JSON.stringify(payload)}}`;
}

/** `ping`; a nullish payload is omitted from the frame. */
export function ping(payload?: Readonly<Record<string, unknown>> | null): string {
  return payload == null ? PING : `{"type":"ping","payload":${JSON.stringify(payload)}}`;
}

/** `pong`; a nullish payload is omitted from the frame. */
export function pong(payload?: Readonly<Record<string, unknown>> | null): string {
  return payload == null ? PONG : `{"type":"pong","payload":${JSON.stringify(payload)}}`;
}

/**
 * The part of a `next` frame before the payload. Callers cache it per subscription, so each
 * event costs two string concatenations and no JSON work.
 */
export function nextFramePrefix(id: string): string {
  return operationFramePrefix(id, "next");
}

/** What follows the payload in a `next` frame. */
export const NEXT_FRAME_SUFFIX = "}";

/**
 * `next` with an ExecutionResult that is already JSON: the hot path serializes a result once and
 * splices the same text into every subscriber's frame. `payloadJson` must be one JSON object.
 */
export function next(id: string, payloadJson: string): string {
  return nextFramePrefix(id) + payloadJson + NEXT_FRAME_SUFFIX;
}

/** `error` for an operation that failed before producing results (an empty list gets a generic error). */
export function errorMessage(id: string, errors: readonly FormattedErrorLike[]): string {
  return operationFrame(id, "error", serializeErrors(errors));
}

/** `complete` from the server: the operation `id` has no more results. */
export function complete(id: string): string {
  return operationFrame(id, "complete");
}

/** Cuts a close reason to the 123 bytes of UTF-8 a close frame allows, never splitting a character. */
export function closeReason(text: string): string {
  return truncateUtf8(text, MAX_CLOSE_REASON_BYTES);
}
