import { readFile, writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { configFromObject, defaultConfig } from "../../../src/config/loader.js";

const GOLDEN = new URL("./defaults.golden.json", import.meta.url);

describe("defaults", () => {
  // A changed default changes behaviour for every deployment that relies on it, so it must show
  // up in review: regenerate with UPDATE_GOLDEN=1 and read the diff.
  it("match the golden file", async () => {
    const actual = configFromObject({}, { env: {} });
    if (process.env.UPDATE_GOLDEN === "1") await writeFile(GOLDEN, `${JSON.stringify(actual, null, 2)}\n`);
    // Compared as data so that reformatting the file (biome formats JSON too) is not a change.
    expect(JSON.parse(JSON.stringify(actual))).toStrictEqual(JSON.parse(await readFile(GOLDEN, "utf8")));
  });

  it("defaultConfig() is the same frozen object every time", () => {
    expect(defaultConfig()).toBe(defaultConfig());
    expect(defaultConfig()).toEqual(configFromObject({}));
    expect(Object.isFrozen(defaultConfig().events.providers.nats)).toBe(true);
  });

  it("an empty document (null) means all defaults", () => {
    expect(configFromObject(null)).toEqual(defaultConfig());
  });
});
