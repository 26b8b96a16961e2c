/**
 * The value side of a filter's `IN`: literals and rendered templates, turned once per resolution
 * group into a typed membership test that the per-event hot path calls without allocating.
 */
import { ErrorCode, StreamgateError } from "../errors.js";
import { parseTemplate, renderTemplate, type Template } from "../schema/template.js";

/**
 * Text around two list placeholders renders their product; a client's lists are bounded by the
 * message size, their product is not, so it is capped (LIMIT_EXCEEDED past it).
 */
const MAX_FILTER_RENDERINGS = 10_000;

/** How values at a field path compare, from the field's GraphQL type. */
export type FilterValueKind = "string" | "number" | "boolean" | "id" | "unknown";

/** Arguments (coerced by GraphQL) and verified claims that filter templates render from. */
export interface FilterContext {
  readonly args: Record<string, unknown>;
  readonly claims?: Record<string, unknown>;
}

/** A membership test on one (non-list, non-null) event value. */
export type ValueTest = (value: unknown) => boolean;

/** Pushes the non-null leaves at `path`; lists anywhere along the way contribute each element. */
function leavesAt(v: unknown, path: readonly string[], i: number, out: unknown[]): void {
  if (v === null || v === undefined) return;
  if (Array.isArray(v)) {
    for (const e of v) leavesAt(e, path, i, out);
  } else if (i === path.length) {
    out.push(v);
  } else if (typeof v === "object" && Object.hasOwn(v, path[i]!)) {
    leavesAt((v as Record<string, unknown>)[path[i]!], path, i + 1, out);
  }
}

function expandTemplate(t: Template, ctx: FilterContext, out: unknown[]): void {
  const only = t.parts.length === 1 ? t.parts[0]! : undefined;
  if (only && only.kind !== "text") {
    // A value that is exactly one placeholder keeps the argument's own JS type (7 stays a number),
    // which the typed comparison needs; lists are expanded one value per element.
    const where = `{{ ${only.kind === "arg" ? "args" : "request.auth.claims"}.${only.path.join(".")} }}`;
    if (only.kind === "claim" && !ctx.claims) {
      throw new StreamgateError(ErrorCode.TEMPLATE_INVALID, `${where} needs an authenticated request`);
    }
    const before = out.length;
    leavesAt(only.kind === "arg" ? ctx.args : ctx.claims, only.path, 0, out);
    // A missing claim fails the subscribe rather than yielding no values: under NOT, "no values"
    // would let every event through. An omitted optional argument simply contributes nothing.
    if (only.kind === "claim" && out.length === before) {
      throw new StreamgateError(ErrorCode.TEMPLATE_INVALID, `${where} has no value`);
    }
    return;
  }
  for (const part of t.parts) {
    if (part.kind !== "arg") continue;
    const probe: unknown[] = [];
    leavesAt(ctx.args, part.path, 0, probe);
    if (probe.length === 0) return; // same rule as above for an omitted argument
  }
  // Text around placeholders: the rendering is a string (one per list element, cartesian).
  for (const s of renderTemplate(t, ctx, undefined, MAX_FILTER_RENDERINGS)) out.push(s);
}

/**
 * Every concrete value of an `IN`'s `values`: nested literal lists flattened, templates rendered
 * (a list-valued template gives one value per element), nulls dropped (null never matches).
 */
export function collectValues(
  values: readonly unknown[],
  ctx: FilterContext,
  out: unknown[] = [],
): unknown[] {
  for (const v of values) {
    if (Array.isArray(v)) collectValues(v, ctx, out);
    else if (typeof v === "string" && v.includes("{{")) expandTemplate(parseTemplate(v), ctx, out);
    else if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const never: ValueTest = () => false;

/**
 * Builds the test for one kind. Values come from the schema author or GraphQL-coerced arguments,
 * so they are read as the field's type (an ID argument "7" or a literal "1" on an Int field is the
 * number); event values are untrusted broker data and must already have the field's JSON type.
 * Values that cannot be of the field's type are dropped: they could never match.
 */
export function valueTest(values: readonly unknown[], kind: FilterValueKind): ValueTest {
  switch (kind) {
    case "id": {
      // IDs compare by canonical string form: "7" and 7 are the same ID.
      const set = new Set<string>();
      for (const v of values) {
        if (typeof v === "string") set.add(v);
        else if (typeof v === "number" && Number.isInteger(v)) set.add(String(v));
      }
      if (set.size === 0) return never;
      return (v) =>
        typeof v === "string"
          ? set.has(v)
          : typeof v === "number" && Number.isInteger(v) && set.has(String(v));
    }
    case "number": {
      const set = new Set<number>();
      for (const v of values) {
        if (typeof v === "number" && Number.isFinite(v)) set.add(v);
        else if (typeof v === "string" && JSON_NUMBER.test(v)) set.add(Number(v));
      }
      if (set.size === 0) return never;
      return (v) => typeof v === "number" && set.has(v);
    }
    case "string": {
      const set = new Set<string>();
      for (const v of values) if (typeof v === "string") set.add(v);
      if (set.size === 0) return never;
      return (v) => typeof v === "string" && set.has(v);
    }
    case "boolean": {
      const t = values.includes(true);
      const f = values.includes(false);
      return (v) => (v === true && t) || (v === false && f);
    }
    default: {
      // Unknown type (custom scalar): strict JSON equality. Set's SameValueZero already keeps "7"
      // and 7 apart for primitives; objects compare by their JSON text.
      const prims = new Set<unknown>();
      const objects = new Set<string>();
      for (const v of values) {
        if (typeof v === "object" && v !== null) objects.add(JSON.stringify(v));
        else prims.add(v);
      }
      if (prims.size + objects.size === 0) return never;
      return (v) =>
        typeof v === "object" ? objects.size > 0 && objects.has(JSON.stringify(v)) : prims.has(v);
    }
  }
}
