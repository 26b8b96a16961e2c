/** How many worker threads a config asks for (its own module: the CLI asks before it loads the primary). */
import { availableParallelism } from "node:os";
import type { Config } from "../config/types.js";

/** `workers: auto` is one per core the process may use. */
export function workerCount(workers: Config["workers"]): number {
  return workers === "auto" ? availableParallelism() : workers;
}
