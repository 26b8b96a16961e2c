/**
 * A client that stops reading must not delay or starve the others: past the per-socket
 * backpressure limit it is closed (1013) or its messages are dropped, and both are counted.
 */
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

async function routerWith(policy: "close" | "drop"): Promise<RunningRouter> {
  const dir = await tempFiles({
    "events.graphql": SDL,
    "c.yaml": `listen_addr: 127.0.0.1:0
subgraphs: [{ name: events, schema_file: events.graphql }]
events: { providers: { nats: [{ id: default, url: "${nats.url}" }] } }
limits: { max_backpressure: 65536, slow_client_policy: ${policy} }
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
    // A paused client cannot read its close frame, so watch the router's counter.
    const sent = await flood(
      router,
      async () => (await metric(router, "streamgate_slow_clients_closed_total")) >= 1,
    );
    expect(sent).toBeGreaterThan(0);
    expect(await metric(router, "streamgate_slow_clients_closed_total")).toBe(1);
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await vi.waitFor(() => expect(slow.closed?.code).toBe(1013), { timeout: 10_000 });
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
});
