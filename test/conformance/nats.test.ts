import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/errors.js";
import { NatsProvider } from "../../src/providers/nats/provider.js";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";
import { freePort } from "../helpers/brokers/net.js";
import { bytes, Collector, randomPrefix, waitFor } from "./collector.js";
import { runProviderConformance } from "./provider-suite.js";

let broker: NatsServer;
beforeAll(async () => {
  broker = await startNats();
});
afterAll(async () => {
  await broker?.stop();
});

runProviderConformance("nats", async () => {
  const provider = new NatsProvider({ id: "nats", url: broker.url });
  await provider.start();
  const topicPrefix = randomPrefix();
  return {
    provider,
    topicPrefix,
    wildcard: {
      pattern: `${topicPrefix}.*.x.>`,
      matching: [`${topicPrefix}.a.x.1`, `${topicPrefix}.b.x.1.2`],
      nonMatching: [`${topicPrefix}.a.x`, `${topicPrefix}.a.y.1`, `${topicPrefix}.a.b.x.1`],
    },
    restartBroker: () => broker.restart(),
    stopBroker: () => broker.kill(),
    startBroker: () => broker.start(),
    makeProviderForDownBroker: async () => {
      const port = await freePort();
      const dp = new NatsProvider({ id: "nats-late", url: `nats://127.0.0.1:${port}` });
      let late: NatsServer | undefined;
      return {
        provider: dp,
        startBroker: async () => {
          late = await startNats({ port });
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

describe("NatsProvider specifics", () => {
  let provider: NatsProvider;
  let raw: NatsConnection;
  let prefix: string;
  beforeAll(async () => {
    raw = await connect({ servers: broker.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
  });
  afterAll(async () => {
    await raw?.close();
  });
  const fresh = async (opts?: ConstructorParameters<typeof NatsProvider>[1]) => {
    prefix = randomPrefix();
    provider = new NatsProvider({ id: "n", url: broker.url }, opts);
    await provider.start();
  };
  afterEach(async () => {
    await provider?.stop();
  });

  it("answers request/reply through a raw responder", async () => {
    await fresh();
    raw.subscribe(`${prefix}.echo`, {
      callback: (_e, m) => {
        m.respond(bytes(`re:${m.string()}`));
      },
    });
    await raw.flush();
    const reply = await provider.request(`${prefix}.echo`, bytes("ping"), 2000);
    expect(Buffer.from(reply).toString()).toBe("re:ping");
  });

  it("rejects a request nobody answers in time, and one nobody listens to", async () => {
    await fresh();
    raw.subscribe(`${prefix}.silent`, { callback: () => undefined });
    await raw.flush();
    const t0 = Date.now();
    const timeout = await provider.request(`${prefix}.silent`, bytes("x"), 300).catch((e: unknown) => e);
    expect(timeout).toMatchObject({
      code: ErrorCode.PROVIDER_UNAVAILABLE,
      message: expect.stringMatching(/timed out after 300ms/),
    });
    expect(Date.now() - t0).toBeLessThan(2000);
    const none = await provider.request(`${prefix}.nobody`, bytes("x"), 5000).catch((e: unknown) => e);
    expect(none).toMatchObject({
      code: ErrorCode.PROVIDER_UNAVAILABLE,
      message: expect.stringMatching(/no responders/),
    });
    expect(provider.health().counters.errors).toBe(2);
  });

  it("keeps NATS headers on the event", async () => {
    await fresh();
    const c = new Collector();
    await provider.subscribe([`${prefix}.h`], c.handler);
    await provider.publish(`${prefix}.h`, bytes("plain"));
    const h = headers();
    h.set("X-Trace", "abc");
    h.append("X-Multi", "1");
    h.append("X-Multi", "2");
    raw.publish(`${prefix}.h`, bytes("with"), { headers: h });
    await c.waitForCount(2);
    expect(c.events[0]!.headers).toBeUndefined();
    expect(c.events[1]!.headers).toEqual({ "X-Trace": "abc", "X-Multi": "1, 2" });
  });

  it("restores subscriptions by itself: the first publish after a reconnect arrives", {
    timeout: 60_000,
  }, async () => {
    await fresh();
    const c = new Collector();
    await provider.subscribe([`${prefix}.r.>`], c.handler);
    await provider.publish(`${prefix}.r.1`, bytes("before"));
    await c.waitForText("before");
    await broker.restart();
    await waitFor(
      () => provider.health().counters.reconnects === 1 && provider.health().connected,
      "reconnect",
      30_000,
    );
    // Same connection: nats.js re-sends SUB before anything queued after it, so nothing is lost.
    await provider.publish(`${prefix}.r.2`, bytes("after"));
    await c.waitForText("after");
    expect(c.texts()).toEqual(["before", "after"]);
  });

  it("starts over if nats.js ever closes the connection by itself", { timeout: 30_000 }, async () => {
    await fresh();
    const c = new Collector();
    await provider.subscribe([`${prefix}.c`], c.handler);
    // Simulates nats.js giving up (it only does on errors we configure away, like repeated auth).
    const nc = Reflect.get(provider, "nc") as NatsConnection;
    await nc.close();
    await waitFor(
      () => provider.health().connected && Reflect.get(provider, "nc") !== nc,
      "a new connection",
    );
    await provider.publish(`${prefix}.c`, bytes("again"));
    await c.waitForText("again");
  });

  it("rejects invalid subjects with SUBJECT_INVALID", async () => {
    await fresh();
    await expect(provider.subscribe([`${prefix}..a`], () => undefined)).rejects.toMatchObject({
      code: ErrorCode.SUBJECT_INVALID,
    });
    await expect(provider.publish(`${prefix}.*`, bytes("x"))).rejects.toMatchObject({
      code: ErrorCode.SUBJECT_INVALID,
    });
    await expect(provider.subscribe([], () => undefined)).rejects.toMatchObject({
      code: ErrorCode.SUBJECT_INVALID,
    });
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

  it("publishes without confirmation when asked to: a frozen server does not hold publish() up", async () => {
    const frozen = await startNats();
    const unconfirmed = new NatsProvider({ id: "fast", url: frozen.url }, { confirmPublish: false });
    const confirmed = new NatsProvider({ id: "sure", url: frozen.url }, { publishTimeoutMs: 300 });
    try {
      await Promise.all([unconfirmed.start(), confirmed.start()]);
      const c = new Collector();
      await unconfirmed.subscribe([`${prefix}.fast`], c.handler);
      await frozen.signal("SIGSTOP"); // the server reads nothing, answers no PING
      const t0 = performance.now();
      for (let i = 0; i < 50; i++) await unconfirmed.publish(`${prefix}.fast`, bytes(String(i)));
      expect(performance.now() - t0).toBeLessThan(200);
      // The control: with confirmation the same publish waits for the server, and gives up.
      await expect(confirmed.publish(`${prefix}.fast`, bytes("x"))).rejects.toMatchObject({
        code: ErrorCode.PUBLISH_FAILED,
      });
      await frozen.signal("SIGCONT");
      await c.waitForCount(50);
    } finally {
      await frozen.signal("SIGCONT");
      await Promise.all([unconfirmed.stop(), confirmed.stop()]);
      await frozen.stop();
    }
  });
});

describe("NatsProvider authentication", () => {
  it("connects with a token and refuses a wrong one fast", async () => {
    const server = await startNats({ args: ["--auth", "s3cret"] });
    const ok = new NatsProvider({ id: "tok", url: server.url, authentication: { token: "s3cret" } });
    const bad = new NatsProvider({ id: "bad", url: server.url, authentication: { token: "nope" } });
    try {
      await ok.start();
      expect(ok.health().connected).toBe(true);
      const t0 = Date.now();
      await expect(bad.start()).rejects.toMatchObject({ code: ErrorCode.PROVIDER_UNAVAILABLE });
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      await ok.stop();
      await bad.stop();
      await server.stop();
    }
  });

  it("connects with user_info and keeps credentials out of messages", async () => {
    const server = await startNats({ args: ["--user", "sg", "--pass", "pw"] });
    const ok = new NatsProvider({
      id: "up",
      url: server.url,
      authentication: { user_info: { username: "sg", password: "pw" } },
    });
    const inUrl = new NatsProvider({ id: "url", url: `nats://sg:wrong@127.0.0.1:${server.port}` });
    try {
      await ok.start();
      expect(ok.health().connected).toBe(true);
      const err = await inUrl.start().catch((e: unknown) => e);
      expect(String((err as Error).message)).not.toContain("wrong");
      expect(inUrl.health().detail).not.toContain("wrong");
    } finally {
      await ok.stop();
      await inUrl.stop();
      await server.stop();
    }
  });
});

describe("nats-server harness", () => {
  it("runs JetStream and keeps its store across restart()", { timeout: 30_000 }, async () => {
    const server = await startNats({ jetstream: true });
    const nc = await connect({ servers: server.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    const api = async (subject: string, body: unknown = {}) =>
      (await nc.request(subject, bytes(JSON.stringify(body)), { timeout: 2000 })).json<
        Record<string, unknown>
      >();
    try {
      const created = await api("$JS.API.STREAM.CREATE.HARNESS", {
        name: "HARNESS",
        subjects: ["harness.>"],
      });
      expect(created).not.toHaveProperty("error");
      await server.restart();
      await waitFor(
        async () => !(await api("$JS.API.STREAM.INFO.HARNESS")).error,
        "the stream after restart",
      );
      expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    } finally {
      await nc.close();
      await server.stop();
    }
  });
});
