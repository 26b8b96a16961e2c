/**
 * One registry of stable error codes. Every error the router raises on purpose carries one of
 * these codes, a public message safe to show a client, and (optionally) an internal cause that
 * only goes to the log. docs/errors.md documents each code; a unit test keeps the two in step and
 * finds any code string written outside this file.
 */
export const ErrorCode = {
  CONFIG_INVALID: "SG_ERR_CONFIG_INVALID",
  CONFIG_READ: "SG_ERR_CONFIG_READ",
  SCHEMA_READ: "SG_ERR_SCHEMA_READ",
  SCHEMA_COMPOSITION: "SG_ERR_SCHEMA_COMPOSITION",
  SCHEMA_EDFS: "SG_ERR_SCHEMA_EDFS",
  PROVIDER_UNKNOWN: "SG_ERR_PROVIDER_UNKNOWN",
  PROVIDER_UNAVAILABLE: "SG_ERR_PROVIDER_UNAVAILABLE",
  PROVIDER_NOT_BUILT: "SG_ERR_PROVIDER_NOT_BUILT",
  PROVIDER_TIMEOUT: "SG_ERR_PROVIDER_TIMEOUT",
  PROVIDER_PERMISSION_DENIED: "SG_ERR_PROVIDER_PERMISSION_DENIED",
  PROVIDER_CREDENTIALS_INVALID: "SG_ERR_PROVIDER_CREDENTIALS_INVALID",
  STREAM_NOT_FOUND: "SG_ERR_STREAM_NOT_FOUND",
  TEMPLATE_INVALID: "SG_ERR_TEMPLATE_INVALID",
  SUBJECT_INVALID: "SG_ERR_SUBJECT_INVALID",
  OPERATION_INVALID: "SG_ERR_OPERATION_INVALID",
  OPERATION_UNSUPPORTED: "SG_ERR_OPERATION_UNSUPPORTED",
  EVENT_INVALID: "SG_ERR_EVENT_INVALID",
  ENTITY_KEY_MISSING: "SG_ERR_ENTITY_KEY_MISSING",
  SUBGRAPH_FAILED: "SG_ERR_SUBGRAPH_FAILED",
  PUBLISH_FAILED: "SG_ERR_PUBLISH_FAILED",
  UWS_NATIVE_MISSING: "SG_ERR_UWS_NATIVE_MISSING",
  LISTEN_FAILED: "SG_ERR_LISTEN_FAILED",
  LIMIT_EXCEEDED: "SG_ERR_LIMIT_EXCEEDED",
  WORKER_FAILED: "SG_ERR_WORKER_FAILED",
  UNAUTHENTICATED: "SG_ERR_UNAUTHENTICATED",
  TOKEN_EXPIRED: "SG_ERR_TOKEN_EXPIRED",
  RATE_LIMITED: "SG_ERR_RATE_LIMITED",
  CURSOR_INVALID: "SG_ERR_CURSOR_INVALID",
  SCHEMA_RELOADED: "SG_ERR_SCHEMA_RELOADED",
  HOOK_MODULE_INVALID: "SG_ERR_HOOK_MODULE_INVALID",
  HOOK_FAILED: "SG_ERR_HOOK_FAILED",
  HOOK_TIMEOUT: "SG_ERR_HOOK_TIMEOUT",
  INTERNAL: "SG_ERR_INTERNAL",
} as const;

/**
 * Codes other GraphQL servers and clients already match on, sent exactly so (no prefix): request
 * and validation errors, and the code a subgraph's own error carries when it has none.
 */
export const WireCode = {
  BAD_REQUEST: "BAD_REQUEST",
  BAD_USER_INPUT: "BAD_USER_INPUT",
  GRAPHQL_PARSE_FAILED: "GRAPHQL_PARSE_FAILED",
  GRAPHQL_VALIDATION_FAILED: "GRAPHQL_VALIDATION_FAILED",
  INTERNAL_SERVER_ERROR: "INTERNAL_SERVER_ERROR",
  SUBGRAPH_ERROR: "SUBGRAPH_ERROR",
  /** A field or type the caller's token does not allow (@authenticated, @requiresScopes). */
  UNAUTHORIZED_FIELD_OR_TYPE: "UNAUTHORIZED_FIELD_OR_TYPE",
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];
export type WireCodeValue = (typeof WireCode)[keyof typeof WireCode];

/** Base class: `message` is public, `cause` is internal. */
export class StreamgateError extends Error {
  readonly code: ErrorCodeValue;
  constructor(code: ErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = "StreamgateError";
  }
}

/** A list of problems found together (config, schema): all of them are reported at once. */
export class StreamgateAggregateError extends StreamgateError {
  readonly problems: readonly string[];
  constructor(code: ErrorCodeValue, summary: string, problems: readonly string[]) {
    super(code, `${summary}\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.problems = problems;
    this.name = "StreamgateAggregateError";
  }
}

/** The text of any thrown value, for logs (never for clients: it may carry internal detail). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * What a client may be told about `err`: a StreamgateError's own public message, or `fallback`
 * for anything else (a broker's or a library's message may name hosts, files or credentials).
 */
export function publicMessage(err: unknown, fallback: string): string {
  return err instanceof StreamgateError ? err.message : fallback;
}

/** The code to put in a client error for `err`. */
export function publicCode(err: unknown, fallback: ErrorCodeValue): ErrorCodeValue {
  return err instanceof StreamgateError ? err.code : fallback;
}

/** A GraphQL error object as sent to clients. */
export interface ClientError {
  readonly [key: string]: unknown;
  readonly message: string;
  readonly extensions: { readonly code: string; readonly [key: string]: unknown };
}

/** One client-facing GraphQL error with a registered code. */
export function clientError(
  code: ErrorCodeValue | WireCodeValue,
  message: string,
  extensions: Readonly<Record<string, unknown>> = {},
): ClientError {
  return { message, extensions: { ...extensions, code } };
}

/** `err` itself when it is an Error; anything else thrown (a string, a broker's plain object) wrapped with `code`. */
export function toError(err: unknown, code: ErrorCodeValue): Error {
  if (err instanceof Error) return err;
  const text =
    err !== null && typeof err === "object" && "message" in err ? String(err.message) : String(err);
  return new StreamgateError(code, text);
}
