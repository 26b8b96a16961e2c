/**
 * prom-client's AggregatorRegistry behind a module of its own, so metrics-gather.ts can import it
 * at the first scrape. A static import here, not `import("prom-client")` there: prom-client is
 * CommonJS, and in the executable bundle a dynamic import of a CommonJS package yields only its
 * `default` (scripts/build-bin.mjs); a static import gets the named exports in both builds.
 */
export { AggregatorRegistry } from "prom-client";
