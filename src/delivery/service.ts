/**
 * At-least-once delivery for the engine (spec/delivery.md): which subscriptions get cursors,
 * what a resume cursor says, and the replay that brings a resumed subscription up to its live
 * trigger. Providers stay in charge of their broker's positions (`canReplay`, `positionOf`,
 * `heads`, `replay`); this module only decides and orchestrates.
 */
import type { Config } from "../config/types.js";
import type { EventMeta } from "../engine/types.js";
import { ErrorCode, errorMessage, StreamgateError } from "../errors.js";
import {
  type EventScope,
  GroupFailure,
  type GroupResolver,
  type TriggerCursors,
  type TriggerReceive,
} from "../fanout/triggers.js";
import type { Logger } from "../observability/logger.js";
import { decodeEvent } from "../planner/event.js";
import type { BrokerEvent, EventPosition, Provider, StreamOptions } from "../providers/provider.js";
import { compileNatsSubject } from "../providers/subject.js";
import { CursorCodec, type Positions, triggerFingerprint } from "./cursor.js";
import { PositionCursors } from "./cursors.js";
import { type DeliveryReport, DeliverySink, withCursor } from "./sink.js";

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
  readonly stats: DeliveryStats = { resumes: 0, replayedEvents: 0, gaps: 0, cursorsRefused: 0 };
  private readonly codec: CursorCodec | undefined;
  private readonly atLeastOnce = new Set<string>();
  private readonly resumeTimeoutMs: number;

  constructor(
    config: Pick<Config, "events" | "delivery">,
    private readonly logger: Logger,
  ) {
    this.reconfigure(config);
    const secret = config.delivery.cursor_secret;
    this.codec = secret ? new CursorCodec(secret) : undefined;
    this.resumeTimeoutMs = config.delivery.resume_timeout;
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
   * `_entities` and shaping as live events), then lets its held live events through. A replay
   * that fails or runs past `resume_timeout` goes live anyway, with `gap` on the next event.
   * `receive`: the trigger's batch transform (onReceiveEvents hooks), run on replayed batches
   * too, so a client resuming never sees an event the hook dropped; events a hook added carry no
   * position and are not replayed.
   */
  async replay(
    target: DeliveryTarget,
    after: Positions,
    resolve: GroupResolver,
    sink: DeliverySink,
    signal: AbortSignal,
    receive?: TriggerReceive,
  ): Promise<void> {
    const codec = this.codec!;
    const cursors = new PositionCursors(
      codec,
      target.providerId,
      triggerFingerprint(target.triggerKey),
      positionReader(target),
      after,
    );
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.resumeTimeoutMs);
    const both = AbortSignal.any([signal, timeout.signal]);
    let chain: Promise<void> = Promise.resolve();
    const deliver = (json: string | null, meta: EventMeta): void => {
      if (json === null || both.aborted) return;
      this.stats.replayedEvents++;
      sink.replayed(withCursor(json, meta.cursor), meta);
    };
    const onEvents = (events: readonly BrokerEvent[]): Promise<void> => {
      if (receive) {
        chain = chain.then(async () => {
          const out = await receive.transform(
            events,
            events.map((ev) => decodeEvent(ev.data)),
          );
          const metas = events.map((ev) => cursors.advance(ev));
          if (!out.ok) throw new GroupFailure(out.errors);
          for (const item of out.events) {
            const meta = item.source === undefined ? undefined : metas[item.source];
            if (!meta) continue;
            const scope: EventScope = { memo: new Map(), receivedAt: performance.now(), meta };
            deliver(await resolve(item.decoded, item.raw, scope), meta);
          }
        });
        return chain;
      }
      for (const ev of events) {
        const meta = cursors.advance(ev);
        if (!meta) continue;
        const scope: EventScope = { memo: new Map(), receivedAt: performance.now(), meta };
        const out = resolve(decodeEvent(ev.data), ev, scope);
        chain = chain.then(async () => deliver(await out, meta));
      }
      return chain;
    };
    try {
      await target.provider.replay!({
        topics: target.topics,
        ...(target.stream ? { stream: target.stream } : {}),
        after,
        onEvents,
        onGap: () => {
          this.stats.gaps++;
          sink.markGap();
        },
        signal: both,
      });
      await chain;
      if (timeout.signal.aborted && !signal.aborted)
        throw new StreamgateError(ErrorCode.PROVIDER_UNAVAILABLE, "replay timed out");
    } catch (err) {
      if (err instanceof GroupFailure) {
        // A hook's `error` policy: the subscription is over, not resumed with a gap.
        if (!signal.aborted) sink.error(err.errors);
        return;
      }
      if (!signal.aborted) {
        this.stats.gaps++;
        sink.markGap();
        this.logger.warn(
          { providerId: target.providerId, err: errorMessage(err) },
          "replay failed; resuming live with a gap",
        );
      }
    } finally {
      clearTimeout(timer);
    }
    if (!signal.aborted) sink.live();
  }
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
