/** delivery.session_buffer: defaults, and times too short for the lease protocol to work. */
import { describe, expect, it } from "vitest";
import { configFromObject } from "../../../src/config/loader.js";
import { StreamgateAggregateError } from "../../../src/errors.js";

const base = (buffer: Record<string, unknown>) => ({
  events: { providers: { redis: [{ id: "buf", urls: ["redis://127.0.0.1:6379"] }] } },
  delivery: { cursor_secret: "x".repeat(32), session_buffer: { provider_id: "buf", ...buffer } },
});

describe("delivery.session_buffer", () => {
  it("defaults max_events 1000, ttl 5m, lease 5s", () => {
    expect(configFromObject(base({})).delivery.session_buffer).toEqual({
      provider_id: "buf",
      max_events: 1000,
      ttl: 300_000,
      lease: 5000,
    });
  });

  it("refuses a ttl or lease under 100ms, naming each", () => {
    let err: unknown;
    try {
      configFromObject(base({ ttl: "50ms", lease: 0 }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StreamgateAggregateError);
    expect((err as StreamgateAggregateError).problems).toEqual([
      "(inline config): delivery.session_buffer.ttl: must be at least 100ms",
      "(inline config): delivery.session_buffer.lease: must be at least 100ms",
    ]);
  });

  it("accepts the smallest usable times", () => {
    expect(configFromObject(base({ ttl: "100ms", lease: 100 })).delivery.session_buffer?.lease).toBe(100);
  });
});
