import { describe, expect, it } from "vitest";
import { BEHIND_BYTES, SendBudget } from "../../../src/transport/send-budget.js";

describe("SendBudget", () => {
  it("holds a socket to its own limit whatever the total", () => {
    const b = new SendBudget(1000, 1_000_000);
    expect(b.exceeded(1000)).toBe(false);
    expect(b.exceeded(1001)).toBe(true);
  });

  it("sums what sockets report and forgets a socket that releases", () => {
    const b = new SendBudget(1 << 20, 1 << 30);
    let a = b.track(0, 500);
    let c = b.track(0, 700);
    expect(b.bytes).toBe(1200);
    a = b.track(a, 100); // drained
    expect(b.bytes).toBe(800);
    c = b.track(c, 0); // closed
    expect(b.bytes).toBe(100);
    expect(a + c).toBe(100);
  });

  it("past the budget, only sockets that are behind count as over", () => {
    const b = new SendBudget(10 << 20, 1 << 20);
    b.track(0, 900 << 10);
    expect(b.exceeded(BEHIND_BYTES + 1)).toBe(false); // total still under budget
    b.track(0, 200 << 10); // total 1100 KiB > 1 MiB
    expect(b.exceeded(BEHIND_BYTES + 1)).toBe(true);
    expect(b.exceeded(BEHIND_BYTES)).toBe(false); // keeping up: untouched
    expect(b.exceeded(0)).toBe(false);
  });

  it("a socket's own limit below 64 KiB still applies past the budget", () => {
    const b = new SendBudget(1000, 10);
    b.track(0, 11);
    expect(b.exceeded(1001)).toBe(true);
    expect(b.exceeded(500)).toBe(false);
  });
});
