/**
 * The client's WebSocket protocol logic against a TEST DOUBLE server (test/helpers/transport-ws-double.ts):
 * resume cursors, heartbeat cursors, token pings, 4401, rate limits, shutdown, silence and garbage.
 * Cursors are the wire shapes of the router's at-least-once work, not in the router yet; tokens
 * and rate limits are also driven by the real router (test/e2e/client-auth.test.ts), here with
 * exact timing and hostile variants.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import {
  type Client,
  type ClientOptions,
  createClient,
  type ExecutionResult,
  StreamgateClientError,
} from "../../src/client/index.js";
import { freePort } from "../helpers/brokers/net.js";
import {
  type DoubleConnection,
  defaultReply,
  startTransportWsDouble,
  type TransportWsDouble,
} from "../helpers/transport-ws-double.js";

let double: TransportWsDouble | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.dispose();
  await double?.close();
  client = undefined;
  double = undefined;
});

const SUB = "subscription { ticks { n } }";

interface Seen {
  values: ExecutionResult[];
  errors: StreamgateClientError[];
  completed: boolean;
}

function watch(c: Client, query = SUB): Seen & { stop: () => void } {
  const seen = {
    values: [] as ExecutionResult[],
    errors: [] as StreamgateClientError[],
    completed: false,
    stop: () => {},
  };
  seen.stop = c.subscribe(
    { query },
    {
      next: (v) => seen.values.push(v),
      error: (e) => seen.errors.push(e),
      complete: () => {
        seen.completed = true;
      },
    },
  );
  return seen;
}

async function setup(options: Partial<ClientOptions> = {}): Promise<TransportWsDouble> {
  double = await startTransportWsDouble();
  client = createClient({
    url: double.url,
    webSocketImpl: WebSocket,
    backoff: { baseMs: 20, maxMs: 100 },
    sseFallback: false,
    ...options,
  });
  return double;
}

const next = (id: unknown, n: number, cursor?: string) => ({
  id,
  type: "next",
  payload: { data: { ticks: { n } }, ...(cursor ? { extensions: { cursor } } : {}) },
});

describe("client over graphql-transport-ws (test double server)", () => {
  it("resumes from the last cursor after the connection drops, and counts it", async () => {
    const d = await setup();
    const seen = watch(client!);
    await vi.waitFor(() => expect(d.subscribes()).toHaveLength(1));
    const [first] = d.subscribes();
    expect(first!.payload.extensions).toBeUndefined();
    d.connections[0]!.send(next(first!.id, 1, "c1"));
    d.connections[0]!.send(next(first!.id, 2, "c2"));
    await vi.waitFor(() => expect(seen.values).toHaveLength(2));
    d.connections[0]!.kill();
    await vi.waitFor(() => expect(d.subscribes()).toHaveLength(2));
    const second = d.subscribes()[1]!;
    expect(second.id).toBe(first!.id);
    expect(second.payload.extensions).toEqual({ cursor: "c2" });
    // A repeat of the resume position at the seam is dropped; the next one is delivered.
    d.connections[1]!.send(next(second.id, 2, "c2"));
    d.connections[1]!.send(next(second.id, 3, "c3"));
    await vi.waitFor(() => expect(seen.values).toHaveLength(3));
    expect(seen.values.map((v) => (v.data as { ticks: { n: number } }).ticks.n)).toEqual([1, 2, 3]);
    expect(client!.stats()).toMatchObject({
      reconnects: 1,
      resumes: 1,
      duplicatesDropped: 1,
      eventsReceived: 3,
    });
    expect(seen.errors).toEqual([]);
    expect(seen.completed).toBe(false);
  });

  it("takes the cursors of a server ping as the newest, answers pong, and resumes from them", async () => {
    const d = await setup();
    watch(client!);
    await vi.waitFor(() => expect(d.subscribes()).toHaveLength(1));
    const { id } = d.subscribes()[0]!;
    d.connections[0]!.send(next(id, 1, "c1"));
    d.connections[0]!.send({ type: "ping", payload: { cursors: { [id]: "c77", other: "x" } } });
    await vi.waitFor(() => expect(d.connections[0]!.received.some((f) => f.type === "pong")).toBe(true));
    d.connections[0]!.kill();
    await vi.waitFor(() => expect(d.subscribes()).toHaveLength(2));
    expect(d.subscribes()[1]!.payload.extensions).toEqual({ cursor: "c77" });
  });

  it("sends a going-away router's `complete` nowhere: the subscription resumes on the next connection", async () => {
    const d = await setup();
    const seen = watch(client!);
    await vi.waitFor(() => expect(d.subscribes()).toHaveLength(1));
    const { id } = d.subscribes()[0]!;
    d.connections[0]!.send(next(id, 1, "c1"));
    d.connections[0]!.send({ id, type: "complete" });
    d.connections[0]!.close(1001, "server shutting down");
    await vi.waitFor(() => expect(d.subscribes()).toHaveLength(2));
    expect(d.subscribes()[1]!.payload.extensions).toEqual({ cursor: "c1" });
    expect(seen.completed).toBe(false);
  });

  it("completes a subscription the router completes on a live connection", async () => {
    const d = await setup();
    const seen = watch(client!);
    await vi.waitFor(() => expect(d.subscribes()).toHaveLength(1));
    d.connections[0]!.send({ id: d.subscribes()[0]!.id, type: "complete" });
    await vi.waitFor(() => expect(seen.completed).toBe(true));
    expect(seen.errors).toEqual([]);
  });

  it("emits `gap` when the router says the resume lost events", async () => {
    const d = await setup();
    const gaps: string[] = [];
    client!.on("gap", (e) => gaps.push(e.operationId));
    watch(client!);
    await vi.waitFor(() => expect(d.subscribes()).toHaveLength(1));
    const { id } = d.subscribes()[0]!;
    d.connections[0]!.send({
      id,
      type: "next",
      payload: { data: { ticks: { n: 9 } }, extensions: { cursor: "c9", gap: true } },
    });
    await vi.waitFor(() => expect(gaps).toEqual([id]));
    expect(client!.stats().gaps).toBe(1);
  });

  it("sends the token in connection_init and a fresh one in a ping before `exp`, without reconnecting", async () => {
    const jwt = (exp: number, n: number) =>
      `h.${Buffer.from(JSON.stringify({ exp, n })).toString("base64url")}.s`;
    let calls = 0;
    const d = await setup({
      token: () => jwt(Math.floor(Date.now() / 1000) + 2, ++calls),
      tokenRefreshAhead: 30_000,
    });
    watch(client!);
    await vi.waitFor(() => expect(d.subscribes()).toHaveLength(1));
    const init = d.frames.find((f) => f.type === "connection_init")!;
    const sent = String((init.payload as { Authorization: string }).Authorization);
    expect(sent).toMatch(/^Bearer h\./);
    expect(JSON.parse(Buffer.from(sent.split(".")[1]!, "base64url").toString()).n).toBe(1);
    await vi.waitFor(
      () =>
        expect(
          d.frames.some(
            (f) => f.type === "ping" && (f.payload as { Authorization?: string } | undefined)?.Authorization,
          ),
        ).toBe(true),
      { timeout: 4000 },
    );
    const ping = d.frames.find((f) => f.type === "ping" && f.payload)!;
    expect(String((ping.payload as { Authorization: string }).Authorization)).toMatch(/^Bearer h\./);
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(d.connections).toHaveLength(1);
  });

  it("on 4401 asks token() once more, then gives up with an authentication error", async () => {
    let calls = 0;
    const d = await setup({ token: () => `t${++calls}` });
    d.onMessage = (conn, frame) => {
      if (frame.type === "connection_init") conn.close(4401, "Unauthorized");
    };
    const seen = watch(client!);
    await vi.waitFor(() => expect(seen.errors).toHaveLength(1));
    expect(seen.errors[0]!.code).toBe("SG_CLIENT_AUTHENTICATION_FAILED");
    expect(seen.errors[0]!.status).toBe(4401);
    expect(d.frames.filter((f) => f.type === "connection_init").map((f) => f.payload)).toEqual([
      { Authorization: "Bearer t1" },
      { Authorization: "Bearer t2" },
    ]);
  });

  it("reconnects with a fresh token after 4403 (token expired) and resumes", async () => {
    let calls = 0;
    const d = await setup({ token: () => `t${++calls}` });
    const seen = watch(client!);
    await vi.waitFor(() => expect(d.subscribes()).toHaveLength(1));
    const { id } = d.subscribes()[0]!;
    d.connections[0]!.send(next(id, 1, "c1"));
    d.connections[0]!.send({
      id,
      type: "error",
      payload: [{ message: "token expired", extensions: { code: "TOKEN_EXPIRED" } }],
    });
    d.connections[0]!.close(4403, "Forbidden");
    await vi.waitFor(() => expect(d.connections).toHaveLength(2));
    await vi.waitFor(() => expect(d.connections[1]!.received.some((f) => f.type === "subscribe")).toBe(true));
    const resubscribe = d.connections[1]!.received.find((f) => f.type === "subscribe")!;
    expect((resubscribe.payload as { extensions: unknown }).extensions).toEqual({ cursor: "c1" });
    expect(d.connections[1]!.received[0]).toEqual({
      type: "connection_init",
      payload: { Authorization: "Bearer t3" },
    });
    expect(seen.errors).toEqual([]);
  });

  it("retries a RATE_LIMITED subscribe after retryAfter; a hard LIMIT_EXCEEDED is an error", async () => {
    const d = await setup();
    let refusals = 0;
    d.onMessage = (conn, frame) => {
      defaultReply(conn, frame);
      if (frame.type !== "subscribe") return;
      const query = String((frame.payload as { query: string }).query);
      if (query.includes("hard")) {
        conn.send({
          id: frame.id,
          type: "error",
          payload: [{ message: "too many", extensions: { code: "SG_ERR_LIMIT_EXCEEDED" } }],
        });
      } else if (refusals++ === 0) {
        conn.send({
          id: frame.id,
          type: "error",
          payload: [{ message: "slow down", extensions: { code: "RATE_LIMITED", retryAfter: 0.3 } }],
        });
      } else conn.send(next(frame.id, 1));
    };
    const started = Date.now();
    const seen = watch(client!);
    await vi.waitFor(() => expect(seen.values).toHaveLength(1));
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    const hard = watch(client!, "subscription hard { ticks { n } }");
    await vi.waitFor(() => expect(hard.errors).toHaveLength(1));
    expect(hard.errors[0]).toBeInstanceOf(StreamgateClientError);
    expect(hard.errors[0]!.code).toBe("SG_CLIENT_LIMIT_EXCEEDED");
    expect(seen.errors).toEqual([]);
  });

  it("reports CURSOR_INVALID (with or without the SG_ERR_ prefix) as its own code", async () => {
    const d = await setup();
    d.onMessage = (conn, frame) => {
      defaultReply(conn, frame);
      if (frame.type === "subscribe")
        conn.send({
          id: frame.id,
          type: "error",
          payload: [{ message: "bad cursor", extensions: { code: "SG_ERR_CURSOR_INVALID" } }],
        });
    };
    const seen = watch(client!);
    await vi.waitFor(() => expect(seen.errors).toHaveLength(1));
    expect(seen.errors[0]!.code).toBe("SG_CLIENT_CURSOR_INVALID");
    expect(seen.errors[0]!.errors[0]!.message).toBe("bad cursor");
  });

  it("drops a silent connection (no pong) and opens a new one", async () => {
    const d = await setup({ keepAlive: 100, pongTimeout: 100 });
    d.onMessage = (conn, frame) => {
      // The first connection goes silent after the ack: no pong, nothing.
      if (frame.type === "connection_init") conn.send({ type: "connection_ack" });
      else if (frame.type === "ping" && d.connections.indexOf(conn) > 0) conn.send({ type: "pong" });
    };
    const closed: number[] = [];
    client!.on("closed", (e) => closed.push(e.code));
    watch(client!);
    await vi.waitFor(() => expect(d.connections.length).toBeGreaterThanOrEqual(2), { timeout: 3000 });
    expect(closed[0]).toBe(4499);
    await vi.waitFor(() => expect(d.subscribes()).toHaveLength(2));
  });

  it("a sink that throws is reported; the connection and the other subscriptions go on", async () => {
    const reported = vi.spyOn(console, "error").mockImplementation(() => {});
    const d = await setup();
    client!.subscribe(
      { query: SUB },
      {
        next: () => {
          throw new Error("bug in user code");
        },
        error: () => {},
        complete: () => {},
      },
    );
    const ok = watch(client!);
    await vi.waitFor(() => expect(d.subscribes()).toHaveLength(2));
    for (const { id } of d.subscribes()) d.connections[0]!.send(next(id, 1));
    d.connections[0]!.send(next(d.subscribes()[1]!.id, 2));
    await vi.waitFor(() => expect(ok.values).toHaveLength(2));
    expect(reported).toHaveBeenCalledWith(expect.objectContaining({ message: "bug in user code" }));
    expect(d.connections).toHaveLength(1);
  });

  it("ignores odd but valid frames: cursors of unknown ids or wrong types, results for unknown ids", async () => {
    const d = await setup();
    const seen = watch(client!);
    await vi.waitFor(() => expect(d.subscribes()).toHaveLength(1));
    const { id } = d.subscribes()[0]!;
    const conn = d.connections[0]!;
    conn.send({ type: "ping", payload: { cursors: "nope" } });
    conn.send({ type: "ping", payload: { cursors: { [id]: 5, other: "x" } } });
    conn.send({ type: "ping", payload: null });
    conn.send(next("no-such-id", 1, "cx"));
    conn.send({ id: "no-such-id", type: "complete" });
    conn.send(next(id, 2, "c2"));
    await vi.waitFor(() => expect(seen.values).toHaveLength(1));
    conn.kill();
    await vi.waitFor(() => expect(d.subscribes()).toHaveLength(2));
    expect(d.subscribes()[1]!.payload.extensions).toEqual({ cursor: "c2" });
    expect(seen.errors).toEqual([]);
  });

  it("a `next` whose payload is no object is outside the protocol: BAD_RESPONSE", async () => {
    const d = await setup();
    const seen = watch(client!);
    await vi.waitFor(() => expect(d.subscribes()).toHaveLength(1));
    d.connections[0]!.send({ id: d.subscribes()[0]!.id, type: "next", payload: "text" });
    await vi.waitFor(() => expect(seen.errors.map((e) => e.code)).toEqual(["SG_CLIENT_BAD_RESPONSE"]));
  });

  it("fails every operation with BAD_RESPONSE when the router sends garbage, and keeps running", async () => {
    const d = await setup();
    d.onMessage = (conn, frame) => {
      defaultReply(conn, frame);
      if (frame.type === "subscribe") conn.send("{not json");
    };
    const seen = watch(client!);
    await vi.waitFor(() => expect(seen.errors).toHaveLength(1));
    expect(seen.errors[0]!.code).toBe("SG_CLIENT_BAD_RESPONSE");
    // The client still works for the next operation.
    d.onMessage = (conn: DoubleConnection, frame) => {
      defaultReply(conn, frame);
      if (frame.type === "subscribe") conn.send(next(frame.id, 5));
    };
    const again = watch(client!);
    await vi.waitFor(() => expect(again.values).toHaveLength(1));
  });

  it("queues a mutation while disconnected and runs it on connect; never re-sends one whose outcome is unknown", async () => {
    const port = await freePort();
    client = createClient({
      url: `ws://127.0.0.1:${port}/graphql`,
      webSocketImpl: WebSocket,
      backoff: { baseMs: 50, maxMs: 100 },
      retryAttempts: Infinity,
      sseFallback: false,
    });
    const result = client.request({ query: "mutation { publish(n: 1) { success } }" });
    await new Promise((r) => setTimeout(r, 300)); // nobody listens yet
    double = await startTransportWsDouble(port);
    let mutations = 0;
    double.onMessage = (conn, frame) => {
      defaultReply(conn, frame);
      if (frame.type !== "subscribe") return;
      mutations++;
      if (mutations === 1) {
        conn.send({ id: frame.id, type: "next", payload: { data: { publish: { success: true } } } });
        conn.send({ id: frame.id, type: "complete" });
      } else conn.kill(); // the second mutation's answer never comes
    };
    await expect(result).resolves.toEqual({ data: { publish: { success: true } } });
    const lost = client.request({ query: "mutation { publish(n: 2) { success } }" });
    await expect(lost).rejects.toMatchObject({ code: "SG_CLIENT_OUTCOME_UNKNOWN" });
    await new Promise((r) => setTimeout(r, 300));
    expect(mutations).toBe(2);
  });

  it("fails a queued mutation after queueTimeout and a full queue at once", async () => {
    const dead = await startTransportWsDouble();
    const url = dead.url;
    await dead.close();
    client = createClient({
      url,
      webSocketImpl: WebSocket,
      backoff: { baseMs: 50, maxMs: 50 },
      retryAttempts: Infinity,
      sseFallback: false,
      queueLimit: 1,
      queueTimeout: 200,
    });
    const first = client.request({ query: "mutation { a }" });
    const second = client.request({ query: "mutation { b }" });
    await expect(second).rejects.toMatchObject({ code: "SG_CLIENT_QUEUE_TIMEOUT" });
    await expect(first).rejects.toMatchObject({ code: "SG_CLIENT_QUEUE_TIMEOUT" });
  });
});
