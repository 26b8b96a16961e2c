import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { ErrorCode, WireCode } from "../../src/errors.js";

const SRC = new URL("../../src", import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

describe("error codes", () => {
  const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
  const codes = [...Object.values(ErrorCode), ...Object.values(WireCode)];
  it.each(codes)("%s is documented in docs/errors.md", (code) => {
    expect(doc).toContain(`\`${code}\``);
  });
  it("documents no code that does not exist", () => {
    const documented = [...doc.matchAll(/`(SG_ERR_[A-Z_]+)`/g)].map((m) => m[1]);
    expect(documented.filter((c) => !(Object.values(ErrorCode) as string[]).includes(c!))).toEqual([]);
  });
  it("has no code string written outside the registry", () => {
    const found: string[] = [];
    for (const file of sources(SRC)) {
      if (file.endsWith("/errors.ts")) continue;
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/["'`](SG_ERR_[A-Z_]*)/g)) found.push(`${relative(SRC, file)}: ${m[1]}`);
      const wire = Object.values(WireCode).join("|");
      for (const m of text.matchAll(new RegExp(`code:\\s*["'\`](${wire})["'\`]`, "g")))
        found.push(`${relative(SRC, file)}: ${m[1]}`);
    }
    expect(found).toEqual([]);
  });
  it("raises no bare Error: every error the router throws on purpose has a code", () => {
    const found: string[] = [];
    for (const file of sources(SRC)) {
      const text = readFileSync(file, "utf8");
      const lines = text.split("\n");
      lines.forEach((line, i) => {
        if (/\bnew (Type|Range|Syntax)?Error\(/.test(line)) found.push(`${relative(SRC, file)}:${i + 1}`);
      });
    }
    expect(found).toEqual([]);
  });
});
