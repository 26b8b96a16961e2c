import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/errors.js";
import { RedisProvider } from "../../src/providers/redis/provider.js";
import {
  type RedisCluster,
  type RedisServer,
  startRedis,
  startRedisCluster,
} from "../helpers/brokers/redis.js";
import { freePort } from "../helpers/brokers/net.js";
import { bytes, Collector, randomPrefix, waitFor } from "./collector.js";
import { runProviderConformance } from "./provider-suite.js";

let broker: RedisServer;
/** A plain ioredis client for looking at the broker's side (CLIENT LIST, PUBLISH). */
let raw: Redis;
beforeAll(async () => {
  broker = await startRedis();
  raw = new Redis(broker.url, { retryStrategy: () => 50, maxRetriesPerRequest: null });
});
afterAll(async () => {
  raw?.disconnect();
  await broker?.stop();
});

const config = (id: string, url = broker.url) => ({ id, urls: [url], cluster_enabled: false });

runProviderConformance("redis", async () => {
  const provider = new RedisProvider(config("redis"));
  await provider.start();
  const topicPrefix = randomPrefix();
  return {
    provider,
    topicPrefix,
    wildcard: {
      pattern: `${topicPrefix}.[ab]?.*`,
      matching: [`${topicPrefix}.a1.x`, `${topicPrefix}.bz.x.y`],
      nonMatching: [`${topicPrefix}.c1.x`, `${topicPrefix}.a.x`],
    },
    restartBroker: () => broker.restart(),
    stopBroker: () => broker.kill(),
    startBroker: () => broker.start(),
    makeProviderForDownBroker: async () => {
      const port = await freePort();
      const dp = new RedisProvider(config("redis-late", `redis://127.0.0.1:${port}`));
      let late: RedisServer | undefined;
      return {
        provider: dp,
        startBroker: async () => {
          late = await startRedis({ port });
        },
        cleanup: async () => {
          await dp.stop();
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

/** CLIENT LIST lines of the connections named `streamgate:<id>:<role>`, as field maps. */
async function clients(id: string, role: "sub" | "pub"): Promise<Record<string, string>[]> {
  const list = String(await raw.client("LIST"));
  return list
    .split("\n")
    .filter((l) => l.includes(` name=streamgate:${id}:${role} `))
    .map((l) => Object.fromEntries(l.split(" ").map((kv) => kv.split("=", 2) as [string, string])));
}

/** Patterns the provider's one subscriber connection holds at the broker. */
async function brokerPatterns(id: string): Promise<number> {
  const subs = await clients(id, "sub");
  expect(subs).toHaveLength(1);
  return Number(subs[0]!.psub);
}

describe("RedisProvider specifics", () => {
  let provider: RedisProvider;
  let prefix: string;
  let id: string;
  const fresh = async () => {
    prefix = randomPrefix();
    id = `r-${prefix}`;
    provider = new RedisProvider(config(id));
    await provider.start();
  };
  afterEach(async () => {
    await provider?.stop();
  });

  it("PSUBSCRIBEs a pattern once, and PUNSUBSCRIBEs only when its last local user leaves", async () => {
    await fresh();
    const [a, b, c] = [new Collector(), new Collector(), new Collector()];
    const unsubA = await provider.subscribe([`${prefix}.*`], a.handler);
    const unsubB = await provider.subscribe([`${prefix}.*`], b.handler);
    expect(await brokerPatterns(id)).toBe(1);
    const unsubC = await provider.subscribe([`${prefix}.*`, `${prefix}.x`], c.handler);
    expect(await brokerPatterns(id)).toBe(2);
    // Unlike Hive's Redis pubsub, one listener leaving does not unsubscribe the others.
    await unsubA();
    expect(await brokerPatterns(id)).toBe(2);
    await raw.publish(`${prefix}.x`, "one");
    await b.waitForText("one");
    await c.waitForText("one");
    await unsubB();
    expect(await brokerPatterns(id)).toBe(2);
    await unsubC();
    await unsubC();
    expect(await brokerPatterns(id)).toBe(0);
    expect(a.texts()).toEqual([]);
    expect(c.texts()).toEqual(["one"]);
  });

  it("delivers a message matching several patterns once per local subscription", async () => {
    await fresh();
    const both = new Collector();
    const wide = new Collector();
    await provider.subscribe([`${prefix}.*`, `${prefix}.a`, `${prefix}.?`], both.handler);
    await provider.subscribe([`${prefix}.a`], wide.handler);
    await raw.publish(`${prefix}.a`, "1");
    await raw.publish(`${prefix}.bb`, "2");
    await wide.waitForText("1");
    await both.waitForText("2");
    expect(both.texts()).toEqual(["1", "2"]);
    expect(wide.texts()).toEqual(["1"]);
    expect(both.events.map((e) => e.topic)).toEqual([`${prefix}.a`, `${prefix}.bb`]);
  });

  it("restores subscriptions through ioredis' autoResubscribe: the first publish after a reconnect arrives", {
    timeout: 60_000,
  }, async () => {
    await fresh();
    const c = new Collector();
    await provider.subscribe([`${prefix}.r.*`, `${prefix}.s`], c.handler);
    await provider.publish(`${prefix}.r.1`, bytes("before"));
    await c.waitForText("before");
    const client = Reflect.get(provider, "sub");
    await broker.restart();
    await waitFor(
      () => provider.health().counters.reconnects === 1 && provider.health().connected,
      "reconnect",
      30_000,
    );
    // Same ioredis client: it re-sent both PSUBSCRIBEs itself, and `connected` waited for them.
    expect(Reflect.get(provider, "sub")).toBe(client);
    expect(await brokerPatterns(id)).toBe(2);
    await provider.publish(`${prefix}.r.2`, bytes("after"));
    await c.waitForText("after");
    expect(c.texts()).toEqual(["before", "after"]);
  });

  it("starts over if ioredis ever ends the connection by itself", { timeout: 30_000 }, async () => {
    await fresh();
    const c = new Collector();
    await provider.subscribe([`${prefix}.c`], c.handler);
    // Simulates ioredis giving up (it only does when a retry strategy returns no delay; ours never do).
    const client = Reflect.get(provider, "sub") as Redis;
    client.disconnect();
    await waitFor(
      () => provider.health().connected && Reflect.get(provider, "sub") !== client,
      "new connections",
    );
    expect(await brokerPatterns(id)).toBe(1);
    await provider.publish(`${prefix}.c`, bytes("again"));
    await c.waitForText("again");
  });

  it("uses one subscriber and one publisher connection whatever the number of subscriptions", async () => {
    await fresh();
    for (let i = 0; i < 20; i++) await provider.subscribe([`${prefix}.${i}`], () => undefined);
    expect(await clients(id, "sub")).toHaveLength(1);
    expect(await clients(id, "pub")).toHaveLength(1);
    expect(await brokerPatterns(id)).toBe(20);
  });

  it("survives a subscriber that throws, reporting it to onError", async () => {
    await fresh();
    const errors: Error[] = [];
    const good = new Collector();
    await provider.subscribe(
      [`${prefix}.t`],
      () => {
        throw new Error("boom");
      },
      { onError: (e) => errors.push(e) },
    );
    await provider.subscribe([`${prefix}.t`], good.handler);
    for (const m of ["1", "2"]) await provider.publish(`${prefix}.t`, bytes(m));
    await good.waitForCount(2);
    expect(errors.map((e) => e.message)).toEqual(["boom", "boom"]);
    expect(provider.health()).toMatchObject({ connected: true, counters: { errors: 2 } });
  });

  it("rejects what Redis pub/sub cannot do with stable codes", async () => {
    await fresh();
    await expect(provider.request(`${prefix}.q`, bytes("x"), 100)).rejects.toMatchObject({
      code: ErrorCode.PROVIDER_NOT_BUILT,
    });
    await expect(provider.subscribe([], () => undefined)).rejects.toMatchObject({
      code: ErrorCode.SUBJECT_INVALID,
    });
    await expect(provider.subscribe([""], () => undefined)).rejects.toMatchObject({
      code: ErrorCode.SUBJECT_INVALID,
    });
    await expect(provider.publish("", bytes("x"))).rejects.toMatchObject({ code: ErrorCode.SUBJECT_INVALID });
    const stream = { streamName: "S", consumerName: "c", consumerInactiveThreshold: 30 };
    await expect(provider.subscribe([`${prefix}.s`], () => undefined, { stream })).rejects.toMatchObject({
      code: ErrorCode.PROVIDER_NOT_BUILT,
    });
  });

  it("refuses configs it cannot connect with", () => {
    const urls = ["redis://127.0.0.1:1", "redis://127.0.0.1:2"];
    expect(() => new RedisProvider({ id: "x", urls, cluster_enabled: false })).toThrow(
      expect.objectContaining({
        code: ErrorCode.CONFIG_INVALID,
        message: expect.stringMatching(/cluster_enabled/),
      }),
    );
    expect(
      () => new RedisProvider({ id: "x", urls: ["http://u:secret@h:1"], cluster_enabled: false }),
    ).toThrow(
      expect.objectContaining({
        code: ErrorCode.CONFIG_INVALID,
        message: expect.not.stringContaining("secret"),
      }),
    );
  });

  it("refuses wrong credentials fast and keeps them out of messages", { timeout: 30_000 }, async () => {
    const server = await startRedis();
    const admin = new Redis(server.url);
    await admin.config("SET", "requirepass", "s3cret");
    admin.disconnect();
    const ok = new RedisProvider(config("auth-ok", `redis://:s3cret@127.0.0.1:${server.port}`));
    const bad = new RedisProvider(config("auth-bad", `redis://:wrong@127.0.0.1:${server.port}`));
    try {
      await ok.start();
      expect(ok.health().connected).toBe(true);
      const t0 = Date.now();
      const err = await bad.start().catch((e: unknown) => e);
      expect(err).toMatchObject({ code: ErrorCode.PROVIDER_UNAVAILABLE });
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(String((err as Error).message)).not.toContain("wrong");
      expect(bad.health().detail).not.toContain("wrong");
    } finally {
      await ok.stop();
      await bad.stop();
      await server.stop();
    }
  });
});

describe("RedisProvider on a Redis Cluster (cluster_enabled)", () => {
  let cluster: RedisCluster;
  let provider: RedisProvider;
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
  });
  afterAll(async () => {
    await provider?.stop();
    await cluster?.stop();
  });

  it("PSUBSCRIBEs through one node and gets what is published on any node", { timeout: 30_000 }, async () => {
    provider = new RedisProvider({ id: "cl", urls: [cluster.urls[0]!], cluster_enabled: true });
    await provider.start();
    expect(provider.health()).toMatchObject({ kind: "redis", connected: true });
    const prefix = randomPrefix();
    const c = new Collector();
    await provider.subscribe([`${prefix}.*`], c.handler);
    // Channels hash to different slots; classic pub/sub is broadcast over the cluster bus anyway.
    const channels = Array.from({ length: 6 }, (_, i) => `${prefix}.ch${i}`);
    for (const ch of channels) await provider.publish(ch, bytes(`p:${ch}`));
    for (const [i, port] of cluster.ports.entries()) {
      const node = new Redis(port);
      await node.publish(`${prefix}.node${i}`, `n:${port}`);
      node.disconnect();
    }
    await c.waitForCount(channels.length + cluster.ports.length);
    expect(c.texts().sort()).toEqual(
      [...channels.map((ch) => `p:${ch}`), ...cluster.ports.map((p) => `n:${p}`)].sort(),
    );
    expect(provider.health().counters).toMatchObject({ published: 6, received: 9 });
  });
});
