/**
 * What each thread loads (issue 16, profiles/workers.md): with `workers: N` the primary serves
 * nothing, so it must not load the engine, graphql or the broker clients, and a worker takes the
 * config the primary validated, so it must not load the validator (ajv, yaml). Checked on the
 * static value imports from each entry: a dynamic `import()` runs only where it is reached, and
 * `import type` is erased.
 */
import { readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = resolve(import.meta.dirname, "../../../src");

/** Static value imports of one file: relative ones as .ts paths, packages by name. */
function valueImports(file: string): { files: string[]; packages: string[] } {
  const text = readFileSync(file, "utf8");
  const files: string[] = [];
  const packages: string[] = [];
  for (const m of text.matchAll(/^(import|export)\s+(type\s)?[^;]*?from\s+"([^"]+)"/gm)) {
    if (m[2]) continue;
    const spec = m[3]!;
    if (spec.startsWith(".")) files.push(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
    else if (!spec.startsWith("node:"))
      packages.push(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!);
  }
  for (const m of text.matchAll(/^import\s+"([^"]+)"/gm)) packages.push(m[1]!);
  return { files, packages };
}

/** Every module and package an entry loads before any of its code runs. */
function loads(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (f: string): void => {
    if (files.has(f)) return;
    files.add(f);
    const i = valueImports(f);
    for (const p of i.packages) packages.add(p);
    for (const g of i.files) visit(g);
  };
  visit(resolve(SRC, entry));
  return { files: new Set([...files].map((f) => relative(SRC, f))), packages };
}

describe("what each thread loads", () => {
  it("the check sees what a module loads (it finds graphql under the router)", () => {
    const router = loads("router.ts");
    expect(router.packages).toContain("graphql");
    expect(router.packages).toContain("prom-client");
    expect(router.files).toContain("engine/engine.ts");
  });

  it("the CLI and the primary load neither the router, graphql, the broker clients, prom-client nor the config validator", () => {
    for (const entry of ["cli.ts", "workers/primary.ts"]) {
      const { files, packages } = loads(entry);
      expect(
        [...files].filter((f) => f === "router.ts" || f.startsWith("engine/") || f === "config/loader.ts"),
      ).toEqual([]);
      for (const heavy of [
        "graphql",
        "graphql-jit",
        "@nats-io/transport-node",
        "@nats-io/jetstream",
        "prom-client",
        "ioredis",
        "undici",
      ])
        expect([...packages], `${entry} loads ${heavy}`).not.toContain(heavy);
    }
  });

  it("a worker does not load the config validator", () => {
    const { files, packages } = loads("workers/worker-main.ts");
    expect(files).not.toContain("config/loader.ts");
    expect([...packages]).not.toContain("ajv");
    expect([...packages]).not.toContain("yaml");
  });
});
