/**
 * Token lifetime and rate limits end to end (real nats-server, real JWKS over HTTP): a token
 * passing its exp ends its subscriptions with TOKEN_EXPIRED and close 4403 unless a fresh one came
 * in a ping; rate limits refuse with retryAfter while other clients keep receiving.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";
import { collect, type RawSocket, rawSocket } from "../helpers/clients.js";
import { type JwksServer, rsaKey, type SigningKey, sign, startJwks } from "../helpers/jwt.js";
import {
  natsRouterConfig,
  readMetric,
  type RunningRouter,
  startRouterProcess,
  tempFiles,
} from "../helpers/router.js";

const SDL = `
type Subscription {
  ticks(room: ID!): Employee! @edfs__natsSubscribe(subjects: ["ticks.{{ args.room }}"])
}
type Mutation {
  tick(room: ID!): edfs__PublishResult! @edfs__natsPublish(subject: "ticks.{{ args.room }}")
}
type Employee @key(fields: "id", resolvable: false) { id: ID! @external }
`;

let nats: NatsServer;
let jwks: JwksServer;
let router: RunningRouter;
let nc: NatsConnection;
let key: SigningKey;
const enc = new TextEncoder();
const SUB = (room: string, id = room) => ({
  id,
  type: "subscribe",
  payload: { query: `subscription { ticks(room: "${room}") { id } }` },
});

beforeAll(async () => {
  [nats, key] = await Promise.all([startNats(), rsaKey("k1")]);
  jwks = await startJwks([key.jwk]);
  const dir = await tempFiles({
    "events.graphql": SDL,
    "config.yaml": natsRouterConfig(
      nats.url,
      `authentication:
  jwt:
    jwks:
      - url: ${jwks.url}
    clock_skew: 0s
authorization:
  require_authentication: true
rate_limit:
  subscribe: { rate: 1, burst: 3, key: "claim:sub" }
  publish: { rate: 0.5, burst: 2, key: ip }
`,
    ),
  });
  router = await startRouterProcess(["--config", `${dir}/config.yaml`]);
  nc = await connect({ servers: nats.url });
});

afterAll(async () => {
  await nc?.close();
  const code = await router?.stop();
  await Promise.all([nats?.stop(), jwks?.close()]);
  expect(code).toBe(0);
});

/** A raw socket, acknowledged with `token`. */
async function authed(token: string): Promise<RawSocket> {
  const raw = await rawSocket(`${router.ws}/graphql`);
  raw.send({ type: "connection_init", payload: { Authorization: `Bearer ${token}` } });
  await vi.waitFor(() => expect(raw.frames[0]).toEqual({ type: "connection_ack" }));
  return raw;
}

const nexts = (raw: RawSocket, id: string) => raw.frames.filter((f) => f.type === "next" && f.id === id);

/** Publishes a tick to `room` every 100 ms until stopped. */
function ticker(room: string): () => void {
  let n = 0;
  const t = setInterval(() => {
    nc.publish(`ticks.${room}`, enc.encode(JSON.stringify({ __typename: "Employee", id: String(n++) })));
  }, 100);
  return () => clearInterval(t);
}

describe("require_authentication", () => {
  it("closes 4401 after connection_init without a token, and answers 401 over HTTP", async () => {
    const raw = await rawSocket(`${router.ws}/graphql`);
    raw.send({ type: "connection_init", payload: {} });
    await vi.waitFor(() => expect(raw.closed?.code).toBe(4401));
    expect(raw.closed?.reason).toMatch(/authentication required/);
    const res = await fetch(`${router.http}/graphql?query=${encodeURIComponent("{ __typename }")}`);
    expect(res.status).toBe(401);
  });
});

describe("token lifetime", () => {
  it("ends subscriptions with TOKEN_EXPIRED and closes 4403 when exp passes", async () => {
    const stop = ticker("exp");
    const raw = await authed(await sign(key, { sub: "short" }, 2));
    raw.send(SUB("exp"));
    await vi.waitFor(() => expect(nexts(raw, "exp").length).toBeGreaterThan(2), { timeout: 3000 });
    const expiredBefore = await readMetric(router.http, "streamgate_tokens_expired_total");
    await vi.waitFor(() => expect(raw.closed?.code).toBe(4403), { timeout: 5000 });
    stop();
    const error = raw.frames.find((f) => f.type === "error") as {
      id: string;
      payload: { extensions: { code: string } }[];
    };
    expect(error.id).toBe("exp");
    expect(error.payload[0]!.extensions.code).toBe("SG_ERR_TOKEN_EXPIRED");
    expect(await readMetric(router.http, "streamgate_tokens_expired_total")).toBe(expiredBefore + 1);
  });

  it("keeps running past the old exp when a fresh token arrives in a ping", async () => {
    const stop = ticker("refresh");
    const raw = await authed(await sign(key, { sub: "long" }, 2));
    raw.send(SUB("refresh"));
    await vi.waitFor(() => expect(nexts(raw, "refresh").length).toBeGreaterThan(0), { timeout: 3000 });
    raw.send({ type: "ping", payload: { Authorization: `Bearer ${await sign(key, { sub: "long" }, 60)}` } });
    await vi.waitFor(() => expect(raw.frames.some((f) => f.type === "pong")).toBe(true));
    const before = nexts(raw, "refresh").length;
    await new Promise((r) => setTimeout(r, 3500)); // well past the first token's exp
    stop();
    expect(raw.closed).toBeUndefined();
    expect(nexts(raw, "refresh").length).toBeGreaterThan(before + 20);
    expect(await readMetric(router.http, "streamgate_tokens_refreshed_total")).toBeGreaterThanOrEqual(1);
    raw.ws.close();
  });

  it("closes 4403 when the refreshed token is invalid or belongs to another subject", async () => {
    const a = await authed(await sign(key, { sub: "u1" }, 60));
    a.send({ type: "ping", payload: { Authorization: "Bearer garbage" } });
    await vi.waitFor(() => expect(a.closed?.code).toBe(4403));
    const b = await authed(await sign(key, { sub: "u1" }, 60));
    b.send({ type: "ping", payload: { Authorization: `Bearer ${await sign(key, { sub: "u2" }, 60)}` } });
    await vi.waitFor(() => expect(b.closed?.code).toBe(4403));
    expect(b.closed?.reason).toMatch(/same sub/);
  });
});

describe("rate limits", () => {
  it("refuses the subscribe past the burst with RATE_LIMITED and retryAfter, per user; others go on", async () => {
    const stop = ticker("calm");
    const other = createClient({
      url: `${router.ws}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { Authorization: `Bearer ${await sign(key, { sub: "calm" }, 60)}` },
    });
    const calm = collect(other, 'subscription { ticks(room: "calm") { id } }');
    await vi.waitFor(() => expect(calm.values.length).toBeGreaterThan(0), { timeout: 3000 });

    const greedy = await authed(await sign(key, { sub: "greedy" }, 60));
    for (const id of ["1", "2", "3", "4"]) greedy.send(SUB(`g${id}`, id));
    await vi.waitFor(() => expect(greedy.frames.some((f) => f.type === "error")).toBe(true));
    const error = greedy.frames.find((f) => f.type === "error") as {
      id: string;
      payload: { extensions: { code: string; retryAfter: number } }[];
    };
    expect(error.id).toBe("4");
    expect(error.payload[0]!.extensions.code).toBe("SG_ERR_RATE_LIMITED");
    expect(error.payload[0]!.extensions.retryAfter).toBeGreaterThan(0);
    expect(error.payload[0]!.extensions.retryAfter).toBeLessThanOrEqual(1);
    // Same user, another connection: same bucket. Another user: its own.
    const again = await authed(await sign(key, { sub: "greedy" }, 60));
    again.send(SUB("g5", "5"));
    await vi.waitFor(() => expect(again.frames.some((f) => f.type === "error")).toBe(true));
    expect(greedy.closed).toBeUndefined();
    const seen = calm.values.length;
    await vi.waitFor(() => expect(calm.values.length).toBeGreaterThan(seen + 3));
    expect(
      await readMetric(router.http, "streamgate_rate_limited_total", '{kind="subscribe"}'),
    ).toBeGreaterThanOrEqual(2);
    stop();
    greedy.ws.close();
    again.ws.close();
    await other.dispose();
  });

  it("refuses publish mutations past the per-IP burst, and nothing reaches the broker", async () => {
    const token = await sign(key, { sub: "publisher" }, 60);
    const seen: string[] = [];
    const sub = nc.subscribe("ticks.pub", {
      callback: (_e, m) => {
        seen.push(m.string());
      },
    });
    await nc.flush();
    const results: { data?: unknown; errors?: { extensions: { code: string; retryAfter: number } }[] }[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${router.http}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: 'mutation { tick(room: "pub") { success } }' }),
      });
      results.push((await res.json()) as (typeof results)[number]);
    }
    expect(results.slice(0, 2)).toEqual([
      { data: { tick: { success: true } } },
      { data: { tick: { success: true } } },
    ]);
    expect(results[2]!.errors![0]!.extensions.code).toBe("SG_ERR_RATE_LIMITED");
    expect(results[2]!.errors![0]!.extensions.retryAfter).toBeGreaterThan(0);
    await nc.flush();
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toHaveLength(2);
    sub.unsubscribe();
  });
});
