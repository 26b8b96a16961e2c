/**
 * What starts a reload: SIGHUP, and with `watch_config: true` a change to the config file or a
 * schema file (debounced: editors write a file in several steps). Each reload re-reads the file
 * from disk; a config or schema that does not load changes nothing and every problem is logged.
 */
import { type FSWatcher, watch } from "node:fs";
import { loadConfigFile } from "./config/loader.js";
import type { Config } from "./config/types.js";
import { errorMessage, StreamgateAggregateError } from "./errors.js";
import type { Logger } from "./observability/logger.js";

const DEBOUNCE_MS = 300;

export interface ReloadTriggerOptions {
  /** The config file; without one (the embedded demo) there is nothing to reload. */
  readonly path: string | undefined;
  readonly config: Config;
  readonly logger: Logger;
  /** Applies a loaded config; rejects (having changed nothing) when it cannot. */
  readonly apply: (next: Config) => Promise<Record<string, unknown>>;
}

/** Installs the triggers; returns their removal. */
export function installReloadTriggers(o: ReloadTriggerOptions): () => void {
  const { logger } = o;
  let running = false;
  let again = false;
  const reload = async (why: string): Promise<void> => {
    if (!o.path) {
      logger.warn(
        { trigger: why },
        "reload asked, but the router runs the embedded default: no config file to read",
      );
      return;
    }
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        const next = await loadConfigFile(o.path);
        const outcome = await o.apply(next);
        logger.info({ trigger: why, ...outcome }, "configuration reloaded");
      } while (again);
    } catch (err) {
      const problems = err instanceof StreamgateAggregateError ? err.problems : [errorMessage(err)];
      logger.error({ trigger: why, problems }, "reload refused: nothing changed");
    } finally {
      running = false;
    }
  };
  const onHup = (): void => void reload("SIGHUP");
  process.on("SIGHUP", onHup);
  const watchers: FSWatcher[] = [];
  if (o.config.watch_config && o.path) {
    let timer: NodeJS.Timeout | undefined;
    const changed = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => void reload("file change"), DEBOUNCE_MS);
    };
    const files = [o.path, ...o.config.subgraphs.flatMap((s) => (s.schema_file ? [s.schema_file] : []))];
    for (const f of files) {
      try {
        watchers.push(watch(f, { persistent: false }, changed));
      } catch (err) {
        logger.warn({ file: f, err: errorMessage(err) }, "cannot watch file; SIGHUP still reloads");
      }
    }
  }
  return () => {
    process.off("SIGHUP", onHup);
    for (const w of watchers) w.close();
  };
}
