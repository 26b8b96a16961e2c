#!/usr/bin/env node
// Bundles the router's executable into dist/bin/: `streamgate.js` (the CLI, what `npm start`, the
// package's `bin` and the Docker image run) and the scripts it starts as threads or processes
// (`worker.js`, `compose-child.js`, `config-child.js`), with the code they share split into
// chunks beside them. Run by `npm run build`, after tsc (the bundle reads dist/config/schema.json
// and dist/demo/playground/, which the other build steps write).
//
// Why a bundle: Node's ESM loader keeps a module record, a resolved URL and the whole source text
// of every file it loads. The router is ~200 files of its own plus graphql's and the NATS
// client's; as one minified bundle the empty router holds several MB less, and so does every
// worker thread (profiles/bundle.md has the before/after).
//
// Left out of the bundle (loaded from node_modules as before):
// - native addons: uWebSockets.js, the Kafka client (librdkafka);
// - ioredis: src/providers/redis/client.ts requires one of its internal files by path, which must
//   be the same copy as the package's.
import { mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "dist/bin");

/** Output name → source entry (src/process/entries.ts names the same files). */
export const BIN_ENTRIES = {
  streamgate: "src/cli.ts",
  worker: "src/workers/worker-main.ts",
  "compose-child": "src/schema/compose-child.ts",
  "config-child": "src/config/load-child.ts",
};

export const EXTERNAL = [
  "uWebSockets.js",
  "@confluentinc/kafka-javascript",
  "ioredis",
  "ioredis/*",
];

/**
 * graphql-jit requires graphql's CommonJS files by path (`graphql/execution/execute.js`) while the
 * router imports graphql's ES module build: two graphql instances, whose instanceof checks refuse
 * each other's types. Send those paths to the .mjs twin so the bundle holds one graphql.
 */
export const oneGraphql = {
  name: "one-graphql",
  setup(b) {
    b.onResolve({ filter: /^graphql\/.+\.js$/ }, (args) => ({
      path: createRequire(join(args.resolveDir, "x.js")).resolve(args.path.replace(/\.js$/, ".mjs")),
    }));
  },
};

if (import.meta.url === `file://${process.argv[1]}`) {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: BIN_ENTRIES,
    outdir: OUT,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    // ES module builds first (graphql has both): one graphql for the router and graphql-jit, and
    // named exports that survive a dynamic import().
    mainFields: ["module", "main"],
    target: "node20",
    // Minified, names too (keepNames costs 0.7 MB resident): stack traces map back to the sources
    // with `node --enable-source-maps dist/bin/streamgate.js`, from the .map files written here.
    minify: true,
    sourcemap: true,
    legalComments: "none",
    chunkNames: "[name]-[hash]",
    external: EXTERNAL,
    // CommonJS packages inside an ES module bundle call `require` (graphql-jit's JSON
    // serializer, NATS' nkeys for node:crypto): give every output file a real one.
    banner: {
      js: 'import { createRequire as __sgCreateRequire } from "node:module"; const require = __sgCreateRequire(import.meta.url);',
    },
    define: { __STREAMGATE_BIN__: "true" },
    plugins: [oneGraphql],
    logLevel: "warning",
    metafile: true,
  });
  const outputs = Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith(".js"));
  const bytes = outputs.reduce((n, [, o]) => n + o.bytes, 0);
  process.stdout.write(`dist/bin: ${outputs.length} files, ${(bytes / 1024).toFixed(0)} KiB\n`);
}
