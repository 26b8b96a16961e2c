/**
 * What starts a reload: SIGHUP, and with `watch_config: true` a change to the config file or a
 * schema file (debounced: editors write a file in several steps). Each reload re-reads the file
 * from disk; a config or schema that does not load changes nothing and every problem is logged.
 */
import { type FSWatcher, watch } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { loadConfigIsolated } from "./config/load-isolated.js";
import type { Config } from "./config/types.js";
import { errorMessage, StreamgateAggregateError } from "./errors.js";
import type { Logger } from "./observability/logger.js";

const DEBOUNCE_MS = 300;

export interface ReloadTriggerOptions {
  /** The config file; without one (the embedded demo) there is nothing to reload. */
  readonly path: string | undefined;
  readonly config: Config;
  readonly logger: Logger;
  /** Command-line values that replace the file's at every read (`--listen-addr`). */
  readonly overrides?: Readonly<Record<string, unknown>>;
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
      // A change that came while a reload ran is read after it, whether that one was applied or
      // refused: an editor's half-written file is refused, and the complete one must still land.
      do {
        again = false;
        // Said before the read: reading runs a child process and composing another, so a reload
        // takes a while, and whoever watches the log can tell one is under way.
        logger.info({ trigger: why }, "reloading configuration");
        try {
          const next = await loadConfigIsolated(o.path, o.overrides);
          const outcome = await o.apply(next);
          logger.info({ trigger: why, ...outcome }, "configuration reloaded");
        } catch (err) {
          const problems = err instanceof StreamgateAggregateError ? err.problems : [errorMessage(err)];
          logger.error({ trigger: why, problems }, "reload refused: nothing changed");
        }
      } while (again);
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
    // The folders are watched, not the files: a file replaced by a rename (editors, Kubernetes
    // ConfigMaps, `mv new config.yaml`) is a new inode, which a watch on the old one never sees.
    const byDir = new Map<string, Set<string>>();
    for (const f of files) {
      const abs = resolve(f);
      const names = byDir.get(dirname(abs)) ?? new Set<string>();
      names.add(basename(abs));
      byDir.set(dirname(abs), names);
    }
    for (const [dir, names] of byDir) {
      try {
        watchers.push(
          watch(dir, { persistent: false }, (_event, name) => {
            // Some platforms do not say which file changed: then any change counts.
            if (name === null || names.has(String(name))) changed();
          }),
        );
      } catch (err) {
        logger.warn({ dir, err: errorMessage(err) }, "cannot watch folder; SIGHUP still reloads");
      }
    }
  }
  return () => {
    process.off("SIGHUP", onHup);
    for (const w of watchers) w.close();
  };
}
