/**
 * `@openfed__subscriptionFilter` evaluation (spec/edfs.md, "From event to response", step 2).
 * A condition is compiled once per resolution group at subscribe time: templates render once into
 * typed value sets. The returned predicate runs per event per group, so it only walks the event,
 * looks values up in prebuilt Sets and short-circuits.
 *
 * Matching rules:
 * - `IN` reads the value at `fieldPath` (dot path into the event). A missing path, or null, is no
 *   match. A list on the way or at the end matches when any element matches (nested lists too).
 * - Comparison is typed by the field's GraphQL type (see filter-values.ts valueTest): ID compares
 *   canonical strings ("7" = 7), Int/Float numbers, String strings, Boolean booleans, anything else
 *   strict JSON equality. The event value must have the field's JSON type ("7" never equals Int 7).
 * - `NOT` negates (so NOT of a missing path matches), `AND` / `OR` short-circuit in order.
 */
import {
  type GraphQLNamedType,
  type GraphQLSchema,
  isAbstractType,
  isEnumType,
  isObjectType,
  isScalarType,
} from "graphql";
import { ErrorCode, StreamgateError } from "../errors.js";
import { resolveFilterPath } from "../schema/filter-validate.js";
import type { FilterCondition } from "../schema/model.js";
import {
  collectValues,
  type FilterContext,
  type FilterValueKind,
  type ValueTest,
  valueTest,
} from "./filter-values.js";

export type { FilterContext, FilterValueKind } from "./filter-values.js";

/** A compiled filter: true when the event passes. */
export type EventPredicate = (event: Record<string, unknown>) => boolean;

/** The comparison kind of the field at `fieldPath`, for an event whose `__typename` is `typeName`. */
export type FilterTypeOf = (fieldPath: string, typeName: string | undefined) => FilterValueKind;

// Bounds the per-IN cache of __typename → test: event bodies are untrusted and could carry any
// number of distinct typenames; past the bound the (memoized) type lookup is simply repeated.
const MAX_CACHED_TYPENAMES = 32;

function matchLeaf(v: unknown, test: ValueTest): boolean {
  if (Array.isArray(v)) {
    for (let j = 0; j < v.length; j++) if (matchLeaf(v[j], test)) return true;
    return false;
  }
  return v !== null && v !== undefined && test(v);
}

function matchPath(v: unknown, path: readonly string[], i: number, test: ValueTest): boolean {
  for (; i < path.length; i++) {
    if (v === null || typeof v !== "object") return false;
    if (Array.isArray(v)) {
      for (let j = 0; j < v.length; j++) if (matchPath(v[j], path, i, test)) return true;
      return false;
    }
    const seg = path[i]!;
    // Own properties only: "constructor" or "toString" must not reach Object.prototype.
    if (!Object.hasOwn(v, seg)) return false;
    v = (v as Record<string, unknown>)[seg];
  }
  return matchLeaf(v, test);
}

function compileIn(
  fieldPath: string,
  rawValues: readonly unknown[],
  ctx: FilterContext,
  typeOf: FilterTypeOf,
): EventPredicate {
  const path = fieldPath.split(".");
  const values = collectValues(rawValues, ctx);
  // One test per kind, shared by every typename that resolves to that kind.
  const byKind = new Map<FilterValueKind, ValueTest>();
  const testFor = (typeName: string | undefined): ValueTest => {
    const kind = typeOf(fieldPath, typeName);
    let test = byKind.get(kind);
    if (!test) {
      test = valueTest(values, kind);
      byKind.set(kind, test);
    }
    return test;
  };
  const byType = new Map<string | undefined, ValueTest>();
  return (event) => {
    const tn = event.__typename;
    const key = typeof tn === "string" ? tn : undefined;
    let test = byType.get(key);
    if (!test) {
      test = testFor(key);
      if (byType.size < MAX_CACHED_TYPENAMES) byType.set(key, test);
    }
    return matchPath(event, path, 0, test);
  };
}

/**
 * Compiles a filter condition (validated at start-up by validateFilter) for one resolution group.
 * Templates in `values` render here, once, against `ctx`; an omitted optional argument contributes
 * no values, a claims template without claims throws TEMPLATE_INVALID (the subscribe fails).
 */
export function compileFilter(
  condition: FilterCondition,
  ctx: FilterContext,
  typeOf: FilterTypeOf,
): EventPredicate {
  if ("IN" in condition) return compileIn(condition.IN.fieldPath, condition.IN.values, ctx, typeOf);
  if ("NOT" in condition) {
    const inner = compileFilter(condition.NOT, ctx, typeOf);
    return (e) => !inner(e);
  }
  const isAnd = "AND" in condition;
  const list = isAnd ? condition.AND : "OR" in condition ? condition.OR : undefined;
  if (!list || list.length === 0) {
    throw new StreamgateError(ErrorCode.SCHEMA_EDFS, "filter condition needs one of AND, OR, NOT, IN");
  }
  const preds = list.map((c) => compileFilter(c, ctx, typeOf));
  if (preds.length === 1) return preds[0]!;
  if (isAnd) {
    return (e) => {
      for (let i = 0; i < preds.length; i++) if (!preds[i]!(e)) return false;
      return true;
    };
  }
  return (e) => {
    for (let i = 0; i < preds.length; i++) if (preds[i]!(e)) return true;
    return false;
  };
}

function kindOf(t: GraphQLNamedType | undefined): FilterValueKind | undefined {
  if (isEnumType(t)) return "string";
  if (!isScalarType(t)) return undefined;
  switch (t.name) {
    case "ID":
      return "id";
    case "Int":
    case "Float":
      return "number";
    case "String":
      return "string";
    case "Boolean":
      return "boolean";
    default:
      return "unknown"; // custom scalar: no known coercion, so strict JSON equality
  }
}

/**
 * Implements FilterTypeOf from the schema, walking `fieldPath` from the field's return type. For an
 * abstract return type the event's `__typename` picks the member when it is one; otherwise (or when
 * that member lacks the path) the first possible type with a leaf at the path decides. A path that
 * resolves nowhere gives "unknown". Results are memoized per (member, path).
 */
export function fieldTypeResolver(schema: GraphQLSchema, returnTypeName: string): FilterTypeOf {
  const root = schema.getType(returnTypeName);
  const members = new Set(
    isAbstractType(root)
      ? schema.getPossibleTypes(root).map((t) => t.name)
      : isObjectType(root)
        ? [root.name]
        : [],
  );
  const memo = new Map<string, FilterValueKind>();
  return (fieldPath, typeName) => {
    // Only known members key the memo, so untrusted typenames cannot grow it.
    const member = typeName !== undefined && members.has(typeName) ? typeName : "";
    const memoKey = `${member}\u0000${fieldPath}`;
    const hit = memo.get(memoKey);
    if (hit) return hit;
    const segments = fieldPath.split(".");
    const starts: GraphQLNamedType[] = [];
    const own = member ? schema.getType(member) : undefined;
    if (own) starts.push(own);
    if (root) starts.push(root);
    let kind: FilterValueKind = "unknown";
    for (const start of starts) {
      const found = resolveFilterPath(schema, start, segments)
        .map(kindOf)
        .find((k) => k !== undefined);
      if (found) {
        kind = found;
        break;
      }
    }
    memo.set(memoKey, kind);
    return kind;
  };
}
