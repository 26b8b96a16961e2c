/**
 * The one suite every provider must pass (memory, NATS, JetStream, Kafka, Redis), like Cosmo's
 * shared pubsub tests. Contract assumed beyond provider.ts: an event published after subscribe()
 * resolved reaches that subscription. Broker-level cases run only when the env can drive the
 * broker; the suite prints which optional cases ran.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/errors.js";
import type { Provider } from "../../src/providers/provider.js";
import { bytes, Collector, waitFor } from "./collector.js";

/** A provider that can keep trying to connect in the background (NatsProvider and the like). */
export interface BackgroundStartable extends Provider {
  startInBackground(): Promise<void>;
}

/** A provider pointed at a broker that is not running yet. */
export interface DownBrokerEnv {
  readonly provider: BackgroundStartable;
  startBroker(): Promise<void>;
  cleanup(): Promise<void>;
}

/** What one test gets: a started provider, a random topic prefix, and optional broker controls. */
export interface ConformanceEnv {
  readonly provider: Provider;
  /** Unique per test; every topic the test uses starts with it. */
  readonly topicPrefix: string;
  /** Called with the topics a case will use before it uses them (Kafka creates them). */
  prepareTopics?(topics: readonly string[]): Promise<void>;
  /** A wildcard pattern in the provider's own syntax, with topics it does and does not match. */
  readonly wildcard?: { pattern: string; matching: readonly string[]; nonMatching: readonly string[] };
  restartBroker?(): Promise<void>;
  stopBroker?(): Promise<void>;
  startBroker?(): Promise<void>;
  makeProviderForDownBroker?(): Promise<DownBrokerEnv>;
  cleanup(): Promise<void>;
}

const SLOW = 60_000;

/** Registers the conformance cases for one provider under `describe(name)`. */
export function runProviderConformance(name: string, makeEnv: () => Promise<ConformanceEnv>): void {
  describe(`provider conformance: ${name}`, () => {
    let env: ConformanceEnv;
    const optional = new Map<string, string>();
    beforeEach(async () => {
      env = await makeEnv();
    });
    afterEach(async () => {
      await env?.cleanup();
    });
    afterAll(() => {
      const lines = [...optional].map(
        ([c, r]) => `  ${r === "ran" ? "ran    " : "skipped"} ${c}${r === "ran" ? "" : ` (${r})`}`,
      );
      console.log(`[conformance ${name}] optional cases:\n${lines.join("\n")}`);
    });

    /** Topic `name` under this test's prefix, announced to prepareTopics. */
    const topics = async (...names: string[]): Promise<string[]> => {
      const list = names.map((n) => `${env.topicPrefix}.${n}`);
      await env.prepareTopics?.(list);
      return list;
    };
    const p = () => env.provider;

    /** Marks an optional case ran or skipped (with why), for the summary. */
    const optionalCase = (label: string, missing: string | undefined, skip: () => void): void => {
      optional.set(label, missing ? `env provides no ${missing}` : "ran");
      if (missing) skip();
    };

    it("delivers a published event to a subscriber", async () => {
      const [topic] = await topics("a");
      const c = new Collector();
      await p().subscribe([topic!], c.handler);
      await p().publish(topic!, bytes("hello"));
      await c.waitForCount(1);
      expect(c.events[0]!.topic).toBe(topic);
      expect(c.texts()).toEqual(["hello"]);
    });

    it("carries publish headers and a key where its broker can, and refuses them where it cannot", async () => {
      const [topic] = await topics("meta");
      const c = new Collector();
      await p().subscribe([topic!], c.handler);
      const headers = { "x-tenant": "acme", "x-trace": "t1" };
      // What each broker carries (stream hooks' onPublish sets these): NATS headers, Kafka both,
      // Redis pub/sub neither; the embedded broker behaves as the kind it stands in for.
      const carries = {
        nats: { headers: true, key: false },
        kafka: { headers: true, key: true },
        redis: { headers: false, key: false },
      }[p().kind];
      if (carries.headers) {
        await p().publish(topic!, bytes("with-headers"), { headers });
      } else {
        const err = await p()
          .publish(topic!, bytes("x"), { headers })
          .catch((e: unknown) => e);
        expect((err as { code?: string }).code).toBe(ErrorCode.PROVIDER_NOT_BUILT);
      }
      if (carries.key) {
        await p().publish(topic!, bytes("with-key"), { key: "k-7" });
      } else {
        const err = await p()
          .publish(topic!, bytes("x"), { key: "k" })
          .catch((e: unknown) => e);
        expect((err as { code?: string }).code).toBe(ErrorCode.PROVIDER_NOT_BUILT);
      }
      await p().publish(topic!, bytes("plain"));
      const expected = [
        ...(carries.headers ? ["with-headers"] : []),
        ...(carries.key ? ["with-key"] : []),
        "plain",
      ];
      await c.waitForCount(expected.length);
      expect(c.texts()).toEqual(expected);
      if (carries.headers) expect(c.events[0]!.headers).toMatchObject(headers);
      if (carries.key) expect(new TextDecoder().decode(c.events[carries.headers ? 1 : 0]!.key)).toBe("k-7");
      // Nothing refused reached the subscriber, and a plain message carries neither.
      expect(c.events.at(-1)!.key).toBeUndefined();
    });

    it("keeps publish order per topic (100 events)", async () => {
      const [topic] = await topics("order");
      const c = new Collector();
      await p().subscribe([topic!], c.handler);
      const sent = Array.from({ length: 100 }, (_, i) => `m${i}`);
      for (const m of sent) await p().publish(topic!, bytes(m));
      await c.waitForCount(100);
      expect(c.texts()).toEqual(sent);
    });

    it("delivers nothing after unsubscribe (which is idempotent)", async () => {
      const [topic] = await topics("unsub");
      const gone = new Collector();
      const sentinel = new Collector();
      const unsubscribe = await p().subscribe([topic!], gone.handler);
      await p().subscribe([topic!], sentinel.handler);
      await p().publish(topic!, bytes("1"));
      await gone.waitForCount(1);
      await unsubscribe();
      await unsubscribe();
      await p().publish(topic!, bytes("2"));
      await p().publish(topic!, bytes("3"));
      // The sentinel shares the topic: once it has "3", a copy for `gone` would have come too.
      await sentinel.waitForText("3");
      expect(gone.texts()).toEqual(["1"]);
    });

    it("keeps a second local listener when the first unsubscribes", async () => {
      const [topic] = await topics("shared");
      const first = new Collector();
      const second = new Collector();
      const unsubFirst = await p().subscribe([topic!], first.handler);
      await p().subscribe([topic!], second.handler);
      await unsubFirst();
      await p().publish(topic!, bytes("after"));
      await second.waitForText("after");
      expect(first.events).toHaveLength(0);
    });

    it("covers several topics with one subscribe, once per event", async () => {
      const [a, b, other] = await topics("multi-a", "multi-b", "multi-other");
      const c = new Collector();
      const sentinel = new Collector();
      // The duplicate must not make events arrive twice.
      await p().subscribe([a!, b!, a!], c.handler);
      await p().subscribe([other!], sentinel.handler);
      await p().publish(a!, bytes("x"));
      await p().publish(b!, bytes("y"));
      await p().publish(other!, bytes("z"));
      await c.waitForCount(2);
      await sentinel.waitForText("z");
      await p().publish(a!, bytes("last"));
      await c.waitForText("last");
      const got = c.events.map((e) => `${e.topic}=${Buffer.from(e.data)}`).sort();
      expect(got).toEqual([`${a}=last`, `${a}=x`, `${b}=y`].sort());
    });

    it("delivers payload bytes exactly, whatever they are", async () => {
      const [topic] = await topics("bytes");
      const big = new Uint8Array(100_000).map((_, i) => (i * 7919) % 256);
      const payloads = [
        new Uint8Array(0),
        Uint8Array.from([0x00, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0x0d, 0x0a]), // invalid UTF-8, CRLF
        bytes('{"not": json'),
        bytes("\r\nPUB x 5\r\nhello\r\n"),
        bytes("ünïcødé ✓ 🚀"),
        big,
      ];
      const c = new Collector();
      await p().subscribe([topic!], c.handler);
      for (const data of payloads) {
        const mine = data.slice();
        await p().publish(topic!, mine);
        // The broker owns its copy once publish resolved: reusing our buffer must not matter.
        mine.fill(0x2a);
      }
      await c.waitForCount(payloads.length);
      c.events.forEach((e, i) => {
        expect(e.data).toBeInstanceOf(Uint8Array);
        expect(Buffer.from(e.data).equals(Buffer.from(payloads[i]!)), `payload ${i}`).toBe(true);
      });
    });

    it("reports health and counts traffic", async () => {
      const [topic] = await topics("health");
      const before = p().health();
      expect(before).toMatchObject({ id: p().id, kind: p().kind, connected: true });
      const c = new Collector();
      await p().subscribe([topic!], c.handler);
      await p().publish(topic!, bytes("x"));
      await c.waitForCount(1);
      const after = p().health().counters;
      expect(after.published).toBeGreaterThan(before.counters.published);
      expect(after.received).toBeGreaterThan(before.counters.received);
    });

    it("stops idempotently and refuses work afterwards", async () => {
      const [topic] = await topics("stop");
      await p().subscribe([topic!], () => undefined);
      await p().stop();
      await p().stop();
      expect(p().health().connected).toBe(false);
      await expect(p().publish(topic!, bytes("x"))).rejects.toHaveProperty("code");
      await expect(p().subscribe([topic!], () => undefined)).rejects.toHaveProperty("code");
    });

    it("matches wildcard patterns, once per event even when topics overlap", async (ctx) => {
      optionalCase("wildcard", env.wildcard ? undefined : "wildcard", () => ctx.skip());
      const { pattern, matching, nonMatching } = env.wildcard!;
      await env.prepareTopics?.([...matching, ...nonMatching]);
      const c = new Collector();
      const sentinel = new Collector();
      await p().subscribe([pattern, matching[0]!], c.handler);
      await p().subscribe(nonMatching, sentinel.handler);
      for (const t of [...nonMatching, ...matching]) await p().publish(t, bytes(t));
      await sentinel.waitForCount(nonMatching.length);
      await c.waitForCount(matching.length);
      await p().publish(matching[0]!, bytes("end"));
      await c.waitForText("end");
      expect(c.texts().sort()).toEqual([...matching, "end"].sort());
    });

    it("resumes delivery after a broker restart", { timeout: SLOW }, async (ctx) => {
      optionalCase("broker restart", env.restartBroker ? undefined : "restartBroker", () => ctx.skip());
      const [topic] = await topics("restart");
      const c = new Collector();
      await p().subscribe([topic!], c.handler);
      await p().publish(topic!, bytes("before"));
      await c.waitForText("before");
      const reconnects = p().health().counters.reconnects;
      await env.restartBroker!();
      const h = () => p().health();
      await waitFor(() => h().connected && h().counters.reconnects > reconnects, "reconnect", 30_000);
      await publishUntilReceived(p(), topic!, c);
      expect(c.texts().filter((t) => !t.startsWith("after-"))).toEqual(["before"]);
    });

    it("rejects publishes while the broker is down and recovers", { timeout: SLOW }, async (ctx) => {
      const missing = env.stopBroker && env.startBroker ? undefined : "stopBroker/startBroker";
      optionalCase("broker outage", missing, () => ctx.skip());
      const [topic] = await topics("outage");
      const early = new Collector();
      await p().subscribe([topic!], early.handler);
      await env.stopBroker!();
      await waitFor(() => !p().health().connected, "the provider to notice the outage", 30_000);
      expect(p().health().detail).toBeTruthy();
      await expect(p().publish(topic!, bytes("lost"))).rejects.toMatchObject({
        code: ErrorCode.PUBLISH_FAILED,
      });
      // Registered while the broker is away: must be live once it is back.
      const late = new Collector();
      await p().subscribe([topic!], late.handler);
      await env.startBroker!();
      await waitFor(() => p().health().connected, "reconnect", 30_000);
      await publishUntilReceived(p(), topic!, early, late);
    });

    it("fails fast when the broker is down at start, then connects in the background", {
      timeout: SLOW,
    }, async (ctx) => {
      optionalCase(
        "broker down at start",
        env.makeProviderForDownBroker ? undefined : "makeProviderForDownBroker",
        () => ctx.skip(),
      );
      const down = await env.makeProviderForDownBroker!();
      try {
        const dp = down.provider;
        const t0 = Date.now();
        const err = await dp.start().catch((e: unknown) => e);
        expect(err).toMatchObject({ code: ErrorCode.PROVIDER_UNAVAILABLE });
        expect(Date.now() - t0).toBeLessThan(5000);
        expect(dp.health()).toMatchObject({ connected: false });
        expect(dp.health().detail).toBeTruthy();
        const background = dp.startInBackground();
        const [topic] = await topics("late-start");
        const c = new Collector();
        await dp.subscribe([topic!], c.handler);
        await expect(dp.publish(topic!, bytes("x"))).rejects.toMatchObject({
          code: ErrorCode.PUBLISH_FAILED,
        });
        await down.startBroker();
        await background;
        expect(dp.health().connected).toBe(true);
        await publishUntilReceived(dp, topic!, c);
      } finally {
        await down.cleanup();
      }
    });

    it("ends a background start when stopped", { timeout: SLOW }, async (ctx) => {
      optionalCase(
        "stop during background start",
        env.makeProviderForDownBroker ? undefined : "makeProviderForDownBroker",
        () => ctx.skip(),
      );
      const down = await env.makeProviderForDownBroker!();
      try {
        const initial = down.provider.health().detail;
        const background = down.provider.startInBackground();
        await waitFor(
          () => down.provider.health().detail !== initial,
          "a failed attempt to show in health()",
        );
        const t0 = Date.now();
        await down.provider.stop();
        await background;
        expect(Date.now() - t0).toBeLessThan(3000);
        expect(down.provider.health().connected).toBe(false);
      } finally {
        await down.cleanup();
      }
    });
  });
}

/**
 * After an outage, publishes `after-N` until one reaches every collector. At-most-once brokers may lose events
 * published while the subscription is being restored, so the first one is not required to arrive.
 */
async function publishUntilReceived(provider: Provider, topic: string, ...cs: Collector[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  const all = () => cs.every((c) => c.texts().some((t) => t.startsWith("after-")));
  for (let n = 0; Date.now() < deadline; n++) {
    await provider.publish(topic, bytes(`after-${n}`)).catch(() => undefined);
    const ok = await waitFor(all, "after-*", 500).then(
      () => true,
      () => false,
    );
    if (ok) return;
  }
  throw new Error(`no event published after the outage reached the subscriber of ${topic}`);
}
