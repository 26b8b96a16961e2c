/**
 * Start-up checks for `@openfed__subscriptionFilter` conditions (spec/edfs.md, "From event to
 * response", step 2). The condition arrives untyped (valueFromASTUntyped), so every shape rule is
 * checked here and the planner can trust what it compiles.
 */
import {
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNamedType,
  isInterfaceType,
  isLeafType,
  isObjectType,
  isUnionType,
} from "graphql";
import { parseTemplate, type Template } from "./template.js";
import { templateProblems } from "./template-check.js";

/** Most conditions an AND / OR may hold (and at least one). */
export const FILTER_MAX_CONDITIONS = 5;
/** Deepest allowed nesting, counting condition objects (the root condition is depth 1). */
export const FILTER_MAX_DEPTH = 5;

const OPERATORS = ["AND", "OR", "NOT", "IN"] as const;
const SEGMENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The object types a value of `type` can be, asking the abstract type itself first. */
function candidates(schema: GraphQLSchema, type: GraphQLNamedType): GraphQLNamedType[] {
  if (isObjectType(type)) return [type];
  if (isInterfaceType(type)) return [type, ...schema.getPossibleTypes(type)];
  if (isUnionType(type)) return [...type.getTypes()];
  return [];
}

/**
 * Every named type a dot path can end on, starting at `type`. Abstract types along the way are
 * explored through each possible type, because an event of any member may carry the field; list
 * wrappers are transparent (the filter matches any element).
 */
export function resolveFilterPath(
  schema: GraphQLSchema,
  type: GraphQLNamedType,
  segments: readonly string[],
  from = 0,
): GraphQLNamedType[] {
  if (from === segments.length) return [type];
  const ends: GraphQLNamedType[] = [];
  for (const c of candidates(schema, type)) {
    if (!isObjectType(c) && !isInterfaceType(c)) continue;
    const field = c.getFields()[segments[from]!];
    if (field) ends.push(...resolveFilterPath(schema, getNamedType(field.type), segments, from + 1));
  }
  return ends;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * Validates one filter condition against the field it filters. Returns every problem, one line
 * each, prefixed `filter:` and (below the root) the condition's location, e.g.
 * `filter: OR has 6 conditions (1-5 allowed)` or `filter: AND[1].IN fieldPath "x" ...`.
 */
export function validateFilter(
  condition: unknown,
  field: GraphQLField<unknown, unknown>,
  returnType: GraphQLNamedType,
  schema: GraphQLSchema,
): string[] {
  const problems: string[] = [];
  // `filter: AND[1].OR has ...` for an operator, `filter: AND[1]: ...` for a condition object.
  const at = (path: string, op?: string): string => {
    if (op) return `filter: ${path ? `${path}.${op}` : op}`;
    return path ? `filter: ${path}:` : "filter:";
  };
  const members = candidates(schema, returnType)
    .filter(isObjectType)
    .map((t) => t.name);
  const typeLabel =
    isObjectType(returnType) || members.length === 0
      ? returnType.name
      : `${returnType.name} (${members.join(", ")})`;

  const checkIn = (inn: unknown, path: string): void => {
    const here = at(path, "IN");
    if (!isRecord(inn)) {
      problems.push(`${here} must be an object with fieldPath and values`);
      return;
    }
    for (const k of Object.keys(inn)) {
      if (k !== "fieldPath" && k !== "values") problems.push(`${here} has unknown key "${k}"`);
    }
    const fp = inn.fieldPath;
    if (typeof fp !== "string" || fp === "") {
      problems.push(`${here} needs fieldPath, a non-empty dot path`);
    } else if (!fp.split(".").every((s) => SEGMENT.test(s))) {
      problems.push(`${here} fieldPath "${fp}" is not a dot path of field names`);
    } else {
      const ends = resolveFilterPath(schema, returnType, fp.split("."));
      if (ends.length === 0) {
        problems.push(`${here} fieldPath "${fp}" is not a field path of ${typeLabel}`);
      } else if (!ends.some(isLeafType)) {
        const names = [...new Set(ends.map((t) => t.name))].join(", ");
        problems.push(`${here} fieldPath "${fp}" ends on ${names}, not on a scalar or enum`);
      }
    }
    if (!Array.isArray(inn.values)) {
      problems.push(`${here} needs values, a list`);
      return;
    }
    const visit = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(visit);
      else if (typeof v === "string") {
        let t: Template;
        try {
          t = parseTemplate(v);
        } catch (err) {
          problems.push(`${here}: ${(err as Error).message}`);
          return;
        }
        for (const p of templateProblems(t, field)) problems.push(`${here}: ${p}`);
      }
    };
    inn.values.forEach(visit);
  };

  const walk = (cond: unknown, path: string, depth: number): void => {
    if (depth > FILTER_MAX_DEPTH) {
      // Reported once at the first level too deep; what lies below adds nothing useful.
      problems.push(`${at(path)} nesting depth exceeds ${FILTER_MAX_DEPTH}`);
      return;
    }
    if (!isRecord(cond)) {
      problems.push(`${at(path)} a condition must be an object with one of AND, OR, NOT, IN`);
      return;
    }
    const keys = Object.keys(cond);
    for (const k of keys) {
      if (!(OPERATORS as readonly string[]).includes(k)) problems.push(`${at(path)} unknown operator "${k}"`);
    }
    const ops = OPERATORS.filter((o) => keys.includes(o));
    if (ops.length !== 1) {
      const found = ops.length === 0 ? "none" : ops.join(", ");
      problems.push(`${at(path)} a condition needs exactly one of AND, OR, NOT, IN (found ${found})`);
    }
    for (const op of ops) {
      const v = cond[op];
      const where = path ? `${path}.${op}` : op;
      if (op === "IN") checkIn(v, path);
      else if (op === "NOT") {
        if (Array.isArray(v)) problems.push(`${at(path, op)} takes one condition, not a list`);
        else walk(v, where, depth + 1);
      } else if (!Array.isArray(v)) {
        problems.push(`${at(path, op)} must be a list of conditions`);
      } else {
        if (v.length < 1 || v.length > FILTER_MAX_CONDITIONS) {
          problems.push(`${at(path, op)} has ${v.length} conditions (1-${FILTER_MAX_CONDITIONS} allowed)`);
        }
        for (const [i, c] of v.entries()) walk(c, `${where}[${i}]`, depth + 1);
      }
    }
  };

  walk(condition, "", 1);
  return problems;
}
