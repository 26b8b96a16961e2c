/**
 * The fan-out's contracts with the engine above it: per-event scope, group resolvers, at-least-once
 * cursors, batch transforms (stream hooks), counters.
 */
import type { EventMeta } from "../engine/types.js";
import type { PlanError } from "../planner/plan.js";
import type { Decoded } from "../planner/event.js";
import type { BrokerEvent } from "../providers/provider.js";
import type { TraceContext, Tracing } from "../telemetry/tracing.js";

/** Per-event scratch shared by every group of a trigger (the engine keeps its merged entity fetches here). */
export interface EventScope {
  readonly memo: Map<string, unknown>;
  /** performance.now() when the trigger received the event. */
  readonly receivedAt: number;
  /** At-least-once triggers: the event's cursor and position. */
  readonly meta?: EventMeta;
  /** With tracing on: the event's span (parent of each group's) and the tracer. */
  readonly trace?: TraceContext;
  readonly tracing?: Tracing;
}

/** Observes how long an event took from trigger to sockets, once per group. */
export type LatencyObserver = (seconds: number) => void;

/** Turns one decoded event into a serialized response for a group (null = filtered out). */
export type GroupResolver = (
  event: Decoded,
  raw: BrokerEvent,
  scope: EventScope,
) => string | null | Promise<string | null>;

/**
 * An at-least-once trigger's cursors (src/delivery): the position of each event, and the cursor
 * after it, computed once per event for every group and subscriber.
 */
export interface TriggerCursors {
  /** Advances past `event`; its meta, or undefined when it carries no position. */
  advance(event: BrokerEvent): EventMeta | undefined;
  /** Every subscriber has the events up to `cursor` written: it may be offered to idle clients. */
  settle(cursor: string): void;
  /**
   * Run before the trigger subscribes to its broker: learns where each partition stands, so the
   * first cursor covers partitions that have no event yet without claiming any it has not seen.
   */
  prepare?(): Promise<void>;
  /** The newest settled cursor (undefined before the first event). */
  readonly latest: string | undefined;
}

/** One event a batch transform passes on: what groups resolve, and the broker event it came from. */
export interface TransformedEvent {
  readonly decoded: Decoded;
  readonly raw: BrokerEvent;
  /** Index of the input event it came from (its position and cursor); undefined for a new event. */
  readonly source: number | undefined;
}

/** A batch transform's answer: the events to dispatch, or errors that end the trigger's subscriptions. */
export type TransformedBatch =
  | { readonly ok: true; readonly events: readonly TransformedEvent[] }
  | { readonly ok: false; readonly errors: readonly PlanError[] };

/**
 * Runs once per broker batch of a trigger before its groups resolve it (stream hooks'
 * onReceiveEvents): what it returns is what every group resolves. `decoded[i]` is `events[i]`
 * decoded (once). Batches are transformed one at a time, in order.
 */
export type BatchTransform = (
  events: readonly BrokerEvent[],
  decoded: readonly Decoded[],
) => Promise<TransformedBatch>;

/** A trigger's batch transform and what tells it apart: triggers with different keys never share. */
export interface TriggerReceive {
  readonly key: string;
  readonly transform: BatchTransform;
}

export interface FanoutStats {
  eventsReceived: number;
  eventsInvalid: number;
  deliveries: number;
  resolutions: number;
}

/**
 * Ends one subscriber from outside (a reload that no longer serves its operation), with the
 * reason: a function, or an object with an `evict` method (a subscription's own state object, so
 * 10k subscribers do not each need a closure for it).
 */
export type Evict = ((reason: string) => void) | { evict(reason: string): void };
