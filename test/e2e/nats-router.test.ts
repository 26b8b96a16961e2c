/**
 * End to end: the built router on a real nats-server, driven by the public graphql-ws and
 * graphql-sse clients and raw sockets.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { createClient as createSseClient } from "graphql-sse";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";
import { collect, postGraphql, rawSocket, wsClient } from "../helpers/clients.js";
import { type RunningRouter, startRouterProcess, tempFiles } from "../helpers/router.js";

const EVENTS_SDL = `
type Query {
  employeeFromEvent(id: ID!): Employee! @edfs__natsRequest(subject: "getEmployee.{{ args.id }}")
}
type Mutation {
  updateEmployee(id: ID!, update: EmployeeUpdate!): edfs__PublishResult! @edfs__natsPublish(subject: "employeeUpdated.{{ args.id }}")
}
type Subscription {
  employeeUpdated(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"])
  employeesUpdated(ids: [ID!]!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.ids }}"])
}
input EmployeeUpdate { name: String }
type Employee @key(fields: "id", resolvable: false) { id: ID! @external }
`;

const SUB = "subscription($id: ID!) { employeeUpdated(id: $id) { __typename id } }";
let nats: NatsServer;
let router: RunningRouter;
let nc: NatsConnection;
const enc = new TextEncoder();

beforeAll(async () => {
  nats = await startNats();
  const dir = await tempFiles({
    "events.graphql": EVENTS_SDL,
    "config.yaml": `listen_addr: 127.0.0.1:0
shutdown_grace_period: 3s
subgraphs:
  - name: events
    schema_file: ./events.graphql
events:
  providers:
    nats:
      - id: default
        url: ${nats.url}
limits:
  max_message_size: 65536
  connection_init_timeout: 1s
`,
  });
  router = await startRouterProcess(["--config", `${dir}/config.yaml`]);
  nc = await connect({ servers: nats.url });
  nc.subscribe("getEmployee.*", {
    callback: (_err, msg) => {
      msg.respond(enc.encode(JSON.stringify({ __typename: "Employee", id: msg.subject.split(".")[1] })));
    },
  });
  await nc.flush();
});

afterAll(async () => {
  await nc?.close();
  const code = await router?.stop();
  await nats?.stop();
  expect(code).toBe(0);
});

/** Publishes on NATS until the subscriber has seen `n` values (the broker subscription is async). */
async function publishUntil(subject: string, body: unknown, seen: () => number, n = 1): Promise<void> {
  await vi.waitFor(
    () => {
      if (seen() < n) {
        nc.publish(subject, enc.encode(JSON.stringify(body)));
        throw new Error("not yet");
      }
    },
    { timeout: 5000, interval: 100 },
  );
}

describe("router on NATS", () => {
  it("delivers an event published on NATS to a graphql-ws subscriber", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const sub = collect(client, SUB, { id: "7" });
    await publishUntil("employeeUpdated.7", { __typename: "Employee", id: "7" }, () => sub.values.length);
    expect(sub.values[0]).toEqual({ data: { employeeUpdated: { __typename: "Employee", id: "7" } } });
    sub.unsubscribe();
    await client.dispose();
  });

  it("fills in __typename and keeps subscribers on different subjects apart", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const a = collect(client, SUB, { id: "1" });
    const b = collect(client, SUB, { id: "2" });
    await publishUntil("employeeUpdated.1", { id: "1" }, () => a.values.length);
    await publishUntil("employeeUpdated.2", { id: "2" }, () => b.values.length);
    await new Promise((r) => setTimeout(r, 200));
    expect(
      a.values.every(
        (v) => JSON.stringify(v) === '{"data":{"employeeUpdated":{"__typename":"Employee","id":"1"}}}',
      ),
    ).toBe(true);
    expect(
      b.values.every(
        (v) => JSON.stringify(v) === '{"data":{"employeeUpdated":{"__typename":"Employee","id":"2"}}}',
      ),
    ).toBe(true);
    a.unsubscribe();
    b.unsubscribe();
    await client.dispose();
  });

  it("publishes through the mutation: NATS sees the arguments, subscribers get the event", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const sub = collect(client, SUB, { id: "42" });
    const seen: unknown[] = [];
    const raw = nc.subscribe("employeeUpdated.42", {
      callback: (_e, m) => {
        seen.push(m.json());
      },
    });
    await nc.flush();
    await vi.waitFor(
      async () => {
        const res = await postGraphql(router.http, {
          query: 'mutation { updateEmployee(id: "42", update: { name: "Ada" }) { success } }',
        });
        expect(res.body).toEqual({ data: { updateEmployee: { success: true } } });
        expect(sub.values.length).toBeGreaterThan(0);
      },
      { timeout: 5000, interval: 150 },
    );
    expect(seen[0]).toEqual({ id: "42", update: { name: "Ada" } });
    expect(sub.values[0]).toEqual({ data: { employeeUpdated: { __typename: "Employee", id: "42" } } });
    raw.unsubscribe();
    sub.unsubscribe();
    await client.dispose();
  });

  it("expands list arguments into one subject per element", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const sub = collect(client, 'subscription { employeesUpdated(ids: ["10", "11"]) { id } }');
    await publishUntil("employeeUpdated.10", { id: "10" }, () => sub.values.length);
    const before = sub.values.length;
    await publishUntil("employeeUpdated.11", { id: "11" }, () => sub.values.length, before + 1);
    expect(sub.values.at(-1)).toEqual({ data: { employeesUpdated: { id: "11" } } });
    sub.unsubscribe();
    await client.dispose();
  });

  it("reports a bad broker event on the stream and keeps the subscription", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const sub = collect(client, SUB, { id: "bad" });
    await publishUntil("employeeUpdated.bad", { id: "bad" }, () => sub.values.length);
    const n = sub.values.length;
    nc.publish("employeeUpdated.bad", enc.encode("not json"));
    nc.publish("employeeUpdated.bad", enc.encode(JSON.stringify({ name: "no key" })));
    nc.publish("employeeUpdated.bad", enc.encode(JSON.stringify({ id: "bad" })));
    await vi.waitFor(() => expect(sub.values.length).toBe(n + 3));
    const [notJson, noKey, ok] = sub.values.slice(n) as Record<string, unknown>[];
    expect(JSON.stringify(notJson)).toContain("SG_ERR_EVENT_INVALID");
    expect(JSON.stringify(noKey)).toContain("lacks its key fields");
    expect(ok).toEqual({ data: { employeeUpdated: { __typename: "Employee", id: "bad" } } });
    expect(sub.errors).toEqual([]);
    sub.unsubscribe();
    await client.dispose();
  });

  it("refuses argument values that would inject subject tokens or wildcards", async () => {
    for (const id of ["1.*", ">", "a b", "x.y"]) {
      const client = wsClient(`${router.ws}/graphql`);
      const sub = collect(client, SUB, { id });
      await vi.waitFor(() => expect(sub.errors.length).toBe(1));
      expect(JSON.stringify(sub.errors[0])).toContain("SG_ERR_SUBJECT_INVALID");
      await client.dispose();
    }
  });

  it("answers queries through NATS request/reply", async () => {
    const res = await postGraphql(router.http, {
      query: 'query { employeeFromEvent(id: "5") { __typename id } }',
    });
    expect(res.status).toBe(200);
    expect(res.contentType).toContain("application/graphql-response+json");
    expect(res.body).toEqual({ data: { employeeFromEvent: { __typename: "Employee", id: "5" } } });
  });

  it("answers invalid GraphQL over HTTP with errors", async () => {
    const res = await postGraphql(router.http, { query: "{ nope }" });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('Cannot query field \\"nope\\"');
    const plain = await postGraphql(router.http, { query: "{ nope }" }, { accept: "application/json" });
    expect(plain.status).toBe(200);
    const get = await fetch(
      `${router.http}/graphql?query=${encodeURIComponent('mutation { updateEmployee(id: "1", update: {}) { success } }')}`,
    );
    expect(get.status).toBe(405);
  });

  it("streams a subscription over SSE to the graphql-sse client", async () => {
    const client = createSseClient({
      url: `${router.http}/graphql`,
      singleConnection: false,
      retryAttempts: 0,
    });
    const values: unknown[] = [];
    const unsubscribe = client.subscribe(
      { query: SUB, variables: { id: "sse" } },
      { next: (v) => values.push(v), error: () => {}, complete: () => {} },
    );
    await publishUntil("employeeUpdated.sse", { id: "sse" }, () => values.length);
    expect(values[0]).toEqual({ data: { employeeUpdated: { __typename: "Employee", id: "sse" } } });
    unsubscribe();
    client.dispose();
  });

  it.each([
    ['multipart/mixed;subscriptionSpec="1.0", application/json', "mp1", '{"payload":{"data":'],
    ["multipart/mixed", "mp2", '"hasNext":true'],
  ])("streams a subscription as multipart (%s)", async (accept, id, marker) => {
    const ac = new AbortController();
    const res = await fetch(`${router.http}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", accept },
      body: JSON.stringify({ query: SUB, variables: { id } }),
      signal: ac.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain('boundary="graphql"');
    const reader = res.body!.getReader();
    let text = "";
    const dec = new TextDecoder();
    const publisher = setInterval(
      () => nc.publish(`employeeUpdated.${id}`, enc.encode(JSON.stringify({ id }))),
      100,
    );
    try {
      while (!text.includes(marker) || !text.includes(`"id":"${id}"`)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += dec.decode(value);
      }
    } finally {
      clearInterval(publisher);
      ac.abort();
    }
    const part = text.split("\r\n--graphql\r\n").find((p) => p.includes(`"id":"${id}"`))!;
    const body = JSON.parse(part.slice(part.indexOf("\r\n\r\n") + 4));
    const result = { data: { employeeUpdated: { __typename: "Employee", id } } };
    expect(body).toEqual(id === "mp1" ? { payload: result } : { ...result, hasNext: true });
  });

  it("closes only the offending socket on protocol violations", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const good = collect(client, SUB, { id: "calm" });
    await publishUntil("employeeUpdated.calm", { id: "calm" }, () => good.values.length);

    const cases: [string, (s: Awaited<ReturnType<typeof rawSocket>>) => void, number][] = [
      ["garbage", (s) => s.send("{not json"), 4400],
      ["unknown type", (s) => s.send({ type: "shout" }), 4400],
      ["subscribe before init", (s) => s.send({ id: "1", type: "subscribe", payload: { query: SUB } }), 4401],
      [
        "double init",
        (s) => {
          s.send({ type: "connection_init" });
          s.send({ type: "connection_init" });
        },
        4429,
      ],
      [
        "duplicate id",
        (s) => {
          s.send({ type: "connection_init" });
          const sub = { id: "d", type: "subscribe", payload: { query: SUB, variables: { id: "d" } } };
          s.send(sub);
          s.send(sub);
        },
        4409,
      ],
      ["oversized", (s) => s.send({ type: "connection_init", payload: { x: "y".repeat(70_000) } }), 1009],
      ["no init", () => {}, 4408],
    ];
    for (const [name, act, code] of cases) {
      const s = await rawSocket(`${router.ws}/graphql`);
      act(s);
      await vi.waitFor(() => expect(s.closed?.code, name).toBe(code), { timeout: 3000 });
    }
    const before = good.values.length;
    await publishUntil("employeeUpdated.calm", { id: "calm" }, () => good.values.length, before + 1);
    expect(good.errors).toEqual([]);
    good.unsubscribe();
    await client.dispose();
  });

  it("answers an invalid subscription with an error message and keeps the socket", async () => {
    const s = await rawSocket(`${router.ws}/graphql`);
    s.send({ type: "connection_init" });
    s.send({ id: "x", type: "subscribe", payload: { query: "subscription { nope }" } });
    s.send({ id: "y", type: "subscribe", payload: { query: SUB, variables: {} } });
    await vi.waitFor(() => expect(s.frames.filter((f) => f.type === "error")).toHaveLength(2));
    expect(s.closed).toBeUndefined();
    s.ws.close();
  });

  it("speaks the legacy graphql-ws subprotocol (subscriptions-transport-ws)", async () => {
    const s = await rawSocket(`${router.ws}/graphql`, "graphql-ws");
    s.send({ type: "connection_init", payload: {} });
    s.send({ id: "L", type: "start", payload: { query: SUB, variables: { id: "legacy" } } });
    await vi.waitFor(() =>
      expect(s.frames.slice(0, 2)).toEqual([{ type: "connection_ack" }, { type: "ka" }]),
    );
    await vi.waitFor(() => {
      nc.publish("employeeUpdated.legacy", enc.encode(JSON.stringify({ id: "legacy" })));
      expect(s.frames.some((f) => f.type === "data")).toBe(true);
    });
    expect(s.frames.find((f) => f.type === "data")).toEqual({
      id: "L",
      type: "data",
      payload: { data: { employeeUpdated: { __typename: "Employee", id: "legacy" } } },
    });
    s.send({ id: "L", type: "stop" });
    s.ws.close();
  });

  it("refuses an unknown WebSocket subprotocol at upgrade", async () => {
    await expect(rawSocket(`${router.ws}/graphql`, "mqtt")).rejects.toThrow(/HTTP 400/);
  });

  it("is live and ready", async () => {
    expect((await fetch(`${router.http}/health/live`)).status).toBe(200);
    const ready = await fetch(`${router.http}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", providers_down: [] });
  });
});
