/**
 * What a WebSocket close means for the client: a pure decision, unit-tested on codes. The 4xxx
 * codes are graphql-ws's `CloseCode` (the router sends exactly those).
 */
import { CloseCode } from "graphql-ws/client";

/** Close codes after which reconnecting cannot help: the client or the router is broken. */
const FATAL = new Set<number>([
  CloseCode.InternalServerError,
  CloseCode.InternalClientError,
  CloseCode.BadRequest,
  CloseCode.BadResponse,
  CloseCode.SubprotocolNotAcceptable,
  CloseCode.SubscriberAlreadyExists,
  CloseCode.TooManyInitialisationRequests,
]);

/** The router is going away (shutdown 1001, restart 1012): its `complete`s are not the end of a stream. */
export function isGoingAway(code: number): boolean {
  return code === 1001 || code === 1012;
}

/** Our own code for a socket we dropped (heartbeat or connect timeout); graphql-ws uses 4499 alike. */
export const TERMINATED = 4499;

export type CloseDecision =
  /** Fail every operation: retrying cannot help. */
  | "fail"
  /** 4401 the first time: reconnect at once, with a fresh token(). */
  | "fresh-token"
  /** 4401 again: the token is refused for good. */
  | "unauthorized"
  /** Never opened: ask whether HTTP answers (then fall back to SSE) before retrying. */
  | "probe-http"
  /** Reconnect with backoff (1001, 1006, 1013, 4403 token expired, 4408, 4499, …). */
  | "retry";

export interface CloseContext {
  /** The last 4401 was already answered with a fresh token. */
  readonly authRetried: boolean;
  /** This socket, or any socket before it, reached `open`. */
  readonly everOpened: boolean;
  readonly sseFallback: boolean;
}

export function decideOnClose(code: number, ctx: CloseContext): CloseDecision {
  if (FATAL.has(code)) return "fail";
  if (code === CloseCode.Unauthorized) return ctx.authRetried ? "unauthorized" : "fresh-token";
  if (!ctx.everOpened && ctx.sseFallback) return "probe-http";
  return "retry";
}
