/**
 * Hostile input against the built router on a real nats-server, as an unauthenticated stranger
 * would send it (issue 9). Every case checks its own refusal, then the invariant: the process
 * lives, /health/live answers fast, and a well-behaved subscriber on another connection still
 * receives its events.
 */
import { connect as tcp, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { postGraphql, type RawSocket, rawSocket } from "../helpers/clients.js";
import { type HostileRig, metric, startHostileRig, stillServing, WellBehaved } from "../helpers/hostile.js";

let rig: HostileRig;
let wb: WellBehaved;

beforeAll(async () => {
  rig = await startHostileRig("  body_read_timeout: 1s\n  connection_init_timeout: 2s\n");
  wb = new WellBehaved(rig);
  await wb.receives();
});

afterAll(async () => {
  await wb?.dispose();
  expect(await rig?.stop()).toBe(0);
});

const refusals = (limit: string) => metric(rig.router, "streamgate_limit_refusals_total", `limit="${limit}"`);

async function acked(): Promise<RawSocket> {
  const s = await rawSocket(`${rig.router.ws}/graphql`);
  s.send({ type: "connection_init" });
  await until(() => s.frames.some((f) => f.type === "connection_ack"));
  return s;
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Writes `parts` to a raw TCP connection; resolves with what came back once it closed (or `ms` passed). */
function rawHttp(parts: readonly string[], ms = 4000, gapMs = 0): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s: Socket = tcp(rig.router.port, "127.0.0.1");
    let text = "";
    s.on("data", (d) => {
      text += d.toString("latin1");
    });
    s.on("error", () => {});
    s.on("connect", async () => {
      for (const p of parts) {
        if (s.destroyed) break;
        s.write(p);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ text, closed: false });
    }, ms);
    s.on("close", () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
  });
}

describe("topics per subscription (finding 2)", () => {
  it("refuses a 50,000-id list fast, subscribes nothing, three times on one socket", async () => {
    const ids = Array.from({ length: 50_000 }, (_, i) => `e${i}`);
    const before = await metric(rig.router, "streamgate_broker_subscriptions");
    const refusedBefore = await refusals("max_topics_per_subscription");
    const s = await acked();
    for (const id of ["1", "2", "3"]) {
      const t0 = performance.now();
      s.send({
        id,
        type: "subscribe",
        payload: {
          query: "subscription($ids: [ID!]!) { employeesUpdated(ids: $ids) { id } }",
          variables: { ids },
        },
      });
      await until(() => s.frames.some((f) => f.id === id));
      expect(performance.now() - t0).toBeLessThan(1000);
      const frame = s.frames.find((f) => f.id === id) as { type: string; payload: { extensions: unknown }[] };
      expect(frame.type).toBe("error");
      expect(frame.payload[0]!.extensions).toEqual({
        code: "SG_ERR_LIMIT_EXCEEDED",
        limit: "max_topics_per_subscription",
      });
    }
    expect(s.closed).toBeUndefined();
    expect(await metric(rig.router, "streamgate_broker_subscriptions")).toBe(before);
    expect(await refusals("max_topics_per_subscription")).toBe(refusedBefore + 3);
    s.ws.close();
    await stillServing(rig, wb);
  });

  it("refuses a product of two lists (1,000 × 1,000) before building it", async () => {
    const a = Array.from({ length: 1000 }, (_, i) => `a${i}`);
    const t0 = performance.now();
    const res = await postGraphql(
      rig.router.http,
      {
        query: "subscription($a: [ID!]!, $b: [ID!]!) { pairs(a: $a, b: $b) { id } }",
        variables: { a, b: a },
      },
      { accept: "text/event-stream" },
    );
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain("max_topics_per_subscription");
    await stillServing(rig, wb);
  });
});

describe("operation shape", () => {
  it.each([
    ["max_operation_depth", `{ ${"employeeFromEvent(id: 1) { ".repeat(1)}${"id ".repeat(1)}} }`, false],
    [
      "max_operation_depth",
      `{ __schema { ${"types { fields { type { ".repeat(11)}name${" } } }".repeat(11)} } }`,
      true,
    ],
    [
      "max_operation_aliases",
      `{ __schema { ${Array.from({ length: 101 }, (_, i) => `a${i}: description`).join(" ")} } }`,
      true,
    ],
    ["max_operation_root_fields", `{ ${"__typename ".repeat(11)}}`, true],
  ])("%s: refused with its code and counted (%#)", async (limit, query, refused) => {
    const before = await refusals(limit);
    const res = await postGraphql(rig.router.http, { query });
    const text = JSON.stringify(res.body);
    if (refused) {
      expect(res.status).toBe(400);
      expect(text).toContain('"code":"SG_ERR_LIMIT_EXCEEDED"');
      expect(text).toContain(`"limit":"${limit}"`);
      expect(await refusals(limit)).toBe(before + 1);
    } else {
      expect(text).not.toContain("SG_ERR_LIMIT_EXCEEDED");
      expect(await refusals(limit)).toBe(before);
    }
    await stillServing(rig, wb);
  });
});

describe("broker events (finding 5)", () => {
  it("refuses an unknown __typename like any invalid event, and counts every skip by reason", async () => {
    const client = new WellBehaved(rig, "victim");
    await client.receives();
    const sub = await acked();
    sub.send({
      id: "v",
      type: "subscribe",
      payload: { query: 'subscription { employeeUpdated(id: "victim") { __typename id } }' },
    });
    await new Promise((r) => setTimeout(r, 200));
    const skipped = (reason: string) =>
      metric(rig.router, "streamgate_events_skipped_total", `reason="${reason}"`);
    const before = await skipped("unknown_typename");
    const enc = new TextEncoder();
    for (const body of [
      { __typename: "NoSuchType", id: "victim" },
      { __typename: "Query", id: "victim" },
    ]) {
      rig.nc.publish("employeeUpdated.victim", enc.encode(JSON.stringify(body)));
    }
    rig.nc.publish("employeeUpdated.victim", enc.encode("not json"));
    await until(() => sub.frames.filter((f) => f.id === "v").length >= 3);
    const payloads = sub.frames.filter((f) => f.id === "v").map((f) => JSON.stringify(f.payload));
    expect(payloads[0]).toContain("SG_ERR_EVENT_INVALID");
    expect(payloads[0]).toContain('\\"NoSuchType\\" is not a type this field returns');
    expect(payloads[1]).toContain('\\"Query\\"');
    expect(payloads[2]).toContain("not valid UTF-8 JSON");
    // Two groups saw them (the raw socket's and the well-behaved "victim" client's).
    expect(await skipped("unknown_typename")).toBe(before + 4);
    expect(await skipped("undecodable")).toBeGreaterThanOrEqual(2);
    sub.ws.close();
    await client.dispose();
    await stillServing(rig, wb);
  });
});

describe("WebSocket frames (finding 7)", () => {
  it("invalid UTF-8 in a text frame: uWS drops the connection itself (1006), nothing else notices", async () => {
    const s = await acked();
    // ws sends a Buffer as given; `binary: false` makes it a text frame without validation.
    s.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    await until(() => s.closed !== undefined);
    expect(s.closed?.code).toBe(1006);
    await stillServing(rig, wb);
  });

  it("a 5 MB frame (above 4 × max_message_size): cut at the socket (1006)", async () => {
    const s = await acked();
    s.ws.send("x".repeat(5 * 1024 * 1024));
    await until(() => s.closed !== undefined, 10_000);
    expect(s.closed?.code).toBe(1006);
    await stillServing(rig, wb);
  });

  it("a 2 MB frame (above max_message_size, below 4×): closed 1009 with a reason, counted", async () => {
    const before = await refusals("max_message_size");
    const s = await acked();
    s.ws.send("x".repeat(2 * 1024 * 1024));
    await until(() => s.closed !== undefined, 10_000);
    expect(s.closed).toEqual({ code: 1009, reason: "message larger than 1048576 bytes" });
    expect(await refusals("max_message_size")).toBe(before + 1);
    await stillServing(rig, wb);
  });

  it("a binary frame carrying a valid subscribe is served like a text frame", async () => {
    const s = await acked();
    const frame = { id: "bin", type: "subscribe", payload: { query: "{ __typename }" } };
    s.ws.send(Buffer.from(JSON.stringify(frame)), { binary: true });
    await until(() => s.frames.some((f) => f.id === "bin" && f.type === "complete"));
    expect(s.frames.find((f) => f.id === "bin" && f.type === "next")?.payload).toEqual({
      data: { __typename: "Query" },
    });
    s.ws.close();
    await stillServing(rig, wb);
  });

  it("a 10 KB subscription id closes 4400", async () => {
    const s = await acked();
    s.send({ id: "i".repeat(10_240), type: "subscribe", payload: { query: "{ __typename }" } });
    await until(() => s.closed !== undefined);
    expect(s.closed).toEqual({ code: 4400, reason: `"subscribe" 'id' is longer than 128 characters` });
    await stillServing(rig, wb);
  });

  it("no connection_init within connection_init_timeout closes 4408, counted", async () => {
    const before = await refusals("connection_init_timeout");
    const s = await rawSocket(`${rig.router.ws}/graphql`);
    await until(() => s.closed !== undefined, 5000);
    expect(s.closed?.code).toBe(4408);
    expect(await refusals("connection_init_timeout")).toBe(before + 1);
    await stillServing(rig, wb);
  });

  it("floods of garbage frames end only the flooding socket", async () => {
    const s = await acked();
    for (let i = 0; i < 200; i++) s.ws.send(i % 2 ? "{" : Buffer.from([i, 0, 255]), { binary: i % 3 === 0 });
    await until(() => s.closed !== undefined);
    expect(s.closed?.code).toBe(4400);
    await stillServing(rig, wb);
  });
});

describe("HTTP heads and bodies (findings 3, 4)", () => {
  it("a URL over 4 KiB that reaches the router gets 414, counted", async () => {
    const before = await refusals("max_url_length");
    const { text } = await rawHttp([`GET /graphql?query=${"a".repeat(5000)} HTTP/1.1\r\nHost: x\r\n\r\n`]);
    expect(text).toMatch(/^HTTP\/1\.1 414 /);
    expect(text).toContain("SG_ERR_LIMIT_EXCEEDED");
    expect(await refusals("max_url_length")).toBe(before + 1);
    await stillServing(rig, wb);
  });

  it("headers over 4 KiB that reach the router get 431, counted (the WebSocket upgrade too)", async () => {
    const before = await refusals("max_header_size");
    const big = `X-Big: ${"b".repeat(5000)}\r\n`;
    const get = await rawHttp([`GET /graphql?query={__typename} HTTP/1.1\r\nHost: x\r\n${big}\r\n`]);
    expect(get.text).toMatch(/^HTTP\/1\.1 431 /);
    const upgrade = await rawHttp([
      "GET /graphql HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${big}\r\n`,
    ]);
    expect(upgrade.text).toMatch(/^HTTP\/1\.1 431 /);
    expect(await refusals("max_header_size")).toBe(before + 2);
    await stillServing(rig, wb);
  });

  it("a head over 4 KiB split over two reads: uWS drops it without a status (documented)", async () => {
    const r = await rawHttp(
      [`GET /graphql?query=${"a".repeat(3000)}`, `${"a".repeat(3000)} HTTP/1.1\r\nHost: x\r\n\r\n`],
      4000,
      100,
    );
    expect(r.closed).toBe(true);
    expect(r.text).toBe("");
    await stillServing(rig, wb);
  });

  it("a body slower than body_read_timeout gets 408 and the connection closes, counted", async () => {
    const before = await refusals("body_read_timeout");
    const t0 = performance.now();
    const r = await rawHttp(
      [
        "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
        '"',
      ],
      5000,
      300,
    );
    expect(r.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(r.closed).toBe(true);
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(await refusals("body_read_timeout")).toBe(before + 1);
    await stillServing(rig, wb);
  });

  it("a body over max_message_size gets 413 and the connection closes, counted", async () => {
    const before = await refusals("max_message_size");
    const res = await fetch(`${rig.router.http}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }", pad: "p".repeat(2 * 1024 * 1024) }),
    }).catch((err: unknown) => err);
    // The router answers before reading the rest; fetch may see the answer or the reset.
    if (res instanceof Response) expect(res.status).toBe(413);
    expect(await refusals("max_message_size")).toBe(before + 1);
    await stillServing(rig, wb);
  });

  it("slow headers (slowloris): uWS closes each such socket after about 10 s", async () => {
    const t0 = performance.now();
    const sockets = Array.from({ length: 20 }, () =>
      rawHttp(
        [
          "GET /graphql HTTP/1.1\r\n",
          ..."X-Slow: 1\r\n"
            .repeat(8)
            .split("\r\n")
            .map((l) => `${l}\r\n`),
        ],
        16_000,
        1500,
      ),
    );
    await stillServing(rig, wb);
    const results = await Promise.all(sockets);
    expect(results.every((r) => r.closed && r.text === "")).toBe(true);
    expect(performance.now() - t0).toBeLessThan(15_000);
    await stillServing(rig, wb);
  }, 30_000);

  it("request lines that are not HTTP end only their own connection", async () => {
    const junk = [
      "\x00\x01\x02\r\n\r\n",
      "GET\r\n\r\n",
      "HELLO / SPDY/9\r\n\r\n",
      `${"A".repeat(1000)}\r\n\r\n`,
    ];
    const results = await Promise.all(junk.map((j) => rawHttp([j], 3000)));
    for (const r of results) expect(r.text.startsWith("HTTP/1.1 2")).toBe(false);
    await stillServing(rig, wb);
  });
});

describe("WebSocket upgrade", () => {
  it("an unknown subprotocol is refused at upgrade; the well-behaved client is untouched", async () => {
    const ws = new WebSocket(`${rig.router.ws}/graphql`, "not-graphql");
    const status = await new Promise<number>((resolve) => {
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("error", () => resolve(-1));
    });
    expect(status).toBe(400);
    await stillServing(rig, wb);
  });
});
