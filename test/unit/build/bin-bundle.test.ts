/**
 * The executable bundle (dist/bin/, scripts/build-bin.mjs; `npm test` builds it first): what
 * each entry loads before any of its code runs, read from the built files themselves (their
 * static `import … from "./chunk.js"` lines and each chunk's source map). The tsc-level version
 * of these checks is test/unit/workers/thread-weight.test.ts; the bundler decides chunk contents,
 * so the same promises are checked again on what actually ships.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BIN_ENTRIES } from "../../../src/process/entries.js";
import { REPO_ROOT } from "../../helpers/router.js";

const BIN = join(REPO_ROOT, "dist/bin");

/** Files a bundle file imports statically (a dynamic `import("./x.js")` is not followed). */
function staticImports(file: string): string[] {
  const text = readFileSync(join(BIN, file), "utf8");
  return [...text.matchAll(/\b(?:import|export)\s*(?:[\w*{$][^;"(]*?from\s*)?"\.\/([^"]+\.js)"/g)].map(
    (m) => m[1]!,
  );
}

/** Every bundle file an entry evaluates or parses at start. */
function closure(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (f: string): void => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const g of staticImports(f)) visit(g);
  };
  visit(entry);
  return seen;
}

/** The original sources (repo-relative) bundled into these files, from their source maps. */
function sources(files: Iterable<string>): string[] {
  const out: string[] = [];
  for (const f of files) {
    const map = JSON.parse(readFileSync(join(BIN, `${f}.map`), "utf8")) as { sources: string[] };
    out.push(...map.sources.map((s) => s.replace(/^(\.\.\/)+/, "")));
  }
  return out;
}

const pkg = (sources: string[], name: string) => sources.filter((s) => s.startsWith(`node_modules/${name}/`));

describe("dist/bin, the bundle npm start runs", () => {
  it("has the CLI and every entry src/process/entries.ts starts", () => {
    for (const name of ["streamgate", ...BIN_ENTRIES])
      expect(existsSync(join(BIN, `${name}.js`)), name).toBe(true);
  });

  it("the check follows static imports only (the router is behind the CLI's dynamic import)", () => {
    const all = sources(readdirSync(BIN).filter((f) => f.endsWith(".js")));
    expect(pkg(all, "graphql").length).toBeGreaterThan(10);
    const cli = sources(closure("streamgate.js"));
    expect(cli).toContain("src/cli.ts");
    expect(cli).not.toContain("src/router.ts");
  });

  it("the CLI (the primary with workers) loads neither graphql, a broker client, prom-client, undici nor the config validator", () => {
    const cli = sources(closure("streamgate.js"));
    for (const heavy of ["graphql", "graphql-jit", "@nats-io", "prom-client", "undici", "ajv", "yaml"])
      expect(pkg(cli, heavy), heavy).toEqual([]);
  });

  it("a worker does not load yaml or the config loader", () => {
    const worker = sources(closure("worker.js"));
    expect(worker).toContain("src/router.ts");
    expect(pkg(worker, "yaml")).toEqual([]);
    expect(worker).not.toContain("src/config/loader.ts");
  });

  it("a worker and the router load graphql-jit, its JSON serializer and ajv only at the first operation", () => {
    // src/planner/jit.ts: a dynamic import, so these ~260 KB of source are not read at start.
    const worker = sources(closure("worker.js"));
    const all = sources(readdirSync(BIN).filter((f) => f.endsWith(".js")));
    for (const lazy of ["graphql-jit", "fast-json-stringify", "ajv"]) {
      expect(pkg(worker, lazy), lazy).toEqual([]);
      expect(pkg(all, lazy).length, lazy).toBeGreaterThan(0);
    }
  });

  it("holds one graphql: its ES module build only, graphql-jit's CommonJS paths redirected to it", () => {
    const all = sources(readdirSync(BIN).filter((f) => f.endsWith(".js")));
    const graphql = pkg(all, "graphql");
    expect(graphql.filter((s) => !s.endsWith(".mjs"))).toEqual([]);
    expect(pkg(all, "graphql-jit").length).toBeGreaterThan(0);
  });

  it("no dynamic import() lands on a CommonJS package (in a split bundle it would yield only `default`)", () => {
    // esbuild turns `import("undici")` into a chunk holding `export default require_undici();`,
    // so `const { Pool } = await import("undici")` gets undefined. Such packages are imported
    // statically from a module that is itself imported dynamically (src/planner/jit-module.ts).
    const defaultOnly = readdirSync(BIN)
      .filter((f) => f.endsWith(".js"))
      .filter((f) =>
        /export\s*default\s*[\w$]+\(\);?\s*(\/\/# sourceMappingURL=\S+\s*)?$/.test(
          readFileSync(join(BIN, f), "utf8"),
        ),
      );
    expect(defaultOnly).toEqual([]);
  });
});
