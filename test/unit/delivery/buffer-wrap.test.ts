/** Which providers get the session buffer (src/providers/factory.ts → src/delivery/buffer/wrap.ts). */
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { configFromObject } from "../../../src/config/loader.js";
import { BufferedProvider } from "../../../src/delivery/buffer/provider.js";
import { ErrorCode } from "../../../src/errors.js";
import { createProviders } from "../../../src/providers/factory.js";

const logger = pino({ level: "silent" });

function config(storeUrl: string) {
  return configFromObject({
    events: {
      providers: {
        nats: [
          { id: "core", url: "nats://127.0.0.1:1", delivery: "at_least_once" },
          { id: "plain", url: "nats://127.0.0.1:1" },
          { id: "embedded", url: "memory://", delivery: "at_least_once" },
        ],
        redis: [
          { id: "pubsub", urls: ["redis://127.0.0.1:1"], delivery: "at_least_once" },
          { id: "store", urls: [storeUrl] },
        ],
        kafka: [{ id: "kafka", brokers: ["memory://"], delivery: "at_least_once" }],
      },
    },
    delivery: { cursor_secret: "x".repeat(32), session_buffer: { provider_id: "store" } },
  });
}

describe("the session buffer in createProviders", () => {
  it("wraps the at-least-once NATS and Redis providers on real brokers, and nothing else", async () => {
    const c = config("redis://127.0.0.1:1");
    const providers = await createProviders(c.events, "test", { delivery: c.delivery, logger });
    try {
      const wrapped = [...providers].filter(([, p]) => p instanceof BufferedProvider).map(([id]) => id);
      expect(wrapped.sort()).toEqual(["core", "pubsub"]);
      const core = providers.get("core")!;
      expect(core.kind).toBe("nats");
      // Not started: the buffer is not available, so nothing is promised.
      expect(core.canReplay?.(undefined)).toBe(false);
      expect(core.notReplayableReason?.(undefined)).toMatch(
        /session buffer \(redis provider "store"\) is unavailable/,
      );
    } finally {
      await Promise.all([...providers.values()].map((p) => p.stop()));
    }
  });

  it("leaves every provider alone without a logger or without session_buffer", async () => {
    const c = config("redis://127.0.0.1:1");
    for (const context of [{}, { logger }]) {
      const providers = await createProviders(c.events, "test", context);
      expect([...providers.values()].some((p) => p instanceof BufferedProvider)).toBe(false);
      await Promise.all([...providers.values()].map((p) => p.stop()));
    }
  });

  it("refuses a memory:// store: the buffer needs a Redis server", async () => {
    const c = config("memory://");
    await expect(createProviders(c.events, "test", { delivery: c.delivery, logger })).rejects.toMatchObject({
      code: ErrorCode.CONFIG_INVALID,
      message: expect.stringMatching(/session_buffer.provider_id.*memory:\/\//),
    });
  });
});
