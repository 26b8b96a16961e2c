/**
 * JetStream deliveries lost in transit, on a real nats-server. At a server restart, messages the
 * server had written (and counted as delivered) can die in its socket; the server sends them again
 * only after ack_wait (30 s), after newer ones. Here the loss is made deterministic: a second
 * puller on the router's durable takes one delivery, so the router sees the consumer's delivery
 * sequence jump, exactly as after a lost write. And two routers that wrongly share an instance id
 * (so pull from one durable and see such jumps all the time) must not recreate it forever.
 */
import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { durableName } from "../../src/providers/nats/jetstream.js";
import { RECREATE_BUDGET } from "../../src/providers/nats/jetstream-sequence.js";
import { NatsProvider } from "../../src/providers/nats/provider.js";
import type { EventsHandler } from "../../src/providers/provider.js";
import { bytes, Collector, waitFor } from "../conformance/collector.js";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";

let broker: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
const stream = { streamName: "holes", consumerName: "router", consumerInactiveThreshold: 30 };

beforeAll(async () => {
  broker = await startNats({ jetstream: true });
  nc = await connect({ servers: broker.url });
  jsm = await jetstreamManager(nc, { timeout: 2000 });
  await jsm.streams.add({ name: stream.streamName, subjects: ["holes.>"] });
});
afterAll(async () => {
  await nc?.close();
  await broker?.stop();
});

// With slow writes, the event before the hole is still being written (unsettled) when the hole
// shows: the recreation waits for it instead of sending it again.
it.each([
  ["writes done at once", 0],
  ["slow writes", 400],
])(
  "gets deliveries lost on the way again at once and in order, recreating the durable after what it settled (%s)",
  {
    timeout: 60_000,
  },
  async (_, writeMs) => {
    // A stream of its own: the stream sequences below are those of this test's events.
    const own = { ...stream, streamName: `gap${writeMs}` };
    await jsm.streams.add({ name: own.streamName, subjects: [`gap${writeMs}.>`] });
    const subject = `gap${writeMs}.orders`;
    const name = durableName(stream.consumerName, "g", subject);
    const p = new NatsProvider({ id: "js", url: broker.url }, { instanceId: "g" });
    await p.start();
    try {
      const c = new Collector();
      const errors: Error[] = [];
      const handler: EventsHandler = (events) => {
        c.handler(events);
        // What the router's at-least-once delivery returns: when the write is done (then the ack).
        return writeMs > 0 ? new Promise<void>((res) => setTimeout(res, writeMs)) : undefined;
      };
      await p.subscribe([subject], handler, { stream: own, onError: (e) => errors.push(e) });
      for (let i = 1; i <= 3; i++) await p.publish(subject, bytes(`e-${i}`));
      await c.waitForCount(3);
      await waitFor(
        async () => (await jsm.consumers.info(own.streamName, name)).ack_floor.stream_seq === 3,
        "acks",
      );
      // A thief pulls one message from the router's durable and never acks it: to the router, one
      // delivery sequence is missing, as if the server's write had been lost.
      const thief = await jetstream(nc).consumers.get(own.streamName, name);
      const stolen = await thief.fetch({ max_messages: 1, expires: 20_000 });
      const thiefGot: string[] = [];
      // nats.js sends the pull once the iterator is read.
      const thiefDone = (async () => {
        for await (const m of stolen) thiefGot.push(Buffer.from(m.data).toString());
      })().catch(() => undefined);
      await waitFor(
        async () => (await jsm.consumers.info(own.streamName, name)).num_waiting >= 2,
        "the thief's pull to wait next to the router's",
      );
      const sentAt = Date.now();
      for (let i = 4; i <= 8; i++) await p.publish(subject, bytes(`e-${i}`));
      await c.waitForText("e-8", 20_000);
      const took = Date.now() - sentAt;
      // The thief did get one (otherwise this test proves nothing).
      await thiefDone;
      expect(thiefGot).toHaveLength(1);
      // Every event once, in order, long before ack_wait (30 s) would have brought the stolen one.
      await waitFor(
        async () => (await jsm.consumers.info(own.streamName, name)).num_pending === 0,
        "drained",
      );
      expect(c.texts()).toEqual(Array.from({ length: 8 }, (_, i) => `e-${i + 1}`));
      expect(took).toBeLessThan(15_000);
      expect(errors.map((e) => e.message)).toEqual([
        expect.stringMatching(/missed deliveries \d+\.\.\d+ .*recreating it after stream sequence \d+/),
      ]);
      // The durable was recreated: a delivery sequence starting over, and nothing left unacked.
      const info = await jsm.consumers.info(own.streamName, name);
      expect(info.config.opt_start_seq).toBeGreaterThanOrEqual(5);
      await waitFor(
        async () => (await jsm.consumers.info(own.streamName, name)).num_ack_pending === 0,
        "every event acked on the recreated durable",
      );
    } finally {
      await p.stop();
    }
  },
);

it("two routers sharing an instance id (one durable) stop recreating it after a few times, and say why", {
  timeout: 90_000,
}, async () => {
  const subject = "holes.twins";
  const name = durableName(stream.consumerName, "twin", subject);
  const twins = [0, 1].map(() => new NatsProvider({ id: "js", url: broker.url }, { instanceId: "twin" }));
  const collectors = twins.map(() => new Collector());
  const errors: string[][] = twins.map(() => []);
  try {
    for (const [i, p] of twins.entries()) {
      await p.start();
      await p.subscribe([subject], collectors[i]!.handler, {
        stream,
        onError: (e) => errors[i]!.push(e.message),
      });
    }
    const gaveUp = (i: number) => errors[i]!.some((m) => /another process probably pulls/.test(m));
    // Both pull from the one durable: each sees the other's deliveries as gaps.
    let n = 0;
    await waitFor(
      async () => {
        for (let k = 0; k < 5; k++) await twins[0]!.publish(subject, bytes(`t-${n++}`));
        return gaveUp(0) && gaveUp(1);
      },
      "both routers to give up recreating",
      60_000,
      50,
    );
    for (const list of errors) {
      expect(list.filter((m) => /recreating it after/.test(m)).length).toBeLessThanOrEqual(
        RECREATE_BUDGET.max,
      );
      expect(list.filter((m) => /another process probably pulls/.test(m))).toHaveLength(1);
      expect(list.find((m) => /another process/.test(m))).toMatch(/same instance_id/);
    }
    // From now on the durable stays: every event reaches one of the two (they split them).
    const created = (await jsm.consumers.info(stream.streamName, name)).created;
    const from = n;
    for (let k = 0; k < 40; k++) await twins[0]!.publish(subject, bytes(`t-${n++}`));
    const wanted = Array.from({ length: n - from }, (_, k) => `t-${from + k}`);
    await waitFor(
      () => wanted.every((t) => collectors.some((c) => c.texts().includes(t))),
      "every later event at one of the routers",
      20_000,
    );
    expect((await jsm.consumers.info(stream.streamName, name)).created).toEqual(created);
    for (const list of errors)
      expect(list.filter((m) => /recreating it after/.test(m)).length).toBeLessThanOrEqual(
        RECREATE_BUDGET.max,
      );
  } finally {
    for (const p of twins) await p.stop();
  }
});
