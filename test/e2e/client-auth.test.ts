/**
 * End to end: the client's tokens and rate limits against the built router's authentication
 * (HS256 secret, require_authentication) and subscribe rate limit. Short-lived tokens are
 * refreshed across several `exp`s without dropping the connection; a refused token ends in an
 * authentication error after one fresh try; a rate-limited subscribe is retried after retryAfter.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import type { Client, ExecutionResult, StreamgateClientError } from "../../src/client/index.js";
import { ANY_SUB, type RestartableRouter, startRestartableRouter } from "../helpers/client-router.js";
import { signHs256 } from "../helpers/jwt.js";
import { REPO_ROOT } from "../helpers/router.js";

const { createClient } = (await import(
  `${REPO_ROOT}/dist/client/index.js`
)) as typeof import("../../src/client/index.js");

const SECRET = "client-test-secret-0123456789abcdef";
let router: RestartableRouter;

beforeAll(async () => {
  router = await startRestartableRouter(
    "    nats:\n      - id: default\n        url: memory://\n",
    `authentication:
  jwt:
    jwks:
      - secret: "${SECRET}"
        symmetric_algorithm: HS256
    clock_skew: 0s
authorization:
  require_authentication: true
rate_limit:
  subscribe: { rate: 1, burst: 1, key: "claim:sub" }
`,
  );
});
afterAll(async () => {
  await router?.stop();
});

/** Publishes with a valid token (publishing needs one too). */
async function publishAuthed(id: string): Promise<void> {
  const token = await signHs256(SECRET, { sub: "publisher" }, 60);
  await fetch(router.http, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: `mutation { updateEmployee(id: "${id}", update: {}) { success } }` }),
  });
}

function watch(client: Client) {
  const seen = { ids: [] as string[], errors: [] as StreamgateClientError[] };
  client.subscribe<{ anyEmployeeUpdated: { id: string } }>(
    { query: ANY_SUB },
    {
      next: (r: ExecutionResult<{ anyEmployeeUpdated: { id: string } }>) =>
        seen.ids.push(r.data!.anyEmployeeUpdated.id),
      error: (e) => seen.errors.push(e),
      complete: () => {},
    },
  );
  return seen;
}

async function publishUntilSeen(ids: string[], id: string): Promise<void> {
  await vi.waitFor(
    async () => {
      if (!ids.includes(id)) await publishAuthed(id);
      expect(ids).toContain(id);
    },
    { timeout: 10_000, interval: 200 },
  );
}

describe("client tokens and rate limits against the router", () => {
  it("refreshes a 3 s token across two exps over WebSocket without dropping the connection", async () => {
    let calls = 0;
    const closed: number[] = [];
    const client = createClient({
      url: router.ws,
      webSocketImpl: WebSocket,
      token: () => {
        calls++;
        return signHs256(SECRET, { sub: "ws-user" }, 3);
      },
      on: { closed: (e) => closed.push(e.code) },
    });
    const seen = watch(client);
    await publishUntilSeen(seen.ids, "a1");
    await new Promise((r) => setTimeout(r, 7000)); // two of the first tokens' lifetimes
    await publishUntilSeen(seen.ids, "a2");
    expect(closed).toEqual([]);
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(client.stats().reconnects).toBe(0);
    expect(seen.errors).toEqual([]);
    await client.dispose();
  }, 30_000);

  it("keeps an SSE stream going across exps by reopening it with a fresh token", async () => {
    let calls = 0;
    const client = createClient({
      url: router.http,
      token: () => {
        calls++;
        return signHs256(SECRET, { sub: "sse-user" }, 3);
      },
      backoff: { baseMs: 100, maxMs: 500 },
    });
    const seen = watch(client);
    await publishUntilSeen(seen.ids, "s1");
    await new Promise((r) => setTimeout(r, 7000));
    await publishUntilSeen(seen.ids, "s2");
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(seen.errors).toEqual([]);
    await client.dispose();
  }, 30_000);

  it("a token the router refuses: one more token() on 4401, then SG_CLIENT_AUTHENTICATION_FAILED", async () => {
    let calls = 0;
    const client = createClient({
      url: router.ws,
      webSocketImpl: WebSocket,
      token: () => {
        calls++;
        return signHs256("some-other-secret-0123456789abcdef", { sub: "x" }, 60);
      },
    });
    const seen = watch(client);
    await vi.waitFor(() => expect(seen.errors).toHaveLength(1));
    expect(seen.errors[0]!.code).toBe("SG_CLIENT_AUTHENTICATION_FAILED");
    expect(seen.errors[0]!.status).toBe(4401);
    expect(calls).toBe(2);
    await client.dispose();
  });

  it("retries rate-limited subscribes after retryAfter until every one runs", async () => {
    const client = createClient({
      url: router.ws,
      webSocketImpl: WebSocket,
      token: () => signHs256(SECRET, { sub: "many-subs" }, 60),
    });
    // burst 1, 1/s: the second and third subscribe are refused with retryAfter at first.
    const subs = [watch(client), watch(client), watch(client)];
    await vi.waitFor(
      async () => {
        await publishAuthed("r1");
        for (const s of subs) expect(s.ids).toContain("r1");
      },
      { timeout: 15_000, interval: 500 },
    );
    for (const s of subs) expect(s.errors).toEqual([]);
    await client.dispose();
  }, 30_000);

  it("SSE: a rate-limited stream is 429 with Retry-After and its code; the client waits and retries it", async () => {
    const token = await signHs256(SECRET, { sub: "sse-raw" }, 60);
    const open = () =>
      fetch(router.http, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "text/event-stream",
          authorization: `Bearer ${token}`,
        },
        body: JSON.stringify({ query: ANY_SUB }),
      });
    const first = await open();
    const second = await open();
    expect(first.status).toBe(200);
    expect(second.status).toBe(429);
    expect(Number(second.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const body = (await second.json()) as { errors: { extensions: { code: string; retryAfter: number } }[] };
    expect(body.errors[0]!.extensions).toMatchObject({
      code: "SG_ERR_RATE_LIMITED",
      retryAfter: expect.any(Number),
    });
    await first.body?.cancel();

    const client = createClient({
      url: router.http,
      token: () => signHs256(SECRET, { sub: "sse-many" }, 60),
    });
    const subs = [watch(client), watch(client), watch(client)];
    await vi.waitFor(
      async () => {
        await publishAuthed("r2");
        for (const s of subs) expect(s.ids).toContain("r2");
      },
      { timeout: 15_000, interval: 500 },
    );
    for (const s of subs) expect(s.errors).toEqual([]);
    await client.dispose();
  }, 30_000);
});
