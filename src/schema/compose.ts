/**
 * Federation composition, run in a short-lived child process when the compiled router runs: the
 * composition library is megabytes of code and heap needed once at start-up, and a process that
 * exits gives all of it back, which V8 and malloc would not (profiles/README.md, "Baseline
 * memory"). From TypeScript sources (unit tests) it runs in-process.
 */
import { ErrorCode, StreamgateError } from "../errors.js";
import { entryPath } from "../process/entries.js";
import { runJsonChild } from "../process/json-child.js";
import { existsSync } from "node:fs";

export interface ServiceSdl {
  readonly name: string;
  readonly url: string;
  readonly sdl: string;
}

export type ComposeResult =
  | { readonly ok: true; readonly supergraphSdl: string; readonly publicSdl: string }
  | { readonly ok: false; readonly errors: readonly string[] };

export async function composeInProcess(services: readonly ServiceSdl[]): Promise<ComposeResult> {
  const [{ composeServices, compositionHasErrors }, { parse }] = await Promise.all([
    import("@theguild/federation-composition"),
    import("graphql"),
  ]);
  const result = composeServices(services.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) })));
  if (compositionHasErrors(result)) {
    return {
      ok: false,
      errors: result.errors.map(
        (e) => `${e.message}${e.extensions?.code ? ` [${String(e.extensions.code)}]` : ""}`,
      ),
    };
  }
  return { ok: true, supergraphSdl: result.supergraphSdl, publicSdl: result.publicSdl };
}

const CHILD = entryPath("compose-child");

type Composer = (services: readonly ServiceSdl[]) => Promise<ComposeResult>;
let composer: Composer | undefined;

/**
 * Where this thread's compositions run instead of its own child: a worker thread asks the
 * primary, which composes once for all of them (src/workers/compose-share.ts).
 */
export function composeThrough(c: Composer | undefined): void {
  composer = c;
}

/** Composes through the installed composer, else in a child process (see composeInChild). */
export function compose(services: readonly ServiceSdl[]): Promise<ComposeResult> {
  return composer ? composer(services) : composeInChild(services);
}

/** Composes in a child process when the compiled child script exists, else in-process. */
export async function composeInChild(services: readonly ServiceSdl[]): Promise<ComposeResult> {
  if (!import.meta.url.endsWith(".js") || !existsSync(CHILD)) return composeInProcess(services);
  return runJsonChild<ComposeResult>(
    CHILD,
    services,
    (why) => new StreamgateError(ErrorCode.SCHEMA_COMPOSITION, `composition process ${why}`),
  );
}
