/**
 * Turns ajv's validation errors into one readable line per problem, each naming the key path as a
 * user would write it (events.providers.nats[0].url), so a config error is fixed in one pass.
 */
import type { ErrorObject } from "ajv";
import type { ConfigPath } from "./interpolate.js";

export interface Problem {
  readonly path: ConfigPath;
  readonly message: string;
}

/** Top-level sections the spec defines but this version does not implement yet. */
/** Values never echoed back in an error message, since messages end up in logs. */
const SECRET_KEYS = new Set(["password", "token", "secret", "nkey_seed", "client_secret"]);
/** What a `pattern` failure of a key means, in words (ajv would print the regular expression). */
const PATTERN_TEXT: Readonly<Record<string, string>> = {
  url: "must be one URL such as nats://host:4222 or tls://host:4222, several separated by commas, or memory://",
  nkey_seed: "must be an NKey user seed: SU followed by 56 base32 characters",
  instance_id: "must hold only letters, digits, '_', '.' and '-'",
};
/** Errors inside these definitions are summarised by one sentence instead of ajv's keyword text. */
const DEFINITION_TEXT: Readonly<Record<string, string>> = {
  duration: "must be a duration such as 500ms, 10s, 1.5s, 5m or 1h, or an integer of milliseconds",
  host_port: "must be host:port with a port from 0 to 65535, e.g. 127.0.0.1:3002",
  http_path: "must be a URL path starting with / (no query string or fragment)",
};

/** `events.providers.nats[0].url`; `(root)` for the document itself. */
export function formatPath(path: ConfigPath): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out || "(root)";
}

/** A JSON pointer (ajv's instancePath) as path segments; indexes become numbers where data is an array. */
export function pointerToPath(pointer: string, data: unknown): (string | number)[] {
  if (pointer === "") return [];
  const path: (string | number)[] = [];
  let node = data;
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    const segment = Array.isArray(node) && /^\d+$/.test(key) ? Number(key) : key;
    path.push(segment);
    node = node !== null && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined;
  }
  return path;
}

/** One problem per distinct issue; requires ajv's `verbose` option (for data and parentSchema). */
export function ajvProblems(errors: readonly ErrorObject[], data: unknown): Problem[] {
  // anyOf branch failures are noise once the anyOf itself is described.
  const anyOfPaths = errors.filter((e) => e.keyword === "anyOf").map((e) => `${e.schemaPath}/`);
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    if (anyOfPaths.some((p) => error.schemaPath.startsWith(p))) continue;
    const problem = describe(error, pointerToPath(error.instancePath, data));
    const key = `${formatPath(problem.path)}\0${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
  }
  return problems;
}

function describe(error: ErrorObject, path: (string | number)[]): Problem {
  const params = error.params as Record<string, unknown>;
  const got = gotValue(error.data, path);
  const definition = /^#\/definitions\/([^/]+)\//.exec(error.schemaPath)?.[1];
  const summary = definition === undefined ? undefined : DEFINITION_TEXT[definition];
  if (summary !== undefined && ["type", "pattern", "minimum"].includes(error.keyword)) {
    return { path, message: `${summary}${got}` };
  }
  switch (error.keyword) {
    case "additionalProperties": {
      const key = String(params.additionalProperty);
      const allowed = Object.keys(error.parentSchema?.properties ?? {}).filter((k) => k !== "$schema");
      return { path: [...path, key], message: `unknown key "${key}" (allowed: ${allowed.join(", ")})` };
    }
    case "required":
      return { path: [...path, String(params.missingProperty)], message: "is required" };
    case "enum":
      return { path, message: `must be one of ${listOf(params.allowedValues)}${got}` };
    case "const":
      return { path, message: `must be ${JSON.stringify(params.allowedValue)}${got}` };
    case "type":
      return { path, message: `must be ${typeText(params.type)}${got}` };
    case "anyOf":
      return { path, message: anyOfText(error.schema as unknown[], got) };
    case "minProperties":
    case "maxProperties": {
      const keys = Object.keys(error.parentSchema?.properties ?? {});
      return { path, message: `must set exactly one of ${keys.join(", ")}` };
    }
    case "format":
      if (params.format === "uri") {
        return { path, message: `must be an absolute URL such as scheme://host:port${got}` };
      }
      return { path, message: `must be a valid ${String(params.format)}${got}` };
    case "minItems":
      return { path, message: `must have at least ${params.limit} item${params.limit === 1 ? "" : "s"}` };
    case "minLength":
      return {
        path,
        message: params.limit === 1 ? "must not be empty" : `must be at least ${params.limit} long`,
      };
    case "minimum":
      return { path, message: `must be >= ${params.limit}${got}` };
    case "pattern": {
      const key = path[path.length - 1];
      const text = typeof key === "string" ? PATTERN_TEXT[key] : undefined;
      return { path, message: `${text ?? `must match ${String(params.pattern)}`}${got}` };
    }
    case "dependencies":
      return {
        path: [...path, String(params.missingProperty)],
        message: `is required with ${String(params.property)}`,
      };
    default:
      return { path, message: `${error.message ?? error.keyword}${got}` };
  }
}

function anyOfText(branches: unknown[], got: string): string {
  const schemas = branches as Record<string, unknown>[];
  const requiredOnly = schemas.every((s) => Object.keys(s).length === 1 && Array.isArray(s.required));
  if (requiredOnly) {
    const names = schemas.flatMap((s) => s.required as string[]);
    return `must set at least one of ${names.join(", ")}`;
  }
  return `must be ${schemas.map(branchText).join(" or ")}${got}`;
}

function branchText(schema: Record<string, unknown>): string {
  if ("const" in schema) return JSON.stringify(schema.const);
  if ("enum" in schema) return `one of ${listOf(schema.enum)}`;
  let text = typeText(schema.type);
  if (typeof schema.minimum === "number") text += ` >= ${schema.minimum}`;
  return text;
}

function typeText(type: unknown): string {
  const names = Array.isArray(type) ? type.map(String) : String(type).split(",");
  return names
    .map((t) => (t === "integer" || t === "object" || t === "array" ? `an ${t}` : `a ${t}`))
    .join(" or ");
}

function listOf(values: unknown): string {
  return Array.isArray(values)
    ? values.map((v) => (typeof v === "string" ? v : JSON.stringify(v))).join(", ")
    : "";
}

function gotValue(value: unknown, path: ConfigPath): string {
  const last = path[path.length - 1];
  if (typeof last === "string" && SECRET_KEYS.has(last)) return "";
  if (value === undefined) return "";
  if (Array.isArray(value)) return " (got an array)";
  if (value !== null && typeof value === "object") return " (got an object)";
  // URLs may carry credentials (nats://user:pass@host): keep the shape, drop the secret.
  const shown = typeof value === "string" ? value.replace(/(\/\/)[^/@\s]*@/, "$1***@") : value;
  const text = JSON.stringify(shown) ?? String(shown);
  return ` (got ${text.length > 60 ? `${text.slice(0, 57)}...` : text})`;
}
