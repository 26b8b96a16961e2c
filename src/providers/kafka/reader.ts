/**
 * The consumer side of KafkaProvider: the subscriptions, the one consumer's partition assignment,
 * the consume loop that hands records to subscriptions, and the refresh pass (metadata of every
 * subscribed topic, high watermarks where a subscription starts, assignment changes). The provider
 * owns the connection state: a refresh reports through `hooks` whether the brokers answered.
 */
import type { Message } from "@confluentinc/kafka-javascript";
import type { BrokerEvent, ProviderCounters } from "../provider.js";
import * as rd from "./client.js";
import type { ResolvedKafkaOptions } from "./options.js";
import { type KafkaLocalSubscription, planAssignment, type TopicMetadata, tpKey } from "./subscription.js";

/** Up to this many subscribed topics, metadata is asked topic by topic; beyond, all at once. */
const PER_TOPIC_METADATA_MAX = 4;
/** Watermark queries in flight at once (libuv's pool has 4 threads; consume() needs one). */
const WATERMARK_PARALLEL = 2;

/** Consumer lag of one assigned partition, from librdkafka's cached high watermark. */
export interface KafkaPartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** Next offset the consumer will read; undefined before its first fetch. */
  readonly position?: number;
  /** Last high watermark seen in a fetch response; undefined before the first one. */
  readonly highWatermark?: number;
  /** highWatermark - position, when both are known. */
  readonly lag?: number;
}

export interface ReaderHooks {
  /** A refresh pass reached the brokers, or not (`err` says why). */
  onProbe(ok: boolean, err?: unknown): void;
  /** An error of the consumer (a consume call, an assignment change); not yet counted. */
  onError(err: unknown): void;
  /** A run of refresh passes ended: time to schedule the next one. */
  onIdle(): void;
}

/** See the module comment. */
export class KafkaReader {
  private readonly subs = new Set<KafkaLocalSubscription>();
  private readonly byTopic = new Map<string, Set<KafkaLocalSubscription>>();
  /** What the consumer is assigned, by tpKey. */
  private readonly assigned = new Map<string, { topic: string; partition: number }>();
  private consumer: rd.Consumer | undefined;
  private consuming: Promise<void> | undefined;
  private refreshing: Promise<void> | undefined;
  /** A refresh was asked for while one ran: run another pass, which sees everything asked so far. */
  private again = false;

  constructor(
    private readonly opts: ResolvedKafkaOptions,
    private readonly counters: ProviderCounters,
    private readonly hooks: ReaderHooks,
  ) {}

  get attached(): boolean {
    return this.consumer !== undefined;
  }

  add(sub: KafkaLocalSubscription): void {
    this.subs.add(sub);
    for (const t of sub.topics) {
      const set = this.byTopic.get(t);
      if (set) set.add(sub);
      else this.byTopic.set(t, new Set([sub]));
    }
  }

  /** Closes `sub` and releases the partitions nobody else reads; no broker round trip. */
  remove(sub: KafkaLocalSubscription): void {
    sub.close();
    if (!this.subs.delete(sub)) return;
    for (const t of sub.topics) {
      const set = this.byTopic.get(t);
      set?.delete(sub);
      if (set?.size === 0) this.byTopic.delete(t);
    }
    this.applyAssignment();
  }

  /** The connected consumer, for metadata queries (never for seeking). */
  get client(): rd.Consumer | undefined {
    return this.consumer;
  }

  /** Starts consuming with a connected consumer. Its assignment starts empty. */
  attach(consumer: rd.Consumer): void {
    consumer.setDefaultConsumeTimeout(this.opts.consumeWaitMs);
    consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
    this.consumer = consumer;
    this.assigned.clear();
    this.consuming = this.consumeLoop(consumer);
  }

  /**
   * Closes every subscription, waits for a running refresh and the consume call in flight (at most
   * consumeWaitMs), and hands back the consumer for the caller to disconnect.
   */
  async detach(): Promise<rd.Consumer | undefined> {
    for (const sub of this.subs) sub.close();
    this.subs.clear();
    this.byTopic.clear();
    const consumer = this.consumer;
    this.consumer = undefined;
    await this.refreshing;
    await this.consuming;
    this.assigned.clear();
    return consumer;
  }

  /** Lag of every assigned partition, from what librdkafka already knows (no broker round trip). */
  lag(): KafkaPartitionLag[] {
    const consumer = this.consumer;
    if (!consumer || this.assigned.size === 0) return [];
    let positions: { topic: string; partition: number; offset?: number }[];
    try {
      positions = consumer.position([...this.assigned.values()]);
    } catch {
      positions = [...this.assigned.values()];
    }
    return positions.map(({ topic, partition, offset }) => {
      let high: number | undefined;
      try {
        high = consumer.getWatermarkOffsets(topic, partition).highOffset;
      } catch {
        // nothing fetched from this partition yet
      }
      const position = offset !== undefined && offset >= 0 ? offset : undefined;
      const highWatermark = high !== undefined && high >= 0 ? high : undefined;
      return {
        topic,
        partition,
        ...(position === undefined ? {} : { position }),
        ...(highWatermark === undefined ? {} : { highWatermark }),
        ...(position === undefined || highWatermark === undefined
          ? {}
          : { lag: Math.max(0, highWatermark - position) }),
      };
    });
  }

  /**
   * Reads metadata of every subscribed topic (of the brokers only when there is none: a liveness
   * probe), pins where new subscriptions start and updates the assignment. Calls overlapping a
   * running pass share one more pass after it, which sees everything registered before the call.
   */
  refresh(): Promise<void> {
    if (!this.consumer) return Promise.resolve();
    this.again = true;
    // The loop always awaits at least once, so `refreshing` is set before its finally clears it.
    this.refreshing ??= (async () => {
      try {
        while (this.again && this.consumer) {
          this.again = false;
          await this.refreshOnce(this.consumer);
        }
      } finally {
        this.refreshing = undefined;
        this.hooks.onIdle();
      }
    })();
    return this.refreshing;
  }

  private async refreshOnce(consumer: rd.Consumer): Promise<void> {
    const timeout = this.opts.connectTimeoutMs;
    const topics = [...this.byTopic.keys()];
    let meta: Map<string, TopicMetadata>;
    try {
      if (topics.length === 0 || topics.length > PER_TOPIC_METADATA_MAX) {
        // One round trip for every topic: per-topic requests for hundreds of topics queue on
        // libuv's 4-thread pool, which consume() needs too (150-220 ms delivery stalls at each
        // refresh with 100 topics, measured by bench scenario 3 on Kafka).
        const all = partitionsByTopic(await rd.getMetadata(consumer, undefined, timeout));
        meta = new Map(topics.map((t) => [t, all.get(t) ?? "missing"] as const));
      } else {
        meta = new Map(
          await Promise.all(
            topics.map(
              async (t) =>
                [
                  t,
                  partitionsByTopic(await rd.getMetadata(consumer, t, timeout)).get(t) ?? "missing",
                ] as const,
            ),
          ),
        );
      }
    } catch (err) {
      if (this.consumer === consumer) this.hooks.onProbe(false, err);
      return;
    }
    if (this.consumer !== consumer) return;
    this.hooks.onProbe(true);
    // High watermarks of partitions a subscription sees for the first time, queried once per pass.
    const hw = new Map<string, number | undefined>();
    for (const [topic, m] of meta) {
      for (const sub of this.byTopic.get(topic) ?? []) {
        for (const p of sub.needsWatermarks(topic, m)) hw.set(tpKey(topic, p), undefined);
      }
    }
    // Each query holds a libuv pool thread for a broker round trip: a few at a time, so a burst
    // of new subscriptions (1k topics at start) does not starve consume().
    await eachLimited([...hw.keys()], WATERMARK_PARALLEL, async (key) => {
      const [topic, p] = key.split("\u0000") as [string, string];
      try {
        hw.set(key, (await rd.queryWatermarks(consumer, topic, Number(p), timeout)).highOffset);
      } catch {
        this.counters.errors++; // that subscription stays pending; the next pass tries again
      }
    });
    if (this.consumer !== consumer) return;
    for (const [topic, m] of meta) {
      for (const sub of this.byTopic.get(topic) ?? []) sub.observe(topic, m, (p) => hw.get(tpKey(topic, p)));
    }
    this.applyAssignment();
  }

  /** Brings the consumer's assignment in line with the subscriptions; local, no broker round trip. */
  private applyAssignment(): void {
    const consumer = this.consumer;
    if (!consumer) return;
    const plan = planAssignment(this.subs, this.assigned);
    try {
      if (plan.unassign.length > 0) consumer.incrementalUnassign([...plan.unassign]);
      for (const tp of plan.unassign) this.assigned.delete(tpKey(tp.topic, tp.partition));
      if (plan.assign.length > 0) consumer.incrementalAssign([...plan.assign]);
      for (const a of plan.assign) this.assigned.set(tpKey(a.topic, a.partition), a);
    } catch (err) {
      this.hooks.onError(err);
    }
  }

  /** Runs until detach(); records go out in librdkafka's order. */
  private async consumeLoop(consumer: rd.Consumer): Promise<void> {
    while (this.consumer === consumer) {
      let batch: Message[];
      try {
        batch = await rd.consume(consumer, this.opts.batchSize);
      } catch (err) {
        if (this.consumer !== consumer) return;
        this.hooks.onError(err);
        await new Promise((r) => setTimeout(r, this.opts.minBackoffMs));
        continue;
      }
      if (this.consumer === consumer && batch.length > 0) this.dispatch(batch);
    }
  }

  /** One onEvents call per subscription per batch, in consumption order (per partition: offset order). */
  private dispatch(batch: readonly Message[]): void {
    const out = new Map<KafkaLocalSubscription, BrokerEvent[]>();
    for (const m of batch) {
      this.counters.received++;
      let event: BrokerEvent | undefined;
      for (const sub of this.byTopic.get(m.topic) ?? []) {
        if (!sub.wants(m.topic, m.partition, m.offset)) continue;
        event ??= rd.toEvent(m);
        const list = out.get(sub);
        if (list) list.push(event);
        else out.set(sub, [event]);
      }
    }
    for (const [sub, events] of out) sub.deliver(events);
  }
}

/** Topics with partitions in a metadata answer, their sorted partition ids (absent = missing). */
function partitionsByTopic(meta: {
  topics: { name: string; partitions: { id: number }[] }[];
}): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const t of meta.topics)
    if (t.partitions.length > 0)
      out.set(
        t.name,
        t.partitions.map((p) => p.id).sort((a, b) => a - b),
      );
  return out;
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
