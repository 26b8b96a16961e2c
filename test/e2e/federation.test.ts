/**
 * Federation end to end: events carry keys, the router fetches the selected fields from real
 * `@apollo/subgraph` servers through `_entities` (nested boundaries included), once per event per
 * resolution group, merged across groups; queries are routed to the owning subgraphs.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Collected, collect, postGraphql, wsClient } from "../helpers/clients.js";
import { type RunningRouter, startRouterProcess, tempFiles } from "../helpers/router.js";
import { type RunningSubgraph, startSubgraph } from "../helpers/subgraphs.js";

const EVENTS = `
type Subscription {
  employeeUpdated(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"])
  anyEmployeeUpdated(ids: [ID!]!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.*"])
    @openfed__subscriptionFilter(condition: { IN: { fieldPath: "id", values: ["{{ args.ids }}"] } })
}
type Mutation {
  updateEmployee(id: ID!): edfs__PublishResult! @edfs__natsPublish(subject: "employeeUpdated.{{ args.id }}")
}
type Employee @key(fields: "id", resolvable: false) { id: ID! @external }
`;

const EMPLOYEES = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
type Employee @key(fields: "id") { id: ID! name: String! department: Department! }
type Department @key(fields: "id") { id: ID! name: String! }
type Query { employee(id: ID!): Employee }
`;

const FINANCE = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
type Department @key(fields: "id") { id: ID! budget: Int! }
type Employee @key(fields: "id") { id: ID! salary: Int! salaryIn(currency: String!): String! }
`;

const employee = (id: string) => {
  if (id === "666") throw new Error("employee 666 is cursed");
  const dept = `d${Number(id) % 2}`;
  return { id, name: `Employee ${id}`, department: { id: dept, name: `Dept ${dept}` } };
};

let router: RunningRouter;
let employees: RunningSubgraph;
let finance: RunningSubgraph;

beforeAll(async () => {
  employees = await startSubgraph(EMPLOYEES, {
    Query: { employee: (_: unknown, { id }: { id: string }) => employee(id) },
    Employee: { __resolveReference: (ref: { id: string }) => employee(ref.id) },
    Department: { __resolveReference: (ref: { id: string }) => ({ id: ref.id, name: `Dept ${ref.id}` }) },
  } as never);
  finance = await startSubgraph(FINANCE, {
    Department: {
      __resolveReference: (ref: { id: string }) => ({ id: ref.id, budget: ref.id === "d0" ? 100 : 200 }),
    },
    Employee: {
      __resolveReference: (ref: { id: string }) => ({ id: ref.id, salary: Number(ref.id) * 1000 }),
      salaryIn: (e: { salary: number }, { currency }: { currency: string }) => `${e.salary} ${currency}`,
    },
  } as never);
  const dir = await tempFiles({
    "events.graphql": EVENTS,
    "employees.graphql": EMPLOYEES,
    "finance.graphql": FINANCE,
    "config.yaml": `listen_addr: 127.0.0.1:0
shutdown_grace_period: 2s
subgraphs:
  - { name: employees, routing_url: "${employees.url}", schema_file: employees.graphql }
  - { name: finance, routing_url: "${finance.url}" }
  - { name: events, schema_file: events.graphql }
events: { providers: { nats: [{ id: default, url: "memory://" }] } }
`,
  });
  router = await startRouterProcess(["--config", `${dir}/config.yaml`]);
});

afterAll(async () => {
  await router?.stop();
  await employees?.stop();
  await finance?.stop();
});

async function publish(id: string): Promise<void> {
  const res = await postGraphql(router.http, {
    query: `mutation { updateEmployee(id: "${id}") { success } }`,
  });
  expect(res.body).toEqual({ data: { updateEmployee: { success: true } } });
}

/** Publishes until every collector has at least `n` values (subscriptions start asynchronously). */
async function publishUntil(id: string, subs: readonly Collected[], n = 1): Promise<void> {
  await vi.waitFor(
    async () => {
      if (subs.every((s) => s.values.length >= n)) return;
      await publish(id);
      throw new Error("waiting");
    },
    { timeout: 8000, interval: 200 },
  );
}

describe("federation", () => {
  it("resolves fields and nested entities from two subgraphs", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const sub = collect(
      client,
      `subscription { employeeUpdated(id: "3") { id name salary department { name budget } } }`,
    );
    await publishUntil("3", [sub]);
    expect(sub.values[0]).toEqual({
      data: {
        employeeUpdated: {
          id: "3",
          name: "Employee 3",
          salary: 3000,
          department: { name: "Dept d1", budget: 200 },
        },
      },
    });
    sub.unsubscribe();
    await client.dispose();
  });

  it("gives errors on a failing event and keeps the stream", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const bad = collect(client, `subscription { anyEmployeeUpdated(ids: ["666", "7"]) { id name } }`);
    await publishUntil("666", [bad]);
    const failed = bad.values[0] as { data: unknown; errors: { message: string }[] };
    expect(failed.errors.map((e) => e.message).join(" ")).toContain("cursed");
    const before = bad.values.length;
    await publish("7");
    await vi.waitFor(() => expect(bad.values.length).toBeGreaterThan(before));
    expect(bad.values.at(-1)).toEqual({ data: { anyEmployeeUpdated: { id: "7", name: "Employee 7" } } });
    expect(bad.errors).toEqual([]);
    bad.unsubscribe();
    await client.dispose();
  });

  it("filters per resolution group", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const odd = collect(client, `subscription { anyEmployeeUpdated(ids: ["11", "13"]) { id } }`);
    const even = collect(client, `subscription { anyEmployeeUpdated(ids: ["12"]) { id } }`);
    await publishUntil("11", [odd]);
    await publishUntil("12", [even]);
    await publish("13");
    await vi.waitFor(() =>
      expect(odd.values.map((v) => JSON.stringify(v))).toContain(
        '{"data":{"anyEmployeeUpdated":{"id":"13"}}}',
      ),
    );
    const oddIds = new Set(
      odd.values.map(
        (v) => (v as { data: { anyEmployeeUpdated: { id: string } } }).data.anyEmployeeUpdated.id,
      ),
    );
    const evenIds = new Set(
      even.values.map(
        (v) => (v as { data: { anyEmployeeUpdated: { id: string } } }).data.anyEmployeeUpdated.id,
      ),
    );
    expect([...oddIds].sort()).toEqual(["11", "13"]);
    expect([...evenIds]).toEqual(["12"]);
    odd.unsubscribe();
    even.unsubscribe();
    await client.dispose();
  });

  it("fetches once per event for 200 subscribers of one operation", async () => {
    const clients = Array.from({ length: 10 }, () => wsClient(`${router.ws}/graphql`));
    const subs = clients.flatMap((c) =>
      Array.from({ length: 20 }, () => collect(c, `subscription { employeeUpdated(id: "21") { id name } }`)),
    );
    await publishUntil("21", subs);
    // Settle, then count exactly one more event.
    await new Promise((r) => setTimeout(r, 300));
    const before = employees.entityRequests();
    const counts = subs.map((s) => s.values.length);
    await publish("21");
    await vi.waitFor(() => expect(subs.every((s, i) => s.values.length === counts[i]! + 1)).toBe(true));
    await new Promise((r) => setTimeout(r, 200));
    expect(employees.entityRequests() - before).toBe(1);
    expect(subs[0]!.values.at(-1)).toEqual({ data: { employeeUpdated: { id: "21", name: "Employee 21" } } });
    for (const s of subs) s.unsubscribe();
    await Promise.all(clients.map((c) => c.dispose()));
  });

  it("merges the fetches of 3 distinct operations on one trigger into one request per subgraph", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const subs = [
      collect(client, `subscription { employeeUpdated(id: "31") { id name } }`),
      collect(client, `subscription { employeeUpdated(id: "31") { name department { id } } }`),
      collect(client, `subscription A { e: employeeUpdated(id: "31") { id } }`),
    ];
    await publishUntil("31", subs);
    await new Promise((r) => setTimeout(r, 300));
    const before = employees.entityRequests();
    const counts = subs.map((s) => s.values.length);
    await publish("31");
    await vi.waitFor(() => expect(subs.every((s, i) => s.values.length === counts[i]! + 1)).toBe(true));
    await new Promise((r) => setTimeout(r, 200));
    expect(employees.entityRequests() - before).toBe(1);
    expect(subs[1]!.values.at(-1)).toEqual({
      data: { employeeUpdated: { name: "Employee 31", department: { id: "d1" } } },
    });
    expect(subs[2]!.values.at(-1)).toEqual({ data: { e: { id: "31" } } });
    for (const s of subs) s.unsubscribe();
    await client.dispose();
  });

  it("serves operations that select one field with different arguments, in one request", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const subs = [
      collect(client, `subscription { employeeUpdated(id: "41") { salaryIn(currency: "EUR") } }`),
      collect(client, `subscription { employeeUpdated(id: "41") { salaryIn(currency: "USD") salary } }`),
    ];
    await publishUntil("41", subs);
    await new Promise((r) => setTimeout(r, 300));
    const before = finance.entityRequests();
    const counts = subs.map((s) => s.values.length);
    await publish("41");
    await vi.waitFor(() => expect(subs.every((s, i) => s.values.length === counts[i]! + 1)).toBe(true));
    await new Promise((r) => setTimeout(r, 200));
    // Merged naively, `salaryIn(currency: "EUR") salaryIn(currency: "USD")` is invalid GraphQL.
    expect(finance.entityRequests() - before).toBe(1);
    expect(subs[0]!.values.at(-1)).toEqual({ data: { employeeUpdated: { salaryIn: "41000 EUR" } } });
    expect(subs[1]!.values.at(-1)).toEqual({
      data: { employeeUpdated: { salaryIn: "41000 USD", salary: 41000 } },
    });
    for (const s of subs) s.unsubscribe();
    await client.dispose();
  });

  it("routes queries to the owning subgraphs, with aliases and nested entities", async () => {
    const res = await postGraphql(router.http, {
      query: `query($a: ID!) { x: employee(id: $a) { name salary department { budget } } y: employee(id: "4") { id } }`,
      variables: { a: "5" },
    });
    expect(res.body).toEqual({
      data: { x: { name: "Employee 5", salary: 5000, department: { budget: 200 } }, y: { id: "4" } },
    });
  });

  it("returns partial data and errors when a subgraph fails a query", async () => {
    const res = await postGraphql(router.http, { query: `{ employee(id: "666") { id } }` });
    expect(res.body.data).toEqual({ employee: null });
    expect(JSON.stringify(res.body.errors)).toContain("cursed");
  });
});
