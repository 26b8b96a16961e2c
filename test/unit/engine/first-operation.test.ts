/**
 * graphql-jit is loaded at a thread's first operation, not at start (src/planner/jit.ts): what
 * the engine does with operations that come before it is loaded. Module state is per test file,
 * so this file starts with graphql-jit unloaded; the tests run in order.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configFromObject } from "../../../src/config/loader.js";
import { Engine } from "../../../src/engine/engine.js";
import { anonymous, type OperationSink } from "../../../src/engine/types.js";
import { createLogger } from "../../../src/observability/logger.js";
import { jitLoaded, loadJit } from "../../../src/planner/jit.js";
import { Planner, type PlanError } from "../../../src/planner/plan.js";
import { createProviders, type ManagedProvider } from "../../../src/providers/factory.js";
import { loadSupergraph, type Supergraph } from "../../../src/schema/supergraph.js";

const SDL = `
type Query { employee(id: ID!): Employee! @edfs__natsRequest(subject: "getEmployee.{{ args.id }}") }
type Subscription {
  employeeUpdated(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"])
}
type Employee @key(fields: "id", resolvable: false) { id: ID! @external }
`;
const SUB = "subscription($id: ID!) { employeeUpdated(id: $id) { id } }";
const ctx = anonymous("127.0.0.1");

class Sink implements OperationSink {
  readonly events: string[] = [];
  readonly errors: (readonly PlanError[])[] = [];
  next(json: string): void {
    this.events.push(json);
  }
  error(errors: readonly PlanError[]): void {
    this.errors.push(errors);
  }
  complete(): void {}
}

let supergraph: Supergraph;
let providers: Map<string, ManagedProvider>;
let engine: Engine;
const publish = (id: string) =>
  providers
    .get("default")!
    .publish(`employeeUpdated.${id}`, new TextEncoder().encode(JSON.stringify({ id })));
const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
};

beforeAll(async () => {
  const config = configFromObject(
    { events: { providers: { nats: [{ id: "default", url: "memory://" }] } } },
    { env: {} },
  );
  providers = await createProviders(config.events, "test");
  for (const p of providers.values()) await p.start();
  supergraph = await loadSupergraph([{ name: "events", schema: SDL }]);
  engine = new Engine(
    supergraph,
    providers,
    { requestTimeoutMs: 100, subgraphTimeoutMs: 100 },
    createLogger("silent"),
  );
});
afterAll(async () => {
  for (const p of providers.values()) await p.stop();
});

describe("the first operations of a thread", () => {
  it("says what kind an operation is without loading graphql-jit", () => {
    expect(engine.operationKind({ query: SUB, variables: { id: "1" } })).toBe("subscription");
    expect(engine.operationKind({ query: '{ employee(id: "1") { id } }' })).toBe("query");
    expect(engine.operationKind({ query: "{ nope }" })).toBeUndefined();
    expect(engine.operationKind({ query: "{" })).toBeUndefined();
    expect(jitLoaded()).toBe(false);
  });

  it("refuses to plan before graphql-jit is loaded (a programming error, not a client's)", () => {
    const planner = new Planner(supergraph.schema, supergraph.bindings);
    expect(() => planner.plan('{ employee(id: "1") { id } }')).toThrow(/loadJit/);
  });

  it("starts operations once it is loaded, in order; one cancelled meanwhile never starts", async () => {
    const first = new Sink();
    const cancelled = new Sink();
    const invalid = new Sink();
    const running = engine.execute({ query: SUB, variables: { id: "1" } }, first, ctx);
    const dropped = engine.execute({ query: SUB, variables: { id: "2" } }, cancelled, ctx);
    engine.execute({ query: "subscription { nope }" }, invalid, ctx);
    // Nothing has started yet: the handles exist, the subscriptions do not.
    expect(jitLoaded()).toBe(false);
    expect(engine.subscriptions).toBe(0);
    expect(invalid.errors).toHaveLength(0);
    dropped.cancel();
    await until(() => engine.subscriptions === 1 && invalid.errors.length === 1);
    expect(jitLoaded()).toBe(true);
    expect(engine.subscriptions).toBe(1);
    expect(invalid.errors[0]?.[0]?.message).toMatch(/nope/);
    await publish("1");
    await publish("2");
    await until(() => first.events.length === 1);
    expect(JSON.parse(first.events[0]!)).toEqual({ data: { employeeUpdated: { id: "1" } } });
    expect(cancelled.events).toEqual([]);
    running.cancel();
    await until(() => engine.subscriptions === 0);
    expect(engine.subscriptions).toBe(0);
  });

  it("once loaded, plans at once", async () => {
    await loadJit();
    const sink = new Sink();
    engine.execute({ query: "subscription { nope }" }, sink, ctx);
    expect(sink.errors).toHaveLength(1);
  });
});
