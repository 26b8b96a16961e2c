import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode } from "../../../src/errors.js";
import { MemoryProvider } from "../../../src/providers/memory/provider.js";
import type { BrokerEvent } from "../../../src/providers/provider.js";
import { bytes, Collector } from "../../conformance/collector.js";

const text = (d: Uint8Array) => Buffer.from(d).toString();
let provider: MemoryProvider;
const make = async (kind: "nats" | "redis" | "kafka" = "nats") => {
  provider = new MemoryProvider({ id: "m", kind });
  await provider.start();
  return provider;
};
afterEach(async () => {
  await provider?.stop();
});

describe("MemoryProvider", () => {
  it("never delivers synchronously inside publish, and batches one tick in order", async () => {
    const p = await make();
    const calls: BrokerEvent[][] = [];
    await p.subscribe(["a"], (events) => {
      calls.push([...events]);
    });
    const pending = [p.publish("a", bytes("1")), p.publish("a", bytes("2"))];
    expect(calls).toHaveLength(0);
    await Promise.all(pending);
    await new Promise((r) => setImmediate(r));
    expect(calls.flat().map((e) => text(e.data))).toEqual(["1", "2"]);
  });

  it("picks the matching mode from the kind", async () => {
    expect(new MemoryProvider({ id: "a", kind: "nats" }).matching).toBe("nats");
    expect(new MemoryProvider({ id: "a", kind: "redis" }).matching).toBe("glob");
    expect(new MemoryProvider({ id: "a", kind: "kafka" }).matching).toBe("exact");
    expect(new MemoryProvider({ id: "a", kind: "kafka", matching: "glob" }).matching).toBe("glob");
  });

  it.each([
    ["nats", "orders.*", ["orders.1", "orders.2"], ["orders.1.x", "orders"]],
    ["redis", "orders.[12]*", ["orders.1", "orders.2.x"], ["orders.3", "orders"]],
    ["kafka", "orders.*", ["orders.*"], ["orders.1"]],
  ] as const)("%s ids: %s", async (kind, pattern, yes, no) => {
    const p = await make(kind);
    const c = new Collector();
    await p.subscribe([pattern], c.handler);
    for (const t of [...no, ...yes]) await p.publish(t, bytes(t));
    await p.publish(yes[0], bytes("end"));
    await c.waitForText("end");
    expect(c.events.map((e) => e.topic)).toEqual([...yes, yes[0]]);
  });

  it("keeps delivering to others when a subscriber throws", async () => {
    const p = await make();
    const errors: string[] = [];
    const good = new Collector();
    await p.subscribe(
      ["t"],
      () => {
        throw new Error("boom");
      },
      { onError: (e) => errors.push(e.message) },
    );
    await p.subscribe(["t"], good.handler);
    await p.publish("t", bytes("1"));
    await good.waitForCount(1);
    await p.publish("t", bytes("2"));
    await good.waitForCount(2);
    expect(errors).toEqual(["boom", "boom"]);
    expect(p.health().counters).toMatchObject({ errors: 2, published: 2, received: 4 });
  });

  it("answers requests through respond(), with clear failures otherwise", async () => {
    const p = await make();
    const off = p.respond("echo.*", (d) => bytes(`re:${text(d)}`));
    expect(text(await p.request("echo.1", bytes("hi"), 100))).toBe("re:hi");
    off();
    await expect(p.request("echo.1", bytes("hi"), 100)).rejects.toMatchObject({
      code: ErrorCode.PROVIDER_UNAVAILABLE,
      message: expect.stringMatching(/no responders/),
    });
    p.respond("slow", () => new Promise<Uint8Array>(() => undefined));
    await expect(p.request("slow", bytes("x"), 30)).rejects.toMatchObject({
      code: ErrorCode.PROVIDER_UNAVAILABLE,
      message: expect.stringMatching(/timed out after 30ms/),
    });
    p.respond("bad", () => {
      throw new Error("nope");
    });
    await expect(p.request("bad", bytes("x"), 100)).rejects.toMatchObject({
      code: ErrorCode.PROVIDER_UNAVAILABLE,
    });
    expect(p.health().counters.errors).toBe(3);
  });

  it("rejects request on non-NATS kinds and bad subjects", async () => {
    const k = new MemoryProvider({ id: "k", kind: "kafka" });
    await k.start();
    await expect(k.request("a", bytes("x"), 10)).rejects.toMatchObject({
      code: ErrorCode.PROVIDER_NOT_BUILT,
    });
    await k.stop();
    const p = await make();
    await expect(p.publish("a.*", bytes("x"))).rejects.toMatchObject({ code: ErrorCode.SUBJECT_INVALID });
    await expect(p.subscribe(["a..b"], () => undefined)).rejects.toMatchObject({
      code: ErrorCode.SUBJECT_INVALID,
    });
  });

  it("requires start before publishing but remembers earlier subscriptions", async () => {
    const p = new MemoryProvider({ id: "m2", kind: "nats" });
    provider = p;
    const c = new Collector();
    await p.subscribe(["a"], c.handler);
    await expect(p.publish("a", bytes("x"))).rejects.toMatchObject({ code: ErrorCode.PROVIDER_UNAVAILABLE });
    expect(p.health()).toMatchObject({ connected: false, detail: "not started" });
    await p.startInBackground();
    await p.publish("a", bytes("y"));
    await c.waitForText("y");
    await p.stop();
    await expect(p.start()).rejects.toMatchObject({ code: ErrorCode.PROVIDER_UNAVAILABLE });
  });

  it("drops queued events of a subscription that unsubscribes before they are delivered", async () => {
    const p = await make();
    const c = new Collector();
    const off = await p.subscribe(["a"], c.handler);
    void p.publish("a", bytes("1"));
    await off();
    await new Promise((r) => setImmediate(r));
    expect(c.events).toHaveLength(0);
  });
});
