/**
 * End to end: the built router consuming a JetStream stream through `streamConfiguration`, on a
 * real `nats-server -js`, driven by the public graphql-ws client. Run `npm run build` first.
 */
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";
import { collect, wsClient } from "../helpers/clients.js";
import { type RunningRouter, startRouterProcess, tempFiles } from "../helpers/router.js";

const EVENTS_SDL = `
type Query {
  employeeFromEvent(id: ID!): Employee! @edfs__natsRequest(subject: "getEmployee.{{ args.id }}")
}
type Subscription {
  employeeUpdatedNatsStream(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"], streamConfiguration: { consumerName: "consumerName", streamName: "streamName" })
  employeeUpdatedNoStream(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"], streamConfiguration: { consumerName: "consumerName", streamName: "noSuchStream" })
  employeeUpdated(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"])
}
type Employee @key(fields: "id", resolvable: false) { id: ID! @external }
`;

const STREAM_SUB = "subscription($id: ID!) { employeeUpdatedNatsStream(id: $id) { __typename id } }";
const enc = new TextEncoder();
let nats: NatsServer;
let router: RunningRouter;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  nats = await startNats({ jetstream: true });
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
  // The stream exists before the router starts, as an operator would set it up.
  await jsm.streams.add({ name: "streamName", subjects: ["employeeUpdated.>"] });
  const dir = await tempFiles({
    "events.graphql": EVENTS_SDL,
    "config.yaml": `listen_addr: 127.0.0.1:0
shutdown_grace_period: 3s
subgraphs:
  - name: events
    schema_file: ./events.graphql
events:
  providers:
    nats:
      - id: default
        url: ${nats.url}
`,
  });
  router = await startRouterProcess(["--config", `${dir}/config.yaml`]);
});

afterAll(async () => {
  await nc?.close();
  const code = await router?.stop();
  await nats?.stop();
  expect(code).toBe(0);
});

/** The router's durables on `streamName` for `subject`. */
async function consumersFor(subject: string) {
  const out = [];
  for await (const ci of jsm.consumers.list("streamName")) {
    if (ci.config.filter_subject === subject) out.push(ci);
  }
  return out;
}

const publish = (subject: string, body: unknown) => nc.publish(subject, enc.encode(JSON.stringify(body)));

describe("router on NATS JetStream", () => {
  it("delivers messages published to the stream's subject through a durable consumer", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const sub = collect(client, STREAM_SUB, { id: "3" });
    // Once the durable exists every message published is stored for it: publish each exactly once.
    await vi.waitFor(async () => expect(await consumersFor("employeeUpdated.3")).toHaveLength(1), {
      timeout: 5000,
      interval: 50,
    });
    const [ci] = await consumersFor("employeeUpdated.3");
    expect(ci!.name).toMatch(/^consumerName-[0-9a-f]{12}$/);
    expect(ci!.config).toMatchObject({ durable_name: ci!.name, ack_policy: "explicit" });
    for (let i = 0; i < 3; i++) publish("employeeUpdated.3", { __typename: "Employee", id: "3" });
    publish("employeeUpdated.4", { __typename: "Employee", id: "4" });
    await vi.waitFor(() => expect(sub.values).toHaveLength(3));
    expect(sub.values[0]).toEqual({
      data: { employeeUpdatedNatsStream: { __typename: "Employee", id: "3" } },
    });
    // Acked after dispatch: nothing left pending for this durable.
    await vi.waitFor(async () => {
      const info = await jsm.consumers.info("streamName", ci!.name);
      expect(info).toMatchObject({ num_pending: 0, num_ack_pending: 0 });
    });
    // The durable's figures in /metrics, labelled with its stream and name.
    const metrics = await (await fetch(`${router.http}/metrics`)).text();
    for (const name of ["pending", "ack_pending", "redelivered"]) {
      expect(metrics).toContain(
        `streamgate_jetstream_consumer_${name}{provider="default",stream="streamName",consumer="${ci!.name}"} 0`,
      );
    }
    expect(sub.errors).toEqual([]);
    sub.unsubscribe();
    await client.dispose();
  });

  it("gives a subscription on a missing stream an error; other subscriptions keep working", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const good = collect(client, STREAM_SUB, { id: "5" });
    const core = collect(client, 'subscription { employeeUpdated(id: "5") { id } }');
    const bad = collect(client, 'subscription { employeeUpdatedNoStream(id: "5") { id } }');
    await vi.waitFor(() => expect(bad.errors).toHaveLength(1));
    expect(JSON.stringify(bad.errors[0])).toContain('JetStream stream \\"noSuchStream\\" does not exist');
    await vi.waitFor(async () => expect(await consumersFor("employeeUpdated.5")).toHaveLength(1));
    await vi.waitFor(
      () => {
        if (core.values.length === 0) publish("employeeUpdated.5", { id: "5" });
        expect(core.values.length).toBeGreaterThan(0);
      },
      { timeout: 5000, interval: 100 },
    );
    await vi.waitFor(() => expect(good.values.length).toBeGreaterThan(0));
    expect(good.values[0]).toEqual({
      data: { employeeUpdatedNatsStream: { __typename: "Employee", id: "5" } },
    });
    expect(good.errors).toEqual([]);
    expect(core.errors).toEqual([]);
    good.unsubscribe();
    core.unsubscribe();
    await client.dispose();
  });

  it("stays ready", async () => {
    const ready = await fetch(`${router.http}/health/ready`);
    expect(ready.status).toBe(200);
  });
});
