/**
 * Contract check: the Cosmo router demo's event-driven subgraph, unchanged, next to an ordinary
 * subgraph that owns Employee.details. Kafka and Redis run on the embedded broker here (their
 * real brokers have their own e2e files); NATS is a real nats-server. The fixture lives in the
 * specification's shared/ folder: where it is absent the suite is skipped, and
 * test/e2e/parcels-fixture.test.ts runs the same shapes on the repo's own fixture.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { collect, postGraphql, wsClient } from "../helpers/clients.js";
import { type FixtureStack, startFixtureStack, until } from "../helpers/fixture-router.js";
import { COSMO_DEMO_FIXTURE as FIXTURE, describeCosmoDemo } from "../helpers/fixtures.js";

const EMPLOYEES = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
type Employee @key(fields: "id") { id: Int! details: Details }
type Details { forename: String! surname: String! }
type Query { employee(id: Int!): Employee }
`;
const details = (id: number) => ({ forename: `F${id}`, surname: `S${id}` });

describeCosmoDemo("the Cosmo demo event-driven subgraph, unchanged", () => {
  let stack: FixtureStack;
  let router: FixtureStack["router"];
  let nc: FixtureStack["nc"];
  let mutate: FixtureStack["mutate"];
  beforeAll(async () => {
    stack = await startFixtureStack({
      eventsSchemaFile: FIXTURE,
      entitySdl: EMPLOYEES,
      resolvers: {
        Employee: { __resolveReference: (r: { id: number }) => ({ id: r.id, details: details(r.id) }) },
        Query: { employee: (_: unknown, a: { id: number }) => ({ id: a.id, details: details(a.id) }) },
      },
      responders: ["getEmployee.*", "getEmployeeMyNats.*"].map((subject) => ({
        subject,
        typename: "Employee",
        key: "id",
      })),
      natsIds: ["default", "my-nats"],
      kafkaId: "my-kafka",
      redisId: "my-redis",
    });
    ({ router, nc, mutate } = stack);
  });
  afterAll(() => stack?.stop());

  it("uses the fixture file as is", () => {
    expect(readFileSync(FIXTURE, "utf8")).toContain("@edfs__natsSubscribe");
  });

  it("starts and is ready with all four provider ids", async () => {
    const r = await fetch(`${router.http}/health/ready`);
    expect(r.status).toBe(200);
  });

  it("serves a NATS subscription with fields from the ordinary subgraph", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const sub = collect(
      client,
      "subscription { employeeUpdated(employeeID: 1) { id details { forename } } }",
    );
    await until([sub], () =>
      nc.publish("employeeUpdated.1", JSON.stringify({ __typename: "Employee", id: 1 })),
    );
    expect(sub.values[0]).toEqual({ data: { employeeUpdated: { id: 1, details: { forename: "F1" } } } });
    await client.dispose();
  });

  it("listens on both subjects of a two-subject field on provider my-nats", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const sub = collect(client, "subscription { employeeUpdatedMyNats(id: 4) { id details { surname } } }");
    await until([sub], () => nc.publish("employeeUpdatedMyNatsTwo.4", JSON.stringify({ id: 4 })));
    await until([sub], () => nc.publish("employeeUpdatedMyNats.4", JSON.stringify({ id: 4 })), 2);
    expect(sub.values.at(-1)).toEqual({
      data: { employeeUpdatedMyNats: { id: 4, details: { surname: "S4" } } },
    });
    await client.dispose();
  });

  it("applies NOT/IN filters with Int keys", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const two = collect(client, "subscription { filteredEmployeeUpdated(id: 2) { id } }");
    const three = collect(client, "subscription { filteredEmployeeUpdated(id: 3) { id } }");
    await until([three], () => nc.publish("employeeUpdated.3", JSON.stringify({ id: 3 })));
    nc.publish("employeeUpdated.2", JSON.stringify({ id: 2 }));
    nc.publish("employeeUpdated.3", JSON.stringify({ id: 3 }));
    await vi.waitFor(() => expect(three.values.length).toBeGreaterThanOrEqual(2));
    await new Promise((r) => setTimeout(r, 200));
    expect(two.values).toEqual([]); // id 2 is in the NOT list
    await client.dispose();
  });

  it("publishes through a Redis mutation and filters a list argument of IDs against Int ids", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const sub = collect(
      client,
      'subscription { filteredEmployeeUpdatedMyRedis(ids: ["1", "3"]) { id details { forename } } }',
    );
    await until([sub], () =>
      mutate('mutation { updateEmployeeMyRedis(id: 1, update: { name: "x" }) { success } }'),
    );
    await mutate('mutation { updateEmployeeMyRedis(id: 2, update: { name: "x" }) { success } }');
    await mutate('mutation { updateEmployeeMyRedis(id: 3, update: { name: "x" }) { success } }');
    await vi.waitFor(() =>
      expect(sub.values.map((v) => JSON.stringify(v))).toContain(
        '{"data":{"filteredEmployeeUpdatedMyRedis":{"id":3,"details":{"forename":"F3"}}}}',
      ),
    );
    const ids = sub.values.map(
      (v) =>
        (v as { data: { filteredEmployeeUpdatedMyRedis: { id: number } } }).data
          .filteredEmployeeUpdatedMyRedis.id,
    );
    expect(ids).not.toContain(2);
    await client.dispose();
  });

  it("answers NATS request/reply queries, resolving entity fields", async () => {
    const res = await postGraphql(router.http, {
      query:
        "{ employeeFromEvent(id: 5) { id details { forename } } employeeFromEventMyNats(employeeID: 6) { id } }",
    });
    expect(res.body).toEqual({
      data: { employeeFromEvent: { id: 5, details: { forename: "F5" } }, employeeFromEventMyNats: { id: 6 } },
    });
  });

  it("subscribes union and interface fields; events without __typename are reported, streams stay open", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const union = collect(
      client,
      'subscription { filteredEmployeeEventUnionMyKafka(tag: "x") { __typename ... on EmployeeUpdated { id tag } } }',
    );
    const iface = collect(
      client,
      'subscription { filteredEmployeeChangeInterfaceMyKafka(tag: "x") { __typename id } }',
    );
    // The demo's Kafka mutation publishes its arguments, which lack __typename: the union field
    // reports that on its stream and stays open.
    await until([union, iface], () =>
      mutate('mutation { updateEmployeeMyKafka(employeeID: 1, update: { name: "x" }) { success } }'),
    );
    expect(JSON.stringify(union.values[0])).toContain("SG_ERR_EVENT_INVALID");
    expect(JSON.stringify(iface.values[0])).toContain("SG_ERR_EVENT_INVALID");
    expect(union.errors).toEqual([]);
    expect(iface.errors).toEqual([]);
    await client.dispose();
  });
});
