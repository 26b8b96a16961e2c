import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ExpiryWatch } from "../../../src/security/expiry.js";

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(1_000_000);
});
afterEach(() => vi.useRealTimers());

describe("ExpiryWatch", () => {
  it("fires each deadline once it passed (within a second), in one timer for all", () => {
    const w = new ExpiryWatch();
    const fired: string[] = [];
    w.watch(1_002_000, () => fired.push("a"));
    w.watch(1_002_500, () => fired.push("b"));
    w.watch(1_010_000, () => fired.push("c"));
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(2_000);
    expect(fired).toEqual(["a"]);
    vi.advanceTimersByTime(1_000);
    expect(fired).toEqual(["a", "b"]);
    vi.advanceTimersByTime(10_000);
    expect(fired).toEqual(["a", "b", "c"]);
    expect(w.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("does not fire a cancelled deadline, and an earlier deadline re-arms the timer", () => {
    const w = new ExpiryWatch();
    const fired: string[] = [];
    const cancel = w.watch(1_005_000, () => fired.push("late"));
    w.watch(1_001_000, () => fired.push("early"));
    cancel();
    vi.advanceTimersByTime(1_000);
    expect(fired).toEqual(["early"]);
    vi.advanceTimersByTime(10_000);
    expect(fired).toEqual(["early"]);
  });

  it("keeps firing the others when one callback throws", () => {
    const w = new ExpiryWatch();
    const fired: string[] = [];
    w.watch(1_001_000, () => {
      throw new Error("boom");
    });
    w.watch(1_001_000, () => fired.push("ok"));
    vi.advanceTimersByTime(1_000);
    expect(fired).toEqual(["ok"]);
  });
});
