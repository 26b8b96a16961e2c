/**
 * Helpers shared by the WebSocket protocol modules. Everything here is pure and uses only web
 * platform globals (TextDecoder), so the client SDK can import the protocol modules without
 * pulling in Node built-ins.
 */

/** Outcome of parsing one client frame: a validated message, or a reason fit for a close frame. */
export type ParseResult<M> =
  | { readonly ok: true; readonly message: M }
  | { readonly ok: false; readonly reason: string };

/** A GraphQL error as sent on the wire: at least a message, anything else passes through. */
export interface FormattedErrorLike {
  readonly message: string;
  readonly [key: string]: unknown;
}

/** Parse failure reasons are capped below the 123-byte close-reason limit, leaving headroom. */
export const MAX_PARSE_REASON_BYTES = 100;

/** RFC 6455 §5.5: a control frame body is at most 125 bytes, two of which hold the close code. */
export const MAX_CLOSE_REASON_BYTES = 123;

// `fatal` turns invalid UTF-8 into an exception we can report, instead of silently producing
// U+FFFD and accepting a frame the client did not mean to send. One shared instance is safe
// because decode() without {stream: true} keeps no state between calls.
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes a text or binary frame as UTF-8; `null` when the bytes are not valid UTF-8. */
export function decodeFrame(data: string | ArrayBuffer | Uint8Array): string | null {
  if (typeof data === "string") return data;
  try {
    return utf8.decode(data);
  } catch {
    return null;
  }
}

/**
 * Cuts `text` to at most `maxBytes` bytes of UTF-8 without splitting a character (a surrogate
 * pair counts as one 4-byte character; a lone surrogate as the 3 bytes of U+FFFD it encodes to).
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  // Every UTF-16 unit encodes to at most 3 bytes, so short strings need no counting at all.
  if (text.length * 3 <= maxBytes) return text;
  let bytes = 0;
  let i = 0;
  while (i < text.length) {
    const cp = text.codePointAt(i)!;
    const size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + size > maxBytes) return text.slice(0, i);
    bytes += size;
    i += cp >= 0x10000 ? 2 : 1;
  }
  return text;
}

/** `typeof`, but telling null and arrays apart from objects, for error messages. */
export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** A JSON object: not null, not an array. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Undefined, null, or a JSON object: the shape of every optional object field in both protocols. */
export function isOptionalRecord(value: unknown): value is Record<string, unknown> | null | undefined {
  return value == null || isRecord(value);
}

/** Builds a failure whose reason is guaranteed to fit a close frame. */
export function fail(reason: string): { readonly ok: false; readonly reason: string } {
  return { ok: false, reason: truncateUtf8(reason, MAX_PARSE_REASON_BYTES) };
}

/**
 * Quotes a client-supplied string for a reason text, clipped so an attacker-sized value cannot
 * crowd out the explanation (the final reason is truncated again anyway).
 */
export function quoteClient(value: string): string {
  return JSON.stringify(value.length > 32 ? `${value.slice(0, 32)}…` : value);
}

/**
 * Decodes and JSON-parses a frame into an object with a string `type`, the common first step of
 * both protocols. Returns the record or a failure.
 */
export function parseEnvelope(
  data: string | ArrayBuffer | Uint8Array,
):
  | { readonly ok: true; readonly value: Record<string, unknown>; readonly type: string }
  | ReturnType<typeof fail> {
  const text = decodeFrame(data);
  if (text === null) return fail("Message is not valid UTF-8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail("Message is not valid JSON");
  }
  if (!isRecord(value)) return fail(`Message must be a JSON object, got ${describeType(value)}`);
  const type = value.type;
  if (type === undefined) return fail("Message is missing 'type'");
  if (typeof type !== "string") return fail(`Message 'type' must be a string, got ${describeType(type)}`);
  return { ok: true, value, type };
}

/**
 * Longest operation id accepted, in UTF-16 units. graphql-ws clients send UUIDs (36), Apollo's
 * legacy client small integers; the id is echoed in every frame of the operation and kept as a
 * map key, so a client-sized id would cost per event and per connection.
 */
export const MAX_ID_LENGTH = 128;

/** Validates a non-empty string `id` of at most {@link MAX_ID_LENGTH}; returns it, or the failure reason. */
export function checkId(value: Record<string, unknown>, type: string): { id: string } | { reason: string } {
  const id = value.id;
  if (typeof id !== "string") return { reason: `"${type}" needs a string 'id', got ${describeType(id)}` };
  if (id.length === 0) return { reason: `"${type}" needs a non-empty 'id'` };
  if (id.length > MAX_ID_LENGTH)
    return { reason: `"${type}" 'id' is longer than ${MAX_ID_LENGTH} characters` };
  return { id };
}

/** The operation payload shared by graphql-transport-ws `subscribe` and legacy `start`. */
export interface OperationPayload {
  readonly query: string;
  readonly operationName?: string | null;
  readonly variables?: Readonly<Record<string, unknown>> | null;
  readonly extensions?: Readonly<Record<string, unknown>> | null;
}

/** Validates an operation payload strictly; returns a fresh object with only the known fields. */
export function checkOperationPayload(
  payload: unknown,
  type: string,
): { payload: OperationPayload } | { reason: string } {
  if (!isRecord(payload))
    return { reason: `"${type}" needs an object 'payload', got ${describeType(payload)}` };
  const { query, operationName, variables, extensions } = payload;
  if (typeof query !== "string")
    return { reason: `"${type}" 'query' must be a string, got ${describeType(query)}` };
  if (operationName != null && typeof operationName !== "string") {
    return {
      reason: `"${type}" 'operationName' must be a string or null, got ${describeType(operationName)}`,
    };
  }
  if (!isOptionalRecord(variables)) {
    return { reason: `"${type}" 'variables' must be an object or null, got ${describeType(variables)}` };
  }
  if (!isOptionalRecord(extensions)) {
    return { reason: `"${type}" 'extensions' must be an object or null, got ${describeType(extensions)}` };
  }
  // A fresh object drops unknown fields, so nothing else the client sent reaches the executor;
  // absent fields stay absent rather than becoming explicit undefined.
  const copy: { -readonly [K in keyof OperationPayload]: OperationPayload[K] } = { query };
  if (operationName !== undefined) copy.operationName = operationName;
  if (variables !== undefined) copy.variables = variables;
  if (extensions !== undefined) copy.extensions = extensions;
  return { payload: copy };
}

/**
 * Serializes an error list for an `error` frame. An empty list would make graphql-ws clients
 * reject the frame and drop the whole socket (4004), so it is replaced by one generic error.
 */
export function serializeErrors(errors: readonly FormattedErrorLike[]): string {
  return JSON.stringify(errors.length > 0 ? errors : [{ message: "Unknown error" }]);
}

/**
 * The part of an operation frame (`{"id":…,"type":…,"payload":`) before its payload. JSON.stringify
 * escapes quotes, control characters and lone surrogates in the client-chosen id.
 */
export function operationFramePrefix(id: string, type: string): string {
  return `{"id":${JSON.stringify(id)},"type":"${type}","payload":`;
}

/** A whole operation frame; without a payload when `payloadJson` is undefined. */
export function operationFrame(id: string, type: string, payloadJson?: string): string {
  return payloadJson === undefined
    ? `{"id":${JSON.stringify(id)},"type":"${type}"}`
    : `${operationFramePrefix(id, type)}${payloadJson}}`;
}
