/**
 * The rules of an event-driven subgraph (spec/edfs.md, "Schema and composition"), checked on the
 * subgraph's own schema. Each problem is one line naming subgraph, type and field.
 */
import {
  buildASTSchema,
  type DocumentNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNamedType,
  getNullableType,
  isAbstractType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
  Kind,
  parse,
  valueFromASTUntyped,
} from "graphql";
import type { ExtractedField } from "./directives.js";
import { withEdfsDefinitions } from "./normalize.js";
import { templateProblems } from "./template-check.js";

// Federation directives an event-driven SDL may use without defining them.
const FEDERATION_STUBS = parse(`
  directive @key(fields: String!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE
  directive @external on FIELD_DEFINITION | OBJECT
  directive @shareable repeatable on OBJECT | FIELD_DEFINITION
  directive @link(url: String!, import: [String]) repeatable on SCHEMA
`).definitions;

/** Builds the subgraph's schema leniently (unknown directives allowed) for type questions. */
export function subgraphSchema(doc: DocumentNode): GraphQLSchema {
  const withDefs = withEdfsDefinitions(doc);
  const defined = new Set(withDefs.definitions.flatMap((d) => ("name" in d && d.name ? [d.name.value] : [])));
  const stubs = FEDERATION_STUBS.filter((d) => "name" in d && d.name && !defined.has(d.name.value));
  return buildASTSchema(
    { kind: Kind.DOCUMENT, definitions: [...withDefs.definitions, ...stubs] },
    {
      assumeValidSDL: true,
    },
  );
}

interface KeyDirective {
  readonly fields: string;
  readonly resolvable: boolean;
}

export function keyDirectives(type: GraphQLNamedType): KeyDirective[] {
  const nodes = [type.astNode, ...(type.extensionASTNodes ?? [])];
  const keys: KeyDirective[] = [];
  for (const node of nodes) {
    for (const d of node?.directives ?? []) {
      if (d.name.value !== "key") continue;
      const args: Record<string, unknown> = {};
      for (const a of d.arguments ?? []) args[a.name.value] = valueFromASTUntyped(a.value);
      keys.push({ fields: String(args.fields ?? ""), resolvable: args.resolvable !== false });
    }
  }
  return keys;
}

/** Top-level field names of a key field set ("id tag", "id org { id }" → id, tag, org). */
export function keyFieldNames(fields: string): string[] {
  const names: string[] = [];
  let depth = 0;
  for (const tok of fields.replace(/[{}]/g, (b) => ` ${b} `).split(/[\s,]+/)) {
    if (tok === "{") depth++;
    else if (tok === "}") depth--;
    else if (tok && depth === 0) names.push(tok);
  }
  return names;
}

function isEntity(t: GraphQLNamedType): boolean {
  return keyDirectives(t).length > 0;
}

function returnProblem(schema: GraphQLSchema, field: GraphQLField<unknown, unknown>): string | null {
  if (!isNonNullType(field.type) || isListType(getNullableType(field.type))) {
    return "must return a non-null, non-list entity type";
  }
  const named = getNamedType(field.type);
  if (isObjectType(named)) return isEntity(named) ? null : `returns ${named.name}, which has no @key`;
  if (isAbstractType(named)) {
    const members = isUnionType(named) ? named.getTypes() : schema.getPossibleTypes(named);
    return members.some(isEntity) ? null : `returns ${named.name}, which has no entity member`;
  }
  return "must return an entity, an interface an entity implements, or a union holding one";
}

/** Validates an event-driven subgraph; returns every problem found. */
export function validateEventSubgraph(
  name: string,
  doc: DocumentNode,
  bound: readonly ExtractedField[],
  unbound: readonly string[],
): string[] {
  const problems: string[] = [];
  let schema: GraphQLSchema;
  try {
    schema = subgraphSchema(doc);
  } catch (err) {
    return [`subgraph ${name}: ${(err as Error).message}`];
  }
  const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]);
  for (const type of Object.values(schema.getTypeMap())) {
    if (
      !isObjectType(type) ||
      roots.has(type) ||
      type.name.startsWith("__") ||
      type.name === "edfs__PublishResult"
    ) {
      continue;
    }
    const keys = keyDirectives(type);
    if (keys.length === 0) {
      problems.push(
        `subgraph ${name}: type ${type.name}: an event-driven subgraph holds only entities (add @key)`,
      );
      continue;
    }
    for (const k of keys.filter((k) => k.resolvable)) {
      problems.push(
        `subgraph ${name}: type ${type.name}: @key(fields: "${k.fields}") must set resolvable: false`,
      );
    }
    const keyFields = new Set(keys.flatMap((k) => keyFieldNames(k.fields)));
    for (const f of Object.keys(type.getFields())) {
      if (!keyFields.has(f)) {
        problems.push(`subgraph ${name}: ${type.name}.${f}: an event-driven entity holds only key fields`);
      }
    }
  }
  for (const key of unbound) {
    const root = key.split(".")[0];
    const need = { Subscription: "a subscribe", Mutation: "a publish", Query: "@edfs__natsRequest" }[
      root ?? ""
    ];
    problems.push(`subgraph ${name}: ${key}: needs ${need} directive`);
  }
  for (const { key, binding } of bound) {
    const [rootName, fieldName] = key.split(".") as [string, string];
    const root =
      rootName === "Query"
        ? schema.getQueryType()
        : rootName === "Mutation"
          ? schema.getMutationType()
          : schema.getSubscriptionType();
    const field = root?.getFields()[fieldName];
    if (!field) continue;
    const at = `subgraph ${name}: ${key}`;
    if (binding.kind === "subscribe" || binding.kind === "request") {
      const p = returnProblem(schema, field);
      if (p) problems.push(`${at}: ${p}`);
    } else if (String(field.type) !== "edfs__PublishResult!") {
      problems.push(`${at}: a publish field must return edfs__PublishResult!`);
    }
    const ts =
      binding.kind === "subscribe"
        ? binding.topics
        : [binding.kind === "publish" ? binding.topic : binding.subject];
    for (const t of ts) for (const p of templateProblems(t, field)) problems.push(`${at}: ${p}`);
  }
  return problems;
}
