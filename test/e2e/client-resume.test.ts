/**
 * End to end, lossless: the client against the built router with an at-least-once provider (the
 * embedded broker's replay log, signed cursors). The network between them is cut mid-stream
 * while events keep being published; the client reconnects and resumes from its last cursor by
 * itself, and the test counts every event exactly once, in order, over WebSocket and over SSE.
 * (A killed router loses the embedded broker with it: the SIGKILL versions run on JetStream,
 * client-resume-jetstream.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import type { Client, ExecutionResult, StreamgateClientError } from "../../src/client/index.js";
import {
  ANY_SUB,
  publish,
  type RestartableRouter,
  startCuttableLink,
  startRestartableRouter,
} from "../helpers/client-router.js";
import { REPO_ROOT } from "../helpers/router.js";

const { createClient } = (await import(
  `${REPO_ROOT}/dist/client/index.js`
)) as typeof import("../../src/client/index.js");

let router: RestartableRouter;
let link: Awaited<ReturnType<typeof startCuttableLink>>;
beforeAll(async () => {
  router = await startRestartableRouter(
    "    nats:\n      - id: default\n        url: memory://\n        delivery: at_least_once\n",
    "delivery:\n  cursor_secret: client-resume-test-secret-0123456789abcdef\n",
  );
  link = await startCuttableLink(router.port);
});
afterAll(async () => {
  await link?.close();
  await router?.stop();
});

type Data = { anyEmployeeUpdated: { id: string } };

function watch(client: Client) {
  const seen = {
    ids: [] as string[],
    results: [] as ExecutionResult<Data>[],
    errors: [] as StreamgateClientError[],
  };
  client.subscribe<Data>(
    { query: ANY_SUB },
    {
      next: (r) => {
        seen.results.push(r);
        seen.ids.push(r.data!.anyEmployeeUpdated.id);
      },
      error: (e) => seen.errors.push(e),
      complete: () => seen.errors.push(new Error("completed") as StreamgateClientError),
    },
  );
  return seen;
}

/** Publishes `${prefix}1..${prefix}n` one after another; cuts the link twice on the way. */
async function publishAcrossCuts(prefix: string, n: number): Promise<number> {
  let cuts = 0;
  for (let i = 1; i <= n; i++) {
    expect(await publish(router.http, `${prefix}${i}`)).toBe(true);
    if (i === Math.floor(n / 3) || i === Math.floor((2 * n) / 3)) {
      // Cut a live connection: the client may still be waiting to reconnect from the last cut.
      await vi.waitFor(() => expect(link.open()).toBeGreaterThan(0), { timeout: 10_000, interval: 20 });
      if (link.cut() > 0) cuts++;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return cuts;
}

async function lossless(url: string, prefix: string): Promise<Client> {
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    retryAttempts: Number.POSITIVE_INFINITY,
    backoff: { baseMs: 50, maxMs: 200 },
  });
  const seen = watch(client);
  // Live once a probe arrives; the numbered events start after it.
  await vi.waitFor(
    async () => {
      if (!seen.ids.includes(`${prefix}probe`)) await publish(router.http, `${prefix}probe`);
      expect(seen.ids).toContain(`${prefix}probe`);
    },
    { timeout: 10_000, interval: 200 },
  );
  const N = 120;
  const cuts = await publishAcrossCuts(prefix, N);
  expect(cuts).toBeGreaterThanOrEqual(2);
  const numbered = () => seen.ids.filter((id) => id !== `${prefix}probe`);
  await vi.waitFor(() => expect(numbered().length).toBeGreaterThanOrEqual(N), { timeout: 20_000 });
  expect(numbered()).toEqual(Array.from({ length: N }, (_, i) => `${prefix}${i + 1}`));
  expect(seen.errors).toEqual([]);
  expect(seen.results.every((r) => typeof r.extensions?.cursor === "string")).toBe(true);
  expect(client.stats().resumes).toBeGreaterThanOrEqual(2);
  expect(client.stats().gaps).toBe(0);
  return client;
}

describe("lossless resume through the router (embedded broker, at-least-once)", () => {
  it("over WebSocket: every event exactly once, in order, across two cut connections", async () => {
    const client = await lossless(link.ws, "w");
    expect(client.stats().transport).toBe("websocket");
    await client.dispose();
  });

  it("over SSE: every event exactly once, in order, across two cut streams", async () => {
    const client = await lossless(link.http, "s");
    expect(client.stats().transport).toBe("sse");
    await client.dispose();
  });
});
