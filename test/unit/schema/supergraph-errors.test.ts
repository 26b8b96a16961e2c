import { describe, expect, it } from "vitest";
import type { SubgraphConfig } from "../../../src/config/types.js";
import { ErrorCode, StreamgateAggregateError } from "../../../src/errors.js";
import { loadSupergraph } from "../../../src/schema/supergraph.js";

const EMPLOYEES: SubgraphConfig = {
  name: "employees",
  routing_url: "http://127.0.0.1:1/graphql",
  schema: `extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
    type Employee @key(fields: "id") { id: Int! details: Details }
    type Details { forename: String! }
    type Query { employee(id: Int!): Employee }`,
};

async function loadError(configs: readonly SubgraphConfig[]): Promise<StreamgateAggregateError> {
  const err = await loadSupergraph(configs).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StreamgateAggregateError);
  return err as StreamgateAggregateError;
}

const events = (schema: string): SubgraphConfig => ({ name: "events", schema });

const ENTITY = `type Employee @key(fields: "id", resolvable: false) { id: ID! @external }`;
const SUB = `type Subscription { ok(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["e.{{ args.id }}"]) }`;

describe("loadSupergraph: invalid event-driven subgraphs", () => {
  it.each([
    [
      "resolvable key",
      `${SUB} type Employee @key(fields: "id") { id: ID! @external }`,
      'subgraph events: type Employee: @key(fields: "id") must set resolvable: false',
    ],
    [
      "non-key field on an entity",
      `${SUB} type Employee @key(fields: "id", resolvable: false) { id: ID! @external name: String }`,
      "subgraph events: Employee.name: an event-driven entity holds only key fields",
    ],
    [
      "non-entity object type",
      `${SUB} ${ENTITY} type Details { x: String }`,
      "subgraph events: type Details: an event-driven subgraph holds only entities (add @key)",
    ],
    [
      "Subscription field without directive",
      `type Subscription { bare: Employee! } ${ENTITY}`,
      "subgraph events: Subscription.bare: needs a subscribe directive",
    ],
    [
      "two subscribe directives",
      `type Subscription { two: Employee! @edfs__natsSubscribe(subjects: ["a"]) @edfs__kafkaSubscribe(topics: ["b"]) } ${ENTITY}`,
      "subgraph events: Subscription.two: has 2 EDFS directives; exactly one is allowed",
    ],
    [
      "list return",
      `type Subscription { l: [Employee!]! @edfs__natsSubscribe(subjects: ["a"]) } ${ENTITY}`,
      "subgraph events: Subscription.l: must return a non-null, non-list entity type",
    ],
    [
      "nullable return",
      `type Subscription { n: Employee @edfs__natsSubscribe(subjects: ["a"]) } ${ENTITY}`,
      "subgraph events: Subscription.n: must return a non-null, non-list entity type",
    ],
    [
      "scalar return",
      `type Subscription { s: String! @edfs__natsSubscribe(subjects: ["a"]) } ${ENTITY}`,
      "subgraph events: Subscription.s: must return an entity, an interface an entity implements, or a union holding one",
    ],
    [
      "publish field not returning edfs__PublishResult!",
      `${SUB} ${ENTITY} type Mutation { p(id: ID!): Boolean! @edfs__natsPublish(subject: "e.{{ args.id }}") }`,
      "subgraph events: Mutation.p: a publish field must return edfs__PublishResult!",
    ],
    [
      "nullable edfs__PublishResult",
      `${SUB} ${ENTITY} type Mutation { p: edfs__PublishResult @edfs__natsPublish(subject: "e") }`,
      "subgraph events: Mutation.p: a publish field must return edfs__PublishResult!",
    ],
    [
      "Query field without @edfs__natsRequest",
      `${SUB} ${ENTITY} type Query { q: Employee! }`,
      "subgraph events: Query.q: needs @edfs__natsRequest directive",
    ],
    [
      "subscribe directive on a Mutation field",
      `${SUB} ${ENTITY} type Mutation { m: edfs__PublishResult! @edfs__natsSubscribe(subjects: ["a"]) }`,
      "subgraph events: Mutation.m: @edfs__natsSubscribe is only allowed on Subscription fields",
    ],
    [
      "template naming a missing argument",
      `type Subscription { t(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["e.{{ args.ident }}"]) } ${ENTITY}`,
      'subgraph events: Subscription.t: template "e.{{ args.ident }}" names argument "ident", which t does not have',
    ],
    [
      "template path not ending on a leaf",
      `type Subscription { t(in: In!): Employee! @edfs__natsSubscribe(subjects: ["e.{{ args.in }}"]) }
       input In { id: ID! } ${ENTITY}`,
      'subgraph events: Subscription.t: template "e.{{ args.in }}": args.in must end on a scalar or enum',
    ],
    [
      "template path naming a missing input field",
      `type Subscription { t(in: In!): Employee! @edfs__natsSubscribe(subjects: ["e.{{ args.in.nope }}"]) }
       input In { id: ID! } ${ENTITY}`,
      'subgraph events: Subscription.t: template "e.{{ args.in.nope }}": "nope" is not a field of In',
    ],
    [
      "filter on a Mutation field",
      `${SUB} ${ENTITY} type Mutation { m: edfs__PublishResult! @edfs__natsPublish(subject: "a")
         @openfed__subscriptionFilter(condition: { IN: { fieldPath: "id", values: [1] } }) }`,
      "subgraph events: Mutation.m: @openfed__subscriptionFilter is only allowed on Subscription fields",
    ],
    [
      "unparsable template",
      `type Subscription { t: Employee! @edfs__natsSubscribe(subjects: ["e.{{ id }}"]) } ${ENTITY}`,
      'subgraph events: Subscription.t (subjects): template "e.{{ id }}"',
    ],
  ])("%s", async (_name, sdl, problem) => {
    const err = await loadError([events(sdl)]);
    expect(err.code).toBe(ErrorCode.SCHEMA_EDFS);
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toContain(problem);
    expect(err.message).toContain(`  - ${err.problems[0]}`);
  });

  it("lists several problems at once", async () => {
    const err = await loadError([
      events(`
        type Subscription {
          bare: Employee!
          l: [Employee!]! @edfs__natsSubscribe(subjects: ["a"])
        }
        type Employee @key(fields: "id") { id: ID! name: String }
        type Mutation { p: Boolean! @edfs__natsPublish(subject: "p") }`),
      EMPLOYEES,
    ]);
    expect(err.code).toBe("SG_ERR_SCHEMA_EDFS");
    expect([...err.problems].sort()).toEqual(
      [
        'subgraph events: type Employee: @key(fields: "id") must set resolvable: false',
        "subgraph events: Employee.name: an event-driven entity holds only key fields",
        "subgraph events: Subscription.bare: needs a subscribe directive",
        "subgraph events: Subscription.l: must return a non-null, non-list entity type",
        "subgraph events: Mutation.p: a publish field must return edfs__PublishResult!",
      ].sort(),
    );
  });

  it("reports a field bound by two event-driven subgraphs", async () => {
    const err = await loadError([
      events(`${SUB} ${ENTITY}`),
      { name: "events2", schema: `${SUB} ${ENTITY}` },
    ]);
    expect(err.problems).toEqual([
      "subgraph events2: Subscription.ok is bound by another event-driven subgraph too",
    ]);
  });
});

describe("loadSupergraph: other failures", () => {
  it("a composition error between ordinary subgraphs gives SCHEMA_COMPOSITION", async () => {
    const link = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@shareable"])`;
    const err = await loadError([
      {
        name: "a",
        routing_url: "http://127.0.0.1:1/a",
        schema: `${link} type Query { a: Thing } type Thing @shareable { x: String }`,
      },
      {
        name: "b",
        routing_url: "http://127.0.0.1:1/b",
        schema: `${link} type Query { b: Thing } type Thing @shareable { x: Int }`,
      },
    ]);
    expect(err.code).toBe(ErrorCode.SCHEMA_COMPOSITION);
    expect(err.code).toBe("SG_ERR_SCHEMA_COMPOSITION");
    expect(err.problems.length).toBeGreaterThanOrEqual(1);
    expect(err.problems.join("\n")).toContain("Thing.x");
    expect(err.message.startsWith("composition failed\n")).toBe(true);
  });

  it("unparsable SDL names the subgraph (and its file)", async () => {
    const err = await loadError([{ name: "broken", schema: "type Query {" }, EMPLOYEES]);
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^subgraph broken: Syntax Error: /);

    const missing = "/nonexistent/dir/events.graphqls";
    const fileErr = await loadError([{ name: "ev", schema_file: missing }]);
    expect(fileErr.problems[0]).toMatch(/^subgraph ev \(\/nonexistent\/dir\/events\.graphqls\): ENOENT/);
  });

  it("no subgraphs at all is a problem", async () => {
    expect((await loadError([])).problems).toEqual(["no subgraphs configured"]);
  });
});
