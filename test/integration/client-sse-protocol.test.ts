/**
 * The client's SSE resume logic against a TEST DOUBLE HTTP server (node:http) that frames events
 * like the router will with cursors: `id:` per event, `retry:`, id-only heartbeat blocks, drops.
 * The router does not send ids yet; the real router drives the SSE transport in test/e2e/.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type Client, createClient, type ExecutionResult } from "../../src/client/index.js";
import { freePort } from "../helpers/brokers/net.js";

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;
let server: Server | undefined;
let client: Client | undefined;
const requests: { headers: IncomingMessage["headers"]; body: string }[] = [];

afterEach(async () => {
  await client?.dispose();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  server = undefined;
  client = undefined;
  requests.length = 0;
});

async function serve(handler: Handler): Promise<string> {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      requests.push({ headers: req.headers, body });
      handler(req, res, requests.length);
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => server!.listen(port, "127.0.0.1", r));
  return `http://127.0.0.1:${port}/graphql`;
}

const stream = (res: ServerResponse) => res.writeHead(200, { "content-type": "text/event-stream" });
const event = (id: string, n: number) => `event: next\nid: ${id}\ndata: {"data":{"n":${n}}}\n\n`;

function watch(c: Client) {
  const seen = { values: [] as ExecutionResult[], errors: [] as string[] };
  c.subscribe(
    { query: "subscription { n }" },
    { next: (v) => seen.values.push(v), error: (e) => seen.errors.push(e.code), complete: () => {} },
  );
  return seen;
}

describe("client over SSE (test double server)", () => {
  it("reconnects with Last-Event-ID from the last event, then from an id-only heartbeat block", async () => {
    const url = await serve((_req, res, n) => {
      stream(res);
      if (n === 1) res.write(`retry: 30\n\n${event("c1", 1)}${event("c2", 2)}`);
      else if (n === 2) res.write(`${event("c2", 2)}${event("c3", 3)}: keep-alive\n\nid: c5\n\n`);
      else res.write(event("c6", 6));
      if (n < 3) setTimeout(() => res.socket?.destroy(), 50);
    });
    client = createClient({ url, backoff: { baseMs: 10, maxMs: 20 } });
    const seen = watch(client);
    await vi.waitFor(() => expect(seen.values).toHaveLength(4));
    expect(seen.values.map((v) => (v.data as { n: number }).n)).toEqual([1, 2, 3, 6]);
    expect(requests.map((r) => r.headers["last-event-id"])).toEqual([undefined, "c2", "c5"]);
    expect(JSON.parse(requests[1]!.body)).toEqual({ query: "subscription { n }" });
    expect(requests[0]!.headers.accept).toBe("text/event-stream");
    expect(client.stats()).toMatchObject({
      reconnects: 2,
      resumes: 2,
      duplicatesDropped: 1,
      transport: "sse",
    });
    expect(seen.errors).toEqual([]);
  });

  it("reopens a stream that stays silent past idleTimeout", async () => {
    const url = await serve((_req, res, n) => {
      stream(res);
      if (n === 1)
        res.write(event("c1", 1)); // …and then nothing, not even comments
      else res.write(event("c2", 2));
    });
    client = createClient({ url, idleTimeout: 200, backoff: { baseMs: 10, maxMs: 20 } });
    const seen = watch(client);
    await vi.waitFor(() => expect(seen.values).toHaveLength(2), { timeout: 3000 });
    expect(requests[1]!.headers["last-event-id"]).toBe("c1");
  });

  it("retries a 401 once with a fresh token, then reports AUTHENTICATION_FAILED", async () => {
    let calls = 0;
    const url = await serve((_req, res) => {
      res.writeHead(401, { "content-type": "application/json" });
      res.end('{"errors":[{"message":"unauthorized"}]}');
    });
    client = createClient({ url, token: () => `t${++calls}` });
    const seen = watch(client);
    await vi.waitFor(() => expect(seen.errors).toEqual(["SG_CLIENT_AUTHENTICATION_FAILED"]));
    expect(requests.map((r) => r.headers.authorization)).toEqual(["Bearer t1", "Bearer t2"]);
  });

  it("waits Retry-After on 429, and reports CURSOR_INVALID from a 400", async () => {
    const url = await serve((req, res, n) => {
      if (n === 1) {
        res.writeHead(429, { "retry-after": "0.2", "content-type": "application/json" });
        res.end('{"errors":[{"message":"slow down","extensions":{"code":"RATE_LIMITED"}}]}');
      } else if (req.headers["last-event-id"] === "forged") {
        res.writeHead(400, { "content-type": "application/json" });
        res.end('{"errors":[{"message":"bad cursor","extensions":{"code":"SG_ERR_CURSOR_INVALID"}}]}');
      } else {
        stream(res);
        res.write(event("c1", 1));
      }
    });
    client = createClient({ url });
    const started = Date.now();
    const seen = watch(client);
    await vi.waitFor(() => expect(seen.values).toHaveLength(1));
    expect(Date.now() - started).toBeGreaterThanOrEqual(180);
    const errors: string[] = [];
    client.subscribe(
      { query: "subscription { n }", extensions: { cursor: "forged" } },
      { next() {}, error: (e) => errors.push(e.code), complete() {} },
    );
    await vi.waitFor(() => expect(errors).toEqual(["SG_CLIENT_CURSOR_INVALID"]));
  });

  it("a hostile stream (bad JSON in data) fails that subscription only", async () => {
    const url = await serve((_req, res) => {
      stream(res);
      res.write("event: next\nid: x\ndata: {oops\n\n");
    });
    client = createClient({ url });
    const seen = watch(client);
    await vi.waitFor(() => expect(seen.errors).toEqual(["SG_CLIENT_BAD_RESPONSE"]));
    expect(client.stats().activeOperations).toBe(0);
  });
});
