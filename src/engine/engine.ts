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
import { jitLoaded, loadJit } from "../planner/jit.js";
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
import type { Tracing } from "../telemetry/tracing.js";
import { PendingOperation } from "./pending-operation.js";
import { type GroupTag, Subscriptions } from "./subscriptions.js";
import type { HookSet } from "../hooks/hooks.js";
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
  /** OpenTelemetry (src/telemetry), when telemetry.tracing is on. */
  readonly tracing?: Tracing;
  /** Send W3C trace context to subgraphs and in published messages (default true). */
  readonly propagateTrace?: boolean;
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
  /** Stream hooks of the configured modules (docs/hooks.md); absent: none, and nothing paid. */
  readonly hooks?: HookSet;
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

/** What the engine builds from one supergraph; a reload replaces it whole. */
interface Generation {
  readonly supergraph: Supergraph;
  readonly schema: GraphQLSchema;
  readonly planner: Planner;
  readonly admission: Admission;
  readonly subgraphs: SubgraphClient;
  readonly subs: Subscriptions;
}

/** What a reload did to the running subscriptions. */
export interface ReloadReport {
  /** Subscriptions ended with SCHEMA_RELOADED (their groups: why). */
  readonly ended: number;
  readonly reasons: readonly string[];
}

export class Engine implements LocalExecutor {
  readonly triggers: TriggerRegistry;
  readonly topics: TopicRegistry;
  private gen: Generation;
  private readonly ownership: TriggerOwnership | undefined;
  private readonly skips = new Map<SkipReason, number>(SKIP_REASONS.map((r) => [r, 0]));
  private readonly limitCounter: LimitCounter;
  private readonly maxTopics: number;
  private readonly count = { active: 0 };
  private readonly countSkip = (reason: SkipReason): void => {
    this.skips.set(reason, (this.skips.get(reason) ?? 0) + 1);
  };

  constructor(
    supergraph: Supergraph,
    /** Looked up per use: a reload replaces the providers that changed in this map. */
    readonly providers: Map<string, Provider>,
    private readonly options: EngineOptions,
    private readonly logger: Logger,
  ) {
    this.ownership = options.ownership;
    this.limitCounter = options.limitCounter ?? new LimitCounter();
    this.maxTopics = options.maxTopics ?? Number.POSITIVE_INFINITY;
    this.topics = new TopicRegistry((id) => providers.get(id));
    this.triggers = new TriggerRegistry(
      this.topics,
      (err) => logger.error({ err: errorMessage(err) }, "fan-out error"),
      options.observeLatency,
      options.tracing,
    );
    this.gen = this.build(supergraph, undefined);
  }

  /** The current generation's subgraph client (closed at shutdown). */
  get subgraphs(): SubgraphClient {
    return this.gen.subgraphs;
  }

  private build(supergraph: Supergraph, reuse: SubgraphClient | undefined): Generation {
    const { options, logger } = this;
    const schema = supergraph.schema;
    const refused = (limit: LimitName): void => this.limitCounter.refused(limit);
    const subgraphs =
      reuse ??
      new SubgraphClient(
        supergraph.federation.subgraphs,
        options.subgraphTimeoutMs,
        options.propagateTrace ?? true,
      );
    attachResolvers(schema, {
      supergraph,
      provider: (id) => this.providers.get(id),
      requestTimeoutMs: options.requestTimeoutMs,
      logger,
      maxTopics: this.maxTopics,
      refused,
      hooks: options.hooks,
      ...(options.tracing
        ? { tracing: { tracer: options.tracing, propagate: options.propagateTrace ?? true } }
        : {}),
    });
    const planner = new Planner(schema, supergraph.bindings, {
      ...(options.maxDocumentSize ? { maxDocumentSize: options.maxDocumentSize } : {}),
      ...(options.operationLimits ? { operationLimits: options.operationLimits } : {}),
      onLimit: refused,
    });
    const admission = new Admission(supergraph.supergraphSdl, schema, supergraph.bindings, options.security);
    const subs = new Subscriptions({
      supergraph,
      schema,
      subgraphs,
      providers: this.providers,
      triggers: this.triggers,
      logger,
      ownership: this.ownership,
      delivery: options.delivery,
      limitCounter: this.limitCounter,
      maxTopics: this.maxTopics,
      countSkip: this.countSkip,
      count: this.count,
      hooks: options.hooks,
      tracing: options.tracing,
    });
    return { supergraph, schema, planner, admission, subgraphs, subs };
  }

  /**
   * Serves `supergraph` from now on (spec: contract.md, "Reload"). Running subscriptions whose
   * operation still validates against it, on the same event source and provider, keep running on
   * their group without a gap; the others end with SCHEMA_RELOADED. `changedProviders`: ids whose
   * provider object was replaced (their subscriptions end: their broker subscriptions are gone).
   */
  reload(supergraph: Supergraph, changedProviders: ReadonlySet<string>): ReloadReport {
    const old = this.gen;
    const sameSubgraphs = sameEndpoints(old.supergraph, supergraph);
    const next = this.build(supergraph, sameSubgraphs ? old.subgraphs : undefined);
    const reasons = new Set<string>();
    const ended = this.triggers.evict((tag) => {
      const reason = staleBecause(tag as GroupTag, next, changedProviders, sameSubgraphs);
      if (reason) reasons.add(reason);
      return reason;
    });
    this.gen = next;
    // A replaced subgraph client served only groups that were all ended above.
    if (!sameSubgraphs) void old.subgraphs.close();
    return { ended, reasons: [...reasons] };
  }

  get subscriptions(): number {
    return this.count.active;
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
      subscriptions: this.count.active,
      triggers: this.triggers.triggerCount,
      groups: this.triggers.groupCount,
      brokerSubscriptions: this.topics.size,
      cachedPlans: this.gen.planner.cachedPlans,
      eventsReceived: fanout.eventsReceived,
      eventsInvalid: fanout.eventsInvalid,
      eventsSkipped: this.skips,
      resolutions: fanout.resolutions,
      deliveries: fanout.deliveries,
      subgraphs: this.gen.subgraphs.stats,
    };
  }

  /** Plans `req` (cached) and says what kind of operation it is; undefined when it does not plan. */
  operationKind(req: OperationRequest): "query" | "mutation" | "subscription" | undefined {
    // Not a use of the plan: a limit refusal is counted when the operation runs.
    return this.gen.planner.kindOf(req.query, req.operationName);
  }

  /** Runs or subscribes `req` for the caller `ctx`, reporting to `sink`. Never throws. */
  execute(req: OperationRequest, sink: OperationSink, ctx: RequestContext): RunningOperation {
    return this.start(req, sink, ctx, false);
  }

  /**
   * Runs `req` on this worker whoever owns its trigger: for another worker's forwarded group
   * (not counted as a client subscription here; the requesting worker counts its clients).
   */
  executeLocal(
    req: OperationRequest,
    sink: OperationSink,
    ctx: RequestContext,
    topics?: readonly string[],
  ): RunningOperation {
    return this.start(req, sink, ctx, true, topics);
  }

  private start(
    req: OperationRequest,
    sink: OperationSink,
    ctx: RequestContext,
    forwarded: boolean,
    topics?: readonly string[],
  ): RunningOperation {
    if (!jitLoaded()) return this.startAfterLoad(req, sink, ctx, forwarded, topics);
    const planned = this.gen.planner.plan(req.query, req.operationName);
    if (!planned.ok) {
      sink.error(planned.errors);
      return DONE;
    }
    const plan = planned.plan;
    // A forwarded group was admitted by the worker that holds its client.
    const refused = forwarded ? undefined : this.gen.admission.check(plan, ctx);
    if (refused) {
      sink.error(refused);
      return DONE;
    }
    if (plan.kind === "subscription") return this.gen.subs.start(plan, req, sink, ctx, forwarded, topics);
    let cancelled = false;
    this.run(plan, req, ctx).then(
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

  /**
   * The first operations of this thread: planning needs graphql-jit, loaded on first use
   * (src/planner/jit.ts). They start, in the order they came, once it is loaded; one cancelled
   * meanwhile never starts.
   */
  private startAfterLoad(
    req: OperationRequest,
    sink: OperationSink,
    ctx: RequestContext,
    forwarded: boolean,
    topics?: readonly string[],
  ): RunningOperation {
    const pending = new PendingOperation();
    loadJit().then(
      () => {
        if (!pending.cancelled) pending.attach(this.start(req, sink, ctx, forwarded, topics));
      },
      (err: unknown) => {
        this.logger.error({ err: errorMessage(err) }, "graphql-jit could not be loaded");
        if (!pending.cancelled) sink.error([clientError(WireCode.INTERNAL_SERVER_ERROR, "internal error")]);
      },
    );
    return pending;
  }

  /** A query or mutation: routed root fields first, then graphql-jit (EDFS resolvers inside). */
  private async run(plan: OperationPlan, req: OperationRequest, ctx: RequestContext): Promise<string> {
    const rootType =
      plan.kind === "mutation" ? this.gen.schema.getMutationType()! : this.gen.schema.getQueryType()!;
    const fragments = fragmentsOf(plan);
    const raw = req.variables ?? {};
    const hasSubgraphs = this.gen.supergraph.federation.subgraphs.size > 0;
    const env: ResolveEnv | undefined = hasSubgraphs
      ? {
          schema: this.gen.schema,
          model: this.gen.supergraph.federation,
          fragments,
          variableDefinitions: plan.operation.variableDefinitions ?? [],
          // Subgraphs receive the client's variables as sent; they coerce them themselves.
          variables: raw,
          batch: new EntityBatch(this.gen.subgraphs),
          errors: [],
        }
      : undefined;
    let root: Record<string, unknown> = {};
    if (env && routesToSubgraphs(this.gen.supergraph, rootType, plan.operation, fragments)) {
      root = await fetchRoot(env, this.gen.supergraph, this.gen.subgraphs, rootType, plan.operation);
    }
    // The caller reaches publish resolvers for onPublish hooks.
    const caller = { ctx, operationName: req.operationName ?? null, variables: raw };
    const result = await plan.compiled.query(root, env ? { env, caller } : { caller }, raw);
    if (!env || env.errors.length === 0) return JSON.stringify(result);
    return JSON.stringify({ ...result, errors: [...env.errors, ...(result.errors ?? [])] });
  }
}

/** Subgraph names and URLs are the same in both. */
function sameEndpoints(a: Supergraph, b: Supergraph): boolean {
  const x = a.federation.subgraphs;
  const y = b.federation.subgraphs;
  if (x.size !== y.size) return false;
  for (const [name, ep] of x) if (y.get(name)?.url !== ep.url) return false;
  return true;
}

/** Why a running group cannot go on under `next`, or undefined when it can. */
function staleBecause(
  tag: GroupTag | undefined,
  next: Generation,
  changedProviders: ReadonlySet<string>,
  sameSubgraphs: boolean,
): string | undefined {
  if (!tag) return undefined;
  if (changedProviders.has(tag.binding.providerId))
    return `the configuration reloaded: provider "${tag.binding.providerId}" changed; subscribe again`;
  if (!sameSubgraphs) return "the configuration reloaded: the subgraphs changed; subscribe again";
  const planned = next.planner.plan(tag.query, tag.operationName);
  if (!planned.ok)
    return `the schema reloaded and this operation no longer validates: ${planned.errors[0]?.message ?? "invalid"}`;
  if (
    planned.plan.kind !== "subscription" ||
    JSON.stringify(planned.plan.binding) !== JSON.stringify(tag.binding)
  )
    return "the schema reloaded and this field's event source changed; subscribe again";
  return undefined;
}
