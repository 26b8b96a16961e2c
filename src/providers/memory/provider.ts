/**
 * The embedded in-process broker (`memory://`): the default when no broker is configured, and the
 * provider unit tests use. It behaves like the broker it stands in for where that is observable:
 * delivery is asynchronous and ordered, topics match like NATS subjects, Redis globs or exact Kafka
 * topic names, and payload bytes are copied on publish as a real broker would.
 */
import { ErrorCode, StreamgateError } from "../../errors.js";
import {
  type BrokerEvent,
  type EventPosition,
  type EventsHandler,
  newCounters,
  type Provider,
  type ProviderCounters,
  type ProviderHealth,
  type ProviderKind,
  type PublishOptions,
  type ReplayRequest,
  type SubscribeOptions,
  type Unsubscribe,
} from "../provider.js";
import { report } from "../common/errors.js";
import { compileGlob, compileNatsSubject, type TopicMatcher, validateNatsSubject } from "../subject.js";

/** How subscribed topics match published ones. */
export type MemoryMatching = "nats" | "glob" | "exact";

/** Constructor options of {@link MemoryProvider}. */
export interface MemoryProviderOptions {
  readonly id: string;
  readonly kind: ProviderKind;
  /** Defaults by kind: nats → "nats", redis → "glob", kafka → "exact". */
  readonly matching?: MemoryMatching;
  /**
   * Keep the newest `retain` events with a sequence number, so subscriptions can be replayed from
   * a position (an at-least-once provider on the embedded broker). 0: no log, no replay.
   */
  readonly retain?: number;
}

/** The one partition key of the embedded broker's log. */
const LOG_KEY = "memory";

/** Answers a request; the returned bytes are the reply. */
export type MemoryResponder = (data: Uint8Array) => Uint8Array | Promise<Uint8Array>;

const DEFAULT_MATCHING: Record<ProviderKind, MemoryMatching> = {
  nats: "nats",
  redis: "glob",
  kafka: "exact",
};

interface LocalSub {
  readonly matchers: readonly TopicMatcher[];
  readonly onEvents: EventsHandler;
  readonly onError?: (err: Error) => void;
  active: boolean;
  /** Events waiting for the next drain; a drain is scheduled whenever this is non-empty. */
  queue: BrokerEvent[];
}

/** In-process broker implementing {@link Provider}; see the module comment. */
export class MemoryProvider implements Provider {
  readonly id: string;
  readonly kind: ProviderKind;
  readonly matching: MemoryMatching;
  private readonly counters: ProviderCounters = newCounters();
  private readonly subs = new Set<LocalSub>();
  private readonly responders = new Map<symbol, { matcher: TopicMatcher; handler: MemoryResponder }>();
  private running = false;
  private stopped = false;
  private readonly retain: number;
  /** The newest `retain` events, oldest first, each with its sequence number in `position`. */
  private log: BrokerEvent[] = [];
  private seq = 0;
  /**
   * With worker threads each worker has its own embedded broker; the cluster sets this so a
   * publish also reaches the other workers' brokers (they take it through deliver()).
   */
  relay: ((topic: string, data: Uint8Array, options?: PublishOptions) => void) | undefined;

  constructor(options: MemoryProviderOptions) {
    this.id = options.id;
    this.kind = options.kind;
    this.matching = options.matching ?? DEFAULT_MATCHING[options.kind];
    this.retain = options.retain ?? 0;
  }

  canReplay(): boolean {
    return this.retain > 0;
  }

  positionOf(event: BrokerEvent): EventPosition | undefined {
    return event.position === undefined ? undefined : { key: LOG_KEY, offset: Number(event.position) };
  }

  async heads(): Promise<Readonly<Record<string, number>>> {
    return { [LOG_KEY]: this.seq };
  }

  async replay(req: ReplayRequest): Promise<void> {
    if (this.retain === 0)
      throw new StreamgateError(ErrorCode.PROVIDER_NOT_BUILT, `memory provider "${this.id}" keeps no log`);
    const after = req.after[LOG_KEY] ?? 0;
    const head = this.seq;
    const oldest = this.log.length > 0 ? Number(this.log[0]!.position) : head + 1;
    if (after + 1 < oldest) req.onGap();
    const matchers = req.topics.map((t) => this.compile(t));
    // A snapshot up to the head at call time; later events come live.
    const missed = this.log.filter((e) => Number(e.position) > after && matchers.some((m) => m(e.topic)));
    for (let i = 0; i < missed.length && !req.signal.aborted; i += 100) {
      await req.onEvents(missed.slice(i, i + 100));
    }
  }

  async start(): Promise<void> {
    if (this.stopped) throw this.unavailable("was stopped and cannot be started again");
    this.running = true;
  }

  /** Same as start(): there is no broker to wait for. Mirrors NatsProvider for the router. */
  async startInBackground(): Promise<void> {
    await this.start();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    for (const sub of this.subs) sub.active = false;
    this.subs.clear();
    this.responders.clear();
  }

  async subscribe(
    topics: readonly string[],
    onEvents: EventsHandler,
    options?: SubscribeOptions,
  ): Promise<Unsubscribe> {
    if (this.stopped) throw this.unavailable("is stopped");
    if (topics.length === 0)
      throw new StreamgateError(ErrorCode.SUBJECT_INVALID, "no topics to subscribe to");
    for (const t of topics) this.checkTopic(t, true);
    // A Set of topics: a duplicate must not deliver twice, and one matcher per topic is enough.
    const sub: LocalSub = {
      matchers: [...new Set(topics)].map((t) => this.compile(t)),
      onEvents,
      onError: options?.onError,
      active: true,
      queue: [],
    };
    this.subs.add(sub);
    return async () => {
      sub.active = false;
      sub.queue = [];
      this.subs.delete(sub);
    };
  }

  async publish(topic: string, data: Uint8Array, options?: PublishOptions): Promise<void> {
    if (!this.running) throw this.notRunning();
    this.checkTopic(topic, false);
    if (options?.key !== undefined && this.kind !== "kafka")
      throw new StreamgateError(ErrorCode.PROVIDER_NOT_BUILT, `${this.kind} messages carry no key`);
    if (options?.headers && Object.keys(options.headers).length > 0 && this.kind === "redis")
      throw new StreamgateError(ErrorCode.PROVIDER_NOT_BUILT, "Redis pub/sub messages carry no headers");
    this.counters.published++;
    this.deliver(topic, data, options);
    this.relay?.(topic, data, options);
  }

  /** Hands a published event to this broker's subscribers (a relayed publish enters here). */
  deliver(topic: string, data: Uint8Array, options?: PublishOptions): void {
    if (!this.running) return;
    // One copy shared by every subscriber: the publisher may reuse its buffer once this resolves.
    const event: BrokerEvent = {
      topic,
      data: data.slice(),
      ...(this.retain > 0 ? { position: String(++this.seq) } : {}),
      ...(options?.headers && Object.keys(options.headers).length > 0
        ? { headers: { ...options.headers } }
        : {}),
      ...(options?.key !== undefined ? { key: new TextEncoder().encode(options.key) } : {}),
    };
    if (this.retain > 0) {
      this.log.push(event);
      if (this.log.length > this.retain * 2) this.log = this.log.slice(-this.retain);
    }
    for (const sub of this.subs) {
      if (!sub.matchers.some((m) => m(topic))) continue;
      sub.queue.push(event);
      // Only the first queued event schedules a drain; later ones in the same tick join its batch.
      if (sub.queue.length === 1) queueMicrotask(() => this.drain(sub));
    }
  }

  /**
   * Registers a responder for request(); `subject` is a pattern in this provider's matching mode.
   * Returns a function that removes it. Used by tests and the demo.
   */
  respond(subject: string, handler: MemoryResponder): () => void {
    const key = Symbol(subject);
    this.responders.set(key, { matcher: this.compile(subject), handler });
    return () => {
      this.responders.delete(key);
    };
  }

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (this.kind !== "nats") {
      throw new StreamgateError(
        ErrorCode.PROVIDER_NOT_BUILT,
        `request/reply is NATS only (provider "${this.id}")`,
      );
    }
    if (!this.running) throw this.notRunning();
    this.checkTopic(subject, false);
    const responder = [...this.responders.values()].find((r) => r.matcher(subject));
    if (!responder) {
      // Like a NATS server with headers support: no responder is known at once, not after a timeout.
      this.counters.errors++;
      throw this.unavailable(`has no responders for subject "${subject}"`);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(this.unavailable(`request to "${subject}" timed out after ${timeoutMs}ms`)),
        timeoutMs,
      );
    });
    // Asynchronous like a real round trip, and the responder sees its own copy of the bytes.
    const reply = Promise.resolve()
      .then(() => responder.handler(data.slice()))
      .catch((err: unknown) => {
        throw this.unavailable(`responder for "${subject}" failed`, err);
      });
    try {
      return (await Promise.race([reply, timeout])).slice();
    } catch (err) {
      this.counters.errors++;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  health(): ProviderHealth {
    return {
      id: this.id,
      kind: this.kind,
      connected: this.running,
      ...(this.running ? {} : { detail: this.stopped ? "stopped" : "not started" }),
      counters: { ...this.counters },
    };
  }

  private drain(sub: LocalSub): void {
    if (!sub.active || sub.queue.length === 0) return;
    const batch = sub.queue;
    sub.queue = [];
    this.counters.received += batch.length;
    try {
      sub.onEvents(batch);
    } catch (err) {
      // A faulty subscriber must not stop delivery to others; its owner hears about it.
      this.counters.errors++;
      report(sub.onError, err);
    }
  }

  private compile(topic: string): TopicMatcher {
    if (this.matching === "nats") return compileNatsSubject(topic);
    if (this.matching === "glob") return compileGlob(topic);
    return (t) => t === topic;
  }

  private checkTopic(topic: string, subscribing: boolean): void {
    const problem =
      this.matching === "nats"
        ? validateNatsSubject(topic, { allowWildcards: subscribing })
        : topic.length === 0
          ? "topic is empty"
          : null;
    if (problem) throw new StreamgateError(ErrorCode.SUBJECT_INVALID, problem);
  }

  private notRunning(): StreamgateError {
    return this.unavailable(this.stopped ? "is stopped" : "is not started");
  }

  private unavailable(what: string, cause?: unknown): StreamgateError {
    return new StreamgateError(ErrorCode.PROVIDER_UNAVAILABLE, `memory provider "${this.id}" ${what}`, {
      cause,
    });
  }
}
