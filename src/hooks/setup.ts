/** The router's stream hooks from its config: none (and nothing paid) without `modules`. */
import { dirname } from "node:path";
import type { Config } from "../config/types.js";
import type { Logger } from "../observability/logger.js";
import { HookSet } from "./hooks.js";
import { loadHookModules } from "./load.js";

export async function loadHooks(config: Config, logger: Logger): Promise<HookSet | undefined> {
  if (config.modules.length === 0) return undefined;
  const baseDir = config.source ? dirname(config.source) : process.cwd();
  const modules = await loadHookModules(config.modules, baseDir);
  for (const m of modules)
    logger.info({ module: m.label, hooks: Object.keys(m.hooks) }, "stream hook module loaded");
  return new HookSet(modules, {
    config: config.hooks,
    maxBytes: config.limits.max_message_size,
    logger,
  });
}
