import { describe, expect, it } from "vitest";
import type { KafkaProviderConfig } from "../../../src/config/types.js";
import {
  CONSUMER_PREFETCH,
  consumerConfig,
  producerConfig,
  resolveOptions,
  securityProtocol,
} from "../../../src/providers/kafka/options.js";
import {
  KafkaLocalSubscription,
  planAssignment,
  type TopicMetadata,
  tpKey,
} from "../../../src/providers/kafka/subscription.js";
import { newCounters } from "../../../src/providers/provider.js";

const base: KafkaProviderConfig = { id: "k", brokers: ["b1:9092", "b2:9092"], fetch_max_wait: 100 };

describe("Kafka provider options", () => {
  it("maps brokers, fetch_max_wait and the no-group, no-commit consumer", () => {
    const c = consumerConfig(base, resolveOptions("k"), "abc");
    expect(c).toMatchObject({
      "metadata.broker.list": "b1:9092,b2:9092",
      "security.protocol": "PLAINTEXT",
      "fetch.wait.max.ms": 100,
      "group.id": "streamgate-k-abc",
      "enable.auto.commit": false,
      "enable.auto.offset.store": false,
      "allow.auto.create.topics": false,
      "reconnect.backoff.max.ms": 2000,
    });
    expect(c).not.toHaveProperty("sasl.mechanisms");
  });

  it("produces with acks=all, idempotence and order-keeping partitioning", () => {
    expect(producerConfig(base, resolveOptions("k", { publishTimeoutMs: 3000 }))).toMatchObject({
      acks: "all",
      "enable.idempotence": true,
      partitioner: "murmur2",
      "message.timeout.ms": 3000,
    });
  });

  it("maps TLS files, insecure_skip_verify and OAUTHBEARER (OIDC) to librdkafka properties", () => {
    const tls = {
      ...base,
      tls: { enabled: true, ca_file: "/c/ca.pem", cert_file: "/c/r.pem", key_file: "/c/r-key.pem" },
    };
    expect(producerConfig(tls, resolveOptions("k"))).toMatchObject({
      "security.protocol": "SSL",
      "ssl.ca.location": "/c/ca.pem",
      "ssl.certificate.location": "/c/r.pem",
      "ssl.key.location": "/c/r-key.pem",
    });
    expect(producerConfig(tls, resolveOptions("k"))).not.toHaveProperty(
      "enable.ssl.certificate.verification",
    );
    const insecure = { ...base, tls: { enabled: true, insecure_skip_verify: true } };
    expect(consumerConfig(insecure, resolveOptions("k"), "x")).toMatchObject({
      "enable.ssl.certificate.verification": false,
      "ssl.endpoint.identification.algorithm": "none",
    });
    // Files without enabled: no TLS at all, as the switch says.
    expect(
      consumerConfig({ ...base, tls: { enabled: false, ca_file: "/c/ca.pem" } }, resolveOptions("k"), "x"),
    ).not.toHaveProperty("ssl.ca.location");
    const oauth = {
      ...base,
      tls: { enabled: true },
      authentication: {
        sasl_oauthbearer: {
          token_endpoint_url: "https://idp/token",
          client_id: "c",
          client_secret: "s",
          scope: "k",
        },
      },
    };
    expect(producerConfig(oauth, resolveOptions("k"))).toMatchObject({
      "security.protocol": "SASL_SSL",
      "sasl.mechanisms": "OAUTHBEARER",
      "sasl.oauthbearer.method": "oidc",
      "sasl.oauthbearer.token.endpoint.url": "https://idp/token",
      "sasl.oauthbearer.client.id": "c",
      "sasl.oauthbearer.client.secret": "s",
      "sasl.oauthbearer.scope": "k",
    });
  });

  it("derives security.protocol and the SASL mechanism", () => {
    const plain = { ...base, authentication: { sasl_plain: { username: "u", password: "p" } } };
    const scram = {
      ...base,
      tls: { enabled: true },
      authentication: { sasl_scram: { username: "u", password: "p", mechanism: "SCRAM-SHA-256" as const } },
    };
    expect(securityProtocol({ ...base, tls: { enabled: true } })).toBe("SSL");
    expect(securityProtocol(plain)).toBe("SASL_PLAINTEXT");
    expect(securityProtocol(scram)).toBe("SASL_SSL");
    expect(producerConfig(plain, resolveOptions("k"))).toMatchObject({
      "sasl.mechanisms": "PLAIN",
      "sasl.username": "u",
      "sasl.password": "p",
    });
    expect(consumerConfig(scram, resolveOptions("k"), "x")).toMatchObject({
      "security.protocol": "SASL_SSL",
      "sasl.mechanisms": "SCRAM-SHA-256",
    });
  });

  it("bounds the consumer's prefetch by default (librdkafka: 100,000 records or 64 MB), producer untouched", () => {
    const bounds = {
      "queued.min.messages": 10_000,
      "queued.max.messages.kbytes": 8192,
      "fetch.queue.backoff.ms": 50,
    };
    expect(CONSUMER_PREFETCH).toEqual(bounds);
    expect(consumerConfig(base, resolveOptions("k"), "x")).toMatchObject(bounds);
    // Consumer-only properties on a producer only earn a librdkafka warning.
    const p = producerConfig(base, resolveOptions("k"));
    for (const key of Object.keys(bounds)) expect(p).not.toHaveProperty([key]);
  });

  it("lets the librdkafka option override each prefetch bound", () => {
    const librdkafka = {
      "queued.min.messages": 100_000,
      "queued.max.messages.kbytes": 65_536,
      "fetch.queue.backoff.ms": 1000,
      "fetch.max.bytes": 52_428_800,
    };
    expect(consumerConfig(base, resolveOptions("k", { librdkafka }), "x")).toMatchObject(librdkafka);
  });

  it("lets extra librdkafka properties override the defaults", () => {
    const o = resolveOptions("k", { librdkafka: { "ssl.ca.location": "/ca.pem", "fetch.wait.max.ms": 5 } });
    expect(consumerConfig(base, o, "x")).toMatchObject({
      "ssl.ca.location": "/ca.pem",
      "fetch.wait.max.ms": 5,
    });
  });
});

describe("Kafka subscription starts and assignment", () => {
  const sub = (...topics: string[]) =>
    new KafkaLocalSubscription(topics, () => undefined, undefined, newCounters());
  const observe = (s: KafkaLocalSubscription, topic: string, meta: TopicMetadata, hw: number[] = []) =>
    s.observe(topic, meta, (p) => hw[p]);

  it("starts an existing topic at its high watermarks", () => {
    const s = sub("t");
    expect(s.needsWatermarks("t", [0, 1])).toEqual([0, 1]);
    observe(s, "t", [0, 1], [5, 9]);
    expect([...s.starts()]).toEqual([
      ["t", 0, 5],
      ["t", 1, 9],
    ]);
    expect(s.wants("t", 0, 4)).toBe(false);
    expect(s.wants("t", 0, 5)).toBe(true);
    expect(s.needsWatermarks("t", [0, 1, 2])).toEqual([]);
  });

  it("starts a partition added later, and a topic that appears later, at offset 0", () => {
    const s = sub("t", "later");
    observe(s, "t", [0], [7]);
    observe(s, "later", "missing");
    expect(s.wants("later", 0, 0)).toBe(false);
    observe(s, "t", [0, 1]);
    observe(s, "later", [0, 1]);
    expect([...s.starts()]).toEqual([
      ["t", 0, 7],
      ["t", 1, 0],
      ["later", 0, 0],
      ["later", 1, 0],
    ]);
  });

  it("stays unpinned when a high watermark could not be read, and delivers nothing meanwhile", () => {
    const s = sub("t");
    observe(s, "t", [0, 1], [3]);
    expect([...s.starts()]).toEqual([]);
    expect(s.wants("t", 0, 10)).toBe(false);
    expect(s.needsWatermarks("t", [0, 1])).toEqual([0, 1]);
  });

  it("assigns each needed partition once, from the earliest start, and releases unused ones", () => {
    const a = sub("t");
    const b = sub("t", "u");
    observe(a, "t", [0], [10]);
    observe(b, "t", [0], [4]);
    observe(b, "u", [0], [1]);
    const plan = planAssignment([a, b], new Map());
    expect(plan.assign).toEqual([
      { topic: "t", partition: 0, offset: 4 },
      { topic: "u", partition: 0, offset: 1 },
    ]);
    const current = new Map(plan.assign.map((x) => [tpKey(x.topic, x.partition), x]));
    b.close();
    expect(planAssignment([a, b], current)).toEqual({
      assign: [],
      unassign: [{ topic: "u", partition: 0, offset: 1 }],
    });
  });
});
