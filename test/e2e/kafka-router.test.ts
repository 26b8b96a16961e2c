/**
 * End to end: the built router on a real Kafka-protocol broker (librdkafka's mock cluster, see
 * test/helpers/brokers/kafka.ts), driven by graphql-ws and HTTP clients, with plain
 * kafka-javascript clients on the other side of the broker.
 */
import rdkafka from "@confluentinc/kafka-javascript";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type KafkaBroker, startKafka } from "../helpers/brokers/kafka.js";
import { collect, postGraphql, wsClient } from "../helpers/clients.js";
import { type RunningRouter, startRouterProcess, tempFiles } from "../helpers/router.js";

const EVENTS_SDL = `
type Mutation {
  updateEmployeeMyKafka(employeeID: Int!, update: UpdateEmployeeInput!): edfs__PublishResult! @edfs__kafkaPublish(topic: "employeeUpdated", providerId: "my-kafka")
}
type Subscription {
  employeeUpdatedMyKafka(employeeID: Int!): Employee! @edfs__kafkaSubscribe(topics: ["employeeUpdated", "employeeUpdatedTwo"], providerId: "my-kafka")
}
input UpdateEmployeeInput { name: String email: String }
type Employee @key(fields: "id", resolvable: false) { id: Int! @external }
`;

const SUB = "subscription { employeeUpdatedMyKafka(employeeID: 1) { __typename id } }";
let kafka: KafkaBroker;
let router: RunningRouter;
let producer: InstanceType<typeof rdkafka.Producer>;

beforeAll(async () => {
  kafka = await startKafka({ topics: ["employeeUpdated:1", "employeeUpdatedTwo:1"] });
  const dir = await tempFiles({
    "events.graphql": EVENTS_SDL,
    "config.yaml": `listen_addr: 127.0.0.1:0
shutdown_grace_period: 3s
subgraphs:
  - name: events
    schema_file: ./events.graphql
events:
  providers:
    kafka:
      - id: my-kafka
        brokers: ["${kafka.brokers}"]
        fetch_max_wait: 20ms
`,
  });
  router = await startRouterProcess(["--config", `${dir}/config.yaml`]);
  producer = new rdkafka.Producer({ "metadata.broker.list": kafka.brokers, "linger.ms": 0 });
  await new Promise<void>((resolve, reject) =>
    producer.connect({ timeout: 5000 }, (err) => (err ? reject(err) : resolve())),
  );
});

afterAll(async () => {
  await new Promise<void>((resolve) =>
    producer?.isConnected() ? producer.disconnect(() => resolve()) : resolve(),
  );
  const code = await router?.stop();
  await kafka?.stop();
  expect(code).toBe(0);
});

/** Produces on Kafka until the subscriber has seen `n` values (the broker subscription is async). */
async function produceUntil(topic: string, body: unknown, seen: () => number, n: number): Promise<void> {
  await vi.waitFor(
    () => {
      if (seen() < n) {
        producer.produce(topic, null, Buffer.from(JSON.stringify(body)));
        throw new Error("not yet");
      }
    },
    { timeout: 10_000, interval: 200 },
  );
}

/** Reads `topic` from its beginning with a plain consumer until `match` finds a record. */
async function readUntil(topic: string, match: (value: unknown) => boolean): Promise<unknown> {
  const consumer = new rdkafka.KafkaConsumer({
    "metadata.broker.list": kafka.brokers,
    "group.id": "e2e-reader",
  });
  await new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: 5000 }, (err) => (err ? reject(err) : resolve())),
  );
  try {
    consumer.assign([{ topic, partition: 0, offset: 0 }]);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const batch = await new Promise<rdkafka.Message[]>((resolve, reject) =>
        consumer.consume(100, (err, messages) => (err ? reject(err) : resolve(messages))),
      );
      for (const m of batch) {
        const value: unknown = JSON.parse(String(m.value));
        if (match(value)) return value;
      }
    }
    throw new Error(`no matching record on ${topic}`);
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

describe("router on Kafka", () => {
  it("is ready with its Kafka provider connected", async () => {
    const ready = await fetch(`${router.http}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", providers_down: [] });
  });

  it("delivers records produced on both topics to a graphql-ws subscriber", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const sub = collect(client, SUB);
    await produceUntil("employeeUpdated", { __typename: "Employee", id: 1 }, () => sub.values.length, 1);
    const before = sub.values.length;
    await produceUntil("employeeUpdatedTwo", { id: 2 }, () => sub.values.length, before + 1);
    expect(sub.values[0]).toEqual({ data: { employeeUpdatedMyKafka: { __typename: "Employee", id: 1 } } });
    expect(sub.values).toContainEqual({
      data: { employeeUpdatedMyKafka: { __typename: "Employee", id: 2 } },
    });
    expect(sub.errors).toEqual([]);
    // Per-partition consumer lag of the partitions the subscription reads, in /metrics.
    const metrics = await (await fetch(`${router.http}/metrics`)).text();
    expect(metrics).toMatch(
      /^streamgate_kafka_consumer_lag\{provider="my-kafka",topic="employeeUpdated",partition="0"\} \d+$/m,
    );
    expect(metrics).toMatch(/^streamgate_provider_reconnects_total\{provider="my-kafka",kind="kafka"\} 0$/m);
    sub.unsubscribe();
    await client.dispose();
  });

  it("publishes the mutation's arguments as a record a plain consumer reads", async () => {
    const res = await postGraphql(router.http, {
      query: 'mutation { updateEmployeeMyKafka(employeeID: 3, update: { name: "Ada" }) { success } }',
    });
    expect(res.body).toEqual({ data: { updateEmployeeMyKafka: { success: true } } });
    const record = await readUntil("employeeUpdated", (v) => (v as { employeeID?: number }).employeeID === 3);
    expect(record).toEqual({ employeeID: 3, update: { name: "Ada" } });
  });
});
