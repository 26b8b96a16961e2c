/**
 * `{{ args.a.b }}` / `{{ request.auth.claims.x }}` templates in subjects, topics, channels and
 * filter values. Parsing is pure and done once at start-up; rendering happens per subscribe.
 */
import { ErrorCode, StreamgateError } from "../errors.js";

export type TemplatePart =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "arg"; readonly path: readonly string[] }
  | { readonly kind: "claim"; readonly path: readonly string[] };

export interface Template {
  readonly source: string;
  readonly parts: readonly TemplatePart[];
  /** True when the template has no placeholders (its one rendering is `source`). */
  readonly isStatic: boolean;
}

const PLACEHOLDER = /\{\{\s*([^}]*?)\s*\}\}/g;
const SEGMENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses a template; throws TEMPLATE_INVALID on a placeholder it cannot read. */
export function parseTemplate(source: string): Template {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const m of source.matchAll(PLACEHOLDER)) {
    if (m.index > last) parts.push({ kind: "text", text: source.slice(last, m.index) });
    const expr = (m[1] ?? "").split(".");
    if (expr[0] === "args" && expr.length >= 2 && expr.slice(1).every((s) => SEGMENT.test(s))) {
      parts.push({ kind: "arg", path: expr.slice(1) });
    } else if (
      expr[0] === "request" &&
      expr[1] === "auth" &&
      expr[2] === "claims" &&
      expr.length >= 4 &&
      expr.slice(3).every((s) => SEGMENT.test(s))
    ) {
      parts.push({ kind: "claim", path: expr.slice(3) });
    } else {
      throw new StreamgateError(
        ErrorCode.TEMPLATE_INVALID,
        `template "${source}": "{{ ${m[1]} }}" is not "{{ args.<name> }}" or "{{ request.auth.claims.<name> }}"`,
      );
    }
    last = m.index + m[0].length;
  }
  if (last < source.length) parts.push({ kind: "text", text: source.slice(last) });
  if (source.slice(last).includes("{{") || parts.some((p) => p.kind === "text" && p.text.includes("{{"))) {
    throw new StreamgateError(ErrorCode.TEMPLATE_INVALID, `template "${source}": unterminated "{{"`);
  }
  return { source, parts, isStatic: parts.every((p) => p.kind === "text") };
}

export interface RenderContext {
  readonly args: Readonly<Record<string, unknown>>;
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** Checks one rendered placeholder value; returns an error message or null. */
export type ValueCheck = (value: string) => string | null;

/**
 * Follows a dot path; a list on the way maps the rest of the path over its elements, so
 * `args.filters.id` on `filters: [F!]!` yields every element's `id` (start-up validation accepts
 * such paths, so rendering must too).
 */
function lookup(root: unknown, path: readonly string[]): unknown {
  let v = root;
  for (let i = 0; i < path.length; i++) {
    if (Array.isArray(v))
      return v.map((el) => lookup(el, path.slice(i))).filter((x) => x !== undefined && x !== null);
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[path[i]!];
  }
  return v;
}

function scalarText(v: unknown, part: PlaceholderPart): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  throw new StreamgateError(ErrorCode.TEMPLATE_INVALID, `${where(part)} did not render to a scalar value`);
}

type PlaceholderPart = Exclude<TemplatePart, { kind: "text" }>;

/** How a placeholder is named in errors (built only for one: rendering runs per subscribe). */
function where(part: PlaceholderPart): string {
  return `{{ ${part.kind === "arg" ? "args" : "request.auth.claims"}.${part.path.join(".")} }}`;
}

/**
 * Renders a template. A placeholder whose value is a list yields one rendering per element (and
 * several list placeholders their cartesian product), so the result is always a list. With
 * `maxResults`, a rendering that would yield more is refused (LIMIT_EXCEEDED) before its values
 * are checked or the product is built: a 50,000-element list costs one length comparison.
 */
export function renderTemplate(
  t: Template,
  ctx: RenderContext,
  check?: ValueCheck,
  maxResults = Number.POSITIVE_INFINITY,
): string[] {
  if (t.isStatic) return [t.source];
  // Built in place: a connection burst renders one template per subscribe.
  let acc: string[] = [""];
  for (const part of t.parts) {
    if (part.kind === "text") {
      for (let i = 0; i < acc.length; i++) acc[i] += part.text;
      continue;
    }
    const root = part.kind === "arg" ? ctx.args : ctx.claims;
    if (part.kind === "claim" && !ctx.claims) {
      throw new StreamgateError(ErrorCode.TEMPLATE_INVALID, `${where(part)} needs an authenticated request`);
    }
    const value = lookup(root, part.path);
    if (value === undefined || value === null) {
      throw new StreamgateError(ErrorCode.TEMPLATE_INVALID, `${where(part)} has no value`);
    }
    const list: readonly unknown[] | undefined = Array.isArray(value) ? value.flat(8) : undefined;
    const count = list ? list.length : 1;
    if (acc.length * count > maxResults) {
      throw new StreamgateError(
        ErrorCode.LIMIT_EXCEEDED,
        `${where(part)} renders ${acc.length * count} topics; the limit is ${maxResults}`,
      );
    }
    if (!list) {
      // One value (the usual case): no list of values, no product.
      const v = scalarText(value, part);
      const problem = check?.(v);
      if (problem) throw new StreamgateError(ErrorCode.SUBJECT_INVALID, `${where(part)}: ${problem}`);
      for (let i = 0; i < acc.length; i++) acc[i] += v;
      continue;
    }
    const values = list.map((v) => scalarText(v, part));
    for (const v of values) {
      const problem = check?.(v);
      if (problem) throw new StreamgateError(ErrorCode.SUBJECT_INVALID, `${where(part)}: ${problem}`);
    }
    const next: string[] = [];
    for (const prefix of acc) for (const v of values) next.push(prefix + v);
    acc = next;
  }
  return acc;
}
