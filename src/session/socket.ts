import type {
  AuthInfo,
  OperationRequest,
  OperationSink,
  RequestContext,
  RunningOperation,
} from "../engine/types.js";
import type { LimitName } from "../security/limits.js";

/** What a session needs from a socket; transport adapters (uWS, tests) implement it. */
export interface SessionSocket {
  /** Sends one text frame. The adapter applies the per-socket backpressure policy. */
  send(frame: string): void;
  /**
   * Sends `prefix + body + suffix` as one text frame. The hot path of a broadcast: an adapter may
   * keep the three shared strings and concatenate only when it writes, so a delivery allocates
   * nothing that outlives the write (per-client frames held until the flush were most of the
   * garbage V8 promoted at 100 ev/s to 10k clients; profiles/README.md).
   */
  sendSpliced(prefix: string, body: string, suffix: string): void;
  /** Closes with a WebSocket close code; no further sends happen. */
  close(code: number, reason: string): void;
}

/** Timers are injected so the state machine is testable without real time. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const realTimers = {
  setTimeout: (fn: () => void, ms: number): unknown => setTimeout(fn, ms),
  clearTimeout: (h: unknown): void => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn: () => void, ms: number): unknown => setInterval(fn, ms),
  clearInterval: (h: unknown): void => clearInterval(h as NodeJS.Timeout),
};

export interface SessionLimits {
  readonly connectionInitTimeoutMs: number;
  readonly maxSubscriptions: number;
  /** Told of each refusal for a limit (the refusals metric). */
  readonly refused?: (limit: LimitName) => void;
}

/** The part of the engine a session uses. */
export interface SessionEngine {
  execute(req: OperationRequest, sink: OperationSink, ctx: RequestContext): RunningOperation;
}

/** What a session asks of the router's security settings (src/security/security.ts implements it). */
export interface SessionSecurity {
  readonly required: boolean;
  /** The token in a connection_init (`payload`) or ping (`refresh`) payload; null when there is none. */
  fromPayload(
    payload: Readonly<Record<string, unknown>> | null | undefined,
    from: "payload" | "refresh",
  ): AuthInfo | null | Promise<AuthInfo | null>;
  /** The error for a missing token (counted). */
  missing(): Error;
  /** Calls `expired` when the context's token passes its exp; the cancel, or undefined. */
  watchExpiry(ctx: RequestContext, expired: () => void): (() => void) | undefined;
  /** Whether a refreshed token may replace the current one (an error when not). */
  replaces(before: AuthInfo | null, after: AuthInfo): Error | undefined;
}

/** Everything sessions share: one object per router, not per connection. */
export interface SessionDeps {
  readonly engine: SessionEngine;
  readonly limits: SessionLimits;
  readonly timers: Timers;
  /** The legacy protocol's `ka` interval, milliseconds. */
  readonly keepAliveMs: number;
  /** Absent: tokens are never verified and every client is anonymous. */
  readonly security?: SessionSecurity;
  /**
   * Keep each connection's `connection_init` payload (stream hooks read it). Without hooks it is
   * dropped once read: a payload holding a JWT is ~1 KB, 10 MB over 10k connections.
   */
  readonly keepConnectionParams?: boolean;
}

export type { OperationRequest, OperationSink, RunningOperation, RequestContext } from "../engine/types.js";
