/**
 * The legacy `graphql-ws` wire protocol of subscriptions-transport-ws (Apollo's original
 * WebSocket transport; the subprotocol token is confusingly "graphql-ws"). Same shape as the
 * graphql-transport-ws module: types, strict parse of client frames, string serializers, no I/O.
 */
import {
  checkId,
  checkOperationPayload,
  fail,
  type FormattedErrorLike,
  isOptionalRecord,
  type OperationPayload,
  type ParseResult,
  operationFrame,
  operationFramePrefix,
  parseEnvelope,
  quoteClient,
  serializeErrors,
} from "./common.js";

export type { FormattedErrorLike, OperationPayload, ParseResult } from "./common.js";

/** The `Sec-WebSocket-Protocol` token of this protocol. */
export const GRAPHQL_WS_LEGACY_PROTOCOL = "graphql-ws";

/** Client → server: opens the session, payload = connection params. */
export const GQL_CONNECTION_INIT = "connection_init";
/** Server → client: the session is accepted. */
export const GQL_CONNECTION_ACK = "connection_ack";
/** Server → client: the session is refused (the server closes right after). */
export const GQL_CONNECTION_ERROR = "connection_error";
/** Server → client: keep-alive. */
export const GQL_CONNECTION_KEEP_ALIVE = "ka";
/** Client → server: the client is leaving; the server closes the socket. */
export const GQL_CONNECTION_TERMINATE = "connection_terminate";
/** Client → server: starts an operation. */
export const GQL_START = "start";
/** Server → client: one result of an operation. */
export const GQL_DATA = "data";
/** Server → client: the operation failed before producing results. */
export const GQL_ERROR = "error";
/** Server → client: the operation has no more results. */
export const GQL_COMPLETE = "complete";
/** Client → server: stops an operation. */
export const GQL_STOP = "stop";

/** `connection_init`, with optional connection params. */
export interface LegacyConnectionInitMessage {
  readonly type: typeof GQL_CONNECTION_INIT;
  readonly payload?: Readonly<Record<string, unknown>> | null;
}

/** `start`: an operation under a client-chosen id. */
export interface LegacyStartMessage {
  readonly id: string;
  readonly type: typeof GQL_START;
  readonly payload: OperationPayload;
}

/** `stop`: the client no longer wants operation `id`. */
export interface LegacyStopMessage {
  readonly id: string;
  readonly type: typeof GQL_STOP;
}

/** `connection_terminate`: the client is closing the session. */
export interface LegacyConnectionTerminateMessage {
  readonly type: typeof GQL_CONNECTION_TERMINATE;
}

/** Every message a legacy client may legitimately send. */
export type LegacyClientMessage =
  | LegacyConnectionInitMessage
  | LegacyStartMessage
  | LegacyStopMessage
  | LegacyConnectionTerminateMessage;

/**
 * Parses and validates one legacy client frame. subscriptions-transport-ws itself validated
 * little; we hold `start` to the same rules as graphql-transport-ws `subscribe` so both protocols
 * feed the executor identical, well-formed operations. Server-only types are rejected.
 */
export function parseLegacyClientMessage(
  data: string | ArrayBuffer | Uint8Array,
): ParseResult<LegacyClientMessage> {
  const envelope = parseEnvelope(data);
  if (!envelope.ok) return envelope;
  const { value, type } = envelope;
  switch (type) {
    case GQL_CONNECTION_INIT: {
      const payload = value.payload;
      if (!isOptionalRecord(payload)) return fail(`"${type}" 'payload' must be an object or null`);
      return { ok: true, message: payload === undefined ? { type } : { type, payload } };
    }
    case GQL_START: {
      const id = checkId(value, type);
      if ("reason" in id) return fail(id.reason);
      const checked = checkOperationPayload(value.payload, type);
      if ("reason" in checked) return fail(checked.reason);
      return { ok: true, message: { id: id.id, type, payload: checked.payload } };
    }
    case GQL_STOP: {
      const id = checkId(value, type);
      if ("reason" in id) return fail(id.reason);
      return { ok: true, message: { id: id.id, type } };
    }
    case GQL_CONNECTION_TERMINATE:
      return { ok: true, message: { type } };
    default:
      return fail(`Unexpected message type ${quoteClient(type)}`);
  }
}

const CONNECTION_ACK = '{"type":"connection_ack"}';
const KEEP_ALIVE = '{"type":"ka"}';

/** `connection_ack` (the legacy protocol never carries an ack payload). */
export function connectionAck(): string {
  return CONNECTION_ACK;
}

/** `connection_error`; clients show `payload.message`, so pass at least `{message}`. */
export function connectionError(payload: Readonly<Record<string, unknown>>): string {
  return `{"type":"connection_error","payload":${JSON.stringify(payload)}}`;
}

/** `ka`: the constant keep-alive frame. */
export function keepAlive(): string {
  return KEEP_ALIVE;
}

/** The part of a `data` frame before the payload; cache it per operation (see {@link data}). */
export function dataFramePrefix(id: string): string {
  return operationFramePrefix(id, "data");
}

/** What follows the payload in a `data` frame. */
export const DATA_FRAME_SUFFIX = "}";

/** `data` with an ExecutionResult that is already JSON, spliced in without re-serializing. */
export function data(id: string, payloadJson: string): string {
  return dataFramePrefix(id) + payloadJson + DATA_FRAME_SUFFIX;
}

/**
 * `error` for operation `id`. The payload is the error array: Apollo's SubscriptionClient
 * accepts an array, an `{errors}` object or a single `{message}`, and the array loses nothing.
 */
export function error(id: string, errors: readonly FormattedErrorLike[]): string {
  return operationFrame(id, "error", serializeErrors(errors));
}

/** `complete`: operation `id` has no more results. */
export function complete(id: string): string {
  return operationFrame(id, "complete");
}
