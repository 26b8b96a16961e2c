/**
 * Many clients resuming at once from the same cursor (docs/delivery.md, "Many clients resuming at
 * once"), on a real nats-server with JetStream, while a publisher never stops: they share broker
 * reads instead of opening one consumer each, at most `max_concurrent_replays` run at a time, and
 * every client still gets every event once, in order, with no gap.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";
import { type RawSocket, rawSubscribe } from "../helpers/clients.js";
import {
  natsRouterConfig,
  readMetric,
  type RunningRouter,
  startRouterProcess,
  tempFiles,
} from "../helpers/router.js";

const SECRET = "cursor-secret-for-tests-0123456789abcdef";
const SDL = `
type Subscription {
  herdUpdated: Order! @edfs__natsSubscribe(subjects: ["herd.updated"], streamConfiguration: { consumerName: "router", streamName: "herd" })
}
type Order @key(fields: "id", resolvable: false) { id: ID! @external }
`;
const CLIENTS = 200;

let nats: NatsServer;
let nc: NatsConnection;
let r: RunningRouter;
const enc = new TextEncoder();

beforeAll(async () => {
  nats = await startNats({ jetstream: true });
  nc = await connect({ servers: nats.url });
  await (await jetstreamManager(nc)).streams.add({ name: "herd", subjects: ["herd.>"] });
  const config = natsRouterConfig(
    nats.url,
    `        delivery: at_least_once
delivery:
  cursor_secret: "${SECRET}"
  max_concurrent_replays: 2
`,
  );
  const d = await tempFiles({ "events.graphql": SDL, "config.yaml": config });
  r = await startRouterProcess(["--config", `${d}/config.yaml`]);
});

afterAll(async () => {
  await r?.stop();
  await nc?.close();
  await nats?.stop();
});

type Next = { payload: { data: { herdUpdated: { id: string } }; extensions?: Record<string, unknown> } };
const nexts = (raw: RawSocket) => raw.frames.filter((f) => f.type === "next") as unknown as Next[];
const ids = (raw: RawSocket) => nexts(raw).map((n) => Number(n.payload.data.herdUpdated.id));

const subscribe = (cursor?: string) =>
  rawSubscribe(`${r.ws}/graphql`, "subscription { herdUpdated { id } }", cursor);

describe("a herd of resumes on JetStream", () => {
  it(`shares broker reads between ${CLIENTS} clients resuming from one cursor, none missing an event`, async () => {
    const first = await subscribe();
    await new Promise((res) => setTimeout(res, 300));
    let n = 1;
    const publish = () =>
      nc.publish("herd.updated", enc.encode(JSON.stringify({ __typename: "Order", id: String(n++) })));
    const timer = setInterval(publish, 5);
    try {
      await vi.waitFor(() => expect(nexts(first).length).toBeGreaterThan(20), { timeout: 10_000 });
      first.ws.terminate();
      const seen = ids(first);
      const cursor = nexts(first).at(-1)!.payload.extensions!.cursor as string;
      await new Promise((res) => setTimeout(res, 500)); // events everyone missed
      const herd = await Promise.all(Array.from({ length: CLIENTS }, () => subscribe(cursor)));
      await new Promise((res) => setTimeout(res, 500));
      clearInterval(timer);
      await nc.flush();
      const end = n - 1;
      for (const raw of herd) await vi.waitFor(() => expect(ids(raw).at(-1)).toBe(end), { timeout: 20_000 });
      const from = seen.at(-1)! + 1;
      for (const raw of herd) {
        expect(ids(raw)).toEqual(Array.from({ length: end - from + 1 }, (_, i) => from + i));
        expect(nexts(raw).some((x) => x.payload.extensions?.gap)).toBe(false);
      }
      expect(await readMetric(r.http, "streamgate_delivery_resumes_total")).toBe(CLIENTS);
      const reads = await readMetric(r.http, "streamgate_delivery_replay_reads_total");
      // One read per client without sharing; a few when they come in while a read runs.
      expect(reads).toBeGreaterThanOrEqual(1);
      expect(reads).toBeLessThan(CLIENTS / 10);
      expect(await readMetric(r.http, "streamgate_delivery_gaps_total")).toBe(0);
      for (const raw of herd) raw.ws.close();
    } finally {
      clearInterval(timer);
    }
  });

  it("survives clients that resume and vanish at once, mid-read, while a well-behaved one misses nothing", async () => {
    const first = await subscribe();
    await new Promise((res) => setTimeout(res, 300));
    let n = 100_000;
    const timer = setInterval(
      () => nc.publish("herd.updated", enc.encode(JSON.stringify({ __typename: "Order", id: String(n++) }))),
      5,
    );
    try {
      await vi.waitFor(() => expect(nexts(first).length).toBeGreaterThan(20), { timeout: 10_000 });
      first.ws.terminate();
      const seen = ids(first);
      const cursor = nexts(first).at(-1)!.payload.extensions!.cursor as string;
      await new Promise((res) => setTimeout(res, 300));
      // 100 clients send the resume and drop the TCP connection without a close, in waves.
      for (let wave = 0; wave < 4; wave++) {
        const quitters = await Promise.all(Array.from({ length: 25 }, () => subscribe(cursor)));
        for (const q of quitters) q.ws.terminate();
      }
      const good = await subscribe(cursor);
      await new Promise((res) => setTimeout(res, 300));
      clearInterval(timer);
      await nc.flush();
      const end = n - 1;
      await vi.waitFor(() => expect(ids(good).at(-1)).toBe(end), { timeout: 20_000 });
      const from = seen.at(-1)! + 1;
      expect(ids(good)).toEqual(Array.from({ length: end - from + 1 }, (_, i) => from + i));
      expect(nexts(good).some((x) => x.payload.extensions?.gap)).toBe(false);
      expect((await fetch(`${r.http}/health/live`)).status).toBe(200);
      expect(r.process.exitCode).toBeNull();
      good.ws.close();
    } finally {
      clearInterval(timer);
    }
  });
});
