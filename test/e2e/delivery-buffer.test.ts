/**
 * The session buffer end to end (docs/delivery.md, "Session buffer"): at-least-once NATS core
 * subjects and Redis pub/sub channels, made replayable through a log in a real redis-server
 * shared by router instances. Real nats-server, two real redis-servers (one the pub/sub broker,
 * one holding the buffer, so either can be stopped alone), the built router, raw
 * graphql-transport-ws sockets, publishers that never stop.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { logKeys } from "../../src/delivery/buffer/codec.js";
import { CursorCodec } from "../../src/delivery/cursor.js";
import { ensureBinary } from "../helpers/brokers/ensure.js";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";
import { type RedisServer, startRedis } from "../helpers/brokers/redis.js";
import { type RawSocket, rawSocket } from "../helpers/clients.js";
import { type RunningRouter, readMetric, startRouterProcess, tempFiles } from "../helpers/router.js";

const run = promisify(execFile);
const SECRET = "cursor-secret-for-buffer-tests-0123456789";
const SDL = `
type Subscription {
  natsOrders(key: String!): Order! @edfs__natsSubscribe(subjects: ["buf.{{ args.key }}"])
  redisOrders(key: String!): Order! @edfs__redisSubscribe(channels: ["buf.{{ args.key }}"], providerId: "pubsub")
}
type Order @key(fields: "id", resolvable: false) { id: ID! @external }
`;

let nats: NatsServer;
let nc: NatsConnection;
/** The Redis pub/sub broker. */
let broker: RedisServer;
/** The Redis holding the session buffer. */
let store: RedisServer;
let brokerPub: Redis;
let storeCli: Redis;
let keySeq = 0;
const enc = new TextEncoder();

/** A subject/channel key no other test uses (logs outlive a test by ttl). */
const freshKey = (name: string): string => `${name}-${process.pid}-${++keySeq}`;

function config(instance: string, maxEvents = 1000): string {
  return `listen_addr: 127.0.0.1:0
shutdown_grace_period: 2s
instance_id: ${instance}
heartbeat_interval: 1s
subgraphs:
  - name: events
    schema_file: ./events.graphql
events:
  providers:
    nats:
      - id: default
        url: ${nats.url}
        delivery: at_least_once
    redis:
      - id: pubsub
        urls: ["${broker.url}"]
        delivery: at_least_once
      - id: buffer
        urls: ["${store.url}"]
delivery:
  cursor_secret: "${SECRET}"
  session_buffer:
    provider_id: buffer
    max_events: ${maxEvents}
    ttl: 3s
    lease: 1s
`;
}

async function router(instance: string, maxEvents?: number): Promise<RunningRouter> {
  const d = await tempFiles({ "events.graphql": SDL, "config.yaml": config(instance, maxEvents) });
  return startRouterProcess(["--config", `${d}/config.yaml`]);
}

beforeAll(async () => {
  [nats, broker, store] = await Promise.all([startNats(), startRedis(), startRedis()]);
  nc = await connect({ servers: nats.url });
  brokerPub = new Redis(broker.url);
  storeCli = new Redis(store.url, { maxRetriesPerRequest: 1 });
  storeCli.on("error", () => undefined);
});

afterAll(async () => {
  await nc?.close();
  brokerPub?.disconnect();
  storeCli?.disconnect();
  await Promise.all([nats?.stop(), broker?.stop(), store?.stop()]);
});

type Kind = "nats" | "redis";
const FIELD: Record<Kind, string> = { nats: "natsOrders", redis: "redisOrders" };
const PROVIDER: Record<Kind, string> = { nats: "default", redis: "pubsub" };

type Next = {
  id: string;
  payload: { data: Record<string, { id: string }>; extensions?: Record<string, unknown> };
};

function publish(kind: Kind, key: string, id: number): void {
  const body = JSON.stringify({ __typename: "Order", id: String(id) });
  if (kind === "nats") nc.publish(`buf.${key}`, enc.encode(body));
  else void brokerPub.publish(`buf.${key}`, body);
}

/** Publishes events numbered from `from` every `everyMs` until stopped; stop() returns the last id. */
function publisher(kind: Kind, key: string, from: number, everyMs = 5) {
  let n = from;
  const t = setInterval(() => publish(kind, key, n++), everyMs);
  return {
    get next() {
      return n;
    },
    stop: async () => {
      clearInterval(t);
      if (kind === "nats") await nc.flush();
      else await brokerPub.ping();
      return n - 1;
    },
  };
}

/** A graphql-transport-ws socket subscribed to `kind`'s field for `key` (resuming from `cursor`). */
async function subscribe(r: RunningRouter, kind: Kind, key: string, cursor?: string): Promise<RawSocket> {
  const raw = await rawSocket(`${r.ws}/graphql`);
  raw.send({ type: "connection_init" });
  await vi.waitFor(() => expect(raw.frames[0]).toEqual({ type: "connection_ack" }));
  raw.send({
    id: "s",
    type: "subscribe",
    payload: {
      query: `subscription { ${FIELD[kind]}(key: ${JSON.stringify(key)}) { id } }`,
      ...(cursor ? { extensions: { cursor } } : {}),
    },
  });
  return raw;
}

const nexts = (raw: RawSocket) => raw.frames.filter((f) => f.type === "next") as unknown as Next[];
const ids = (raw: RawSocket) => nexts(raw).map((n) => Number(Object.values(n.payload.data)[0]!.id));
const lastCursor = (raw: RawSocket) => nexts(raw).at(-1)?.payload.extensions?.cursor as string;
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** Publishes until the socket got a first event (the broker subscription is asynchronous). */
async function primed(kind: Kind, key: string, raw: RawSocket, id = 0): Promise<void> {
  await vi.waitFor(
    () => {
      if (nexts(raw).length === 0) publish(kind, key, id);
      expect(nexts(raw).length).toBeGreaterThan(0);
    },
    { timeout: 5000, interval: 100 },
  );
}

/** The ids form exactly from..to, once each, in order. */
function expectExactly(got: number[], from: number, to: number): void {
  expect(got.length).toBe(to - from + 1);
  expect(got).toEqual(Array.from({ length: to - from + 1 }, (_, i) => from + i));
}

/** Strictly increasing (no duplicate, no reordering). */
function expectIncreasing(got: number[]): void {
  for (let i = 1; i < got.length; i++) expect(got[i]!).toBeGreaterThan(got[i - 1]!);
}

describe.each(["nats", "redis"] as const)("session buffer over %s", (kind) => {
  let a: RunningRouter;
  let b: RunningRouter;
  beforeAll(async () => {
    [a, b] = await Promise.all([router(`${kind}-a`), router(`${kind}-b`)]);
  });
  afterAll(async () => {
    const codes = await Promise.all([a?.stop(), b?.stop()]);
    expect(codes).toEqual([0, 0]);
  });

  it("says at_least_once and puts a cursor on every next", async () => {
    const key = freshKey("report");
    const raw = await subscribe(a, kind, key);
    await primed(kind, key, raw);
    for (let i = 1; i <= 3; i++) publish(kind, key, i);
    await vi.waitFor(() => expect(nexts(raw).length).toBeGreaterThanOrEqual(4));
    expect(nexts(raw)[0]!.payload.extensions).toMatchObject({
      cursor: expect.any(String),
      delivery: { guarantee: "at_least_once", achieved: "at_least_once" },
    });
    expect(nexts(raw)[1]!.payload.extensions).toEqual({ cursor: expect.any(String) });
    expect(new Set(nexts(raw).map((n) => n.payload.extensions!.cursor)).size).toBe(nexts(raw).length);
    raw.ws.close();
  });

  for (const where of ["the same instance", "a second instance"] as const) {
    it(`resumes a client that dropped mid-stream on ${where}: each event once, in order`, async () => {
      const key = freshKey("resume");
      const first = await subscribe(a, kind, key);
      await primed(kind, key, first);
      const pub = publisher(kind, key, 1);
      await vi.waitFor(() => expect(ids(first).filter((i) => i > 0).length).toBeGreaterThan(40), {
        timeout: 10_000,
      });
      first.ws.terminate();
      const before = ids(first).filter((i) => i > 0);
      await sleep(400); // events the client misses
      const second = await subscribe(where === "the same instance" ? a : b, kind, key, lastCursor(first));
      await vi.waitFor(() => expect(ids(second).length).toBeGreaterThan(80), { timeout: 10_000 });
      const end = await pub.stop();
      await vi.waitFor(() => expect(ids(second).at(-1)).toBe(end), { timeout: 10_000 });
      expectExactly(before, 1, before.at(-1)!);
      expectExactly(ids(second), before.at(-1)! + 1, end);
      expect(nexts(second)[0]!.payload.extensions?.gap).toBeUndefined();
      second.ws.close();
    });
  }
});
