/**
 * Authentication and authorization end to end: the built router on a real nats-server, tokens
 * signed with RS256 keys published by a real JWKS HTTP server (and an HS256 secret), driven by the
 * public graphql-ws and graphql-sse clients and raw sockets.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { createClient as createSseClient } from "graphql-sse";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";
import { collect, rawSocket } from "../helpers/clients.js";
import { type JwksServer, rsaKey, type SigningKey, sign, signHs256, startJwks } from "../helpers/jwt.js";
import {
  natsRouterConfig,
  readMetric,
  type RunningRouter,
  startRouterProcess,
  tempFiles,
} from "../helpers/router.js";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const SECRET = "a-test-secret-that-is-at-least-32-bytes-long";

const AUTH_SDL = `
type Subscription {
  myNotifications: Employee! @edfs__natsSubscribe(subjects: ["notifications.{{ request.auth.claims.sub }}"])
  employeeUpdated(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"]) @authenticated
  salaryUpdated(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["salary.{{ args.id }}"])
    @requiresScopes(scopes: [["hr:read"], ["admin"]])
  allowedEmployees: Employee! @edfs__natsSubscribe(subjects: ["employees.*"])
    @openfed__subscriptionFilter(condition: { IN: { fieldPath: "id", values: ["{{ request.auth.claims.allowed }}"] } })
  openUpdates: Employee! @edfs__natsSubscribe(subjects: ["open"])
}
type Mutation {
  updateSalary(id: ID!, amount: Int!): edfs__PublishResult! @edfs__natsPublish(subject: "salary.{{ args.id }}")
    @requiresScopes(scopes: [["hr:write"]])
}
type Employee @key(fields: "id", resolvable: false) { id: ID! @external }
`;

let nats: NatsServer;
let jwks: JwksServer;
let router: RunningRouter;
let nc: NatsConnection;
let key1: SigningKey;
let key2: SigningKey;
const enc = new TextEncoder();

beforeAll(async () => {
  [nats, key1, key2] = await Promise.all([startNats(), rsaKey("k1"), rsaKey("k2")]);
  jwks = await startJwks([key1.jwk]);
  const dir = await tempFiles({
    "events.graphql": AUTH_SDL,
    "config.yaml": natsRouterConfig(
      nats.url,
      `authentication:
  jwt:
    jwks:
      - url: ${jwks.url}
        refresh_interval: 1s
      - secret: "\${JWT_SECRET}"
        symmetric_algorithm: HS256
`,
    ),
  });
  router = await startRouterProcess(["--config", `${dir}/config.yaml`], { JWT_SECRET: SECRET });
  nc = await connect({ servers: nats.url });
});

afterAll(async () => {
  await nc?.close();
  const code = await router?.stop();
  await Promise.all([nats?.stop(), jwks?.close()]);
  expect(code).toBe(0);
});

function client(token?: string) {
  return createClient({
    url: `${router.ws}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    ...(token ? { connectionParams: { Authorization: `Bearer ${token}` } } : {}),
  });
}

/** Publishes to `subject` until `seen()` reaches `n` (broker subscriptions are asynchronous). */
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

function codeOf(errors: unknown[]): unknown {
  const first = errors[0] as { extensions?: { code?: string } }[] | undefined;
  return Array.isArray(first) ? first[0]?.extensions?.code : undefined;
}

describe("who the client is", () => {
  it("closes 4401 when the connection_init token does not verify", async () => {
    const bad = await sign(await rsaKey("k1"), { sub: "mallory" }); // right kid, wrong key
    const raw = await rawSocket(`${router.ws}/graphql`);
    raw.send({ type: "connection_init", payload: { Authorization: `Bearer ${bad}` } });
    await vi.waitFor(() => expect(raw.closed?.code).toBe(4401));
    expect(raw.closed?.reason).toMatch(/invalid token: bad signature/);
  });

  it("closes 4401 when the upgrade request's header token does not verify", async () => {
    const ws = new WebSocket(`${router.ws}/graphql`, "graphql-transport-ws", {
      headers: { authorization: "Bearer not.a.jwt" },
    });
    const closed = await new Promise<number>((r) => ws.on("close", (code) => r(code)));
    expect(closed).toBe(4401);
  });

  it("answers 401 with a GraphQL error body for an invalid token over HTTP and SSE", async () => {
    const expired = await sign(key1, { sub: "alice" }, -60);
    for (const accept of ["application/json", "text/event-stream"]) {
      const res = await fetch(`${router.http}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", accept, authorization: `Bearer ${expired}` },
        body: JSON.stringify({ query: "subscription { openUpdates { id } }" }),
      });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
      const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
      expect(body.errors[0]!.extensions.code).toBe("SG_ERR_UNAUTHENTICATED");
      expect(body.errors[0]!.message).toMatch(/expired/);
    }
  });

  it("refuses an HS256 token signed with a key that is not the secret, and an alg the source does not allow", async () => {
    const wrong = await signHs256("another-secret-that-is-at-least-32-bytes-long", { sub: "x" });
    const raw = await rawSocket(`${router.ws}/graphql`);
    raw.send({ type: "connection_init", payload: { Authorization: `Bearer ${wrong}` } });
    await vi.waitFor(() => expect(raw.closed?.code).toBe(4401));
    // alg "none" is never accepted.
    const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from('{"sub":"x"}').toString("base64url")}.`;
    const raw2 = await rawSocket(`${router.ws}/graphql`);
    raw2.send({ type: "connection_init", payload: { Authorization: `Bearer ${none}` } });
    await vi.waitFor(() => expect(raw2.closed?.code).toBe(4401));
    expect(raw2.closed?.reason).toMatch(/algorithm none is not accepted/);
  });

  it("lets anonymous clients use fields without directives (require_authentication is false)", async () => {
    const c = client();
    const got = collect(c, "subscription { openUpdates { id } }");
    await publishUntil("open", { __typename: "Employee", id: "1" }, () => got.values.length);
    expect(got.errors).toEqual([]);
    await c.dispose();
  });
});

describe("@authenticated and @requiresScopes", () => {
  it("refuses an anonymous client on an @authenticated field with UNAUTHORIZED_FIELD_OR_TYPE", async () => {
    const c = client();
    const got = collect(c, 'subscription { employeeUpdated(id: "1") { id } }');
    await vi.waitFor(() => expect(got.errors).toHaveLength(1));
    expect(codeOf(got.errors)).toBe("UNAUTHORIZED_FIELD_OR_TYPE");
    expect((got.errors[0] as { path: string[] }[])[0]!.path).toEqual(["employeeUpdated"]);
    await c.dispose();
  });

  it("admits a verified token (RS256 from the JWKS, HS256 from the secret)", async () => {
    for (const token of [await sign(key1, { sub: "alice" }), await signHs256(SECRET, { sub: "bob" })]) {
      const c = client(token);
      const got = collect(c, 'subscription { employeeUpdated(id: "2") { id } }');
      await publishUntil("employeeUpdated.2", { __typename: "Employee", id: "2" }, () => got.values.length);
      expect(got.errors).toEqual([]);
      await c.dispose();
    }
  });

  it("checks scopes: any one listed set suffices, a missing scope is refused", async () => {
    const noScope = client(await sign(key1, { sub: "alice", scope: "profile" }));
    const denied = collect(noScope, 'subscription { salaryUpdated(id: "3") { id } }');
    await vi.waitFor(() => expect(denied.errors).toHaveLength(1));
    expect(codeOf(denied.errors)).toBe("UNAUTHORIZED_FIELD_OR_TYPE");
    const hr = client(await sign(key1, { sub: "carol", scope: "profile hr:read" }));
    const admin = client(await sign(key1, { sub: "dave", scp: ["admin"] }));
    const a = collect(hr, 'subscription { salaryUpdated(id: "3") { id } }');
    const b = collect(admin, 'subscription { salaryUpdated(id: "3") { id } }');
    await publishUntil("salary.3", { __typename: "Employee", id: "3" }, () =>
      Math.min(a.values.length, b.values.length),
    );
    expect([a.errors, b.errors]).toEqual([[], []]);
    await Promise.all([noScope.dispose(), hr.dispose(), admin.dispose()]);
  });

  it("enforces scopes on publish mutations: nothing reaches the broker when refused", async () => {
    const seen: string[] = [];
    const sub = nc.subscribe("salary.9", {
      callback: (_e, m) => {
        seen.push(m.string());
      },
    });
    await nc.flush();
    const post = async (token: string) =>
      (await fetch(`${router.http}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: 'mutation { updateSalary(id: "9", amount: 5) { success } }' }),
      }).then((r) => r.json())) as { data?: unknown; errors?: { extensions: { code: string } }[] };
    const refused = await post(await sign(key1, { sub: "alice", scope: "hr:read" }));
    expect(refused.errors?.[0]?.extensions.code).toBe("UNAUTHORIZED_FIELD_OR_TYPE");
    const allowed = await post(await sign(key1, { sub: "alice", scope: "hr:write" }));
    expect(allowed).toEqual({ data: { updateSalary: { success: true } } });
    await nc.flush();
    await vi.waitFor(() => expect(seen).toHaveLength(1));
    sub.unsubscribe();
  });
});

describe("claims in topics and filters", () => {
  it("isolates two users on a claim-bound subject: zero cross deliveries over hundreds of events", async () => {
    const alice = client(await sign(key1, { sub: "alice" }));
    const alice2 = client(await sign(key1, { sub: "alice" }));
    const bob = client(await sign(key1, { sub: "bob" }));
    const q = "subscription { myNotifications { id } }";
    const a = collect<{ data: { myNotifications: { id: string } } }>(alice, q);
    const a2 = collect<{ data: { myNotifications: { id: string } } }>(alice2, q);
    const b = collect<{ data: { myNotifications: { id: string } } }>(bob, q);
    await publishUntil("notifications.alice", { __typename: "Employee", id: "warm-a" }, () =>
      Math.min(a.values.length, a2.values.length),
    );
    await publishUntil("notifications.bob", { __typename: "Employee", id: "warm-b" }, () => b.values.length);
    // Two users, two triggers; alice's second connection shares hers.
    expect(await readMetric(router.http, "streamgate_triggers")).toBe(2);
    const start = [a.values.length, a2.values.length, b.values.length];
    for (let i = 0; i < 300; i++) {
      nc.publish("notifications.alice", enc.encode(JSON.stringify({ __typename: "Employee", id: `a${i}` })));
      nc.publish("notifications.bob", enc.encode(JSON.stringify({ __typename: "Employee", id: `b${i}` })));
    }
    await vi.waitFor(
      () => expect([a.values.length, a2.values.length, b.values.length]).toEqual(start.map((n) => n + 300)),
      { timeout: 10_000 },
    );
    const ids = (c: typeof a) => c.values.map((v) => v.data.myNotifications.id);
    expect(ids(a).filter((id) => id.startsWith("b"))).toEqual([]);
    expect(ids(a2).filter((id) => id.startsWith("b"))).toEqual([]);
    expect(ids(b).filter((id) => id.startsWith("a"))).toEqual([]);
    await Promise.all([alice.dispose(), alice2.dispose(), bob.dispose()]);
  });

  it("refuses a subscription whose template needs a claim the token lacks (never a partial topic)", async () => {
    const c = client(await sign(key1, { name: "no sub claim" }));
    const got = collect(c, "subscription { myNotifications { id } }");
    await vi.waitFor(() => expect(got.errors).toHaveLength(1));
    expect(codeOf(got.errors)).toBe("SG_ERR_TEMPLATE_INVALID");
    const anon = client();
    const got2 = collect(anon, "subscription { myNotifications { id } }");
    await vi.waitFor(() => expect(got2.errors).toHaveLength(1));
    await Promise.all([c.dispose(), anon.dispose()]);
  });

  it("refuses a claim value that would inject a wildcard or a token split", async () => {
    for (const sub of ["*", ">", "a.b", "a b"]) {
      const c = client(await sign(key1, { sub }));
      const got = collect(c, "subscription { myNotifications { id } }");
      await vi.waitFor(() => expect(got.errors).toHaveLength(1));
      expect(codeOf(got.errors)).toBe("SG_ERR_SUBJECT_INVALID");
      await c.dispose();
    }
  });

  it("filters with claim values, per user, over SSE with the header token", async () => {
    const read = async (token: string, out: string[]) => {
      const sse = createSseClient({
        url: `${router.http}/graphql`,
        headers: { authorization: `Bearer ${token}` },
        retryAttempts: 0,
      });
      const stop = sse.subscribe<{ allowedEmployees: { id: string } }>(
        { query: "subscription { allowedEmployees { id } }" },
        { next: (v) => out.push(v.data!.allowedEmployees.id), error: () => {}, complete: () => {} },
      );
      return { stop, sse };
    };
    const x: string[] = [];
    const y: string[] = [];
    const rx = await read(await sign(key1, { sub: "x", allowed: ["1", "2"] }), x);
    const ry = await read(await sign(key1, { sub: "y", allowed: ["3"] }), y);
    await vi.waitFor(
      () => {
        for (const id of ["1", "2", "3", "4"])
          nc.publish(`employees.${id}`, enc.encode(JSON.stringify({ __typename: "Employee", id })));
        expect(x.length).toBeGreaterThanOrEqual(2);
        expect(y.length).toBeGreaterThanOrEqual(1);
      },
      { timeout: 5000, interval: 200 },
    );
    expect(new Set(x)).toEqual(new Set(["1", "2"]));
    expect(new Set(y)).toEqual(new Set(["3"]));
    for (const r of [rx, ry]) {
      r.stop();
      r.sse.dispose();
    }
  });
});

describe("keys", () => {
  it("takes a rotated key without a restart", async () => {
    const before = jwks.fetches;
    const early = await sign(key2, { sub: "rotated" });
    // Not published yet: refused.
    const raw = await rawSocket(`${router.ws}/graphql`);
    raw.send({ type: "connection_init", payload: { Authorization: `Bearer ${early}` } });
    await vi.waitFor(() => expect(raw.closed?.code).toBe(4401));
    jwks.keys = [key2.jwk];
    await vi.waitFor(
      async () => {
        const r = await rawSocket(`${router.ws}/graphql`);
        r.send({
          type: "connection_init",
          payload: { Authorization: `Bearer ${await sign(key2, { sub: "r" })}` },
        });
        await new Promise((res) => setTimeout(res, 200));
        expect(r.frames).toEqual([{ type: "connection_ack" }]);
        r.ws.close();
      },
      { timeout: 8000, interval: 300 },
    );
    expect(jwks.fetches).toBeGreaterThan(before);
    // The retired key no longer verifies new tokens.
    const old = await sign(key1, { sub: "old" });
    await vi.waitFor(
      async () => {
        const r = await rawSocket(`${router.ws}/graphql`);
        r.send({ type: "connection_init", payload: { Authorization: `Bearer ${old}` } });
        await vi.waitFor(() => expect(r.closed?.code).toBe(4401));
      },
      { timeout: 8000, interval: 300 },
    );
    jwks.keys = [key1.jwk, key2.jwk];
  });
});
