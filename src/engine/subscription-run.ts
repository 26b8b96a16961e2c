/**
 * One client subscription once its topics are decided: cancelled by the client, failed by the
 * broker or a hook, evicted by a reload, and (for a resuming client) replayed once its trigger is
 * in place. It exists once per client, 10k+ per process, so its state is the fields of one object
 * rather than half a dozen closures over the scope that set it up (profiles/per-client.md: those
 * closures, their context and the objects they kept were ~1 KB per client).
 */
import type { Positions } from "../delivery/cursor.js";
import type { Delivery, DeliveryTarget } from "../delivery/service.js";
import type { DeliverySink } from "../delivery/sink.js";
import { clientError, ErrorCode } from "../errors.js";
import type { GroupResolver, TriggerMembership, TriggerReceive } from "../fanout/triggers.js";
import type { PlanError } from "../planner/plan.js";
import type { OperationSink, RunningOperation } from "./types.js";

/** What replaying a resuming client's missed events needs; absent for every other subscription. */
export interface ReplayJob {
  readonly delivery: Delivery;
  readonly target: DeliveryTarget;
  readonly after: Positions;
  readonly groupKey: string;
  readonly resolver: GroupResolver;
  readonly receive: TriggerReceive | undefined;
  /** Aborted when the client leaves. */
  readonly abort: AbortController;
}

export class SubscriptionRun implements RunningOperation {
  /** Cancelled, failed or evicted: nothing more reaches the client. */
  cancelled = false;
  /** Its place in the trigger's group, once the broker subscription exists (local only). */
  private membership: TriggerMembership | undefined;
  /** The owner worker's handle, when the trigger is another worker's. */
  private remote: RunningOperation | undefined;
  /**
   * At-least-once subscriptions only (an own property, so `cursor` is absent otherwise, which is
   * how sessions tell them apart).
   */
  declare cursor?: () => string | undefined;

  constructor(
    /** The engine's count of client subscriptions (shared by generations). */
    private readonly count: { active: number },
    /** 1 when this run is counted there (a local client subscription), else 0. */
    private readonly counted: 0 | 1,
    /** The client's sink: errors and closes go there. */
    private readonly sink: OperationSink,
    /** Holds live events while a resume replays (at-least-once only). */
    private readonly deliverySink: DeliverySink | undefined,
    private readonly job: ReplayJob | undefined,
    /** Start steps left before a replay may begin: the broker subscription, a start hook's emits. */
    private waiting: number,
  ) {
    count.active += counted;
  }

  /** Holds events while a start hook runs (set only when one is configured). */
  gate: { readonly holding: boolean } | undefined;

  /** Forwarded to the owner worker: cancelling cancels there. */
  forwardedTo(remote: RunningOperation): void {
    this.remote = remote;
  }

  /** The broker subscription is in place. */
  joined(membership: TriggerMembership): void {
    this.membership = membership;
  }

  cancel(): void {
    const remote = this.remote;
    if (remote) {
      this.cancelled = true;
      remote.cancel();
      return;
    }
    if (this.cancelled) return;
    this.cancelled = true;
    this.job?.abort.abort();
    this.count.active -= this.counted;
    this.membership?.unsubscribe();
  }

  /** Ends the subscription with `errors`, or closes the client's connection with `closeCode`. */
  fail(errors: readonly PlanError[], closeCode?: number): void {
    if (this.cancelled) return;
    this.cancel();
    const sink = this.sink;
    if (closeCode !== undefined && sink.close) sink.close(closeCode, errors[0]?.message ?? "refused");
    else sink.error(errors);
  }

  /** A reload no longer serves this operation (the trigger registry's evict). */
  evict(reason: string): void {
    this.fail([clientError(ErrorCode.SCHEMA_RELOADED, reason)]);
  }

  /** The start hook's gate overflowed. */
  overflow(): void {
    this.fail([clientError(ErrorCode.HOOK_TIMEOUT, "too many events arrived while onSubscriptionStart ran")]);
  }

  /** One start step finished; after the last, a resuming client's missed events are replayed. */
  startReplay(): void {
    if (--this.waiting > 0) return;
    const job = this.job;
    const sink = this.deliverySink;
    if (!job || !sink?.replaying) return;
    void job.delivery.replay(
      job.target,
      job.after,
      { groupKey: job.groupKey, resolve: job.resolver, sink },
      job.abort.signal,
      job.receive,
    );
  }

  /** The newest cursor the client may hold now; not while live events are held (replay, start hook). */
  latestCursor(): string | undefined {
    return this.deliverySink?.replaying || this.gate?.holding ? undefined : this.membership?.cursors?.latest;
  }
}
