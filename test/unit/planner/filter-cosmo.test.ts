import { beforeAll, expect, it } from "vitest";
import type { SubgraphConfig } from "../../../src/config/types.js";
import { loadSupergraph, type Supergraph } from "../../../src/schema/supergraph.js";
import { fixtureFilters } from "../../helpers/fixture-filters.js";
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

  it("validates every filter without a problem", () => {
    const filters = fixtureFilters(sg);
    expect(filters.fields).toHaveLength(7);
    expect(filters.problems()).toEqual(filters.fields.map((name) => [name, []]));
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
    expect(fixtureFilters(sg).keeps(name, args, event)).toBe(expected);
  });
});
