/**
 * Stream hooks through the engine, on the embedded broker (no network): onDeliver runs once per
 * group and groupBy value (not per subscriber) unless the hook asks for per-subscriber calls;
 * emitted events go through the same resolver and onDeliver, before live ones; a resumed
 * at-least-once subscription replays through onReceiveEvents, so a dropped event stays dropped.
 */
import { afterEach, describe, expect, it } from "vitest";
import { configFromObject } from "../../../src/config/loader.js";
import { Delivery } from "../../../src/delivery/service.js";
import { Engine } from "../../../src/engine/engine.js";
import {
  anonymous,
  type EventMeta,
  type OperationSink,
  type RequestContext,
} from "../../../src/engine/types.js";
import { HookSet } from "../../../src/hooks/hooks.js";
import type { CheckedHooks } from "../../../src/hooks/load.js";
import { createLogger } from "../../../src/observability/logger.js";
import type { PlanError } from "../../../src/planner/plan.js";
import { createProviders, type ManagedProvider } from "../../../src/providers/factory.js";
import { loadSupergraph } from "../../../src/schema/supergraph.js";

const SDL = `
type Subscription {
  employeeUpdated(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"])
}
type Employee @key(fields: "id", resolvable: false) { id: ID! @external }
`;
const SUB = "subscription($id: ID!) { employeeUpdated(id: $id) { id } }";
const SECRET = "a-cursor-secret-that-is-at-least-32-bytes";
const logger = createLogger("silent");

class Sink implements OperationSink {
  readonly ids: string[] = [];
  readonly cursors: (string | undefined)[] = [];
  readonly errors: (readonly PlanError[])[] = [];
  next(json: string, meta?: EventMeta): void {
    this.ids.push(
      (JSON.parse(json) as { data: { employeeUpdated: { id: string } } }).data.employeeUpdated.id,
    );
    this.cursors.push(meta?.cursor);
  }
  error(errors: readonly PlanError[]): void {
    this.errors.push(errors);
  }
  complete(): void {}
}

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

async function rig(hooks: CheckedHooks, atLeastOnce = false) {
  const config = configFromObject(
    {
      events: {
        providers: {
          nats: [{ id: "default", url: "memory://", ...(atLeastOnce ? { delivery: "at_least_once" } : {}) }],
        },
      },
      delivery: atLeastOnce ? { cursor_secret: SECRET } : {},
      hooks: { timeout: "1s" },
    },
    { env: {} },
  );
  const providers: Map<string, ManagedProvider> = await createProviders(config.events, "test");
  for (const p of providers.values()) await p.start();
  const set = new HookSet([{ label: "t.mjs", file: "/t.mjs", hooks }], {
    config: config.hooks,
    maxBytes: 1 << 20,
    logger,
  });
  const engine = new Engine(
    await loadSupergraph([{ name: "events", schema: SDL }]),
    providers,
    { requestTimeoutMs: 100, subgraphTimeoutMs: 100, hooks: set, delivery: new Delivery(config, logger) },
    logger,
  );
  stop = async () => {
    for (const p of providers.values()) await p.stop();
  };
  const nats = providers.get("default")!;
  const publish = (id: string, body: unknown) =>
    nats.publish(`employeeUpdated.${id}`, new TextEncoder().encode(JSON.stringify(body)));
  return { engine, publish, set };
}

const as = (claims: Record<string, unknown> | null): RequestContext => ({
  ...anonymous("127.0.0.1"),
  auth: claims ? { claims } : null,
});
const settle = () => new Promise((r) => setTimeout(r, 30));

describe("onDeliver", () => {
  it("group scope: one call per event per groupBy value, whatever the number of subscribers", async () => {
    let calls = 0;
    const { engine, publish } = await rig({
      onDeliver: {
        scope: "group",
        groupBy: (ctx: { claims: { role?: string } | null }) => ctx.claims?.role,
        handler: (ctx) => {
          calls++;
          if (ctx.claims?.role === "guest") return null;
          return { data: { ...ctx.event.data, id: `${ctx.event.data.id}:${ctx.claims?.role}` } };
        },
      },
    });
    const admins = Array.from({ length: 50 }, (_, i) => {
      const s = new Sink();
      engine.execute({ query: SUB, variables: { id: "1" } }, s, as({ sub: `a${i}`, role: "admin" }));
      return s;
    });
    const guests = Array.from({ length: 50 }, (_, i) => {
      const s = new Sink();
      engine.execute({ query: SUB, variables: { id: "1" } }, s, as({ sub: `g${i}`, role: "guest" }));
      return s;
    });
    await settle();
    await publish("1", { id: "1" });
    await publish("1", { id: "2" });
    await settle();
    expect(calls).toBe(4);
    for (const s of admins) expect(s.ids).toEqual(["1:admin", "2:admin"]);
    for (const s of guests) expect(s.ids).toEqual([]);
    expect(engine.stats().groups).toBe(2);
    expect(engine.stats().eventsSkipped.get("hook")).toBe(2);
  });

  it("subscriber scope: one call per subscriber per event", async () => {
    let calls = 0;
    const { engine, publish } = await rig({
      onDeliver: {
        scope: "subscriber",
        groupBy: undefined,
        handler: () => {
          calls++;
        },
      },
    });
    const sinks = Array.from({ length: 10 }, () => {
      const s = new Sink();
      engine.execute({ query: SUB, variables: { id: "1" } }, s, as(null));
      return s;
    });
    await settle();
    await publish("1", { id: "1" });
    await settle();
    expect(calls).toBe(10);
    expect(engine.stats().groups).toBe(10);
    for (const s of sinks) expect(s.ids).toEqual(["1"]);
  });
});

describe("onSubscriptionStart", () => {
  it("emits through the subscription's own resolver and onDeliver, before live events", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const { engine, publish } = await rig({
      onSubscriptionStart: async (ctx) => {
        ctx.emit({ id: "initial" });
        await gate;
        ctx.emit({ id: "second" });
      },
      onDeliver: {
        scope: "group",
        groupBy: undefined,
        handler: (ctx) => ({ data: { id: `${ctx.event.data.id}!` } }),
      },
    });
    const s = new Sink();
    engine.execute({ query: SUB, variables: { id: "5" } }, s, as(null));
    await settle();
    await publish("5", { id: "live" });
    await settle();
    expect(s.ids).toEqual(["initial!"]);
    release();
    await settle();
    expect(s.ids).toEqual(["initial!", "second!", "live!"]);
    expect(s.errors).toEqual([]);
  });
});

describe("resume through onReceiveEvents", () => {
  it("replays what the client missed without the events the hook drops", async () => {
    const { engine, publish } = await rig(
      {
        onReceiveEvents: (ctx) => ctx.events.filter((e) => e.data.secret !== true),
      },
      true,
    );
    const first = new Sink();
    const run = engine.execute({ query: SUB, variables: { id: "9" } }, first, as(null));
    await settle();
    await publish("9", { id: "a" });
    await settle();
    expect(first.ids).toEqual(["a"]);
    const cursor = first.cursors[0]!;
    run.cancel();
    await publish("9", { id: "b" });
    await publish("9", { id: "hidden", secret: true });
    await publish("9", { id: "c" });
    const resumed = new Sink();
    engine.execute({ query: SUB, variables: { id: "9" }, extensions: { cursor } }, resumed, as(null));
    await settle();
    await settle();
    expect(resumed.errors).toEqual([]);
    expect(resumed.ids).toEqual(["b", "c"]);
  });
});
