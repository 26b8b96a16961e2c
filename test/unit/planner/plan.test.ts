import { beforeAll, describe, expect, it } from "vitest";
import { loadJit } from "../../../src/planner/jit.js";
import { type Plan, type PlanResult, Planner, type SubscriptionPlan } from "../../../src/planner/plan.js";
import { loadSupergraph, type Supergraph } from "../../../src/schema/supergraph.js";

// Planning needs graphql-jit, which the engine loads at its first operation.
beforeAll(loadJit);

const SDL = `
  type Query {
    employeeFromEvent(id: ID!): Employee! @edfs__natsRequest(subject: "getEmployee.{{ args.id }}")
  }
  type Mutation {
    updateEmployee(id: ID!, name: String): edfs__PublishResult!
      @edfs__natsPublish(subject: "employeeUpdated.{{ args.id }}")
  }
  type Subscription {
    employeeUpdated(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"])
    teamChanged(ids: [ID!]!): Change!
      @edfs__kafkaSubscribe(topics: ["teams"], providerId: "k")
      @openfed__subscriptionFilter(condition: { IN: { fieldPath: "id", values: ["{{ args.ids }}"] } })
  }
  type Employee @key(fields: "id", resolvable: false) { id: ID! @external }
  type Team @key(fields: "id", resolvable: false) { id: ID! @external }
  union Change = Employee | Team
`;

let sg: Supergraph;
let planner: Planner;
beforeAll(async () => {
  sg = await loadSupergraph([{ name: "events", schema: SDL }]);
  planner = new Planner(sg.schema, sg.bindings);
});

function ok(result: PlanResult): Plan {
  if (!result.ok) throw new Error(`expected a plan, got ${JSON.stringify(result.errors)}`);
  return result.plan;
}
function sub(result: PlanResult): SubscriptionPlan {
  const plan = ok(result);
  expect(plan.kind).toBe("subscription");
  return plan as SubscriptionPlan;
}
function errors(result: PlanResult) {
  if (result.ok) throw new Error("expected errors, got a plan");
  return result.errors;
}

describe("Planner: subscriptions", () => {
  it("plans a subscription with its root field, binding and single type", () => {
    const plan = sub(planner.plan('subscription { employeeUpdated(id: "7") { id } }'));
    expect(plan.fieldName).toBe("employeeUpdated");
    expect(plan.fieldNode.name.value).toBe("employeeUpdated");
    expect(plan.binding).toBe(sg.bindings.get("Subscription.employeeUpdated"));
    expect(plan.binding.provider).toBe("nats");
    expect(plan.binding.topics.map((t) => t.source)).toEqual(["employeeUpdated.{{ args.id }}"]);
    expect(plan.singleTypeName).toBe("Employee");
    expect(plan.operation.operation).toBe("subscription");
  });

  it("uses the schema field name behind an alias", () => {
    const plan = sub(planner.plan("subscription S($id: ID!) { who: employeeUpdated(id: $id) { key: id } }"));
    expect(plan.fieldName).toBe("employeeUpdated");
    expect(plan.fieldNode.alias?.value).toBe("who");
  });

  it("finds the root field behind fragments", () => {
    const plan = sub(
      planner.plan(`subscription { ...F }
        fragment F on Subscription { ... on Subscription { t: teamChanged(ids: ["1"]) { __typename } } }`),
    );
    expect(plan.fieldName).toBe("teamChanged");
    expect(plan.binding.providerId).toBe("k");
    expect(plan.binding.filter).toEqual({ IN: { fieldPath: "id", values: ["{{ args.ids }}"] } });
    // A union has no single type: events must carry __typename themselves.
    expect(plan.singleTypeName).toBeUndefined();
    expect("singleTypeName" in plan).toBe(false);
  });

  it("returns the same cached result for the same document and operation name", () => {
    const p = new Planner(sg.schema, sg.bindings);
    const q = 'subscription { employeeUpdated(id: "1") { id } }';
    const first = p.plan(q);
    expect(p.plan(q)).toBe(first);
    expect(p.plan(q, null)).toBe(first);
    expect(p.cachedPlans).toBe(1);
    const bad = p.plan("{ nope }");
    expect(p.plan("{ nope }")).toBe(bad);
    expect(p.cachedPlans).toBe(2);
    // A different text is a different plan, even when equivalent.
    expect(p.plan(`${q} `)).not.toBe(first);
    expect(p.cachedPlans).toBe(3);
  });

  it("evicts the least recently used plan past cacheSize", () => {
    const p = new Planner(sg.schema, sg.bindings, { cacheSize: 2 });
    const a = p.plan("{ __typename }");
    const b = p.plan("query B { __typename }");
    expect(p.plan("{ __typename }")).toBe(a);
    p.plan("query C { __typename }");
    expect(p.cachedPlans).toBe(2);
    expect(p.plan("{ __typename }")).toBe(a);
    expect(p.plan("query B { __typename }")).not.toBe(b);
  });

  it("the compiled plan shapes an event, aliases and __typename included", async () => {
    const plan = sub(
      planner.plan(`subscription S($id: ID!) {
        who: employeeUpdated(id: $id) { __typename key: id id }
      }`),
    );
    const result = await plan.compiled.query(
      { employeeUpdated: { __typename: "Employee", id: "7", extra: "ignored" } },
      {},
      { id: "7" },
    );
    expect(result).toEqual({ data: { who: { __typename: "Employee", key: "7", id: "7" } } });
    expect(JSON.stringify(result)).toBe('{"data":{"who":{"__typename":"Employee","key":"7","id":"7"}}}');
  });

  it("the compiled plan resolves a union member from the event's __typename", async () => {
    const plan = sub(
      planner.plan(`subscription { teamChanged(ids: ["1"]) {
        __typename ... on Team { teamId: id } ... on Employee { employeeId: id } } }`),
    );
    expect(await plan.compiled.query({ teamChanged: { __typename: "Team", id: 3 } }, {}, {})).toEqual({
      data: { teamChanged: { __typename: "Team", teamId: "3" } },
    });
  });
});

describe("Planner: queries and mutations", () => {
  it.each([
    ['{ employeeFromEvent(id: "1") { id } }', "query"],
    ['mutation { updateEmployee(id: "1", name: "x") { success } }', "mutation"],
  ] as const)("plans %s as %s", (q, kind) => {
    const plan = ok(planner.plan(q));
    expect(plan.kind).toBe(kind);
    expect("fieldName" in plan).toBe(false);
  });
});

describe("Planner: client errors", () => {
  it("reports unknown fields with locations", () => {
    expect(errors(planner.plan('subscription {\n  employeeUpdated(id: "1") { id nope }\n}'))).toEqual([
      {
        message: 'Cannot query field "nope" on type "Employee".',
        locations: [{ line: 2, column: 33 }],
        extensions: { code: "GRAPHQL_VALIDATION_FAILED" },
      },
    ]);
  });

  it("reports every validation error", () => {
    const errs = errors(planner.plan("subscription { employeeUpdated { id x } }"));
    expect(errs.map((e) => e.message)).toEqual([
      'Cannot query field "x" on type "Employee".',
      'Field "employeeUpdated" argument "id" of type "ID!" is required, but it was not provided.',
    ]);
    expect(errs.every((e) => e.extensions?.code === "GRAPHQL_VALIDATION_FAILED")).toBe(true);
  });

  it("rejects a subscription selecting two root fields", () => {
    const errs = errors(
      planner.plan('subscription { employeeUpdated(id: "1") { id } teamChanged(ids: []) { __typename } }'),
    );
    expect(errs).toHaveLength(1);
    expect(errs[0]?.message).toBe("Anonymous Subscription must select only one top level field.");
  });

  it.each([
    ["subscription {", "Syntax Error: Expected Name, found <EOF>.", { line: 1, column: 15 }],
    ["{ a(: 1) }", 'Syntax Error: Expected Name, found ":".', { line: 1, column: 5 }],
    ["query Q {\n  }", 'Syntax Error: Expected Name, found "}".', { line: 2, column: 3 }],
  ])("reports a syntax error for %j", (q, message, location) => {
    expect(errors(planner.plan(q))).toEqual([
      { message, locations: [location], extensions: { code: "GRAPHQL_VALIDATION_FAILED" } },
    ]);
  });

  const TWO_OPS = `
    query A { employeeFromEvent(id: "1") { id } }
    subscription B { employeeUpdated(id: "2") { id } }`;

  it("selects the named operation", () => {
    const b = sub(planner.plan(TWO_OPS, "B"));
    expect(b.operation.name?.value).toBe("B");
    expect(b.fieldName).toBe("employeeUpdated");
    const a = ok(planner.plan(TWO_OPS, "A"));
    expect(a.kind).toBe("query");
    expect(a.operation.name?.value).toBe("A");
  });

  it("needs an operationName when there are several, and rejects an unknown one", () => {
    expect(errors(planner.plan(TWO_OPS))).toEqual([
      { message: "operationName is required", extensions: { code: "BAD_REQUEST" } },
    ]);
    expect(errors(planner.plan(TWO_OPS, "C"))).toEqual([
      { message: 'unknown operation "C"', extensions: { code: "BAD_REQUEST" } },
    ]);
  });

  it("rejects a document over maxDocumentSize before parsing", () => {
    const p = new Planner(sg.schema, sg.bindings, { maxDocumentSize: 40 });
    const q = 'subscription { employeeUpdated(id: "1") { id } }';
    expect(q.length).toBeGreaterThan(40);
    expect(errors(p.plan(q))).toEqual([
      {
        message: "operation is larger than 40 characters",
        extensions: { code: "SG_ERR_LIMIT_EXCEEDED", limit: "max_message_size" },
      },
    ]);
    expect(ok(p.plan("{ __typename }")).kind).toBe("query");
    // Exactly at the limit is accepted.
    const atLimit = `{ __typename }${" ".repeat(26)}`;
    expect(atLimit.length).toBe(40);
    expect(ok(p.plan(atLimit)).kind).toBe("query");
  });

  it("rejects a document with too many tokens", () => {
    const q = `{ ${"__typename ".repeat(10_001)}}`;
    const errs = errors(new Planner(sg.schema, sg.bindings, { maxDocumentSize: 1_000_000 }).plan(q));
    expect(errs).toHaveLength(1);
    expect(errs[0]?.message).toBe("Syntax Error: Document contains more that 10000 tokens. Parsing aborted.");
  });

  it("never throws on client input", () => {
    for (const q of ["", " ", "}", "fragment F on Nope { a }", "subscription { __typename }"]) {
      expect(() => planner.plan(q)).not.toThrow();
      expect(planner.plan(q).ok).toBe(false);
    }
  });
});
