/**
 * Builds the per-group event handler of a subscription: check the event, run the filter, fetch
 * the selected fields the event lacks (merged with the other groups of the same event), shape
 * with graphql-jit and serialize, once for the whole group.
 */
import {
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  getNamedType,
  isCompositeType,
  isObjectType,
  Kind,
} from "graphql";
import { ErrorCode } from "../errors.js";
import type { GroupResolver } from "../fanout/triggers.js";
import { objectsIn, type ResolveEnv, resolveObjects } from "../federation/resolve.js";
import { collectFields } from "../federation/selection.js";
import type { Logger } from "../observability/logger.js";
import { checkEvent, type SkipReason } from "../planner/event.js";
import { compileFilter, fieldTypeResolver } from "../planner/filter.js";
import type { SubscriptionPlan } from "../planner/plan.js";
import type { Supergraph } from "../schema/supergraph.js";
import type { SubgraphClient } from "../subgraphs/client.js";
import { EntityBatch } from "../subgraphs/entity-batch.js";

function errorJson(message: string, code: string): string {
  return JSON.stringify({ errors: [{ message, extensions: { code } }] });
}

export function fragmentsOf(plan: { document: { definitions: readonly { kind: string }[] } }) {
  return new Map(
    (plan.document.definitions as FragmentDefinitionNode[])
      .filter((d) => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d] as const),
  );
}

/**
 * True when some field selected on the root entity is neither carried by events (a key of the
 * event-driven type) nor unowned: only then can an event need subgraph fetches.
 */
function needsSubgraphs(
  schema: GraphQLSchema,
  sg: Supergraph,
  type: GraphQLCompositeType,
  plan: SubscriptionPlan,
): boolean {
  const selectionSet = plan.fieldNode.selectionSet;
  if (!selectionSet) return false;
  const fragments = fragmentsOf(plan);
  const concrete = isObjectType(type) ? [type] : schema.getPossibleTypes(type);
  return concrete.some((t) => {
    const carried = new Set((sg.eventKeys.get(t.name) ?? []).flat());
    return [...collectFields(schema, t, selectionSet, fragments).values()].some(
      (f) =>
        !carried.has(f.name) || (f.selectionSet !== undefined && isCompositeType(getNamedType(f.def.type))),
    );
  });
}

export interface SubscriptionDeps {
  readonly supergraph: Supergraph;
  readonly client: SubgraphClient;
  readonly logger: Logger;
  /** Counts an event this group skipped (once per group per event, like a resolution). */
  readonly skipped: (reason: SkipReason) => void;
}

/** The concrete types a field of `type` may return: what an event's __typename may say. */
export function possibleTypeNames(schema: GraphQLSchema, type: GraphQLCompositeType): ReadonlySet<string> {
  return new Set(isObjectType(type) ? [type.name] : schema.getPossibleTypes(type).map((t) => t.name));
}

const BATCH = "entities";

export function subscriptionResolver(
  deps: SubscriptionDeps,
  plan: SubscriptionPlan,
  args: Record<string, unknown>,
  variables: Record<string, unknown>,
  claims?: Readonly<Record<string, unknown>>,
): GroupResolver {
  const { supergraph, client, logger, skipped } = deps;
  const schema = supergraph.schema;
  const keysOf = (t: string) => supergraph.eventKeys.get(t);
  const { fieldName, singleTypeName, compiled, binding } = plan;
  const field = schema.getSubscriptionType()!.getFields()[fieldName]!;
  const returnType = getNamedType(field.type) as GraphQLCompositeType;
  const possible = possibleTypeNames(schema, returnType);
  // Filters render their templates once per group, here; per event only the predicate runs.
  const filter = binding.filter
    ? compileFilter(
        binding.filter,
        { args, ...(claims ? { claims: claims as Record<string, unknown> } : {}) },
        fieldTypeResolver(schema, returnType.name),
      )
    : undefined;
  const federated = needsSubgraphs(schema, supergraph, returnType, plan);
  const fragments = fragmentsOf(plan);
  const variableDefinitions = plan.operation.variableDefinitions ?? [];
  const responseKey = plan.fieldNode.alias?.value ?? fieldName;

  return (decoded, raw, scope) => {
    const checked = decoded.ok ? checkEvent(decoded.value, singleTypeName, keysOf, possible) : decoded;
    if (!checked.ok) {
      skipped(checked.skip);
      logger.warn({ topic: raw.topic, reason: checked.reason }, "invalid broker event skipped");
      return errorJson(`invalid event on ${raw.topic}: ${checked.reason}`, ErrorCode.EVENT_INVALID);
    }
    if (filter && !filter(checked.root)) {
      skipped("filtered");
      return null;
    }
    if (!federated) {
      const result = compiled.query({ [fieldName]: checked.root }, {}, variables);
      return result instanceof Promise ? result.then((r) => JSON.stringify(r)) : JSON.stringify(result);
    }
    // This group's own copy: other groups merge other fields into theirs.
    const root = { ...checked.root };
    let batch = scope.memo.get(BATCH) as EntityBatch | undefined;
    if (!batch) {
      // One batch per event, shared by its groups: its fetches are children of the event's span.
      batch = new EntityBatch(
        client,
        scope.tracing ? { tracing: scope.tracing, parent: scope.trace } : undefined,
      );
      scope.memo.set(BATCH, batch);
    }
    const env: ResolveEnv = {
      schema,
      model: supergraph.federation,
      fragments,
      variableDefinitions,
      variables,
      batch,
      errors: [],
    };
    return resolveObjects(env, objectsIn(root), returnType, plan.fieldNode.selectionSet!, [responseKey]).then(
      async () => {
        const result = await compiled.query({ [fieldName]: root }, {}, variables);
        if (env.errors.length === 0) return JSON.stringify(result);
        return JSON.stringify({ ...result, errors: [...env.errors, ...(result.errors ?? [])] });
      },
    );
  };
}
