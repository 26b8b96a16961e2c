/** Pure parts of the client: backoff (with fake timers), JWT expiry, operation kinds, error codes. */
import { readFileSync } from "node:fs";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { parse } from "graphql";
import { afterEach, describe, expect, expectTypeOf, it, vi } from "vitest";
import { backoffDelay } from "../../../src/client/backoff.js";
import { decideOnClose, isGoingAway } from "../../../src/client/close-codes.js";
import { documentText, operationKindOfText } from "../../../src/client/document.js";
import { ClientErrorCode, operationError } from "../../../src/client/errors.js";
import { ClientErrorCode as Exported, createClient, type WebSocketLike } from "../../../src/client/index.js";
import { refreshDelay, tokenExpiry } from "../../../src/client/token.js";

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("backoff", () => {
  it("is uniform in [0, min(max, base·2^attempt)] (full jitter)", () => {
    const o = { baseMs: 100, maxMs: 1000 };
    expect(backoffDelay(0, o, () => 0.999)).toBe(99);
    expect(backoffDelay(3, o, () => 0.5)).toBe(400);
    expect(backoffDelay(10, o, () => 0.5)).toBe(500); // capped window
    expect(backoffDelay(5000, o, () => 0.5)).toBe(500); // no overflow
    expect(backoffDelay(2, o, () => 0)).toBe(0);
  });

  /** TEST DOUBLE of a WebSocket that never connects: every attempt closes 1006 at once. */
  class RefusedSocket implements WebSocketLike {
    static readonly opened: number[] = [];
    readyState = 0;
    protocol = "";
    onopen = null;
    onclose: WebSocketLike["onclose"] = null;
    onerror: WebSocketLike["onerror"] = null;
    onmessage = null;
    constructor() {
      RefusedSocket.opened.push(Date.now());
      setTimeout(() => {
        this.readyState = 3;
        this.onerror?.({});
        this.onclose?.({ code: 1006, reason: "" });
      }, 0);
    }
    send(): void {}
    close(): void {}
  }

  it("waits the jittered delays between attempts and fails after retryAttempts", async () => {
    vi.useFakeTimers({ now: 0 });
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const delays: number[] = [];
    const client = createClient({
      url: "ws://127.0.0.1:1/graphql",
      webSocketImpl: RefusedSocket,
      retryAttempts: 4,
      backoff: { baseMs: 1000, maxMs: 5000 },
      sseFallback: false,
      on: { reconnecting: (e) => delays.push(e.delayMs) },
    });
    const errors: unknown[] = [];
    client.subscribe(
      { query: "subscription { a }" },
      { next() {}, error: (e) => errors.push(e), complete() {} },
    );
    await vi.runAllTimersAsync();
    // 0.5 × 1000, 2000, 4000, 5000 (capped)
    expect(delays).toEqual([500, 1000, 2000, 2500]);
    expect(RefusedSocket.opened).toEqual([0, 500, 1500, 3500, 6000]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: "SG_CLIENT_CONNECTION_FAILED" });
    await client.dispose();
  });
});

describe("token expiry", () => {
  const jwt = (payload: object) => `x.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.y`;
  it("reads exp from a JWT and nothing from other strings", () => {
    expect(tokenExpiry(jwt({ exp: 1700000000 }))).toBe(1700000000_000);
    expect(tokenExpiry(jwt({ sub: "u" }))).toBeUndefined();
    expect(tokenExpiry("opaque-token")).toBeUndefined();
    expect(tokenExpiry("a.%%%.b")).toBeUndefined();
  });
  it("refreshes ahead of exp, at most a quarter of the time left before it", () => {
    expect(refreshDelay(100_000, 0, 30_000)).toBe(75_000);
    expect(refreshDelay(1_000_000, 0, 30_000)).toBe(970_000);
    expect(refreshDelay(4_000, 0, 30_000)).toBe(3_000);
    expect(refreshDelay(10, 20, 30_000)).toBeUndefined();
    expect(refreshDelay(undefined, 0, 30_000)).toBeUndefined();
  });
});

describe("operation kind", () => {
  it.each([
    ["subscription { a }", undefined, "subscription"],
    ["{ a }", undefined, "query"],
    ["mutation M { a }", undefined, "mutation"],
    ["query A { a } subscription B { b }", "B", "subscription"],
    ["fragment F on T { x } mutation { a }", undefined, "mutation"],
    ['# subscription\n query { a(s: "mutation") }', undefined, "query"],
    ['"""mutation""" subscription S { a }', undefined, "subscription"],
  ])("%s (%s) is a %s", (text, name, kind) => {
    expect(operationKindOfText(text, name)).toBe(kind);
  });
});

describe("client error codes", () => {
  const doc = readFileSync(new URL("../../../docs/errors.md", import.meta.url), "utf8");
  it.each(Object.values(ClientErrorCode))("%s is documented in docs/errors.md", (code) => {
    expect(doc).toContain(`\`${code}\``);
  });
  it("documents no client code that does not exist", () => {
    const documented = [...doc.matchAll(/`(SG_CLIENT_[A-Z_]+)`/g)].map((m) => m[1]);
    expect(documented.filter((c) => !(Object.values(ClientErrorCode) as string[]).includes(c!))).toEqual([]);
  });
  it("exports the registry from the entry point", () => {
    expect(Exported).toBe(ClientErrorCode);
  });
  it("maps router codes, prefixed or not, onto client codes", () => {
    const e = (code: string, extra = {}) =>
      operationError([{ message: "m", extensions: { code, ...extra } }]);
    expect(e("RATE_LIMITED", { retryAfter: 3 })).toMatchObject({
      code: ClientErrorCode.RATE_LIMITED,
      retryAfter: 3,
    });
    expect(e("SG_ERR_RATE_LIMITED")).toMatchObject({
      code: ClientErrorCode.RATE_LIMITED,
      retryAfter: undefined,
    });
    expect(e("SG_ERR_LIMIT_EXCEEDED").code).toBe(ClientErrorCode.LIMIT_EXCEEDED);
    expect(e("CURSOR_INVALID").code).toBe(ClientErrorCode.CURSOR_INVALID);
    expect(e("GRAPHQL_VALIDATION_FAILED").code).toBe(ClientErrorCode.SUBSCRIPTION_FAILED);
  });
  it("refuses a URL that is no ws/http URL", () => {
    expect(() => createClient({ url: "ftp://x" })).toThrow(/url must be/);
  });
});

describe("typed documents", () => {
  it("types results and variables from a TypedDocumentNode, and sends its text", () => {
    const doc = parse("subscription S($id: ID!) { employeeUpdated(id: $id) { id } }") as TypedDocumentNode<
      { employeeUpdated: { id: string } },
      { id: string }
    >;
    const client = createClient({ url: "ws://127.0.0.1:1/graphql", webSocketImpl: class {} });
    const iterator = client.iterate({ query: doc, variables: { id: "1" } });
    expectTypeOf(iterator.next).returns.resolves.toMatchTypeOf<
      IteratorResult<{ data?: { employeeUpdated: { id: string } } | null }>
    >();
    // @ts-expect-error: the variables are typed too
    client.iterate({ query: doc, variables: { id: 1 } });
    expect(documentText(doc)).toContain("subscription S($id: ID!)");
    void client.dispose();
  });
});

describe("close codes", () => {
  const ctx = { authRetried: false, everOpened: true, sseFallback: true };
  it.each([
    [4400, ctx, "fail"],
    [4409, ctx, "fail"],
    [4500, ctx, "fail"],
    [4401, ctx, "fresh-token"],
    [4401, { ...ctx, authRetried: true }, "unauthorized"],
    [4403, ctx, "retry"],
    [1001, ctx, "retry"],
    [1013, ctx, "retry"],
    [1006, ctx, "retry"],
    [4499, ctx, "retry"],
    [1006, { ...ctx, everOpened: false }, "probe-http"],
    [1006, { ...ctx, everOpened: false, sseFallback: false }, "retry"],
  ] as const)("close %i (%o) → %s", (code, c, decision) => {
    expect(decideOnClose(code, c)).toBe(decision);
  });
  it("treats 1001 and 1012 as going away, nothing else", () => {
    expect([1000, 1001, 1006, 1012, 1013, 4403].filter(isGoingAway)).toEqual([1001, 1012]);
  });
});
