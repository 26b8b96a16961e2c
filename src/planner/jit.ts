/**
 * graphql-jit, loaded at the first operation planned rather than at start. With fast-json-stringify
 * and ajv it is ~260 KB of minified source (and its compiled top level) that a router with no
 * operation yet does not need, in every worker thread (profiles/bundle.md). Loading is a dynamic
 * import, so it is asynchronous: the engine awaits `loadJit()` before it plans for the first time
 * and `Planner` refuses to plan before (a programming error, not a client's).
 */
import { ErrorCode, StreamgateError } from "../errors.js";

type JitModule = typeof import("./jit-module.js");

let loaded: JitModule | undefined;
let loading: Promise<JitModule> | undefined;

/** Loads graphql-jit once; later calls share the first. A failed load is retried by the next call. */
export function loadJit(): Promise<void> {
  if (loaded) return Promise.resolve();
  loading ??= import("./jit-module.js").then(
    (m) => {
      loaded = m;
      return m;
    },
    (err: unknown) => {
      loading = undefined;
      throw err;
    },
  );
  return loading.then(() => undefined);
}

/** True once `loadJit()` has resolved in this thread. */
export function jitLoaded(): boolean {
  return loaded !== undefined;
}

/** graphql-jit; throws when `loadJit()` has not resolved yet (callers check `jitLoaded()`). */
export function jit(): JitModule {
  if (!loaded)
    throw new StreamgateError(
      ErrorCode.INTERNAL,
      "graphql-jit is not loaded: await loadJit() before planning",
    );
  return loaded;
}
