import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { BurstWatch, residentBytes } from "../../../src/observability/heap-trim.js";

const REPO_ROOT = resolve(import.meta.dirname, "../../..");

describe("BurstWatch", () => {
  const watch = () => new BurstWatch({ burst: 1000, quiet: 50 });

  it("fires once, in the first quiet period after a burst", () => {
    const w = watch();
    const readings = [0, 600, 1500, 3000, 3010, 3020, 3015];
    expect(readings.map((r) => w.settled(r))).toEqual([false, false, false, false, true, false, false]);
  });

  it("counts disconnects as much as connects", () => {
    const w = watch();
    expect([5000, 2000, 1990].map((r) => w.settled(r))).toEqual([false, false, true]);
  });

  it("ignores slow drift and small bursts", () => {
    const w = watch();
    const drift = Array.from({ length: 100 }, (_, i) => i * 40);
    expect(drift.some((r) => w.settled(r))).toBe(false);
    const small = watch();
    expect([5000, 5500, 5510].map((r) => small.settled(r))).toEqual([false, false, false]);
  });
});

describe("residentBytes at the open-file limit", () => {
  it("is NaN instead of a throw when /proc cannot be opened (EMFILE), in a process with every descriptor taken", () => {
    // The built module (npm test builds first): a plain node child with a descriptor limit of 64.
    const module = pathToFileURL(join(REPO_ROOT, "dist/observability/heap-trim.js")).href;
    const script = `
      import { openSync } from "node:fs";
      const { residentBytes } = await import(${JSON.stringify(module)});
      const fds = [];
      try { for (;;) fds.push(openSync("/dev/null", "r")); } catch (e) { if (e.code !== "EMFILE") throw e; }
      let raw = "read";
      try { process.memoryUsage.rss(); } catch (e) { raw = e.code; }
      console.log(JSON.stringify({ raw, safe: residentBytes(), fds: fds.length }));
    `;
    const r = spawnSync(
      "prlimit",
      ["--nofile=64:64", process.execPath, "--input-type=module", "-e", script],
      {
        encoding: "utf8",
        cwd: REPO_ROOT,
      },
    );
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout.trim()) as { raw: string; safe: number | null; fds: number };
    expect(out.fds).toBeGreaterThan(0);
    // The bare call throws there (what took the router down); the guarded one does not.
    expect(out.raw).toBe("EMFILE");
    expect(out.safe).toBeNull(); // NaN, as JSON
  });

  it("passes a readable RSS through", () => {
    expect(residentBytes(() => 123)).toBe(123);
    expect(
      residentBytes(() => {
        throw Object.assign(new Error("EMFILE: too many open files"), { code: "EMFILE" });
      }),
    ).toBeNaN();
  });
});
