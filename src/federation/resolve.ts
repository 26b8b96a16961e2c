/**
 * Entity resolution (spec/edfs.md, "From event to response", step 3): fill in the fields a
 * client selected that the objects do not carry, from the subgraphs that own them, through
 * `_entities`, following nested entity boundaries. Failures become GraphQL errors; the data is
 * kept as far as it resolved and graphql-jit turns what is missing into null (or a non-null error).
 */
import { ErrorCode, WireCode, publicMessage } from "../errors.js";
import {
  type GraphQLCompositeType,
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  isCompositeType,
  isObjectType,
  print,
  type SelectionSetNode,
  type VariableDefinitionNode,
} from "graphql";
import type { GraphqlError } from "../subgraphs/client.js";
import type { EntityBatch } from "../subgraphs/entity-batch.js";
import type { FederationModel } from "./model.js";
import { type CollectedField, collectFields, type Fragments, printForSubgraph } from "./selection.js";

export type Obj = Record<string, unknown>;

export interface ResolveEnv {
  readonly schema: GraphQLSchema;
  readonly model: FederationModel;
  readonly fragments: Fragments;
  readonly variableDefinitions: readonly VariableDefinitionNode[];
  readonly variables: Readonly<Record<string, unknown>>;
  readonly batch: EntityBatch;
  /** Collected errors for the response (subgraph failures, unresolvable entities). */
  readonly errors: GraphqlError[];
}

/** Objects inside a value: lists flattened, nulls and scalars dropped. */
export function objectsIn(value: unknown, out: Obj[] = []): Obj[] {
  if (Array.isArray(value)) for (const v of value) objectsIn(v, out);
  else if (value !== null && typeof value === "object") out.push(value as Obj);
  return out;
}

function concreteType(
  schema: GraphQLSchema,
  type: GraphQLCompositeType,
  o: Obj,
): GraphQLObjectType | undefined {
  const name = typeof o.__typename === "string" ? o.__typename : isObjectType(type) ? type.name : undefined;
  const t = name ? schema.getType(name) : undefined;
  return t && isObjectType(t) ? t : undefined;
}

/** Resolves, in place, every object of `objs` (all at `path`) against `selectionSet`. */
export async function resolveObjects(
  env: ResolveEnv,
  objs: readonly Obj[],
  type: GraphQLCompositeType,
  selectionSet: SelectionSetNode,
  path: readonly (string | number)[],
): Promise<void> {
  const byType = new Map<GraphQLObjectType, Obj[]>();
  for (const o of objs) {
    const t = concreteType(env.schema, type, o);
    if (t) byType.set(t, [...(byType.get(t) ?? []), o]);
  }
  await Promise.all([...byType].map(([t, list]) => resolveConcrete(env, t, list, selectionSet, path)));
}

async function resolveConcrete(
  env: ResolveEnv,
  type: GraphQLObjectType,
  list: Obj[],
  selectionSet: SelectionSetNode,
  path: readonly (string | number)[],
): Promise<void> {
  const fields = collectFields(env.schema, type, selectionSet, env.fragments);
  const bySubgraph = new Map<string, CollectedField[]>();
  for (const f of fields.values()) {
    if (!list.some((o) => !(f.name in o))) continue;
    const owner = env.model.owners(type.name, f.name).find((s) => env.model.keys(type.name, s).length > 0);
    if (owner) bySubgraph.set(owner, [...(bySubgraph.get(owner) ?? []), f]);
  }
  await Promise.all([...bySubgraph].map(([s, fs]) => fetchInto(env, type, list, s, fs, path)));
  await Promise.all(
    [...fields.values()].map((f) => {
      const named = getNamedType(f.def.type);
      if (!f.selectionSet || !isCompositeType(named)) return undefined;
      const children = objectsIn(list.map((o) => o[f.name]));
      return children.length > 0
        ? resolveObjects(env, children, named, f.selectionSet, [...path, f.name])
        : undefined;
    }),
  );
}

async function fetchInto(
  env: ResolveEnv,
  type: GraphQLObjectType,
  list: Obj[],
  subgraph: string,
  fields: readonly CollectedField[],
  path: readonly (string | number)[],
): Promise<void> {
  const targets = list.filter((o) => fields.some((f) => !(f.name in o)));
  const key = env.model
    .keys(type.name, subgraph)
    .find((k) => targets.every((o) => k.every((f) => o[f] !== undefined && o[f] !== null)));
  if (!key) {
    env.errors.push({
      message: `cannot resolve ${fields.map((f) => `${type.name}.${f.name}`).join(", ")}: the object lacks the key fields subgraph ${subgraph} needs`,
      path: [...path],
      extensions: { code: ErrorCode.ENTITY_KEY_MISSING },
    });
    return;
  }
  // Identical representations are sent once.
  const index = new Map<string, number>();
  const representations: Obj[] = [];
  const slot = targets.map((o) => {
    const rep: Obj = { __typename: type.name };
    for (const f of key) rep[f] = o[f];
    const id = JSON.stringify(rep);
    let i = index.get(id);
    if (i === undefined) {
      i = representations.length;
      index.set(id, i);
      representations.push(rep);
    }
    return i;
  });
  const usedVars = new Set<string>();
  const selection = printForSubgraph(
    { schema: env.schema, model: env.model, fragments: env.fragments, usedVars },
    type,
    fields,
    subgraph,
  );
  const defs = env.variableDefinitions.filter((d) => usedVars.has(d.variable.name.value));
  const variables: Record<string, unknown> = {};
  for (const v of usedVars) variables[v] = env.variables[v];
  let result: Awaited<ReturnType<EntityBatch["fetch"]>>;
  try {
    result = await env.batch.fetch({
      subgraph,
      typeName: type.name,
      representations,
      selection,
      variableDefs: defs.map((d) => print(d)).join(", "),
      variables,
    });
  } catch (err) {
    env.errors.push({
      message: publicMessage(err, `subgraph ${subgraph} failed`),
      path: [...path],
      extensions: { code: WireCode.SUBGRAPH_ERROR, subgraph },
    });
    return;
  }
  for (const e of result.errors) {
    env.errors.push({
      message: e.message,
      path: [...path],
      extensions: { ...e.extensions, code: e.extensions?.code ?? WireCode.SUBGRAPH_ERROR, subgraph },
    });
  }
  targets.forEach((o, i) => {
    const entity = result.entities[slot[i]!];
    if (!entity || typeof entity !== "object") return;
    for (const k in entity) if (k !== "__typename" || !("__typename" in o)) o[k] = entity[k];
  });
}
