/**
 * The client's typed errors. The client is its own bundle (no server module in its graph), so it
 * keeps its own registry beside the router's `src/errors.ts`; docs/errors.md documents both and a
 * unit test keeps each registry and the doc in step.
 */
export const ClientErrorCode = {
  /** The router could not be reached (or retries ran out). */
  CONNECTION_FAILED: "SG_CLIENT_CONNECTION_FAILED",
  /** The router refused or ended an operation with GraphQL errors. */
  SUBSCRIPTION_FAILED: "SG_CLIENT_SUBSCRIPTION_FAILED",
  /** The token was refused (4401 / HTTP 401) even after asking `token()` for a fresh one. */
  AUTHENTICATION_FAILED: "SG_CLIENT_AUTHENTICATION_FAILED",
  /** The router rate-limited the operation; `retryAfter` (seconds) says when to try again. */
  RATE_LIMITED: "SG_CLIENT_RATE_LIMITED",
  /** A hard limit of the router (operations per connection, operation size); not retryable. */
  LIMIT_EXCEEDED: "SG_CLIENT_LIMIT_EXCEEDED",
  /** The router refused the resume cursor (forged, altered, or signed with another secret). */
  CURSOR_INVALID: "SG_CLIENT_CURSOR_INVALID",
  /** A query or mutation could not wait for a connection: the queue is full or the wait timed out. */
  QUEUE_TIMEOUT: "SG_CLIENT_QUEUE_TIMEOUT",
  /** A mutation was sent but the connection dropped before its result: it may or may not have run. */
  OUTCOME_UNKNOWN: "SG_CLIENT_OUTCOME_UNKNOWN",
  /** The router sent something that is not the protocol (bad JSON, unknown message). */
  BAD_RESPONSE: "SG_CLIENT_BAD_RESPONSE",
  /** The options or the request given to the client are not usable. */
  BAD_REQUEST: "SG_CLIENT_BAD_REQUEST",
  /** The client was disposed while the operation waited. */
  DISPOSED: "SG_CLIENT_DISPOSED",
} as const;

/** One of the {@link ClientErrorCode} values. */
export type ClientErrorCodeValue = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** A GraphQL error as the router sends it. */
export interface GraphQLErrorLike {
  readonly message: string;
  readonly path?: readonly (string | number)[];
  readonly extensions?: { readonly code?: unknown; readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}

/** Everything the client reports through `error` sinks, rejections and iterator throws. */
export class StreamgateClientError extends Error {
  readonly code: ClientErrorCodeValue;
  /** The router's GraphQL errors, when it sent any. */
  readonly errors: readonly GraphQLErrorLike[];
  /** Seconds to wait before retrying ({@link ClientErrorCode.RATE_LIMITED}). */
  readonly retryAfter: number | undefined;
  /** The WebSocket close code or HTTP status behind the error, when there was one. */
  readonly status: number | undefined;

  constructor(
    code: ClientErrorCodeValue,
    message: string,
    details: {
      errors?: readonly GraphQLErrorLike[];
      retryAfter?: number;
      status?: number;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "StreamgateClientError";
    this.code = code;
    this.errors = details.errors ?? [];
    this.retryAfter = details.retryAfter;
    this.status = details.status;
  }
}

/** The router's code without the optional `SG_ERR_` prefix the contract allows on every code. */
export function serverCode(errors: readonly GraphQLErrorLike[] | undefined): string | undefined {
  const code = errors?.[0]?.extensions?.code;
  return typeof code === "string" ? code.replace(/^SG_ERR_/, "") : undefined;
}

/** `retryAfter` of a rate-limit error, in seconds (undefined when absent or not a number ≥ 0). */
export function retryAfterOf(errors: readonly GraphQLErrorLike[] | undefined): number | undefined {
  const value = errors?.[0]?.extensions?.retryAfter;
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** The typed error for an operation the router ended with GraphQL `errors`. */
export function operationError(errors: readonly GraphQLErrorLike[], status?: number): StreamgateClientError {
  const code = serverCode(errors);
  const message = errors.map((e) => e.message).join("; ") || "operation failed";
  const details = { errors, ...(status === undefined ? {} : { status }) };
  switch (code) {
    case "RATE_LIMITED": {
      const retryAfter = retryAfterOf(errors);
      return new StreamgateClientError(ClientErrorCode.RATE_LIMITED, message, {
        ...details,
        ...(retryAfter === undefined ? {} : { retryAfter }),
      });
    }
    case "LIMIT_EXCEEDED":
      return new StreamgateClientError(ClientErrorCode.LIMIT_EXCEEDED, message, details);
    case "CURSOR_INVALID":
      return new StreamgateClientError(ClientErrorCode.CURSOR_INVALID, message, details);
    case "TOKEN_EXPIRED":
    case "UNAUTHORIZED":
    case "UNAUTHENTICATED":
      return new StreamgateClientError(ClientErrorCode.AUTHENTICATION_FAILED, message, details);
    default:
      return new StreamgateClientError(ClientErrorCode.SUBSCRIPTION_FAILED, message, details);
  }
}

/** Normalises anything a router or runtime threw into a client error of `code`. */
export function asClientError(
  err: unknown,
  code: ClientErrorCodeValue,
  message: string,
): StreamgateClientError {
  if (err instanceof StreamgateClientError) return err;
  const detail = err instanceof Error ? `: ${err.message}` : "";
  return new StreamgateClientError(code, `${message}${detail}`, { cause: err });
}
