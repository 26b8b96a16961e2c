/**
 * Ack after the write (delivery.md, "Acks"): on an at-least-once JetStream field whose events need
 * a slow `_entities` fetch, the router's durable keeps the message unacknowledged until the
 * resolved result was written to the client's socket, and acknowledges it once, then. A router
 * that acked on dispatch (before resolution finished) would show nothing pending.
 */
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";
import { rawSocket } from "../helpers/clients.js";
import { type RunningRouter, startRouterProcess, tempFiles } from "../helpers/router.js";
import { type RunningSubgraph, startSubgraph } from "../helpers/subgraphs.js";

const EVENTS = `
type Subscription {
  slowOrders: Order! @edfs__natsSubscribe(subjects: ["slow.orders"], streamConfiguration: { consumerName: "router", streamName: "slow" })
}
type Order @key(fields: "id", resolvable: false) { id: ID! @external }
`;
const ORDERS = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
type Query { order(id: ID!): Order }
type Order @key(fields: "id") { id: ID!  total: Int! }
`;
const DELAY_MS = 1500;

let nats: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
let subgraph: RunningSubgraph;
let router: RunningRouter;

beforeAll(async () => {
  nats = await startNats({ jetstream: true });
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "slow", subjects: ["slow.>"] });
  subgraph = await startSubgraph(ORDERS, {
    Order: {
      __resolveReference: async (o: { id: string }) => {
        await new Promise((r) => setTimeout(r, DELAY_MS));
        return { id: o.id, total: 42 };
      },
    },
  });
  const dir = await tempFiles({
    "events.graphql": EVENTS,
    "orders.graphql": ORDERS,
    "config.yaml": `listen_addr: 127.0.0.1:0
shutdown_grace_period: 2s
subgraph_timeout: 10s
subgraphs:
  - name: events
    schema_file: ./events.graphql
  - name: orders
    routing_url: ${subgraph.url}
    schema_file: ./orders.graphql
events:
  providers:
    nats:
      - id: default
        url: ${nats.url}
        delivery: at_least_once
delivery:
  cursor_secret: "ack-after-write-secret-0123456789abcdef"
`,
  });
  router = await startRouterProcess(["--config", `${dir}/config.yaml`]);
});

afterAll(async () => {
  await router?.stop();
  await nc?.close();
  await subgraph?.stop();
  await nats?.stop();
});

async function ackPending(): Promise<number> {
  let n = 0;
  for await (const ci of jsm.consumers.list("slow")) n += ci.num_ack_pending;
  return n;
}

describe("ack after the write", () => {
  it("keeps the message unacknowledged while its result is being resolved, and acks it once written", async () => {
    const raw = await rawSocket(`${router.ws}/graphql`);
    raw.send({ type: "connection_init" });
    await vi.waitFor(() => expect(raw.frames[0]).toEqual({ type: "connection_ack" }));
    raw.send({ id: "1", type: "subscribe", payload: { query: "subscription { slowOrders { id total } }" } });
    await vi.waitFor(async () => {
      let consumers = 0;
      for await (const _ of jsm.consumers.list("slow")) consumers++;
      expect(consumers).toBe(1);
    });
    const published = Date.now();
    nc.publish("slow.orders", new TextEncoder().encode('{"__typename":"Order","id":"7"}'));
    await nc.flush();
    // While the subgraph sleeps: delivered to the router, not acknowledged.
    await vi.waitFor(async () => expect(await ackPending()).toBe(1), { timeout: 1000, interval: 50 });
    await new Promise((r) => setTimeout(r, DELAY_MS / 2));
    expect(await ackPending()).toBe(1);
    expect(raw.frames.filter((f) => f.type === "next")).toHaveLength(0);
    // Written, then acknowledged.
    await vi.waitFor(() => expect(raw.frames.filter((f) => f.type === "next")).toHaveLength(1), {
      timeout: 5000,
    });
    expect(Date.now() - published).toBeGreaterThanOrEqual(DELAY_MS - 50);
    await vi.waitFor(async () => expect(await ackPending()).toBe(0), { timeout: 2000, interval: 50 });
    const next = raw.frames.find((f) => f.type === "next") as { payload: { data: unknown } };
    expect(next.payload.data).toEqual({ slowOrders: { id: "7", total: 42 } });
  });
});
