/**
 * The reload triggers on real files (no router): changes made while a reload runs are read after
 * it, even when that one was refused, and a config replaced by a rename is seen.
 */
import { mkdtemp, rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadConfigFile } from "../../../src/config/loader.js";
import type { Config } from "../../../src/config/types.js";
import type { Logger } from "../../../src/observability/logger.js";
import { installReloadTriggers } from "../../../src/reload-trigger.js";

const removals: (() => void)[] = [];
afterEach(() => {
  for (const r of removals.splice(0)) r();
});

function recordingLogger() {
  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) =>
    lines.push({ level, msg, fields });
  return { lines, logger: { info: at("info"), error: at("error"), warn: at("warn") } as unknown as Logger };
}

async function setUp(apply: (next: Config) => Promise<Record<string, unknown>>) {
  const dir = await mkdtemp(join(tmpdir(), "streamgate-reload-"));
  const path = join(dir, "config.yaml");
  await writeFile(path, "watch_config: true\nlog_level: info\n");
  const config = await loadConfigFile(path);
  const { lines, logger } = recordingLogger();
  removals.push(installReloadTriggers({ path, config, logger, apply }));
  return { path, lines };
}

describe("reload triggers", () => {
  it("reads a change that came while a refused reload ran, instead of dropping it", async () => {
    let release!: () => void;
    const applied: string[] = [];
    const { path, lines } = await setUp(async (next) => {
      applied.push(next.log_level);
      if (applied.length === 1) {
        await new Promise<void>((r) => {
          release = r;
        });
        throw new Error("the first one is refused");
      }
      return {};
    });
    await writeFile(path, "watch_config: true\nlog_level: warn\n");
    await vi.waitFor(() => expect(applied).toEqual(["warn"]), { timeout: 5000 });
    // While the first reload is still running, the file changes again.
    await writeFile(path, "watch_config: true\nlog_level: debug\n");
    await new Promise((r) => setTimeout(r, 600)); // past the debounce: the change is queued
    release();
    await vi.waitFor(() => expect(applied).toEqual(["warn", "debug"]), { timeout: 5000 });
    expect(lines.map((l) => l.msg)).toEqual([
      "reloading configuration",
      "reload refused: nothing changed",
      "reloading configuration",
      "configuration reloaded",
    ]);
  });

  it("sees a config replaced by a rename (a new inode), as editors and ConfigMaps write it", async () => {
    const applied: string[] = [];
    const { path } = await setUp(async (next) => {
      applied.push(next.log_level);
      return {};
    });
    for (const level of ["warn", "error"]) {
      await writeFile(`${path}.next`, `watch_config: true\nlog_level: ${level}\n`);
      await rename(`${path}.next`, path);
      await vi.waitFor(() => expect(applied.at(-1)).toBe(level), { timeout: 5000 });
    }
  });

  it("ignores other files in the folder", async () => {
    const applied: string[] = [];
    const { path } = await setUp(async (next) => {
      applied.push(next.log_level);
      return {};
    });
    await writeFile(join(path, "..", "unrelated.log"), "noise");
    await new Promise((r) => setTimeout(r, 800));
    expect(applied).toEqual([]);
  });
});
