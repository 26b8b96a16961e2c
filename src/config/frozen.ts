/**
 * A loaded config as an immutable value, and a worker's way to take one without loading the
 * validator. The primary validates the file once (ajv, yaml); each worker thread receives the
 * result as structured-clone data and only freezes it: validating again would load ajv, yaml and
 * the compiled schema validator in every thread, ~1.5 MB of JS heap each for no new check
 * (profiles/workers.md).
 */
import type { Config } from "./types.js";

/** A loaded config back as a plain document (durations stay in ms, which the schema accepts). */
export function withoutSource(config: Config): Record<string, unknown> {
  const { source: _source, ...rest } = config;
  return rest as Record<string, unknown>;
}

/** Freezes `value` and everything reachable from it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * A config the primary already loaded and validated (`withoutSource(config)`, durations in ms,
 * paths absolute), as a worker receives it. Not validated again: only the primary reads files.
 */
export function trustedConfig(data: unknown): Config {
  return deepFreeze(data) as Config;
}
