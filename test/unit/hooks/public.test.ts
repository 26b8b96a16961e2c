/**
 * `streamgate/hooks`: what a hook module imports at run time holds no server module, and resolves
 * through package.json exports (the example module imports it).
 */
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../../..");

describe("streamgate/hooks", () => {
  it("bundles to src/hooks/public.ts and types.ts only", async () => {
    const result = await build({
      entryPoints: [resolve(ROOT, "src/hooks/public.ts")],
      absWorkingDir: ROOT,
      bundle: true,
      platform: "node",
      format: "esm",
      metafile: true,
      write: false,
    });
    expect(Object.keys(result.metafile.inputs).sort()).toEqual(["src/hooks/public.ts", "src/hooks/types.ts"]);
  });

  it("resolves through package.json exports and gives defineHooks and HookError", () => {
    const script = `
      const m = await import("streamgate/hooks");
      const hooks = { onPublish() {} };
      const e = new m.HookError("NOPE", "no", { closeCode: 4403 });
      console.log(m.defineHooks(hooks) === hooks, e.code, e.closeCode, e.message, m.HOOK_NAMES.length);`;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: ROOT,
    }).toString();
    expect(out.trim()).toBe("true NOPE 4403 no 5");
  });
});
