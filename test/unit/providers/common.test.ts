import { describe, expect, it } from "vitest";
import { ErrorCode, StreamgateError } from "../../../src/errors.js";
import { backoffByAttempt, backoffByElapsed, Outage } from "../../../src/providers/common/backoff.js";
import { report } from "../../../src/providers/common/errors.js";
import { redactUrl } from "../../../src/providers/common/redact.js";
import { waitAtMost, withTimeout } from "../../../src/providers/common/timers.js";

describe("shared provider backoff", () => {
  it("by elapsed time: 250ms for the first second, doubling each second up to 2s, at most 20% jitter", () => {
    const at = (ms: number) => backoffByElapsed(ms, 250, 2000);
    for (let i = 0; i < 50; i++) {
      expect(at(0)).toBeGreaterThanOrEqual(250);
      expect(at(0)).toBeLessThanOrEqual(300);
      expect(at(1500)).toBeGreaterThanOrEqual(500);
      expect(at(1500)).toBeLessThanOrEqual(600);
      expect(at(60_000)).toBeGreaterThanOrEqual(2000);
      expect(at(60_000)).toBeLessThanOrEqual(2400);
    }
  });

  it("by attempt: min for the first, doubling per attempt up to max, never giving up", () => {
    for (let i = 0; i < 50; i++) {
      expect(backoffByAttempt(1, 100, 2000)).toBeGreaterThanOrEqual(100);
      expect(backoffByAttempt(1, 100, 2000)).toBeLessThanOrEqual(120);
      expect(backoffByAttempt(3, 100, 2000)).toBeGreaterThanOrEqual(400);
      expect(backoffByAttempt(3, 100, 2000)).toBeLessThanOrEqual(480);
      expect(backoffByAttempt(10_000, 100, 2000)).toBeLessThanOrEqual(2400);
    }
  });

  it("an outage measures from its beginning and ends", () => {
    const o = new Outage(250, 2000);
    expect(o.ongoing).toBe(false);
    expect(o.delay()).toBeLessThanOrEqual(300);
    expect(o.ongoing).toBe(true);
    o.end();
    expect(o.ongoing).toBe(false);
  });
});

describe("shared provider helpers", () => {
  it("redacts credentials in URLs", () => {
    expect(redactUrl("nats://u:p@h:4222")).toBe("nats://***@h:4222");
    expect(redactUrl("nats://tok@h:4222,nats://h2:4222")).toBe("nats://***@h:4222,nats://h2:4222");
    expect(redactUrl("rediss://router:s3cret@127.0.0.1:6380")).toBe("rediss://***@127.0.0.1:6380");
    expect(redactUrl("nats://h:4222")).toBe("nats://h:4222");
  });

  it("times out with PROVIDER_TIMEOUT, and waits at most without rejecting", async () => {
    const never = new Promise<never>(() => undefined);
    await expect(withTimeout(never, 10, "publish confirm")).rejects.toMatchObject({
      code: ErrorCode.PROVIDER_TIMEOUT,
      message: "publish confirm timed out after 10ms",
    });
    await expect(withTimeout(Promise.resolve(7), 1000, "x")).resolves.toBe(7);
    await expect(waitAtMost(10, never)).resolves.toBeUndefined();
    await expect(waitAtMost(1000, Promise.reject(new Error("no")))).rejects.toThrow("no");
  });

  it("turns whatever a handler threw into an Error, and survives a throwing error handler", () => {
    const boom = new Error("boom");
    const seen: Error[] = [];
    report((e) => seen.push(e), boom);
    report((e) => seen.push(e), 42);
    expect(seen[0]).toBe(boom);
    expect(seen[1]).toBeInstanceOf(StreamgateError);
    expect(seen[1]).toMatchObject({ code: ErrorCode.INTERNAL, message: "42" });
    expect(() =>
      report(() => {
        throw new Error("handler broke");
      }, boom),
    ).not.toThrow();
  });
});
