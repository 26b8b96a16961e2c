/**
 * graphql-jit's two entry points, in a module of their own so that it is reached only through
 * `loadJit()`'s dynamic import (src/planner/jit.ts): the executable bundle then puts graphql-jit,
 * its JSON serializer (fast-json-stringify) and that one's ajv in a chunk that a router which has
 * not planned an operation never reads.
 */
import { createRequire } from "node:module";
import type * as GraphqlJit from "graphql-jit";

// graphql-jit is CommonJS and requires graphql's CommonJS files by path. In the executable bundle
// `require` is the bundler's, so graphql-jit is bundled with the graphql the router uses (a second
// graphql would fail its instanceof checks); in tsc's ES module output there is no `require` and
// Node's resolves both to node_modules' CommonJS graphql, which is also the router's there.
const jit = (
  typeof require === "function" ? require("graphql-jit") : createRequire(import.meta.url)("graphql-jit")
) as typeof GraphqlJit;

export const compileQuery = jit.compileQuery;
export const isCompiledQuery = jit.isCompiledQuery;
