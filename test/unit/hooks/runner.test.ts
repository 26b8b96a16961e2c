/** One hook's calls: timeout (aborting ctx.signal), concurrency bound, failures, counters. */
import { describe, expect, it } from "vitest";
import { HookCaller, HookFailure } from "../../../src/hooks/runner.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("HookCaller", () => {
  it("resolves with what the hook returned, counting the call and its time", async () => {
    const c = new HookCaller("m.mjs", "onPublish", async (ctx: { n: number }) => ctx.n * 2, {
      timeoutMs: 1000,
      maxConcurrency: 2,
    });
    expect(await c.call(() => ({ n: 21 }))).toBe(42);
    expect(c.stats).toMatchObject({ calls: 1, errors: 0, timeouts: 0, inFlight: 0, waiting: 0 });
    expect(c.stats.seconds).toBeGreaterThanOrEqual(0);
  });

  it("turns a throw (sync or async) into a HookFailure of kind error, keeping the cause", async () => {
    const boom = new Error("boom");
    for (const fn of [
      () => {
        throw boom;
      },
      async () => {
        throw boom;
      },
    ]) {
      const c = new HookCaller("m.mjs", "onDeliver", fn, { timeoutMs: 1000, maxConcurrency: 1 });
      const err = (await c.call(() => ({})).catch((e: unknown) => e)) as HookFailure;
      expect(err).toBeInstanceOf(HookFailure);
      expect(err.kind).toBe("error");
      expect(err.cause).toBe(boom);
      expect(err.message).toBe("onDeliver of m.mjs threw: boom");
      expect(c.stats.errors).toBe(1);
    }
  });

  it("times out a hung hook, aborts its signal and gives the slot to the next call", async () => {
    const signals: AbortSignal[] = [];
    const c = new HookCaller(
      "m.mjs",
      "onSubscriptionStart",
      (ctx: { signal: AbortSignal; hang: boolean }) => {
        signals.push(ctx.signal);
        return ctx.hang ? new Promise(() => {}) : "done";
      },
      { timeoutMs: 100, maxConcurrency: 1 },
    );
    const t0 = performance.now();
    const hung = c.call((signal) => ({ signal, hang: true }));
    const next = c.call((signal) => ({ signal, hang: false }));
    expect(c.stats.waiting).toBe(1);
    const err = (await hung.catch((e: unknown) => e)) as HookFailure;
    expect(err.kind).toBe("timeout");
    expect(signals[0]!.aborted).toBe(true);
    expect(signals[0]!.reason).toBe(err);
    expect(await next).toBe("done");
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(c.stats).toMatchObject({ calls: 2, timeouts: 1, inFlight: 0, waiting: 0 });
  });

  it("never runs more than maxConcurrency calls at once", async () => {
    let running = 0;
    let most = 0;
    const c = new HookCaller(
      "m.mjs",
      "onReceiveEvents",
      async () => {
        running++;
        most = Math.max(most, running);
        await sleep(5);
        running--;
      },
      { timeoutMs: 5000, maxConcurrency: 3 },
    );
    const results = await Promise.allSettled(Array.from({ length: 30 }, () => c.call(() => ({}))));
    expect(results.every((r) => r.status === "fulfilled")).toBe(true);
    expect(most).toBe(3);
    expect(c.stats).toMatchObject({ calls: 30, inFlight: 0, waiting: 0 });
  });

  it("counts a refused result as invalid", () => {
    const c = new HookCaller("m.mjs", "onDeliver", () => 1, { timeoutMs: 100, maxConcurrency: 1 });
    const f = c.refused("wrong shape");
    expect(f.kind).toBe("invalid");
    expect(f.message).toBe("onDeliver of m.mjs returned an invalid result: wrong shape");
    expect(c.stats.invalid).toBe(1);
  });
});
