/**
 * Reads the config file in a short-lived child process when the compiled router runs. Reading it
 * needs yaml, ajv and the compiled validator of the config schema: ~6 MB of the empty router's RSS
 * for something done once at start and once per reload (72 -> 66 MB, profiles/empty-router.md). A
 * process that exits gives all of it back. From TypeScript sources (unit tests) it runs in-process.
 * The same pattern as composition (src/schema/compose.ts).
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { ErrorCode, type ErrorCodeValue, StreamgateAggregateError, StreamgateError } from "../errors.js";
import { entryPath } from "../process/entries.js";
import { runJsonChild } from "../process/json-child.js";
import { trustedConfig } from "./frozen.js";
import type { Config } from "./types.js";

/** What the child is asked: a file, and values that replace the file's (command-line options). */
export interface LoadRequest {
  readonly path: string;
  readonly overrides?: Readonly<Record<string, unknown>>;
}

/** What the child answers: the loaded config as plain data, or the error as loadConfigFile threw it. */
export type LoadAnswer =
  | { readonly ok: true; readonly config: Record<string, unknown>; readonly source: string }
  | {
      readonly ok: false;
      readonly code: ErrorCodeValue | undefined;
      readonly summary: string;
      readonly problems?: readonly string[];
    };

const CHILD = entryPath("config-child");

/** loadConfigFile (plus overrides), in a child process when compiled, with the same errors. */
export async function loadConfigIsolated(path: string, overrides?: Record<string, unknown>): Promise<Config> {
  const req: LoadRequest = { path: resolve(path), ...(overrides ? { overrides } : {}) };
  const answer =
    import.meta.url.endsWith(".js") && existsSync(CHILD) ? await inChild(req) : await inProcess(req);
  if (answer.ok) return trustedConfig({ ...answer.config, source: answer.source });
  if (answer.problems)
    throw new StreamgateAggregateError(
      answer.code ?? ErrorCode.CONFIG_INVALID,
      answer.summary,
      answer.problems,
    );
  throw new StreamgateError(answer.code ?? ErrorCode.CONFIG_READ, answer.summary);
}

async function inProcess(req: LoadRequest): Promise<LoadAnswer> {
  return (await import("./load-answer.js")).answerLoad(req);
}

function inChild(req: LoadRequest): Promise<LoadAnswer> {
  return runJsonChild<LoadAnswer>(
    CHILD,
    req,
    (why) =>
      new StreamgateError(ErrorCode.CONFIG_READ, `${req.path}: the configuration reader process ${why}`),
  );
}
