/**
 * At-least-once on Kafka (librdkafka's mock cluster, a real Kafka-protocol broker): a trigger over
 * two topics, one of three partitions, with keyed records produced without pause. A client that
 * drops, and a router that is SIGKILLed, resume from the cursor (positions of every partition) and
 * get every record once, in order per key (per partition).
 */
import rdkafka from "@confluentinc/kafka-javascript";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type KafkaBroker, startKafka } from "../helpers/brokers/kafka.js";
import { type RawSocket, rawSubscribe } from "../helpers/clients.js";
import { type RunningRouter, startRouterProcess, tempFiles } from "../helpers/router.js";

const SDL = `
type Subscription {
  orders: Order! @edfs__kafkaSubscribe(topics: ["orders", "ordersTwo"], providerId: "k")
}
type Order @key(fields: "id", resolvable: false) { id: ID! @external }
`;

let kafka: KafkaBroker;
let producer: InstanceType<typeof rdkafka.Producer>;

async function router(): Promise<RunningRouter> {
  const dir = await tempFiles({
    "events.graphql": SDL,
    "config.yaml": `listen_addr: 127.0.0.1:0
shutdown_grace_period: 2s
subgraphs:
  - name: events
    schema_file: ./events.graphql
events:
  providers:
    kafka:
      - id: k
        brokers: ["${kafka.brokers}"]
        fetch_max_wait: 20ms
        delivery: at_least_once
delivery:
  cursor_secret: "kafka-cursor-secret-0123456789abcdefgh"
`,
  });
  return startRouterProcess(["--config", `${dir}/config.yaml`]);
}

beforeAll(async () => {
  kafka = await startKafka({ topics: ["orders:3", "ordersTwo:1"] });
  producer = new rdkafka.Producer({ "metadata.broker.list": kafka.brokers, "linger.ms": 0 });
  await new Promise<void>((resolve, reject) =>
    producer.connect({ timeout: 5000 }, (err) => (err ? reject(err) : resolve())),
  );
});

afterAll(async () => {
  await new Promise<void>((resolve) =>
    producer?.isConnected() ? producer.disconnect(() => resolve()) : resolve(),
  );
  await kafka?.stop();
});

const subscribe = (r: RunningRouter, cursor?: string) =>
  rawSubscribe(`${r.ws}/graphql`, "subscription { orders { id } }", cursor);

type Next = { payload: { data: { orders: { id: string } }; extensions?: { cursor?: string } } };
const nexts = (raw: RawSocket) => raw.frames.filter((f) => f.type === "next") as unknown as Next[];
const got = (raw: RawSocket) => nexts(raw).map((n) => n.payload.data.orders.id);

/** Produces `<key>-<n>` records on 4 keys (spread over orders' partitions, and ordersTwo) every 5 ms. */
function produce(tag: string) {
  const sent: string[] = [];
  let n = 0;
  const t = setInterval(() => {
    const key = `${tag}${n % 4}`;
    const id = `${key}-${n++}`;
    sent.push(id);
    producer.produce(
      key.endsWith("3") ? "ordersTwo" : "orders",
      null,
      Buffer.from(JSON.stringify({ __typename: "Order", id })),
      key,
    );
  }, 5);
  return {
    sent,
    stop: async () => {
      clearInterval(t);
      await new Promise<void>((r) => producer.flush(5000, () => r()));
      return sent;
    },
  };
}

/** Every id once; per key in the order produced. */
function expectOncePerKeyInOrder(ids: string[], expected: string[]): void {
  expect(new Set(ids).size).toBe(ids.length);
  expect([...ids].sort()).toEqual([...expected].sort());
  const byKey = (list: string[]) => {
    const m = new Map<string, number[]>();
    for (const id of list) {
      const [key, n] = id.split("-") as [string, string];
      m.set(key, [...(m.get(key) ?? []), Number(n)]);
    }
    return m;
  };
  for (const [key, seq] of byKey(ids)) expect([key, seq]).toEqual([key, [...seq].sort((a, b) => a - b)]);
}

describe("at-least-once on Kafka", () => {
  it("resumes a dropped client over every partition of both topics: each record once, in order per key", async () => {
    const r = await router();
    try {
      const first = await subscribe(r);
      await new Promise((res) => setTimeout(res, 1500)); // the consumer is assigned
      const p = produce("a");
      await vi.waitFor(() => expect(nexts(first).length).toBeGreaterThan(60), { timeout: 15_000 });
      first.ws.terminate();
      const before = got(first);
      const cursor = nexts(first).at(-1)!.payload.extensions!.cursor!;
      await new Promise((res) => setTimeout(res, 500));
      const second = await subscribe(r, cursor);
      await new Promise((res) => setTimeout(res, 1500));
      const sent = await p.stop();
      await vi.waitFor(() => expect(before.length + got(second).length).toBe(sent.length), {
        timeout: 15_000,
      });
      expectOncePerKeyInOrder([...before, ...got(second)], sent);
    } finally {
      await r.stop();
    }
  });

  it("resumes on a second router after the first is SIGKILLed", async () => {
    const a = await router();
    const first = await subscribe(a);
    await new Promise((res) => setTimeout(res, 1500));
    const p = produce("b");
    await vi.waitFor(() => expect(nexts(first).length).toBeGreaterThan(40), { timeout: 15_000 });
    await a.stop("SIGKILL");
    const before = got(first);
    const cursor = nexts(first).at(-1)!.payload.extensions!.cursor!;
    const b = await router();
    try {
      const second = await subscribe(b, cursor);
      await new Promise((res) => setTimeout(res, 1500));
      const sent = await p.stop();
      await vi.waitFor(() => expect(before.length + got(second).length).toBe(sent.length), {
        timeout: 15_000,
      });
      expectOncePerKeyInOrder([...before, ...got(second)], sent);
    } finally {
      await b.stop();
    }
  });
});
