import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ErrorCode } from "../../../src/errors.js";
import { TopicRegistry } from "../../../src/fanout/topic-registry.js";
import { sourceKey } from "../../../src/fanout/keys.js";
import { type GroupResolver, type Subscriber, TriggerRegistry } from "../../../src/fanout/triggers.js";
import type { Decoded } from "../../../src/planner/event.js";
import { MemoryProvider } from "../../../src/providers/memory/provider.js";
import type {
  EventsHandler,
  Provider,
  ProviderHealth,
  SubscribeOptions,
  Unsubscribe,
} from "../../../src/providers/provider.js";

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Delegates to a MemoryProvider, counting broker subscriptions; can refuse chosen topics. */
class SpyProvider implements Provider {
  readonly id = "default";
  readonly kind = "nats" as const;
  readonly subscribeCalls: string[][] = [];
  readonly refuse = new Set<string>();
  active = 0;
  constructor(readonly inner: MemoryProvider) {}
  start(): Promise<void> {
    return this.inner.start();
  }
  stop(): Promise<void> {
    return this.inner.stop();
  }
  async subscribe(topics: readonly string[], onEvents: EventsHandler, options?: SubscribeOptions) {
    this.subscribeCalls.push([...topics]);
    await Promise.resolve();
    if (topics.some((t) => this.refuse.has(t))) throw new Error(`refused ${topics.join(",")}`);
    const unsubscribe = await this.inner.subscribe(topics, onEvents, options);
    this.active++;
    let closed = false;
    const close: Unsubscribe = async () => {
      if (!closed) this.active--;
      closed = true;
      await unsubscribe();
    };
    return close;
  }
  publish(topic: string, data: Uint8Array): Promise<void> {
    return this.inner.publish(topic, data);
  }
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return this.inner.request(subject, data, timeoutMs);
  }
  health(): ProviderHealth {
    return this.inner.health();
  }
}

class Client implements Subscriber {
  readonly got: string[] = [];
  next(payload: string): void {
    this.got.push(payload);
  }
}

/** A resolver that records its calls and echoes the event. */
function echo(tag = ""): GroupResolver & { calls: Decoded[] } {
  const calls: Decoded[] = [];
  const fn = (d: Decoded, raw: { topic: string }) => {
    calls.push(d);
    return d.ok ? `${tag}${raw.topic}:${JSON.stringify(d.value)}` : `${tag}invalid`;
  };
  return Object.assign(fn, { calls });
}

let memory: MemoryProvider;
let spy: SpyProvider;
let topics: TopicRegistry;
let registry: TriggerRegistry;
let errors: unknown[];

beforeEach(async () => {
  memory = new MemoryProvider({ id: "default", kind: "nats" });
  await memory.start();
  spy = new SpyProvider(memory);
  topics = new TopicRegistry((id) => (id === "default" ? spy : undefined));
  errors = [];
  registry = new TriggerRegistry(topics, (e) => errors.push(e));
});
afterEach(async () => {
  await memory.stop();
});

const sub = (topicList: string[], groupKey: string, resolver: GroupResolver, subscriber: Subscriber) =>
  registry
    .subscribe({ providerId: "default", topics: topicList, groupKey, resolver, subscriber })
    .then((m) => () => m.unsubscribe());
const publish = (topic: string, body: string) => memory.publish(topic, bytes(body));

describe("TriggerRegistry: deduplication", () => {
  it("resolves once per event for a group and hands every subscriber the same string", async () => {
    const r1 = echo();
    const r2 = echo("never");
    const [a, b] = [new Client(), new Client()];
    await sub(["e.1"], "g", r1, a);
    await sub(["e.1"], "g", r2, b);
    expect([registry.triggerCount, registry.groupCount, topics.size]).toEqual([1, 1, 1]);
    await publish("e.1", '{"id":1}');
    await publish("e.1", '{"id":2}');
    await vi.waitFor(() => expect(b.got).toHaveLength(2));
    expect(a.got).toEqual(['e.1:{"id":1}', 'e.1:{"id":2}']);
    expect(b.got).toEqual(a.got);
    expect(r1.calls).toHaveLength(2);
    expect(r2.calls).toHaveLength(0);
    expect(registry.stats).toEqual({ eventsReceived: 2, eventsInvalid: 0, deliveries: 4, resolutions: 2 });
  });

  it("two groups on one trigger share one broker subscription and one decoded event", async () => {
    const [r1, r2] = [echo("1:"), echo("2:")];
    const [a, b] = [new Client(), new Client()];
    await sub(["e.1", "e.2"], "g1", r1, a);
    await sub(["e.1", "e.2"], "g2", r2, b);
    expect(spy.subscribeCalls).toEqual([["e.1"], ["e.2"]]);
    expect([registry.triggerCount, registry.groupCount, topics.size]).toEqual([1, 2, 2]);
    await publish("e.2", '{"id":7}');
    await vi.waitFor(() => expect(b.got).toHaveLength(1));
    expect(a.got).toEqual(['1:e.2:{"id":7}']);
    expect(b.got).toEqual(['2:e.2:{"id":7}']);
    expect(r1.calls).toHaveLength(1);
    expect(r2.calls).toHaveLength(1);
    expect(r1.calls[0]).toBe(r2.calls[0]);
    expect(registry.stats.resolutions).toBe(2);
  });

  it("triggers with overlapping topic sets share the per-topic broker subscription", async () => {
    const [x, y] = [new Client(), new Client()];
    await sub(["a", "b"], "g", echo("x:"), x);
    await sub(["b", "c"], "g", echo("y:"), y);
    expect(registry.triggerCount).toBe(2);
    expect(topics.size).toBe(3);
    expect(spy.subscribeCalls).toEqual([["a"], ["b"], ["c"]]);
    for (const t of ["a", "b", "c"]) await publish(t, `{"t":"${t}"}`);
    await vi.waitFor(() => expect(y.got).toHaveLength(2));
    await vi.waitFor(() => expect(x.got).toHaveLength(2));
    expect(x.got).toEqual(['x:a:{"t":"a"}', 'x:b:{"t":"b"}']);
    expect(y.got).toEqual(['y:b:{"t":"b"}', 'y:c:{"t":"c"}']);
  });
});

describe("TriggerRegistry: leaving", () => {
  it("one subscriber leaving keeps delivery to the other", async () => {
    const [a, b] = [new Client(), new Client()];
    const leaveA = await sub(["e"], "g", echo(), a);
    await sub(["e"], "g", echo(), b);
    await publish("e", '{"n":1}');
    await vi.waitFor(() => expect(a.got).toHaveLength(1));
    leaveA();
    leaveA(); // idempotent
    expect([registry.triggerCount, registry.groupCount, topics.size]).toEqual([1, 1, 1]);
    await publish("e", '{"n":2}');
    await vi.waitFor(() => expect(b.got).toHaveLength(2));
    expect(a.got).toEqual(['e:{"n":1}']);
    expect(b.got).toEqual(['e:{"n":1}', 'e:{"n":2}']);
    expect(spy.active).toBe(1);
  });

  it("the last subscriber leaving removes the broker subscription", async () => {
    const r = echo();
    const leave = await sub(["e.9"], "g", r, new Client());
    await sub(["e.other"], "keep", echo(), new Client());
    expect(spy.active).toBe(2);
    leave();
    expect([registry.triggerCount, topics.size]).toEqual([1, 1]);
    await vi.waitFor(() => expect(spy.active).toBe(1));
    // A later publish reaches nobody: the probe published after it arrives, so it would have too.
    const probe = new Client();
    await sub(["probe"], "p", echo(), probe);
    await publish("e.9", '{"late":true}');
    await publish("probe", "{}");
    await vi.waitFor(() => expect(probe.got).toEqual(["probe:{}"]));
    expect(r.calls).toHaveLength(0);
    expect(registry.stats.eventsReceived).toBe(1);
  });

  it("a second trigger on the same topics after the last leave subscribes afresh", async () => {
    (await sub(["e"], "g", echo(), new Client()))();
    const c = new Client();
    await sub(["e"], "g", echo("new:"), c);
    expect(spy.subscribeCalls).toEqual([["e"], ["e"]]);
    await publish("e", "{}");
    await vi.waitFor(() => expect(c.got).toEqual(["new:e:{}"]));
  });
});

describe("TriggerRegistry: what a joining subscriber reuses, and eviction", () => {
  it("resolverOf names the group's resolver while the group exists, and nothing for another key", async () => {
    const r = echo();
    const key = sourceKey("default", ["e"], undefined);
    expect(registry.resolverOf(key, "g")).toBeUndefined();
    const leave = await sub(["e"], "g", r, new Client());
    expect(registry.resolverOf(key, "g")).toBe(r);
    expect(registry.resolverOf(key, "other")).toBeUndefined();
    expect(registry.resolverOf(sourceKey("default", ["f"], undefined), "g")).toBeUndefined();
    leave();
    expect(registry.resolverOf(key, "g")).toBeUndefined();
  });

  it("evicts subscribers whose evict is a function or an object's method, and they leave the group", async () => {
    const reasons: string[] = [];
    const a = new Client();
    const b = new Client();
    const kept = new Client();
    const base = { providerId: "default", topics: ["e"], resolver: echo() } as const;
    await registry.subscribe({
      ...base,
      groupKey: "old",
      subscriber: a,
      tag: "old",
      evict: (r) => reasons.push(`fn:${r}`),
    });
    await registry.subscribe({
      ...base,
      groupKey: "old",
      subscriber: b,
      tag: "old",
      evict: { evict: (r: string) => reasons.push(`obj:${r}`) },
    });
    await registry.subscribe({
      ...base,
      groupKey: "new",
      subscriber: kept,
      tag: "new",
      evict: () => reasons.push("wrong"),
    });
    expect(registry.evict((tag) => (tag === "old" ? "reloaded" : undefined))).toBe(2);
    expect(reasons.sort()).toEqual(["fn:reloaded", "obj:reloaded"]);
    expect(registry.groupCount).toBe(1);
    await publish("e", "{}");
    await vi.waitFor(() => expect(kept.got).toEqual(["e:{}"]));
    expect([a.got, b.got]).toEqual([[], []]);
  });
});

describe("TriggerRegistry: ordering and faults", () => {
  it("keeps publish order when an earlier event resolves later", async () => {
    let release!: (s: string) => void;
    const slowFirst: GroupResolver = (d) => {
      const n = d.ok ? Number(d.value.n) : -1;
      if (n === 1) return new Promise<string>((r) => (release = r));
      if (n === 2) return Promise.resolve("2");
      return String(n);
    };
    const [slow, fast] = [new Client(), new Client()];
    await sub(["e"], "slow", slowFirst, slow);
    await sub(["e"], "fast", (d) => (d.ok ? String(d.value.n) : null), fast);
    for (const n of [1, 2, 3]) await publish("e", `{"n":${n}}`);
    await vi.waitFor(() => expect(fast.got).toEqual(["1", "2", "3"]));
    // Another group's slow resolution never holds this one back, and nothing overtakes event 1.
    expect(slow.got).toEqual([]);
    release("1");
    await vi.waitFor(() => expect(slow.got).toHaveLength(3));
    expect(slow.got).toEqual(["1", "2", "3"]);
    await publish("e", '{"n":4}');
    await vi.waitFor(() => expect(slow.got).toEqual(["1", "2", "3", "4"]));
  });

  it("a throwing subscriber does not stop delivery to the next one", async () => {
    const boom = new Error("client gone");
    const bad: Subscriber = {
      next: () => {
        throw boom;
      },
    };
    const good = new Client();
    await sub(["e"], "g", echo(), bad);
    await sub(["e"], "g", echo(), good);
    await publish("e", "{}");
    await publish("e", "[]");
    await vi.waitFor(() => expect(good.got).toEqual(["e:{}", "invalid"]));
    expect(errors).toEqual([boom, boom]);
    expect(registry.stats.deliveries).toBe(2);
  });

  it("a throwing or rejecting resolver is reported and later events still flow", async () => {
    const c = new Client();
    const resolver: GroupResolver = (d) => {
      const n = d.ok ? d.value.n : undefined;
      if (n === 1) throw new Error("sync");
      if (n === 2) return Promise.reject(new Error("async"));
      return `ok ${String(n)}`;
    };
    await sub(["e"], "g", resolver, c);
    for (const n of [1, 2, 3]) await publish("e", `{"n":${n}}`);
    await vi.waitFor(() => expect(c.got).toEqual(["ok 3"]));
    expect(errors.map((e) => (e as Error).message)).toEqual(["sync", "async"]);
    expect(registry.stats).toMatchObject({ eventsReceived: 3, resolutions: 1, deliveries: 1 });
  });

  it("a null resolution is filtered out but counted", async () => {
    const c = new Client();
    await sub(["e"], "g", (d) => (d.ok && d.value.keep ? "kept" : null), c);
    await publish("e", '{"keep":false}');
    await publish("e", '{"keep":true}');
    await vi.waitFor(() => expect(c.got).toEqual(["kept"]));
    expect(registry.stats).toEqual({ eventsReceived: 2, eventsInvalid: 0, deliveries: 1, resolutions: 2 });
  });
});

describe("TriggerRegistry: broker failures", () => {
  it("a refused broker subscription rejects subscribe() and leaves nothing behind", async () => {
    spy.refuse.add("bad");
    const keep = new Client();
    await sub(["good"], "k", echo(), keep);
    const [a, b] = [new Client(), new Client()];
    const p1 = sub(["bad", "good"], "g", echo(), a);
    const p2 = sub(["bad", "good"], "h", echo(), b); // joins the pending trigger
    await expect(p1).rejects.toThrow("refused bad");
    await expect(p2).rejects.toThrow("refused bad");
    expect(registry.triggerCount).toBe(1);
    expect(registry.groupCount).toBe(1);
    expect(topics.size).toBe(1);
    // The shared "good" subscription survives for the trigger that still uses it.
    await publish("good", "{}");
    await vi.waitFor(() => expect(keep.got).toEqual(["good:{}"]));
    expect([a.got, b.got]).toEqual([[], []]);
    expect(spy.active).toBe(1);
  });

  it("a refused single-topic trigger leaves triggerCount 0", async () => {
    spy.refuse.add("x");
    await expect(sub(["x"], "g", echo(), new Client())).rejects.toThrow("refused x");
    expect([registry.triggerCount, registry.groupCount, topics.size, spy.active]).toEqual([0, 0, 0, 0]);
  });

  it("an invalid subject is refused by the broker with SUBJECT_INVALID", async () => {
    const err = await sub(["a", "a..b"], "g", echo(), new Client()).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe(ErrorCode.SUBJECT_INVALID);
    expect([registry.triggerCount, topics.size]).toEqual([0, 0]);
    await vi.waitFor(() => expect(spy.active).toBe(0));
  });

  it("an unknown provider id rejects", async () => {
    const req = {
      providerId: "nope",
      topics: ["a"],
      groupKey: "g",
      resolver: echo(),
      subscriber: new Client(),
    };
    await expect(registry.subscribe(req)).rejects.toThrow('no provider "nope"');
    expect([registry.triggerCount, topics.size]).toEqual([0, 0]);
  });
});

describe("TriggerRegistry: stats", () => {
  it("counts received, invalid, resolutions and deliveries", async () => {
    const [a, b, c] = [new Client(), new Client(), new Client()];
    await sub(["s"], "g1", echo(), a);
    await sub(["s"], "g1", echo(), b);
    await sub(["s"], "g2", echo(), c);
    await publish("s", '{"ok":1}');
    await memory.publish("s", new Uint8Array([0xff, 0x00]));
    await publish("s", "not json");
    await vi.waitFor(() => expect(c.got).toHaveLength(3));
    expect(a.got).toEqual(['s:{"ok":1}', "invalid", "invalid"]);
    expect(registry.stats).toEqual({ eventsReceived: 3, eventsInvalid: 2, deliveries: 9, resolutions: 6 });
    expect(memory.health().counters).toMatchObject({ published: 3, received: 3, errors: 0 });
  });
});
