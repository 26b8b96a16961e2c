import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/errors.js";

describe("error codes", () => {
  const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
  it.each(Object.values(ErrorCode))("%s is documented in docs/errors.md", (code) => {
    expect(doc).toContain(`\`${code}\``);
  });
  it("documents no code that does not exist", () => {
    const documented = [...doc.matchAll(/`(SG_ERR_[A-Z_]+)`/g)].map((m) => m[1]);
    expect(documented.filter((c) => !(Object.values(ErrorCode) as string[]).includes(c!))).toEqual([]);
  });
});
