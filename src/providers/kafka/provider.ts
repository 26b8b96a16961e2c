/**
 * Kafka provider on `@confluentinc/kafka-javascript` (librdkafka). Every router instance must see
 * every record, so there is no shared consumer group: one consumer per provider is assign()ed the
 * partitions of every subscribed topic (never subscribe(), never a group join, never a commit),
 * starting at the end so only new records arrive (subscription.ts has the exact rule, also for
 * topics or partitions that appear later; reader.ts runs the consumer). A periodic metadata refresh
 * finds those and doubles as the connectivity probe. One producer per provider publishes with
 * acks=all and resolves on the delivery report (publisher.ts). librdkafka reconnects both clients
 * by itself; this class adds a start that fails fast, a background start that keeps trying, and
 * subscriptions made while no broker answers.
 */
import { randomBytes } from "node:crypto";
import type { KafkaProviderConfig } from "../../config/types.js";
import { ErrorCode, errorMessage, StreamgateError } from "../../errors.js";
import { BrokerProvider } from "../base.js";
import type {
  BrokerEvent,
  ConsumerLag,
  EventPosition,
  EventsHandler,
  PublishOptions,
  ReplayRequest,
  SubscribeOptions,
  Unsubscribe,
} from "../provider.js";
import { backoffByElapsed, Outage } from "../common/backoff.js";
import * as rd from "./client.js";
import {
  consumerConfig,
  type KafkaProviderOptions,
  producerConfig,
  type ResolvedKafkaOptions,
  resolveOptions,
} from "./options.js";
import { Publisher } from "./publisher.js";
import { type KafkaPartitionLag, KafkaReader } from "./reader.js";
import { kafkaHeads, kafkaPosition, replayKafka } from "./replay.js";
import { KafkaLocalSubscription } from "./subscription.js";

export type { KafkaProviderOptions } from "./options.js";
export type { KafkaPartitionLag } from "./reader.js";

/** librdkafka's wording when every broker connection of a client is down (its code is not exposed). */
const ALL_BROKERS_DOWN = /all broker connections are down/i;

/** Kafka implementation of {@link Provider}; see the module comment. */
export class KafkaProvider extends BrokerProvider {
  declare readonly kind: "kafka";
  private readonly opts: ResolvedKafkaOptions;
  private readonly brokers: string;
  /** Unique per provider object: names its consumer group, which is never joined. */
  private readonly instance = randomBytes(6).toString("hex");
  private readonly reader: KafkaReader;
  private publisher: Publisher | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** librdkafka said every broker connection dropped; the next successful probe is a reconnect. */
  private lostAll = false;
  /** The current outage, for the probe's backoff; ended once connected. */
  private readonly outage: Outage;

  constructor(
    private readonly config: KafkaProviderConfig,
    options?: KafkaProviderOptions,
  ) {
    super(config.id, "kafka");
    this.brokers = config.brokers.join(",");
    this.opts = resolveOptions(config.id, options);
    this.outage = new Outage(this.opts.minBackoffMs, this.opts.maxBackoffMs);
    this.watchLag(config.health?.max_lag, this.opts.lagIntervalMs);
    this.reader = new KafkaReader(this.opts, this.counters, {
      onProbe: (ok, err) =>
        ok
          ? this.markConnected()
          : this.markDisconnected(`cannot reach brokers ${this.brokers}: ${errorMessage(err)}`),
      onError: (err) => this.onClientError(err),
      onIdle: () => this.schedule(),
    });
  }

  protected hasClients(): boolean {
    return this.publisher !== undefined;
  }

  protected startBackoff(_failed: number, elapsedMs: number): number {
    return backoffByElapsed(elapsedMs, this.opts.minBackoffMs, this.opts.maxBackoffMs);
  }

  protected override abortConnect(): void {
    clearTimeout(this.timer);
  }

  protected async closeClients(): Promise<void> {
    const publisher = this.publisher;
    this.publisher = undefined;
    this.connected = false;
    const consumer = await this.reader.detach();
    await Promise.all([consumer && rd.disconnect(consumer), publisher?.close()]);
  }

  async subscribe(
    topics: readonly string[],
    onEvents: EventsHandler,
    options?: SubscribeOptions,
  ): Promise<Unsubscribe> {
    this.checkSubscribe(options);
    if (topics.length === 0)
      throw new StreamgateError(ErrorCode.SUBJECT_INVALID, "no topics to subscribe to");
    for (const t of topics) checkTopic(t);
    const sub = new KafkaLocalSubscription([...new Set(topics)], onEvents, options?.onError, this.counters);
    this.reader.add(sub);
    // Pins where it starts and assigns its partitions before resolving, so a record produced after
    // subscribe() resolved reaches it. Without a broker it stays pending until a refresh succeeds.
    if (this.connected) await this.reader.refresh();
    return async () => this.reader.remove(sub);
  }

  async publish(topic: string, data: Uint8Array, options?: PublishOptions): Promise<void> {
    checkTopic(topic);
    const publisher = this.publisher;
    // librdkafka would queue the record and retry until message.timeout.ms; refusing at once
    // while we know no broker answers gives the caller a prompt, honest answer instead.
    if (!publisher || !this.connected) {
      throw this.error(ErrorCode.PUBLISH_FAILED, "is not connected to its brokers; record not published");
    }
    try {
      await publisher.publish(topic, data, options);
    } catch (err) {
      this.counters.errors++;
      throw this.error(
        ErrorCode.PUBLISH_FAILED,
        `could not publish to "${topic}": ${errorMessage(err)}`,
        err,
      );
    }
    this.counters.published++;
  }

  canReplay(): boolean {
    return true;
  }

  positionOf(event: BrokerEvent): EventPosition | undefined {
    return kafkaPosition(event);
  }

  async heads(topics: readonly string[]): Promise<Record<string, number>> {
    const consumer = this.reader.client;
    if (!consumer || !this.connected) return {};
    return kafkaHeads(consumer, topics, this.opts.connectTimeoutMs);
  }

  /** Replays with a consumer of its own (a unique, never joined group), closed when done. */
  async replay(req: ReplayRequest): Promise<void> {
    if (!this.connected) throw this.error(ErrorCode.PROVIDER_UNAVAILABLE, "not connected: cannot replay");
    const conf = consumerConfig(
      this.config,
      this.opts,
      `${this.instance}-replay-${randomBytes(4).toString("hex")}`,
    );
    try {
      await replayKafka(conf, req, this.opts.connectTimeoutMs);
    } catch (err) {
      throw this.error(ErrorCode.PROVIDER_UNAVAILABLE, `replay of ${req.topics.join(", ")} failed`, err);
    }
  }

  /** Consumer lag per assigned partition, from librdkafka's cache (no broker round trip). */
  lag(): KafkaPartitionLag[] {
    return this.reader.lag();
  }

  /** Sum of {@link lag} over the assigned partitions (0 without any), for the metrics gauge. */
  override async totalLag(): Promise<number> {
    return this.reader.lag().reduce((sum, l) => sum + (l.lag ?? 0), 0);
  }

  /** Per assigned partition: records between the read position and the high watermark. */
  async consumerLag(): Promise<ConsumerLag[]> {
    return this.reader.lag().map((l) => ({
      source: l.topic,
      consumer: String(l.partition),
      ...(l.lag === undefined ? {} : { pending: l.lag }),
    }));
  }

  protected async connectOnce(): Promise<void> {
    let consumer: rd.Consumer | undefined;
    let publisher: Publisher | undefined;
    try {
      consumer = await rd.newConsumer(consumerConfig(this.config, this.opts, this.instance));
      publisher = await Publisher.create(producerConfig(this.config, this.opts));
      consumer.on("event.error", (err) => this.onClientError(err));
      publisher.producer.on("event.error", (err) => this.onClientError(err));
      await Promise.all([
        rd.connect(consumer, this.opts.connectTimeoutMs),
        publisher.connect(this.opts.connectTimeoutMs),
      ]);
    } catch (err) {
      await Promise.all([consumer && rd.disconnect(consumer), publisher?.close()]);
      if (err instanceof StreamgateError) {
        this.detail = err.message;
        throw err;
      }
      this.detail = `cannot reach brokers ${this.brokers}: ${errorMessage(err)}`;
      throw this.error(ErrorCode.PROVIDER_UNAVAILABLE, `cannot reach brokers ${this.brokers}`, err);
    }
    if (this.stopped) {
      await Promise.all([rd.disconnect(consumer), publisher.close()]);
      throw this.error(ErrorCode.PROVIDER_UNAVAILABLE, "was stopped while connecting");
    }
    this.publisher = publisher;
    this.reader.attach(consumer);
    this.markConnected();
    // Subscriptions made while no broker answered get their partitions now.
    await this.reader.refresh();
  }

  /** The next refresh: the regular interval while connected, backoff while no broker answers. */
  private schedule(): void {
    clearTimeout(this.timer);
    if (this.stopped || !this.reader.attached) return;
    const delay = this.outage.ongoing ? this.outage.delay() : this.opts.refreshIntervalMs;
    this.timer = setTimeout(() => void this.reader.refresh(), delay);
    // The consume loop keeps the process alive while the provider runs; this timer must not.
    this.timer.unref();
  }

  private markConnected(): void {
    if ((!this.connected && this.outage.ongoing) || this.lostAll) this.counters.reconnects++;
    this.lostAll = false;
    this.connected = true;
    this.detail = undefined;
    this.outage.end();
  }

  private markDisconnected(detail: string): void {
    this.connected = false;
    this.lostAll = false;
    this.detail = detail;
    this.outage.begin();
  }

  /**
   * librdkafka's client errors are counted. "All brokers down" triggers a probe at once rather than
   * flipping health by itself: a client can report it late, for a connection that failed before
   * one succeeded, so only a failed metadata request marks the provider disconnected. A short blip
   * the probe does not catch (a quick broker restart) still counts as a reconnect.
   */
  private onClientError(err: unknown): void {
    this.counters.errors++;
    if (this.stopped || !this.reader.attached || !ALL_BROKERS_DOWN.test(errorMessage(err))) return;
    this.lostAll = true;
    void this.reader.refresh();
  }
}

/** Kafka's own limits on topic names: 1-249 characters of [a-zA-Z0-9._-]. */
function checkTopic(topic: string): void {
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(topic) || topic === "." || topic === "..") {
    throw new StreamgateError(
      ErrorCode.SUBJECT_INVALID,
      `invalid Kafka topic ${JSON.stringify(topic)}: use 1-249 characters of a-z, A-Z, 0-9, ".", "_", "-"`,
    );
  }
}
