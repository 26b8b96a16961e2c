/**
 * The young-generation guard: its load decision (pure), and the V8 behaviour it rests on, measured
 * in this process: held, surviving allocations do not grow new space; released, they do.
 */
import { getHeapSpaceStatistics } from "node:v8";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  DeliveryLoad,
  holdYoungGeneration,
  releaseYoungGeneration,
  startYoungGenGuard,
} from "../../../src/observability/young-gen.js";

const newSpace = (): number =>
  getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;

/** Allocates ~`mb` MB of small objects that survive (kept until the returned array is dropped). */
function survivors(mb: number): unknown[] {
  const keep: unknown[] = [];
  for (let i = 0; i < mb * 12_000; i++) keep.push({ i, s: `x${i}`, a: [i] });
  return keep;
}

afterEach(() => releaseYoungGeneration());

describe("DeliveryLoad", () => {
  const opts = { busyPerSecond: 1000, busyPeriods: 2, quietPeriods: 3 };

  it("turns busy after that many periods in a row at or above the rate, and says so once", () => {
    const load = new DeliveryLoad(opts);
    expect(load.read(0, 0)).toBe(false);
    expect(load.read(500, 1)).toBe(false); // 500/s
    expect(load.read(2500, 2)).toBe(false); // 1000/s: one busy period
    expect(load.busy).toBe(false);
    expect(load.read(4000, 1)).toBe(true); // two in a row
    expect(load.busy).toBe(true);
    expect(load.read(10_000, 1)).toBe(false); // still busy: no change
  });

  it("does not count a burst of warm-up events as a load: a quiet period in between starts over", () => {
    const load = new DeliveryLoad(opts);
    load.read(0, 0);
    expect([load.read(5000, 1), load.read(5000, 1), load.read(10_000, 1)]).toEqual([false, false, false]);
    expect(load.busy).toBe(false);
  });

  it("turns quiet only after that many quiet periods in a row; a busy one in between starts over", () => {
    const load = new DeliveryLoad(opts);
    load.read(0, 0);
    load.read(5000, 1);
    load.read(10_000, 1);
    expect(load.busy).toBe(true);
    expect([load.read(10_100, 1), load.read(10_200, 1)]).toEqual([false, false]);
    expect(load.read(19_000, 1)).toBe(false); // busy again
    expect([load.read(19_000, 1), load.read(19_000, 1)]).toEqual([false, false]);
    expect(load.read(19_000, 1)).toBe(true);
    expect(load.busy).toBe(false);
  });

  it("reads no rate from the first reading or a zero-length period", () => {
    const load = new DeliveryLoad({ ...opts, busyPeriods: 1 });
    expect(load.read(1e9, 1)).toBe(false);
    expect(load.read(2e9, 0)).toBe(false);
    expect(load.busy).toBe(false);
  });
});

describe("V8's young generation under the guard", () => {
  it("does not grow from the guard's start, and grows again once it is stopped", () => {
    const guard = startYoungGenGuard({ periodMs: 10 });
    const before = newSpace();
    const held = survivors(40);
    const whileHeld = newSpace();
    guard.stop();
    guard.stop(); // idempotent
    const more = survivors(40);
    const released = newSpace();
    expect(held.length + more.length).toBeGreaterThan(0);
    expect(whileHeld).toBeLessThanOrEqual(before);
    // Unless this process had already grown it to V8's maximum (2 x 16 MB), it grows now.
    if (before < 32 * 1024 * 1024) expect(released).toBeGreaterThan(whileHeld);
  });

  it("holdYoungGeneration holds until releaseYoungGeneration", () => {
    holdYoungGeneration();
    const before = newSpace();
    const held = survivors(20);
    expect(newSpace()).toBeLessThanOrEqual(before);
    releaseYoungGeneration();
    expect(held.length).toBeGreaterThan(0);
  });
});

describe("the guard's watch", () => {
  it("calls onQuiet once each time a flow has ended (not at start, not while it runs)", async () => {
    let deliveries = 0;
    let quiet = 0;
    const guard = startYoungGenGuard({ periodMs: 5, busyPerSecond: 1000, busyPeriods: 2, quietPeriods: 3 });
    guard.watch(
      () => deliveries,
      () => quiet++,
    );
    const periods = async (n: number, perPeriod: number) => {
      for (let i = 0; i < n; i++) {
        deliveries += perPeriod;
        await new Promise((r) => setTimeout(r, 6));
      }
    };
    await periods(6, 0);
    expect(quiet).toBe(0);
    await periods(10, 100_000); // a flow: busy
    expect(quiet).toBe(0);
    await vi.waitFor(() => expect(quiet).toBe(1), { timeout: 5000 }); // it ended (no deliveries now)
    await periods(10, 100_000);
    await vi.waitFor(() => expect(quiet).toBe(2), { timeout: 5000 });
    guard.stop();
  });
});
