#!/usr/bin/env node
// Writes docs/metrics.md from the built registry (dist/observability/metrics-doc.js; run
// `npm run build` first). `--check` exits 1 when the file differs.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DOC = join(ROOT, "docs/metrics.md");
const { metricsReference } = await import(join(ROOT, "dist/observability/metrics-doc.js"));
const text = metricsReference();
if (process.argv.includes("--check")) {
  if (readFileSync(DOC, "utf8") !== text) {
    process.stderr.write("docs/metrics.md is out of date: npm run docs:metrics\n");
    process.exit(1);
  }
} else writeFileSync(DOC, text);
