/**
 * End to end: the example hook module (examples/hooks/tenant.mjs) in the built router on a real
 * nats-server, with HS256 tokens carrying a `tenant` claim, a real HTTP state service and the
 * public graphql-ws client. The tenant prefix isolates tenants; the initial state arrives before
 * any live event, live events published meanwhile are held, not lost.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { type Client, createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";
import { type Collected, collect, postGraphql } from "../helpers/clients.js";
import { signHs256 } from "../helpers/jwt.js";
import {
  natsRouterConfig,
  REPO_ROOT,
  type RunningRouter,
  startRouterProcess,
  tempFiles,
} from "../helpers/router.js";

const SECRET = "a-test-secret-that-is-at-least-32-bytes-long";
const SDL = `
type Mutation {
  updateEmployee(id: ID!, update: EmployeeUpdate!): edfs__PublishResult! @edfs__natsPublish(subject: "employeeUpdated.{{ args.id }}")
}
type Subscription {
  employeeUpdated(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"])
  anyEmployeeUpdated: Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.*"])
}
input EmployeeUpdate { name: String }
type Employee @key(fields: "id", resolvable: false) { id: ID! @external }
`;
const SUB = "subscription($id: ID!) { employeeUpdated(id: $id) { id } }";

let nats: NatsServer;
let nc: NatsConnection;
let router: RunningRouter;
let state: Server;
/** Requests the state service saw, and how long it makes the next answer wait. */
const stateRequests: string[] = [];
let stateDelayMs = 0;
let onStateRequest: (() => void) | undefined;
const enc = new TextEncoder();

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  state = createServer((req, res) => {
    const topic = decodeURIComponent((req.url ?? "/").slice(1));
    stateRequests.push(topic);
    onStateRequest?.();
    setTimeout(() => {
      if (topic.endsWith(".404")) res.writeHead(404).end();
      else
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ __typename: "Employee", id: `state:${topic}` }));
    }, stateDelayMs);
  });
  await new Promise<void>((r) => state.listen(0, "127.0.0.1", r));
  const stateUrl = `http://127.0.0.1:${(state.address() as AddressInfo).port}`;
  const dir = await tempFiles({
    "events.graphql": SDL,
    "config.yaml": natsRouterConfig(
      nats.url,
      `modules: ["${REPO_ROOT}/examples/hooks/tenant.mjs"]
authentication:
  jwt:
    jwks:
      - secret: "\${JWT_SECRET}"
        symmetric_algorithm: HS256
`,
    ),
  });
  router = await startRouterProcess(["--config", `${dir}/config.yaml`], {
    JWT_SECRET: SECRET,
    TENANT_STATE_URL: stateUrl,
  });
});

afterAll(async () => {
  await nc?.close();
  const code = await router?.stop();
  await nats?.stop();
  await new Promise((r) => state?.close(r));
  expect(code).toBe(0);
});

async function tenantClient(tenant: string | undefined): Promise<Client> {
  const token = await signHs256(SECRET, tenant === undefined ? { sub: "u" } : { sub: "u", tenant });
  return createClient({
    url: `${router.ws}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: { Authorization: `Bearer ${token}` },
  });
}

const ids = (c: Collected): string[] =>
  c.values.map((v) => (v as { data: { employeeUpdated: { id: string } } }).data.employeeUpdated.id);

describe("the example tenant module", () => {
  it("sends the initial state before any live event, holding live events published meanwhile", async () => {
    stateDelayMs = 700;
    let publisher: NodeJS.Timeout | undefined;
    let publishedDuringHook = 0;
    // While the state service makes the start hook wait, live events keep coming on the broker.
    onStateRequest = () => {
      publisher = setInterval(() => {
        publishedDuringHook++;
        nc.publish(
          "acme.employeeUpdated.7",
          enc.encode(JSON.stringify({ id: `live${publishedDuringHook}` })),
        );
      }, 50);
    };
    const client = await tenantClient("acme");
    const sub = collect(client, SUB, { id: "7" });
    await vi.waitFor(() => expect(sub.values.length).toBeGreaterThan(3), { timeout: 5000 });
    clearInterval(publisher);
    onStateRequest = undefined;
    stateDelayMs = 0;
    const got = ids(sub);
    expect(stateRequests).toContain("acme.employeeUpdated.7");
    expect(got[0]).toBe("state:acme.employeeUpdated.7");
    // Events published while the hook ran (one every 50 ms for 700 ms) were held, then
    // delivered in order after the state, with no gap.
    const live = got.slice(1).map((id) => Number(id.replace("live", "")));
    expect(live.length).toBeGreaterThan(2);
    expect(live[0]).toBeLessThan(8);
    expect(live).toEqual(live.map((_, i) => live[0]! + i));
    expect(publishedDuringHook).toBeGreaterThanOrEqual(live.at(-1)!);
    sub.unsubscribe();
    await client.dispose();
  });

  it("isolates two tenants by the topic prefix: each sees only its own events", async () => {
    const [a, b] = [await tenantClient("acme"), await tenantClient("globex")];
    const subA = collect(a, SUB, { id: "8" });
    const subB = collect(b, SUB, { id: "8" });
    const anyA = collect(a, "subscription { anyEmployeeUpdated { id } }");
    await vi.waitFor(
      () => {
        nc.publish("acme.employeeUpdated.8", enc.encode('{"id":"for-acme"}'));
        nc.publish("globex.employeeUpdated.8", enc.encode('{"id":"for-globex"}'));
        // The subject before the hook rewrote it: no tenant subscribes to it any more.
        nc.publish("employeeUpdated.8", enc.encode('{"id":"unprefixed"}'));
        expect(ids(subA).filter((id) => !id.startsWith("state:")).length).toBeGreaterThan(0);
        expect(ids(subB).filter((id) => !id.startsWith("state:")).length).toBeGreaterThan(0);
        expect(anyA.values.length).toBeGreaterThan(0);
      },
      { timeout: 5000, interval: 100 },
    );
    expect(new Set(ids(subA))).toEqual(new Set(["state:acme.employeeUpdated.8", "for-acme"]));
    expect(new Set(ids(subB))).toEqual(new Set(["state:globex.employeeUpdated.8", "for-globex"]));
    // A wildcard field keeps its wildcard under the prefix (and gets no initial state).
    const anyIds = anyA.values.map(
      (v) => (v as { data: { anyEmployeeUpdated: { id: string } } }).data.anyEmployeeUpdated.id,
    );
    expect(new Set(anyIds)).toEqual(new Set(["for-acme"]));
    for (const s of [subA, subB, anyA]) s.unsubscribe();
    await Promise.all([a.dispose(), b.dispose()]);
  });

  it("refuses a subscription without a tenant claim with the hook's own code", async () => {
    const client = await tenantClient(undefined);
    const sub = collect(client, SUB, { id: "9" });
    await vi.waitFor(() => expect(sub.errors.length).toBe(1));
    expect(sub.errors[0]).toEqual([
      { message: "a token with a tenant claim is required", extensions: { code: "TENANT_REQUIRED" } },
    ]);
    await client.dispose();
  });

  it("tags a tenant's publish with an x-tenant header a raw NATS subscriber sees", async () => {
    const token = await signHs256(SECRET, { sub: "u", tenant: "acme" });
    const seen: { data: unknown; tenant: string | undefined }[] = [];
    const raw = nc.subscribe("employeeUpdated.42", {
      callback: (_e, m) => void seen.push({ data: m.json(), tenant: m.headers?.get("x-tenant") }),
    });
    await nc.flush();
    const res = await postGraphql(
      router.http,
      { query: 'mutation { updateEmployee(id: "42", update: { name: "Ada" }) { success } }' },
      { authorization: `Bearer ${token}` },
    );
    expect(res.body).toEqual({ data: { updateEmployee: { success: true } } });
    await vi.waitFor(() =>
      expect(seen).toEqual([{ data: { id: "42", update: { name: "Ada" } }, tenant: "acme" }]),
    );
    raw.unsubscribe();
  });
});
