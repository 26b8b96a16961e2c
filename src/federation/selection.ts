/**
 * Selection sets → what to ask each subgraph. Fields are collected per concrete type (fragments
 * inlined, same-name fields merged) once per selection set and type; the subgraph's part is
 * printed with `__typename` and key fields added wherever a nested entity boundary starts, so the
 * next fetch has representations. @skip/@include are not evaluated here: we fetch a superset and
 * graphql-jit shapes the final response.
 */
import {
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  isAbstractType,
  isCompositeType,
  isObjectType,
  Kind,
  print,
  type SelectionNode,
  type SelectionSetNode,
  type ValueNode,
} from "graphql";
import type { FederationModel } from "./model.js";

export interface CollectedField {
  readonly name: string;
  readonly nodes: readonly FieldNode[];
  readonly def: GraphQLField<unknown, unknown>;
  /** Merged sub-selection of every node, when the field is composite. */
  readonly selectionSet?: SelectionSetNode;
}

export type Fragments = ReadonlyMap<string, FragmentDefinitionNode>;

/** Does a fragment with `condition` apply to concrete `type`? */
function applies(schema: GraphQLSchema, condition: string | undefined, type: GraphQLObjectType): boolean {
  if (!condition || condition === type.name) return true;
  const cond = schema.getType(condition);
  return cond !== undefined && isAbstractType(cond) && schema.isSubType(cond, type);
}

const cache = new WeakMap<SelectionSetNode, Map<string, Map<string, CollectedField>>>();

/** Fields selected on concrete `type` by `selectionSet`, by schema field name. Cached. */
export function collectFields(
  schema: GraphQLSchema,
  type: GraphQLObjectType,
  selectionSet: SelectionSetNode,
  fragments: Fragments,
): Map<string, CollectedField> {
  let byType = cache.get(selectionSet);
  if (!byType) {
    byType = new Map();
    cache.set(selectionSet, byType);
  }
  const hit = byType.get(type.name);
  if (hit) return hit;
  const nodes = new Map<string, FieldNode[]>();
  const visit = (selections: readonly SelectionNode[]): void => {
    for (const s of selections) {
      if (s.kind === Kind.FIELD) {
        if (s.name.value.startsWith("__")) continue;
        nodes.set(s.name.value, [...(nodes.get(s.name.value) ?? []), s]);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        if (applies(schema, s.typeCondition?.name.value, type)) visit(s.selectionSet.selections);
      } else {
        const frag = fragments.get(s.name.value);
        if (frag && applies(schema, frag.typeCondition.name.value, type)) visit(frag.selectionSet.selections);
      }
    }
  };
  visit(selectionSet.selections);
  const out = new Map<string, CollectedField>();
  const defs = type.getFields();
  for (const [name, fieldNodes] of nodes) {
    const def = defs[name];
    if (!def) continue;
    const subs = fieldNodes.flatMap((n) => n.selectionSet?.selections ?? []);
    out.set(name, {
      name,
      nodes: fieldNodes,
      def,
      ...(subs.length > 0 ? { selectionSet: { kind: Kind.SELECTION_SET, selections: subs } } : {}),
    });
  }
  byType.set(type.name, out);
  return out;
}

export function printArgs(node: FieldNode, usedVars: Set<string>): string {
  if (!node.arguments || node.arguments.length === 0) return "";
  for (const a of node.arguments) collectVariables(a.value, usedVars);
  return `(${node.arguments.map((a) => `${a.name.value}: ${print(a.value)}`).join(", ")})`;
}

function collectVariables(value: ValueNode, used: Set<string>): void {
  if (value.kind === Kind.VARIABLE) used.add(value.name.value);
  else if (value.kind === Kind.LIST) for (const v of value.values) collectVariables(v, used);
  else if (value.kind === Kind.OBJECT) for (const f of value.fields) collectVariables(f.value, used);
}

export interface PrintContext {
  readonly schema: GraphQLSchema;
  readonly model: FederationModel;
  readonly fragments: Fragments;
  /** Variables referenced by the printed text (their definitions go into the request). */
  readonly usedVars: Set<string>;
}

/** Key fields the next fetch needs for objects of `type` reached from `subgraph`. */
function boundaryFields(ctx: PrintContext, type: GraphQLObjectType, subgraph: string): string[] {
  const extra = new Set<string>();
  for (const owner of ctx.model.subgraphs.keys()) {
    if (owner === subgraph) continue;
    const key = ctx.model.keys(type.name, owner)[0];
    if (!key) continue;
    if (key.every((f) => ctx.model.owners(type.name, f).includes(subgraph)))
      for (const f of key) extra.add(f);
  }
  return [...extra];
}

/** Prints the part of `fields` (on concrete `type`) that `subgraph` resolves. */
export function printForSubgraph(
  ctx: PrintContext,
  type: GraphQLObjectType,
  fields: Iterable<CollectedField>,
  subgraph: string,
): string {
  const parts: string[] = [];
  for (const f of fields) {
    if (!ctx.model.owners(type.name, f.name).includes(subgraph)) continue;
    // One fetch per field name, with the first occurrence's arguments: results are read back by
    // field name, not alias (documented limitation for aliased fields with different arguments).
    const head = `${f.name}${printArgs(f.nodes[0]!, ctx.usedVars)}`;
    const named = getNamedType(f.def.type);
    parts.push(
      isCompositeType(named) && f.selectionSet
        ? `${head} { ${printNested(ctx, named, f.selectionSet, subgraph)} }`
        : head,
    );
  }
  return parts.join(" ");
}

/** The nested selection under a field resolved by `subgraph`, per possible concrete type. */
export function printNested(
  ctx: PrintContext,
  type: GraphQLCompositeType,
  selectionSet: SelectionSetNode,
  subgraph: string,
): string {
  const concrete = isObjectType(type) ? [type] : ctx.schema.getPossibleTypes(type);
  const out = ["__typename"];
  for (const t of concrete) {
    const fields = collectFields(ctx.schema, t, selectionSet, ctx.fragments);
    const own = printForSubgraph(ctx, t, fields.values(), subgraph);
    const keys = boundaryFields(ctx, t, subgraph).filter(
      (k) => !fields.has(k) || !ctx.model.owners(t.name, k).includes(subgraph),
    );
    const body = [own, ...keys].filter(Boolean).join(" ");
    if (!body) continue;
    out.push(isObjectType(type) ? body : `... on ${t.name} { ${body} }`);
  }
  return out.join(" ");
}
