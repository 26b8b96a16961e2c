/**
 * A trigger's batch transform (onReceiveEvents through a real HookSet): one call per batch for
 * every group, order kept across batches, broker positions kept (a dropped event still advances
 * the cursors, a mapped one keeps its own), and the two failure policies. The broker is the
 * embedded one with a log (positions); the cursors are a recording stand-in (named as such).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { EventMeta } from "../../../src/engine/types.js";
import { TopicRegistry } from "../../../src/fanout/topic-registry.js";
import {
  type GroupResolver,
  type Subscriber,
  type TriggerCursors,
  TriggerRegistry,
} from "../../../src/fanout/triggers.js";
import { HookSet } from "../../../src/hooks/hooks.js";
import type { LoadedModule } from "../../../src/hooks/load.js";
import type { ReceiveEventsContext } from "../../../src/hooks/types.js";
import type { PlanError } from "../../../src/planner/plan.js";
import { defaultConfig } from "../../../src/config/loader.js";
import { createLogger } from "../../../src/observability/logger.js";
import { MemoryProvider } from "../../../src/providers/memory/provider.js";
import type { BrokerEvent } from "../../../src/providers/provider.js";

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Stand-in cursors (the real ones sign positions; here we only record what the trigger asks). */
class RecordingCursors implements TriggerCursors {
  readonly advanced: string[] = [];
  readonly settled: string[] = [];
  latest: string | undefined;
  advance(ev: BrokerEvent): EventMeta | undefined {
    if (ev.position === undefined) return undefined;
    this.advanced.push(ev.position);
    return { cursor: `c${ev.position}`, position: { key: "memory", offset: Number(ev.position) } };
  }
  settle(cursor: string): void {
    this.settled.push(cursor);
    this.latest = cursor;
  }
}

class Client implements Subscriber {
  readonly got: [string, string | undefined][] = [];
  readonly errors: (readonly PlanError[])[] = [];
  /** The payload without the cursor the trigger spliced in (which meta carries too). */
  next(json: string, meta?: EventMeta): void {
    const { extensions: _e, ...rest } = JSON.parse(json) as Record<string, unknown>;
    this.got.push([JSON.stringify(rest), meta?.cursor]);
  }
  error(errors: readonly PlanError[]): void {
    this.errors.push(errors);
  }
}

const echo: GroupResolver = (d) => (d.ok ? JSON.stringify(d.value) : '{"invalid":true}');

function hookSet(
  onReceiveEvents: (ctx: ReceiveEventsContext) => unknown,
  policy: "skip" | "error" = "skip",
  timeout = 1000,
): HookSet {
  const base = defaultConfig().hooks;
  const module: LoadedModule = {
    label: "test.mjs",
    file: "/test.mjs",
    hooks: { onReceiveEvents: onReceiveEvents as never },
  };
  return new HookSet([module], {
    config: { ...base, timeout, on_receive_events: { failure_policy: policy } },
    maxBytes: 1 << 20,
    logger: createLogger("silent"),
  });
}

let memory: MemoryProvider;
let registry: TriggerRegistry;

beforeEach(async () => {
  memory = new MemoryProvider({ id: "default", kind: "nats", retain: 100 });
  await memory.start();
  registry = new TriggerRegistry(
    new TopicRegistry((id) => (id === "default" ? memory : undefined)),
    () => {},
  );
});
afterEach(async () => {
  await memory.stop();
});

async function subscribeGroups(hooks: HookSet, cursors: RecordingCursors, groups: number): Promise<Client[]> {
  const receive = hooks.receiver("employeeUpdated", "default");
  const clients: Client[] = [];
  for (let g = 0; g < groups; g++) {
    const c = new Client();
    clients.push(c);
    await registry.subscribe({
      providerId: "default",
      topics: ["e.1"],
      groupKey: `g${g}`,
      resolver: echo,
      subscriber: c,
      end: (errors) => c.error(errors),
      cursors: () => cursors,
      receive,
    });
  }
  return clients;
}

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
};

describe("a trigger's onReceiveEvents", () => {
  it("runs once per batch for every group; drops advance the cursors, mapped events keep their position", async () => {
    const calls: ReceiveEventsContext[] = [];
    const hooks = hookSet((ctx) => {
      calls.push(ctx);
      return [
        ...ctx.events
          .filter((e) => e.data.drop !== true)
          .map((e) => ({ ...e, data: { ...e.data, mapped: true } })),
        { data: { added: true } },
      ];
    });
    const cursors = new RecordingCursors();
    const [a, b, c] = await subscribeGroups(hooks, cursors, 3);
    // Published in one tick: one broker batch.
    void memory.publish("e.1", bytes('{"id":1}'));
    void memory.publish("e.1", bytes('{"id":2,"drop":true}'));
    void memory.publish("e.1", bytes('{"id":3}'));
    await until(() => a!.got.length === 3 && cursors.settled.length === 1);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      topic: "e.1",
      field: "employeeUpdated",
      providerId: "default",
      claims: null,
    });
    expect(calls[0]!.events.map((e) => e.data)).toEqual([{ id: 1 }, { id: 2, drop: true }, { id: 3 }]);
    expect(a!.got).toEqual([
      ['{"id":1,"mapped":true}', "c1"],
      ['{"id":3,"mapped":true}', "c3"],
      // A new event has no broker position, so no cursor of its own.
      ['{"added":true}', undefined],
    ]);
    expect(b!.got).toEqual(a!.got);
    expect(c!.got).toEqual(a!.got);
    // Every input advanced the cursors, the dropped one included; the batch settles at its last.
    expect(cursors.advanced).toEqual(["1", "2", "3"]);
    expect(cursors.settled).toEqual(["c3"]);
  });

  it("keeps broker order across batches when a hook call is slower than the next", async () => {
    let first = true;
    const hooks = hookSet(async (ctx) => {
      if (first) {
        first = false;
        await new Promise((r) => setTimeout(r, 100));
      }
      return ctx.events;
    });
    const cursors = new RecordingCursors();
    const [a] = await subscribeGroups(hooks, cursors, 1);
    await memory.publish("e.1", bytes('{"n":1}'));
    await new Promise((r) => setTimeout(r, 10));
    await memory.publish("e.1", bytes('{"n":2}'));
    await until(() => a!.got.length === 2 && cursors.settled.length === 2); // settling follows delivery
    expect(a!.got.map(([j]) => j)).toEqual(['{"n":1}', '{"n":2}']);
    expect(cursors.settled).toEqual(["c1", "c2"]);
  });

  it("skip policy: a failing batch is not delivered, still advances the cursors, and the next one is", async () => {
    const hooks = hookSet((ctx) => {
      if (ctx.events.some((e) => e.data.fail === true)) throw new Error("bad batch");
      return ctx.events;
    });
    const cursors = new RecordingCursors();
    const [a] = await subscribeGroups(hooks, cursors, 1);
    await memory.publish("e.1", bytes('{"fail":true}'));
    await new Promise((r) => setTimeout(r, 10));
    await memory.publish("e.1", bytes('{"ok":true}'));
    await until(() => a!.got.length === 1);
    expect(a!.got).toEqual([['{"ok":true}', "c2"]]);
    expect(a!.errors).toEqual([]);
    expect(cursors.advanced).toEqual(["1", "2"]);
    expect(hooks.stats()[0]).toMatchObject({ calls: 2, errors: 1, dropped: 1 });
  });

  it("error policy: every subscriber of the trigger ends with the hook's error", async () => {
    const hooks = hookSet(() => new Promise(() => {}), "error", 50);
    const cursors = new RecordingCursors();
    const clients = await subscribeGroups(hooks, cursors, 2);
    await memory.publish("e.1", bytes('{"id":1}'));
    await until(() => clients.every((c) => c.errors.length === 1));
    for (const c of clients) {
      expect(c.got).toEqual([]);
      expect(c.errors[0]).toEqual([
        {
          message: "the onReceiveEvents hook did not answer in time",
          extensions: { code: "SG_ERR_HOOK_TIMEOUT" },
        },
      ]);
    }
  });

  it("never hands the hook an event that is not a JSON object; groups report it as before", async () => {
    const seen: unknown[] = [];
    const hooks = hookSet((ctx) => {
      seen.push(...ctx.events.map((e) => e.data));
      return ctx.events;
    });
    const [a] = await subscribeGroups(hooks, new RecordingCursors(), 1);
    void memory.publish("e.1", bytes("not json"));
    void memory.publish("e.1", bytes('{"id":1}'));
    await until(() => a!.got.length === 2);
    expect(seen).toEqual([{ id: 1 }]);
    expect(a!.got.map(([j]) => j)).toEqual(['{"id":1}', '{"invalid":true}']);
  });
});
