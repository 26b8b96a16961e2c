/**
 * One operation the user started, across every connection it lives through: its payload, its
 * resume cursor and its sink. Transports start it, feed it results and end it; it counts what it
 * sees and makes sure its sink hears `error` or `complete` exactly once.
 */
import type { OperationKind, WirePayload } from "./document.js";
import { reportUserError } from "./emitter.js";
import type { StreamgateClientError } from "./errors.js";
import type { ExecutionResult, Request, Sink } from "./types.js";

/** What an operation reports to the client that owns it. */
export interface OperationOwner {
  readonly counters: Counters;
  /** The operation is over (its sink was told): forget it. */
  finished(op: Operation): void;
  /** The router said this resume lost events. */
  gap(op: Operation): void;
}

/** Mutable counters behind `client.stats()`. */
export interface Counters {
  eventsReceived: number;
  reconnects: number;
  resumes: number;
  gaps: number;
  duplicatesDropped: number;
}

export class Operation {
  done = false;
  /** The newest resume position known for this subscription (a result's or a heartbeat's). */
  cursor: string | undefined;
  /** The cursor the current subscribe carried: a result repeating it is a duplicate at the seam. */
  private resumedFrom: string | undefined;
  /** Retries after RATE_LIMITED so far. */
  rateLimitRetries = 0;
  /** Set once a mutation went out on a connection: it is never sent again. */
  sent = false;
  /** Pending timer of this operation in its transport (queue wait, rate-limit wait, grace). */
  timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly id: string,
    readonly kind: OperationKind,
    readonly request: Request<unknown, unknown>,
    readonly payload: WirePayload,
    private readonly sink: Sink<ExecutionResult<unknown>>,
    private readonly owner: OperationOwner,
  ) {
    const initial = payload.extensions?.cursor;
    if (kind === "subscription" && typeof initial === "string") this.cursor = initial;
  }

  /**
   * Marks the start of a (re)subscription and returns the payload to send. With `inPayload`
   * (WebSocket) the cursor rides in `extensions.cursor`; SSE sends it as Last-Event-ID instead.
   */
  begin(inPayload: boolean): WirePayload {
    this.sent = true;
    this.clearTimer();
    if (this.kind !== "subscription" || this.cursor === undefined) return this.payload;
    this.resumedFrom = this.cursor;
    this.owner.counters.resumes++;
    if (!inPayload) return this.payload;
    return { ...this.payload, extensions: { ...this.payload.extensions, cursor: this.cursor } };
  }

  /** One result from the router; `sseId` is the SSE event's `id:`. */
  deliver(result: ExecutionResult<unknown>, sseId?: string): void {
    if (this.done) return;
    const ext = result.extensions;
    const cursor = sseId ?? (typeof ext?.cursor === "string" ? ext.cursor : undefined);
    if (cursor !== undefined) {
      if (cursor === this.resumedFrom) {
        this.owner.counters.duplicatesDropped++;
        return;
      }
      this.cursor = cursor;
    }
    if (ext?.gap === true) this.owner.gap(this);
    this.owner.counters.eventsReceived++;
    try {
      this.sink.next(result);
    } catch (err) {
      reportUserError(err);
    }
  }

  /** A newer cursor for an idle subscription (WebSocket ping, SSE id-only block). */
  heartbeatCursor(cursor: string): void {
    if (this.kind === "subscription" && !this.done) this.cursor = cursor;
  }

  fail(error: StreamgateClientError): void {
    if (!this.end()) return;
    try {
      this.sink.error(error);
    } catch (err) {
      reportUserError(err);
    }
  }

  complete(): void {
    if (!this.end()) return;
    try {
      this.sink.complete();
    } catch (err) {
      reportUserError(err);
    }
  }

  clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private end(): boolean {
    if (this.done) return false;
    this.done = true;
    this.clearTimer();
    this.owner.finished(this);
    return true;
  }
}
