/**
 * Triggers and resolution groups (spec/edfs.md, "Deduplication"). A trigger is one (provider,
 * sorted topics) event source; inside it a group is every subscriber with the same plan and
 * variables. Per event: decode once per trigger, shape and serialize once per group, then hand
 * the same bytes to every subscriber of the group.
 */
import type { EventMeta } from "../engine/types.js";
import { decodeEvent } from "../planner/event.js";
import type { PlanError } from "../planner/plan.js";
import type { BrokerEvent, StreamOptions } from "../providers/provider.js";
import { traceContextOf, type Tracing } from "../telemetry/tracing.js";
import type { Subscriber } from "./deliver.js";
import { Group } from "./group.js";
import { brokerSources, sourceKey } from "./keys.js";
import type { TopicRegistry } from "./topic-registry.js";
import type {
  BatchTransform,
  EventScope,
  Evict,
  FanoutStats,
  GroupResolver,
  LatencyObserver,
  TransformedBatch,
  TriggerCursors,
  TriggerReceive,
} from "./types.js";

export type { Subscriber } from "./deliver.js";
export { GroupFailure } from "./deliver.js";
export type * from "./types.js";

/** Resolves after this loop turn's socket flush (frames are queued per socket and written on setImmediate). */
const afterFlush = (): Promise<void> => new Promise((r) => setImmediate(r));

class Trigger {
  readonly groups = new Map<string, Group>();
  releases: (() => void)[] = [];
  /** Settles once every topic of the trigger has its broker subscription. */
  ready: Promise<void> = Promise.resolve();
  /** Called when the last group left (the registry releases the trigger). */
  emptied: () => void = () => {};
  /** The last batch going through the transform: the next one waits for it (broker order). */
  private receiving: Promise<void> | undefined;

  constructor(
    readonly key: string,
    private readonly stats: FanoutStats,
    /** Set for an at-least-once trigger. */
    readonly cursors: TriggerCursors | undefined,
    /** Set when a batch transform runs before the groups (stream hooks). */
    private readonly receive: TriggerReceive | undefined,
    private readonly onError: (err: unknown) => void,
    private readonly tracing: Tracing | undefined,
  ) {}

  /**
   * The scope of one event: its cursor, and with tracing on its span (the child of a publisher's
   * trace context carried in the broker message's headers), ended once every group is done.
   */
  private scope(
    ev: BrokerEvent,
    receivedAt: number,
    meta: EventMeta | undefined,
    spans: (() => void)[],
  ): EventScope {
    const base: EventScope = meta ? { memo: new Map(), receivedAt, meta } : { memo: new Map(), receivedAt };
    const tracing = this.tracing;
    if (!tracing) return base;
    const span = tracing.start(
      "streamgate.event",
      traceContextOf((h) => ev.headers?.[h]),
      {
        "messaging.destination.name": ev.topic,
        "streamgate.groups": this.groups.size,
      },
    );
    spans.push(() => span.end());
    return { ...base, trace: span.context, tracing };
  }

  /** Ends the event spans of a batch once its groups are done (only with tracing on). */
  private endSpans(spans: (() => void)[], pending: Promise<void>[]): void {
    if (spans.length === 0) return;
    const end = () => {
      for (const e of spans) e();
    };
    if (pending.length === 0) end();
    else void Promise.allSettled(pending).then(end);
  }

  /**
   * At-most-once: fire and forget. At-least-once: returns when every group has written the events
   * to its subscribers' sockets (after the flush), which is when the provider may acknowledge.
   */
  onEvents = (events: readonly BrokerEvent[]): Promise<void> | undefined => {
    if (this.receive) return this.transformThenDispatch(events, this.receive.transform);
    const cursors = this.cursors;
    const pending: Promise<void>[] = [];
    const spans: (() => void)[] = [];
    const keep = cursors !== undefined || this.tracing !== undefined;
    let last: EventMeta | undefined;
    for (const ev of events) {
      this.stats.eventsReceived++;
      const decoded = decodeEvent(ev.data);
      if (!decoded.ok) this.stats.eventsInvalid++;
      const meta = cursors?.advance(ev);
      if (meta) last = meta;
      const scope = this.scope(ev, performance.now(), meta, spans);
      for (const g of this.groups.values()) {
        const p = g.dispatch(decoded, ev, scope);
        if (p && keep) pending.push(p);
      }
    }
    this.endSpans(spans, pending);
    if (!cursors) return undefined;
    const done = pending.length > 0 ? Promise.all(pending).then(afterFlush) : afterFlush();
    return last ? done.then(() => cursors.settle(last.cursor)) : done;
  };

  /**
   * The batch goes through the transform first, one batch at a time. Every input event still
   * advances the cursors, in broker order, whether the transform kept, changed or dropped it; a
   * kept or changed event carries its own position.
   */
  private transformThenDispatch(
    events: readonly BrokerEvent[],
    transform: BatchTransform,
  ): Promise<void> | undefined {
    const receivedAt = performance.now();
    const decoded = events.map((ev) => {
      this.stats.eventsReceived++;
      const d = decodeEvent(ev.data);
      if (!d.ok) this.stats.eventsInvalid++;
      return d;
    });
    const previous = this.receiving ?? Promise.resolve();
    const done = previous
      .then(() => transform(events, decoded))
      .then((out) => this.dispatchTransformed(events, out, receivedAt))
      .catch(this.onError);
    this.receiving = done;
    void done.then(() => {
      if (this.receiving === done) this.receiving = undefined;
    });
    return this.cursors ? done : undefined;
  }

  private dispatchTransformed(
    events: readonly BrokerEvent[],
    out: TransformedBatch,
    receivedAt: number,
  ): Promise<void> | undefined {
    const cursors = this.cursors;
    const metas = cursors ? events.map((ev) => cursors.advance(ev)) : [];
    const pending: Promise<void>[] = [];
    const spans: (() => void)[] = [];
    const keep = cursors !== undefined || this.tracing !== undefined;
    if (!out.ok) {
      for (const g of [...this.groups.values()]) g.fail(out.errors);
    } else {
      for (const item of out.events) {
        const meta = item.source === undefined ? undefined : metas[item.source];
        const scope = this.scope(item.raw, receivedAt, meta, spans);
        for (const g of this.groups.values()) {
          const p = g.dispatch(item.decoded, item.raw, scope);
          if (p && keep) pending.push(p);
        }
      }
    }
    this.endSpans(spans, pending);
    if (!cursors) return undefined;
    const last = metas.findLast((m) => m !== undefined);
    const done = pending.length > 0 ? Promise.all(pending).then(afterFlush) : afterFlush();
    return last ? done.then(() => cursors.settle(last.cursor)) : done;
  }
}

export interface SubscribeRequest {
  readonly providerId: string;
  /** Sorted, unique. */
  readonly topics: readonly string[];
  readonly groupKey: string;
  /** JetStream stream options, when the binding has a streamConfiguration. */
  readonly stream?: StreamOptions;
  /** Used only when this request creates the group. */
  readonly resolver: GroupResolver;
  readonly subscriber: Subscriber;
  /** Ends this subscription when its group or trigger fails for good (a stream hook's `error` policy). */
  readonly end?: (errors: readonly PlanError[]) => void;
  /** At-least-once: makes the trigger's cursors, used only when this request creates the trigger. */
  readonly cursors?: () => TriggerCursors;
  /** Kept with the group when this request creates it, for {@link TriggerRegistry.evict}. */
  readonly tag?: unknown;
  /** How to end this subscriber from outside (a reload). */
  readonly evict?: Evict;
  /**
   * A batch transform run before the groups (stream hooks' onReceiveEvents), used only when this
   * request creates the trigger; its key is part of the trigger's identity here (not of its
   * broker subscriptions, cursors or owner worker, which stay those of the topics).
   */
  readonly receive?: TriggerReceive;
}

/** What a subscriber holds on its trigger. */
export interface TriggerMembership {
  /** Leaves the group (and the trigger, the last one out). */
  unsubscribe(): void;
  /** The trigger's cursors, for an at-least-once trigger. */
  readonly cursors: TriggerCursors | undefined;
}

/** One object per subscriber (a closure and its context over the request cost twice as much). */
class Membership implements TriggerMembership {
  constructor(
    private readonly trigger: Trigger,
    private readonly group: Group,
    private readonly subscriber: Subscriber,
  ) {}

  get cursors(): TriggerCursors | undefined {
    return this.trigger.cursors;
  }

  unsubscribe(): void {
    leave(this.trigger, this.group, this.subscriber);
  }
}

/** `subscriber` leaves `group`; the group leaves an emptied trigger, which is released. */
function leave(trigger: Trigger, group: Group, subscriber: Subscriber): void {
  group.ends.delete(subscriber);
  if (!group.subscribers.delete(subscriber)) return;
  if (group.subscribers.size > 0) return;
  trigger.groups.delete(group.key);
  if (trigger.groups.size === 0) trigger.emptied();
}

export class TriggerRegistry {
  private readonly triggers = new Map<string, Trigger>();
  readonly stats: FanoutStats = { eventsReceived: 0, eventsInvalid: 0, deliveries: 0, resolutions: 0 };
  private readonly onError: (err: unknown) => void;

  constructor(
    private readonly topics: TopicRegistry,
    onError: (err: unknown) => void,
    private readonly observeLatency?: LatencyObserver,
    /** OpenTelemetry, when on (src/telemetry): a span per event, one per group under it. */
    private readonly tracing?: Tracing,
  ) {
    // A throwing error hook must not break a group's ordering chain.
    this.onError = (err) => {
      try {
        onError(err);
      } catch {
        // Nothing left to report to.
      }
    };
  }

  get triggerCount(): number {
    return this.triggers.size;
  }

  get groupCount(): number {
    let n = 0;
    for (const t of this.triggers.values()) n += t.groups.size;
    return n;
  }

  /**
   * The resolver of the group `groupKey` of trigger `triggerKey`, when it exists: a subscriber
   * joining it needs no resolver of its own (building one per subscriber was most of what a
   * subscribe allocated in a connection burst; profiles/per-client.md).
   */
  resolverOf(triggerKey: string, groupKey: string): GroupResolver | undefined {
    return this.triggers.get(triggerKey)?.groups.get(groupKey)?.resolve;
  }

  /**
   * Adds a subscriber; resolves with its membership once the broker subscriptions exist. Rejects
   * (with the subscriber already removed) when a broker subscription could not be made.
   */
  async subscribe(req: SubscribeRequest): Promise<TriggerMembership> {
    const source = sourceKey(req.providerId, req.topics, req.stream);
    const triggerKey = req.receive ? `${source}\u0007${req.receive.key}` : source;
    let trigger = this.triggers.get(triggerKey);
    let created = false;
    if (!trigger) {
      const fresh = new Trigger(
        triggerKey,
        this.stats,
        req.cursors?.(),
        req.receive,
        this.onError,
        this.tracing,
      );
      fresh.emptied = () => this.release(fresh);
      trigger = fresh;
      this.triggers.set(triggerKey, trigger);
      created = true;
    }
    let group = trigger.groups.get(req.groupKey);
    if (!group) {
      group = new Group(req.groupKey, req.tag, req.resolver, this.stats, this.onError, this.observeLatency);
      trigger.groups.set(req.groupKey, group);
    }
    group.subscribers.set(req.subscriber, req.evict);
    if (req.end) group.ends.set(req.subscriber, req.end);
    const t = trigger;
    const g = group;
    if (created) t.ready = this.open(t, req.providerId, req.topics, req.stream);
    try {
      await t.ready;
    } catch (err) {
      this.remove(t, g, req.subscriber);
      throw err;
    }
    return new Membership(t, g, req.subscriber);
  }

  private async open(
    trigger: Trigger,
    providerId: string,
    topics: readonly string[],
    stream: StreamOptions | undefined,
  ): Promise<void> {
    // Positions first: what the broker holds before the subscription exists is all it skips.
    await trigger.cursors?.prepare?.().catch(() => undefined);
    const sources = brokerSources(topics);
    const results = await Promise.allSettled(
      sources.map((source) => this.topics.acquire(providerId, source, trigger.onEvents, stream)),
    );
    const releases = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) {
      for (const r of releases) r();
      this.dropTrigger(trigger);
      throw failed.reason;
    }
    trigger.releases = releases;
    // Everyone may have left while we were subscribing.
    if (trigger.groups.size === 0) this.release(trigger);
  }

  /**
   * Ends every subscriber of the groups `decide` gives a reason for (a reload: the operation no
   * longer validates, its event source changed). Returns how many subscribers were ended.
   */
  evict(decide: (tag: unknown, triggerKey: string) => string | undefined): number {
    let ended = 0;
    for (const trigger of [...this.triggers.values()]) {
      for (const group of [...trigger.groups.values()]) {
        const reason = decide(group.tag, trigger.key);
        if (reason === undefined) continue;
        for (const [subscriber, evict] of [...group.subscribers]) {
          if (!evict) continue;
          ended++;
          try {
            if (typeof evict === "function") evict(reason);
            else evict.evict(reason);
          } catch (err) {
            this.onError(err);
          }
          // The evict callback normally leaves the group itself; make sure.
          this.remove(trigger, group, subscriber);
        }
      }
    }
    return ended;
  }

  private remove(trigger: Trigger, group: Group, subscriber: Subscriber): void {
    leave(trigger, group, subscriber);
  }

  private release(trigger: Trigger): void {
    this.dropTrigger(trigger);
    for (const r of trigger.releases) r();
    trigger.releases = [];
  }

  private dropTrigger(trigger: Trigger): void {
    if (this.triggers.get(trigger.key) === trigger) this.triggers.delete(trigger.key);
  }
}
