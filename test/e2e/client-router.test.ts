/**
 * End to end: `streamgate/client` (its built module, as users import it) against the built router
 * on the embedded broker. The router is SIGKILLed and started again on the same port, stopped
 * with SIGSTOP, and put behind a proxy that refuses WebSockets; the client recovers by itself.
 * These subscriptions are at-most-once (no cursors on memory://): what is checked is that the
 * client comes back and events published after that arrive. Lossless resume: client-resume*.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import type {
  Client,
  ClientOptions,
  ExecutionResult,
  StreamgateClientError,
} from "../../src/client/index.js";
import {
  ANY_SUB,
  publish,
  type RestartableRouter,
  startRestartableRouter,
  startUpgradeRefusingProxy,
} from "../helpers/client-router.js";
import { REPO_ROOT } from "../helpers/router.js";

// The built module: what `import "streamgate/client"` loads (npm test builds before vitest).
const { createClient } = (await import(
  `${REPO_ROOT}/dist/client/index.js`
)) as typeof import("../../src/client/index.js");

let router: RestartableRouter;
beforeAll(async () => {
  router = await startRestartableRouter("    nats:\n      - id: default\n        url: memory://\n");
});
afterAll(async () => {
  await router?.stop();
});

const ids = (values: ExecutionResult[]) =>
  values.map((v) => (v.data as { anyEmployeeUpdated: { id: string } }).anyEmployeeUpdated.id);

function watch(client: Client, query = ANY_SUB) {
  const seen = { values: [] as ExecutionResult[], errors: [] as StreamgateClientError[], completed: false };
  const stop = client.subscribe(
    { query },
    {
      next: (v) => seen.values.push(v),
      error: (e) => seen.errors.push(e),
      complete: () => {
        seen.completed = true;
      },
    },
  );
  return {
    ...seen,
    get values() {
      return seen.values;
    },
    get errors() {
      return seen.errors;
    },
    get completed() {
      return seen.completed;
    },
    stop,
  };
}

/** Publishes `id` until the subscription saw it (the subscription may still be starting). */
async function publishUntilSeen(values: ExecutionResult[], id: string, timeout = 15_000): Promise<void> {
  await vi.waitFor(
    async () => {
      if (!ids(values).includes(id)) await publish(router.http, id);
      expect(ids(values)).toContain(id);
    },
    { timeout, interval: 200 },
  );
}

const base = (url: string): ClientOptions => ({
  url,
  webSocketImpl: WebSocket,
  retryAttempts: Infinity,
  backoff: { baseMs: 100, maxMs: 500 },
});

describe("streamgate/client against the router", () => {
  it("WebSocket: comes back by itself after SIGKILL and a restart on the same port", async () => {
    const events: string[] = [];
    const client = createClient({
      ...base(router.ws),
      on: {
        connected: (e) => events.push(`connected:${e.reconnect}`),
        closed: (e) => events.push(`closed:${e.code}`),
      },
    });
    const sub = watch(client);
    await publishUntilSeen(sub.values, "1");
    await router.restart();
    await vi.waitFor(() => expect(events).toContain("connected:true"), { timeout: 15_000 });
    await publishUntilSeen(sub.values, "2");
    expect(events.filter((e) => e.startsWith("closed"))[0]).toBe("closed:1006");
    expect(client.stats()).toMatchObject({ transport: "websocket", activeOperations: 1 });
    expect(client.stats().reconnects).toBeGreaterThanOrEqual(1);
    expect(sub.errors).toEqual([]);
    expect(sub.completed).toBe(false);
    await client.dispose();
    expect(sub.completed).toBe(true);
  });

  it("WebSocket: a graceful shutdown (complete + close 1001) does not end the subscription", async () => {
    const closed: number[] = [];
    const client = createClient({ ...base(router.ws), on: { closed: (e) => closed.push(e.code) } });
    const sub = watch(client);
    await publishUntilSeen(sub.values, "5");
    await router.stop(); // SIGTERM: the router sends `complete` for every operation, then 1001
    await router.start();
    await publishUntilSeen(sub.values, "6");
    expect(closed[0]).toBe(1001);
    expect(sub.completed).toBe(false);
    expect(sub.errors).toEqual([]);
    await client.dispose();
  });

  it("SSE: an http:// URL streams, and the stream comes back after SIGKILL and a restart", async () => {
    const client = createClient(base(router.http));
    const sub = watch(client);
    await publishUntilSeen(sub.values, "10");
    await router.restart();
    await publishUntilSeen(sub.values, "11");
    expect(client.stats().transport).toBe("sse");
    expect(client.stats().reconnects).toBeGreaterThanOrEqual(1);
    expect(sub.errors).toEqual([]);
    await client.dispose();
    expect(sub.completed).toBe(true);
  });

  it("falls back to SSE when a proxy refuses the WebSocket upgrade", async () => {
    const proxy = await startUpgradeRefusingProxy(router.port);
    const fallbacks: string[] = [];
    const client = createClient({
      ...base(proxy.url),
      on: { fallback: (e) => fallbacks.push(`${e.from}->${e.to}`) },
    });
    const sub = watch(client);
    await publishUntilSeen(sub.values, "20");
    expect(fallbacks).toEqual(["websocket->sse"]);
    expect(client.stats().transport).toBe("sse");
    // Queries and mutations take HTTP after the fallback too.
    await expect(
      client.request({ query: 'mutation { updateEmployee(id: "21", update: {}) { success } }' }),
    ).resolves.toEqual({
      data: { updateEmployee: { success: true } },
    });
    await vi.waitFor(() => expect(ids(sub.values)).toContain("21"));
    await client.dispose();
    await proxy.close();
  });

  it("runs a mutation issued while the router is down once it is back", async () => {
    const closed: number[] = [];
    const client = createClient({
      ...base(router.ws),
      queueTimeout: 20_000,
      on: { closed: (e) => closed.push(e.code) },
    });
    try {
      const sub = watch(client);
      await publishUntilSeen(sub.values, "30");
      await router.kill();
      // The router's process is gone, but the client learns it from the socket's close event,
      // which can come later on a loaded machine. A mutation sent before that goes out on the
      // dying socket and fails with OUTCOME_UNKNOWN (by design: it may have run). "Issued while
      // the router is down" means after the client saw it go.
      await vi.waitFor(() => expect(closed.length).toBeGreaterThan(0), { timeout: 10_000 });
      const pending = client.request({
        query: 'mutation { updateEmployee(id: "31", update: {}) { success } }',
      });
      pending.catch(() => {}); // asserted below; keeps an early rejection from going unhandled
      await new Promise((r) => setTimeout(r, 300));
      await router.start();
      await expect(pending).resolves.toEqual({ data: { updateEmployee: { success: true } } });
    } finally {
      await client.dispose();
    }
  });

  it("drops a connection that went silent (router stopped with SIGSTOP) and reconnects", async () => {
    const closed: number[] = [];
    const client = createClient({
      ...base(router.ws),
      keepAlive: 300,
      pongTimeout: 300,
      connectTimeout: 1000,
      on: { closed: (e) => closed.push(e.code) },
    });
    const sub = watch(client);
    await publishUntilSeen(sub.values, "40");
    router.current.process.kill("SIGSTOP");
    try {
      await vi.waitFor(() => expect(closed).toContain(4499), { timeout: 5000 });
    } finally {
      router.current.process.kill("SIGCONT");
    }
    await publishUntilSeen(sub.values, "41");
    expect(sub.errors).toEqual([]);
    await client.dispose();
  });

  it("iterate(): typed results in order; return() ends the router's subscription", async () => {
    const client = createClient(base(router.ws));
    const iterator = client.iterate<{ anyEmployeeUpdated: { id: string } }>({ query: ANY_SUB });
    const got: string[] = [];
    const reading = (async () => {
      for await (const result of iterator) {
        got.push(result.data!.anyEmployeeUpdated.id);
        if (got.includes("52")) break; // calls return()
      }
    })();
    await vi.waitFor(
      async () => {
        if (!got.includes("50")) await publish(router.http, "50");
        expect(got).toContain("50");
      },
      { timeout: 10_000, interval: 200 },
    );
    await publish(router.http, "51");
    await publish(router.http, "52");
    await reading;
    expect(got.slice(got.indexOf("50"))).toEqual(["50", "51", "52"]);
    expect(client.stats().activeOperations).toBe(0);
    await vi.waitFor(async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${router.port}/metrics`)).text();
      expect(metrics).toMatch(/^streamgate_subscriptions 0$/m);
    });
    await client.dispose();
  });

  it("dispose(): sinks complete, the socket closes, later operations fail with DISPOSED", async () => {
    const client = createClient(base(router.ws));
    const sub = watch(client);
    await publishUntilSeen(sub.values, "60");
    await client.dispose();
    expect(sub.completed).toBe(true);
    await vi.waitFor(async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${router.port}/metrics`)).text();
      expect(metrics).toMatch(/^streamgate_connections 0$/m);
    });
    const late = watch(client);
    expect(late.errors[0]?.code).toBe("SG_CLIENT_DISPOSED");
  });

  it("a refused operation is a typed error and leaves the other subscriptions running", async () => {
    const client = createClient(base(router.ws));
    const good = watch(client);
    const bad = watch(client, "subscription { noSuchField }");
    await vi.waitFor(() => expect(bad.errors).toHaveLength(1));
    expect(bad.errors[0]!.code).toBe("SG_CLIENT_SUBSCRIPTION_FAILED");
    expect(bad.errors[0]!.errors[0]!.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    await publishUntilSeen(good.values, "70");
    await client.dispose();
  });
});
