/**
 * A JetStream durable whose position the server lost. nats-server 2.9 sometimes comes back from a
 * restart with a consumer's state file empty (seen under load: `o.dat` of 0 bytes after a SIGTERM);
 * the durable then starts over at the stream's first message, and a router that trusted it sent
 * its clients every event the stream held, older than any subscription. Here the loss is made
 * deterministic on a real nats-server: killed, the durable's state file emptied, started again.
 */
import { truncate } from "node:fs/promises";
import { join } from "node:path";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { durableName } from "../../src/providers/nats/jetstream.js";
import { NatsProvider } from "../../src/providers/nats/provider.js";
import { bytes, Collector, waitFor } from "../conformance/collector.js";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";

let broker: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
const stream = { streamName: "lost", consumerName: "router", consumerInactiveThreshold: 30 };

beforeAll(async () => {
  broker = await startNats({ jetstream: true });
  nc = await connect({ servers: broker.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
  jsm = await jetstreamManager(nc, { timeout: 1000 });
  await jsm.streams.add({ name: stream.streamName, subjects: ["lost.>"] });
});
afterAll(async () => {
  await nc?.close();
  await broker?.stop();
});

it("recreates a durable the server set back to the stream's start, after what it settled", {
  timeout: 60_000,
}, async () => {
  const subject = "lost.orders";
  // Events published before any subscription: no client may ever see these.
  for (let i = 1; i <= 5; i++) await nc.request(subject, bytes(`old-${i}`));
  const p = new NatsProvider({ id: "js", url: broker.url }, { instanceId: "a" });
  await p.start();
  try {
    const c = new Collector();
    await p.subscribe([subject], c.handler, { stream });
    for (let i = 1; i <= 3; i++) await p.publish(subject, bytes(`new-${i}`));
    await c.waitForCount(3);
    const name = durableName(stream.consumerName, "a", subject);
    await waitFor(
      async () => (await jsm.consumers.info(stream.streamName, name)).ack_floor.stream_seq === 8,
      "the acks of new-1..3",
    );
    await broker.kill();
    // What nats-server left behind in the flake: the consumer's state file, empty.
    await truncate(
      join(broker.storeDir!, "jetstream", "$G", "streams", stream.streamName, "obs", name, "o.dat"),
      0,
    );
    await broker.start();
    await waitFor(() => p.health().connected && p.health().counters.reconnects > 0, "reconnect", 30_000);
    for (let i = 4; i <= 5; i++) {
      await waitFor(() => p.publish(subject, bytes(`new-${i}`)).then(() => true), `publish new-${i}`, 20_000);
    }
    await c.waitForText("new-5", 30_000);
    // Give a replay of the old ones the time to show up before the last check.
    await waitFor(
      async () => (await jsm.consumers.info(stream.streamName, name)).num_pending === 0,
      "drained",
    );
    expect(c.texts()).toEqual(["new-1", "new-2", "new-3", "new-4", "new-5"]);
    expect((await jsm.consumers.info(stream.streamName, name)).config).toMatchObject({ opt_start_seq: 9 });
  } finally {
    await p.stop();
  }
});

it("keeps delivering when its stream is deleted and created again (sequences start over)", {
  timeout: 60_000,
}, async () => {
  const again = { ...stream, streamName: "again" };
  const subject = "again.orders";
  await jsm.streams.add({ name: again.streamName, subjects: ["again.>"] });
  const p = new NatsProvider({ id: "js", url: broker.url }, { instanceId: "a" });
  await p.start();
  try {
    const c = new Collector();
    await p.subscribe([subject], c.handler, { stream: again });
    for (let i = 1; i <= 5; i++) await p.publish(subject, bytes(`first-${i}`));
    await c.waitForCount(5);
    await jsm.streams.delete(again.streamName);
    await jsm.streams.add({ name: again.streamName, subjects: ["again.>"] });
    // The durable comes back on the new stream, whose sequences are below what was settled.
    await waitFor(async () => (await p.jetStreamLag())[0]?.consuming, "the durable to start again", 30_000);
    await p.publish(subject, bytes("second-1"));
    await c.waitForText("second-1", 20_000);
    expect(c.texts()).toEqual(["first-1", "first-2", "first-3", "first-4", "first-5", "second-1"]);
  } finally {
    await p.stop();
  }
});
