import { describe, expect, it } from "vitest";
import { connectionOptions, resolveOptions } from "../../../src/providers/nats/options.js";

describe("NATS provider options", () => {
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
});
