/**
 * NatsProvider's JetStream consumption against a real `nats-server -js` (2.9 from Debian): durable
 * pull consumers per instance and subject, ack after dispatch, resume, outages. The shared
 * provider conformance suite runs too, with every subscribe going through a stream.
 */
import { AckPolicy, DeliverPolicy, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/errors.js";
import { durableName } from "../../src/providers/nats/jetstream.js";
import { NatsProvider } from "../../src/providers/nats/provider.js";
import type { StreamOptions } from "../../src/providers/provider.js";
import { bytes, Collector, randomPrefix, waitFor } from "./collector.js";
import { type BackgroundStartable, runProviderConformance } from "./provider-suite.js";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";
import { freePort } from "../helpers/brokers/net.js";

let broker: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  broker = await startNats({ jetstream: true });
  nc = await connect({ servers: broker.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
  // Short API timeout: a request sent while this connection is still reconnecting after a broker
  // restart is lost, and createStream() retries it sooner.
  jsm = await jetstreamManager(nc, { timeout: 1000 });
});
afterAll(async () => {
  await nc?.close();
  await broker?.stop();
});

/** A stream capturing `<prefix>.>`, retried while the broker is coming back. */
async function createStream(m: JetStreamManager, name: string, prefix: string): Promise<void> {
  await waitFor(() => m.streams.add({ name, subjects: [`${prefix}.>`] }).then(() => true), `stream ${name}`);
}

/** The provider as the conformance suite sees it, every subscribe going through `stream`. */
function viaStream(p: NatsProvider, stream: StreamOptions): BackgroundStartable {
  return {
    id: p.id,
    kind: p.kind,
    start: () => p.start(),
    stop: () => p.stop(),
    startInBackground: () => p.startInBackground(),
    subscribe: (topics, onEvents, options) => p.subscribe(topics, onEvents, { ...options, stream }),
    publish: (topic, data, options) => p.publish(topic, data, options),
    request: (subject, data, timeoutMs) => p.request(subject, data, timeoutMs),
    health: () => p.health(),
  };
}

runProviderConformance("nats-jetstream", async () => {
  const topicPrefix = randomPrefix();
  const stream = { streamName: `C_${topicPrefix}`, consumerName: "conf", consumerInactiveThreshold: 30 };
  await createStream(jsm, stream.streamName, topicPrefix);
  const provider = new NatsProvider({ id: "js", url: broker.url }, { instanceId: "conformance" });
  await provider.start();
  return {
    provider: viaStream(provider, stream),
    topicPrefix,
    wildcard: {
      pattern: `${topicPrefix}.*.x.>`,
      matching: [`${topicPrefix}.a.x.1`, `${topicPrefix}.b.x.1.2`],
      nonMatching: [`${topicPrefix}.a.x`, `${topicPrefix}.a.y.1`, `${topicPrefix}.a.b.x.1`],
    },
    // At-least-once: a message whose ack had not reached the server when it died is delivered
    // again, which the suite (written for at-most-once brokers) would count as a duplicate. So the
    // restart waits until the server has every ack; what JetStream then must not do is redeliver.
    restartBroker: async () => {
      await waitFor(
        async () => (await provider.jetStreamLag()).every((l) => l.ackPending === 0),
        "acks to reach the server",
      );
      await broker.restart();
    },
    stopBroker: () => broker.kill(),
    startBroker: () => broker.start(),
    makeProviderForDownBroker: async () => {
      const port = await freePort();
      const dp = new NatsProvider({ id: "js-late", url: `nats://127.0.0.1:${port}` });
      let late: NatsServer | undefined;
      let lateNc: NatsConnection | undefined;
      return {
        provider: viaStream(dp, stream),
        startBroker: async () => {
          late = await startNats({ port, jetstream: true });
          lateNc = await connect({ servers: late.url });
          await createStream(await jetstreamManager(lateNc), stream.streamName, topicPrefix);
        },
        cleanup: async () => {
          await dp.stop();
          await lateNc?.close();
          await late?.stop();
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

describe("NatsProvider JetStream", () => {
  let prefix: string;
  let stream: StreamOptions;
  const providers: NatsProvider[] = [];
  /** A started provider for instance `instanceId`, stopped after the test. */
  const provider = async (instanceId = "instance-a"): Promise<NatsProvider> => {
    const p = new NatsProvider({ id: "js", url: broker.url }, { instanceId });
    providers.push(p);
    await p.start();
    return p;
  };
  const subject = (name: string) => `${prefix}.${name}`;
  const consumerOf = (s: string, instanceId = "instance-a") =>
    jsm.consumers.info(stream.streamName, durableName(stream.consumerName, instanceId, s));

  beforeEach(async () => {
    prefix = randomPrefix();
    stream = { streamName: `S_${prefix}`, consumerName: "employees", consumerInactiveThreshold: 30 };
    await createStream(jsm, stream.streamName, prefix);
  });
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.stop()));
    await broker.start();
  });

  it("names each durable consumerName-<stable hash of instance id and subject>", async () => {
    const a = durableName("employees", "host-1", "employeeUpdated.3");
    expect(a).toMatch(/^employees-[0-9a-f]{12}$/);
    expect(durableName("employees", "host-1", "employeeUpdated.3")).toBe(a);
    expect(durableName("employees", "host-2", "employeeUpdated.3")).not.toBe(a);
    expect(durableName("employees", "host-1", "employeeUpdated.4")).not.toBe(a);

    const p = await provider();
    await p.subscribe([subject("n")], () => undefined, { stream });
    const ci = await consumerOf(subject("n"));
    expect(ci.name).toBe(durableName("employees", "instance-a", subject("n")));
    expect(ci.config).toMatchObject({
      durable_name: ci.name,
      filter_subject: subject("n"),
      deliver_policy: DeliverPolicy.New,
      ack_policy: AckPolicy.Explicit,
      inactive_threshold: 30e9,
      max_ack_pending: 1000,
    });
  });

  it("delivers only messages published after the first subscribe, with seq and headers", async () => {
    const p = await provider();
    await p.publish(subject("new"), bytes("old"));
    const c = new Collector();
    await p.subscribe([subject("new")], c.handler, { stream });
    await p.publish(subject("new"), bytes("fresh"));
    const h = headers();
    h.set("X-Trace", "t1");
    nc.publish(subject("new"), bytes("with-header"), { headers: h });
    await c.waitForCount(2);
    expect(c.texts()).toEqual(["fresh", "with-header"]);
    expect(c.events.map((e) => e.position)).toEqual(["2", "3"]);
    expect(c.events[0]).toMatchObject({ topic: subject("new") });
    expect(c.events[0]!.headers).toBeUndefined();
    expect(c.events[1]!.headers).toEqual({ "X-Trace": "t1" });
  });

  it("delivers 100 messages in stream order", async () => {
    const p = await provider();
    const c = new Collector();
    await p.subscribe([subject("order")], c.handler, { stream });
    const sent = Array.from({ length: 100 }, (_, i) => `m${i}`);
    for (const m of sent) await p.publish(subject("order"), bytes(m));
    await c.waitForCount(100);
    expect(c.texts()).toEqual(sent);
    expect(c.events.map((e) => Number(e.position))).toEqual(sent.map((_, i) => i + 1));
  });

  it("resumes where it left: messages published while unsubscribed arrive on re-subscribe", async () => {
    const p = await provider();
    const first = new Collector();
    const unsubscribe = await p.subscribe([subject("r")], first.handler, { stream });
    await p.publish(subject("r"), bytes("1"));
    await first.waitForText("1");
    await unsubscribe();
    await unsubscribe();
    await p.publish(subject("r"), bytes("2"));
    await p.publish(subject("r"), bytes("3"));
    // The durable outlives the subscription, with its position.
    const kept = await consumerOf(subject("r"));
    expect(kept.num_pending).toBe(2);
    const second = new Collector();
    await p.subscribe([subject("r")], second.handler, { stream });
    await second.waitForCount(2);
    expect(second.texts()).toEqual(["2", "3"]);
    expect(first.texts()).toEqual(["1"]);
  });

  it("resumes the same durable after the instance restarts; another instance starts fresh", async () => {
    const before = await provider("instance-r");
    const c1 = new Collector();
    await before.subscribe([subject("restart")], c1.handler, { stream });
    await before.publish(subject("restart"), bytes("a"));
    await c1.waitForText("a");
    await before.stop();
    nc.publish(subject("restart"), bytes("b"));
    await nc.flush();
    const again = await provider("instance-r");
    const other = await provider("instance-s");
    const c2 = new Collector();
    const c3 = new Collector();
    await again.subscribe([subject("restart")], c2.handler, { stream });
    await other.subscribe([subject("restart")], c3.handler, { stream });
    await again.publish(subject("restart"), bytes("c"));
    await c2.waitForCount(2);
    await c3.waitForCount(1);
    expect(c2.texts()).toEqual(["b", "c"]);
    expect(c3.texts()).toEqual(["c"]);
  });

  it("acks after dispatch: the ack floor advances, a throwing handler gets the message again", async () => {
    const p = await provider();
    const c = new Collector();
    await p.subscribe([subject("ack")], c.handler, { stream });
    for (const m of ["1", "2", "3"]) await p.publish(subject("ack"), bytes(m));
    await c.waitForCount(3);
    await waitFor(async () => {
      const [lag] = await p.jetStreamLag();
      return lag?.ackFloor === 3 && lag.ackPending === 0 && lag.pending === 0;
    }, "ack floor at 3");
    expect((await p.jetStreamLag())[0]).toMatchObject({
      stream: stream.streamName,
      consumer: durableName("employees", "instance-a", subject("ack")),
      subject: subject("ack"),
      consuming: true,
      delivered: 3,
    });

    const seen: string[] = [];
    const errors: Error[] = [];
    let thrown = 0;
    await p.subscribe(
      [subject("nak")],
      (events) => {
        for (const e of events) seen.push(`${Buffer.from(e.data)}@${e.position}`);
        if (thrown++ === 0) throw new Error("boom");
      },
      { stream, onError: (e) => errors.push(e) },
    );
    await p.publish(subject("nak"), bytes("x"));
    await waitFor(() => seen.length === 2, "the redelivery");
    expect(seen).toEqual(["x@4", "x@4"]);
    expect(errors.map((e) => e.message)).toEqual(["boom"]);
    await waitFor(async () => (await consumerOf(subject("nak"))).ack_floor.stream_seq === 4, "ack of 4");
    expect((await consumerOf(subject("nak"))).num_ack_pending).toBe(0);
  });

  it("gives up on a message whose handler always throws", { timeout: 30_000 }, async () => {
    const p = await provider();
    const attempts: string[] = [];
    await p.subscribe(
      [subject("poison")],
      (events) => {
        attempts.push(events[0]!.position!);
        throw new Error("always");
      },
      { stream, onError: () => undefined },
    );
    await p.publish(subject("poison"), bytes("x"));
    await waitFor(() => attempts.length === 5, "5 attempts", 20_000);
    await waitFor(async () => (await consumerOf(subject("poison"))).num_ack_pending === 0, "term");
    expect(attempts).toEqual(["1", "1", "1", "1", "1"]);
  });

  it("rejects a subscribe to a missing stream, naming it, and keeps working", async () => {
    const p = await provider();
    const err = await p
      .subscribe([subject("x")], () => undefined, { stream: { ...stream, streamName: "noSuchStream" } })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: ErrorCode.PROVIDER_UNAVAILABLE,
      message: expect.stringContaining('JetStream stream "noSuchStream" does not exist'),
    });
    expect(String((err as Error).message)).toContain(subject("x"));
    await expect(
      p.subscribe([subject("x")], () => undefined, { stream: { ...stream, consumerName: "a.b" } }),
    ).rejects.toMatchObject({ code: ErrorCode.SCHEMA_EDFS });
    expect(await p.jetStreamLag()).toEqual([]);
    const c = new Collector();
    await p.subscribe([subject("x")], c.handler, { stream });
    await p.publish(subject("x"), bytes("ok"));
    await c.waitForText("ok");
  });

  it("keeps consuming across a broker restart, losing nothing published after it", {
    timeout: 60_000,
  }, async () => {
    const p = await provider();
    const c = new Collector();
    await p.subscribe([subject("rs")], c.handler, { stream });
    await p.publish(subject("rs"), bytes("before"));
    await c.waitForText("before");
    await broker.restart();
    await waitFor(() => p.health().connected && p.health().counters.reconnects > 0, "reconnect", 30_000);
    // Stored by the stream whether or not the pull has resumed yet: every one must arrive.
    const after = Array.from({ length: 10 }, (_, i) => `after-${i}`);
    for (const m of after) {
      await waitFor(() => p.publish(subject("rs"), bytes(m)).then(() => true), `publish ${m}`, 20_000);
    }
    await c.waitForCount(11, 30_000);
    expect(c.texts()).toEqual(["before", ...after]);
  });

  it("starts a subscription made while the broker is down once it is back", { timeout: 60_000 }, async () => {
    const p = await provider();
    await broker.kill();
    await waitFor(() => !p.health().connected, "disconnect", 30_000);
    const c = new Collector();
    await p.subscribe([subject("late")], c.handler, { stream });
    expect((await p.jetStreamLag())[0]).toMatchObject({ consuming: false, error: "not connected" });
    await broker.start();
    await waitFor(async () => (await p.jetStreamLag())[0]?.consuming, "the durable to start", 30_000);
    await p.publish(subject("late"), bytes("x"));
    await c.waitForText("x");
  });

  it("keeps two subjects of two subscribe calls apart, one durable each", async () => {
    const p = await provider();
    const a = new Collector();
    const b = new Collector();
    await p.subscribe([subject("a")], a.handler, { stream });
    await p.subscribe([subject("b")], b.handler, { stream });
    await p.publish(subject("a"), bytes("for-a"));
    await p.publish(subject("b"), bytes("for-b"));
    await a.waitForText("for-a");
    await b.waitForText("for-b");
    expect(a.texts()).toEqual(["for-a"]);
    expect(b.texts()).toEqual(["for-b"]);
    const names: string[] = [];
    for await (const ci of jsm.consumers.list(stream.streamName)) names.push(ci.name);
    expect(names.sort()).toEqual(
      [subject("a"), subject("b")].map((s) => durableName("employees", "instance-a", s)).sort(),
    );
  });

  it("recreates a durable lost while subscribed, after the last message it settled", {
    timeout: 30_000,
  }, async () => {
    const p = await provider();
    const c = new Collector();
    await p.subscribe([subject("lost")], c.handler, { stream });
    await p.publish(subject("lost"), bytes("1"));
    await c.waitForText("1");
    await waitFor(async () => (await consumerOf(subject("lost"))).ack_floor.stream_seq === 1, "ack of 1");
    // nats-server 2.9 may answer "directory not empty" when the provider recreates the consumer
    // while the server still removes its files; the config checked below proves the recreation.
    const name = durableName("employees", "instance-a", subject("lost"));
    await jsm.consumers.delete(stream.streamName, name).catch(() => undefined);
    await p.publish(subject("lost"), bytes("2"));
    await c.waitForText("2", 20_000);
    await p.publish(subject("lost"), bytes("3"));
    await c.waitForText("3");
    expect(c.texts()).toEqual(["1", "2", "3"]);
    expect((await consumerOf(subject("lost"))).config).toMatchObject({
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: 2,
    });
  });

  it("leaves an unsubscribed durable to the server, which reaps it after the inactive threshold", {
    timeout: 30_000,
  }, async () => {
    const p = await provider();
    const short = { ...stream, consumerInactiveThreshold: 1 };
    const unsubscribe = await p.subscribe([subject("reap")], () => undefined, { stream: short });
    await unsubscribe();
    await expect(consumerOf(subject("reap"))).resolves.toBeTruthy();
    await waitFor(
      () =>
        consumerOf(subject("reap")).then(
          () => false,
          () => true,
        ),
      "the server to reap the durable",
      15_000,
      200,
    );
  });
});
