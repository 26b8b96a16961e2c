import { describe, expect, it } from "vitest";
import {
  backoffDelay,
  connectionOptions,
  redactUrl,
  resolveOptions,
} from "../../../src/providers/nats/options.js";

describe("NATS provider options", () => {
  it("grows the backoff from 250ms to 2s with at most 20% jitter", () => {
    const at = (ms: number) => backoffDelay(ms, 250, 2000);
    for (let i = 0; i < 50; i++) {
      expect(at(0)).toBeGreaterThanOrEqual(250);
      expect(at(0)).toBeLessThanOrEqual(300);
      expect(at(1500)).toBeGreaterThanOrEqual(500);
      expect(at(1500)).toBeLessThanOrEqual(600);
      expect(at(60_000)).toBeGreaterThanOrEqual(2000);
      expect(at(60_000)).toBeLessThanOrEqual(2400);
    }
  });

  it("never gives up reconnecting and fails the first connect fast", () => {
    const o = connectionOptions(
      { id: "a", url: "nats://h1:4222, nats://h2:4222" },
      resolveOptions("a"),
      () => 1,
    );
    expect(o).toMatchObject({
      servers: ["nats://h1:4222", "nats://h2:4222"],
      reconnect: true,
      maxReconnectAttempts: -1,
      waitOnFirstConnect: false,
      timeout: 2000,
      name: "streamgate:a",
    });
    expect(o.reconnectDelayHandler?.()).toBe(1);
    expect(o).not.toHaveProperty("token");
    expect(o).not.toHaveProperty("user");
  });

  it("passes token or user/password", () => {
    const r = resolveOptions("a");
    expect(
      connectionOptions({ id: "a", url: "x", authentication: { token: "t" } }, r, () => 1),
    ).toMatchObject({
      token: "t",
    });
    const up = connectionOptions(
      { id: "a", url: "x", authentication: { user_info: { username: "u", password: "p" } } },
      r,
      () => 1,
    );
    expect(up).toMatchObject({ user: "u", pass: "p" });
  });

  it("redacts credentials in URLs", () => {
    expect(redactUrl("nats://u:p@h:4222")).toBe("nats://***@h:4222");
    expect(redactUrl("nats://tok@h:4222,nats://h2:4222")).toBe("nats://***@h:4222,nats://h2:4222");
    expect(redactUrl("nats://h:4222")).toBe("nats://h:4222");
  });
});
