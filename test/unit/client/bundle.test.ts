/**
 * The client's bundle: no server module in its graph, small, and reachable as `streamgate/client`
 * through package.json `exports` (with the package root still resolving).
 */
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../../..");
/** The only packages the browser bundle may contain. */
const ALLOWED_PACKAGES = ["graphql", "graphql-ws", "eventsource-parser"];

describe("streamgate/client bundle", () => {
  it("holds only src/client/ and its three small dependencies, minified+gzipped under 20 KB", async () => {
    // The options of scripts/build-client.mjs (the ESM output).
    const result = await build({
      entryPoints: [resolve(ROOT, "src/client/index.ts")],
      absWorkingDir: ROOT,
      bundle: true,
      minify: true,
      platform: "browser",
      target: "es2020",
      legalComments: "none",
      format: "esm",
      metafile: true,
      write: false,
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.length).toBeGreaterThan(10);
    const outside = inputs.filter((p) => {
      if (p.startsWith("src/")) return !p.startsWith("src/client/");
      const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(p)?.[1];
      return !pkg || !ALLOWED_PACKAGES.includes(pkg);
    });
    expect(outside).toEqual([]);
    const code = result.outputFiles[0]!.contents;
    const gz = gzipSync(code, { level: 9 }).length;
    console.log(`streamgate/client: ${code.length} B minified, ${gz} B minified+gzipped`);
    expect(gz).toBeLessThan(20_000);
    expect(new TextDecoder().decode(code)).not.toMatch(/from\s*"node:|require\("node:/);
  });

  it("resolves `streamgate/client` and the package root through package.json exports", () => {
    const script = `
      const m = await import("streamgate/client");
      console.log(typeof m.createClient, typeof m.ClientErrorCode.CONNECTION_FAILED);
      console.log(import.meta.resolve("streamgate").endsWith("/dist/index.js"));
      console.log(import.meta.resolve("streamgate/client/browser").endsWith("/dist/client/streamgate-client.min.js"));`;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: ROOT,
    }).toString();
    expect(out.trim().split("\n")).toEqual(["function string", "true", "true"]);
  });
});
