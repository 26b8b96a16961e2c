import { describe, expect, it } from "vitest";
import type { OperationRequest, OperationSink, RunningOperation } from "../../../src/engine/types.js";
import { anonymous } from "../../../src/engine/types.js";
import { LegacyWsSession } from "../../../src/session/legacy-ws.js";
import type { SessionSocket, Timers } from "../../../src/session/socket.js";

class FakeSocket implements SessionSocket {
  sent: unknown[] = [];
  closedWith: { code: number; reason: string } | undefined;
  sendSpliced(prefix: string, body: string, suffix: string): void {
    this.send(prefix + body + suffix);
  }
  send(frame: string): void {
    this.sent.push(JSON.parse(frame));
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
  }
}

class FakeTimers implements Timers {
  timeouts = new Map<number, () => void>();
  intervals = new Map<number, () => void>();
  private n = 1;
  setTimeout(fn: () => void): unknown {
    this.timeouts.set(this.n, fn);
    return this.n++;
  }
  clearTimeout(h: unknown): void {
    this.timeouts.delete(h as number);
  }
  setInterval(fn: () => void): unknown {
    this.intervals.set(this.n, fn);
    return this.n++;
  }
  clearInterval(h: unknown): void {
    this.intervals.delete(h as number);
  }
}

class FakeEngine {
  ops: { req: OperationRequest; sink: OperationSink; cancelled: boolean }[] = [];
  execute(req: OperationRequest, sink: OperationSink): RunningOperation {
    const op = { req, sink, cancelled: false };
    this.ops.push(op);
    return {
      cancel: () => {
        op.cancelled = true;
      },
    };
  }
}

function setup() {
  const socket = new FakeSocket();
  const engine = new FakeEngine();
  const timers = new FakeTimers();
  const session = new LegacyWsSession(
    socket,
    { engine, limits: { connectionInitTimeoutMs: 1000, maxSubscriptions: 2 }, timers, keepAliveMs: 5000 },
    anonymous(),
  );
  const send = (m: unknown) => session.onMessage(typeof m === "string" ? m : JSON.stringify(m));
  return { socket, engine, timers, session, send };
}

const START = (id: string) => ({ id, type: "start", payload: { query: "subscription { a }" } });

describe("legacy graphql-ws session", () => {
  it("acks, sends ka at once and every interval", () => {
    const t = setup();
    t.send({ type: "connection_init", payload: {} });
    expect(t.socket.sent).toEqual([{ type: "connection_ack" }, { type: "ka" }]);
    expect(t.timers.intervals.size).toBe(1);
    for (const fn of t.timers.intervals.values()) fn();
    expect(t.socket.sent.at(-1)).toEqual({ type: "ka" });
  });

  it("streams data frames spliced behind the id, and error/complete", () => {
    const t = setup();
    t.send({ type: "connection_init" });
    t.send(START("1"));
    t.engine.ops[0]!.sink.next('{"data":{"a":1}}');
    expect(t.socket.sent.at(-1)).toEqual({ id: "1", type: "data", payload: { data: { a: 1 } } });
    t.engine.ops[0]!.sink.complete();
    expect(t.socket.sent.at(-1)).toEqual({ id: "1", type: "complete" });
  });

  it("stop cancels the operation", () => {
    const t = setup();
    t.send({ type: "connection_init" });
    t.send(START("1"));
    t.send({ id: "1", type: "stop" });
    expect(t.engine.ops[0]!.cancelled).toBe(true);
    expect(t.session.operationCount).toBe(0);
  });

  it("replaces an operation started again under the same id", () => {
    const t = setup();
    t.send({ type: "connection_init" });
    t.send(START("1"));
    t.send(START("1"));
    expect(t.engine.ops[0]!.cancelled).toBe(true);
    expect(t.engine.ops).toHaveLength(2);
    expect(t.socket.closedWith).toBeUndefined();
  });

  it("closes 4401 on start before init, 4400 on bad frames, 4408 on init timeout", () => {
    const a = setup();
    a.send(START("1"));
    expect(a.socket.closedWith?.code).toBe(4401);
    const b = setup();
    b.send("{bad");
    expect(b.socket.closedWith?.code).toBe(4400);
    const c = setup();
    for (const fn of c.timers.timeouts.values()) fn();
    expect(c.socket.closedWith?.code).toBe(4408);
  });

  it("connection_terminate closes and stops keep-alives and operations", () => {
    const t = setup();
    t.send({ type: "connection_init" });
    t.send(START("1"));
    t.send({ type: "connection_terminate" });
    expect(t.socket.closedWith?.code).toBe(1000);
    expect(t.timers.intervals.size).toBe(0);
    expect(t.engine.ops[0]!.cancelled).toBe(true);
  });

  it("refuses past the per-connection limit with an error frame", () => {
    const t = setup();
    t.send({ type: "connection_init" });
    for (const id of ["1", "2", "3"]) t.send(START(id));
    expect(t.engine.ops).toHaveLength(2);
    expect(t.socket.sent.at(-1)).toMatchObject({ id: "3", type: "error" });
  });
});
