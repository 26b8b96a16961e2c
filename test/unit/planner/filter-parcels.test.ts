import { beforeAll, describe, expect, it } from "vitest";
import { loadSupergraph, type Supergraph } from "../../../src/schema/supergraph.js";
import { fixtureFilters } from "../../helpers/fixture-filters.js";
import { PARCELS_FIXTURE } from "../../helpers/fixtures.js";

describe("the parcels fixture's filters", () => {
  let sg: Supergraph;
  beforeAll(async () => {
    sg = await loadSupergraph([
      { name: "events", schema_file: PARCELS_FIXTURE },
      {
        name: "parcels",
        routing_url: "http://127.0.0.1:1/graphql",
        schema: `extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
          type Parcel @key(fields: "no") { no: Int! label: String }
          type Query { parcel(no: Int!): Parcel }`,
      },
    ]);
  });

  it("validates every filter without a problem", () => {
    const filters = fixtureFilters(sg);
    expect(filters.fields).toHaveLength(7);
    expect(filters.problems()).toEqual(filters.fields.map((name) => [name, []]));
  });

  // Arguments as GraphQL coerces them: ID values are strings, Int values numbers.
  it.each([
    ["parcelScannedUnlessHeld", { no: 1 }, { no: 66 }, false],
    ["parcelScannedUnlessHeld", { no: 1 }, { no: 67 }, true],
    ["priorityParcelRouted", { lane: "a" }, { no: 16 }, true],
    ["priorityParcelRouted", { lane: "a" }, { no: 3 }, false],
    ["parcelsRoutedOnLanes", { lanes: ["1", "2"], spareLanes: ["9"] }, { no: 9 }, true],
    ["parcelsRoutedOnLanes", { lanes: ["1", "2"], spareLanes: ["9"] }, { no: 3 }, false],
    ["parcelsRoutedMatching", { query: { nos: [2, 5] } }, { no: 5 }, true],
    ["parcelsRoutedMatching", { query: { nos: [2, 5] } }, { no: 7 }, true],
    ["parcelsRoutedMatching", { query: { nos: [2, 5] } }, { no: 3 }, false],
    ["parcelsCachedIn", { nos: ["5"] }, { no: 5 }, true],
    ["trackingEvents", { carrier: "a" }, { __typename: "ParcelLost", no: 1, carrier: "a" }, true],
    ["trackingEvents", { carrier: "a" }, { __typename: "ParcelDelivered", no: 1, carrier: "b" }, false],
    ["depotActivity", { carrier: "a" }, { __typename: "ParcelDeparted", no: 1, carrier: "a" }, true],
  ] as const)("%s(%j) on %j → %s", (name, args, event, expected) => {
    expect(fixtureFilters(sg).keeps(name, args, event)).toBe(expected);
  });
});
