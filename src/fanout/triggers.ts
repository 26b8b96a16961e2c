/**
 * Triggers and resolution groups (spec/edfs.md, "Deduplication"). A trigger is one (provider,
 * sorted topics) event source; inside it a group is every subscriber with the same plan and
 * variables. Per event: decode once per trigger, shape and serialize once per group, then hand
 * the same bytes to every subscriber of the group.
 */
import type { BrokerEvent, StreamOptions } from "../providers/provider.js";
import type { Decoded } from "../planner/event.js";
import { decodeEvent } from "../planner/event.js";
import type { TopicRegistry } from "./topic-registry.js";

import { deliverAll, type Subscriber } from "./deliver.js";
import { sourceKey } from "./keys.js";

export type { Subscriber } from "./deliver.js";

/** Per-event scratch shared by every group of a trigger (the engine keeps its merged entity fetches here). */
export interface EventScope {
  readonly memo: Map<string, unknown>;
  /** performance.now() when the trigger received the event. */
  readonly receivedAt: number;
}

/** Observes how long an event took from trigger to sockets, once per group. */
export type LatencyObserver = (seconds: number) => void;

/** Turns one decoded event into a serialized response for a group (null = filtered out). */
export type GroupResolver = (
  event: Decoded,
  raw: BrokerEvent,
  scope: EventScope,
) => string | null | Promise<string | null>;

export interface FanoutStats {
  eventsReceived: number;
  eventsInvalid: number;
  deliveries: number;
  resolutions: number;
}

class Group {
  readonly subscribers = new Set<Subscriber>();
  // Keeps per-group order when a resolution is asynchronous (entity fetches, later issues).
  private tail: Promise<void> | undefined;

  constructor(
    readonly key: string,
    private readonly resolve: GroupResolver,
    private readonly stats: FanoutStats,
    private readonly onError: (err: unknown) => void,
    private readonly observe: LatencyObserver | undefined,
  ) {}

  dispatch(decoded: Decoded, raw: BrokerEvent, scope: EventScope): void {
    if (this.tail) {
      this.track(this.tail.then(() => this.run(decoded, raw, scope)));
      return;
    }
    const pending = this.run(decoded, raw, scope);
    if (pending) this.track(pending);
  }

  private track(p: Promise<void>): void {
    const tail: Promise<void> = p.finally(() => {
      if (this.tail === tail) this.tail = undefined;
    });
    this.tail = tail;
  }

  private run(decoded: Decoded, raw: BrokerEvent, scope: EventScope): Promise<void> | undefined {
    let out: string | null | Promise<string | null>;
    try {
      out = this.resolve(decoded, raw, scope);
    } catch (err) {
      this.onError(err);
      return undefined;
    }
    if (out instanceof Promise) return out.then((json) => this.send(json, scope), this.onError);
    this.send(out, scope);
    return undefined;
  }

  private send(json: string | null, scope: EventScope): void {
    this.stats.resolutions++;
    if (json === null) return;
    this.stats.deliveries += deliverAll(this.subscribers, json, this.onError);
    this.observe?.((performance.now() - scope.receivedAt) / 1000);
  }
}

class Trigger {
  readonly groups = new Map<string, Group>();
  releases: (() => void)[] = [];
  /** Settles once every topic of the trigger has its broker subscription. */
  ready: Promise<void> = Promise.resolve();

  constructor(
    readonly key: string,
    private readonly stats: FanoutStats,
  ) {}

  onEvents = (events: readonly BrokerEvent[]): void => {
    for (const ev of events) {
      this.stats.eventsReceived++;
      const decoded = decodeEvent(ev.data);
      if (!decoded.ok) this.stats.eventsInvalid++;
      const scope: EventScope = { memo: new Map(), receivedAt: performance.now() };
      for (const g of this.groups.values()) g.dispatch(decoded, ev, scope);
    }
  };
}

/** NATS wildcards and Redis glob characters (Kafka topic names have none). */
const PATTERN = /[*>?[]/;

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
}

export class TriggerRegistry {
  private readonly triggers = new Map<string, Trigger>();
  readonly stats: FanoutStats = { eventsReceived: 0, eventsInvalid: 0, deliveries: 0, resolutions: 0 };
  private readonly onError: (err: unknown) => void;

  constructor(
    private readonly topics: TopicRegistry,
    onError: (err: unknown) => void,
    private readonly observeLatency?: LatencyObserver,
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
   * Adds a subscriber; resolves with its unsubscribe once the broker subscriptions exist. Rejects
   * (with the subscriber already removed) when a broker subscription could not be made.
   */
  async subscribe(req: SubscribeRequest): Promise<() => void> {
    const triggerKey = sourceKey(req.providerId, req.topics, req.stream);
    let trigger = this.triggers.get(triggerKey);
    let created = false;
    if (!trigger) {
      trigger = new Trigger(triggerKey, this.stats);
      this.triggers.set(triggerKey, trigger);
      created = true;
    }
    let group = trigger.groups.get(req.groupKey);
    if (!group) {
      group = new Group(req.groupKey, req.resolver, this.stats, this.onError, this.observeLatency);
      trigger.groups.set(req.groupKey, group);
    }
    group.subscribers.add(req.subscriber);
    const t = trigger;
    const g = group;
    if (created) t.ready = this.open(t, req.providerId, req.topics, req.stream);
    try {
      await t.ready;
    } catch (err) {
      this.remove(t, g, req.subscriber);
      throw err;
    }
    return () => this.remove(t, g, req.subscriber);
  }

  private async open(
    trigger: Trigger,
    providerId: string,
    topics: readonly string[],
    stream: StreamOptions | undefined,
  ): Promise<void> {
    // Patterns of one field may match the same message (`x.*` and `x.1`): subscribed separately,
    // the trigger would see it twice, so such a set is one broker subscription, which providers
    // deliver once per message. Plain topics stay shared per topic across triggers.
    const sources =
      topics.length > 1 && topics.some((t) => PATTERN.test(t)) ? [topics] : topics.map((t) => [t]);
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

  private remove(trigger: Trigger, group: Group, subscriber: Subscriber): void {
    if (!group.subscribers.delete(subscriber)) return;
    if (group.subscribers.size > 0) return;
    trigger.groups.delete(group.key);
    if (trigger.groups.size === 0) this.release(trigger);
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
