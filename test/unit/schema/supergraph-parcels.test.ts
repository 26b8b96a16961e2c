import { getNamedType, isInterfaceType, isUnionType, printType } from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import type { SubgraphConfig } from "../../../src/config/types.js";
import type { SubscribeBinding } from "../../../src/schema/model.js";
import { loadSupergraph, type Supergraph } from "../../../src/schema/supergraph.js";
import { PARCELS_FIXTURE } from "../../helpers/fixtures.js";

const PARCELS: SubgraphConfig = {
  name: "parcels",
  routing_url: "http://127.0.0.1:1/graphql",
  schema: `extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
    type Parcel @key(fields: "no") { no: Int! label: Label }
    type Label { city: String! }
    type Query { parcel(no: Int!): Parcel }`,
};

describe("loadSupergraph: the repo's parcels fixture (Cosmo demo shapes)", () => {
  let sg: Supergraph;
  beforeAll(async () => {
    sg = await loadSupergraph([{ name: "events", schema_file: PARCELS_FIXTURE }, PARCELS]);
  });
  const sub = (f: string) => sg.bindings.get(`Subscription.${f}`) as SubscribeBinding;
  const sources = (f: string) => sub(f).topics.map((t) => t.source);

  it("binds every root field, on four provider ids", () => {
    const keys = [...sg.bindings.keys()];
    expect(keys.filter((k) => k.startsWith("Query."))).toEqual(["Query.parcelAtDepot", "Query.parcelAtHub"]);
    expect(keys.filter((k) => k.startsWith("Mutation."))).toHaveLength(5);
    expect(keys.filter((k) => k.startsWith("Subscription."))).toHaveLength(13);
    const ids = new Set([...sg.bindings.values()].map((b) => `${b.provider}:${b.providerId}`));
    expect([...ids].sort()).toEqual([
      "kafka:route-kafka",
      "nats:default",
      "nats:hub-nats",
      "redis:cache-redis",
    ]);
    expect([...sg.rootOwners]).toEqual([["Query.parcel", "parcels"]]);
    expect(sg.eventKeys.get("Parcel")).toEqual([["no"]]);
    expect(sg.eventKeys.get("ParcelLost")).toEqual([["no", "carrier"]]);
  });

  it("reads two subjects or topics per field, templated and static", () => {
    expect(sources("parcelAtHubScanned")).toEqual(["hubScanned.{{ args.no }}", "hubSorted.{{ args.no }}"]);
    expect(sub("parcelRouted")).toMatchObject({ provider: "kafka", providerId: "route-kafka" });
    expect(sources("parcelRouted")).toEqual(["parcelRouted", "parcelRerouted"]);
    expect(sub("parcelRouted").topics.every((t) => t.isStatic)).toBe(true);
    expect(sub("parcelScanned").topics[0]?.parts).toEqual([
      { kind: "text", text: "parcelScanned." },
      { kind: "arg", path: ["parcelNo"] },
    ]);
  });

  it("reads the JetStream stream configuration with its default threshold", () => {
    expect(sub("parcelScannedDurable").streamConfiguration).toEqual({
      consumerName: "parcelTracker",
      streamName: "PARCELS",
      consumerInactiveThreshold: 30,
    });
    expect(sub("parcelScanned").streamConfiguration).toBeUndefined();
  });

  it("reads NOT, IN and OR filters with list and nested-list templates", () => {
    expect(sub("parcelScannedUnlessHeld").filter).toEqual({
      NOT: { IN: { fieldPath: "no", values: [13, 66, 99] } },
    });
    expect(sub("parcelsRoutedOnLanes").filter).toEqual({
      IN: { fieldPath: "no", values: ["{{ args.lanes }}", "{{ args.spareLanes }}"] },
    });
    expect(sub("parcelsRoutedMatching").filter).toEqual({
      OR: [
        { IN: { fieldPath: "no", values: ["{{ args.query.nos }}"] } },
        { IN: { fieldPath: "no", values: ["7"] } },
      ],
    });
  });

  it("reads publish and request bindings", () => {
    expect(sg.bindings.get("Mutation.cacheParcelOwnChannel")).toMatchObject({
      kind: "publish",
      provider: "redis",
      providerId: "cache-redis",
      topic: { source: "parcelCached.{{ args.no }}", isStatic: false },
    });
    expect(sg.bindings.get("Query.parcelAtHub")).toMatchObject({
      kind: "request",
      providerId: "hub-nats",
      subject: { source: "hubLookup.{{ args.no }}" },
    });
  });

  it("builds a public schema with the union, interface and owned fields, without EDFS artefacts", () => {
    const subs = sg.schema.getSubscriptionType()!.getFields();
    const union = getNamedType(subs.trackingEvents!.type);
    expect(isUnionType(union) && union.getTypes().map((t) => t.name)).toEqual([
      "ParcelDelivered",
      "ParcelLost",
    ]);
    const iface = getNamedType(subs.depotActivity!.type);
    expect(isInterfaceType(iface) && sg.schema.getPossibleTypes(iface).map((t) => t.name)).toEqual([
      "ParcelArrived",
      "ParcelDeparted",
    ]);
    expect(printType(sg.schema.getType("Parcel")!)).toBe("type Parcel {\n  no: Int!\n  label: Label\n}");
    for (const name of ["openfed__SubscriptionFilterCondition", "edfs__NatsStreamConfiguration", "_Service"])
      expect(sg.schema.getType(name)).toBeUndefined();
  });
});
