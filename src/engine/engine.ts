/**
 * The operation engine: plans an operation, then either runs it once (query, mutation) or joins
 * it to a trigger and resolution group (subscription). Transports (WebSocket, HTTP, SSE) only
 * adapt their sockets to `OperationSink`.
 */
import type { GraphQLSchema } from "graphql";
import { ErrorCode, errorMessage, StreamgateError } from "../errors.js";
import { TopicRegistry } from "../fanout/topic-registry.js";
import { type GroupResolver, TriggerRegistry } from "../fanout/triggers.js";
import type { Logger } from "../observability/logger.js";
import { checkEvent } from "../planner/event.js";
import { type PlanError, Planner, type SubscriptionPlan } from "../planner/plan.js";
import { renderTopics } from "../planner/topics.js";
import type { Provider } from "../providers/provider.js";
import type { Supergraph } from "../schema/supergraph.js";
import { attachResolvers } from "./resolvers.js";
import { stableJson, subscriptionArgs } from "./variables.js";

export interface OperationRequest {
  readonly query: string;
  readonly operationName?: string | null;
  readonly variables?: Record<string, unknown> | null;
  readonly extensions?: Record<string, unknown> | null;
}

/** Where an operation's results go. Implementations must not throw. */
export interface OperationSink {
  /** One serialized ExecutionResult (`{"data":…}` / `{"errors":…}`). */
  next(payloadJson: string): void;
  /** The operation could not start; it is over. */
  error(errors: readonly PlanError[]): void;
  /** The operation finished normally (queries, mutations). */
  complete(): void;
}

export interface RunningOperation {
  /** Stops the operation; no further sink calls are made. Idempotent. */
  cancel(): void;
}

export interface EngineOptions {
  readonly requestTimeoutMs: number;
  readonly maxDocumentSize?: number;
}

const DONE: RunningOperation = { cancel() {} };

function errorJson(message: string, code: string): string {
  return JSON.stringify({ errors: [{ message, extensions: { code } }] });
}

export class Engine {
  readonly planner: Planner;
  readonly triggers: TriggerRegistry;
  readonly topics: TopicRegistry;
  private readonly schema: GraphQLSchema;
  private activeSubscriptions = 0;

  constructor(
    private readonly supergraph: Supergraph,
    private readonly providers: ReadonlyMap<string, Provider>,
    options: EngineOptions,
    private readonly logger: Logger,
  ) {
    this.schema = supergraph.schema;
    attachResolvers(this.schema, {
      supergraph,
      provider: (id) => providers.get(id),
      requestTimeoutMs: options.requestTimeoutMs,
      logger,
    });
    this.planner = new Planner(this.schema, supergraph.bindings, {
      ...(options.maxDocumentSize ? { maxDocumentSize: options.maxDocumentSize } : {}),
    });
    this.topics = new TopicRegistry((id) => providers.get(id));
    this.triggers = new TriggerRegistry(this.topics, (err) =>
      logger.error({ err: errorMessage(err) }, "fan-out error"),
    );
  }

  get subscriptions(): number {
    return this.activeSubscriptions;
  }

  /** Runs or subscribes `req`, reporting to `sink`. Never throws. */
  execute(req: OperationRequest, sink: OperationSink): RunningOperation {
    const planned = this.planner.plan(req.query, req.operationName);
    if (!planned.ok) {
      sink.error(planned.errors);
      return DONE;
    }
    const plan = planned.plan;
    if (plan.kind === "subscription") return this.subscribe(plan, req, sink);
    let cancelled = false;
    const finish = (result: unknown): void => {
      if (cancelled) return;
      sink.next(JSON.stringify(result));
      sink.complete();
    };
    try {
      const result = plan.compiled.query({}, {}, req.variables ?? {});
      if (result instanceof Promise) {
        result.then(finish, (err) => finish({ errors: [{ message: errorMessage(err) }] }));
      } else finish(result);
    } catch (err) {
      finish({ errors: [{ message: errorMessage(err) }] });
    }
    return {
      cancel: () => {
        cancelled = true;
      },
    };
  }

  private subscribe(plan: SubscriptionPlan, req: OperationRequest, sink: OperationSink): RunningOperation {
    const argResult = subscriptionArgs(this.schema, plan, req.variables);
    if (!argResult.ok) {
      sink.error(argResult.errors);
      return DONE;
    }
    const { binding } = plan;
    let topics: string[];
    try {
      topics = renderTopics(binding.provider, binding.topics, { args: argResult.args });
    } catch (err) {
      const code = err instanceof StreamgateError ? err.code : ErrorCode.OPERATION_INVALID;
      sink.error([{ message: errorMessage(err), extensions: { code } }]);
      return DONE;
    }
    if (!this.providers.has(binding.providerId)) {
      sink.error([
        {
          message: `provider "${binding.providerId}" is not available`,
          extensions: { code: ErrorCode.PROVIDER_UNAVAILABLE },
        },
      ]);
      return DONE;
    }
    const variables = argResult.variables;
    const groupKey = `${req.operationName ?? ""}\u0000${req.query}\u0000${stableJson(variables)}`;
    let cancelled = false;
    let unsubscribe: (() => void) | undefined;
    this.activeSubscriptions++;
    const end = (): void => {
      if (cancelled) return;
      cancelled = true;
      this.activeSubscriptions--;
      unsubscribe?.();
    };
    this.triggers
      .subscribe({
        providerId: binding.providerId,
        topics,
        groupKey,
        ...(binding.streamConfiguration ? { stream: binding.streamConfiguration } : {}),
        resolver: this.groupResolver(plan, variables),
        subscriber: sink,
      })
      .then(
        (unsub) => {
          if (cancelled) unsub();
          else unsubscribe = unsub;
        },
        (err) => {
          if (cancelled) return;
          end();
          this.logger.warn(
            { err: errorMessage(err), providerId: binding.providerId, topics },
            "broker subscribe failed",
          );
          sink.error([
            {
              message: `could not subscribe: ${errorMessage(err)}`,
              extensions: { code: ErrorCode.PROVIDER_UNAVAILABLE },
            },
          ]);
        },
      );
    return { cancel: end };
  }

  /** Shapes one event for one resolution group: check, execute, serialize, once. */
  private groupResolver(plan: SubscriptionPlan, variables: Record<string, unknown>): GroupResolver {
    const keysOf = (t: string) => this.supergraph.eventKeys.get(t);
    const { fieldName, singleTypeName, compiled } = plan;
    return (decoded, raw) => {
      if (!decoded.ok) {
        this.logger.warn({ topic: raw.topic, reason: decoded.reason }, "invalid broker event skipped");
        return errorJson(`invalid event on ${raw.topic}: ${decoded.reason}`, ErrorCode.EVENT_INVALID);
      }
      const checked = checkEvent(decoded.value, singleTypeName, keysOf);
      if (!checked.ok) {
        this.logger.warn({ topic: raw.topic, reason: checked.reason }, "invalid broker event skipped");
        return errorJson(`invalid event on ${raw.topic}: ${checked.reason}`, ErrorCode.EVENT_INVALID);
      }
      const result = compiled.query({ [fieldName]: checked.root }, {}, variables);
      return result instanceof Promise ? result.then((r) => JSON.stringify(r)) : JSON.stringify(result);
    };
  }
}
