/**
 * KafkaProvider against a real Kafka-protocol broker: librdkafka's mock cluster in its own process
 * (test/helpers/brokers/kafka.ts). Broker outages take the mock's broker down and up on the same
 * port (its process cannot be restarted on that port), which clients see as a broker restart.
 */
import rdkafka from "@confluentinc/kafka-javascript";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { KafkaProviderConfig } from "../../src/config/types.js";
import { ErrorCode } from "../../src/errors.js";
import { KafkaProvider, type KafkaProviderOptions } from "../../src/providers/kafka/provider.js";
import { type KafkaBroker, startKafka } from "../helpers/brokers/kafka.js";
import { bytes, Collector, randomPrefix, waitFor } from "./collector.js";
import { runProviderConformance } from "./provider-suite.js";

/** Short waits so outage cases finish in seconds; production defaults are in options.ts. */
const FAST: KafkaProviderOptions = { connectTimeoutMs: 1000, refreshIntervalMs: 1000, maxBackoffMs: 500 };
const config = (id: string, brokers: string): KafkaProviderConfig => ({
  id,
  brokers: [brokers],
  fetch_max_wait: 20,
});

let broker: KafkaBroker;
/** The broker of a "down at start" case, while one runs: topics are created there too. */
let late: KafkaBroker | undefined;
beforeAll(async () => {
  broker = await startKafka();
});
afterAll(async () => {
  await broker?.stop();
});

/** Creates topics (one partition: publish order is per partition) on every running mock. */
async function createTopics(topics: readonly string[], partitions = 1): Promise<void> {
  for (const b of [broker, late]) {
    for (const t of new Set(topics)) {
      await b?.createTopic(t, partitions).catch((err: unknown) => {
        if (!/already exists/i.test(String(err))) throw err;
      });
    }
  }
}

runProviderConformance("kafka", async () => {
  const provider = new KafkaProvider(config("kafka", broker.brokers), FAST);
  await provider.start();
  return {
    provider,
    topicPrefix: randomPrefix(),
    prepareTopics: createTopics,
    restartBroker: () => broker.restart(),
    stopBroker: () => broker.kill(),
    startBroker: () => broker.start(),
    makeProviderForDownBroker: async () => {
      const mock = await startKafka({ down: true });
      late = mock;
      const dp = new KafkaProvider(config("kafka-late", mock.brokers), FAST);
      return {
        provider: dp,
        startBroker: () => mock.start(),
        cleanup: async () => {
          late = undefined;
          await dp.stop();
          await mock.stop();
        },
      };
    },
    cleanup: async () => {
      await provider.stop();
      // A failed outage case must not leave the shared broker down for the next case.
      await broker.start();
    },
  };
});

/** A plain kafka-javascript producer, as any other application would use. */
async function rawProducer(brokers: string): Promise<{
  send(
    topic: string,
    value: string,
    opts?: { partition?: number; key?: string; headers?: object[] },
  ): Promise<void>;
  close(): Promise<void>;
}> {
  const p = new rdkafka.Producer({ "metadata.broker.list": brokers, dr_cb: true, "linger.ms": 0 });
  await new Promise<void>((resolve, reject) =>
    p.connect({ timeout: 5000 }, (err) => (err ? reject(err) : resolve())),
  );
  p.setPollInterval(10);
  const waiting = new Map<number, (err?: unknown) => void>();
  let seq = 0;
  p.on("delivery-report", (err, report) => waiting.get(report.opaque as number)?.(err ?? undefined));
  return {
    send: (topic, value, opts = {}) =>
      new Promise<void>((resolve, reject) => {
        const id = ++seq;
        waiting.set(id, (err) => (err ? reject(err) : resolve()));
        p.produce(
          topic,
          opts.partition ?? null,
          Buffer.from(value),
          opts.key ?? null,
          null,
          id,
          opts.headers as never,
        );
      }),
    close: () => new Promise<void>((resolve) => p.disconnect(() => resolve())),
  };
}

describe("KafkaProvider specifics", () => {
  let provider: KafkaProvider;
  let prefix: string;
  let raw: Awaited<ReturnType<typeof rawProducer>>;
  beforeAll(async () => {
    raw = await rawProducer(broker.brokers);
  });
  afterAll(async () => {
    await raw?.close();
  });
  const fresh = async () => {
    prefix = randomPrefix();
    provider = new KafkaProvider(config("k", broker.brokers), FAST);
    await provider.start();
  };
  afterEach(async () => {
    await provider?.stop();
  });

  it("keeps key, headers and partition:offset on the event", async () => {
    await fresh();
    const topic = `${prefix}.kh`;
    await createTopics([topic]);
    const c = new Collector();
    await provider.subscribe([topic], c.handler);
    await raw.send(topic, "plain");
    await raw.send(topic, "with", {
      key: "emp-7",
      headers: [{ "x-trace": "abc" }, { multi: "1" }, { multi: "2" }],
    });
    await c.waitForCount(2);
    expect(c.events[0]).toMatchObject({ topic, position: "0:0" });
    expect(c.events[0]!.key).toBeUndefined();
    expect(c.events[0]!.headers).toBeUndefined();
    expect(Buffer.from(c.events[1]!.key!).toString()).toBe("emp-7");
    expect(c.events[1]!.headers).toEqual({ "x-trace": "abc", multi: "1, 2" });
    expect(c.events[1]!.position).toBe("0:1");
  });

  it("starts at the end: records produced before subscribe() never arrive", async () => {
    await fresh();
    const topic = `${prefix}.end`;
    await createTopics([topic], 2);
    await raw.send(topic, "old-0", { partition: 0 });
    await raw.send(topic, "old-1", { partition: 1 });
    const c = new Collector();
    await provider.subscribe([topic], c.handler);
    await raw.send(topic, "new-1", { partition: 1 });
    await raw.send(topic, "new-0", { partition: 0 });
    await c.waitForCount(2);
    expect(c.texts().sort()).toEqual(["new-0", "new-1"]);
    expect(c.events.map((e) => e.position).sort()).toEqual(["0:1", "1:1"]);
  });

  it("reads every partition of several topics, in order per partition", async () => {
    await fresh();
    const [a, b] = [`${prefix}.pa`, `${prefix}.pb`];
    await createTopics([a, b], 3);
    const c = new Collector();
    await provider.subscribe([a, b], c.handler);
    const sent: string[] = [];
    for (let i = 0; i < 30; i++) {
      const m = `${i % 2 ? a : b}/${i % 3}/${i}`;
      sent.push(m);
      await raw.send(i % 2 ? a : b, m, { partition: i % 3 });
    }
    await c.waitForCount(30);
    const byPartition = (list: string[]) => {
      const out: Record<string, string[]> = {};
      for (const m of list) {
        const key = m.split("/").slice(0, 2).join("/");
        out[key] = [...(out[key] ?? []), m];
      }
      return out;
    };
    expect(byPartition(c.texts())).toEqual(byPartition(sent));
  });

  it("assigns partitions while a topic has subscribers and releases them after", async () => {
    await fresh();
    const [a, b] = [`${prefix}.as`, `${prefix}.bs`];
    await createTopics([a], 2);
    await createTopics([b], 1);
    const c = new Collector();
    const offA = await provider.subscribe([a], c.handler);
    const offAB = await provider.subscribe([a, b], c.handler);
    const assigned = () => provider.lag().map((l) => `${l.topic}:${l.partition}`);
    expect(assigned().sort()).toEqual([`${a}:0`, `${a}:1`, `${b}:0`]);
    await offAB();
    expect(assigned().sort()).toEqual([`${a}:0`, `${a}:1`]);
    await raw.send(a, "x", { partition: 1 });
    await c.waitForCount(1);
    await waitFor(() => provider.lag().find((l) => l.partition === 1)?.lag === 0, "lag 0 on partition 1");
    expect(provider.lag().find((l) => l.partition === 1)).toMatchObject({ position: 1, highWatermark: 1 });
    expect(await provider.totalLag()).toBe(0);
    await offA();
    expect(assigned()).toEqual([]);
  });

  it("publishes with acks=all, and every provider instance sees every record (no shared group)", async () => {
    await fresh();
    const topic = `${prefix}.pub`;
    await createTopics([topic]);
    const c = new Collector();
    const mine = new Collector();
    const other = new KafkaProvider(config("reader", broker.brokers), FAST);
    await other.start();
    try {
      await other.subscribe([topic], c.handler);
      await provider.subscribe([topic], mine.handler);
      await provider.publish(topic, bytes("one"));
      await provider.publish(topic, bytes("two"));
      await c.waitForCount(2);
      await mine.waitForCount(2);
      expect(c.texts()).toEqual(["one", "two"]);
      expect(mine.texts()).toEqual(["one", "two"]);
      expect(provider.health().counters.published).toBe(2);
    } finally {
      await other.stop();
    }
  });

  it("rejects request/reply, JetStream options and invalid topic names", async () => {
    await fresh();
    await expect(provider.request("x", bytes("x"), 100)).rejects.toMatchObject({
      code: ErrorCode.PROVIDER_NOT_BUILT,
    });
    const stream = { streamName: "s", consumerName: "c", consumerInactiveThreshold: 1 };
    await expect(provider.subscribe([`${prefix}.x`], () => undefined, { stream })).rejects.toMatchObject({
      code: ErrorCode.PROVIDER_NOT_BUILT,
    });
    for (const bad of ["", "a b", "a/b", "x".repeat(250), ".."]) {
      await expect(provider.publish(bad, bytes("x"))).rejects.toMatchObject({
        code: ErrorCode.SUBJECT_INVALID,
      });
      await expect(provider.subscribe([bad], () => undefined)).rejects.toMatchObject({
        code: ErrorCode.SUBJECT_INVALID,
      });
    }
  });

  it("survives a subscriber that throws, reporting it to onError", async () => {
    await fresh();
    const topic = `${prefix}.t`;
    await createTopics([topic]);
    const errors: Error[] = [];
    const good = new Collector();
    const boom = () => {
      throw new Error("boom");
    };
    await provider.subscribe([topic], boom, { onError: (e) => errors.push(e) });
    await provider.subscribe([topic], good.handler);
    await raw.send(topic, "1");
    await good.waitForCount(1);
    await raw.send(topic, "2");
    await good.waitForCount(2);
    expect(errors.map((e) => e.message)).toEqual(["boom", "boom"]);
  });
});
