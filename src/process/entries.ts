/**
 * Where the router's other entry scripts and its runtime assets are, in each of the three ways
 * this code runs:
 *
 * - the executable bundle (`dist/bin/`, scripts/build-bin.mjs): every output file sits in
 *   dist/bin/, and the entries are siblings there;
 * - tsc's output (`dist/`, what `import "streamgate"` loads): entries at their source paths;
 * - the TypeScript sources under vitest: the .js entries do not exist, and callers fall back to
 *   running in-process (they check `existsSync`).
 *
 * This module is one folder below the root in all three (dist/bin/*.js, dist/process/entries.js,
 * src/process/entries.ts), so `../` from it is dist/ (or src/), where assets are.
 */
import { fileURLToPath } from "node:url";

// Replaced by `true` when scripts/build-bin.mjs bundles the executable (esbuild `define`).
declare const __STREAMGATE_BIN__: boolean | undefined;
const IN_BIN = typeof __STREAMGATE_BIN__ !== "undefined" && __STREAMGATE_BIN__ === true;

/** dist/ (src/ under vitest): JSON schemas, the demo SDL and the playground's built files. */
export const ROOT = new URL("../", import.meta.url);

/** Entry scripts started as processes or threads: their path under tsc's output. */
const TSC_ENTRIES = {
  worker: "workers/worker-main.js",
  "compose-child": "schema/compose-child.js",
  "config-child": "config/load-child.js",
} as const;

export type EntryName = keyof typeof TSC_ENTRIES;

/** The bundle's entry file names (dist/bin/<name>.js); build-bin.mjs builds exactly these. */
export const BIN_ENTRIES: readonly EntryName[] = Object.keys(TSC_ENTRIES) as EntryName[];

/** True when this code runs from the executable bundle. */
export function inBundle(): boolean {
  return IN_BIN;
}

/** The URL of an entry script for this build (it may not exist when running from sources). */
export function entryUrl(name: EntryName): URL {
  return IN_BIN ? new URL(`./${name}.js`, import.meta.url) : new URL(TSC_ENTRIES[name], ROOT);
}

/** entryUrl as a file path, for child_process.spawn. */
export function entryPath(name: EntryName): string {
  return fileURLToPath(entryUrl(name));
}

/** An asset under the root (`config/schema.json`, `demo/playground/`). */
export function assetUrl(relative: string): URL {
  return new URL(relative, ROOT);
}
