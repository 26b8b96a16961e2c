/**
 * limits.max_connections and max_connections_per_ip against the built router: WebSockets and
 * SSE streams count alike; a refusal is an HTTP status at upgrade (503 / 429) with a GraphQL
 * error body, is counted, and no connection already open notices. 127.0.0.2 is a second client
 * address on Linux loopback.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type HostileRig, metric, startHostileRig, stillServing, WellBehaved } from "../helpers/hostile.js";

let rig: HostileRig;
let wb: WellBehaved;
const open: WebSocket[] = [];

beforeAll(async () => {
  rig = await startHostileRig("  max_connections: 6\n  max_connections_per_ip: 3\n");
  wb = new WellBehaved(rig); // from 127.0.0.1: one of its three
  await wb.receives();
});

afterAll(async () => {
  for (const ws of open) ws.terminate();
  await wb?.dispose();
  expect(await rig?.stop()).toBe(0);
});

type Outcome = { ok: true; ws: WebSocket } | { ok: false; status: number; body: string };

function connectFrom(localAddress: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${rig.router.ws}/graphql`, "graphql-transport-ws", { localAddress });
    ws.on("open", () => {
      open.push(ws);
      resolve({ ok: true, ws });
    });
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d) => {
        body += d;
      });
      res.on("end", () => resolve({ ok: false, status: res.statusCode ?? 0, body }));
    });
    ws.on("error", () => {});
  });
}

/** An SSE subscription from `localAddress`: resolves with the status once the head arrived. */
function sseFrom(localAddress: string): Promise<{ status: number; close: () => void }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${rig.router.http}/graphql`,
      {
        method: "POST",
        localAddress,
        headers: { "content-type": "application/json", accept: "text/event-stream" },
      },
      (res) => resolve({ status: res.statusCode ?? 0, close: () => req.destroy() }),
    );
    req.on("error", reject);
    req.end(JSON.stringify({ query: 'subscription { employeeUpdated(id: "sse") { id } }' }));
  });
}

const refusals = (limit: string) => metric(rig.router, "streamgate_limit_refusals_total", `limit="${limit}"`);

describe("connection limits", () => {
  it("refuses the 4th connection from one address with 429, another address is still served", async () => {
    const a = await connectFrom("127.0.0.1");
    const b = await connectFrom("127.0.0.1");
    expect(a.ok && b.ok).toBe(true);
    const third = await connectFrom("127.0.0.1");
    expect(third.ok).toBe(false);
    expect(!third.ok && third.status).toBe(429);
    expect(!third.ok && JSON.parse(third.body)).toEqual({
      errors: [
        {
          message: "too many connections from this address",
          extensions: { code: "SG_ERR_LIMIT_EXCEEDED", limit: "max_connections_per_ip" },
        },
      ],
    });
    expect(await refusals("max_connections_per_ip")).toBe(1);
    expect((await connectFrom("127.0.0.2")).ok).toBe(true);
    await stillServing(rig, wb);
  });

  it("an SSE stream is a connection: refused from a full address, admitted from another", async () => {
    const sse = await sseFrom("127.0.0.1");
    expect(sse.status).toBe(429);
    const other = await sseFrom("127.0.0.2");
    expect(other.status).toBe(200);
    // 127.0.0.2 now holds a WebSocket and a stream: one more from it fits, then it is full.
    expect((await connectFrom("127.0.0.2")).ok).toBe(true);
    // Now the process is full too (6): the address's own limit is the answer.
    const full = await connectFrom("127.0.0.2");
    expect(!full.ok && full.status).toBe(429);
    other.close();
    // The stream's slot comes back when it ends.
    await expect
      .poll(async () => (await connectFrom("127.0.0.2")).ok, { timeout: 3000, interval: 200 })
      .toBe(true);
    await stillServing(rig, wb);
  });

  it("refuses past max_connections with 503, from any address", async () => {
    // Open: 3 from 127.0.0.1 (wb, a, b), 3 from 127.0.0.2: the process limit of 6 is reached.
    const refusedBefore = await refusals("max_connections");
    const r = await connectFrom("127.0.0.3");
    expect(r.ok).toBe(false);
    expect(!r.ok && r.status).toBe(503);
    expect(!r.ok && JSON.parse(r.body).errors[0].extensions).toEqual({
      code: "SG_ERR_LIMIT_EXCEEDED",
      limit: "max_connections",
    });
    expect(await refusals("max_connections")).toBe(refusedBefore + 1);
    // Closing one frees a slot.
    open.shift()!.close();
    await expect
      .poll(async () => (await connectFrom("127.0.0.3")).ok, { timeout: 3000, interval: 200 })
      .toBe(true);
    await stillServing(rig, wb);
  });
});
