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
async function clients(id: string, role: "sub" | "pub", via = raw): Promise<Record<string, string>[]> {
  const list = String(await via.client("LIST"));
  return list
    .split("\n")
    .filter((l) => l.includes(` name=streamgate:${id}:${role} `))
    .map((l) => Object.fromEntries(l.split(" ").map((kv) => kv.split("=", 2) as [string, string])));
}

/**
 * What the provider's one subscriber connection holds at the broker (`via`, by default the shared
 * one): SUBSCRIBEd channels (CLIENT LIST `sub=`) and PSUBSCRIBEd patterns (`psub=`).
 */
async function brokerSubs(id: string, via = raw): Promise<{ channels: number; patterns: number }> {
  const subs = await clients(id, "sub", via);
  expect(subs).toHaveLength(1);
  return { channels: Number(subs[0]!.sub), patterns: Number(subs[0]!.psub) };
}

/** PUBSUB NUMSUB: how many connections SUBSCRIBEd each channel (pattern subscribers not counted). */
async function numsub(via: Redis, ...channels: string[]): Promise<number[]> {
  const reply = (await via.call("PUBSUB", "NUMSUB", ...channels)) as (string | number)[];
  return reply.filter((_, i) => i % 2 === 1).map(Number);
}

/** PUBSUB NUMPAT: patterns PSUBSCRIBEd on the server, over all connections. */
async function numpat(via: Redis): Promise<number> {
  return Number(await via.call("PUBSUB", "NUMPAT"));
}

/** PUBSUB CHANNELS: the channels with at least one SUBSCRIBEr matching `glob`, sorted. */
async function activeChannels(via: Redis, glob: string): Promise<string[]> {
  return ((await via.call("PUBSUB", "CHANNELS", glob)) as string[]).sort();
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

  it("sends a channel or pattern once, and unsubscribes it only when its last local user leaves", async () => {
    await fresh();
    const [a, b, c, d] = [new Collector(), new Collector(), new Collector(), new Collector()];
    const unsubA = await provider.subscribe([`${prefix}.*`], a.handler);
    const unsubB = await provider.subscribe([`${prefix}.*`], b.handler);
    expect(await brokerSubs(id)).toEqual({ channels: 0, patterns: 1 });
    const unsubC = await provider.subscribe([`${prefix}.*`, `${prefix}.x`], c.handler);
    const unsubD = await provider.subscribe([`${prefix}.x`], d.handler);
    expect(await brokerSubs(id)).toEqual({ channels: 1, patterns: 1 });
    expect(await numsub(raw, `${prefix}.x`)).toEqual([1]);
    // Unlike Hive's Redis pubsub, one listener leaving does not unsubscribe the others.
    await unsubA();
    expect(await brokerSubs(id)).toEqual({ channels: 1, patterns: 1 });
    await raw.publish(`${prefix}.x`, "one");
    await b.waitForText("one");
    await c.waitForText("one");
    await d.waitForText("one");
    await unsubB();
    await unsubD();
    expect(await brokerSubs(id)).toEqual({ channels: 1, patterns: 1 });
    await unsubC();
    await unsubC();
    expect(await brokerSubs(id)).toEqual({ channels: 0, patterns: 0 });
    expect(await numsub(raw, `${prefix}.x`)).toEqual([0]);
    expect(await activeChannels(raw, `${prefix}*`)).toEqual([]);
    expect(a.texts()).toEqual([]);
    expect(c.texts()).toEqual(["one"]);
  });

  it("SUBSCRIBEs channels without wildcards and PSUBSCRIBEs only real patterns, as the broker sees it", async () => {
    // A broker of its own: PUBSUB NUMPAT counts every connection's patterns.
    const server = await startRedis();
    const admin = new Redis(server.url);
    prefix = randomPrefix();
    id = `r-${prefix}`;
    provider = new RedisProvider(config(id, server.url));
    try {
      await provider.start();
      const [one, lit, two] = [new Collector(), new Collector(), new Collector()];
      const unsubOne = await provider.subscribe([`${prefix}.user.1`, `${prefix}.user.*`], one.handler);
      // `\*` escapes the star: the channel named `<prefix>.lit*x`, nothing else.
      const unsubLit = await provider.subscribe([`${prefix}.lit\\*x`], lit.handler);
      const unsubTwo = await provider.subscribe([`${prefix}.user.1`, `${prefix}.u[s]er.2`], two.handler);
      expect(await brokerSubs(id, admin)).toEqual({ channels: 2, patterns: 2 });
      expect(await numpat(admin)).toBe(2);
      // One connection per channel, however many local subscriptions use it.
      expect(await numsub(admin, `${prefix}.user.1`, `${prefix}.lit*x`, `${prefix}.lit\\*x`)).toEqual([
        1, 1, 0,
      ]);
      expect(await activeChannels(admin, `${prefix}.*`)).toEqual([`${prefix}.lit*x`, `${prefix}.user.1`]);

      await admin.publish(`${prefix}.litAx`, "glob-would-match");
      await admin.publish(`${prefix}.lit*x`, "literal");
      await lit.waitForText("literal");
      expect(lit.events.map((e) => `${e.topic}=${Buffer.from(e.data)}`)).toEqual([`${prefix}.lit*x=literal`]);

      await unsubOne();
      expect(await brokerSubs(id, admin)).toEqual({ channels: 2, patterns: 1 });
      expect(await numsub(admin, `${prefix}.user.1`)).toEqual([1]);
      await admin.publish(`${prefix}.user.1`, "still");
      await two.waitForText("still");
      await unsubTwo();
      expect(await brokerSubs(id, admin)).toEqual({ channels: 1, patterns: 0 });
      expect(await numsub(admin, `${prefix}.user.1`)).toEqual([0]);
      expect(await numpat(admin)).toBe(0);
      await unsubLit();
      expect(await brokerSubs(id, admin)).toEqual({ channels: 0, patterns: 0 });
      expect(await activeChannels(admin, "*")).toEqual([]);
      expect(one.texts()).toEqual([]);
      expect(two.texts()).toEqual(["still"]);
    } finally {
      admin.disconnect();
      await provider.stop();
      await server.stop();
    }
  });

  it("delivers a message on a SUBSCRIBEd channel that its patterns also match once per local subscription", async () => {
    await fresh();
    const [all, exact, glob] = [new Collector(), new Collector(), new Collector()];
    // `.a` is SUBSCRIBEd and matched by both patterns: Redis sends this connection one `message`
    // and two `pmessage`s for every publish on it. `.d\.e` and `.d.e` are the same channel.
    const topicsAll = [`${prefix}.*`, `${prefix}.a`, `${prefix}.?`, `${prefix}.d\\.e`, `${prefix}.d.e`];
    await provider.subscribe(topicsAll, all.handler);
    await provider.subscribe([`${prefix}.a`], exact.handler);
    await provider.subscribe([`${prefix}.?`], glob.handler);
    expect(await brokerSubs(id)).toEqual({ channels: 2, patterns: 2 });
    const received = provider.health().counters.received;
    for (const [channel, text] of [
      ["a", "1"],
      ["bb", "2"],
      ["c", "3"],
      ["d.e", "4"],
      ["a", "5"],
      ["z", "fin"], // any duplicate of an earlier message would come before this one
    ] as const) {
      await raw.publish(`${prefix}.${channel}`, text);
    }
    await all.waitForText("fin");
    await glob.waitForText("fin");
    await exact.waitForText("5");
    expect(all.texts()).toEqual(["1", "2", "3", "4", "5", "fin"]);
    expect(all.events.map((e) => e.topic.slice(prefix.length + 1))).toEqual([
      "a",
      "bb",
      "c",
      "d.e",
      "a",
      "z",
    ]);
    expect(exact.texts()).toEqual(["1", "5"]);
    expect(glob.texts()).toEqual(["1", "3", "5", "fin"]);
    // One count per delivery, never per copy the broker sent.
    expect(provider.health().counters.received - received).toBe(6 + 2 + 4);
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
    // Same ioredis client: it re-sent the SUBSCRIBE and the PSUBSCRIBE itself, and `connected`
    // waited for them.
    expect(Reflect.get(provider, "sub")).toBe(client);
    expect(await brokerSubs(id)).toEqual({ channels: 1, patterns: 1 });
    await provider.publish(`${prefix}.r.2`, bytes("after"));
    await provider.publish(`${prefix}.s`, bytes("exact after"));
    await c.waitForText("exact after");
    expect(c.texts()).toEqual(["before", "after", "exact after"]);
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
    expect(await brokerSubs(id)).toEqual({ channels: 1, patterns: 0 });
    await provider.publish(`${prefix}.c`, bytes("again"));
    await c.waitForText("again");
  });

  it("uses one subscriber and one publisher connection whatever the number of subscriptions", async () => {
    await fresh();
    for (let i = 0; i < 20; i++) await provider.subscribe([`${prefix}.${i}`], () => undefined);
    expect(await clients(id, "sub")).toHaveLength(1);
    expect(await clients(id, "pub")).toHaveLength(1);
    expect(await brokerSubs(id)).toEqual({ channels: 20, patterns: 0 });
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

  it("(P)SUBSCRIBEs through one node and gets what is published on any node", {
    timeout: 30_000,
  }, async () => {
    provider = new RedisProvider({ id: "cl", urls: [cluster.urls[0]!], cluster_enabled: true });
    await provider.start();
    expect(provider.health()).toMatchObject({ kind: "redis", connected: true });
    const prefix = randomPrefix();
    const c = new Collector();
    const exact = new Collector();
    await provider.subscribe([`${prefix}.*`], c.handler);
    await provider.subscribe([`${prefix}-exact`], exact.handler);
    const nodes = cluster.ports.map((port) => new Redis(port));
    try {
      // PUBSUB counts are per node: one node holds the pattern and the channel, as SUBSCRIBE.
      const counts = await Promise.all(
        nodes.map(async (n) => [await numpat(n), ...(await numsub(n, `${prefix}-exact`))]),
      );
      expect(counts.filter(([pat, sub]) => pat! + sub! > 0)).toEqual([[1, 1]]);
      // Channels hash to different slots; classic pub/sub is broadcast over the cluster bus anyway.
      const channels = Array.from({ length: 6 }, (_, i) => `${prefix}.ch${i}`);
      for (const ch of channels) await provider.publish(ch, bytes(`p:${ch}`));
      for (const [i, node] of nodes.entries()) {
        await node.publish(`${prefix}.node${i}`, `n:${cluster.ports[i]}`);
        await node.publish(`${prefix}-exact`, `e:${cluster.ports[i]}`);
      }
      await c.waitForCount(channels.length + cluster.ports.length);
      await exact.waitForCount(cluster.ports.length);
      expect(c.texts().sort()).toEqual(
        [...channels.map((ch) => `p:${ch}`), ...cluster.ports.map((p) => `n:${p}`)].sort(),
      );
      // No order across nodes: the cluster bus forwards each node's publishes on its own link.
      expect(exact.texts().sort()).toEqual(cluster.ports.map((p) => `e:${p}`).sort());
      expect(provider.health().counters).toMatchObject({ published: 6, received: 12 });
    } finally {
      for (const n of nodes) n.disconnect();
    }
  });
});
