import { getNamedType } from "graphql";
import { beforeAll, expect, it } from "vitest";
import type { SubgraphConfig } from "../../../src/config/types.js";
import { compileFilter, fieldTypeResolver } from "../../../src/planner/filter.js";
import { validateFilter } from "../../../src/schema/filter-validate.js";
import type { SubscribeBinding } from "../../../src/schema/model.js";
import { loadSupergraph, type Supergraph } from "../../../src/schema/supergraph.js";
import { COSMO_DEMO_FIXTURE as FIXTURE, describeCosmoDemo } from "../../helpers/fixtures.js";

describeCosmoDemo("the Cosmo demo fixture's filters", () => {
  const EMPLOYEES: SubgraphConfig = {
    name: "employees",
    routing_url: "http://127.0.0.1:1/graphql",
    schema: `extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
      type Employee @key(fields: "id") { id: Int! details: String }
      type Query { employee(id: Int!): Employee }`,
  };
  let sg: Supergraph;
  beforeAll(async () => {
    sg = await loadSupergraph([{ name: "events", schema_file: FIXTURE }, EMPLOYEES]);
  });

  const filterOf = (name: string) => {
    const field = sg.schema.getSubscriptionType()!.getFields()[name]!;
    const binding = sg.bindings.get(`Subscription.${name}`) as SubscribeBinding;
    return { field, returnType: getNamedType(field.type), filter: binding.filter! };
  };

  it("validates every filter without a problem", () => {
    const names = [...sg.bindings]
      .filter(([k, b]) => k.startsWith("Subscription.") && b.kind === "subscribe" && b.filter)
      .map(([k]) => k.slice("Subscription.".length));
    expect(names).toHaveLength(7);
    for (const name of names) {
      const { field, returnType, filter } = filterOf(name);
      expect([name, validateFilter(filter, field, returnType, sg.schema)]).toEqual([name, []]);
    }
  });

  // Arguments as GraphQL coerces them: ID values are strings, Int values numbers.
  it.each([
    ["filteredEmployeeUpdated", { id: 1 }, { id: 2 }, false],
    ["filteredEmployeeUpdated", { id: 1 }, { id: 3 }, true],
    ["filteredEmployeeUpdatedMyKafka", { employeeID: "1" }, { id: 7 }, true],
    ["filteredEmployeeUpdatedMyKafka", { employeeID: "1" }, { id: 2 }, false],
    [
      "filteredEmployeeUpdatedMyKafkaWithListFieldArguments",
      { firstIds: ["1", "2"], secondIds: ["3"] },
      { id: 3 },
      true,
    ],
    [
      "filteredEmployeeUpdatedMyKafkaWithListFieldArguments",
      { firstIds: ["1", "2"], secondIds: ["3"] },
      { id: 4 },
      false,
    ],
    [
      "filteredEmployeeUpdatedMyKafkaWithNestedListFieldArgument",
      { input: { ids: [2, 5] } },
      { id: 5 },
      true,
    ],
    [
      "filteredEmployeeUpdatedMyKafkaWithNestedListFieldArgument",
      { input: { ids: [2, 5] } },
      { id: 1 },
      true,
    ],
    [
      "filteredEmployeeUpdatedMyKafkaWithNestedListFieldArgument",
      { input: { ids: [2, 5] } },
      { id: 3 },
      false,
    ],
    ["filteredEmployeeUpdatedMyRedis", { ids: ["5"] }, { id: 5 }, true],
    [
      "filteredEmployeeEventUnionMyKafka",
      { tag: "a" },
      { __typename: "EmployeeDeleted", id: 1, tag: "a" },
      true,
    ],
    [
      "filteredEmployeeEventUnionMyKafka",
      { tag: "a" },
      { __typename: "EmployeeUpdated", id: 1, tag: "b" },
      false,
    ],
    [
      "filteredEmployeeChangeInterfaceMyKafka",
      { tag: "a" },
      { __typename: "EmployeeRemoved", id: 1, tag: "a" },
      true,
    ],
  ] as const)("%s(%j) on %j → %s", (name, args, event, expected) => {
    const { returnType, filter } = filterOf(name);
    const pred = compileFilter(filter, { args }, fieldTypeResolver(sg.schema, returnType.name));
    expect(pred({ __typename: returnType.name, ...event })).toBe(expected);
  });
});
