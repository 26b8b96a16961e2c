#!/usr/bin/env node
// Bundles the playground (GraphiQL + React + Monaco + graphql-ws, src/demo/playground/app.js) into
// dist/demo/playground/ at build time: no CDN, nothing fetched at run time. Every file name but
// index.html carries a content hash, so the router serves them with a year-long immutable cache;
// index.html is the page template with those names filled in (src/demo/playground.ts fills the
// rest per request). Run by `npm run build`.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { constants, gzipSync } from "node:zlib";
import { build } from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SRC = join(ROOT, "src/demo/playground");
const OUT = join(ROOT, "dist/demo/playground");
const require = (m) => fileURLToPath(import.meta.resolve(m));

const common = {
  bundle: true,
  minify: true,
  legalComments: "none",
  target: "es2022",
  outdir: OUT,
  entryNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
  metafile: true,
};

/** Output files of an esbuild result whose entry point is `entry`, by extension. */
function outputsOf(result, entry) {
  const found = {};
  for (const [file, meta] of Object.entries(result.metafile.outputs)) {
    if (meta.entryPoint && join(ROOT, meta.entryPoint) === entry) found[file.split(".").pop()] = basename(file);
    if (meta.cssBundle && meta.entryPoint && join(ROOT, meta.entryPoint) === entry) found.css = basename(meta.cssBundle);
  }
  return found;
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

// Workers first (classic scripts), so the page bundle can name them.
const workers = {
  editor: require("monaco-editor/esm/vs/editor/editor.worker.js"),
  json: require("monaco-editor/esm/vs/language/json/json.worker.js"),
  graphql: require("monaco-graphql/esm/graphql.worker.js"),
};
const workerNames = {};
for (const [label, entry] of Object.entries(workers)) {
  const result = await build({ ...common, entryPoints: { [`${label}.worker`]: entry }, format: "iife" });
  workerNames[label] = outputsOf(result, entry).js;
}

const app = join(SRC, "app.js");
const result = await build({
  ...common,
  entryPoints: { playground: app },
  // One file: GraphiQL's lazily imported Monaco parts are inlined, and so is their CSS, which
  // esbuild would otherwise emit beside split chunks without loading it.
  format: "esm",
  loader: { ".ttf": "file", ".woff": "file", ".woff2": "file" },
  define: { ...common.define, WORKERS: JSON.stringify(workerNames) },
});
const page = outputsOf(result, app);
if (!page.js || !page.css) throw new Error(`playground build: missing outputs ${JSON.stringify(page)}`);
const html = readFileSync(join(SRC, "index.html"), "utf8")
  .replace("__ASSET_JS__", `/playground/${page.js}`)
  .replace("__ASSET_CSS__", `/playground/${page.css}`);
writeFileSync(join(OUT, "index.html"), html);

// Gzipped copies, served to clients that accept gzip: the bundle is ~5 MB, ~1.3 MB gzipped.
for (const name of readdirSync(OUT)) {
  if (!/\.(js|css|ttf)$/.test(name)) continue;
  const gz = gzipSync(readFileSync(join(OUT, name)), { level: constants.Z_BEST_COMPRESSION });
  writeFileSync(join(OUT, `${name}.gz`), gz);
}
