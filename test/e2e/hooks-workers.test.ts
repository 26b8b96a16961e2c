/**
 * Stream hooks with `workers: 2` on a real nats-server: the worker holding a socket runs
 * onSubscriptionCreate and onSubscriptionStart with that client's context; the worker owning the
 * trigger runs onReceiveEvents and onDeliver (with the subscriber's context forwarded to it).
 * Rewritten topics are what the owner subscribes to, once for both workers.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";
import { freePort } from "../helpers/brokers/net.js";
import { type RunningRouter, startRouterProcess, tempFiles } from "../helpers/router.js";

const SDL = `type Subscription { employeeUpdated(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"]) }
type Employee @key(fields: "id", resolvable: false) { id: ID! @external }`;

/** Test-only module: tenant and role from connection_init, a client id from a header. */
const MODULE = `
export default {
  onSubscriptionCreate(ctx) {
    return { topics: ctx.topics.map((t) => ctx.connectionParams.tenant + "." + t) };
  },
  onSubscriptionStart(ctx) {
    ctx.emit({ id: "initial-" + ctx.headers["x-client"] });
  },
  onReceiveEvents(ctx) {
    return ctx.events.map((e) => ({ ...e, data: { ...e.data, id: e.data.id + "+r" } }));
  },
  onDeliver: {
    groupBy: (ctx) => ctx.connectionParams.role,
    handler(ctx) {
      const seen = ctx.headers["x-client"] === undefined ? "no-headers" : "headers";
      return { data: { id: ctx.event.data.id + ":" + ctx.connectionParams.role + ":" + seen } };
    },
  },
};
`;

let nats: NatsServer;
let monitor: number;
let nc: NatsConnection;
let router: RunningRouter;

beforeAll(async () => {
  monitor = await freePort();
  nats = await startNats({ args: ["-m", String(monitor)] });
  nc = await connect({ servers: nats.url });
  const dir = await tempFiles({
    "events.graphql": SDL,
    "m.mjs": MODULE,
    "c.yaml": `listen_addr: 127.0.0.1:0
workers: 2
shutdown_grace_period: 3s
modules: [./m.mjs]
subgraphs: [{ name: events, schema_file: events.graphql }]
events: { providers: { nats: [{ id: default, url: "${nats.url}" }] } }
`,
  });
  router = await startRouterProcess(["--config", `${dir}/c.yaml`]);
});
afterAll(async () => {
  await nc?.close();
  expect(await router?.stop()).toBe(0);
  await nats?.stop();
});

interface Client {
  readonly tenant: string;
  readonly role: string;
  readonly name: string;
  readonly ws: WebSocket;
  readonly ids: string[];
}

function client(tenant: string, role: string, name: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${router.ws}/graphql`, "graphql-transport-ws", {
      headers: { "x-client": name },
    });
    const c: Client = { tenant, role, name, ws, ids: [] };
    ws.on("open", () => ws.send(JSON.stringify({ type: "connection_init", payload: { tenant, role } })));
    ws.on("message", (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === "connection_ack") {
        ws.send(
          JSON.stringify({
            id: "1",
            type: "subscribe",
            payload: { query: 'subscription { employeeUpdated(id: "1") { id } }' },
          }),
        );
        resolve(c);
      }
      if (m.type === "next") c.ids.push(m.payload.data.employeeUpdated.id);
      if (m.type === "error") c.ids.push(`error:${JSON.stringify(m.payload)}`);
    });
    ws.on("error", reject);
  });
}

async function natsSubscriptions(subject: string): Promise<number> {
  const connz = (await (await fetch(`http://127.0.0.1:${monitor}/connz?subs=1`)).json()) as {
    connections: { subscriptions_list?: string[] }[];
  };
  return connz.connections.flatMap((c) => c.subscriptions_list ?? []).filter((s) => s === subject).length;
}

describe("stream hooks with worker threads", { timeout: 60_000 }, () => {
  it("runs each hook in the right worker with the subscriber's context, one broker subscription per rewritten topic", async () => {
    // Connections land on both workers (SO_REUSEPORT): 24 sockets all on one is ~1e-7.
    const clients = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        client(i % 2 === 0 ? "acme" : "globex", i % 3 === 0 ? "admin" : "user", `c${i}`),
      ),
    );
    await vi.waitFor(async () => {
      expect(await natsSubscriptions("acme.employeeUpdated.1")).toBe(1);
      expect(await natsSubscriptions("globex.employeeUpdated.1")).toBe(1);
    });
    expect(await natsSubscriptions("employeeUpdated.1")).toBe(0);
    // Each client's own emitted event first, through onDeliver on the worker holding it.
    await vi.waitFor(() => expect(clients.every((c) => c.ids.length >= 1)).toBe(true));
    for (const c of clients) expect(c.ids[0]).toBe(`initial-${c.name}:${c.role}:headers`);
    await vi.waitFor(async () => {
      nc.publish("acme.employeeUpdated.1", JSON.stringify({ id: "e" }));
      await nc.flush();
      expect(clients.filter((c) => c.tenant === "acme").every((c) => c.ids.length >= 2)).toBe(true);
    });
    for (const c of clients) {
      const live = c.ids.slice(1);
      if (c.tenant === "globex") expect(live).toEqual([]);
      // onReceiveEvents ran on the owner, onDeliver there too with this role's forwarded context
      // (headers included: it sees the group's first subscriber's).
      else expect(new Set(live)).toEqual(new Set([`e+r:${c.role}:headers`]));
    }
    const metrics = await (await fetch(`${router.http}/metrics`)).text();
    // Merged over both workers (summed); label order is the aggregator's.
    const calls = (hook: string): number =>
      Number(
        metrics
          .split("\n")
          .find((l) => l.startsWith("streamgate_hook_calls_total{") && l.includes(`hook="${hook}"`))
          ?.split(" ")[1],
      );
    expect(calls("onSubscriptionCreate")).toBe(24);
    expect(calls("onSubscriptionStart")).toBe(24);
    for (const c of clients) c.ws.close();
  });
});
