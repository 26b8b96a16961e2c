/**
 * The one contract every broker implements. Providers speak bytes and broker positions, never
 * GraphQL: decoding, filtering and resolution happen above them (src/fanout, src/planner).
 */

/** One message as it came off the broker. `data` is the raw payload, never parsed here. */
export interface BrokerEvent {
  /** The concrete topic/subject/channel the message was published on. */
  readonly topic: string;
  readonly data: Uint8Array;
  /** Kafka record key, when there is one. */
  readonly key?: Uint8Array;
  /** Broker headers (NATS headers, Kafka headers), when there are any. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Opaque replay position (JetStream sequence, Kafka partition:offset); absent for pub/sub. */
  readonly position?: string;
  /**
   * Events before this one were lost (the session buffer's writer changed, or the buffer was
   * unreachable): an at-least-once subscriber's next event says `extensions.gap`.
   */
  readonly gap?: true;
}

/**
 * Receives events in broker order. A handler that returns a promise is saying when the events are
 * written to every subscriber's socket or buffer: a provider that acknowledges (JetStream) waits
 * for it, and takes a rejection as "not delivered" (nak).
 */
export type EventsHandler = (events: readonly BrokerEvent[]) => void | Promise<void>;

/** Where one event sits: a partition key (JetStream stream, `topic:partition`, a buffer log) and its offset there. */
export interface EventPosition {
  readonly key: string;
  readonly offset: number;
}

/** Closes one broker subscription. Idempotent. */
export type Unsubscribe = () => Promise<void>;

export type ProviderKind = "nats" | "kafka" | "redis";

export interface ProviderHealth {
  readonly id: string;
  readonly kind: ProviderKind;
  readonly connected: boolean;
  /** Human-readable reason when not connected. */
  readonly detail?: string;
  /** Messages behind the broker head at the last lag probe (JetStream, Kafka), when probed. */
  readonly lag?: number;
  /** The provider's `health.max_lag`, when configured. */
  readonly maxLag?: number;
  /** `lag` is above `maxLag`: /health/ready reports the provider as lagging. */
  readonly lagging?: boolean;
  readonly counters: ProviderCounters;
}

export interface ProviderCounters {
  received: number;
  published: number;
  errors: number;
  reconnects: number;
}

export interface ReplayRequest {
  readonly topics: readonly string[];
  readonly stream?: StreamOptions;
  /** Last position the client has, per partition key (what comes after it is replayed). */
  readonly after: Readonly<Record<string, number>>;
  /** Replayed events in order; a returned promise paces the replay. */
  readonly onEvents: (events: readonly BrokerEvent[]) => void | Promise<void>;
  /** Called before any event when events after `after` are already gone (retention). */
  readonly onGap: () => void;
  /** Aborts the replay (the client left); the promise then resolves as it stands. */
  readonly signal: AbortSignal;
}

/** JetStream: consume through a durable consumer on an existing stream (`streamConfiguration`). */
export interface StreamOptions {
  readonly streamName: string;
  readonly consumerName: string;
  /** Seconds without activity after which the server deletes the consumer. */
  readonly consumerInactiveThreshold: number;
}

/**
 * Broker metadata of one published message (set by onPublish stream hooks). NATS and Kafka carry
 * headers, Kafka a record key; a provider that cannot carry what is asked for rejects the publish
 * with PROVIDER_NOT_BUILT rather than drop it silently (Redis pub/sub has neither).
 */
export interface PublishOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly key?: string;
}

export interface SubscribeOptions {
  /** Called when the broker reports an error on this subscription (it stays registered). */
  readonly onError?: (err: Error) => void;
  /** NATS only: use JetStream with this stream; other providers reject it. */
  readonly stream?: StreamOptions;
}

/**
 * Where one consumer of a provider stands, for /metrics: a JetStream durable (`source` = stream,
 * `consumer` = durable name) or a Kafka partition the provider reads (`source` = topic,
 * `consumer` = partition number).
 */
export interface ConsumerLag {
  readonly source: string;
  readonly consumer: string;
  /** Messages at the broker not yet delivered to this consumer; undefined when not known yet. */
  readonly pending?: number;
  /** JetStream: delivered and not acknowledged yet. */
  readonly ackPending?: number;
  /** JetStream: messages the server has delivered more than once (naks, ack timeouts). */
  readonly redelivered?: number;
}

export interface Provider {
  readonly id: string;
  readonly kind: ProviderKind;
  /** Connects. Resolves once usable; rejects with PROVIDER_UNAVAILABLE when the broker is down. */
  start(): Promise<void>;
  /** Closes every subscription and the connection. Idempotent. */
  stop(): Promise<void>;
  /**
   * One broker subscription covering `topics` (NATS subjects may hold wildcards, Redis channels are
   * glob patterns). `onEvents` is called in broker order. Survives reconnects: the provider
   * restores it by itself.
   */
  subscribe(
    topics: readonly string[],
    onEvents: EventsHandler,
    options?: SubscribeOptions,
  ): Promise<Unsubscribe>;
  /** Publishes raw bytes; rejects when the broker did not take them. */
  publish(topic: string, data: Uint8Array, options?: PublishOptions): Promise<void>;
  /** NATS request/reply; other providers reject with PROVIDER_NOT_BUILT. */
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  health(): ProviderHealth;
  /**
   * Whether events of this subscription can be replayed from a position (at-least-once): JetStream
   * with a stream, Kafka, a session-buffered provider. Absent: never.
   */
  canReplay?(stream: StreamOptions | undefined): boolean;
  /**
   * Why canReplay() is false right now, when the provider knows better than its kind does (a
   * session buffer that is unreachable); undefined: the generic reason for the kind.
   */
  notReplayableReason?(stream: StreamOptions | undefined): string | undefined;
  /** An event's position, parsed (undefined when it has none). */
  positionOf?(event: BrokerEvent, stream: StreamOptions | undefined): EventPosition | undefined;
  /**
   * Where each partition of `topics` stands now: the positions a subscription made now starts
   * after (Kafka: high watermark - 1 per partition). Lets a new trigger's first cursor cover every
   * partition. Absent: positions are learned from events.
   */
  heads?(
    topics: readonly string[],
    stream: StreamOptions | undefined,
  ): Promise<Readonly<Record<string, number>>>;
  /**
   * Replays, in order per partition, what came after `after` up to the newest event at the time
   * of the call, then resolves. Partition keys missing from `after` start at their oldest event.
   */
  replay?(req: ReplayRequest): Promise<void>;
  /**
   * Messages behind the broker head over all of this provider's consumers (JetStream, Kafka).
   * Absent for pub/sub brokers. Called at metrics scrape time, never on the hot path.
   */
  totalLag?(): Promise<number>;
  /** Per consumer, for /metrics (JetStream, Kafka); called at scrape time only. */
  consumerLag?(): Promise<readonly ConsumerLag[]>;
}

export function newCounters(): ProviderCounters {
  return { received: 0, published: 0, errors: 0, reconnects: 0 };
}
