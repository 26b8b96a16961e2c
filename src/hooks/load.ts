/**
 * Loading hook modules (`modules:` in the config): each file is imported as ESM and its default
 * export checked, so a typo in a hook name or a hook that is not a function stops the start (and
 * `--check-config`) with a message naming the file, instead of being silently never called.
 */
import { relative } from "node:path";
import { pathToFileURL } from "node:url";
import { ErrorCode, errorMessage, StreamgateAggregateError } from "../errors.js";
import { type DeliverHandler, HOOK_NAMES, type HookName, type StreamHooks } from "./types.js";

/** One loaded module: its label (path relative to the config file) and its checked hooks. */
export interface LoadedModule {
  readonly label: string;
  readonly file: string;
  readonly hooks: CheckedHooks;
}

/** A module's hooks with onDeliver in one shape. */
export interface CheckedHooks {
  readonly onSubscriptionCreate?: NonNullable<StreamHooks["onSubscriptionCreate"]>;
  readonly onSubscriptionStart?: NonNullable<StreamHooks["onSubscriptionStart"]>;
  readonly onReceiveEvents?: NonNullable<StreamHooks["onReceiveEvents"]>;
  readonly onDeliver?: {
    readonly scope: "group" | "subscriber";
    readonly groupBy: ((ctx: never) => unknown) | undefined;
    readonly handler: DeliverHandler;
  };
  readonly onPublish?: NonNullable<StreamHooks["onPublish"]>;
}

const DELIVER_KEYS = ["scope", "groupBy", "handler"];

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/**
 * Checks a module's default export. Returns the problems (empty when it is usable) and the hooks.
 * Pure: the unit tests and the fuzzer call it with anything.
 */
export function checkHookModule(exported: unknown): { problems: string[]; hooks: CheckedHooks } {
  const problems: string[] = [];
  if (exported === null || typeof exported !== "object" || Array.isArray(exported)) {
    problems.push(`the default export must be an object of hooks, not ${kindOf(exported)}`);
    return { problems, hooks: {} };
  }
  const obj = exported as Record<string, unknown>;
  const hooks: Record<string, unknown> = {};
  for (const name of Object.keys(obj)) {
    const value = obj[name];
    if (!(HOOK_NAMES as readonly string[]).includes(name)) {
      problems.push(`unknown hook "${name}" (known: ${HOOK_NAMES.join(", ")})`);
      continue;
    }
    if (value === undefined) continue;
    if (name === "onDeliver" && value !== null && typeof value === "object" && !Array.isArray(value)) {
      const d = value as Record<string, unknown>;
      const before = problems.length;
      for (const k of Object.keys(d))
        if (!DELIVER_KEYS.includes(k))
          problems.push(`onDeliver: unknown key "${k}" (known: ${DELIVER_KEYS.join(", ")})`);
      if (typeof d.handler !== "function")
        problems.push(`onDeliver.handler must be a function, not ${kindOf(d.handler)}`);
      if (d.scope !== undefined && d.scope !== "group" && d.scope !== "subscriber")
        problems.push('onDeliver.scope must be "group" or "subscriber"');
      if (d.groupBy !== undefined && typeof d.groupBy !== "function")
        problems.push(`onDeliver.groupBy must be a function, not ${kindOf(d.groupBy)}`);
      if (d.scope === "subscriber" && d.groupBy !== undefined)
        problems.push('onDeliver.groupBy means nothing with scope "subscriber"');
      if (problems.length === before)
        hooks.onDeliver = { scope: d.scope ?? "group", groupBy: d.groupBy, handler: d.handler };
      continue;
    }
    if (typeof value !== "function") {
      problems.push(`${name} must be a function, not ${kindOf(value)}`);
      continue;
    }
    hooks[name] = name === "onDeliver" ? { scope: "group", groupBy: undefined, handler: value } : value;
  }
  return { problems, hooks: hooks as CheckedHooks };
}

/**
 * Imports every module in order. Throws one SG_ERR_HOOK_MODULE_INVALID listing every problem of
 * every file (a file that cannot be imported, a bad export). `baseDir` makes the labels.
 */
export async function loadHookModules(files: readonly string[], baseDir: string): Promise<LoadedModule[]> {
  const problems: string[] = [];
  const loaded: LoadedModule[] = [];
  for (const file of files) {
    const label = relative(baseDir, file) || file;
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (err) {
      problems.push(`${file}: cannot load the module: ${loadFailure(err)}`);
      continue;
    }
    if (!("default" in mod)) {
      problems.push(`${file}: the module has no default export (export default { onSubscriptionCreate, … })`);
      continue;
    }
    const checked = checkHookModule(mod.default);
    if (checked.problems.length > 0) {
      problems.push(...checked.problems.map((p) => `${file}: ${p}`));
      continue;
    }
    if (Object.keys(checked.hooks).length === 0) problems.push(`${file}: the module exports no hook`);
    else loaded.push({ label, file, hooks: checked.hooks });
  }
  if (problems.length > 0)
    throw new StreamgateAggregateError(ErrorCode.HOOK_MODULE_INVALID, "hook modules are invalid", problems);
  return loaded;
}

/** What went wrong importing a module: loaders may throw plain objects with a message. */
function loadFailure(err: unknown): string {
  if (err instanceof Error) return err.message;
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === "string" ? message : errorMessage(err);
}

/** Names of the hooks the modules define, for deciding what the router must keep. */
export function definedHooks(modules: readonly LoadedModule[]): ReadonlySet<HookName> {
  const names = new Set<HookName>();
  for (const m of modules) for (const n of Object.keys(m.hooks) as HookName[]) names.add(n);
  return names;
}
