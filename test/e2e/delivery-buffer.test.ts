/**
 * The session buffer end to end (docs/delivery.md, "Session buffer"): at-least-once NATS core
 * subjects and Redis pub/sub channels, made replayable through a log in a real redis-server
 * shared by router instances. Real nats-server, two real redis-servers (one the pub/sub broker,
 * one holding the buffer, so either can be stopped alone), the built router, raw
 * graphql-transport-ws sockets, publishers that never stop.
 */
import { writeFile } from "node:fs/promises";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { logKeys } from "../../src/delivery/buffer/codec.js";
import { CursorCodec } from "../../src/delivery/cursor.js";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";
import { type RedisServer, startRedis } from "../helpers/brokers/redis.js";
import { type RawSocket, rawSubscribe } from "../helpers/clients.js";
import {
  natsRouterConfig,
  type RunningRouter,
  readMetric,
  startRouterProcess,
  tempFiles,
} from "../helpers/router.js";

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
const running = new Set<NodeJS.Timeout>();
const enc = new TextEncoder();

/** A subject/channel key no other test uses (logs outlive a test by ttl). */
const freshKey = (name: string): string => `${name}-${process.pid}-${++keySeq}`;

function config(instance: string, maxEvents = 1000, workers = 1): string {
  return natsRouterConfig(
    nats.url,
    `        delivery: at_least_once
    redis:
      - id: pubsub
        urls: ["${broker.url}"]
        delivery: at_least_once
      - id: buffer
        urls: ["${store.url}"]
instance_id: ${instance}
workers: ${workers}
heartbeat_interval: 1s
delivery:
  cursor_secret: "${SECRET}"
  session_buffer:
    provider_id: buffer
    max_events: ${maxEvents}
    ttl: 3s
    lease: 1s
`,
  );
}

async function router(instance: string, maxEvents?: number, workers?: number): Promise<RunningRouter> {
  const d = await tempFiles({ "events.graphql": SDL, "config.yaml": config(instance, maxEvents, workers) });
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
  // A test that failed midway leaves its publisher running.
  for (const t of running) clearInterval(t);
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
  running.add(t);
  return {
    get next() {
      return n;
    },
    stop: async () => {
      clearInterval(t);
      running.delete(t);
      if (kind === "nats") await nc.flush();
      else await brokerPub.ping();
      return n - 1;
    },
  };
}

/** A graphql-transport-ws socket subscribed to `kind`'s field for `key` (resuming from `cursor`). */
const subscribe = (r: RunningRouter, kind: Kind, key: string, cursor?: string) =>
  rawSubscribe(
    `${r.ws}/graphql`,
    `subscription { ${FIELD[kind]}(key: ${JSON.stringify(key)}) { id } }`,
    cursor,
  );

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

/** The ids of the events a log holds (entries with a `d` field), oldest first. */
async function logIds(kind: Kind, key: string): Promise<number[]> {
  const { log } = logKeys(PROVIDER[kind], [`buf.${key}`]);
  const entries = await storeCli.xrange(log, "-", "+");
  return entries.flatMap(([, fields]) => {
    const d = fields[fields.indexOf("d") + 1];
    return fields.includes("d") && d ? [Number(JSON.parse(d).id)] : [];
  });
}

describe("session buffer over nats, two instances", () => {
  let a: RunningRouter;
  let b: RunningRouter;
  beforeAll(async () => {
    [a, b] = await Promise.all([router("pair-a"), router("pair-b")]);
  });
  afterAll(async () => {
    const codes = await Promise.all([a?.stop(), b?.stop()]);
    expect(codes).toEqual([0, 0]);
  });

  it("appends each event once when both hold the trigger, and both deliver each once", async () => {
    const key = freshKey("pair");
    const [onA, onB] = await Promise.all([subscribe(a, "nats", key), subscribe(b, "nats", key)]);
    await primed("nats", key, onA);
    await primed("nats", key, onB);
    for (let i = 1; i <= 300; i++) publish("nats", key, i);
    await nc.flush();
    for (const raw of [onA, onB])
      await vi.waitFor(() => expect(ids(raw).at(-1)).toBe(300), { timeout: 10_000 });
    expectExactly(
      ids(onA).filter((i) => i > 0),
      1,
      300,
    );
    expectExactly(
      ids(onB).filter((i) => i > 0),
      1,
      300,
    );
    // The log holds each event once: one writer appended, the other instance only read.
    expectExactly(
      (await logIds("nats", key)).filter((i) => i > 0),
      1,
      300,
    );
    const writers = await Promise.all(
      [a, b].map((r) =>
        readMetric(r.http, "streamgate_session_buffer_logs", '{provider="default",role="writer"}'),
      ),
    );
    expect(writers.sort()).toEqual([0, 1]);
    onA.ws.close();
    onB.ws.close();
  });

  it("keeps the trigger for ttl after the last client left: back within ttl, every event; after it, a gap", async () => {
    const key = freshKey("ttl");
    const first = await subscribe(a, "nats", key);
    await primed("nats", key, first);
    const pub = publisher("nats", key, 1, 20);
    await vi.waitFor(() => expect(ids(first).filter((i) => i > 0).length).toBeGreaterThan(10));
    first.ws.terminate();
    await sleep(1500); // ttl is 3s: within it
    const second = await subscribe(b, "nats", key, lastCursor(first));
    await vi.waitFor(() => expect(ids(second).length).toBeGreaterThan(90), { timeout: 5000 });
    const seen = [...ids(first).filter((i) => i > 0), ...ids(second)];
    expectExactly(seen, 1, seen.at(-1)!);
    expect(nexts(second).some((n) => n.payload.extensions?.gap)).toBe(false);
    second.ws.terminate();
    const cursor = lastCursor(second);
    await sleep(4500); // past ttl: the writer let go, events went unrecorded
    const third = await subscribe(a, "nats", key, cursor);
    await vi.waitFor(() => expect(nexts(third).some((n) => n.payload.extensions?.gap === true)).toBe(true), {
      timeout: 5000,
    });
    await vi.waitFor(() =>
      expect(ids(third).length).toBeGreaterThan(
        nexts(third).findIndex((n) => n.payload.extensions?.gap) + 10,
      ),
    );
    await pub.stop();
    const got = ids(third);
    const gapAt = nexts(third).findIndex((n) => n.payload.extensions?.gap === true);
    // What the log held up to when the writer let go comes first, in order, then the gap.
    expectExactly(got.slice(0, gapAt), seen.at(-1)! + 1, got[gapAt - 1] ?? seen.at(-1)!);
    expect(got[gapAt]! - (got[gapAt - 1] ?? seen.at(-1)!)).toBeGreaterThan(1);
    expectIncreasing(got);
    third.ws.close();
  });

  it("takes a log over when its writer is SIGKILLed: the other instance's client goes on, told of the gap", async () => {
    const [w1, w2] = await Promise.all([router("writer-1"), router("writer-2")]);
    try {
      const key = freshKey("takeover");
      const onW1 = await subscribe(w1, "nats", key);
      await primed("nats", key, onW1); // w1 made the log: it writes
      const onW2 = await subscribe(w2, "nats", key);
      await primed("nats", key, onW2);
      const pub = publisher("nats", key, 1, 10);
      await vi.waitFor(() => expect(ids(onW2).filter((i) => i > 0).length).toBeGreaterThan(30));
      await w1.stop("SIGKILL");
      await vi.waitFor(() => expect(nexts(onW2).some((n) => n.payload.extensions?.gap === true)).toBe(true), {
        timeout: 5000,
      });
      const gapAt = nexts(onW2).findIndex((n) => n.payload.extensions?.gap === true);
      await vi.waitFor(() => expect(ids(onW2).length).toBeGreaterThan(gapAt + 30));
      const end = await pub.stop();
      await vi.waitFor(() => expect(ids(onW2).at(-1)).toBe(end), { timeout: 5000 });
      const got = ids(onW2).filter((i) => i > 0);
      expectIncreasing(got);
      expect(
        await readMetric(w2.http, "streamgate_session_buffer_logs", '{provider="default",role="writer"}'),
      ).toBe(1);
      expect(await readMetric(w2.http, "streamgate_session_buffer_gaps_total", '{provider="default"}')).toBe(
        1,
      );
      onW2.ws.close();
    } finally {
      await Promise.all([w1.stop("SIGKILL"), w2.stop()]);
    }
  });
});

describe("session buffer limits and hostile input", () => {
  let r: RunningRouter;
  beforeAll(async () => {
    r = await router("small", 20);
  });
  afterAll(async () => {
    expect(await r?.stop()).toBe(0);
  });

  it("goes on with gap: true when max_events trimmed what the cursor needs, and warns at 80%", async () => {
    const key = freshKey("trim");
    const first = await subscribe(r, "nats", key);
    await primed("nats", key, first);
    first.ws.terminate();
    for (let i = 1; i <= 60; i++) publish("nats", key, i);
    await nc.flush();
    await vi.waitFor(async () => expect((await logIds("nats", key)).at(-1)).toBe(60));
    const second = await subscribe(r, "nats", key, lastCursor(first));
    await vi.waitFor(() => expect(ids(second).at(-1)).toBe(60));
    expect(nexts(second)[0]!.payload.extensions).toMatchObject({ gap: true });
    expectExactly(ids(second), 41, 60); // what max_events 20 kept
    expect(
      await readMetric(r.http, "streamgate_session_buffer_high_water_total", '{provider="default"}'),
    ).toBe(1);
    expect(r.logs.some((l) => String(l.msg).includes("80% full"))).toBe(true);
    second.ws.close();
  });

  it("skips entries it did not write and keeps delivering and replaying in order", async () => {
    const key = freshKey("garbage");
    const raw = await subscribe(r, "nats", key);
    await primed("nats", key, raw);
    for (let i = 1; i <= 10; i++) publish("nats", key, i);
    await vi.waitFor(() => expect(ids(raw).at(-1)).toBe(10));
    const cursorAt5 = nexts(raw).find((n) => Object.values(n.payload.data)[0]!.id === "5")!.payload
      .extensions!.cursor as string;
    const { log } = logKeys("default", [`buf.${key}`]);
    const newest = await storeCli.xrevrange(log, "+", "-", "COUNT", 1);
    const head = Number(newest[0]![0].split("-")[0]);
    await storeCli.call("XADD", log, `${head + 1}-7`, "x", "y"); // not our id
    await storeCli.call("XADD", log, `${head + 2}-0`, "t", `buf.${key}`); // no data
    await storeCli.call("XADD", log, `${head + 3}-0`, "t", `buf.${key}`, "d", "{}", "h", "[1]"); // bad headers
    for (let i = 11; i <= 20; i++) publish("nats", key, i);
    await vi.waitFor(() => expect(ids(raw).at(-1)).toBe(20));
    expectExactly(
      ids(raw).filter((i) => i > 0),
      1,
      20,
    );
    const resumed = await subscribe(r, "nats", key, cursorAt5);
    await vi.waitFor(() => expect(ids(resumed).at(-1)).toBe(20));
    expectExactly(ids(resumed), 6, 20);
    expect(nexts(resumed)[0]!.payload.extensions?.gap).toBeUndefined();
    expect(
      await readMetric(r.http, "streamgate_session_buffer_invalid_entries_total", '{provider="default"}'),
    ).toBeGreaterThanOrEqual(6); // three entries, read live and replayed
    raw.ws.close();
    resumed.ws.close();
  });

  it("takes signed cursors with absurd positions without failing anyone", async () => {
    const key = freshKey("absurd");
    const good = await subscribe(r, "nats", key);
    await primed("nats", key, good);
    for (let i = 1; i <= 5; i++) publish("nats", key, i);
    await vi.waitFor(() => expect(ids(good).at(-1)).toBe(5));
    const body = JSON.parse(Buffer.from(lastCursor(good).split(".")[0]!, "base64url").toString());
    const [logId] = Object.keys(body.o);
    const codec = new CursorCodec(SECRET);
    const absurd = [{ [logId!]: -1 }, { [logId!]: Number.MAX_SAFE_INTEGER }, { nope: 3 }, {}];
    const clients = await Promise.all(
      absurd.map((o) => subscribe(r, "nats", key, codec.encode({ ...body, o }))),
    );
    for (let i = 6; i <= 8; i++) publish("nats", key, i);
    await vi.waitFor(() => expect(ids(good).at(-1)).toBe(8));
    // -1: everything the log holds; no cursor for this log: from its oldest event, like -1.
    for (const c of [clients[0]!, clients[2]!, clients[3]!])
      await vi.waitFor(() => expect(ids(c).filter((i) => i > 0)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]));
    for (const c of clients) {
      expect(c.frames.filter((f) => f.type === "error")).toEqual([]);
      expect(c.closed).toBeUndefined();
      c.ws.close();
    }
    expect(r.process.exitCode).toBeNull();
    good.ws.close();
  });
});

describe("session buffer with worker threads", () => {
  it("resumes on a router with two workers, whichever worker holds the client", async () => {
    const r = await router("workers", 1000, 2);
    try {
      const key = freshKey("workers");
      const first = await subscribe(r, "nats", key);
      await primed("nats", key, first);
      const pub = publisher("nats", key, 1);
      await vi.waitFor(() => expect(ids(first).filter((i) => i > 0).length).toBeGreaterThan(40));
      first.ws.terminate();
      const before = ids(first).filter((i) => i > 0);
      await sleep(300);
      // Several sockets: the port is shared, so the kernel spreads them over the workers (one owns
      // the trigger; the others forward to it).
      const resumed = await Promise.all([1, 2, 3, 4].map(() => subscribe(r, "nats", key, lastCursor(first))));
      await vi.waitFor(() => expect(Math.min(...resumed.map((c) => ids(c).length))).toBeGreaterThan(50), {
        timeout: 10_000,
      });
      const end = await pub.stop();
      for (const c of resumed) {
        await vi.waitFor(() => expect(ids(c).at(-1)).toBe(end), { timeout: 10_000 });
        expectExactly(ids(c), before.at(-1)! + 1, end);
        c.ws.close();
      }
      expectExactly(before, 1, before.at(-1)!);
    } finally {
      expect(await r.stop()).toBe(0);
    }
  });
});

describe("session buffer across a reload", () => {
  it("keeps buffering a provider the reload replaced: new subscriptions still get cursors and resume", async () => {
    const dir = await tempFiles({ "events.graphql": SDL, "config.yaml": config("reload") });
    const r = await startRouterProcess(["--config", `${dir}/config.yaml`]);
    try {
      const key = freshKey("reload");
      const first = await subscribe(r, "nats", key);
      await primed("nats", key, first);
      // The NATS provider changes (a readiness ceiling): the reload replaces it.
      const changed = config("reload").replace(
        "        delivery: at_least_once\n    redis:",
        "        delivery: at_least_once\n        health: { max_lag: 1000 }\n    redis:",
      );
      expect(changed).not.toBe(config("reload"));
      await writeFile(`${dir}/config.yaml`, changed);
      process.kill(r.process.pid!, "SIGHUP");
      await vi.waitFor(() => expect(r.logs.some((l) => l.msg === "configuration reloaded")).toBe(true), {
        timeout: 10_000,
      });
      const second = await subscribe(r, "nats", key);
      await primed("nats", key, second, 1);
      expect(nexts(second)[0]!.payload.extensions).toMatchObject({
        cursor: expect.any(String),
        delivery: { achieved: "at_least_once" },
      });
      for (let i = 2; i <= 5; i++) publish("nats", key, i);
      await vi.waitFor(() => expect(ids(second).at(-1)).toBe(5));
      const cursorAt2 = nexts(second).find((n) => Object.values(n.payload.data)[0]!.id === "2")!.payload
        .extensions!.cursor as string;
      const resumed = await subscribe(r, "nats", key, cursorAt2);
      await vi.waitFor(() => expect(ids(resumed)).toEqual([3, 4, 5]));
      for (const c of [first, second, resumed]) c.ws.close();
    } finally {
      expect(await r.stop()).toBe(0);
    }
  });
});

describe("session buffer unavailable", () => {
  it("goes on at most once when the buffer's Redis stops: live events flow, new subscriptions are told, counted, no crash", async () => {
    const r = await router("outage");
    try {
      const key = freshKey("outage");
      const live = await subscribe(r, "nats", key);
      await primed("nats", key, live);
      const pub = publisher("nats", key, 1, 10);
      await vi.waitFor(() => expect(ids(live).filter((i) => i > 0).length).toBeGreaterThan(20));
      await store.kill();
      const atKill = ids(live).length;
      await vi.waitFor(() => expect(ids(live).length).toBeGreaterThan(atKill + 50), { timeout: 5000 });
      const late = await subscribe(r, "nats", key);
      await vi.waitFor(() => expect(nexts(late).length).toBeGreaterThan(0), { timeout: 5000 });
      expect(nexts(late)[0]!.payload.extensions).toEqual({
        delivery: {
          guarantee: "at_least_once",
          achieved: "at_most_once",
          reason: expect.stringMatching(/session buffer .* unavailable/),
        },
      });
      expect(
        await readMetric(r.http, "streamgate_session_buffer_unavailable_total", '{provider="default"}'),
      ).toBe(1);
      expect(await readMetric(r.http, "streamgate_session_buffer_available", '{provider="default"}')).toBe(0);
      // A new trigger made during the outage is at most once too (the counter counts broker
      // subscriptions: the live one that went direct, and this one).
      const otherKey = freshKey("outage-new");
      const fresh = await subscribe(r, "nats", otherKey);
      await primed("nats", otherKey, fresh);
      expect(nexts(fresh)[0]!.payload.extensions).toMatchObject({ delivery: { achieved: "at_most_once" } });
      expect(
        await readMetric(r.http, "streamgate_session_buffer_at_most_once_total", '{provider="default"}'),
      ).toBe(2);
      expect(r.logs.some((l) => String(l.msg).includes("session buffer unavailable"))).toBe(true);
      // Back: new subscriptions are at least once again and get cursors.
      await store.start();
      await vi.waitFor(
        async () =>
          expect(
            await readMetric(r.http, "streamgate_session_buffer_available", '{provider="default"}'),
          ).toBe(1),
        { timeout: 10_000 },
      );
      const after = await subscribe(r, "nats", key);
      await vi.waitFor(() => expect(nexts(after).length).toBeGreaterThan(5), { timeout: 5000 });
      expect(nexts(after)[0]!.payload.extensions).toMatchObject({
        cursor: expect.any(String),
        delivery: { achieved: "at_least_once" },
      });
      await vi.waitFor(() =>
        expect(nexts(live).at(-1)!.payload.extensions?.cursor).toEqual(expect.any(String)),
      );
      await pub.stop();
      expectIncreasing(ids(live).filter((i) => i > 0));
      expect(r.process.exitCode).toBeNull();
      for (const c of [live, late, fresh, after]) c.ws.close();
    } finally {
      await store.start();
      expect(await r.stop()).toBe(0);
    }
  });
});
