/**
 * The keep-alive undici Pool for one subgraph origin, in a module of its own so client.ts can
 * import it on the first subgraph request: a graph with no ordinary subgraph never pays undici's
 * resident memory. A static import here, not `import("undici")` there: undici is CommonJS, and
 * in the executable bundle a dynamic import of a CommonJS package yields only its `default`
 * (scripts/build-bin.mjs); a static import gets the named exports in both builds.
 */
import { Pool } from "undici";

export function createPool(origin: string): Pool {
  return new Pool(origin, { connections: 32, keepAliveTimeout: 30_000, pipelining: 1 });
}
