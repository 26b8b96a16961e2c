import { getNamedType, isInterfaceType, isUnionType, printType } from "graphql";
import { describe, expect, it } from "vitest";
import type { SubgraphConfig } from "../../../src/config/types.js";
import type { SubscribeBinding } from "../../../src/schema/model.js";
import { loadSupergraph, type Supergraph } from "../../../src/schema/supergraph.js";
import { COSMO_DEMO_FIXTURE as FIXTURE, describeCosmoDemo } from "../../helpers/fixtures.js";

const LINK = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])`;
const EMPLOYEES: SubgraphConfig = {
  name: "employees",
  routing_url: "http://127.0.0.1:1/graphql",
  schema: `${LINK}
    type Employee @key(fields: "id") { id: Int! details: Details }
    type Details { forename: String! }
    type Query { employee(id: Int!): Employee }`,
};

const events = (schema: string): SubgraphConfig => ({ name: "events", schema });

describeCosmoDemo("loadSupergraph: the Cosmo demo fixture", () => {
  let sg: Supergraph;
  const load = async (): Promise<Supergraph> => {
    sg ??= await loadSupergraph([{ name: "events", schema_file: FIXTURE }, EMPLOYEES]);
    return sg;
  };

  it("loads with every root field bound", async () => {
    const s = await load();
    expect(s.bindings.size).toBe(19);
    expect([...s.bindings.keys()].filter((k) => k.startsWith("Query."))).toEqual([
      "Query.employeeFromEvent",
      "Query.employeeFromEventMyNats",
    ]);
    expect([...s.bindings.keys()].filter((k) => k.startsWith("Mutation.")).length).toBe(4);
    expect([...s.bindings.keys()].filter((k) => k.startsWith("Subscription.")).length).toBe(13);
    expect(s.subgraphs.map((g) => [g.name, g.eventDriven, g.routingUrl])).toEqual([
      ["events", true, undefined],
      ["employees", false, "http://127.0.0.1:1/graphql"],
    ]);
    expect([...s.rootOwners]).toEqual([["Query.employee", "employees"]]);
    expect(s.eventKeys.get("Employee")).toEqual([["id"]]);
    expect(s.eventKeys.get("EmployeeUpdated")).toEqual([["id", "tag"]]);
  });

  it("reads NATS, Kafka and Redis subscribe bindings", async () => {
    const s = await load();
    const sub = (f: string) => s.bindings.get(`Subscription.${f}`) as SubscribeBinding;
    const sources = (f: string) => sub(f).topics.map((t) => t.source);

    expect(sub("employeeUpdated")).toMatchObject({
      kind: "subscribe",
      provider: "nats",
      providerId: "default",
    });
    expect(sub("employeeUpdated").topics[0]?.parts).toEqual([
      { kind: "text", text: "employeeUpdated." },
      { kind: "arg", path: ["employeeID"] },
    ]);
    expect(sub("employeeUpdated").streamConfiguration).toBeUndefined();
    expect(sub("employeeUpdated").filter).toBeUndefined();

    expect(sub("employeeUpdatedMyNats").providerId).toBe("my-nats");
    expect(sources("employeeUpdatedMyNats")).toEqual([
      "employeeUpdatedMyNats.{{ args.id }}",
      "employeeUpdatedMyNatsTwo.{{ args.id }}",
    ]);

    expect(sub("employeeUpdatedMyKafka")).toMatchObject({ provider: "kafka", providerId: "my-kafka" });
    expect(sources("employeeUpdatedMyKafka")).toEqual(["employeeUpdated", "employeeUpdatedTwo"]);
    expect(sub("employeeUpdatedMyKafka").topics.every((t) => t.isStatic)).toBe(true);

    expect(sub("employeeUpdates")).toMatchObject({ provider: "redis", providerId: "my-redis" });
    expect(sources("employeeUpdates")).toEqual(["employeeUpdatedMyRedis"]);
  });

  it("reads the JetStream configuration with its default threshold", async () => {
    const b = (await load()).bindings.get("Subscription.employeeUpdatedNatsStream") as SubscribeBinding;
    expect(b.provider).toBe("nats");
    expect(b.streamConfiguration).toEqual({
      consumerName: "consumerName",
      streamName: "streamName",
      consumerInactiveThreshold: 30,
    });
  });

  it("reads filters as plain objects", async () => {
    const s = await load();
    const filter = (f: string) => (s.bindings.get(`Subscription.${f}`) as SubscribeBinding).filter;
    expect(filter("filteredEmployeeUpdated")).toEqual({
      NOT: { IN: { fieldPath: "id", values: [2, 6, 9, 10, 12] } },
    });
    expect(filter("filteredEmployeeUpdatedMyKafkaWithListFieldArguments")).toEqual({
      IN: { fieldPath: "id", values: ["{{ args.firstIds }}", "{{ args.secondIds }}"] },
    });
    expect(filter("filteredEmployeeUpdatedMyKafkaWithNestedListFieldArgument")).toEqual({
      OR: [
        { IN: { fieldPath: "id", values: ["{{ args.input.ids }}"] } },
        { IN: { fieldPath: "id", values: ["1"] } },
      ],
    });
  });

  it("reads publish and request bindings", async () => {
    const s = await load();
    expect(s.bindings.get("Mutation.updateEmployeeMyRedisOnCustomChannel")).toMatchObject({
      kind: "publish",
      provider: "redis",
      providerId: "my-redis",
      topic: { source: "employeeUpdatedMyRedis.{{ args.id }}", isStatic: false },
    });
    expect(s.bindings.get("Query.employeeFromEventMyNats")).toMatchObject({
      kind: "request",
      provider: "nats",
      providerId: "my-nats",
      subject: { source: "getEmployeeMyNats.{{ args.employeeID }}" },
    });
  });

  it("builds a public schema with the union, interface and owned fields, without EDFS artefacts", async () => {
    const { schema } = await load();
    const subs = schema.getSubscriptionType()!.getFields();
    expect(Object.keys(subs)).toHaveLength(13);
    expect(String(subs.filteredEmployeeEventUnionMyKafka?.type)).toBe("EmployeeEvent!");
    const union = getNamedType(subs.filteredEmployeeEventUnionMyKafka!.type);
    expect(isUnionType(union) && union.getTypes().map((t) => t.name)).toEqual([
      "EmployeeUpdated",
      "EmployeeDeleted",
    ]);
    const iface = getNamedType(subs.filteredEmployeeChangeInterfaceMyKafka!.type);
    expect(isInterfaceType(iface) && schema.getPossibleTypes(iface).map((t) => t.name)).toEqual([
      "EmployeeChanged",
      "EmployeeRemoved",
    ]);
    expect(printType(schema.getType("Employee")!)).toBe("type Employee {\n  id: Int!\n  details: Details\n}");
    expect(String(schema.getMutationType()!.getFields().updateEmployeeMyKafka?.type)).toBe(
      "edfs__PublishResult!",
    );
    expect(Object.keys(schema.getQueryType()!.getFields()).sort()).toEqual([
      "employee",
      "employeeFromEvent",
      "employeeFromEventMyNats",
    ]);
    for (const name of [
      "openfed__SubscriptionFilterCondition",
      "edfs__NatsStreamConfiguration",
      "_Service",
    ]) {
      expect(schema.getType(name)).toBeUndefined();
    }
  });
});

const MINIMAL = `
  type Subscription {
    employeeUpdated(id: Int!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"])
  }
  type Mutation {
    updateEmployee(id: Int!): edfs__PublishResult! @edfs__natsPublish(subject: "employeeUpdated.{{ args.id }}")
  }
  type Employee @key(fields: "id", resolvable: false) { id: Int! @external }`;

describe("loadSupergraph: event-driven subgraphs without directive definitions", () => {
  it("loads, the router adding the definitions and the federation @link", async () => {
    const s = await loadSupergraph([events(MINIMAL), EMPLOYEES]);
    expect([...s.bindings.keys()]).toEqual(["Subscription.employeeUpdated", "Mutation.updateEmployee"]);
    expect(s.bindings.get("Subscription.employeeUpdated")).toMatchObject({
      provider: "nats",
      providerId: "default",
    });
    expect(String(s.schema.getMutationType()?.getFields().updateEmployee?.type)).toBe("edfs__PublishResult!");
    expect(s.eventKeys.get("Employee")).toEqual([["id"]]);
  });

  it("loads with a subscription-only SDL that links federation importing only @key", async () => {
    const sdl = `${LINK}
      type Subscription { e(id: Int!): Employee! @edfs__natsSubscribe(subjects: ["e.{{ args.id }}"]) }
      type Employee @key(fields: "id", resolvable: false) { id: Int! @external }`;
    expect((await loadSupergraph([events(sdl), EMPLOYEES])).bindings.size).toBe(1);
  });

  // BUG (src/schema/normalize.ts:57/61): the re-added `type edfs__PublishResult @shareable` uses
  // @shareable unqualified, so a subgraph whose own @link imports only ["@key"] fails composition
  // with 'Unknown directive "@shareable"' although the user never wrote @shareable.
  it("loads a publish field when the SDL's own @link imports only @key", async () => {
    const s = await loadSupergraph([events(`${LINK}\n${MINIMAL}`), EMPLOYEES]);
    expect(s.bindings.size).toBe(2);
  });
});
