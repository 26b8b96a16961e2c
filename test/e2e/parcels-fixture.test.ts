/**
 * The repo's own fixture with the Cosmo demo's shapes (test/fixtures/parcels), unchanged, next to
 * an ordinary subgraph that owns Parcel.label: runs in every clone. NATS is a real nats-server;
 * Kafka and Redis run on the embedded broker (their real brokers have their own e2e files).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { collect, postGraphql, wsClient } from "../helpers/clients.js";
import { type FixtureStack, startFixtureStack, until } from "../helpers/fixture-router.js";
import { PARCELS_FIXTURE } from "../helpers/fixtures.js";

const PARCELS = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
type Parcel @key(fields: "no") { no: Int! label: Label }
type Label { recipient: String! city: String! }
type Query { parcel(no: Int!): Parcel }
`;
const label = (no: number) => ({ recipient: `R${no}`, city: `C${no}` });

let stack: FixtureStack;
beforeAll(async () => {
  stack = await startFixtureStack({
    eventsSchemaFile: PARCELS_FIXTURE,
    entitySdl: PARCELS,
    resolvers: {
      Parcel: { __resolveReference: (r: { no: number }) => ({ no: r.no, label: label(r.no) }) },
      Query: { parcel: (_: unknown, a: { no: number }) => ({ no: a.no, label: label(a.no) }) },
    },
    responders: ["depotLookup.*", "hubLookup.*"].map((subject) => ({
      subject,
      typename: "Parcel",
      key: "no",
    })),
    natsIds: ["default", "hub-nats"],
    kafkaId: "route-kafka",
    redisId: "cache-redis",
  });
});
afterAll(() => stack?.stop());

const ws = () => wsClient(`${stack.router.ws}/graphql`);
const parcelEvent = (no: number) => JSON.stringify({ __typename: "Parcel", no });
const numbers = (values: unknown[], field: string) =>
  values.map((v) => (v as { data: Record<string, { no: number }> }).data[field]?.no);

describe("the parcels fixture (own directive definitions, four provider ids), unchanged", () => {
  it("starts and is ready with all four provider ids", async () => {
    const r = await fetch(`${stack.router.http}/health/ready`);
    expect(r.status).toBe(200);
  });

  it("serves a NATS subscription with Int keys and fields from the ordinary subgraph", async () => {
    const client = ws();
    const sub = collect(client, "subscription { parcelScanned(parcelNo: 1) { no label { city } } }");
    await until([sub], () => stack.nc.publish("parcelScanned.1", parcelEvent(1)));
    expect(sub.values[0]).toEqual({ data: { parcelScanned: { no: 1, label: { city: "C1" } } } });
    await client.dispose();
  });

  it("listens on both subjects of a two-subject field on provider hub-nats", async () => {
    const client = ws();
    const sub = collect(client, "subscription { parcelAtHubScanned(no: 4) { no label { recipient } } }");
    await until([sub], () => stack.nc.publish("hubSorted.4", JSON.stringify({ no: 4 })));
    await until([sub], () => stack.nc.publish("hubScanned.4", JSON.stringify({ no: 4 })), 2);
    expect(sub.values.at(-1)).toEqual({
      data: { parcelAtHubScanned: { no: 4, label: { recipient: "R4" } } },
    });
    await client.dispose();
  });

  it("applies a NOT/IN filter with Int values", async () => {
    const client = ws();
    const held = collect(client, "subscription { parcelScannedUnlessHeld(no: 13) { no } }");
    const free = collect(client, "subscription { parcelScannedUnlessHeld(no: 14) { no } }");
    await until([free], () => stack.nc.publish("parcelScanned.14", parcelEvent(14)));
    stack.nc.publish("parcelScanned.13", parcelEvent(13));
    stack.nc.publish("parcelScanned.14", parcelEvent(14));
    await vi.waitFor(() => expect(free.values.length).toBeGreaterThanOrEqual(2));
    await new Promise((r) => setTimeout(r, 200));
    expect(held.values).toEqual([]); // 13 is in the NOT list
    await client.dispose();
  });

  it("publishes through a Redis mutation and filters a list argument of IDs against Int keys", async () => {
    const client = ws();
    const sub = collect(client, 'subscription { parcelsCachedIn(nos: ["1", "3"]) { no label { city } } }');
    const cache = (no: number) =>
      stack.mutate(`mutation { cacheParcel(no: ${no}, change: { status: "x" }) { success } }`);
    await until([sub], () => cache(1));
    await cache(2);
    await cache(3);
    await vi.waitFor(() => expect(numbers(sub.values, "parcelsCachedIn")).toContain(3));
    expect(numbers(sub.values, "parcelsCachedIn")).not.toContain(2);
    expect(sub.values.at(-1)).toEqual({ data: { parcelsCachedIn: { no: 3, label: { city: "C3" } } } });
    await client.dispose();
  });

  it("filters a Kafka field by OR over a nested list argument template and a literal", async () => {
    const client = ws();
    const sub = collect(client, "subscription { parcelsRoutedMatching(query: { nos: [3, 5] }) { no } }");
    const lanes = collect(
      client,
      'subscription { parcelsRoutedOnLanes(lanes: ["5"], spareLanes: ["6"]) { no label { recipient } } }',
    );
    const route = (no: number) =>
      stack.mutate(`mutation { routeParcel(no: ${no}, change: { note: "n" }) { success } }`);
    await until([sub, lanes], () => route(5));
    for (const no of [4, 6, 7, 3]) await route(no);
    await vi.waitFor(() => expect(numbers(sub.values, "parcelsRoutedMatching")).toContain(3));
    await vi.waitFor(() => expect(numbers(lanes.values, "parcelsRoutedOnLanes")).toContain(6));
    expect(new Set(numbers(sub.values, "parcelsRoutedMatching"))).toEqual(new Set([5, 7, 3]));
    expect(new Set(numbers(lanes.values, "parcelsRoutedOnLanes"))).toEqual(new Set([5, 6]));
    await client.dispose();
  });

  it("answers NATS request/reply queries on both NATS providers, resolving entity fields", async () => {
    const res = await postGraphql(stack.router.http, {
      query: "{ parcelAtDepot(parcelNo: 5) { no label { city } } parcelAtHub(no: 6) { no } }",
    });
    expect(res.body).toEqual({
      data: { parcelAtDepot: { no: 5, label: { city: "C5" } }, parcelAtHub: { no: 6 } },
    });
  });

  it("subscribes union and interface fields; events without __typename are reported, streams stay open", async () => {
    const client = ws();
    const union = collect(
      client,
      'subscription { trackingEvents(carrier: "x") { __typename ... on ParcelLost { no carrier } } }',
    );
    const iface = collect(client, 'subscription { depotActivity(carrier: "x") { __typename no } }');
    // A mutation publishes its arguments, which cannot carry __typename: each field reports that
    // on its own stream and stays open.
    await until([union, iface], () =>
      stack.mutate('mutation { routeParcel(no: 1, change: { note: "x" }) { success } }'),
    );
    expect(JSON.stringify(union.values[0])).toContain("SG_ERR_EVENT_INVALID");
    expect(JSON.stringify(iface.values[0])).toContain("SG_ERR_EVENT_INVALID");
    expect([union.errors, iface.errors, union.completed, iface.completed]).toEqual([[], [], false, false]);
    await client.dispose();
  });
});
