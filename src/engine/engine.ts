/**
 * The operation engine: plans an operation, then either runs it once (query, mutation) or joins
 * it to a trigger and resolution group (subscription). Transports (WebSocket, HTTP, SSE) only
 * adapt their sockets to `OperationSink`.
 */
import type { GraphQLSchema } from "graphql";
import { clientError, errorMessage, WireCode } from "../errors.js";
import { TopicRegistry } from "../fanout/topic-registry.js";
import { type LatencyObserver, TriggerRegistry } from "../fanout/triggers.js";
import type { Logger } from "../observability/logger.js";
import type { ResolveEnv } from "../federation/resolve.js";
import { SKIP_REASONS, type SkipReason } from "../planner/event.js";
import type { OperationLimits } from "../planner/operation-limits.js";
import { type OperationPlan, Planner } from "../planner/plan.js";
import type { Provider } from "../providers/provider.js";
import type { Supergraph } from "../schema/supergraph.js";
import { LimitCounter, type LimitName } from "../security/limits.js";
import { SubgraphClient } from "../subgraphs/client.js";
import { EntityBatch } from "../subgraphs/entity-batch.js";
import { fetchRoot, routesToSubgraphs } from "./operation.js";
import { attachResolvers } from "./resolvers.js";
import { fragmentsOf } from "./subscription.js";
import type { Security } from "../security/security.js";
import type { Delivery } from "../delivery/service.js";
import { Admission } from "./admission.js";
import { Subscriptions } from "./subscriptions.js";
import type {
  LocalExecutor,
  OperationRequest,
  OperationSink,
  RequestContext,
  RunningOperation,
  TriggerOwnership,
} from "./types.js";

export interface EngineOptions {
  readonly requestTimeoutMs: number;
  readonly subgraphTimeoutMs: number;
  readonly maxDocumentSize?: number;
  /** Set on worker threads (src/workers): who owns each trigger. */
  readonly ownership?: TriggerOwnership;
  /** Event-to-sockets latency, once per group per event (the metrics histogram). */
  readonly observeLatency?: LatencyObserver;
  /** Rate limits and their counters; absent: no rate limits. */
  readonly security?: Pick<Security, "limiters" | "stats">;
  /** At-least-once delivery (cursors, resume); absent: every provider is at-most-once. */
  readonly delivery?: Delivery;
  /** limits.max_topics_per_subscription (also bounds publish and request subjects). */
  readonly maxTopics?: number;
  /** limits.max_operation_depth / aliases / root_fields. */
  readonly operationLimits?: OperationLimits;
  /** Where refusals for a limit are counted (shared with the transports). */
  readonly limitCounter?: LimitCounter;
}

const DONE: RunningOperation = { cancel() {} };

/** A snapshot of the engine's gauges and counters, read at metrics scrape time. */
export interface EngineStats {
  readonly subscriptions: number;
  readonly triggers: number;
  readonly groups: number;
  readonly brokerSubscriptions: number;
  readonly cachedPlans: number;
  readonly eventsReceived: number;
  readonly eventsInvalid: number;
  /** Events a group skipped, by reason (counted once per group per event). */
  readonly eventsSkipped: ReadonlyMap<SkipReason, number>;
  readonly resolutions: number;
  readonly deliveries: number;
  /** Requests sent to and failed at each ordinary subgraph. */
  readonly subgraphs: ReadonlyMap<string, { readonly requests: number; readonly failures: number }>;
}

export class Engine implements LocalExecutor {
  readonly planner: Planner;
  readonly triggers: TriggerRegistry;
  readonly topics: TopicRegistry;
  readonly subgraphs: SubgraphClient;
  private readonly schema: GraphQLSchema;
  private readonly subs: Subscriptions;
  private readonly ownership: TriggerOwnership | undefined;
  private readonly admission: Admission;
  private readonly skips = new Map<SkipReason, number>(SKIP_REASONS.map((r) => [r, 0]));
  private readonly limitCounter: LimitCounter;
  private readonly maxTopics: number;
  private readonly countSkip = (reason: SkipReason): void => {
    this.skips.set(reason, (this.skips.get(reason) ?? 0) + 1);
  };

  constructor(
    private readonly supergraph: Supergraph,
    readonly providers: ReadonlyMap<string, Provider>,
    options: EngineOptions,
    private readonly logger: Logger,
  ) {
    this.schema = supergraph.schema;
    this.ownership = options.ownership;
    this.limitCounter = options.limitCounter ?? new LimitCounter();
    this.maxTopics = options.maxTopics ?? Number.POSITIVE_INFINITY;
    const refused = (limit: LimitName): void => this.limitCounter.refused(limit);
    this.subgraphs = new SubgraphClient(supergraph.federation.subgraphs, options.subgraphTimeoutMs);
    attachResolvers(this.schema, {
      supergraph,
      provider: (id) => providers.get(id),
      requestTimeoutMs: options.requestTimeoutMs,
      logger,
      maxTopics: this.maxTopics,
      refused,
    });
    this.planner = new Planner(this.schema, supergraph.bindings, {
      ...(options.maxDocumentSize ? { maxDocumentSize: options.maxDocumentSize } : {}),
      ...(options.operationLimits ? { operationLimits: options.operationLimits } : {}),
      onLimit: refused,
    });
    this.admission = new Admission(
      supergraph.supergraphSdl,
      this.schema,
      supergraph.bindings,
      options.security,
    );
    this.topics = new TopicRegistry((id) => providers.get(id));
    this.triggers = new TriggerRegistry(
      this.topics,
      (err) => logger.error({ err: errorMessage(err) }, "fan-out error"),
      options.observeLatency,
    );
    this.subs = new Subscriptions({
      supergraph,
      schema: this.schema,
      subgraphs: this.subgraphs,
      providers,
      triggers: this.triggers,
      logger,
      ownership: this.ownership,
      delivery: options.delivery,
      limitCounter: this.limitCounter,
      maxTopics: this.maxTopics,
      countSkip: this.countSkip,
    });
  }

  get subscriptions(): number {
    return this.subs.active;
  }

  /**
   * The fan-out counters a worker link adjusts: a forwarded group's hand-off to its requester is
   * not a delivery; the requester's own sockets are.
   */
  get fanoutCounters(): { deliveries: number } {
    return this.triggers.stats;
  }

  stats(): EngineStats {
    const fanout = this.triggers.stats;
    return {
      subscriptions: this.subs.active,
      triggers: this.triggers.triggerCount,
      groups: this.triggers.groupCount,
      brokerSubscriptions: this.topics.size,
      cachedPlans: this.planner.cachedPlans,
      eventsReceived: fanout.eventsReceived,
      eventsInvalid: fanout.eventsInvalid,
      eventsSkipped: this.skips,
      resolutions: fanout.resolutions,
      deliveries: fanout.deliveries,
      subgraphs: this.subgraphs.stats,
    };
  }

  /** Plans `req` (cached) and says what kind of operation it is; undefined when it does not plan. */
  operationKind(req: OperationRequest): "query" | "mutation" | "subscription" | undefined {
    // Not a use of the plan: a limit refusal is counted when the operation runs.
    return this.planner.kindOf(req.query, req.operationName);
  }

  /** Runs or subscribes `req` for the caller `ctx`, reporting to `sink`. Never throws. */
  execute(req: OperationRequest, sink: OperationSink, ctx: RequestContext): RunningOperation {
    return this.start(req, sink, ctx, false);
  }

  /**
   * Runs `req` on this worker whoever owns its trigger: for another worker's forwarded group
   * (not counted as a client subscription here; the requesting worker counts its clients).
   */
  executeLocal(req: OperationRequest, sink: OperationSink, ctx: RequestContext): RunningOperation {
    return this.start(req, sink, ctx, true);
  }

  private start(
    req: OperationRequest,
    sink: OperationSink,
    ctx: RequestContext,
    forwarded: boolean,
  ): RunningOperation {
    const planned = this.planner.plan(req.query, req.operationName);
    if (!planned.ok) {
      sink.error(planned.errors);
      return DONE;
    }
    const plan = planned.plan;
    // A forwarded group was admitted by the worker that holds its client.
    const refused = forwarded ? undefined : this.admission.check(plan, ctx);
    if (refused) {
      sink.error(refused);
      return DONE;
    }
    if (plan.kind === "subscription") return this.subs.start(plan, req, sink, ctx, forwarded);
    let cancelled = false;
    this.run(plan, req).then(
      (json) => {
        if (cancelled) return;
        sink.next(json);
        sink.complete();
      },
      (err) => {
        this.logger.error({ err: errorMessage(err) }, "operation failed");
        if (!cancelled) sink.error([clientError(WireCode.INTERNAL_SERVER_ERROR, "internal error")]);
      },
    );
    return {
      cancel: () => {
        cancelled = true;
      },
    };
  }

  /** A query or mutation: routed root fields first, then graphql-jit (EDFS resolvers inside). */
  private async run(plan: OperationPlan, req: OperationRequest): Promise<string> {
    const rootType = plan.kind === "mutation" ? this.schema.getMutationType()! : this.schema.getQueryType()!;
    const fragments = fragmentsOf(plan);
    const raw = req.variables ?? {};
    const hasSubgraphs = this.supergraph.federation.subgraphs.size > 0;
    const env: ResolveEnv | undefined = hasSubgraphs
      ? {
          schema: this.schema,
          model: this.supergraph.federation,
          fragments,
          variableDefinitions: plan.operation.variableDefinitions ?? [],
          // Subgraphs receive the client's variables as sent; they coerce them themselves.
          variables: raw,
          batch: new EntityBatch(this.subgraphs),
          errors: [],
        }
      : undefined;
    let root: Record<string, unknown> = {};
    if (env && routesToSubgraphs(this.supergraph, rootType, plan.operation, fragments)) {
      root = await fetchRoot(env, this.supergraph, this.subgraphs, rootType, plan.operation);
    }
    const result = await plan.compiled.query(root, env ? { env } : {}, raw);
    if (!env || env.errors.length === 0) return JSON.stringify(result);
    return JSON.stringify({ ...result, errors: [...env.errors, ...(result.errors ?? [])] });
  }
}
