import { describe, expect, it } from "vitest";
import { BurstWatch } from "../../../src/observability/heap-trim.js";

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
