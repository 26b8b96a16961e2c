import { describe, expect, it } from "vitest";
import { ownerOf } from "../../../src/workers/ring.js";

const keys = Array.from({ length: 2000 }, (_, i) => `default\u0001employeeUpdated.${i}`);

describe("ownerOf (rendezvous hashing)", () => {
  it("is deterministic and spreads keys evenly", () => {
    const counts = [0, 0, 0, 0];
    for (const k of keys) {
      const o = ownerOf(k, [0, 1, 2, 3]);
      expect(ownerOf(k, [3, 2, 1, 0])).toBe(o); // order of the live set does not matter
      counts[o]!++;
    }
    for (const c of counts) expect(c).toBeGreaterThan(400); // 500 each ideally
  });

  it("moves only the keys of a worker that leaves, and they come back when it returns", () => {
    let moved = 0;
    for (const k of keys) {
      const before = ownerOf(k, [0, 1, 2]);
      const after = ownerOf(k, [0, 2]);
      if (before === 1) moved++;
      else expect(after).toBe(before);
      expect(ownerOf(k, [0, 1, 2])).toBe(before);
    }
    expect(moved).toBeGreaterThan(500);
  });

  it("needs at least one worker", () => {
    expect(() => ownerOf("k", [])).toThrow(/no live workers/);
    expect(ownerOf("k", [7])).toBe(7);
  });
});
