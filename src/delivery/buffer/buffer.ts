/**
 * The session buffer of one provider in one process (docs/delivery.md, "Session buffer"): its
 * logs, the lease and interest protocol (scripts.ts, TICK) run every third of the lease, and the
 * fall-back to at-most-once when the buffer's Redis is unavailable.
 *
 * Per log: every instance with local clients subscribes to the broker, but only the lease holder
 * appends (writer.ts); every instance, the writer too, delivers to its clients from the log
 * (reader.ts), so positions are the log's own. Interest is a ZSET of instance → expiry (now +
 * ttl, refreshed while it has clients): the writer keeps the log written until nobody anywhere
 * had a client for ttl, then lets go. A writer that dies is replaced by an instance with clients
 * once its lease runs out; the new writer first appends a gap marker.
 *
 * Unavailable: every log goes direct (broker events straight to local clients, without
 * positions), a counter and a log line say so, and a probe every tick brings the logs back
 * (the writer appends a gap marker first, since it could not append meanwhile).
 */
import type { RedisProviderConfig } from "../../config/types.js";
import { errorMessage } from "../../errors.js";
import type { Logger } from "../../observability/logger.js";
import type { EventsHandler, Provider, Unsubscribe } from "../../providers/provider.js";
import { logKeys } from "./codec.js";
import { BufferLog, type LocalHandler } from "./log.js";
import { LogReader } from "./reader.js";
import { type BufferCounters, newBufferCounters, type SessionBufferStats } from "./stats.js";
import { BufferStore, type TickMode } from "./store.js";
import { enqueue, flush, type WriterContext } from "./writer.js";

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

export class SessionBuffer {
  readonly store: BufferStore;
  readonly counters: BufferCounters = newBufferCounters();
  private readonly logs = new Map<string, BufferLog>();
  /** undefined until the first connection attempt settles. */
  private state: boolean | undefined;
  private started = false;
  private stopped = false;
  private ticking = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly tickMs: number;
  private readonly reader: LogReader;
  private readonly writer: WriterContext;
  private readonly reportError = (err: unknown): void => {
    this.logger.warn(
      { provider: this.providerId, err: errorMessage(err) },
      "session buffer: a subscriber failed",
    );
  };

  constructor(
    private readonly providerId: string,
    /** The wrapped provider: its broker subscriptions feed the logs. */
    private readonly broker: Provider,
    storeConfig: RedisProviderConfig,
    private readonly settings: BufferSettings,
    private readonly logger: Logger,
  ) {
    this.store = new BufferStore(storeConfig, (why) => this.down(why));
    // Interest must be refreshed well within ttl, and the lease well within its own length.
    this.tickMs = Math.max(30, Math.floor(Math.min(settings.leaseMs, settings.ttlMs) / 3));
    this.reader = new LogReader({
      store: this.store,
      counters: this.counters,
      blockMs: settings.blockMs ?? 250,
      idleMs: this.tickMs,
      logs: () => this.logs.values(),
      available: () => this.available,
      stopped: () => this.stopped,
      down: (why) => this.down(why),
    });
    this.writer = {
      providerId,
      store: this.store,
      me: settings.me,
      maxEvents: settings.maxEvents,
      ttlMs: settings.ttlMs,
      counters: this.counters,
      logger,
      down: (why) => this.down(why),
    };
  }

  /** The buffer's Redis answers: new subscriptions can be replayed. */
  get available(): boolean {
    return this.state === true;
  }

  stats(): SessionBufferStats {
    let writing = 0;
    for (const l of this.logs.values()) if (l.writer) writing++;
    return { ...this.counters, available: this.available, logs: this.logs.size, writing };
  }

  /** Connects (never rejects: unreachable means at most once until a tick finds it back). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.timer = setInterval(() => void this.tickAll(), this.tickMs);
    this.timer.unref();
    void this.reader.run();
    try {
      await this.store.connect();
      await this.store.ping();
    } catch (err) {
      this.down(errorMessage(err));
      return;
    }
    await this.up();
  }

  /** Hands every log over (leases released, so an instance with clients takes over at once). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.reader.wake();
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
    await this.store.close();
  }

  /** A local subscription of `topics` (one broker subscription's worth): read from its log. */
  async join(topics: readonly string[], onEvents: EventsHandler): Promise<Unsubscribe> {
    const keys = logKeys(this.providerId, topics);
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

  /** The buffer failed: every log goes direct (at most once) until a tick finds it back. */
  down(why: string): void {
    if (this.stopped || this.state === false) return;
    this.state = false;
    this.counters.unavailable++;
    this.logger.warn(
      { provider: this.providerId, buffer: this.settings.storeId, err: why },
      "session buffer unavailable: subscriptions go on at most once until it is back",
    );
    for (const log of this.logs.values()) {
      log.direct = true;
      log.readFrom = undefined;
      this.counters.atMostOnce += log.handlers.size;
      this.counters.dropped += log.pending.length;
      log.pending = [];
      // Events are lost for the log from now on: its next append says so.
      if (log.writer) log.needsMarker = true;
      if (log.handlers.size === 0) {
        log.writer = false;
        void log.serial(() => this.settle(log));
      }
    }
    this.reader.wake();
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
        this.reader.wake();
        return;
      } catch (err) {
        this.down(errorMessage(err));
      }
    }
    log.direct = true;
    this.counters.atMostOnce++;
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
    log.broker = await this.broker.subscribe(
      log.topics,
      (events) => {
        if (log.direct) log.deliver(events);
        else if (log.writer) enqueue(this.writer, log, events);
      },
      { onError: this.reportError },
    );
  }

  /** One step of the lease and interest protocol for `log` (scripts.ts, TICK). */
  private async tick(
    log: BufferLog,
    mode: TickMode = log.handlers.size > 0 ? "stay" : "none",
  ): Promise<void> {
    const { me, leaseMs, ttlMs } = this.settings;
    let result: Awaited<ReturnType<BufferStore["tick"]>>;
    try {
      result = await this.store.tick(log.keys, me, leaseMs, ttlMs, mode);
    } catch (err) {
      this.down(errorMessage(err));
      return;
    }
    if (result.state === "acquired") {
      log.writer = true;
      if (result.existed) log.needsMarker = true;
      this.logger.info(
        { provider: this.providerId, topics: log.topics, log: log.keys.id, takeover: result.existed },
        "session buffer: this instance writes the log",
      );
      await flush(this.writer, log);
    } else if (result.state !== "writer" && log.writer) {
      log.writer = false;
      log.pending = [];
      if (result.state === "other")
        this.logger.warn(
          { provider: this.providerId, log: log.keys.id },
          "session buffer: another instance took the log over",
        );
    }
    await this.settle(log);
  }

  /** Every tick: lease and interest of every log, or a probe while the buffer is unavailable. */
  private async tickAll(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      if (this.available) {
        await Promise.all([...this.logs.values()].map((log) => log.serial(() => this.tick(log))));
      } else if (this.store.ready) {
        await this.store.ping();
        await this.up();
      }
    } catch {
      // Still unavailable; the next tick tries again.
    } finally {
      this.ticking = false;
    }
  }

  /** The buffer answers: logs that went direct meanwhile read from it again. */
  private async up(): Promise<void> {
    if (this.state === false)
      this.logger.info(
        { provider: this.providerId, buffer: this.settings.storeId },
        "session buffer is available again",
      );
    this.state = true;
    await Promise.all([...this.logs.values()].map((log) => log.serial(() => this.recover(log))));
  }

  /** Back from an outage: lease and interest again, read from the head, gap marker if writer. */
  private async recover(log: BufferLog): Promise<void> {
    if (!log.direct || !this.available) return;
    await this.tick(log);
    if (!this.available) return;
    if (log.handlers.size > 0) {
      try {
        log.readFrom = (await this.store.head(log.keys))?.id ?? "0-0";
      } catch (err) {
        this.down(errorMessage(err));
        return;
      }
    }
    log.direct = false;
    if (log.writer) void flush(this.writer, log);
    this.reader.wake();
  }
}
