/**
 * A router on a real nats-server for hostile tests, and the invariant every hostile case must
 * keep: the process lives, /health/live answers fast, and a well-behaved subscriber on another
 * connection still receives its events.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Client } from "graphql-ws";
import { expect, vi } from "vitest";
import { type NatsServer, startNats } from "./brokers/nats.js";
import { type Collected, collect, wsClient } from "./clients.js";
import { type RunningRouter, startRouterProcess, tempFiles } from "./router.js";

export const HOSTILE_SDL = `
type Query { employeeFromEvent(id: ID!): Employee! @edfs__natsRequest(subject: "getEmployee.{{ args.id }}") }
type Mutation {
  updateEmployee(id: ID!, update: EmployeeUpdate!): edfs__PublishResult! @edfs__natsPublish(subject: "employeeUpdated.{{ args.id }}")
}
type Subscription {
  employeeUpdated(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"])
  employeesUpdated(ids: [ID!]!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.ids }}"])
  pairs(a: [ID!]!, b: [ID!]!): Employee! @edfs__natsSubscribe(subjects: ["pair.{{ args.a }}.{{ args.b }}"])
  anyUpdated(ids: [ID!]!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.*"])
    @openfed__subscriptionFilter(condition: { IN: { fieldPath: "id", values: ["{{ args.ids }}"] } })
}
input EmployeeUpdate { name: String }
type Employee @key(fields: "id", resolvable: false) { id: ID! @external }
`;

export interface HostileRig {
  readonly nats: NatsServer;
  readonly router: RunningRouter;
  readonly nc: NatsConnection;
  stop(): Promise<number | null>;
}

/** Starts nats-server and the built router with `limits` (YAML lines under `limits:`). */
export async function startHostileRig(limits = ""): Promise<HostileRig> {
  const nats = await startNats();
  const dir = await tempFiles({
    "events.graphql": HOSTILE_SDL,
    "config.yaml": `listen_addr: 127.0.0.1:0
shutdown_grace_period: 2s
subgraphs:
  - name: events
    schema_file: ./events.graphql
events:
  providers:
    nats:
      - id: default
        url: ${nats.url}
${limits ? `limits:\n${limits}` : ""}`,
  });
  const router = await startRouterProcess(["--config", `${dir}/config.yaml`]);
  const nc = await connect({ servers: nats.url });
  return {
    nats,
    router,
    nc,
    stop: async () => {
      await nc.close();
      const code = await router.stop();
      await nats.stop();
      return code;
    },
  };
}

/** Every sample of a metric family, by label text (`{}` for none). */
export async function metricSamples(router: RunningRouter, name: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${router.http}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name} `) && !line.startsWith(`${name}{`)) continue;
    const space = line.lastIndexOf(" ");
    const labels = line.slice(name.length, space);
    out.set(labels === "" ? "{}" : labels, Number(line.slice(space + 1)));
  }
  return out;
}

/** One metric sample (0 when absent), e.g. metric(r, "x_total", 'limit="max_connections"'). */
export async function metric(router: RunningRouter, name: string, labels = ""): Promise<number> {
  const samples = await metricSamples(router, name);
  return samples.get(labels === "" ? "{}" : `{${labels}}`) ?? 0;
}

/** A subscriber that behaves: its own connection, one subscription, counting its events. */
export class WellBehaved {
  private readonly client: Client;
  private readonly sub: Collected<{ data?: { employeeUpdated?: { id: string } } }>;

  constructor(
    private readonly rig: HostileRig,
    private readonly id = "wb",
  ) {
    this.client = wsClient(`${rig.router.ws}/graphql`);
    this.sub = collect(this.client, "subscription($id: ID!) { employeeUpdated(id: $id) { id } }", { id });
  }

  /** Publishes until this subscriber has one more event (its broker subscription is async at first). */
  async receives(): Promise<void> {
    const want = this.sub.values.length + 1;
    const enc = new TextEncoder();
    await vi.waitFor(
      () => {
        if (this.sub.values.length < want) {
          this.rig.nc.publish(`employeeUpdated.${this.id}`, enc.encode(JSON.stringify({ id: this.id })));
          throw new Error(`well-behaved subscriber got ${this.sub.values.length} events, wants ${want}`);
        }
      },
      { timeout: 5000, interval: 100 },
    );
    expect(this.sub.errors).toEqual([]);
    expect(this.sub.values.at(-1)).toEqual({ data: { employeeUpdated: { id: this.id } } });
  }

  async dispose(): Promise<void> {
    this.sub.unsubscribe();
    await this.client.dispose();
  }
}

/** The invariant after a hostile case: alive, /health/live fast, the well-behaved subscriber served. */
export async function stillServing(rig: HostileRig, wb: WellBehaved): Promise<void> {
  const t0 = performance.now();
  const res = await fetch(`${rig.router.http}/health/live`);
  const ms = performance.now() - t0;
  expect(res.status).toBe(200);
  expect(ms).toBeLessThan(500);
  expect(rig.router.process.exitCode).toBeNull();
  await wb.receives();
}
