/**
 * Resolvers for root Query and Mutation fields, attached to the public schema before any plan is
 * compiled (graphql-jit reads them at compile time): EDFS publish and request fields go to their
 * provider; fields of ordinary subgraphs are routed over HTTP by the federation executor, which
 * is not built yet and says so.
 */
import {
  GraphQLError,
  type GraphQLFieldResolver,
  type GraphQLSchema,
  getNamedType,
  isCompositeType,
  Kind,
} from "graphql";
import { type ResolveEnv, resolveObjects } from "../federation/resolve.js";
import { ErrorCode, errorMessage, StreamgateError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import { checkEvent, decodeEvent } from "../planner/event.js";
import { renderTopics } from "../planner/topics.js";
import { possibleTypeNames } from "./subscription.js";
import type { Provider } from "../providers/provider.js";
import { PLACEHOLDER_QUERY_FIELD, type Supergraph } from "../schema/supergraph.js";
import type { Template } from "../schema/template.js";
import type { LimitName } from "../security/limits.js";
import { hookErrors } from "../hooks/failures.js";
import type { HookSet } from "../hooks/hooks.js";
import { hookRequest } from "../hooks/request.js";
import type { PublishOptions } from "../providers/provider.js";
import { anonymous, type RequestContext } from "./types.js";
import { type Tracing, traceHeaders } from "../telemetry/tracing.js";

export interface ResolverDeps {
  readonly supergraph: Supergraph;
  readonly provider: (id: string) => Provider | undefined;
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
  /** limits.max_topics_per_subscription, applied to publish and request subjects too. */
  readonly maxTopics: number;
  /** Told of a refusal for a limit. */
  readonly refused: (limit: LimitName) => void;
  /** Stream hooks; publish fields run onPublish when a module has it. */
  readonly hooks: HookSet | undefined;
  /** OpenTelemetry, when on: a span per publish, its context in the message headers. */
  readonly tracing?: { readonly tracer: Tracing; readonly propagate: boolean } | undefined;
}

/** Renders a publish or request binding's topics; a limit refusal is counted. */
function render(
  deps: ResolverDeps,
  kind: Binding["provider"],
  template: Template,
  args: Record<string, unknown>,
): string[] {
  try {
    return renderTopics(kind, [template], { args }, deps.maxTopics);
  } catch (err) {
    if (err instanceof StreamgateError && err.code === ErrorCode.LIMIT_EXCEEDED)
      deps.refused("max_topics_per_subscription");
    throw clientError(err);
  }
}

const encoder = new TextEncoder();

/** graphql-jit context of one query or mutation. */
export interface ExecContext {
  /** Present when the supergraph has ordinary subgraphs to resolve entities from. */
  readonly env?: ResolveEnv;
  /** Who runs the operation, for onPublish hooks. */
  readonly caller?: {
    readonly ctx: RequestContext;
    readonly operationName: string | null;
    readonly variables: Record<string, unknown>;
  };
}

function clientError(err: unknown): GraphQLError {
  const code = err instanceof StreamgateError ? err.code : ErrorCode.OPERATION_INVALID;
  return new GraphQLError(errorMessage(err), { extensions: { code } });
}

export function attachResolvers(schema: GraphQLSchema, deps: ResolverDeps): void {
  const { supergraph } = deps;
  for (const [rootName, root] of [
    ["Query", schema.getQueryType()],
    ["Mutation", schema.getMutationType()],
  ] as const) {
    for (const field of Object.values(root?.getFields() ?? {})) {
      const key = `${rootName}.${field.name}` as const;
      const binding = supergraph.bindings.get(key);
      if (binding?.kind === "publish") {
        field.resolve = publishResolver(
          binding.provider,
          binding.providerId,
          binding.topic,
          field.name,
          deps,
        );
      } else if (binding?.kind === "request") {
        const named = field.type.toString().replace(/[[\]!]/g, "");
        field.resolve = requestResolver(binding.providerId, binding.subject, named, deps);
      } else if (key === `Query.${PLACEHOLDER_QUERY_FIELD}`) {
        field.resolve = () => "streamgate";
      } else if (!binding && !field.name.startsWith("__")) {
        // Routed fields were fetched before execution, keyed by response key (aliases may differ
        // in arguments), so read the alias, not the field name.
        field.resolve = (root, _args, _ctx, info) =>
          (root as Record<string, unknown>)[info.path.key as string];
      }
    }
  }
}

type Binding = NonNullable<ReturnType<Supergraph["bindings"]["get"]>>;

function publishResolver(
  kind: Binding["provider"],
  providerId: string,
  topic: Template,
  fieldName: string,
  deps: ResolverDeps,
): GraphQLFieldResolver<unknown, ExecContext | undefined> {
  const key = `Mutation.${fieldName}`;
  return async (_root, args, ctx: ExecContext | undefined) => {
    const topics = render(deps, kind, topic, args);
    const provider = deps.provider(providerId);
    if (!provider) return { success: false };
    // The payload is every argument by name (spec/edfs.md, "Publish and request").
    const messages = deps.hooks?.has("onPublish")
      ? await hookedMessages(deps.hooks, ctx, fieldName, providerId, topics, args)
      : topics.map((t) => ({ topic: t, bytes: encoder.encode(JSON.stringify(args)), options: undefined }));
    const span = deps.tracing?.tracer.start("streamgate.publish", ctx?.caller?.ctx.trace, {
      "messaging.destination.name": topics.join(","),
      "streamgate.provider": providerId,
    });
    // The message carries the publish span's context: subscribers' event spans become its children.
    const traced =
      span && deps.tracing?.propagate && kind !== "redis"
        ? messages.map((m) => ({
            ...m,
            options: { ...m.options, headers: { ...m.options?.headers, ...traceHeaders(span.context) } },
          }))
        : messages;
    try {
      await Promise.all(traced.map((m) => provider.publish(m.topic, m.bytes, m.options)));
      span?.end();
      return { success: true };
    } catch (err) {
      span?.fail(errorMessage(err));
      span?.end();
      // Headers or a key the broker cannot carry (Redis) are a client-visible error, not a failed send.
      if (err instanceof StreamgateError && err.code === ErrorCode.PROVIDER_NOT_BUILT) throw clientError(err);
      deps.logger.warn({ err: errorMessage(err), field: key, providerId, topics }, "publish failed");
      return { success: false };
    }
  };
}

interface Message {
  readonly topic: string;
  readonly bytes: Uint8Array;
  readonly options: PublishOptions | undefined;
}

/**
 * onPublish for every topic first: one failing hook fails the mutation before anything is
 * published (contract "Hooks").
 */
async function hookedMessages(
  hooks: HookSet,
  ctx: ExecContext | undefined,
  fieldName: string,
  providerId: string,
  topics: readonly string[],
  args: Record<string, unknown>,
): Promise<Message[]> {
  const caller = ctx?.caller;
  const request = hookRequest(
    caller?.ctx ?? anonymous(),
    caller?.operationName,
    caller?.variables,
    fieldName,
    providerId,
  );
  try {
    return await Promise.all(
      topics.map(async (t): Promise<Message> => {
        const out = await hooks.onPublish(request, t, { ...args });
        const headers = out.headers && Object.keys(out.headers).length > 0 ? out.headers : undefined;
        const options =
          headers || out.key !== undefined
            ? { ...(headers ? { headers } : {}), ...(out.key !== undefined ? { key: out.key } : {}) }
            : undefined;
        return { topic: t, bytes: encoder.encode(JSON.stringify(out.data)), options };
      }),
    );
  } catch (err) {
    hooks.report(err, { field: fieldName });
    const [first] = hookErrors(err);
    throw new GraphQLError(first!.message, { extensions: first!.extensions });
  }
}

function requestResolver(
  providerId: string,
  subject: Template,
  typeName: string,
  deps: ResolverDeps,
): GraphQLFieldResolver<unknown, ExecContext | undefined> {
  const singleType = deps.supergraph.schema.getType(typeName);
  const single =
    singleType && "getFields" in singleType && !("getTypes" in singleType) ? typeName : undefined;
  const possible =
    singleType && isCompositeType(singleType)
      ? possibleTypeNames(deps.supergraph.schema, singleType)
      : undefined;
  return async (_root, args, ctx: ExecContext | undefined, info) => {
    const subjects = render(deps, "nats", subject, args);
    const provider = deps.provider(providerId);
    if (!provider)
      throw clientError(
        new StreamgateError(ErrorCode.PROVIDER_UNAVAILABLE, `provider ${providerId} is not available`),
      );
    let reply: Uint8Array;
    try {
      reply = await provider.request(
        subjects[0]!,
        encoder.encode(JSON.stringify(args)),
        deps.requestTimeoutMs,
      );
    } catch (err) {
      throw clientError(err);
    }
    const decoded = decodeEvent(reply);
    if (!decoded.ok)
      throw clientError(new StreamgateError(ErrorCode.EVENT_INVALID, `reply: ${decoded.reason}`));
    const checked = checkEvent(decoded.value, single, (t) => deps.supergraph.eventKeys.get(t), possible);
    if (!checked.ok)
      throw clientError(new StreamgateError(ErrorCode.EVENT_INVALID, `reply: ${checked.reason}`));
    const root = { ...checked.root };
    // The reply carries keys; fields other subgraphs own are fetched like for an event.
    const env = ctx?.env;
    const selections = info.fieldNodes.flatMap((n) => n.selectionSet?.selections ?? []);
    const named = getNamedType(info.returnType);
    if (env && selections.length > 0 && isCompositeType(named)) {
      await resolveObjects(env, [root], named, { kind: Kind.SELECTION_SET, selections }, [info.path.key]);
    }
    return root;
  };
}
