/**
 * End to end: stream hooks in the built router on a real nats-server, driven by the public
 * graphql-ws client, raw sockets and a raw NATS client. One module (written below) behaves by
 * the subscription's variables or the event's topic: it drops and maps events, validates and
 * tags publishes, and fails in every way a hook can (throws, hangs past its timeout, returns
 * garbage), each failure confined to its own subscription, batch or mutation.
 */
import { connect, headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";
import { type Collected, collect, postGraphql, rawSocket, wsClient } from "../helpers/clients.js";
import {
  natsRouterConfig,
  type RunningRouter,
  readMetric,
  startRouterProcess,
  tempFiles,
} from "../helpers/router.js";

const SDL = `
type Mutation {
  updateEmployee(id: ID!, update: EmployeeUpdate!): edfs__PublishResult! @edfs__natsPublish(subject: "employeeUpdated.{{ args.id }}")
}
type Subscription {
  employeeUpdated(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"])
}
input EmployeeUpdate { name: String }
type Employee @key(fields: "id", resolvable: false) { id: ID! @external }
`;

/** The module under test: plain ESM, no imports, as a user would write it. */
const MODULE = `
const never = () => new Promise(() => {});
const refusal = (code, message, closeCode) => Object.assign(new Error(message), { code, closeCode });
export default {
  onSubscriptionCreate(ctx) {
    const id = ctx.variables.id;
    if (id === "create-wildcard") return { topics: ["employeeUpdated.*"] };
    if (id === "create-many") return { topics: Array.from({ length: 1000 }, (_, i) => "employeeUpdated.m" + i) };
    if (id === "create-garbage") return { topics: "employeeUpdated.x" };
    const prefix = ctx.headers["x-prefix"];
    if (prefix !== undefined) return { topics: ctx.topics.map((t) => prefix + "." + t) };
  },
  async onSubscriptionStart(ctx) {
    const id = ctx.variables.id;
    if (id === "start-throws") throw new Error("internal detail: db at 10.0.0.5 refused");
    if (id === "start-hangs") await never();
    if (id === "start-emits-bigint") ctx.emit({ __typename: "Employee", id: "x", n: 1n });
    if (id === "start-refuses") throw refusal("FORBIDDEN", "not for you", 4403);
  },
  async onReceiveEvents(ctx) {
    if (ctx.topic === "employeeUpdated.hangs") await never();
    if (ctx.topic === "employeeUpdated.garbage") return { not: "an array" };
    if (ctx.topic === "employeeUpdated.huge") return Array.from({ length: 20000 }, () => ctx.events[0]);
    if (ctx.topic === "employeeUpdated.bigint") return ctx.events.map((e) => ({ ...e, data: { ...e.data, n: 1n } }));
    return ctx.events
      .filter((e) => e.data.drop !== true)
      .map((e) => ({ ...e, data: { ...e.data, id: e.data.id + (e.headers["x-suffix"] ?? "") + "-mapped" } }));
  },
  onDeliver: {
    groupBy: (ctx) => ctx.variables.id,
    handler(ctx) {
      if (ctx.variables.id === "deliver-fails") throw new Error("deliver failed");
      if (ctx.event.data.hide === true) return null;
    },
  },
  onPublish(ctx) {
    if (ctx.data.update?.name === "bad") throw refusal("BAD_PAYLOAD", "name must not be bad");
    return { headers: { "x-audit": "checked" } };
  },
};
`;

const SUB = "subscription($id: ID!) { employeeUpdated(id: $id) { id } }";
let nats: NatsServer;
let nc: NatsConnection;
let router: RunningRouter;
const enc = new TextEncoder();

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  const dir = await tempFiles({
    "events.graphql": SDL,
    "behaviour.mjs": MODULE,
    "config.yaml": natsRouterConfig(
      nats.url,
      `modules: [./behaviour.mjs]
hooks:
  timeout: 500ms
  on_deliver: { failure_policy: error }
`,
    ),
  });
  router = await startRouterProcess(["--config", `${dir}/config.yaml`]);
});

afterAll(async () => {
  await nc?.close();
  const code = await router?.stop();
  await nats?.stop();
  expect(code).toBe(0);
});

const ids = (c: Collected): string[] =>
  c.values.map((v) => (v as { data: { employeeUpdated: { id: string } } }).data.employeeUpdated.id);
const codeOf = (c: Collected): unknown =>
  (c.errors[0] as { extensions?: { code?: string } }[] | undefined)?.[0]?.extensions?.code;

function publish(subject: string, body: unknown, headers?: Record<string, string>): void {
  const h = headers ? natsHeaders() : undefined;
  for (const [k, v] of Object.entries(headers ?? {})) h!.set(k, v);
  nc.publish(subject, enc.encode(JSON.stringify(body)), h ? { headers: h } : undefined);
}

/** Publishes `body` on `subject` every 100 ms until `done()` holds. */
async function publishUntil(subject: string, body: unknown, done: () => boolean): Promise<void> {
  await vi.waitFor(
    () => {
      if (done()) return;
      publish(subject, body);
      throw new Error("not yet");
    },
    { timeout: 5000, interval: 100 },
  );
}

describe("onReceiveEvents", () => {
  it("drops and maps events once per batch, and sees NATS headers", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const sub = collect(client, SUB, { id: "r1" });
    const twin = collect(client, SUB, { id: "r1" });
    await publishUntil(
      "employeeUpdated.r1",
      { id: "warm" },
      () => sub.values.length > 0 && twin.values.length > 0,
    );
    const before = sub.values.length;
    publish("employeeUpdated.r1", { id: "dropped", drop: true });
    publish("employeeUpdated.r1", { id: "kept" }, { "x-suffix": "-h" });
    await vi.waitFor(() => expect(ids(sub)).toContain("kept-h-mapped"));
    expect(ids(sub).slice(before)).toEqual(["kept-h-mapped"]);
    expect(ids(sub).every((id) => id.endsWith("-mapped"))).toBe(true);
    await vi.waitFor(() => expect(ids(twin)).toEqual(ids(sub)));
    sub.unsubscribe();
    twin.unsubscribe();
    await client.dispose();
  });
});

describe("onPublish", () => {
  it("rejects a bad payload: the mutation fails with the hook's code and nothing is published", async () => {
    const seen: unknown[] = [];
    const raw = nc.subscribe("employeeUpdated.p1", { callback: (_e, m) => void seen.push(m.json()) });
    await nc.flush();
    const res = await postGraphql(router.http, {
      query: 'mutation { updateEmployee(id: "p1", update: { name: "bad" }) { success } }',
    });
    expect(res.body.data).toBeNull();
    expect(res.body.errors).toEqual([
      expect.objectContaining({ message: "name must not be bad", extensions: { code: "BAD_PAYLOAD" } }),
    ]);
    await nc.flush();
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toEqual([]);
    raw.unsubscribe();
  });

  it("adds a header a raw NATS subscriber sees", async () => {
    const seen: { body: unknown; audit: string | undefined }[] = [];
    const raw = nc.subscribe("employeeUpdated.p2", {
      callback: (_e, m) => void seen.push({ body: m.json(), audit: m.headers?.get("x-audit") }),
    });
    await nc.flush();
    const res = await postGraphql(router.http, {
      query: 'mutation { updateEmployee(id: "p2", update: { name: "Ada" }) { success } }',
    });
    expect(res.body).toEqual({ data: { updateEmployee: { success: true } } });
    await vi.waitFor(() =>
      expect(seen).toEqual([{ body: { id: "p2", update: { name: "Ada" } }, audit: "checked" }]),
    );
    raw.unsubscribe();
  });
});

describe("a failing hook affects only its own subscription", () => {
  it("throws, hangs past its timeout, fails in onDeliver or hangs on a batch while others flow", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const ok = collect(client, SUB, { id: "ok" });
    await publishUntil("employeeUpdated.ok", { id: "ok" }, () => ok.values.length > 0);
    // Keep events flowing to the healthy subscription the whole time.
    const flow = setInterval(() => publish("employeeUpdated.ok", { id: "ok" }), 50);
    try {
      const t0 = Date.now();
      const throws = collect(client, SUB, { id: "start-throws" });
      const hangs = collect(client, SUB, { id: "start-hangs" });
      const hangsBatch = collect(client, SUB, { id: "hangs" });
      const deliverFails = collect(client, SUB, { id: "deliver-fails" });
      await vi.waitFor(() => expect(throws.errors.length).toBe(1));
      // A thrown error without a code of its own tells the client nothing internal.
      expect(throws.errors[0]).toEqual([
        { message: "the onSubscriptionStart hook failed", extensions: { code: "SG_ERR_HOOK_FAILED" } },
      ]);
      const okBeforeTimeout = ok.values.length;
      await vi.waitFor(() => expect(codeOf(hangs)).toBe("SG_ERR_HOOK_TIMEOUT"), { timeout: 3000 });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
      await publishUntil("employeeUpdated.deliver-fails", { id: "d" }, () => deliverFails.errors.length > 0);
      expect(codeOf(deliverFails)).toBe("SG_ERR_HOOK_FAILED");
      // The batch hook hangs: its events are skipped after the timeout, the subscription stays.
      publish("employeeUpdated.hangs", { id: "h1" });
      publish("employeeUpdated.hangs", { id: "h2" });
      await new Promise((r) => setTimeout(r, 1200));
      expect(hangsBatch.values).toEqual([]);
      expect(hangsBatch.errors).toEqual([]);
      expect(hangsBatch.completed).toBe(false);
      // Meanwhile the healthy subscription kept receiving, on the same connection.
      expect(ok.values.length).toBeGreaterThan(okBeforeTimeout + 10);
      expect(ok.errors).toEqual([]);
      for (const s of [ok, throws, hangs, hangsBatch, deliverFails]) s.unsubscribe();
    } finally {
      clearInterval(flow);
      await client.dispose();
    }
    expect(
      await readMetric(
        router.http,
        "streamgate_hook_failures_total",
        '{module="behaviour.mjs",hook="onSubscriptionStart",kind="timeout"}',
      ),
    ).toBe(1);
    expect(
      await readMetric(
        router.http,
        "streamgate_hook_failures_total",
        '{module="behaviour.mjs",hook="onReceiveEvents",kind="timeout"}',
      ),
    ).toBeGreaterThanOrEqual(1);
  });

  it("closes only the refused client's connection when the start hook asks for a close code", async () => {
    const other = wsClient(`${router.ws}/graphql`);
    const ok = collect(other, SUB, { id: "ok2" });
    const raw = await rawSocket(`${router.ws}/graphql`);
    raw.send({ type: "connection_init" });
    await vi.waitFor(() => expect(raw.frames[0]).toEqual({ type: "connection_ack" }));
    raw.send({ id: "1", type: "subscribe", payload: { query: SUB, variables: { id: "start-refuses" } } });
    await vi.waitFor(() => expect(raw.closed).toEqual({ code: 4403, reason: "not for you" }));
    await publishUntil("employeeUpdated.ok2", { id: "still" }, () => ok.values.length > 0);
    expect(ok.errors).toEqual([]);
    ok.unsubscribe();
    await other.dispose();
  });
});

describe("what a hook returns is checked", () => {
  it("refuses rewritten topics with an injected wildcard, too many topics, or the wrong shape", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const cases = {
      "create-wildcard": "SG_ERR_SUBJECT_INVALID",
      "create-many": "SG_ERR_LIMIT_EXCEEDED",
      "create-garbage": "SG_ERR_HOOK_FAILED",
      "start-emits-bigint": "SG_ERR_HOOK_FAILED",
    };
    const subs = Object.entries(cases).map(([id, code]) => [collect(client, SUB, { id }), code] as const);
    for (const [sub, code] of subs) {
      await vi.waitFor(() => expect(sub.errors.length).toBe(1));
      expect(codeOf(sub)).toBe(code);
    }
    await client.dispose();
  });

  it("refuses a wildcard a client smuggles in through a header the hook puts in the topic", async () => {
    const connectWith = (prefix: string): Promise<Collected> =>
      new Promise((resolve) => {
        const ws = new WebSocket(`${router.ws}/graphql`, "graphql-transport-ws", {
          headers: { "x-prefix": prefix },
        });
        const c: Collected = { values: [], errors: [], completed: false, unsubscribe: () => ws.close() };
        ws.on("open", () => ws.send(JSON.stringify({ type: "connection_init" })));
        ws.on("message", (d) => {
          const m = JSON.parse(d.toString());
          if (m.type === "connection_ack")
            ws.send(
              JSON.stringify({
                id: "1",
                type: "subscribe",
                payload: { query: SUB, variables: { id: "hp" } },
              }),
            );
          if (m.type === "next") c.values.push(m.payload);
          if (m.type === "error") {
            c.errors.push(m.payload);
            resolve(c);
          }
        });
        setTimeout(() => resolve(c), 1500);
      });
    const evil = await connectWith("*");
    expect(codeOf(evil)).toBe("SG_ERR_SUBJECT_INVALID");
    evil.unsubscribe();
    // The same hook with a harmless prefix subscribes to the prefixed subject.
    const fine = await connectWith("tenant1");
    expect(fine.errors).toEqual([]);
    await publishUntil("tenant1.employeeUpdated.hp", { id: "p" }, () => fine.values.length > 0);
    expect(fine.values[0]).toEqual({ data: { employeeUpdated: { id: "p-mapped" } } });
    fine.unsubscribe();
  });

  it("skips batches whose result is not an array, too large or not JSON, and goes on", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const subs = ["garbage", "huge", "bigint"].map((id) => collect(client, SUB, { id }));
    await new Promise((r) => setTimeout(r, 300));
    for (const id of ["garbage", "huge", "bigint"]) publish(`employeeUpdated.${id}`, { id });
    await vi.waitFor(
      async () =>
        expect(
          await readMetric(
            router.http,
            "streamgate_hook_failures_total",
            '{module="behaviour.mjs",hook="onReceiveEvents",kind="invalid"}',
          ),
        ).toBeGreaterThanOrEqual(3),
      { timeout: 5000, interval: 200 },
    );
    for (const s of subs) {
      expect(s.values).toEqual([]);
      expect(s.errors).toEqual([]);
      s.unsubscribe();
    }
    const live = await fetch(`${router.http}/health/live`);
    expect(live.status).toBe(200);
    expect(
      await readMetric(
        router.http,
        "streamgate_hook_calls_total",
        '{module="behaviour.mjs",hook="onReceiveEvents"}',
      ),
    ).toBeGreaterThan(3);
    await client.dispose();
  });
});
