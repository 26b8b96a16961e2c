/**
 * The session buffer's Redis side against a real redis-server: the lease and interest protocol
 * and the fenced appends (src/delivery/buffer/scripts.ts through store.ts), and replay from a log
 * (replay.ts): what the end-to-end tests rely on, one rule at a time.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LogKeys, logKeys, parseEntries } from "../../src/delivery/buffer/codec.js";
import { bufferHeads, replayBuffer } from "../../src/delivery/buffer/replay.js";
import { BufferStore } from "../../src/delivery/buffer/store.js";
import type { BrokerEvent } from "../../src/providers/provider.js";
import { type RedisServer, startRedis } from "../helpers/brokers/redis.js";

let redis: RedisServer;
let store: BufferStore;
let cli: Redis;
let seq = 0;
const enc = new TextEncoder();
const downs: string[] = [];

beforeAll(async () => {
  redis = await startRedis();
  store = new BufferStore({ id: "buf", urls: [redis.url], cluster_enabled: false }, (why) => downs.push(why));
  await store.connect();
  cli = new Redis(redis.url);
});

afterAll(async () => {
  await store?.close();
  cli?.disconnect();
  await redis?.stop();
});

const fresh = (): LogKeys => logKeys("p", [`topic.${++seq}`]);
const ev = (id: number, topic = "t"): BrokerEvent => ({ topic, data: enc.encode(`{"id":${id}}`) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Positions and kinds of a log's entries. */
async function entries(keys: LogKeys): Promise<string[]> {
  const raw = await store.range(keys, 0, Number.MAX_SAFE_INTEGER - 1, 10_000);
  return parseEntries(keys.id, raw).map((e) =>
    e.kind === "event" ? `e${new TextDecoder().decode(e.event.data)}` : e.kind,
  );
}

describe("lease and interest (TICK)", () => {
  it("gives the lease to the first instance with clients, and to nobody else while it renews", async () => {
    const k = fresh();
    expect(await store.tick(k, "a", 1000, 5000, "stay")).toEqual({ state: "acquired", existed: false });
    expect(await store.tick(k, "b", 1000, 5000, "stay")).toEqual({ state: "other" });
    expect(await store.tick(k, "a", 1000, 5000, "stay")).toEqual({ state: "writer" });
    expect(await cli.get(k.lease)).toBe("a");
    expect((await cli.zrange(k.interest, "0", "-1")).sort()).toEqual(["a", "b"]);
  });

  it("never gives the lease to an instance whose clients left, or that only writes", async () => {
    const k = fresh();
    expect(await store.tick(k, "a", 1000, 5000, "leave")).toEqual({ state: "other" });
    expect(await store.tick(k, "a", 1000, 5000, "none")).toEqual({ state: "other" });
    expect(await cli.exists(k.lease)).toBe(0);
  });

  it("keeps the writer while anyone anywhere is interested, then lets go after ttl", async () => {
    const k = fresh();
    await store.tick(k, "w", 2000, 300, "stay");
    await store.tick(k, "reader", 2000, 300, "leave"); // another instance's last client left now
    await store.tick(k, "w", 2000, 300, "leave"); // and the writer's own
    expect(await store.tick(k, "w", 2000, 300, "none")).toEqual({ state: "writer" });
    await sleep(400);
    expect(await store.tick(k, "w", 2000, 300, "none")).toEqual({ state: "let-go" });
    expect(await cli.exists(k.lease)).toBe(0);
  });

  it("hands a log over when the lease runs out, saying the log was already there", async () => {
    const k = fresh();
    await store.tick(k, "a", 200, 5000, "stay");
    expect(await store.append(k, "a", 100, 5000, false, [ev(1)])).toMatchObject({ length: 1 });
    expect(await store.tick(k, "b", 200, 5000, "stay")).toEqual({ state: "other" });
    await sleep(300);
    expect(await store.tick(k, "b", 200, 5000, "stay")).toEqual({ state: "acquired", existed: true });
    expect(await store.tick(k, "a", 200, 5000, "stay")).toEqual({ state: "other" });
  });
});

describe("appends (APPEND)", () => {
  it("appends only for the lease holder, with consecutive positions as `<n>-0` ids", async () => {
    const k = fresh();
    await store.tick(k, "a", 5000, 5000, "stay");
    expect(await store.append(k, "b", 100, 5000, false, [ev(1)])).toBe("not-writer");
    const first = await store.append(k, "a", 100, 5000, false, [ev(1), ev(2)]);
    const second = await store.append(k, "a", 100, 5000, true, [ev(3)]);
    if (first === "not-writer" || second === "not-writer") throw new Error("not the writer");
    expect(second.last).toBe(first.last + 2); // the marker, then event 3
    const ids = (await cli.xrange(k.log, "-", "+")).map(([id]) => id);
    expect(ids).toEqual([first.last - 1, first.last, first.last + 1, first.last + 2].map((n) => `${n}-0`));
    expect(await entries(k)).toEqual(['e{"id":1}', 'e{"id":2}', "gap", 'e{"id":3}']);
    // A new log starts at Redis' clock in microseconds (so never below an expired log's positions).
    const [secs] = await cli.time();
    expect(first.last).toBeGreaterThan(Number(secs) * 1_000_000 - 10_000_000);
  });

  it("keeps exactly max_events, expires after ttl, and a log made again starts above the old one", async () => {
    const k = fresh();
    await store.tick(k, "a", 5000, 5000, "stay");
    const events = Array.from({ length: 30 }, (_, i) => ev(i + 1));
    const r = await store.append(k, "a", 10, 300, false, events);
    expect(r).toMatchObject({ length: 10 });
    expect((await entries(k))[0]).toBe('e{"id":21}');
    expect(await cli.pttl(k.log)).toBeGreaterThan(0);
    await sleep(400);
    expect(await cli.exists(k.log)).toBe(0);
    const again = await store.append(k, "a", 10, 300, false, [ev(31)]);
    if (r === "not-writer" || again === "not-writer") throw new Error("not the writer");
    expect(again.last).toBeGreaterThan(r.last);
  });

  it("carries headers and binary data; continues past an entry someone else added", async () => {
    const k = fresh();
    await store.tick(k, "a", 5000, 5000, "stay");
    const data = new Uint8Array([0, 1, 254, 255]);
    const r = await store.append(k, "a", 100, 5000, false, [{ topic: "x", data, headers: { k: "v" } }]);
    if (r === "not-writer") throw new Error("not the writer");
    await cli.call("XADD", k.log, `${r.last + 5}-3`, "foreign", "1");
    const next = await store.append(k, "a", 100, 5000, false, [ev(2)]);
    if (next === "not-writer") throw new Error("not the writer");
    expect(next.last).toBe(r.last + 6);
    const parsed = parseEntries(k.id, await store.range(k, 0, next.last, 100));
    expect(parsed.map((e) => e.kind)).toEqual(["event", "invalid", "event"]);
    const e0 = parsed[0]!;
    if (e0.kind !== "event") throw new Error("not an event");
    expect([...e0.event.data]).toEqual([0, 1, 254, 255]);
    expect(e0.event.headers).toEqual({ k: "v" });
  });

  it("starts a log again, after a gap marker, when its last id is too large to count on", async () => {
    const k = fresh();
    await store.tick(k, "a", 5000, 5000, "stay");
    await cli.call("XADD", k.log, "9007199254740000-0", "t", "x", "d", "{}");
    const r = await store.append(k, "a", 100, 5000, false, [ev(1)]);
    expect(r).toMatchObject({ length: 2 });
    expect(await entries(k)).toEqual(["gap", 'e{"id":1}']);
  });
});

describe("replay and heads", () => {
  async function replay(k: LogKeys, topic: string, after: number | undefined) {
    const got: string[] = [];
    const ac = new AbortController();
    await replayBuffer(store, "p", {
      topics: [topic],
      after: after === undefined ? {} : { [k.id]: after },
      onEvents: (events) => {
        for (const e of events) got.push(new TextDecoder().decode(e.data));
      },
      onGap: () => got.push("gap"),
      signal: ac.signal,
    });
    return got;
  }

  it("replays after a position to the head, in pages, the gap where a marker is", async () => {
    const topic = `replay.${++seq}`;
    const k = logKeys("p", [topic]);
    await store.tick(k, "a", 5000, 5000, "stay");
    const r = await store.append(
      k,
      "a",
      5000,
      5000,
      false,
      Array.from({ length: 600 }, (_, i) => ev(i + 1)),
    );
    await store.append(k, "a", 5000, 5000, true, [ev(601)]);
    if (r === "not-writer") throw new Error("not the writer");
    const first = r.last - 599;
    const got = await replay(k, topic, first + 9); // the client has events 1..10
    expect(got.length).toBe(590 + 1 + 1);
    expect(got[0]).toBe('{"id":11}');
    expect(got.slice(-3)).toEqual(['{"id":600}', "gap", '{"id":601}']);
    expect(await bufferHeads(store, "p", [topic])).toEqual({ [k.id]: r.last + 2 });
    expect(await replay(k, topic, r.last + 2)).toEqual([]); // up to date
    expect(await replay(k, topic, Number.MAX_SAFE_INTEGER)).toEqual([]);
  });

  it("says gap first when the log no longer holds what comes after the cursor, or is gone", async () => {
    const topic = `trimmed.${++seq}`;
    const k = logKeys("p", [topic]);
    await store.tick(k, "a", 5000, 5000, "stay");
    const r = await store.append(
      k,
      "a",
      5,
      5000,
      false,
      Array.from({ length: 20 }, (_, i) => ev(i + 1)),
    );
    if (r === "not-writer") throw new Error("not the writer");
    expect(await replay(k, topic, r.last - 19)).toEqual([
      "gap",
      ...[16, 17, 18, 19, 20].map((i) => `{"id":${i}}`),
    ]);
    // No position for this log in the cursor: from its oldest event, no gap.
    expect(await replay(k, topic, undefined)).toHaveLength(5);
    expect(await replay(logKeys("p", ["never.written"]), "never.written", 5)).toEqual(["gap"]);
    expect(await replay(logKeys("p", ["never.written"]), "never.written", undefined)).toEqual([]);
  });
});

describe("connection loss", () => {
  it("reports a closed connection, and its commands fail at once instead of queueing", async () => {
    const own = await startRedis();
    const s = new BufferStore({ id: "lost", urls: [own.url], cluster_enabled: false }, (why) =>
      downs.push(why),
    );
    try {
      await s.connect();
      expect(s.ready).toBe(true);
      const before = downs.length;
      await own.kill();
      await expect(s.ping()).rejects.toThrow();
      expect(downs.length).toBeGreaterThan(before);
      expect(s.ready).toBe(false);
      await own.start();
      await expect.poll(() => s.ready, { timeout: 10_000 }).toBe(true);
      await s.ping();
    } finally {
      await s.close();
      await own.stop();
    }
  });
});
