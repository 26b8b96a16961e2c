import { describe, expect, it } from "vitest";
import { type BrokerEvent, newCounters } from "../../../src/providers/provider.js";
import type { PubSubClient } from "../../../src/providers/redis/client.js";
import {
  literalChannel,
  RedisLocalSubscription,
  SubscriptionTable,
} from "../../../src/providers/redis/subscription.js";
import { matchGlob } from "../../../src/providers/subject.js";

/** A client that records the pub/sub commands it is asked to send and answers them at once. */
function fakeClient(): { client: PubSubClient; sent: string[][] } {
  const sent: string[][] = [];
  const record =
    (name: string) =>
    async (...args: string[]): Promise<unknown> => {
      sent.push([name, ...args]);
      return args.length;
    };
  const client = {
    status: "ready",
    subscribe: record("SUBSCRIBE"),
    unsubscribe: record("UNSUBSCRIBE"),
    psubscribe: record("PSUBSCRIBE"),
    punsubscribe: record("PUNSUBSCRIBE"),
  } as unknown as PubSubClient;
  return { client, sent };
}

const data = (s: string) => new TextEncoder().encode(s);
const text = (e: BrokerEvent) => `${e.topic}=${Buffer.from(e.data)}`;

/** A local subscription on `topics` that records what it gets. */
function local(topics: string[], counters = newCounters()) {
  const got: string[] = [];
  const sub = new RedisLocalSubscription(
    topics,
    (events) => {
      got.push(...events.map(text));
    },
    undefined,
    counters,
  );
  return { sub, got };
}

/**
 * Every copy Redis sends one connection for a PUBLISH on `channel`: one `message` when the channel
 * is SUBSCRIBEd, one `pmessage` per PSUBSCRIBEd pattern matching it. Redis sends the `message`
 * first; the order is shuffled by `order` to show delivery does not depend on it.
 */
function publish(table: SubscriptionTable, channel: string, payload: string, order: "redis" | "reversed") {
  const { channels, patterns } = table.names();
  const copies: (() => void)[] = [];
  if (channels.includes(channel)) copies.push(() => table.dispatchMessage(channel, data(payload)));
  for (const p of patterns) {
    if (matchGlob(p, channel)) copies.push(() => table.dispatchPMessage(p, channel, data(payload)));
  }
  if (order === "reversed") copies.reverse();
  for (const copy of copies) copy();
}

describe("literalChannel (which channels can be SUBSCRIBEd instead of PSUBSCRIBEd)", () => {
  it.each([
    ["orders.42", "orders.42"],
    ["notifications.user-1", "notifications.user-1"],
    ["a]b^c-d", "a]b^c-d"], // special only inside brackets
    ["a\\*b", "a*b"],
    ["a\\?b\\[c\\]", "a?b[c]"],
    ["a\\\\b", "a\\b"],
    ["a\\.b", "a.b"], // an escaped ordinary character is that character
    ["trailing\\", "trailing\\"], // a lone trailing backslash is literal, as in Redis
    ["\\", "\\"],
  ])("%j is the channel %j", (glob, channel) => {
    expect(literalChannel(glob)).toBe(channel);
    // The same meaning Redis gives it: the glob matches that channel, and nothing longer or shorter.
    expect(matchGlob(glob, channel)).toBe(true);
    expect(matchGlob(glob, `${channel}x`)).toBe(false);
  });

  it.each([
    "orders.*",
    "orders.?",
    "orders.[12]",
    "orders.[12", // an unclosed class is still a class
    "a\\*b*",
    "a\\\\*", // the backslash is escaped, the star is not
    "*",
  ])("%j is a pattern", (glob) => {
    expect(literalChannel(glob)).toBeUndefined();
  });
});

describe("SubscriptionTable", () => {
  it("splits topics into SUBSCRIBEd channels and PSUBSCRIBEd patterns, each once", () => {
    const { sub } = local(["a.1", "a.*", "a.1", "a.\\1", "b.[xy]", "lit\\*"]);
    expect(sub.channels).toEqual(["a.1", "lit*"]);
    expect(sub.patterns).toEqual(["a.*", "b.[xy]"]);
    const { client, sent } = fakeClient();
    const table = new SubscriptionTable();
    table.subscribeOn(client, table.add(sub), () => undefined);
    expect(sent).toEqual([
      ["SUBSCRIBE", "a.1", "lit*"],
      ["PSUBSCRIBE", "a.*", "b.[xy]"],
    ]);
  });

  it("subscribes a name on its first local user and unsubscribes it after its last", async () => {
    const { client, sent } = fakeClient();
    const table = new SubscriptionTable();
    const a = local(["c.1", "c.*"]).sub;
    const b = local(["c.1"]).sub;
    const c = local(["c.2", "c.*"]).sub;
    for (const s of [a, b, c]) table.subscribeOn(client, table.add(s), () => undefined);
    expect(sent).toEqual([
      ["SUBSCRIBE", "c.1"],
      ["PSUBSCRIBE", "c.*"],
      ["SUBSCRIBE", "c.2"],
    ]);
    sent.length = 0;
    expect(table.remove(a)).toEqual({ channels: [], patterns: [] });
    await table.unsubscribeOn(client, table.remove(a)); // already gone: nothing
    // A bare UNSUBSCRIBE / PUNSUBSCRIBE would drop every channel / pattern: never sent.
    expect(sent).toEqual([]);
    const gone = table.remove(c);
    expect(gone).toEqual({ channels: ["c.2"], patterns: ["c.*"] });
    await table.unsubscribeOn(client, gone);
    await table.unsubscribeOn(client, table.remove(b));
    expect(sent).toEqual([
      ["UNSUBSCRIBE", "c.2"],
      ["PUNSUBSCRIBE", "c.*"],
      ["UNSUBSCRIBE", "c.1"],
    ]);
    expect(table.names()).toEqual({ channels: [], patterns: [] });
  });

  it("keeps a channel and a pattern of the same text apart", () => {
    const table = new SubscriptionTable();
    const literal = local(["a\\*b"]); // the channel `a*b`
    const glob = local(["a*b"]);
    table.add(literal.sub);
    table.add(glob.sub);
    expect(table.names()).toEqual({ channels: ["a*b"], patterns: ["a*b"] });
    for (const ch of ["a*b", "axb"]) publish(table, ch, "m", "redis");
    expect(literal.got).toEqual(["a*b=m"]);
    expect(glob.got).toEqual(["a*b=m", "axb=m"]);
  });

  it.each(["redis", "reversed"] as const)(
    "delivers each message once per local subscription, whatever copies arrive (%s order)",
    (order) => {
      const table = new SubscriptionTable();
      const counters = newCounters();
      const all = local(["n.*", "n.1", "n.?", "n.\\2"], counters);
      const exact = local(["n.1"], counters);
      const glob = local(["n.?"], counters);
      for (const s of [all, exact, glob]) table.add(s.sub);
      publish(table, "n.1", "a", order); // SUBSCRIBEd and matched by both patterns: 3 copies for `all`
      publish(table, "n.2", "b", order); // SUBSCRIBEd, and n.? matches
      publish(table, "n.3", "c", order); // patterns only
      publish(table, "n.33", "d", order); // n.* only
      publish(table, "m.1", "e", order); // nobody
      expect(all.got).toEqual(["n.1=a", "n.2=b", "n.3=c", "n.33=d"]);
      expect(exact.got).toEqual(["n.1=a"]);
      expect(glob.got).toEqual(["n.1=a", "n.2=b", "n.3=c"]);
      expect(counters.received).toBe(4 + 1 + 3);
    },
  );

  it("delivers nothing to a subscription that left, nor for names no longer in the table", () => {
    const table = new SubscriptionTable();
    const { sub, got } = local(["x.1", "x.*"]);
    table.add(sub);
    sub.active = false;
    table.remove(sub);
    table.dispatchMessage("x.1", data("late"));
    table.dispatchPMessage("x.*", "x.1", data("late"));
    sub.deliverExact("x.1", data("late"));
    sub.deliverPattern(0, "x.1", data("late"));
    expect(got).toEqual([]);
  });

  it("reports a throwing handler to onError and counts it, then goes on", () => {
    const counters = newCounters();
    const errors: string[] = [];
    const sub = new RedisLocalSubscription(
      ["t.1"],
      () => {
        throw new Error("boom");
      },
      (err) => errors.push(err.message),
      counters,
    );
    const table = new SubscriptionTable();
    table.add(sub);
    table.dispatchMessage("t.1", data("1"));
    table.dispatchMessage("t.1", data("2"));
    expect(errors).toEqual(["boom", "boom"]);
    expect(counters).toMatchObject({ received: 2, errors: 2 });
  });

  it("keeps the pending answers of the names a subscription waits for, and forgets all on clear", async () => {
    const { client } = fakeClient();
    const table = new SubscriptionTable();
    const { sub } = local(["k.1", "k.*"]);
    expect(table.acks(sub)).toEqual([]);
    table.subscribeOn(client, table.add(sub), () => undefined);
    expect(table.acks(sub)).toHaveLength(2);
    await Promise.all(table.acks(sub));
    table.clear();
    expect(sub.active).toBe(false);
    expect(table.names()).toEqual({ channels: [], patterns: [] });
  });

  it("passes a failed (P)SUBSCRIBE to onError", async () => {
    const table = new SubscriptionTable();
    const client = {
      subscribe: async () => {
        throw new Error("NOPERM");
      },
      psubscribe: async () => 1,
    } as unknown as PubSubClient;
    const errors: unknown[] = [];
    const { sub } = local(["f.1", "f.*"]);
    table.subscribeOn(client, table.add(sub), (err) => errors.push(err));
    await Promise.allSettled(table.acks(sub));
    expect(errors).toHaveLength(1);
  });
});
