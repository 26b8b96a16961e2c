/**
 * The session buffer (spec/delivery.md, "Providers without replay"; docs/delivery.md): a provider
 * decorator that makes NATS core subjects and Redis pub/sub replayable through a log in Redis,
 * shared by every router instance, so a client resumes its cursor on any of them.
 *
 * Per broker subscription (log): every instance with local clients subscribes to the broker, but
 * only the holder of the log's lease appends (a Lua script fenced by the lease, so two instances
 * never append an event twice); every instance, the writer too, delivers to its clients from the
 * log (one blocking XREAD over all its logs), so positions are the log's own. Interest is a ZSET
 * of instance → expiry (now + ttl, refreshed while it has clients): the writer keeps the log
 * written until nobody anywhere had a client for ttl, then lets go. A writer that dies is replaced
 * by an instance with clients once its lease runs out; the new writer first appends a gap marker.
 *
 * The buffer's Redis down: every log goes direct (broker events straight to local clients, no
 * positions), canReplay() is false so new subscriptions are told at_most_once, a counter and a
 * log line say so, and the buffer comes back by itself (gap marker first).
 */
import type { RedisProviderConfig } from "../../config/types.js";
import type { Logger } from "../../observability/logger.js";
import { ErrorCode, errorMessage, StreamgateError } from "../../errors.js";
import type {
  BrokerEvent,
  ConsumerLag,
  EventPosition,
  EventsHandler,
  Provider,
  ProviderHealth,
  ProviderKind,
  ReplayRequest,
  StreamOptions,
  SubscribeOptions,
  Unsubscribe,
} from "../../providers/provider.js";
import { logKeys, parseEntries, parseEventPosition } from "./codec.js";
import { BufferLog, type LocalHandler } from "./log.js";
import { bufferHeads, replayBuffer } from "./replay.js";
import type { SessionBufferStats } from "./stats.js";
import { BufferStore, type TickMode } from "./store.js";

/** A provider the router starts (src/providers/factory.ts, ManagedProvider). */
export type StartableProvider = Provider & { startInBackground(): Promise<void> };

/** How the buffer behaves; from `delivery.session_buffer`. */
export interface BufferSettings {
  readonly maxEvents: number;
  readonly ttlMs: number;
  readonly leaseMs: number;
  /** Longest blocking read (ms): a new log joins the read within this. Default 250. */
  readonly blockMs?: number;
  /** This process's name in leases and interest; unique per process and worker thread. */
  readonly me: string;
  /** The redis provider holding the logs, for messages. */
  readonly storeId: string;
}

/** Events appended per script call. */
const APPEND_BATCH = 256;
/** Entries per log per blocking read. */
const READ_COUNT = 512;
/** Events a writer keeps waiting for Redis before it drops the oldest (and appends a gap marker). */
const MAX_PENDING = 10_000;

export class BufferedProvider implements StartableProvider {
  readonly id: string;
  readonly kind: ProviderKind;
  private readonly stats: Omit<SessionBufferStats, "available" | "logs" | "writing"> = {
    unavailable: 0,
    atMostOnce: 0,
    appended: 0,
    gapMarkers: 0,
    dropped: 0,
    highWater: 0,
    invalidEntries: 0,
  };
  private readonly store: BufferStore;
  private readonly logs = new Map<string, BufferLog>();
  /** undefined until the first connection attempt settles. */
  private available: boolean | undefined;
  private started = false;
  private stopped = false;
  private ticking = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private readonly tickMs: number;
  private readonly blockMs: number;
  private readonly reportError = (err: unknown): void => {
    this.logger.warn({ provider: this.id, err: errorMessage(err) }, "session buffer: a subscriber failed");
  };

  constructor(
    private readonly inner: StartableProvider,
    storeConfig: RedisProviderConfig,
    private readonly settings: BufferSettings,
    private readonly logger: Logger,
  ) {
    this.store = new BufferStore(storeConfig, (why) => this.down(why));
    this.id = inner.id;
    this.kind = inner.kind;
    // Interest must be refreshed well within ttl, and the lease well within its own length.
    this.tickMs = Math.max(30, Math.floor(Math.min(settings.leaseMs, settings.ttlMs) / 3));
    this.blockMs = settings.blockMs ?? 250;
    if (inner.totalLag) this.totalLag = () => inner.totalLag!();
    if (inner.consumerLag) this.consumerLag = () => inner.consumerLag!();
  }

  totalLag?: () => Promise<number>;
  consumerLag?: () => Promise<readonly ConsumerLag[]>;

  async start(): Promise<void> {
    await this.inner.start();
    await this.startBuffer();
  }

  async startInBackground(): Promise<void> {
    await Promise.all([this.inner.startInBackground(), this.startBuffer()]);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.wake?.();
    // Hand the logs over now rather than when the lease runs out: an instance with clients of
    // them takes over at its next tick.
    await Promise.all(
      [...this.logs.values()].map((log) =>
        log.serial(async () => {
          await log.flushing;
          if (this.available && log.writer)
            await this.store.release(log.keys, this.settings.me).catch(() => {});
          await log.broker?.().catch(() => {});
          log.broker = undefined;
        }),
      ),
    );
    this.logs.clear();
    await this.inner.stop();
    await this.store.close();
  }

  health(): ProviderHealth {
    return this.inner.health();
  }

  publish(topic: string, data: Uint8Array): Promise<void> {
    return this.inner.publish(topic, data);
  }

  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return this.inner.request(subject, data, timeoutMs);
  }

  /** The buffer's figures, for /metrics. */
  sessionBuffer(): SessionBufferStats {
    let writing = 0;
    for (const l of this.logs.values()) if (l.writer) writing++;
    return { ...this.stats, available: this.available === true, logs: this.logs.size, writing };
  }

  canReplay(stream: StreamOptions | undefined): boolean {
    if (stream) return this.inner.canReplay?.(stream) === true;
    return this.available === true;
  }

  notReplayableReason(stream: StreamOptions | undefined): string | undefined {
    if (stream || this.available) return undefined;
    return `the session buffer (redis provider "${this.settings.storeId}") is unavailable`;
  }

  positionOf(event: BrokerEvent, stream: StreamOptions | undefined): EventPosition | undefined {
    return stream ? this.inner.positionOf?.(event, stream) : parseEventPosition(event.position);
  }

  async heads(
    topics: readonly string[],
    stream: StreamOptions | undefined,
  ): Promise<Readonly<Record<string, number>>> {
    if (stream) return this.inner.heads ? this.inner.heads(topics, stream) : {};
    if (!this.available) return {};
    return bufferHeads(this.store, this.id, topics);
  }

  async replay(req: ReplayRequest): Promise<void> {
    if (req.stream) {
      if (!this.inner.replay) throw this.error(ErrorCode.PROVIDER_NOT_BUILT, "cannot replay this stream");
      return this.inner.replay(req);
    }
    if (!this.available)
      throw this.error(ErrorCode.PROVIDER_UNAVAILABLE, "cannot replay: the session buffer is unavailable");
    try {
      this.stats.invalidEntries += await replayBuffer(this.store, this.id, req);
    } catch (err) {
      this.down(errorMessage(err));
      throw this.error(ErrorCode.PROVIDER_UNAVAILABLE, "replay from the session buffer failed", err);
    }
  }

  async subscribe(
    topics: readonly string[],
    onEvents: EventsHandler,
    options?: SubscribeOptions,
  ): Promise<Unsubscribe> {
    if (options?.stream) return this.inner.subscribe(topics, onEvents, options);
    if (this.stopped) throw this.error(ErrorCode.PROVIDER_UNAVAILABLE, "is stopped");
    const keys = logKeys(this.id, topics);
    let log = this.logs.get(keys.id);
    if (!log) {
      log = new BufferLog(keys, [...topics], this.reportError);
      this.logs.set(keys.id, log);
    }
    const handler: LocalHandler = { onEvents };
    const held = log;
    held.handlers.add(handler);
    try {
      await held.serial(() => this.attach(held));
    } catch (err) {
      held.handlers.delete(handler);
      await held.serial(() => this.settle(held));
      throw err;
    }
    let left = false;
    return async () => {
      if (left) return;
      left = true;
      held.handlers.delete(handler);
      if (held.handlers.size === 0) await held.serial(() => this.leave(held));
    };
  }

  /** A local subscriber joined: broker subscription, interest, maybe the lease, then read. */
  private async attach(log: BufferLog): Promise<void> {
    await this.ensureBroker(log);
    if (log.readFrom !== undefined && !log.direct) return; // already read for other subscribers
    if (this.available) await this.tick(log, "stay");
    if (this.available) {
      try {
        log.readFrom = (await this.store.head(log.keys))?.id ?? "0-0";
        log.direct = false;
        this.wake?.();
        return;
      } catch (err) {
        this.down(errorMessage(err));
      }
    }
    log.direct = true;
    this.stats.atMostOnce++;
  }

  /** The last local subscriber left: interest runs out after ttl; a writer goes on until then. */
  private async leave(log: BufferLog): Promise<void> {
    if (log.handlers.size > 0) return;
    log.readFrom = undefined;
    log.gapPending = false;
    if (this.available && !log.direct) await this.tick(log, "leave");
    else await this.settle(log);
  }

  /** Forgets a log this instance neither reads nor writes. */
  private async settle(log: BufferLog): Promise<void> {
    if (log.handlers.size > 0 || log.writer) return;
    if (this.logs.get(log.keys.id) === log) this.logs.delete(log.keys.id);
    const unsubscribe = log.broker;
    log.broker = undefined;
    await unsubscribe?.().catch(this.reportError);
  }

  private async ensureBroker(log: BufferLog): Promise<void> {
    if (log.broker) return;
    log.broker = await this.inner.subscribe(log.topics, (events) => this.fromBroker(log, events), {
      onError: this.reportError,
    });
  }

  private fromBroker(log: BufferLog, events: readonly BrokerEvent[]): void {
    if (log.direct) log.deliver(events);
    else if (log.writer) this.enqueue(log, events);
  }

  /** One step of the lease and interest protocol for `log` (scripts.ts, TICK). */
  private async tick(
    log: BufferLog,
    mode: TickMode = log.handlers.size > 0 ? "stay" : "none",
  ): Promise<void> {
    let result: Awaited<ReturnType<BufferStore["tick"]>>;
    try {
      result = await this.store.tick(
        log.keys,
        this.settings.me,
        this.settings.leaseMs,
        this.settings.ttlMs,
        mode,
      );
    } catch (err) {
      this.down(errorMessage(err));
      return;
    }
    if (result.state === "acquired") {
      log.writer = true;
      if (result.existed) log.needsMarker = true;
      this.logger.info(
        { provider: this.id, topics: log.topics, log: log.keys.id, takeover: result.existed },
        "session buffer: writing this log",
      );
      await this.flush(log);
    } else if (result.state !== "writer" && log.writer) {
      log.writer = false;
      log.pending = [];
      if (result.state === "other")
        this.logger.warn(
          { provider: this.id, log: log.keys.id },
          "session buffer: another instance took this log over",
        );
    }
    await this.settle(log);
  }

  private enqueue(log: BufferLog, events: readonly BrokerEvent[]): void {
    log.pending.push(...events);
    const over = log.pending.length - MAX_PENDING;
    if (over > 0) {
      // Redis cannot keep up: keep the newest, and say in the log that some are missing.
      log.pending.splice(0, over);
      log.needsMarker = true;
      this.stats.dropped += over;
    }
    void this.flush(log);
  }

  /** Appends what is pending, one script call per batch; resolves when nothing is left. */
  private flush(log: BufferLog): Promise<void> {
    log.flushing ??= this.appendLoop(log).finally(() => {
      log.flushing = undefined;
      if (log.pending.length > 0 && log.writer && !log.direct) void this.flush(log);
    });
    return log.flushing;
  }

  private async appendLoop(log: BufferLog): Promise<void> {
    const { me, maxEvents, ttlMs } = this.settings;
    while (log.writer && !log.direct && (log.pending.length > 0 || log.needsMarker)) {
      const batch = log.pending.splice(0, APPEND_BATCH);
      const marker = log.needsMarker;
      log.needsMarker = false;
      let result: Awaited<ReturnType<BufferStore["append"]>>;
      try {
        result = await this.store.append(log.keys, me, maxEvents, ttlMs, marker, batch);
      } catch (err) {
        this.stats.dropped += batch.length;
        this.down(errorMessage(err));
        // The reader will not see these: local clients get them straight (at most once).
        log.deliver(batch);
        return;
      }
      if (result === "not-writer") {
        this.stats.dropped += batch.length + log.pending.length;
        log.writer = false;
        log.pending = [];
        return;
      }
      this.stats.appended += batch.length;
      if (marker) this.stats.gapMarkers++;
      this.checkFill(log, result.length);
    }
  }

  private checkFill(log: BufferLog, length: number): void {
    const { maxEvents } = this.settings;
    if (length < 0.8 * maxEvents) {
      log.warnedFull = false;
      return;
    }
    if (log.warnedFull) return;
    log.warnedFull = true;
    this.stats.highWater++;
    this.logger.warn(
      { provider: this.id, topics: log.topics, log: log.keys.id, length, max_events: maxEvents },
      "session buffer log is 80% full: a client away for more events than max_events gets a gap",
    );
  }

  /** The buffer failed: every log goes direct (at most once) until the next tick finds it back. */
  private down(why: string): void {
    if (this.stopped || this.available === false) return;
    this.available = false;
    this.stats.unavailable++;
    this.logger.warn(
      { provider: this.id, buffer: this.settings.storeId, err: why },
      "session buffer unavailable: subscriptions go on at most once until it is back",
    );
    for (const log of this.logs.values()) {
      log.direct = true;
      log.readFrom = undefined;
      if (log.handlers.size > 0) this.stats.atMostOnce += log.handlers.size;
      this.stats.dropped += log.pending.length;
      log.pending = [];
      // Events are lost for the log from now on: the next append says so.
      if (log.writer) log.needsMarker = true;
      if (log.handlers.size === 0) {
        log.writer = false;
        void log.serial(() => this.settle(log));
      }
    }
    this.wake?.();
  }

  private async startBuffer(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.timer = setInterval(() => void this.tickAll(), this.tickMs);
    this.timer.unref();
    void this.readLoop();
    try {
      await this.store.connect();
      await this.store.ping();
    } catch (err) {
      this.down(errorMessage(err));
      return;
    }
    await this.up();
  }

  /** The buffer answers: logs that went direct meanwhile read from it again. */
  private async up(): Promise<void> {
    if (this.available === false)
      this.logger.info(
        { provider: this.id, buffer: this.settings.storeId },
        "session buffer is available again",
      );
    this.available = true;
    await Promise.all([...this.logs.values()].map((log) => log.serial(() => this.recover(log))));
  }

  /** Every tickMs: lease and interest of every log, or a probe while the buffer is unavailable. */
  private async tickAll(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      if (this.available) {
        await Promise.all([...this.logs.values()].map((log) => log.serial(() => this.tick(log))));
        return;
      }
      if (!this.store.ready) return;
      await this.store.ping();
      await this.up();
    } catch {
      // Still down; the next tick tries again.
    } finally {
      this.ticking = false;
    }
  }

  /** Back from an outage: lease and interest again, read from the head, append a gap marker. */
  private async recover(log: BufferLog): Promise<void> {
    if (!log.direct || !this.available) return;
    await this.tick(log);
    if (!this.available || log.handlers.size === 0) {
      if (this.available) log.direct = false;
      return;
    }
    try {
      log.readFrom = (await this.store.head(log.keys))?.id ?? "0-0";
    } catch (err) {
      this.down(errorMessage(err));
      return;
    }
    log.direct = false;
    if (log.writer) void this.flush(log);
    this.wake?.();
  }

  /** One blocking XREAD over every log read for local clients, for as long as the provider runs. */
  private async readLoop(): Promise<void> {
    while (!this.stopped) {
      const reading = [...this.logs.values()].filter(
        (l) => !l.direct && l.readFrom !== undefined && l.handlers.size > 0,
      );
      if (!this.available || reading.length === 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.tickMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
        continue;
      }
      const from = reading.map((l) => l.readFrom!);
      let reply: Map<string, unknown[]>;
      try {
        reply = await this.store.read(
          reading.map((l, i) => [l.keys.log, from[i]!] as const),
          READ_COUNT,
          this.blockMs,
        );
      } catch (err) {
        if (!this.stopped) this.down(errorMessage(err));
        continue;
      }
      reading.forEach((log, i) => {
        const raw = reply.get(log.keys.log);
        // The log was reset meanwhile (an outage, the last client left): this read is stale.
        if (!raw || raw.length === 0 || log.direct || log.readFrom !== from[i]) return;
        const entries = parseEntries(log.keys.id, raw);
        const last = entries.at(-1)?.id;
        log.readFrom = last ?? "$";
        this.stats.invalidEntries += log.deliverEntries(entries);
      });
    }
  }

  private error(
    code: (typeof ErrorCode)[keyof typeof ErrorCode],
    what: string,
    cause?: unknown,
  ): StreamgateError {
    return new StreamgateError(
      code,
      `provider "${this.id}" ${what}`,
      cause === undefined ? undefined : { cause },
    );
  }
}
