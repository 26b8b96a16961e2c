/**
 * At-least-once end to end on a real nats-server with JetStream (file store): cursors on every
 * next, resume after a client drop and after the router is SIGKILLed (on a second instance), over
 * WebSocket and SSE (Last-Event-ID), with a publisher that never stops; every event arrives once,
 * in order, with no gap and no duplicate at the seam. Bad cursors, retention gaps, idle cursors.
 */
import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CursorCodec } from "../../src/delivery/cursor.js";
import { durableName } from "../../src/providers/nats/jetstream.js";
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
  orderUpdated: Order! @edfs__natsSubscribe(subjects: ["orders.updated"], streamConfiguration: { consumerName: "router", streamName: "orders" })
  orderCreated: Order! @edfs__natsSubscribe(subjects: ["orders.created"], streamConfiguration: { consumerName: "router", streamName: "orders" })
  smallUpdated: Order! @edfs__natsSubscribe(subjects: ["small.updated"], streamConfiguration: { consumerName: "router", streamName: "small" })
  evenOrders: Order! @edfs__natsSubscribe(subjects: ["filtered.orders"], streamConfiguration: { consumerName: "router", streamName: "filtered" })
    @openfed__subscriptionFilter(condition: { IN: { fieldPath: "id", values: ["0"] } })
  coreOrders: Order! @edfs__natsSubscribe(subjects: ["core.orders"])
}
type Order @key(fields: "id", resolvable: false) { id: ID! @external }
`;

let nats: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
const enc = new TextEncoder();

function config(instance: string): string {
  return natsRouterConfig(
    nats.url,
    `        delivery: at_least_once
instance_id: ${instance}
heartbeat_interval: 1s
delivery:
  cursor_secret: "${SECRET}"
`,
  );
}

async function router(instance: string): Promise<RunningRouter> {
  const d = await tempFiles({ "events.graphql": SDL, "config.yaml": config(instance) });
  return startRouterProcess(["--config", `${d}/config.yaml`]);
}

beforeAll(async () => {
  nats = await startNats({ jetstream: true });
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "orders", subjects: ["orders.>"] });
  await jsm.streams.add({ name: "small", subjects: ["small.>"], max_msgs: 5 });
  await jsm.streams.add({ name: "filtered", subjects: ["filtered.>"] });
});

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

type Next = {
  id: string;
  payload: { data: Record<string, { id: string }>; extensions?: Record<string, unknown> };
};

/** A graphql-transport-ws socket, acknowledged, subscribed to `field` (resuming from `cursor`). */
const subscribe = (r: RunningRouter, field: string, cursor?: string) =>
  rawSubscribe(`${r.ws}/graphql`, `subscription { ${field} { id } }`, cursor);

const nexts = (raw: RawSocket) => raw.frames.filter((f) => f.type === "next") as unknown as Next[];
const ids = (raw: RawSocket, field: string) => nexts(raw).map((n) => Number(n.payload.data[field]!.id));
const lastCursor = (raw: RawSocket) => nexts(raw).at(-1)?.payload.extensions?.cursor as string;

/** Publishes `subject` events numbered from `from`, every `everyMs`, until stopped; returns the count. */
function publisher(subject: string, from: number, everyMs = 5) {
  let n = from;
  const t = setInterval(() => {
    nc.publish(subject, enc.encode(JSON.stringify({ __typename: "Order", id: String(n++) })));
  }, everyMs);
  return {
    get next() {
      return n;
    },
    stop: async () => {
      clearInterval(t);
      await nc.flush();
      return n;
    },
  };
}

/**
 * Waits until the router `instance` has its durable consumer on `subject` in `stream`. A durable
 * starts at new messages, so an event published before it exists never reaches the client: a
 * fixed wait after subscribing was too short on a loaded machine.
 */
async function durableReady(instance: string, subject: string, stream = "orders"): Promise<void> {
  const name = durableName("router", instance, subject);
  await vi.waitFor(
    async () => {
      const names: string[] = [];
      for await (const c of jsm.consumers.list(stream)) names.push(c.name);
      expect(names).toContain(name);
    },
    { timeout: 10_000, interval: 100 },
  );
}

/** The ids form exactly from..to, once each, in order. */
function expectExactly(got: number[], from: number, to: number): void {
  expect(got.length).toBe(to - from + 1);
  expect(got).toEqual(Array.from({ length: to - from + 1 }, (_, i) => from + i));
}

describe("at-least-once on JetStream", () => {
  it("puts a cursor on every next and says what the client gets on the first", async () => {
    const r = await router("a1");
    try {
      const raw = await subscribe(r, "orderCreated");
      // Exactly three events are published, after the router's durable exists.
      await durableReady("a1", "orders.created");
      for (let i = 1; i <= 3; i++)
        nc.publish("orders.created", enc.encode(`{"__typename":"Order","id":"${i}"}`));
      await vi.waitFor(() => expect(nexts(raw)).toHaveLength(3));
      const [first, second] = nexts(raw);
      expect(first!.payload.extensions).toMatchObject({
        cursor: expect.any(String),
        delivery: { guarantee: "at_least_once", achieved: "at_least_once" },
      });
      expect(second!.payload.extensions).toEqual({ cursor: expect.any(String) });
      expect(new Set(nexts(raw).map((n) => n.payload.extensions!.cursor)).size).toBe(3);
    } finally {
      await r.stop();
    }
  });

  it("resumes a client that dropped, while events keep coming: each once, in order, no gap at the seam", async () => {
    const r = await router("a2");
    try {
      const first = await subscribe(r, "orderUpdated");
      await durableReady("a2", "orders.updated");
      const pub = publisher("orders.updated", 1);
      await vi.waitFor(() => expect(nexts(first).length).toBeGreaterThan(50), { timeout: 10_000 });
      first.ws.terminate();
      const seenBefore = ids(first, "orderUpdated");
      const cursor = lastCursor(first);
      await new Promise((res) => setTimeout(res, 300)); // events the client misses
      const second = await subscribe(r, "orderUpdated", cursor);
      await vi.waitFor(() => expect(nexts(second).length).toBeGreaterThan(100), { timeout: 10_000 });
      const end = (await pub.stop()) - 1;
      await vi.waitFor(() => expect(ids(second, "orderUpdated").at(-1)).toBe(end), { timeout: 10_000 });
      expectExactly(seenBefore, 1, seenBefore.at(-1)!);
      expectExactly(ids(second, "orderUpdated"), seenBefore.at(-1)! + 1, end);
      expect(nexts(second)[0]!.payload.extensions?.gap).toBeUndefined();
      expect(await readMetric(r.http, "streamgate_delivery_resumes_total")).toBe(1);
      expect(await readMetric(r.http, "streamgate_delivery_replayed_events_total")).toBeGreaterThan(0);
    } finally {
      await r.stop();
    }
  });

  it("resumes on a second instance after the first is SIGKILLed mid-stream", async () => {
    const a = await router("killed");
    const first = await subscribe(a, "orderUpdated");
    await durableReady("killed", "orders.updated");
    const pub = publisher("orders.updated", 100_000);
    await vi.waitFor(() => expect(nexts(first).length).toBeGreaterThan(30), { timeout: 10_000 });
    await a.stop("SIGKILL");
    const before = ids(first, "orderUpdated");
    const cursor = lastCursor(first);
    const b = await router("survivor");
    try {
      const second = await subscribe(b, "orderUpdated", cursor);
      await vi.waitFor(() => expect(nexts(second).length).toBeGreaterThan(50), { timeout: 10_000 });
      const end = (await pub.stop()) - 1;
      await vi.waitFor(() => expect(ids(second, "orderUpdated").at(-1)).toBe(end), { timeout: 10_000 });
      expectExactly(before, 100_000, before.at(-1)!);
      expectExactly(ids(second, "orderUpdated"), before.at(-1)! + 1, end);
    } finally {
      await b.stop();
    }
  });

  it("keeps every event across a nats-server restart (file store), in order", async () => {
    const r = await router("restart");
    const js = jetstream(nc);
    try {
      const raw = await subscribe(r, "orderUpdated");
      await durableReady("restart", "orders.updated");
      // A publisher that makes sure: each event is stored (PubAck) before the next; retried while the server is down.
      let n = 700_000;
      let running = true;
      const loop = (async () => {
        while (running) {
          const body = enc.encode(JSON.stringify({ __typename: "Order", id: String(n) }));
          try {
            await js.publish("orders.updated", body, { msgID: `restart-${n}`, timeout: 1000 });
            n++;
          } catch {
            await new Promise((res) => setTimeout(res, 100));
          }
        }
      })();
      await vi.waitFor(() => expect(nexts(raw).length).toBeGreaterThan(20), { timeout: 10_000 });
      await nats.kill();
      await new Promise((res) => setTimeout(res, 500));
      await nats.start();
      const restartedAt = n;
      await vi.waitFor(() => expect(n).toBeGreaterThan(restartedAt + 100), { timeout: 20_000 });
      running = false;
      await loop;
      const end = n - 1;
      await vi.waitFor(() => expect(ids(raw, "orderUpdated").at(-1)).toBe(end), { timeout: 20_000 });
      const got = ids(raw, "orderUpdated");
      // At least once (a redelivery after the restart may repeat one), never out of order.
      expect(new Set(got)).toEqual(new Set(Array.from({ length: end - 700_000 + 1 }, (_, i) => 700_000 + i)));
      expect(got).toEqual([...got].sort((a, b) => a - b));
      expect(raw.closed).toBeUndefined();
    } finally {
      await r.stop();
    }
  });

  it("resumes over SSE with Last-Event-ID; id: carries the cursor and retry: is sent", async () => {
    const r = await router("sse");
    try {
      const read = async (lastEventId: string | undefined, until: (ids: number[]) => boolean) => {
        const ac = new AbortController();
        const res = await fetch(`${r.http}/graphql`, {
          method: "POST",
          signal: ac.signal,
          headers: {
            "content-type": "application/json",
            accept: "text/event-stream",
            ...(lastEventId ? { "last-event-id": lastEventId } : {}),
          },
          body: JSON.stringify({ query: "subscription { orderUpdated { id } }" }),
        });
        const reader = res.body!.getReader();
        let text = "";
        const got: number[] = [];
        let lastId = "";
        while (!until(got)) {
          const { value, done } = await reader.read();
          if (done) break;
          text += Buffer.from(value).toString();
          let sep = text.indexOf("\n\n");
          while (sep >= 0) {
            const block = text.slice(0, sep);
            text = text.slice(sep + 2);
            sep = text.indexOf("\n\n");
            const id = /^id: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (id) lastId = id;
            if (data && /^event: next$/m.test(block)) got.push(Number(JSON.parse(data).data.orderUpdated.id));
          }
        }
        ac.abort();
        return { got, lastId, head: res.headers.get("content-type") };
      };
      const pub = publisher("orders.updated", 500_000);
      const first = await read(undefined, (g) => g.length >= 20);
      expect(first.head).toContain("text/event-stream");
      await new Promise((res) => setTimeout(res, 200));
      const end = pub.next + 60;
      const second = await read(first.lastId, (g) => g.at(-1) !== undefined && g.at(-1)! >= end);
      await pub.stop();
      expectExactly(first.got, first.got[0]!, first.got.at(-1)!);
      expect(second.got[0]).toBe(first.got.at(-1)! + 1);
      expectExactly(second.got, second.got[0]!, second.got.at(-1)!);
    } finally {
      await r.stop();
    }
  });

  it("on SIGTERM ends an at-least-once SSE stream without complete (the client resumes elsewhere)", async () => {
    const r = await router("sigterm");
    const res = await fetch(`${r.http}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ query: "subscription { orderCreated { id } }" }),
    });
    const body = res.text();
    await new Promise((res2) => setTimeout(res2, 300));
    expect(await r.stop()).toBe(0);
    const text = await body;
    expect(text).toContain("retry:");
    expect(text).not.toContain("event: complete");
  });

  it("refuses tampered, foreign, other-provider and other-subscription cursors with CURSOR_INVALID", async () => {
    const r = await router("bad");
    try {
      const good = await subscribe(r, "orderCreated");
      await durableReady("bad", "orders.created");
      nc.publish("orders.created", enc.encode('{"__typename":"Order","id":"1"}'));
      await vi.waitFor(() => expect(nexts(good)).toHaveLength(1));
      const cursor = lastCursor(good);
      const [body] = cursor.split(".");
      const decoded = JSON.parse(Buffer.from(body!, "base64url").toString());
      const forged = new CursorCodec("another-secret-that-is-at-least-32-bytes").encode(decoded);
      const otherProvider = new CursorCodec(SECRET).encode({ ...decoded, p: "nope" });
      const cases: [string, string][] = [
        ["orderCreated", `${cursor.slice(0, 10)}${cursor[10] === "A" ? "B" : "A"}${cursor.slice(11)}`],
        ["orderCreated", forged],
        ["orderCreated", otherProvider],
        ["orderUpdated", cursor],
        ["orderCreated", "garbage"],
      ];
      for (const [field, c] of cases) {
        const raw = await subscribe(r, field, c);
        await vi.waitFor(() => expect(raw.frames.some((f) => f.type === "error")).toBe(true));
        const err = raw.frames.find((f) => f.type === "error") as {
          payload: { extensions: { code: string } }[];
        };
        expect([field, err.payload[0]!.extensions.code]).toEqual([field, "SG_ERR_CURSOR_INVALID"]);
        expect(raw.closed).toBeUndefined();
      }
      expect(await readMetric(r.http, "streamgate_delivery_cursors_refused_total")).toBe(cases.length);
    } finally {
      await r.stop();
    }
  });

  it("goes on with gap: true when the stream no longer holds what the cursor needs", async () => {
    const r = await router("gap");
    try {
      const first = await subscribe(r, "smallUpdated");
      await durableReady("gap", "small.updated", "small");
      nc.publish("small.updated", enc.encode('{"__typename":"Order","id":"1"}'));
      await vi.waitFor(() => expect(nexts(first)).toHaveLength(1));
      first.ws.terminate();
      for (let i = 2; i <= 20; i++)
        nc.publish("small.updated", enc.encode(`{"__typename":"Order","id":"${i}"}`));
      await nc.flush();
      const second = await subscribe(r, "smallUpdated", lastCursor(first));
      await vi.waitFor(() => expect(nexts(second).length).toBeGreaterThanOrEqual(5));
      expect(nexts(second)[0]!.payload.extensions).toMatchObject({ gap: true });
      expect(ids(second, "smallUpdated")).toEqual([16, 17, 18, 19, 20]); // what max_msgs 5 kept
    } finally {
      await r.stop();
    }
  });

  it("hands an idle client its newest cursor in a ping, so a resume does not replay what a filter skipped", async () => {
    const r = await router("idle");
    try {
      const raw = await subscribe(r, "evenOrders");
      await durableReady("idle", "filtered.orders", "filtered");
      nc.publish("filtered.orders", enc.encode('{"__typename":"Order","id":"0"}'));
      await vi.waitFor(() => expect(nexts(raw)).toHaveLength(1));
      for (let i = 1; i <= 30; i++)
        nc.publish("filtered.orders", enc.encode(`{"__typename":"Order","id":"${i}"}`));
      await vi.waitFor(
        () =>
          expect(
            raw.frames.some((f) => f.type === "ping" && (f.payload as { cursors?: unknown })?.cursors),
          ).toBe(true),
        { timeout: 5000 },
      );
      const ping = raw.frames.filter((f) => f.type === "ping").at(-1) as {
        payload: { cursors: { s: string } };
      };
      const [body] = ping.payload.cursors.s.split(".");
      const positions = JSON.parse(Buffer.from(body!, "base64url").toString()).o as Record<string, number>;
      expect(Object.values(positions)[0]).toBeGreaterThanOrEqual(31); // past the 30 filtered events
    } finally {
      await r.stop();
    }
  });

  it("says at_most_once, and why, for a core NATS subject on an at-least-once provider", async () => {
    const r = await router("core");
    try {
      const raw = await subscribe(r, "coreOrders");
      await vi.waitFor(
        () => {
          nc.publish("core.orders", enc.encode('{"__typename":"Order","id":"1"}'));
          expect(nexts(raw).length).toBeGreaterThan(0);
        },
        { timeout: 5000, interval: 100 },
      );
      expect(nexts(raw)[0]!.payload.extensions).toEqual({
        delivery: {
          guarantee: "at_least_once",
          achieved: "at_most_once",
          reason: expect.stringMatching(/NATS core/),
        },
      });
      expect(nexts(raw).at(-1)!.payload.extensions?.cursor).toBeUndefined();
    } finally {
      await r.stop();
    }
  });
});
