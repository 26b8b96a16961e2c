/**
 * A resolution group: every subscriber of a trigger with the same operation, variables (and
 * claims where filters read them). Per event it resolves once, serializes once, and hands the same
 * bytes to each subscriber, in order even when a resolution is asynchronous.
 */
import { withCursor } from "../delivery/sink.js";
import type { Decoded } from "../planner/event.js";
import type { PlanError } from "../planner/plan.js";
import type { BrokerEvent } from "../providers/provider.js";
import { deliverAll, failAll, GroupFailure, type Subscriber } from "./deliver.js";
import type { EventScope, Evict, FanoutStats, GroupResolver, LatencyObserver } from "./types.js";

export class Group {
  /** Each subscriber, with how to end it from outside (absent: it cannot be evicted). */
  readonly subscribers = new Map<Subscriber, Evict | undefined>();
  /** How to end a subscriber's subscription (stream hooks' `error` policy), for those that gave one. */
  readonly ends = new Map<Subscriber, (errors: readonly PlanError[]) => void>();
  // Keeps per-group order when a resolution is asynchronous (entity fetches, later issues).
  private tail: Promise<void> | undefined;

  constructor(
    readonly key: string,
    /** What the engine needs to decide about this group at a reload (opaque here). */
    readonly tag: unknown,
    /** Built by the subscriber that created the group; later ones with the same key reuse it. */
    readonly resolve: GroupResolver,
    private readonly stats: FanoutStats,
    private readonly onError: (err: unknown) => void,
    private readonly observe: LatencyObserver | undefined,
  ) {}

  /** Resolves and sends one event; returns a promise when that finishes later (asynchronous resolution). */
  dispatch(decoded: Decoded, raw: BrokerEvent, scope: EventScope): Promise<void> | undefined {
    if (this.tail) return this.track(this.tail.then(() => this.run(decoded, raw, scope)));
    const pending = this.run(decoded, raw, scope);
    return pending ? this.track(pending) : undefined;
  }

  private track(p: Promise<void>): Promise<void> {
    const tail: Promise<void> = p.finally(() => {
      if (this.tail === tail) this.tail = undefined;
    });
    this.tail = tail;
    return tail;
  }

  /** Ends every subscriber of the group with `errors` (they leave it as they end). */
  fail(errors: readonly PlanError[]): void {
    failAll(this.ends, errors, this.onError);
  }

  private run(decoded: Decoded, raw: BrokerEvent, scope: EventScope): Promise<void> | undefined {
    if (scope.tracing) return this.traced(decoded, raw, scope);
    let out: string | null | Promise<string | null>;
    try {
      out = this.resolve(decoded, raw, scope);
    } catch (err) {
      this.failed(err);
      return undefined;
    }
    if (out instanceof Promise) return out.then((json) => this.send(json, scope), this.failed);
    this.send(out, scope);
    return undefined;
  }

  /** run() inside a span per group: resolution (and the _entities fetches in it) and delivery. */
  private traced(decoded: Decoded, raw: BrokerEvent, scope: EventScope): Promise<void> | undefined {
    const span = scope.tracing!.start("streamgate.resolve", scope.trace, {
      "streamgate.subscribers": this.subscribers.size,
    });
    const inner: EventScope = { ...scope, trace: span.context };
    const finish = (json: string | null): void => {
      span.setAttribute("streamgate.delivered", json === null ? 0 : this.subscribers.size);
      this.send(json, inner);
      span.end();
    };
    const fail = (err: unknown): void => {
      span.fail(err instanceof Error ? err.message : "resolution failed");
      span.end();
      this.failed(err);
    };
    let out: string | null | Promise<string | null>;
    try {
      out = this.resolve(decoded, raw, inner);
    } catch (err) {
      fail(err);
      return undefined;
    }
    if (out instanceof Promise) return out.then(finish, fail);
    finish(out);
    return undefined;
  }

  private readonly failed = (err: unknown): void => {
    if (err instanceof GroupFailure) this.fail(err.errors);
    else this.onError(err);
  };

  private send(json: string | null, scope: EventScope): void {
    this.stats.resolutions++;
    if (json === null) return;
    const meta = scope.meta;
    // The cursor goes into the shared payload once per group, not once per subscriber.
    const payload = meta ? withCursor(json, meta.cursor) : json;
    this.stats.deliveries += deliverAll(this.subscribers.keys(), payload, meta, this.onError);
    this.observe?.((performance.now() - scope.receivedAt) / 1000);
  }
}
