/**
 * Lag and health of JetStream consumption on a real nats-server: the per-durable figures behind
 * /metrics (pending, ack pending, redelivered) and readiness with `health.max_lag`. A subscriber
 * that throws makes the router nak every message, so messages pile up unacknowledged (capped by
 * the durable's max_ack_pending), the rest stay pending, and naked ones are redelivered.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readiness } from "../../src/observability/health.js";
import { MAX_ACK_PENDING } from "../../src/providers/nats/jetstream-durable.js";
import { NatsProvider } from "../../src/providers/nats/provider.js";
import { bytes, randomPrefix, waitFor } from "../conformance/collector.js";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";

let broker: NatsServer;
let nc: NatsConnection;
beforeAll(async () => {
  broker = await startNats({ jetstream: true });
  nc = await connect({ servers: broker.url });
});
afterAll(async () => {
  await nc?.close();
  await broker?.stop();
});

describe("JetStream lag and readiness", () => {
  it("reports pending, ack pending and redelivered, and is not ready past max_lag", {
    timeout: 30_000,
  }, async () => {
    const prefix = randomPrefix();
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: `L_${prefix}`, subjects: [`${prefix}.>`] });
    const p = new NatsProvider(
      { id: "js", url: broker.url, health: { max_lag: 50 } },
      { instanceId: "lag", lagIntervalMs: 100 },
    );
    try {
      await p.start();
      expect(p.health()).toMatchObject({ maxLag: 50, lagging: false });
      await p.subscribe(
        [`${prefix}.x`],
        () => {
          throw new Error("subscriber down");
        },
        { stream: { streamName: `L_${prefix}`, consumerName: "lag", consumerInactiveThreshold: 30 } },
      );
      const extra = 100;
      for (let i = 0; i < MAX_ACK_PENDING + extra; i++) nc.publish(`${prefix}.x`, bytes(String(i)));
      await nc.flush();
      await waitFor(
        async () => {
          const [l] = await p.consumerLag();
          return (l?.pending ?? 0) >= extra && l?.ackPending === MAX_ACK_PENDING && (l?.redelivered ?? 0) > 0;
        },
        "pending, ack pending and redelivered figures",
        20_000,
      );
      const [lag] = await p.consumerLag();
      expect(lag).toMatchObject({
        source: `L_${prefix}`,
        consumer: expect.stringMatching(/^lag-[0-9a-f]{12}$/),
      });
      await waitFor(() => p.health().lagging === true, "the provider to report lagging");
      const ready = readiness(true, [p], false);
      expect(ready.ready).toBe(false);
      expect(JSON.parse(ready.body)).toMatchObject({
        providers_down: [],
        providers_lagging: [{ id: "js", kind: "nats", max_lag: 50, lag: expect.any(Number) }],
      });
    } finally {
      await p.stop();
    }
  });
});
