/**
 * Subscriptions: from a planned subscription to a place in a trigger's resolution group (topics
 * rendered from arguments and claims, the group key, at-least-once delivery and resume), or to
 * the owner worker's group when another worker owns the trigger.
 */
import type { GraphQLSchema } from "graphql";
import type { Delivery, DeliveryTarget, SubscriptionDelivery } from "../delivery/service.js";
import { clientError, ErrorCode, errorMessage, publicCode, publicMessage } from "../errors.js";
import { groupKeyOf, sourceKey } from "../fanout/keys.js";
import type { GroupResolver, TriggerRegistry } from "../fanout/triggers.js";
import { hookErrors } from "../hooks/failures.js";
import type { HookSet } from "../hooks/hooks.js";
import { HookFailure } from "../hooks/runner.js";
import { type HookRequest, hookRequest } from "../hooks/request.js";
import type { Logger } from "../observability/logger.js";
import type { SkipReason } from "../planner/event.js";
import type { PlanError, SubscriptionPlan } from "../planner/plan.js";
import { renderTopics } from "../planner/topics.js";
import type { Provider } from "../providers/provider.js";
import type { SubscribeBinding } from "../schema/model.js";
import type { Supergraph } from "../schema/supergraph.js";
import { type LimitCounter, limitError } from "../security/limits.js";
import type { SubgraphClient } from "../subgraphs/client.js";
import type { Tracing } from "../telemetry/tracing.js";
import { subscriptionResolver } from "./subscription.js";
import { type ReplayJob, SubscriptionRun } from "./subscription-run.js";
import { rewriteRefusal, rewriteTopics, runStartHooks, StartGate } from "./subscription-hooks.js";
import { PendingOperation } from "./pending-operation.js";
import type {
  OperationRequest,
  OperationSink,
  RequestContext,
  RunningOperation,
  TriggerOwnership,
} from "./types.js";
import { stableJson, subscriptionArgs } from "./variables.js";

const DONE: RunningOperation = { cancel() {} };

/** What subscriptions need of the engine. */
export interface SubscriptionsDeps {
  readonly supergraph: Supergraph;
  readonly schema: GraphQLSchema;
  readonly subgraphs: SubgraphClient;
  readonly providers: ReadonlyMap<string, Provider>;
  readonly triggers: TriggerRegistry;
  readonly logger: Logger;
  readonly ownership: TriggerOwnership | undefined;
  readonly delivery: Delivery | undefined;
  readonly limitCounter: LimitCounter;
  readonly maxTopics: number;
  readonly countSkip: (reason: SkipReason) => void;
  /** OpenTelemetry, when on. */
  readonly tracing?: Tracing | undefined;
  /** Client subscriptions running (forwarded groups are counted by their requesting worker); shared by generations. */
  readonly count: { active: number };
  /** Stream hooks (docs/hooks.md); absent when no module is configured. */
  readonly hooks: HookSet | undefined;
}

/** What a resolution group remembers for a reload: its operation, and the event source it read. */
export interface GroupTag {
  readonly query: string;
  readonly operationName: string | null;
  readonly binding: SubscribeBinding;
}

/** A subscription planned and checked, its topics decided: what joining a trigger needs. */
interface Prepared {
  readonly plan: SubscriptionPlan;
  readonly req: OperationRequest;
  readonly sink: OperationSink;
  readonly ctx: RequestContext;
  readonly forwarded: boolean;
  readonly topics: string[];
  readonly resolver: GroupResolver;
  readonly groupKey: string;
  /** Set when stream hooks are configured. */
  readonly hooked: HookRequest | undefined;
}

export class Subscriptions {
  private resumeSeq = 0;
  /** Bindings whose filter renders claims: their groups are per claim values. */
  private readonly claimFilters = new WeakMap<SubscribeBinding, boolean>();

  constructor(private readonly d: SubscriptionsDeps) {}

  start(
    plan: SubscriptionPlan,
    req: OperationRequest,
    sink: OperationSink,
    ctx: RequestContext,
    forwarded: boolean,
    /** A forwarded group's topics, as the worker holding its clients decided them (create hooks). */
    presetTopics?: readonly string[],
  ): RunningOperation {
    const argResult = subscriptionArgs(this.d.schema, plan, req.variables);
    if (!argResult.ok) {
      sink.error(argResult.errors);
      return DONE;
    }
    const { binding } = plan;
    const variables = argResult.variables;
    // Filters rendering claims make results per user: such groups are per claim values too.
    const claimed = this.filterUsesClaims(binding) ? `\u0004${stableJson(ctx.auth?.claims ?? null)}` : "";
    let groupKey = groupKeyOf(req.operationName, req.query, stableJson(variables) + claimed);
    const hooks = this.d.hooks;
    let topics: string[];
    let resolver: GroupResolver;
    try {
      const claims = ctx.auth ? { claims: ctx.auth.claims } : {};
      topics = renderTopics(
        binding.provider,
        binding.topics,
        { args: argResult.args, ...claims },
        this.d.maxTopics,
      );
      // A group with the same key on the same trigger was made from the same operation, variables
      // (and claims, where the filter reads them): its resolver is this subscription's too. Without
      // hooks (which may key groups and topics further) reuse it rather than build one per client.
      const existing = hooks
        ? undefined
        : this.d.triggers.resolverOf(
            sourceKey(binding.providerId, topics, binding.streamConfiguration),
            groupKey,
          );
      // Compiles the filter, whose templates render the client's arguments (and claims) too.
      resolver =
        existing ??
        subscriptionResolver(
          {
            supergraph: this.d.supergraph,
            client: this.d.subgraphs,
            logger: this.d.logger,
            skipped: this.d.countSkip,
          },
          plan,
          argResult.args,
          argResult.variables,
          ctx.auth?.claims,
        );
    } catch (err) {
      const code = publicCode(err, ErrorCode.OPERATION_INVALID);
      if (code === ErrorCode.LIMIT_EXCEEDED) this.d.limitCounter.refused("max_topics_per_subscription");
      sink.error([
        code === ErrorCode.LIMIT_EXCEEDED
          ? limitError("max_topics_per_subscription", publicMessage(err, "too many topics"))
          : clientError(code, publicMessage(err, "invalid topic arguments")),
      ]);
      return DONE;
    }
    if (!this.d.providers.has(binding.providerId)) {
      sink.error([
        {
          message: `provider "${binding.providerId}" is not available`,
          extensions: { code: ErrorCode.PROVIDER_UNAVAILABLE },
        },
      ]);
      return DONE;
    }
    if (!hooks) {
      return this.join({ plan, req, sink, ctx, forwarded, topics, resolver, groupKey, hooked: undefined });
    }
    const request = hookRequest(ctx, req.operationName, variables, plan.fieldName, binding.providerId);
    if (hooks.has("onDeliver")) {
      try {
        // onDeliver runs once per group: groups are split by what it reads.
        groupKey += hooks.deliverKey(request);
      } catch (err) {
        hooks.report(err, { field: plan.fieldName });
        sink.error(hookErrors(err));
        return DONE;
      }
    }
    const prepared = (t: string[]): Prepared => ({
      plan,
      req,
      sink,
      ctx,
      forwarded,
      topics: t,
      resolver,
      groupKey,
      hooked: request,
    });
    if (presetTopics) return this.join(prepared([...presetTopics]));
    if (!hooks.has("onSubscriptionCreate") || forwarded) return this.join(prepared(topics));
    const pending = new PendingOperation();
    rewriteTopics(hooks, request, binding.provider, topics, this.d.maxTopics).then(
      (rewritten) => {
        if (!pending.cancelled) pending.attach(this.join(prepared(rewritten)));
      },
      (err: unknown) => {
        if (pending.cancelled) return;
        hooks.report(err, { field: plan.fieldName });
        sink.error(err instanceof HookFailure ? hookErrors(err) : rewriteRefusal(err, this.d.limitCounter));
      },
    );
    return pending;
  }

  /** Joins the subscription to its trigger's group, here or at the owner worker. */
  private join(p: Prepared): RunningOperation {
    const { plan, req, sink, ctx, forwarded, topics, groupKey, hooked } = p;
    const { binding } = plan;
    const hooks = hooked ? this.d.hooks : undefined;
    const resolver =
      hooks?.has("onDeliver") && hooked
        ? hooks.deliverer(p.resolver, hooked, topics, this.d.countSkip)
        : p.resolver;
    const stream = binding.streamConfiguration;
    const triggerKey = sourceKey(binding.providerId, topics, stream);
    const target: DeliveryTarget = {
      providerId: binding.providerId,
      provider: this.d.providers.get(binding.providerId)!,
      triggerKey,
      topics,
      stream,
    };
    // A client's cursor resumes here (for a forwarded group, the requesting worker replays for its
    // client); a forwarded group carries one only when it moved to this worker (a rebalance).
    let delivery: SubscriptionDelivery | undefined;
    try {
      delivery = this.d.delivery?.forSubscription(target, req.extensions?.cursor);
    } catch (err) {
      sink.error([
        clientError(publicCode(err, ErrorCode.CURSOR_INVALID), publicMessage(err, "invalid cursor")),
      ]);
      return DONE;
    }
    const remote = this.d.ownership !== undefined && !forwarded && !this.d.ownership.isLocal(triggerKey);
    // The worker that owns the trigger replays (its positions are the live ones); the worker that
    // holds the client tells it what it gets.
    const deliverySink = delivery
      ? this.d.delivery!.sink(sink, delivery, { report: !forwarded, replays: !remote })
      : undefined;
    const receive = hooks?.has("onReceiveEvents")
      ? hooks.receiver(plan.fieldName, binding.providerId)
      : undefined;
    const job: ReplayJob | undefined =
      delivery?.resumeAfter && deliverySink
        ? {
            delivery: this.d.delivery!,
            target,
            after: delivery.resumeAfter,
            groupKey,
            resolver,
            receive,
            abort: new AbortController(),
          }
        : undefined;
    // Replayed events come after the start hook's emits: the replay waits for both.
    const waiting = hooks?.has("onSubscriptionStart") && !forwarded ? 2 : 1;
    // Counted here unless forwarded, or forwarded on (forward() counts those).
    const run = new SubscriptionRun(
      this.d.count,
      forwarded || remote ? 0 : 1,
      sink,
      deliverySink,
      job,
      waiting,
    );
    const gate = waiting === 2 ? new StartGate(deliverySink ?? sink, () => run.overflow()) : undefined;
    run.gate = gate;
    const subscriber: OperationSink = gate ?? deliverySink ?? sink;
    const started = (): void => {
      if (!gate || !hooks || !hooked) return;
      void runStartHooks({
        hooks,
        request: hooked,
        topics,
        resolver,
        gate,
        fail: (errors, closeCode) => run.fail(errors, closeCode),
        cancelled: () => run.cancelled,
        onError: (err) => this.d.logger.error({ err: errorMessage(err) }, "emitted event failed"),
      }).then((open) => {
        if (open) run.startReplay();
      });
    };
    if (remote) {
      // A resuming client gets a group of its own at the owner, which replays into it; others
      // share the group, without their cursor.
      const resuming = delivery?.resumeAfter !== undefined && delivery.cursors !== undefined;
      const { extensions: _cursor, ...shared } = req;
      const key = resuming ? `${groupKey}\u0005${++this.resumeSeq}` : groupKey;
      run.forwardedTo(
        this.forward(triggerKey, key, resuming ? req : shared, ctx, subscriber, hooked ? topics : undefined),
      );
      started();
      return run;
    }
    // With tracing on: a span from the subscribe to its broker subscription being in place.
    const span = this.d.tracing?.start("streamgate.subscribe", ctx.trace, {
      "graphql.operation.name": req.operationName ?? "",
      "streamgate.provider": binding.providerId,
      "streamgate.topics": topics.length,
    });
    this.d.triggers
      .subscribe({
        providerId: binding.providerId,
        topics,
        groupKey,
        ...(stream ? { stream } : {}),
        resolver,
        subscriber,
        // With hooks a group may end its subscriptions (failure policy `error`): they leave it.
        ...(hooked ? { end: (errors: readonly PlanError[]) => run.fail(errors) } : {}),
        ...(delivery?.cursors ? { cursors: delivery.cursors } : {}),
        ...(receive ? { receive } : {}),
        tag: { query: req.query, operationName: req.operationName ?? null, binding } satisfies GroupTag,
        evict: run,
      })
      .then(
        (m) => {
          if (run.cancelled) {
            span?.end();
            m.unsubscribe();
            return;
          }
          run.joined(m);
          span?.end();
          run.startReplay();
        },
        (err) => {
          span?.fail(errorMessage(err));
          span?.end();
          if (run.cancelled) return;
          run.cancel();
          this.d.logger.warn(
            { err: errorMessage(err), providerId: binding.providerId, topics },
            "broker subscribe failed",
          );
          sink.error([
            // The provider's code says why (e.g. a subject outside the broker account's permissions).
            clientError(
              publicCode(err, ErrorCode.PROVIDER_UNAVAILABLE),
              `could not subscribe: ${publicMessage(err, "the broker refused the subscription")}`,
            ),
          ]);
        },
      );
    started();
    if (delivery?.cursors) run.cursor = () => run.latestCursor();
    return run;
  }

  private filterUsesClaims(binding: SubscribeBinding): boolean {
    let uses = this.claimFilters.get(binding);
    if (uses === undefined) {
      uses = binding.filter !== undefined && JSON.stringify(binding.filter).includes("request.auth.claims");
      this.claimFilters.set(binding, uses);
    }
    return uses;
  }

  /** Joins the owner worker's group; counted here, where the client is. */
  private forward(
    triggerKey: string,
    groupKey: string,
    req: OperationRequest,
    ctx: RequestContext,
    sink: OperationSink,
    topics: readonly string[] | undefined,
  ): RunningOperation {
    let ended = false;
    const end = (): boolean => {
      if (ended) return false;
      ended = true;
      this.d.count.active--;
      return true;
    };
    this.d.count.active++;
    const run = this.d.ownership!.subscribe(triggerKey, groupKey, req, ctx, topics, {
      next: (json, meta) => sink.next(json, meta),
      error: (errors) => {
        if (end()) sink.error(errors);
      },
      complete: () => {
        if (end()) sink.complete();
      },
    });
    return {
      cancel: () => {
        if (end()) run.cancel();
      },
    };
  }
}
