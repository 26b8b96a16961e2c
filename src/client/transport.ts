/**
 * What a transport (WebSocket or SSE) needs from the client, and what the client asks of it. The
 * client owns the operations; a transport carries them over its connections and may lose those
 * connections as often as it likes without losing an operation.
 */
import type { BackoffOptions } from "./backoff.js";
import type { Emitter } from "./emitter.js";
import type { Counters, Operation } from "./operation.js";
import type { FetchLike, TransportKind } from "./types.js";

/** Options with their defaults applied. */
export interface Settings {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly webSocketImpl: unknown;
  readonly fetchImpl: FetchLike;
  readonly retryAttempts: number;
  readonly backoff: BackoffOptions;
  readonly keepAlive: number;
  readonly pongTimeout: number;
  readonly idleTimeout: number;
  readonly connectTimeout: number;
  readonly sseFallback: boolean;
  readonly queueLimit: number;
  readonly queueTimeout: number;
  readonly lazyCloseTimeout: number;
}

export interface TransportHost {
  readonly settings: Settings;
  readonly emitter: Emitter;
  readonly counters: Counters;
  /** `connection_init` payload: the user's params plus `Authorization` from a fresh `token()`. */
  connectionParams(): Promise<Record<string, unknown>>;
  /** `Authorization` header value from a fresh `token()` (undefined without a token option). */
  authorization(): Promise<string | undefined>;
  /** The WebSocket cannot open but HTTP answers: move every operation to SSE. */
  fallbackToSse(): void;
}

export interface Transport {
  readonly kind: TransportKind;
  /** Carries `op` (now, or once connected). */
  start(op: Operation): void;
  /** The user stopped `op` (it is already marked done): tell the router, forget it. */
  stop(op: Operation): void;
  /** A fresh token from the refresh timer. */
  tokenRefreshed(authorization: string): void;
  /** Closes every connection for good; operations are left to the caller. */
  close(): Promise<void>;
}

/** Number of operations of `ops` that are queries or mutations not yet sent. */
export function queuedRequests(ops: Iterable<Operation>): number {
  let n = 0;
  for (const op of ops) if (op.kind !== "subscription" && !op.sent) n++;
  return n;
}
