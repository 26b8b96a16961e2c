/**
 * Queries and mutations over the supergraph: root fields owned by ordinary subgraphs are sent to
 * them (queries in parallel per subgraph, mutations one field at a time in document order), the
 * nested entity boundaries are resolved, then graphql-jit shapes the response. Root fields bound
 * to EDFS (publish, request) run as resolvers inside graphql-jit.
 */
import { publicMessage, WireCode } from "../errors.js";
import {
  type FieldNode,
  type GraphQLObjectType,
  getNamedType,
  isCompositeType,
  Kind,
  type OperationDefinitionNode,
  print,
  type SelectionNode,
} from "graphql";
import { type Obj, objectsIn, type ResolveEnv, resolveObjects } from "../federation/resolve.js";
import { type Fragments, printArgs, printNested } from "../federation/selection.js";
import type { RootFieldKey } from "../schema/model.js";
import type { Supergraph } from "../schema/supergraph.js";
import type { SubgraphClient } from "../subgraphs/client.js";

/** Top-level field nodes of an operation (root fragments inlined). */
function rootFields(
  selections: readonly SelectionNode[],
  fragments: Fragments,
  out: FieldNode[] = [],
): FieldNode[] {
  for (const s of selections) {
    if (s.kind === Kind.FIELD) out.push(s);
    else if (s.kind === Kind.INLINE_FRAGMENT) rootFields(s.selectionSet.selections, fragments, out);
    else {
      const f = fragments.get(s.name.value);
      if (f) rootFields(f.selectionSet.selections, fragments, out);
    }
  }
  return out;
}

/** The root subgraph an ordinary root field is routed to, or undefined (EDFS-bound, meta). */
function ownerOf(sg: Supergraph, rootName: string, field: string): string | undefined {
  if (field.startsWith("__") || sg.bindings.has(`${rootName}.${field}` as RootFieldKey)) return undefined;
  return sg.federation.owners(rootName, field)[0];
}

/** Does this operation touch any ordinary subgraph at its root? */
export function routesToSubgraphs(
  sg: Supergraph,
  rootType: GraphQLObjectType,
  op: OperationDefinitionNode,
  fragments: Fragments,
): boolean {
  return rootFields(op.selectionSet.selections, fragments).some((n) =>
    ownerOf(sg, rootType.name, n.name.value),
  );
}

/**
 * Fetches the routed root fields into a root value keyed by response key (alias), and resolves
 * the entities under them. EDFS fields are left for graphql-jit's resolvers.
 */
export async function fetchRoot(
  env: ResolveEnv,
  sg: Supergraph,
  client: SubgraphClient,
  rootType: GraphQLObjectType,
  op: OperationDefinitionNode,
): Promise<Obj> {
  const root: Obj = {};
  const nodes = rootFields(op.selectionSet.selections, env.fragments).filter((n) =>
    ownerOf(sg, rootType.name, n.name.value),
  );
  const groups: [string, FieldNode[]][] = [];
  for (const n of nodes) {
    const owner = ownerOf(sg, rootType.name, n.name.value)!;
    // Mutations keep document order across subgraphs: one request per consecutive run of an owner.
    const target =
      op.operation === "mutation"
        ? groups.at(-1)?.[0] === owner
          ? groups.at(-1)
          : undefined
        : groups.find((g) => g[0] === owner);
    if (target) target[1].push(n);
    else groups.push([owner, [n]]);
  }
  const run = (owner: string, fields: FieldNode[]) =>
    fetchGroup(env, client, rootType, op, owner, fields, root);
  if (op.operation === "mutation") for (const [owner, fields] of groups) await run(owner, fields);
  else await Promise.all(groups.map(([owner, fields]) => run(owner, fields)));
  await Promise.all(
    nodes.map((n) => {
      const def = rootType.getFields()[n.name.value];
      const named = def ? getNamedType(def.type) : undefined;
      const key = n.alias?.value ?? n.name.value;
      if (!n.selectionSet || !named || !isCompositeType(named)) return undefined;
      const children = objectsIn(root[key]);
      return children.length > 0 ? resolveObjects(env, children, named, n.selectionSet, [key]) : undefined;
    }),
  );
  return root;
}

async function fetchGroup(
  env: ResolveEnv,
  client: SubgraphClient,
  rootType: GraphQLObjectType,
  op: OperationDefinitionNode,
  owner: string,
  fields: readonly FieldNode[],
  root: Obj,
): Promise<void> {
  const usedVars = new Set<string>();
  const ctx = { schema: env.schema, model: env.model, fragments: env.fragments, usedVars };
  const body = fields
    .map((n) => {
      const def = rootType.getFields()[n.name.value]!;
      const named = getNamedType(def.type);
      const head = `${n.alias ? `${n.alias.value}: ` : ""}${n.name.value}${printArgs(n, usedVars)}`;
      return isCompositeType(named) && n.selectionSet
        ? `${head} { ${printNested(ctx, named, n.selectionSet, owner)} }`
        : head;
    })
    .join(" ");
  const defs = (op.variableDefinitions ?? [])
    .filter((d) => usedVars.has(d.variable.name.value))
    .map((d) => print(d));
  const variables: Record<string, unknown> = {};
  for (const v of usedVars) variables[v] = env.variables[v];
  const query = `${op.operation}${defs.length > 0 ? `(${defs.join(", ")})` : ""} { ${body} }`;
  try {
    const res = await client.post(owner, query, variables);
    for (const n of fields) {
      const key = n.alias?.value ?? n.name.value;
      if (res.data && key in res.data) root[key] = res.data[key];
    }
    for (const e of res.errors ?? []) {
      env.errors.push({
        ...e,
        extensions: { ...e.extensions, code: e.extensions?.code ?? WireCode.SUBGRAPH_ERROR, subgraph: owner },
      });
    }
  } catch (err) {
    for (const n of fields) {
      env.errors.push({
        message: publicMessage(err, `subgraph ${owner} failed`),
        path: [n.alias?.value ?? n.name.value],
        extensions: { code: WireCode.SUBGRAPH_ERROR, subgraph: owner },
      });
    }
  }
}
