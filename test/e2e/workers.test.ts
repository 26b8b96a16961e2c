/**
 * `workers: 2` (spec/scale.md): two worker threads share the port, each trigger has one owner
 * that alone subscribes to the broker, and every client gets every event whichever worker holds
 * its socket. Against a real nats-server, whose monitoring endpoint counts the subscriptions.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";
import { freePort } from "../helpers/brokers/net.js";
import { type RawSocket, rawSocket } from "../helpers/clients.js";
import { createServer } from "node:net";
import { runCli, type RunningRouter, startRouterProcess, tempFiles } from "../helpers/router.js";

const SDL = `type Subscription { employeeUpdated(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"]) }
type Mutation { publishEmployee(id: ID!): edfs__PublishResult! @edfs__natsPublish(subject: "employeeUpdated.{{ args.id }}") }
type Employee @key(fields: "id", resolvable: false) { id: ID! @external }`;

let nats: NatsServer;
let monitor: number;
let nc: NatsConnection;

beforeAll(async () => {
  monitor = await freePort();
  nats = await startNats({ args: ["-m", String(monitor)] });
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

async function router(url: string): Promise<RunningRouter> {
  const dir = await tempFiles({
    "events.graphql": SDL,
    "c.yaml": `listen_addr: 127.0.0.1:0
workers: 2
shutdown_grace_period: 3s
subgraphs: [{ name: events, schema_file: events.graphql }]
events: { providers: { nats: [{ id: default, url: "${url}" }] } }
`,
  });
  return startRouterProcess(["--config", `${dir}/c.yaml`]);
}

async function subscribers(r: RunningRouter, ids: readonly string[]): Promise<RawSocket[]> {
  const sockets = await Promise.all(ids.map(() => rawSocket(`${r.ws}/graphql`)));
  sockets.forEach((s, i) => {
    s.send({ type: "connection_init" });
    s.send({
      id: "1",
      type: "subscribe",
      payload: { query: `subscription { employeeUpdated(id: "${ids[i]}") { id } }` },
    });
  });
  await vi.waitFor(() => expect(sockets.every((s) => s.frames[0]?.type === "connection_ack")).toBe(true));
  return sockets;
}

async function metric(r: RunningRouter, name: string): Promise<number> {
  const text = await (await fetch(`${r.http}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.split(" ")[1] ?? Number.NaN);
}

/** Broker subscriptions on `subject` over every client connection of the nats-server. */
async function natsSubscriptions(subject: string): Promise<number> {
  const connz = (await (await fetch(`http://127.0.0.1:${monitor}/connz?subs=1`)).json()) as {
    connections: { subscriptions_list?: string[] }[];
  };
  return connz.connections.flatMap((c) => c.subscriptions_list ?? []).filter((s) => s === subject).length;
}

const nextIds = (s: RawSocket) =>
  s.frames
    .filter((f) => f.type === "next")
    .map((f) => (f.payload as { data: { employeeUpdated: { id: string } } }).data.employeeUpdated.id);

describe("workers: 2", { timeout: 60_000 }, () => {
  it("spreads connections over both workers, subscribes each topic once, delivers to every client", async () => {
    const r = await router(nats.url);
    // HTTP connections land on both workers (SO_REUSEPORT); each says which it is.
    const seen = new Set<number>();
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      const body = (await (
        await fetch(`${r.http}/health/live`, { headers: { connection: "close" } })
      ).json()) as {
        worker: number;
      };
      seen.add(body.worker);
    }
    expect([...seen].sort()).toEqual([0, 1]);

    const ids = Array.from({ length: 40 }, (_, i) => (i % 4 === 0 ? "b" : "a"));
    const sockets = await subscribers(r, ids);
    await vi.waitFor(async () => expect(await metric(r, "streamgate_subscriptions")).toBe(40));
    expect(await metric(r, "streamgate_connections")).toBe(40);
    // Merged over workers: counts add up, but "up" stays 1 (min), not one per worker.
    const text = await (await fetch(`${r.http}/metrics`)).text();
    expect(text).toContain('streamgate_provider_up{provider="default",kind="nats"} 1');
    // One owner per trigger: one broker subscription per subject for both workers together.
    await vi.waitFor(async () => {
      expect(await natsSubscriptions("employeeUpdated.a")).toBe(1);
      expect(await natsSubscriptions("employeeUpdated.b")).toBe(1);
    });
    await vi.waitFor(async () => {
      nc.publish("employeeUpdated.a", JSON.stringify({ id: "a" }));
      nc.publish("employeeUpdated.b", JSON.stringify({ id: "b" }));
      await nc.flush();
      expect(sockets.every((s, i) => nextIds(s).includes(ids[i]!))).toBe(true);
    });
    // Nobody got the other topic's event.
    expect(sockets.every((s, i) => nextIds(s).every((id) => id === ids[i]))).toBe(true);
    expect(await metric(r, "streamgate_deliveries_total")).toBeGreaterThanOrEqual(40);

    for (const s of sockets) s.ws.close();
    await vi.waitFor(async () => expect(await natsSubscriptions("employeeUpdated.a")).toBe(0));
    expect(await r.stop()).toBe(0);
  });

  it("relays memory:// publishes to every worker's embedded broker", async () => {
    const r = await router("memory://");
    const sockets = await subscribers(
      r,
      Array.from({ length: 20 }, () => "m"),
    );
    // The owner worker holds the one embedded-broker subscription; then nothing can be missed.
    await vi.waitFor(async () => expect(await metric(r, "streamgate_broker_subscriptions")).toBe(1));
    // Each publish goes over a fresh connection, so it lands on either worker (SO_REUSEPORT):
    // one landing on the worker that does not own the trigger reaches it only through the relay.
    for (let i = 1; i <= 6; i++) {
      const res = await fetch(`${r.http}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", connection: "close" },
        body: JSON.stringify({ query: 'mutation { publishEmployee(id: "m") { success } }' }),
      });
      expect(await res.json()).toEqual({ data: { publishEmployee: { success: true } } });
      await vi.waitFor(() => expect(sockets.map((s) => nextIds(s).length)).toEqual(Array(20).fill(i)));
    }
    expect(await r.stop()).toBe(0);
  });

  it("fails to start, exit 1 and a clear message, when the port is taken", async () => {
    const taken = createServer();
    const port = await new Promise<number>((r) =>
      taken.listen(0, "127.0.0.1", () => r((taken.address() as { port: number }).port)),
    );
    const dir = await tempFiles({
      "events.graphql": SDL,
      "c.yaml": `listen_addr: 127.0.0.1:${port}
workers: 2
subgraphs: [{ name: events, schema_file: events.graphql }]
events: { providers: { nats: [{ id: default, url: "memory://" }] } }
`,
    });
    const res = await runCli(["--config", `${dir}/c.yaml`]);
    taken.close();
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`cannot listen on 127.0.0.1:${port}`);
  });

  it("drains every worker on SIGTERM: clients see 1001 and the process exits 0", async () => {
    const r = await router(nats.url);
    const sockets = await subscribers(
      r,
      Array.from({ length: 10 }, () => "x"),
    );
    expect(await r.stop("SIGTERM")).toBe(0);
    await vi.waitFor(() => expect(sockets.map((s) => s.closed?.code)).toEqual(Array(10).fill(1001)));
    expect(sockets.every((s) => s.frames.some((f) => f.type === "complete"))).toBe(true);
  });
});

describe("workers: a worker that crashes", { timeout: 60_000 }, () => {
  it("is restarted, and the clients of the other worker keep receiving", async () => {
    const dir = await tempFiles({
      "events.graphql": SDL,
      "c.yaml": `listen_addr: 127.0.0.1:0
workers: 2
subgraphs: [{ name: events, schema_file: events.graphql }]
events: { providers: { nats: [{ id: default, url: "${nats.url}" }] } }
`,
    });
    const r = await startRouterProcess(["--config", `${dir}/c.yaml`], { STREAMGATE_FAULT_INJECTION: "1" });
    const sockets = await subscribers(
      r,
      Array.from({ length: 30 }, () => "c"),
    );
    await vi.waitFor(async () => expect(await natsSubscriptions("employeeUpdated.c")).toBe(1));
    const res = await fetch(`${r.http}/__fault/crash-worker`, {
      method: "POST",
      headers: { connection: "close" },
    });
    const { worker } = (await res.json()) as { worker: number };
    // The crashed worker's clients lose their connection; the process and the other worker live on.
    await vi.waitFor(() => expect(sockets.some((s) => s.closed)).toBe(true));
    const survivors = sockets.filter((s) => !s.closed);
    expect(survivors.length).toBeGreaterThan(0);
    expect(r.process.exitCode).toBeNull();
    // Whoever owned the trigger, the survivors' group is served (re-routed if its owner died).
    await vi.waitFor(async () => {
      nc.publish("employeeUpdated.c", JSON.stringify({ id: "c" }));
      await nc.flush();
      expect(survivors.every((s) => nextIds(s).length > 0)).toBe(true);
    });
    expect(await natsSubscriptions("employeeUpdated.c")).toBe(1);
    // The primary restarts the worker: both answer again.
    await vi.waitFor(
      () => {
        const exited = r.logs.findIndex((l) => l.msg === "worker exited; restarting");
        expect(exited).toBeGreaterThan(0);
        expect(r.logs.slice(exited).some((l) => l.msg === "worker ready" && l.worker === worker)).toBe(true);
      },
      { timeout: 10_000 },
    );
    expect(r.logs.some((l) => l.msg === "worker crashed" && l.worker === worker)).toBe(true);
    expect(r.logs.find((l) => l.msg === "worker exited; restarting")).toMatchObject({ worker, code: 1 });
    const seen = new Set<number>();
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      const live = await fetch(`${r.http}/health/live`, { headers: { connection: "close" } });
      seen.add(((await live.json()) as { worker: number }).worker);
    }
    expect([...seen].sort()).toEqual([0, 1]);
    expect(await r.stop()).toBe(0);
  });
});
