import { describe, expect, it } from "vitest";
import {
  anonymous,
  type OperationRequest,
  type OperationSink,
  type RunningOperation,
} from "../../../src/engine/types.js";
import type { SessionDeps, SessionSocket, Timers } from "../../../src/session/socket.js";
import { TransportWsSession } from "../../../src/session/transport-ws.js";

class FakeSocket implements SessionSocket {
  sent: unknown[] = [];
  /** Every frame exactly as the session produced it, before any parsing. */
  raw: string[] = [];
  /** The (prefix, body, suffix) of each spliced send. */
  spliced: [string, string, string][] = [];
  closedWith: { code: number; reason: string } | undefined;
  sendSpliced(prefix: string, body: string, suffix: string): void {
    this.spliced.push([prefix, body, suffix]);
    this.send(prefix + body + suffix);
  }
  send(frame: string): void {
    if (this.closedWith) throw new Error("send after close");
    this.raw.push(frame);
    this.sent.push(JSON.parse(frame));
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
  }
}

class FakeTimers implements Timers {
  pending = new Map<number, () => void>();
  private next = 1;
  setTimeout(fn: () => void): unknown {
    const id = this.next++;
    this.pending.set(id, fn);
    return id;
  }
  setInterval(): unknown {
    throw new Error("graphql-transport-ws sessions set no interval");
  }
  clearInterval(): void {}
  clearTimeout(h: unknown): void {
    this.pending.delete(h as number);
  }
  fireAll(): void {
    for (const [id, fn] of [...this.pending]) {
      this.pending.delete(id);
      fn();
    }
  }
}

/** An engine that records operations and lets the test drive their sinks. */
class FakeEngine {
  ops: { req: OperationRequest; sink: OperationSink; cancelled: boolean }[] = [];
  mode: "hold" | "error" | "query" = "hold";
  execute(req: OperationRequest, sink: OperationSink): RunningOperation {
    const op = { req, sink, cancelled: false };
    this.ops.push(op);
    if (this.mode === "error") sink.error([{ message: "bad" }]);
    if (this.mode === "query") {
      sink.next('{"data":{"x":1}}');
      sink.complete();
    }
    return {
      cancel: () => {
        op.cancelled = true;
      },
    };
  }
}

function setup(extra: Partial<SessionDeps> = {}) {
  const socket = new FakeSocket();
  const engine = new FakeEngine();
  const timers = new FakeTimers();
  const refused: string[] = [];
  const limits = {
    connectionInitTimeoutMs: 1000,
    maxSubscriptions: 3,
    refused: (l: string) => refused.push(l),
  };
  const session = new TransportWsSession(
    socket,
    { engine, limits, timers, keepAliveMs: 5000, ...extra },
    anonymous(),
  );
  const send = (msg: unknown) => session.onMessage(typeof msg === "string" ? msg : JSON.stringify(msg));
  const init = () => send({ type: "connection_init", payload: { Authorization: "x" } });
  const subscribe = (id: string) => send({ id, type: "subscribe", payload: { query: "subscription { a }" } });
  return { socket, engine, timers, session, send, init, subscribe, refused };
}

describe("graphql-transport-ws session", () => {
  it("acknowledges connection_init and drops the payload when nothing reads it", () => {
    const t = setup();
    t.init();
    expect(t.socket.sent).toEqual([{ type: "connection_ack" }]);
    expect(t.session.ctx.connectionParams).toBeNull();
    expect(t.timers.pending.size).toBe(0);
  });

  it("keeps the payload as connection params when stream hooks read them", () => {
    const t = setup({ keepConnectionParams: true });
    t.init();
    expect(t.socket.sent).toEqual([{ type: "connection_ack" }]);
    expect(t.session.ctx.connectionParams).toEqual({ Authorization: "x" });
  });

  it("closes 4408 when connection_init does not arrive in time", () => {
    const t = setup();
    t.timers.fireAll();
    expect(t.socket.closedWith).toEqual({ code: 4408, reason: "Connection initialisation timeout" });
  });

  it("closes 4429 on a second connection_init", () => {
    const t = setup();
    t.init();
    t.init();
    expect(t.socket.closedWith?.code).toBe(4429);
  });

  it("closes 4401 on subscribe before connection_ack", () => {
    const t = setup();
    t.subscribe("1");
    expect(t.socket.closedWith?.code).toBe(4401);
    expect(t.engine.ops).toHaveLength(0);
  });

  it("closes 4400 on malformed frames and unknown types", () => {
    for (const bad of [
      "not json",
      "[]",
      '{"type":"nope"}',
      '{"type":"subscribe","id":"1"}',
      '{"type":"next","id":"1","payload":{}}',
    ]) {
      const t = setup();
      t.init();
      t.send(bad);
      expect(t.socket.closedWith?.code, bad).toBe(4400);
    }
  });

  it("answers ping with pong carrying the payload, ignores pong", () => {
    const t = setup();
    t.send({ type: "ping", payload: { n: 1 } });
    t.send({ type: "pong" });
    expect(t.socket.sent).toEqual([{ type: "pong", payload: { n: 1 } }]);
    expect(t.socket.closedWith).toBeUndefined();
  });

  it("splices each next payload behind the id without re-serializing", () => {
    const t = setup();
    t.init();
    t.subscribe('a"b');
    // Valid JSON no serializer would produce (spaces, an escaped "A"): it survives only if the
    // session never parses and re-stringifies the payload.
    const payload = '{ "data" : {"v":1, "s":"\\u0041"} }';
    t.engine.ops[0]!.sink.next(payload);
    expect(t.socket.spliced.at(-1)?.[1]).toBe(payload);
    expect(t.socket.raw.at(-1)).toBe(`{"id":"a\\"b","type":"next","payload":${payload}}`);
    expect(t.socket.sent.at(-1)).toEqual({ id: 'a"b', type: "next", payload: { data: { v: 1, s: "A" } } });
  });

  it("closes 4409 on a duplicate operation id and cancels everything", () => {
    const t = setup();
    t.init();
    t.subscribe("1");
    t.subscribe("1");
    expect(t.socket.closedWith).toEqual({ code: 4409, reason: "Subscriber for 1 already exists" });
    expect(t.engine.ops[0]!.cancelled).toBe(true);
  });

  it("reuses an id after the operation completed", () => {
    const t = setup();
    t.init();
    t.subscribe("1");
    t.send({ id: "1", type: "complete" });
    expect(t.engine.ops[0]!.cancelled).toBe(true);
    t.subscribe("1");
    expect(t.socket.closedWith).toBeUndefined();
    expect(t.engine.ops).toHaveLength(2);
  });

  it("sends error and frees the id when the operation cannot start", () => {
    const t = setup();
    t.init();
    t.engine.mode = "error";
    t.subscribe("1");
    expect(t.socket.sent.at(-1)).toEqual({ id: "1", type: "error", payload: [{ message: "bad" }] });
    expect(t.session.operationCount).toBe(0);
    t.subscribe("1");
    expect(t.socket.closedWith).toBeUndefined();
  });

  it("runs a query to next + complete and frees the id", () => {
    const t = setup();
    t.init();
    t.engine.mode = "query";
    t.subscribe("q");
    expect(t.socket.sent.slice(1)).toEqual([
      { id: "q", type: "next", payload: { data: { x: 1 } } },
      { id: "q", type: "complete" },
    ]);
    expect(t.session.operationCount).toBe(0);
  });

  it("sends nothing for an operation the client completed", () => {
    const t = setup();
    t.init();
    t.subscribe("1");
    const sink = t.engine.ops[0]!.sink;
    t.send({ id: "1", type: "complete" });
    sink.complete();
    sink.error([{ message: "late" }]);
    expect(t.socket.sent).toEqual([{ type: "connection_ack" }]);
  });

  it("refuses operations past the per-connection limit without closing", () => {
    const t = setup();
    t.init();
    for (const id of ["1", "2", "3", "4"]) t.subscribe(id);
    expect(t.engine.ops).toHaveLength(3);
    expect(t.socket.sent.at(-1)).toEqual({
      id: "4",
      type: "error",
      payload: [
        {
          message: "too many operations on this connection (limit 3)",
          extensions: { code: "SG_ERR_LIMIT_EXCEEDED", limit: "max_subscriptions_per_connection" },
        },
      ],
    });
    expect(t.socket.closedWith).toBeUndefined();
    expect(t.refused).toEqual(["max_subscriptions_per_connection"]);
  });

  it("counts an init timeout as a refusal", () => {
    const t = setup();
    t.timers.fireAll();
    expect(t.socket.closedWith?.code).toBe(4408);
    expect(t.refused).toEqual(["connection_init_timeout"]);
  });

  it("closes 4400 on an operation id longer than 128 characters; 128 is accepted", () => {
    const t = setup();
    t.init();
    t.subscribe("x".repeat(128));
    expect(t.engine.ops).toHaveLength(1);
    t.subscribe("y".repeat(10_000));
    expect(t.engine.ops).toHaveLength(1);
    expect(t.socket.closedWith).toEqual({
      code: 4400,
      reason: `"subscribe" 'id' is longer than 128 characters`,
    });
  });

  it("accepts a binary frame carrying a valid subscribe, as graphql-ws servers do", () => {
    const t = setup();
    t.init();
    const frame = new TextEncoder().encode(
      JSON.stringify({ id: "b", type: "subscribe", payload: { query: "subscription { a }" } }),
    );
    t.session.onMessage(frame.buffer);
    expect(t.engine.ops).toHaveLength(1);
    t.session.onMessage(new Uint8Array([0x7b, 0xff, 0x7d]));
    expect(t.socket.closedWith).toEqual({ code: 4400, reason: "Message is not valid UTF-8" });
  });

  it("cancels every operation when the socket closes and then ignores input", () => {
    const t = setup();
    t.init();
    t.subscribe("1");
    t.subscribe("2");
    t.session.onClosed();
    expect(t.engine.ops.every((o) => o.cancelled)).toBe(true);
    t.subscribe("3");
    expect(t.engine.ops).toHaveLength(2);
    t.engine.ops[0]!.sink.next("{}");
    expect(t.socket.sent).toHaveLength(1);
  });

  it("goAway completes each operation, then closes 1001", () => {
    const t = setup();
    t.init();
    t.subscribe("1");
    t.session.goAway();
    expect(t.socket.sent.at(-1)).toEqual({ id: "1", type: "complete" });
    expect(t.socket.closedWith?.code).toBe(1001);
    expect(t.engine.ops[0]!.cancelled).toBe(true);
  });
});

describe("graphql-transport-ws session: tokens", () => {
  /** A SessionSecurity whose verification the test settles by hand. */
  function securedSetup(required = false) {
    const socket = new FakeSocket();
    const engine = new FakeEngine();
    const timers = new FakeTimers();
    const pending: {
      resolve: (a: { claims: Record<string, unknown> }) => void;
      reject: (e: Error) => void;
    }[] = [];
    let expire: (() => void) | undefined;
    const security = {
      required,
      fromPayload: (p: Readonly<Record<string, unknown>> | null | undefined) =>
        p?.Authorization
          ? new Promise<{ claims: Record<string, unknown> }>((resolve, reject) =>
              pending.push({ resolve, reject }),
            )
          : null,
      missing: () => new Error("authentication required"),
      watchExpiry: (_ctx: unknown, fn: () => void) => {
        expire = fn;
        return () => {
          expire = undefined;
        };
      },
      replaces: () => undefined,
    };
    const session = new TransportWsSession(
      socket,
      {
        engine,
        limits: { connectionInitTimeoutMs: 1000, maxSubscriptions: 3 },
        timers,
        keepAliveMs: 5000,
        security,
      },
      anonymous(),
    );
    const send = (msg: unknown) => session.onMessage(JSON.stringify(msg));
    return { socket, engine, session, send, pending, expire: () => expire?.() };
  }

  it("acks only once the payload token verified, with its claims on the connection", async () => {
    const t = securedSetup();
    t.send({ type: "connection_init", payload: { Authorization: "Bearer x" } });
    expect(t.socket.sent).toEqual([]);
    t.pending[0]!.resolve({ claims: { sub: "a" } });
    await Promise.resolve();
    expect(t.socket.sent).toEqual([{ type: "connection_ack" }]);
    expect(t.session.ctx.auth?.claims.sub).toBe("a");
  });

  it("closes 4401 for a subscribe sent while the token is being verified, and 4429 for a second init", () => {
    const a = securedSetup();
    a.send({ type: "connection_init", payload: { Authorization: "Bearer x" } });
    a.send({ id: "1", type: "subscribe", payload: { query: "subscription { a }" } });
    expect(a.socket.closedWith?.code).toBe(4401);
    expect(a.engine.ops).toHaveLength(0);
    const b = securedSetup();
    b.send({ type: "connection_init", payload: { Authorization: "Bearer x" } });
    b.send({ type: "connection_init", payload: {} });
    expect(b.socket.closedWith?.code).toBe(4429);
  });

  it("closes 4401 with the refusal's reason, and when a token is required but none came", async () => {
    const a = securedSetup();
    a.send({ type: "connection_init", payload: { Authorization: "Bearer x" } });
    a.pending[0]!.reject(new Error("internal detail"));
    await Promise.resolve();
    await Promise.resolve();
    // Only public messages reach the client: a plain Error's text is replaced.
    expect(a.socket.closedWith).toEqual({ code: 4401, reason: "Unauthorized: invalid token" });
    const b = securedSetup(true);
    b.send({ type: "connection_init", payload: {} });
    expect(b.socket.closedWith?.code).toBe(4401);
  });

  it("ends every operation with TOKEN_EXPIRED and closes 4403 when the token expires", async () => {
    const t = securedSetup();
    t.send({ type: "connection_init", payload: { Authorization: "Bearer x" } });
    t.pending[0]!.resolve({ claims: { sub: "a" } });
    await Promise.resolve();
    t.send({ id: "1", type: "subscribe", payload: { query: "subscription { a }" } });
    t.send({ id: "2", type: "subscribe", payload: { query: "subscription { b }" } });
    t.expire();
    const errors = t.socket.sent.filter((f) => (f as { type: string }).type === "error") as {
      id: string;
      payload: { extensions: { code: string } }[];
    }[];
    expect(errors.map((e) => [e.id, e.payload[0]!.extensions.code])).toEqual([
      ["1", "SG_ERR_TOKEN_EXPIRED"],
      ["2", "SG_ERR_TOKEN_EXPIRED"],
    ]);
    expect(t.socket.closedWith?.code).toBe(4403);
    expect(t.engine.ops.every((o) => o.cancelled)).toBe(true);
  });
});
