/**
 * The engine's contract with everything around it: what an operation request is, where its
 * results go, how it is stopped, and the trigger ownership a worker link provides. Kept apart
 * from the engine so transports, sessions and the worker link depend on these types only.
 */
import type { PlanError } from "../planner/plan.js";
import type { EventPosition } from "../providers/provider.js";
import type { TraceContext } from "../telemetry/tracing.js";

export interface OperationRequest {
  readonly query: string;
  readonly operationName?: string | null;
  readonly variables?: Record<string, unknown> | null;
  readonly extensions?: Record<string, unknown> | null;
}

/** A verified token's identity. */
export interface AuthInfo {
  /** The token's payload, verified. */
  readonly claims: Readonly<Record<string, unknown>>;
  /** `exp` in epoch milliseconds, when the token has one. */
  readonly expiresAt?: number;
}

/** Who asks, and from where: one per connection (WebSocket) or request (HTTP, SSE). */
export interface RequestContext {
  /** The client's address as text, for per-IP limits and rate limits. */
  readonly ip: string;
  /** Verified identity; null for an anonymous client. Replaced when a WebSocket refreshes its token. */
  auth: AuthInfo | null;
  /** The WebSocket `connection_init` payload once received; null elsewhere. */
  connectionParams: Readonly<Record<string, unknown>> | null;
  /**
   * Headers of the HTTP request or WebSocket upgrade (lower-case names), kept only when a stream
   * hook module needs them (`hooks.headers` says which); undefined otherwise, so 10k connections
   * do not each hold their headers for nothing.
   */
  headers?: Readonly<Record<string, string>>;
  /** The client's W3C trace context (traceparent), kept only while tracing is on. */
  trace?: TraceContext;
}

/** A context for `ip` with no identity yet. */
export function anonymous(ip = ""): RequestContext {
  return { ip, auth: null, connectionParams: null };
}

/** What travels with an event of an at-least-once trigger (its payload already holds the cursor). */
export interface EventMeta {
  /** The cursor after this event (also in the payload's `extensions.cursor`; SSE puts it in `id:`). */
  readonly cursor: string;
  readonly position: EventPosition;
  /** Events before this one were lost (BrokerEvent.gap): the client is told with `extensions.gap`. */
  readonly gap?: true;
}

/** Where an operation's results go. Implementations must not throw. */
export interface OperationSink {
  /** One serialized ExecutionResult (`{"data":…}` / `{"errors":…}`), with its delivery metadata if any. */
  next(payloadJson: string, meta?: EventMeta): void;
  /** The operation could not start, or ended with an error; it is over. */
  error(errors: readonly PlanError[]): void;
  /** The operation finished normally (queries, mutations). */
  complete(): void;
  /**
   * Closes the client's connection with a WebSocket close code (a start hook's refusal asked for
   * it); absent where there is no such connection (HTTP streams get `error` instead).
   */
  close?(code: number, reason: string): void;
}

export interface RunningOperation {
  /** Stops the operation; no further sink calls are made. Idempotent. */
  cancel(): void;
  /**
   * At-least-once subscriptions: the newest cursor the client may hold now (its trigger's, past
   * events a filter skipped), sent to idle clients so a reconnect does not replay what they never
   * needed; undefined while a resume is still replaying.
   */
  cursor?(): string | undefined;
}

/**
 * Which worker owns a trigger (spec/scale.md). With worker threads the engine asks it before
 * subscribing: a subscription whose trigger another worker owns joins that worker's group through
 * the link instead of subscribing to the broker here. A single-threaded router has none.
 */
export interface TriggerOwnership {
  isLocal(triggerKey: string): boolean;
  /**
   * Joins `sink` to the group (`triggerKey`, `groupKey`) of the owner worker. `topics`: the
   * topics a stream hook rewrote here, which the owner uses instead of rendering its own.
   */
  subscribe(
    triggerKey: string,
    groupKey: string,
    req: OperationRequest,
    ctx: RequestContext,
    topics: readonly string[] | undefined,
    sink: OperationSink,
  ): RunningOperation;
}

/** What a worker link needs from the engine to serve other workers' forwarded groups. */
export interface LocalExecutor {
  /**
   * Runs `req` here whoever owns its trigger (forwarded requests must not bounce), on `topics`
   * when the requesting worker's hooks decided them.
   */
  executeLocal(
    req: OperationRequest,
    sink: OperationSink,
    ctx: RequestContext,
    topics?: readonly string[],
  ): RunningOperation;
}
