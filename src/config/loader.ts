/**
 * Config file → validated, defaulted, frozen `Config`. Every problem found (syntax, unset
 * environment variables, schema violations, duplicate names) is collected and thrown at once in
 * one StreamgateAggregateError, so a broken file is fixed in one pass instead of one error per run.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, extname, resolve } from "node:path";
import { Ajv, type AnySchemaObject, type ValidateFunction } from "ajv";
import { LineCounter, parseDocument } from "yaml";
import { ErrorCode, StreamgateAggregateError, errorMessage } from "../errors.js";
import { assetUrl } from "../process/entries.js";
import { shapeProblem } from "./cycles.js";
import { parseDuration } from "./duration.js";
import { deepFreeze } from "./frozen.js";
import { crossFieldProblems } from "./rules.js";
import { type ConfigPath, interpolateEnv } from "./interpolate.js";
import { type Problem, ajvProblems, formatPath, pointerToPath } from "./problems.js";
import type { Config } from "./types.js";

type Env = Readonly<Record<string, string | undefined>>;

export interface ConfigFromObjectOptions {
  /** Where the object came from: used in messages and as `Config.source` (made absolute). */
  readonly source?: string;
  /** Folder relative `schema_file` paths are resolved against; default: source's folder, else cwd. */
  readonly baseDir?: string;
  /** Environment for `${NAME}` references; default process.env. */
  readonly env?: Env;
}

// createRequire rather than an import attribute: works on every Node 20, from dist/ (the build
// copies schema.json there) and from the executable bundle in dist/bin/.
export const CONFIG_SCHEMA: AnySchemaObject = createRequire(assetUrl("config/"))("./schema.json");

const INLINE_LABEL = "(inline config)";
let validator: ValidateFunction | undefined;

function validate(): ValidateFunction {
  if (validator) return validator;
  const ajv = new Ajv({
    allErrors: true,
    useDefaults: true,
    verbose: true,
    strict: true,
    strictRequired: false,
    allowUnionTypes: true,
  });
  // Only absolute URLs with an authority: "localhost:4222" parses as a URL with scheme
  // "localhost:", which is never what was meant.
  ajv.addFormat("uri", (s: string) => /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(s) && URL.canParse(s));
  validator = ajv.compile(CONFIG_SCHEMA);
  return validator;
}

/** Reads, interpolates, validates and freezes a YAML (.yaml/.yml, or any other name) or JSON (.json) file. */
export async function loadConfigFile(path: string, env: Env = process.env): Promise<Config> {
  const source = resolve(path);
  let text: string;
  try {
    text = await readFile(source, "utf8");
  } catch (err) {
    const error = new StreamgateAggregateError(
      ErrorCode.CONFIG_READ,
      `${source}: cannot read configuration file`,
      [`${source}: ${readFailure(err)}`],
    );
    Object.defineProperty(error, "cause", { value: err, configurable: true, writable: true });
    throw error;
  }
  const parsed = extname(source).toLowerCase() === ".json" ? parseJson(text) : parseYaml(text);
  if (parsed.problems.length > 0) {
    throw invalid(
      source,
      parsed.problems.map((p) => `${source}: ${p}`),
    );
  }
  return build(parsed.value, source, dirname(source), env);
}

/** As loadConfigFile for an already parsed document (the embedded default, tests). */
export function configFromObject(obj: unknown, opts: ConfigFromObjectOptions = {}): Config {
  const source = opts.source === undefined ? undefined : resolve(opts.source);
  const baseDir = opts.baseDir ?? (source === undefined ? process.cwd() : dirname(source));
  return build(obj, source, baseDir, opts.env ?? process.env);
}

let defaults: Config | undefined;

/** The configuration with nothing set: every default, no subgraphs, no providers. */
export { withoutSource } from "./frozen.js";

export function defaultConfig(): Config {
  defaults ??= configFromObject({}, { env: {} });
  return defaults;
}

function build(doc: unknown, source: string | undefined, baseDir: string, env: Env): Config {
  const label = source ?? INLINE_LABEL;
  const shape = shapeProblem(doc);
  if (shape !== undefined) throw invalid(label, [`${label}: ${shape}`]);
  // An empty file is a valid config: all defaults.
  const interpolation = interpolateEnv(doc ?? {}, env);
  const data = interpolation.value;
  let errors = validate()(data) ? [] : [...(validate().errors ?? [])];
  if (errors.length > 0 && coerceInterpolated(errors, data, interpolation.interpolated)) {
    errors = validate()(data) ? [] : [...(validate().errors ?? [])];
  }
  const unset = interpolation.problems.map((p) => formatPath(p.path));
  // A value left as "${NAME}" because NAME is unset would also fail its format: say it once.
  const schemaProblems = ajvProblems(errors, data).filter((p) => !unset.some((u) => isWithin(p.path, u)));
  const problems: Problem[] = [
    ...interpolation.problems,
    ...schemaProblems,
    ...duplicates(data),
    ...crossFieldProblems(data),
  ];
  const durationProblems: Problem[] = [];
  convertDurations(CONFIG_SCHEMA, data, [], durationProblems);
  // A malformed duration is already a schema problem; only out-of-range ones are new.
  const reported = new Set(problems.map((p) => formatPath(p.path)));
  problems.push(...durationProblems.filter((p) => !reported.has(formatPath(p.path))));
  if (problems.length > 0) {
    throw invalid(
      label,
      problems.map((p) => `${label}: ${formatPath(p.path)}: ${p.message}`),
    );
  }
  const config = finish(data as Record<string, unknown>, baseDir);
  if (source !== undefined) config.source = source;
  return deepFreeze(config) as unknown as Config;
}

function invalid(label: string, problems: string[]): StreamgateAggregateError {
  return new StreamgateAggregateError(ErrorCode.CONFIG_INVALID, `${label}: invalid configuration`, problems);
}

function isWithin(path: ConfigPath, prefix: string): boolean {
  const p = formatPath(path);
  return p === prefix || p.startsWith(`${prefix}.`) || p.startsWith(`${prefix}[`);
}

/**
 * Interpolation always yields strings, so `workers: ${WORKERS}` would be a type error. Where the
 * schema wants an integer or boolean and the string came from the environment, convert it (and
 * only there: a literal "4" written in the file stays an error). True if anything changed.
 */
function coerceInterpolated(
  errors: readonly { keyword: string; instancePath: string; params: unknown }[],
  data: unknown,
  interpolated: readonly ConfigPath[],
): boolean {
  const fromEnv = new Set(interpolated.map(formatPath));
  let changed = false;
  for (const error of errors) {
    if (error.keyword !== "type") continue;
    const path = pointerToPath(error.instancePath, data);
    if (!fromEnv.has(formatPath(path)) || path.length === 0) continue;
    const parent = path
      .slice(0, -1)
      .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], data);
    const key = path[path.length - 1] as string | number;
    const value = (parent as Record<string | number, unknown>)[key];
    const wanted = String((error.params as { type: unknown }).type);
    let coerced: unknown;
    if (typeof value !== "string") continue;
    if (/integer|number/.test(wanted) && /^-?\d+$/.test(value)) {
      coerced = Number(value);
    } else if (wanted.includes("boolean") && (value === "true" || value === "false")) {
      coerced = value === "true";
    } else {
      continue;
    }
    (parent as Record<string | number, unknown>)[key] = coerced;
    changed = true;
  }
  return changed;
}

/** Names and ids are how directives and logs refer to things, so two of the same is ambiguous. */
function duplicates(data: unknown): Problem[] {
  const problems: Problem[] = [];
  const check = (items: unknown, field: string, what: string, at: (string | number)[]) => {
    if (!Array.isArray(items)) return;
    const first = new Map<string, number>();
    items.forEach((item, i) => {
      const value = (item as Record<string, unknown> | null)?.[field];
      if (typeof value !== "string") return;
      const earlier = first.get(value);
      if (earlier === undefined) first.set(value, i);
      else {
        const message = `duplicate ${what} "${value}" (also at ${formatPath([...at, earlier, field])})`;
        problems.push({ path: [...at, i, field], message });
      }
    });
  };
  const doc = (data ?? {}) as Record<string, Record<string, Record<string, unknown>> | undefined>;
  check(doc.subgraphs, "name", "subgraph name", ["subgraphs"]);
  for (const kind of ["nats", "kafka", "redis"]) {
    check(doc.events?.providers?.[kind], "id", `${kind} provider id`, ["events", "providers", kind]);
  }
  return problems;
}

/**
 * Validated file shape → Config: durations in ms, file paths (schema_file, hook modules, provider
 * TLS and credentials files) absolute, editor-only keys dropped.
 */
function finish(data: Record<string, unknown>, baseDir: string): Record<string, unknown> {
  delete data.$schema;
  const absolute = (obj: Record<string, unknown> | undefined, key: string) => {
    if (obj && typeof obj[key] === "string") obj[key] = resolve(baseDir, obj[key] as string);
  };
  for (const subgraph of data.subgraphs as Record<string, unknown>[]) absolute(subgraph, "schema_file");
  data.modules = (data.modules as string[]).map((m) => resolve(baseDir, m));
  const providers = (data.events as { providers: Record<string, Record<string, unknown>[]> }).providers;
  for (const list of Object.values(providers)) {
    for (const p of list) {
      const tls = p.tls as Record<string, unknown> | undefined;
      for (const key of ["ca_file", "cert_file", "key_file"]) absolute(tls, key);
      absolute(p.authentication as Record<string, unknown> | undefined, "credentials_file");
    }
  }
  return data;
}

/** Node.js timers fire at once (with a warning) past 2^31-1 ms, so a longer duration is a mistake. */
const MAX_DURATION_MS = 2_147_483_647;

/**
 * Replaces, in place, every value the schema declares as a duration by its milliseconds. Walking
 * the schema keeps it the one list of duration keys. Values the schema rejected are skipped.
 */
function convertDurations(
  schema: AnySchemaObject,
  data: unknown,
  path: (string | number)[],
  out: Problem[],
): unknown {
  const ref = typeof schema.$ref === "string" ? schema.$ref : undefined;
  if (ref === "#/definitions/duration") {
    let ms: number;
    try {
      ms = parseDuration(data as string | number);
    } catch (err) {
      out.push({ path, message: errorMessage(err) });
      return data;
    }
    if (ms > MAX_DURATION_MS) {
      out.push({
        path,
        message: `must be at most ${MAX_DURATION_MS}ms (about 24.8 days), the longest Node.js timer`,
      });
    }
    return ms;
  }
  if (ref !== undefined) {
    return convertDurations(CONFIG_SCHEMA.definitions[ref.split("/").pop() as string], data, path, out);
  }
  if (Array.isArray(data) && schema.items) {
    return data.map((item, i) => convertDurations(schema.items, item, [...path, i], out));
  }
  if (data !== null && typeof data === "object" && !Array.isArray(data) && schema.properties) {
    const obj = data as Record<string, unknown>;
    for (const [key, sub] of Object.entries(schema.properties as Record<string, AnySchemaObject>)) {
      if (Object.hasOwn(obj, key)) obj[key] = convertDurations(sub, obj[key], [...path, key], out);
    }
  }
  return data;
}

function parseYaml(text: string): { value: unknown; problems: string[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems = [...doc.errors, ...doc.warnings].map((e) => {
    const { line, col } = lineCounter.linePos(e.pos[0]);
    return `line ${line}, column ${col}: YAML: ${e.message}`;
  });
  if (problems.length > 0) return { value: undefined, problems };
  try {
    return { value: doc.toJS({ maxAliasCount: 100 }), problems };
  } catch (err) {
    return { value: undefined, problems: [`(root): YAML: ${errorMessage(err)}`] };
  }
}

function parseJson(text: string): { value: unknown; problems: string[] } {
  const body = text.replace(/^\uFEFF/, "");
  try {
    return { value: JSON.parse(body), problems: [] };
  } catch (err) {
    const message = errorMessage(err).replace(/\s+/g, " ");
    return { value: undefined, problems: [`${jsonErrorPosition(body, message)}: JSON: ${message}`] };
  }
}

/** V8 gives "at position N" for some errors only; the YAML parser (JSON is YAML) locates the rest. */
function jsonErrorPosition(text: string, message: string): string {
  const position = /at position (\d+)/.exec(message)?.[1];
  let offset = position === undefined ? undefined : Number(position);
  if (offset === undefined) {
    const lineCounter = new LineCounter();
    offset = parseDocument(text, { lineCounter }).errors[0]?.pos[0];
    if (offset !== undefined) {
      const { line, col } = lineCounter.linePos(offset);
      return `line ${line}, column ${col}`;
    }
    offset = text.length;
  }
  const before = text.slice(0, offset).split("\n");
  return `line ${before.length}, column ${(before[before.length - 1]?.length ?? 0) + 1}`;
}

function readFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOENT") return "file not found";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "is a directory, not a file";
  return errorMessage(err);
}
