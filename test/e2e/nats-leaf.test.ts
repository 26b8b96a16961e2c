/**
 * Seed 003's edge topology, end to end: a hub nats-server (JetStream domain "hub", stream ORDERS)
 * and a leaf node (JetStream domain "leaf", stream ORDERS_EDGE mirroring ORDERS across the leaf
 * connection). The built router is attached to the leaf only. Core NATS events published at the
 * hub reach its subscribers through the leaf connection; its JetStream subscriptions are served
 * by a durable consumer on the leaf's mirror, acked there (at-least-once at the edge).
 * docs/deployment.md ("Edge: a router on a NATS leaf node") shows the same configuration.
 */
import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";
import { freePort } from "../helpers/brokers/net.js";
import { collect, wsClient } from "../helpers/clients.js";
import { type RunningRouter, startRouterProcess, tempFiles } from "../helpers/router.js";

const SDL = `
type Subscription {
  orderCore(id: ID!): Order! @edfs__natsSubscribe(subjects: ["orders.{{ args.id }}"], providerId: "edge")
  orderDurable(id: ID!): Order! @edfs__natsSubscribe(subjects: ["orders.{{ args.id }}"], providerId: "edge", streamConfiguration: { consumerName: "edge", streamName: "ORDERS_EDGE" })
}
type Order @key(fields: "id", resolvable: false) { id: ID! @external }
`;

let hub: NatsServer;
let leaf: NatsServer;
let router: RunningRouter;
let hubNc: NatsConnection;
let leafNc: NatsConnection;
let leafJsm: JetStreamManager;
const enc = new TextEncoder();
const order = (id: string) => enc.encode(JSON.stringify({ __typename: "Order", id }));

beforeAll(async () => {
  const leafPort = await freePort();
  hub = await startNats({
    config: `server_name: hub
jetstream { domain: hub, store_dir: "{{STORE}}" }
leafnodes { listen: "127.0.0.1:${leafPort}" }
`,
  });
  leaf = await startNats({
    config: `server_name: leaf
jetstream { domain: leaf, store_dir: "{{STORE}}" }
leafnodes { remotes: [ { url: "nats://127.0.0.1:${leafPort}" } ] }
`,
  });
  hubNc = await connect({ servers: hub.url });
  leafNc = await connect({ servers: leaf.url });
  await (await jetstreamManager(hubNc)).streams.add({ name: "ORDERS", subjects: ["orders.>"] });
  leafJsm = await jetstreamManager(leafNc);
  // The leaf mirrors the hub's stream through the hub domain's JetStream API.
  await leafJsm.streams.add({
    name: "ORDERS_EDGE",
    mirror: { name: "ORDERS", external: { api: "$JS.hub.API" } },
  });
  const dir = await tempFiles({
    "events.graphql": SDL,
    "config.yaml": `listen_addr: 127.0.0.1:0
shutdown_grace_period: 2s
instance_id: edge-router-1
subgraphs:
  - name: events
    schema_file: ./events.graphql
events:
  providers:
    nats:
      - id: edge
        url: ${leaf.url}
        health: { max_lag: 1000 }
`,
  });
  router = await startRouterProcess(["--config", `${dir}/config.yaml`]);
});

afterAll(async () => {
  const code = await router?.stop();
  await hubNc?.close();
  await leafNc?.close();
  await leaf?.stop();
  await hub?.stop();
  expect(code).toBe(0);
});

describe("router on a NATS leaf node", () => {
  it("receives core NATS events published at the hub", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const sub = collect(client, 'subscription { orderCore(id: "1") { id } }');
    // Interest travels hub-ward over the leaf connection: publish until it has arrived.
    await vi.waitFor(
      () => {
        if (sub.values.length === 0) {
          hubNc.publish("orders.1", order("1"));
          throw new Error("not yet");
        }
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(sub.values[0]).toEqual({ data: { orderCore: { id: "1" } } });
    await client.dispose();
  });

  it("serves JetStream subscriptions from the leaf's mirror of the hub's stream", {
    timeout: 30_000,
  }, async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const sub = collect(client, 'subscription { orderDurable(id: "2") { id } }');
    const durable = async () => {
      for await (const ci of leafJsm.consumers.list("ORDERS_EDGE")) {
        if (ci.config.filter_subject === "orders.2") return ci.name;
      }
      return undefined;
    };
    await vi.waitFor(async () => expect(await durable()).toBeDefined(), { timeout: 10_000, interval: 100 });
    // Published once, into the hub's stream: the mirror brings it to the edge.
    await jetstream(hubNc).publish("orders.2", order("2"));
    await vi.waitFor(() => expect(sub.values).toHaveLength(1), { timeout: 15_000, interval: 100 });
    expect(sub.values[0]).toEqual({ data: { orderDurable: { id: "2" } } });
    const name = (await durable())!;
    // Acked at the edge after dispatch, and visible in /metrics with the leaf's figures.
    await vi.waitFor(async () => {
      expect(await leafJsm.consumers.info("ORDERS_EDGE", name)).toMatchObject({
        num_pending: 0,
        num_ack_pending: 0,
      });
    });
    const metrics = await (await fetch(`${router.http}/metrics`)).text();
    expect(metrics).toContain(
      `streamgate_jetstream_consumer_pending{provider="edge",stream="ORDERS_EDGE",consumer="${name}"} 0`,
    );
    expect((await fetch(`${router.http}/health/ready`)).status).toBe(200);
    await client.dispose();
  });
});
