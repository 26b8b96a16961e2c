/**
 * At-least-once delivery for the engine (spec/delivery.md): which subscriptions get cursors,
 * what a resume cursor says, and the replay that brings a resumed subscription up to its live
 * trigger. Providers stay in charge of their broker's positions (`canReplay`, `positionOf`,
 * `heads`, `replay`); this module only decides and orchestrates.
 */
import type { Config } from "../config/types.js";
import { ErrorCode, errorMessage, StreamgateError } from "../errors.js";
import type { TriggerCursors, TriggerReceive } from "../fanout/triggers.js";
import type { Logger } from "../observability/logger.js";
import type { BrokerEvent, EventPosition, Provider, StreamOptions } from "../providers/provider.js";
import { compileNatsSubject } from "../providers/subject.js";
import { CursorCodec, type Positions, triggerFingerprint } from "./cursor.js";
import { PositionCursors } from "./cursors.js";
import { ReplayLimiter } from "./limiter.js";
import { type ReplayMember, type ReplaySource, SharedReplay } from "./replays.js";
import { type DeliveryReport, DeliverySink } from "./sink.js";

/** What one subscription on an at-least-once provider gets. */
export interface SubscriptionDelivery {
  readonly report: DeliveryReport;
  /** Replayable: makes the trigger's cursors (used when this subscription creates the trigger). */
  readonly cursors?: () => TriggerCursors;
  /** The positions of the cursor the client resumes from. */
  readonly resumeAfter?: Positions;
  /** A cursor came, but nothing can be replayed: the first event says `gap`. */
  readonly gap: boolean;
}

export interface DeliveryStats {
  resumes: number;
  /** Broker reads for resumes: fewer than resumes when clients resuming together share one. */
  replayReads: number;
  replayedEvents: number;
  gaps: number;
  cursorsRefused: number;
}

/** One subscription's trigger, as delivery sees it. */
export interface DeliveryTarget {
  readonly providerId: string;
  readonly provider: Provider;
  readonly triggerKey: string;
  readonly topics: readonly string[];
  readonly stream: StreamOptions | undefined;
}

export class Delivery {
  readonly stats: DeliveryStats = {
    resumes: 0,
    replayReads: 0,
    replayedEvents: 0,
    gaps: 0,
    cursorsRefused: 0,
  };
  private readonly codec: CursorCodec | undefined;
  private readonly atLeastOnce = new Set<string>();
  private readonly resumeTimeoutMs: number;
  private readonly maxConcurrentReplays: number;
  /** Replays still accepting clients, by provider, trigger, batch transform and position. */
  private readonly shared = new Map<string, SharedReplay>();
  private readonly limiters = new Map<string, ReplayLimiter>();

  constructor(
    config: Pick<Config, "events" | "delivery">,
    private readonly logger: Logger,
  ) {
    this.reconfigure(config);
    const secret = config.delivery.cursor_secret;
    this.codec = secret ? new CursorCodec(secret) : undefined;
    this.resumeTimeoutMs = config.delivery.resume_timeout;
    this.maxConcurrentReplays = config.delivery.max_concurrent_replays;
  }

  /** Which providers are at-least-once (a reload may change it; the secret needs a restart). */
  reconfigure(config: Pick<Config, "events">): void {
    const { nats, kafka, redis } = config.events.providers;
    this.atLeastOnce.clear();
    for (const p of [...nats, ...kafka, ...redis])
      if (p.delivery === "at_least_once") this.atLeastOnce.add(p.id);
  }

  /**
   * What a subscription on `target` gets; undefined for an at-most-once provider (nothing to do,
   * nothing paid). Throws CURSOR_INVALID for a cursor that does not belong to this subscription.
   */
  forSubscription(target: DeliveryTarget, cursor: unknown): SubscriptionDelivery | undefined {
    if (!this.atLeastOnce.has(target.providerId) || !this.codec) return undefined;
    const codec = this.codec;
    const replayable = target.provider.canReplay?.(target.stream) === true;
    const fingerprint = triggerFingerprint(target.triggerKey);
    let resumeAfter: Positions | undefined;
    if (cursor !== undefined && cursor !== null) {
      let body: ReturnType<CursorCodec["decode"]>;
      try {
        body = codec.decode(cursor);
      } catch (err) {
        this.stats.cursorsRefused++;
        throw err;
      }
      if (body.p !== target.providerId || body.t !== fingerprint) {
        this.stats.cursorsRefused++;
        throw new StreamgateError(
          ErrorCode.CURSOR_INVALID,
          "invalid cursor: it belongs to another subscription",
        );
      }
      resumeAfter = body.o;
      this.stats.resumes++;
    }
    if (!replayable) {
      const reason =
        target.provider.notReplayableReason?.(target.stream) ??
        (target.provider.kind === "nats"
          ? "NATS core subjects are not replayable (give the field a streamConfiguration, or configure delivery.session_buffer)"
          : `${target.provider.kind} pub/sub is not replayable (configure delivery.session_buffer)`);
      if (resumeAfter) this.stats.gaps++;
      return {
        report: { guarantee: "at_least_once", achieved: "at_most_once", reason },
        gap: resumeAfter !== undefined,
      };
    }
    const positionOf = positionReader(target);
    return {
      report: { guarantee: "at_least_once", achieved: "at_least_once" },
      gap: false,
      ...(resumeAfter ? { resumeAfter } : {}),
      cursors: () => {
        const { provider, topics, stream } = target;
        const heads = provider.heads ? () => provider.heads!(topics, stream) : undefined;
        return new PositionCursors(codec, target.providerId, fingerprint, positionOf, {}, heads);
      },
    };
  }

  /**
   * The subscription's delivery sink. `report`: say `extensions.delivery` on its first event (not
   * for a forwarded group: the worker holding the clients says it to each). `replays`: this sink
   * holds live events until {@link replay} hands over.
   */
  sink(
    inner: ConstructorParameters<typeof DeliverySink>[0],
    d: SubscriptionDelivery,
    o: { readonly report: boolean; readonly replays: boolean },
  ): DeliverySink {
    const sink = new DeliverySink(
      inner,
      o.report ? d.report : undefined,
      o.replays && d.cursors ? d.resumeAfter : undefined,
    );
    if (d.gap) sink.markGap();
    return sink;
  }

  /**
   * Replays what the client missed through the subscription's own resolver (same filters,
   * `_entities` and shaping as live events), then lets its held live events through. Clients
   * resuming the same trigger from the same position share one broker read (src/delivery/replays.ts),
   * and a provider runs at most `max_concurrent_replays` reads at once. A read that fails or runs
   * past `resume_timeout` (counted once it runs) goes live anyway, with `gap` on the next event.
   * `receive`: the trigger's batch transform (onReceiveEvents hooks), run on replayed batches
   * too, so a client resuming never sees an event the hook dropped; events a hook added carry no
   * position and are not replayed. Resolves when the subscription went live (or left).
   */
  replay(
    target: DeliveryTarget,
    after: Positions,
    member: Omit<ReplayMember, "signal">,
    signal: AbortSignal,
    receive?: TriggerReceive,
  ): Promise<void> {
    const key = [target.providerId, target.triggerKey, receive?.key ?? "", canonical(after)].join("\u0000");
    const running = this.shared.get(key);
    if (running?.accepting) return running.join({ ...member, signal });
    const shared: SharedReplay = new SharedReplay(this.source(target, after, receive), after, () => {
      if (this.shared.get(key) === shared) this.shared.delete(key);
    });
    this.shared.set(key, shared);
    const joined = shared.join({ ...member, signal });
    void shared.run();
    return joined;
  }

  private source(
    target: DeliveryTarget,
    after: Positions,
    receive: TriggerReceive | undefined,
  ): ReplaySource {
    const { provider, topics, stream, providerId } = target;
    let limiter = this.limiters.get(providerId);
    if (!limiter) {
      limiter = new ReplayLimiter(this.maxConcurrentReplays);
      this.limiters.set(providerId, limiter);
    }
    const slots = limiter;
    return {
      read: (req) => provider.replay!({ topics, ...(stream ? { stream } : {}), ...req }),
      cursors: new PositionCursors(
        this.codec!,
        providerId,
        triggerFingerprint(target.triggerKey),
        positionReader(target),
        after,
      ),
      acquire: (signal) => slots.acquire(signal),
      timeoutMs: this.resumeTimeoutMs,
      receive,
      onRead: () => {
        this.stats.replayReads++;
      },
      onReplayed: () => {
        this.stats.replayedEvents++;
      },
      onGap: () => {
        this.stats.gaps++;
      },
      onFailed: (err) =>
        this.logger.warn({ providerId, err: errorMessage(err) }, "replay failed; resuming live with a gap"),
    };
  }
}

/** Positions as one string, whatever order their keys came in. */
function canonical(p: Positions): string {
  return JSON.stringify(
    Object.keys(p)
      .sort()
      .map((k) => [k, p[k]]),
  );
}

/**
 * Reads positions of a trigger's events. JetStream positions are per stream *and* subject filter:
 * each rendered subject has its own durable, and two durables deliver in stream order each but
 * not against each other, so one number for the stream could skip an event of the slower one.
 */
function positionReader(target: DeliveryTarget): (ev: BrokerEvent) => EventPosition | undefined {
  const { provider, stream, topics } = target;
  const own = provider.positionOf?.bind(provider);
  if (!own) return () => undefined;
  if (provider.kind !== "nats" || !stream) return (ev) => own(ev, stream);
  const matchers = topics.map((t) => [t, compileNatsSubject(t)] as const);
  return (ev) => {
    const p = own(ev, stream);
    const filter = matchers.find(([, m]) => m(ev.topic))?.[0];
    return p && filter !== undefined ? { key: `${p.key}:${filter}`, offset: p.offset } : undefined;
  };
}
