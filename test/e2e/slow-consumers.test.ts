/**
 * A client that stops reading must not delay or starve the others: past the per-socket
 * backpressure limit it is closed (1013) or its messages are dropped, and both are counted.
 */
import { once } from "node:events";
import { connect as tcp, type Socket } from "node:net";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";
import { rawSocket } from "../helpers/clients.js";
import { type RunningRouter, startRouterProcess, tempFiles } from "../helpers/router.js";

const SDL = `type Subscription { employeeUpdated(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"]) }
type Employee @key(fields: "id", resolvable: false) { id: ID! @external }`;
const QUERY = 'subscription { employeeUpdated(id: "slow") { id } }';

let nats: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

async function routerWith(
  policy: "close" | "drop",
  limits = "max_backpressure: 65536",
  heartbeat = "15s",
): Promise<RunningRouter> {
  const dir = await tempFiles({
    "events.graphql": SDL,
    "c.yaml": `listen_addr: 127.0.0.1:0
heartbeat_interval: ${heartbeat}
subgraphs: [{ name: events, schema_file: events.graphql }]
events: { providers: { nats: [{ id: default, url: "${nats.url}" }] } }
limits: { ${limits}, slow_client_policy: ${policy} }
`,
  });
  return startRouterProcess(["--config", `${dir}/c.yaml`]);
}

async function subscriber(router: RunningRouter) {
  const s = await rawSocket(`${router.ws}/graphql`);
  s.send({ type: "connection_init" });
  s.send({ id: "1", type: "subscribe", payload: { query: QUERY } });
  await vi.waitFor(() => expect(s.frames[0]).toEqual({ type: "connection_ack" }));
  return s;
}

async function metric(router: RunningRouter, name: string): Promise<number> {
  const text = await (await fetch(`${router.http}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.split(" ")[1] ?? Number.NaN);
}

/** An SSE subscription on a raw TCP socket that stops reading once the stream has started. */
async function pausedSse(router: RunningRouter): Promise<{ socket: Socket; text: () => string }> {
  const socket = tcp(router.port, "127.0.0.1");
  await once(socket, "connect");
  let received = "";
  socket.on("data", (d: Buffer) => {
    received += d.toString("latin1");
  });
  socket.write(
    `GET /graphql?query=${encodeURIComponent(QUERY)} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`,
  );
  await vi.waitFor(() => expect(received).toContain("200 OK"));
  socket.pause();
  return { socket, text: () => received };
}

// ~1 KB per frame: the id is the only field, so make it big.
const pad = "x".repeat(1000);

/** Publishes ~1 KB events until `until()` (polled) holds; returns how many the healthy client got. */
async function flood(router: RunningRouter, until: () => Promise<boolean>): Promise<number> {
  const healthy = await subscriber(router);
  // The subscription is live once an event arrives.
  await vi.waitFor(() => {
    nc.publish("employeeUpdated.slow", JSON.stringify({ id: "warmup" }));
    expect(healthy.frames.some((f) => f.type === "next")).toBe(true);
  });
  const padded = () =>
    healthy.frames.filter((f) => f.type === "next" && JSON.stringify(f).includes(pad)).length;
  let sent = 0;
  const deadline = Date.now() + 20_000;
  while (!(await until()) && Date.now() < deadline) {
    for (let i = 0; i < 500; i++)
      nc.publish("employeeUpdated.slow", JSON.stringify({ id: `${pad}${sent++}` }));
    await nc.flush();
    await new Promise((r) => setTimeout(r, 20));
  }
  await vi.waitFor(() => expect(padded()).toBe(sent), { timeout: 10_000 });
  healthy.ws.close();
  return sent;
}

describe("slow consumers", { timeout: 45_000 }, () => {
  it("closes a client that stopped reading with 1013 and keeps the others whole", async () => {
    const router = await routerWith("close");
    const slow = await subscriber(router);
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    // A paused client cannot read its close frame, so watch the router's counter; then read at
    // once: uWS gives a closing socket a few seconds to take its backlog and the close frame
    // before it drops the connection (1006), which a loaded machine could otherwise exceed.
    const sent = await flood(router, async () => {
      if ((await metric(router, "streamgate_slow_clients_closed_total")) < 1) return false;
      (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
      return true;
    });
    expect(sent).toBeGreaterThan(0);
    expect(await metric(router, "streamgate_slow_clients_closed_total")).toBe(1);
    await vi.waitFor(() => expect(slow.closed?.code).toBe(1013), { timeout: 10_000 });
    expect(await router.stop()).toBe(0);
  });

  it("bounds the bytes all slow clients hold together (max_total_backpressure)", async () => {
    // A per-socket limit no socket reaches here: only the global budget can act.
    const router = await routerWith("close", "max_backpressure: 1073741824, max_total_backpressure: 1048576");
    const slow = await Promise.all([1, 2, 3, 4].map(() => subscriber(router)));
    for (const s of slow) (s.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    let peak = 0;
    await flood(router, async () => {
      peak = Math.max(peak, await metric(router, "streamgate_send_buffered_bytes"));
      return (await metric(router, "streamgate_slow_clients_closed_total")) >= 4;
    });
    expect(await metric(router, "streamgate_slow_clients_closed_total")).toBe(4);
    // Something was held before the budget acted, and nothing is held once they are gone.
    expect(peak).toBeGreaterThan(0);
    await vi.waitFor(async () => expect(await metric(router, "streamgate_send_buffered_bytes")).toBe(0));
    for (const s of slow) (s.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await vi.waitFor(() => expect(slow.map((s) => s.closed?.code)).toEqual([1013, 1013, 1013, 1013]), {
      timeout: 10_000,
    });
    expect(await router.stop()).toBe(0);
  });

  it("closes an SSE client that stopped reading, and keeps the others whole", async () => {
    const router = await routerWith("close");
    const slow = await pausedSse(router);
    const closed = once(slow.socket, "close");
    await flood(router, async () => (await metric(router, "streamgate_slow_clients_closed_total")) >= 1);
    expect(await metric(router, "streamgate_slow_clients_closed_total")).toBe(1);
    slow.socket.resume();
    await closed; // the router dropped the connection
    expect(await router.stop()).toBe(0);
  });

  it("drops events for a slow SSE client, then delivers again once it caught up", async () => {
    const router = await routerWith("drop", "max_backpressure: 65536", "1s");
    const slow = await pausedSse(router);
    await flood(router, async () => (await metric(router, "streamgate_messages_dropped_total")) > 0);
    slow.socket.resume();
    // Once it has read its backlog, a heartbeat gets through and events flow again.
    await vi.waitFor(
      async () => {
        nc.publish("employeeUpdated.slow", JSON.stringify({ id: "after-catch-up" }));
        await nc.flush();
        expect(slow.text()).toContain("after-catch-up");
      },
      { timeout: 15_000, interval: 500 },
    );
    expect(slow.socket.destroyed).toBe(false);
    slow.socket.destroy();
    expect(await router.stop()).toBe(0);
  });

  it("drops messages for a client that stopped reading under the drop policy", async () => {
    const router = await routerWith("drop");
    const slow = await subscriber(router);
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await flood(router, async () => (await metric(router, "streamgate_messages_dropped_total")) > 0);
    expect(await metric(router, "streamgate_messages_dropped_total")).toBeGreaterThan(0);
    expect(slow.closed).toBeUndefined();
    expect(await router.stop()).toBe(0);
  });

  it("counts connections that end without a close frame as lost: a vanished peer, a client that stops answering pings", async () => {
    const router = await routerWith("close", "max_backpressure: 65536", "1s");
    const polite = await subscriber(router);
    const vanished = await subscriber(router);
    const silent = await subscriber(router);
    polite.ws.close(1000);
    (vanished.ws as unknown as { _socket: { destroy(): void } })._socket.destroy();
    await vi.waitFor(async () => expect(await metric(router, "streamgate_connections")).toBe(1));
    expect(await metric(router, "streamgate_connections_lost_total")).toBe(1);
    // A paused client reads no ping and sends no pong: uWS ends it after its idle timeout
    // (2 × heartbeat_interval, at least 8 s) without a close frame.
    (silent.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await vi.waitFor(async () => expect(await metric(router, "streamgate_connections")).toBe(0), {
      timeout: 25_000,
      interval: 500,
    });
    expect(await metric(router, "streamgate_connections_lost_total")).toBe(2);
    expect(await router.stop()).toBe(0);
  });
});
