/**
 * Scenarios 3 (sharded) and 4 (resolve) are specified (shared/spec/bench.md) but not built yet.
 *   3 sharded: 1k-10k topics (`--topics` already spreads clients over topics), fan-out 1-10, ramp
 *     the rate until p99 > 100 ms or loss; report max events/s and deliveries/s per core, broker lag.
 *   4 resolve: as 2, but each event needs `_entities` from an HTTP subgraph; 1 vs 100 distinct
 *     operations; subgraph requests per event. Another change builds it as bench/resolve.mjs.
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

export const sharded = later(3, "sharded", "TODO: rate ramp with --topics; see bench/README.md");
export const resolve = later(
  4,
  "resolve",
  existsSync(new URL("../resolve.mjs", import.meta.url))
    ? "not part of this runner: run `node bench/resolve.mjs` (a separate script from another change)"
    : "TODO: needs Streamgate entity resolution (_entities)",
);
