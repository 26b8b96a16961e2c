/**
 * Scenario 4 (resolve) is specified (shared/spec/bench.md) but not part of this runner: as 2, but
 * each event needs `_entities` from an HTTP subgraph; 1 vs 100 distinct operations; subgraph
 * requests per event. Another change builds it as bench/resolve.mjs. (Scenario 3 is sharded.mjs.)
 */
import { existsSync } from "node:fs";

const later = (number, name, why) => ({
  number,
  name,
  defaults: {},
  notBuilt: why,
  async run() {
    throw new Error(`scenario ${number} (${name}) is not built yet: ${why}`);
  },
});

export const resolve = later(
  4,
  "resolve",
  existsSync(new URL("../resolve.mjs", import.meta.url))
    ? "not part of this runner: run `node bench/resolve.mjs` (a separate script from another change)"
    : "TODO: needs Streamgate entity resolution (_entities)",
);
