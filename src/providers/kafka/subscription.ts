/**
 * One subscribe() call of KafkaProvider, and the pure rules that turn the subscriptions into the
 * consumer's partition assignment. No I/O here: the provider feeds in metadata and high watermarks
 * and applies the plan, so the rules are unit-tested without a broker.
 *
 * Where a subscription starts, per partition (the "start", its first offset delivered to it):
 * - a topic that exists when the subscription first sees it: its high watermark then, so only
 *   records produced after subscribe() arrive;
 * - a topic that did not exist then and appears later, or a partition added later: offset 0,
 *   since every record in it was produced after the subscription was made.
 * Until a partition has a start, nothing from it is delivered to that subscription.
 */
import type { BrokerEvent, EventsHandler, ProviderCounters } from "../provider.js";
import { report } from "../common/errors.js";

/** `topic` and `partition` as one map key. */
export const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** What the metadata said about one topic: its partition ids, or that it does not exist. */
export type TopicMetadata = readonly number[] | "missing";

/** See the module comment. `counters` is the provider's, updated in place. */
export class KafkaLocalSubscription {
  private active = true;
  /** Per topic: never seen yet (absent), seen missing, or the start of each known partition. */
  private readonly seen = new Map<string, "missing" | Map<number, number>>();

  constructor(
    /** Distinct topics. */
    readonly topics: readonly string[],
    private readonly onEvents: EventsHandler,
    private readonly onError: ((err: Error) => void) | undefined,
    private readonly counters: ProviderCounters,
  ) {}

  get isActive(): boolean {
    return this.active;
  }

  /** Partitions of `topic` this subscription would start at their high watermark, given `meta`. */
  needsWatermarks(topic: string, meta: TopicMetadata): readonly number[] {
    return meta !== "missing" && !this.seen.has(topic) ? meta : [];
  }

  /**
   * Records one metadata observation of `topic`. `highWatermark(p)` is called for the partitions
   * {@link needsWatermarks} named; when it has none (the query failed) the topic stays unseen and
   * is tried again on the next refresh.
   */
  observe(
    topic: string,
    meta: TopicMetadata,
    highWatermark: (partition: number) => number | undefined,
  ): void {
    const before = this.seen.get(topic);
    if (meta === "missing") {
      if (before === undefined) this.seen.set(topic, "missing");
      return;
    }
    if (before === undefined) {
      const starts = new Map<number, number>();
      for (const p of meta) {
        const hw = highWatermark(p);
        if (hw === undefined) return;
        starts.set(p, hw);
      }
      this.seen.set(topic, starts);
      return;
    }
    const starts = before === "missing" ? new Map<number, number>() : before;
    for (const p of meta) if (!starts.has(p)) starts.set(p, 0);
    this.seen.set(topic, starts);
  }

  /** The partitions this subscription has a start for, with that start. */
  *starts(): Iterable<[topic: string, partition: number, start: number]> {
    for (const [topic, s] of this.seen) {
      if (s === "missing") continue;
      for (const [p, start] of s) yield [topic, p, start];
    }
  }

  /** Whether the record at `offset` of `topic`/`partition` is for this subscription. */
  wants(topic: string, partition: number, offset: number): boolean {
    if (!this.active) return false;
    const s = this.seen.get(topic);
    if (s === undefined || s === "missing") return false;
    const start = s.get(partition);
    return start !== undefined && offset >= start;
  }

  /** Hands over events; a throwing handler is counted and reported to onError, never rethrown. */
  deliver(events: readonly BrokerEvent[]): void {
    if (!this.active || events.length === 0) return;
    try {
      this.onEvents(events);
    } catch (err) {
      this.counters.errors++;
      report(this.onError, err);
    }
  }

  /** Nothing is delivered afterwards. Idempotent. */
  close(): void {
    this.active = false;
  }
}

/** One partition the consumer should read, from `offset`. */
export interface PartitionAssignment {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface AssignmentPlan {
  /** Newly needed partitions, each from the earliest start any subscription has for it. */
  readonly assign: readonly PartitionAssignment[];
  /** Assigned partitions no subscription needs any more. */
  readonly unassign: readonly { topic: string; partition: number }[];
}

/**
 * The change from the `current` assignment (keys from {@link tpKey}) to what the active `subs`
 * need. A partition already assigned keeps its position: a subscription joining it filters by its
 * own start instead of making the consumer seek.
 */
export function planAssignment(
  subs: Iterable<KafkaLocalSubscription>,
  current: ReadonlyMap<string, { topic: string; partition: number }>,
): AssignmentPlan {
  const wanted = new Map<string, PartitionAssignment>();
  for (const sub of subs) {
    if (!sub.isActive) continue;
    for (const [topic, partition, start] of sub.starts()) {
      const key = tpKey(topic, partition);
      const prev = wanted.get(key);
      if (!prev || start < prev.offset) wanted.set(key, { topic, partition, offset: start });
    }
  }
  const assign = [...wanted].filter(([k]) => !current.has(k)).map(([, a]) => a);
  const unassign = [...current].filter(([k]) => !wanted.has(k)).map(([, tp]) => tp);
  return { assign, unassign };
}
