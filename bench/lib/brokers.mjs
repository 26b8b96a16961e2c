/**
 * The broker is a parameter of a run (`--broker`): how to start its server, how the publisher and
 * the baselines talk to it, and what Streamgate's config and SDL need for it. NATS and Redis run
 * real servers (Debian's nats-server, redis-server); memory is Streamgate's embedded broker, fed
 * through its publish mutation; Kafka is librdkafka's mock cluster (lib/kafka.mjs), not Apache
 * Kafka; JetStream is nats-server with `-js` and one stream over the bench subjects
 * (lib/jetstream.mjs). Every broker carries the same topic names, `employeeUpdated.<topic>`.
 */
import { connect } from "@nats-io/transport-node";
import { CONSUMER, jetstreamPublisher, STREAM, startJetStream } from "./jetstream.mjs";
import { fetchWaitMs, kafkaPublisher, kafkaSubscribeAll, startKafkaMock } from "./kafka.mjs";
import { ensureBinary, freePort, spawnReady, startNats } from "./proc.mjs";

const enc = new TextEncoder();

const SUBSCRIBE_FIELD = {
  nats: 'employeeUpdated(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"])',
  jetstream: `employeeUpdated(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"], streamConfiguration: { consumerName: "${CONSUMER}", streamName: "${STREAM.name}" })`,
  redis:
    'employeeUpdated(id: ID!): Employee! @edfs__redisSubscribe(channels: ["employeeUpdated.{{ args.id }}"])',
  kafka:
    'employeeUpdated(id: ID!): Employee! @edfs__kafkaSubscribe(topics: ["employeeUpdated.{{ args.id }}"])',
};
const PUBLISH_FIELD = {
  nats: 'publishEmployee(topic: ID!, id: ID!): edfs__PublishResult! @edfs__natsPublish(subject: "employeeUpdated.{{ args.topic }}")',
  redis:
    'publishEmployee(topic: ID!, id: ID!): edfs__PublishResult! @edfs__redisPublish(channel: "employeeUpdated.{{ args.topic }}")',
  kafka:
    'publishEmployee(topic: ID!, id: ID!): edfs__PublishResult! @edfs__kafkaPublish(topic: "employeeUpdated.{{ args.topic }}")',
};

/**
 * The same topics bound by the verified token's `sub` claim instead of an argument (issue 10's
 * claim-bound topics): a client subscribes with `employeeUpdated: myEmployeeUpdated { … }` so its
 * frames are byte-identical to the argument-bound field's.
 */
const CLAIM_FIELD =
  'myEmployeeUpdated: Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ request.auth.claims.sub }}"])';

/**
 * Streamgate's event-driven SDL for a broker kind (memory uses the NATS directives; jetstream the
 * NATS ones with `streamConfiguration`). `claimField` adds the claim-bound field (NATS only).
 */
export function edfsSdl(kind, { claimField = false } = {}) {
  const k = kind === "redis" || kind === "kafka" || kind === "jetstream" ? kind : "nats";
  if (claimField && k !== "nats") throw new Error(`the claim-bound bench field is NATS only, not ${kind}`);
  return `
type Mutation {
  "Bench publish path (also the only one for memory://): payload {topic, id}."
  ${PUBLISH_FIELD[k === "jetstream" ? "nats" : k]}
}
type Subscription {
  ${SUBSCRIBE_FIELD[k]}${claimField ? `\n  ${CLAIM_FIELD}` : ""}
}
type Employee @key(fields: "id", resolvable: false) { id: ID! @external }
`;
}

/** `events.providers` of Streamgate's config. */
export function streamgateProviders(kind, url) {
  if (kind === "redis") return { redis: [{ id: "default", urls: [url] }] };
  // fetch_max_wait: see fetchWaitMs (the mock holds an empty fetch for the whole wait).
  if (kind === "kafka")
    return { kafka: [{ id: "default", brokers: url.split(","), fetch_max_wait: fetchWaitMs() }] };
  return { nats: [{ id: "default", url }] };
}

export async function startRedis({ cpus } = {}) {
  const bin = ensureBinary("redis-server", "redis-server");
  const port = await freePort();
  const child = spawnReady(
    bin,
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--protected-mode",
      "no",
    ],
    { cpus, name: "redis-server", ready: (line) => /Ready to accept connections/.test(line) },
  );
  await child.value;
  return { url: `redis://127.0.0.1:${port}`, port, pid: child.pid, stop: () => child.stop() };
}

/** `topics`: the run's topics; Kafka needs them created before any stack subscribes. */
export async function startBrokerServer(kind, { cpus, topics = [] } = {}) {
  if (kind === "memory") return { url: "memory://", pid: undefined, stop: async () => {} };
  if (kind === "nats") return startNats({ cpus });
  if (kind === "jetstream") return startJetStream({ cpus });
  if (kind === "redis") return startRedis({ cpus });
  if (kind === "kafka") return startKafkaMock({ cpus, topics });
  throw new Error(`broker ${kind}: no server starter for it in bench/lib/brokers.mjs`);
}

/** Publishes raw event bytes to `employeeUpdated.<topic>`. */
export async function brokerPublisher(kind, url) {
  if (kind === "kafka") return kafkaPublisher(url);
  if (kind === "jetstream") return jetstreamPublisher(url);
  if (kind === "redis") {
    const { default: Redis } = await import("ioredis");
    const client = new Redis(url, { lazyConnect: false, enableAutoPipelining: true });
    await client.ping();
    return {
      kind,
      publish(topic, id) {
        client.publish(`employeeUpdated.${topic}`, `{"id":${JSON.stringify(id)}}`);
      },
      flush: () => client.ping(),
      close: async () => {
        client.disconnect();
      },
    };
  }
  const nc = await connect({ servers: url, noEcho: true });
  return {
    kind,
    publish(topic, id) {
      nc.publish(`employeeUpdated.${topic}`, enc.encode(`{"id":${JSON.stringify(id)}}`));
    },
    flush: () => nc.flush(),
    close: () => nc.close(),
  };
}

/**
 * For the baselines: one subscription to every `employeeUpdated.*` subject/channel/topic; `onEvent`
 * gets (subject, event text). Resolves once the subscription is confirmed (Kafka: assigned).
 */
export async function subscribeAll(kind, url, onEvent) {
  if (kind === "kafka") return kafkaSubscribeAll(url, onEvent);
  if (kind === "redis") {
    const { default: Redis } = await import("ioredis");
    const client = new Redis(url);
    client.on("pmessage", (_pattern, channel, message) => onEvent(channel, message));
    await client.psubscribe("employeeUpdated.*");
    return { close: async () => client.disconnect() };
  }
  const nc = await connect({ servers: url });
  nc.subscribe("employeeUpdated.*", {
    callback: (err, msg) => {
      if (!err) onEvent(msg.subject, msg.string());
    },
  });
  await nc.flush();
  return { close: () => nc.close() };
}
