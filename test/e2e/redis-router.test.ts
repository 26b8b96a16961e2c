/**
 * End to end: the built router on a real redis-server, driven by the public graphql-ws client and
 * observed from the broker's side with redis-cli and a plain ioredis subscriber.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ensureBinary } from "../helpers/brokers/ensure.js";
import { freePort } from "../helpers/brokers/net.js";
import { type RedisServer, startRedis } from "../helpers/brokers/redis.js";
import { collect, postGraphql, wsClient } from "../helpers/clients.js";
import { type RunningRouter, startRouterProcess, tempFiles } from "../helpers/router.js";

const run = promisify(execFile);

const EVENTS_SDL = `
type Mutation {
  updateEmployeeMyRedis(id: ID!, update: EmployeeUpdate!): edfs__PublishResult! @edfs__redisPublish(channel: "employeeUpdatedMyRedis.{{ args.id }}", providerId: "my-redis")
}
type Subscription {
  employeeUpdatedMyRedis(id: ID!): Employee! @edfs__redisSubscribe(channels: ["employeeUpdatedMyRedis.{{ args.id }}"], providerId: "my-redis")
  employeesUpdatedMyRedis(ids: [ID!]!): Employee! @edfs__redisSubscribe(channels: ["employeeUpdatedMyRedis.{{ args.ids }}"], providerId: "my-redis")
  anyEmployeeUpdatedMyRedis: Employee! @edfs__redisSubscribe(channels: ["employeeUpdatedMyRedis.*"], providerId: "my-redis")
  overlappingEmployeeUpdatedMyRedis: Employee! @edfs__redisSubscribe(channels: ["employeeUpdatedMyRedis.*", "employeeUpdatedMyRedis.1?"], providerId: "my-redis")
}
input EmployeeUpdate { name: String }
type Employee @key(fields: "id", resolvable: false) { id: ID! @external }
`;

const SUB = "subscription($id: ID!) { employeeUpdatedMyRedis(id: $id) { __typename id } }";
let redis: RedisServer;
let router: RunningRouter;
let cli: string;

const config = (url: string, extra = "") => `listen_addr: 127.0.0.1:0
shutdown_grace_period: 3s
subgraphs:
  - name: events
    schema_file: ./events.graphql
events:
${extra}  providers:
    redis:
      - id: my-redis
        urls: ["${url}"]
`;

beforeAll(async () => {
  cli = await ensureBinary("redis-cli", "redis-tools");
  redis = await startRedis();
  const dir = await tempFiles({ "events.graphql": EVENTS_SDL, "config.yaml": config(redis.url) });
  router = await startRouterProcess(["--config", `${dir}/config.yaml`]);
});

afterAll(async () => {
  const code = await router?.stop();
  await redis?.stop();
  expect(code).toBe(0);
});

/** `redis-cli -p <port> PUBLISH channel body`, as an operator or another service would. */
async function cliPublish(port: number, channel: string, body: unknown): Promise<void> {
  await run(cli, ["-p", String(port), "PUBLISH", channel, JSON.stringify(body)]);
}

/** Publishes with redis-cli until the subscriber has seen `n` values (the broker subscription is async). */
async function publishUntil(channel: string, body: unknown, seen: () => number, n = 1, port = redis.port) {
  await vi.waitFor(
    async () => {
      if (seen() < n) {
        await cliPublish(port, channel, body);
        throw new Error("not yet");
      }
    },
    { timeout: 5000, interval: 100 },
  );
}

describe("router on Redis", () => {
  it("delivers a message PUBLISHed with redis-cli to a graphql-ws subscriber", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const sub = collect(client, SUB, { id: "7" });
    await publishUntil(
      "employeeUpdatedMyRedis.7",
      { __typename: "Employee", id: "7" },
      () => sub.values.length,
    );
    expect(sub.values[0]).toEqual({ data: { employeeUpdatedMyRedis: { __typename: "Employee", id: "7" } } });
    sub.unsubscribe();
    await client.dispose();
  });

  it("publishes through the mutation: a Redis subscriber sees the arguments", async () => {
    const watcher = new Redis(redis.url);
    const seen: unknown[] = [];
    watcher.on("message", (_channel: string, message: string) => seen.push(JSON.parse(message)));
    await watcher.subscribe("employeeUpdatedMyRedis.42");
    const client = wsClient(`${router.ws}/graphql`);
    const sub = collect(client, SUB, { id: "42" });
    try {
      await vi.waitFor(
        async () => {
          const res = await postGraphql(router.http, {
            query: 'mutation { updateEmployeeMyRedis(id: "42", update: { name: "Ada" }) { success } }',
          });
          expect(res.body).toEqual({ data: { updateEmployeeMyRedis: { success: true } } });
          expect(sub.values.length).toBeGreaterThan(0);
        },
        { timeout: 5000, interval: 150 },
      );
      expect(seen[0]).toEqual({ id: "42", update: { name: "Ada" } });
      expect(sub.values[0]).toEqual({
        data: { employeeUpdatedMyRedis: { __typename: "Employee", id: "42" } },
      });
    } finally {
      watcher.disconnect();
      sub.unsubscribe();
      await client.dispose();
    }
  });

  it("expands a list argument into one channel per element", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const sub = collect(client, 'subscription { employeesUpdatedMyRedis(ids: ["10", "11"]) { id } }');
    await publishUntil("employeeUpdatedMyRedis.10", { id: "10" }, () => sub.values.length);
    const before = sub.values.length;
    await publishUntil("employeeUpdatedMyRedis.11", { id: "11" }, () => sub.values.length, before + 1);
    expect(sub.values.at(-1)).toEqual({ data: { employeesUpdatedMyRedis: { id: "11" } } });
    sub.unsubscribe();
    await client.dispose();
  });

  /**
   * Subscribes to the glob `field` and to employee 12, then publishes three messages on
   * employeeUpdatedMyRedis.12 with redis-cli; returns how many events each subscription got.
   */
  async function globAndOne(field: string): Promise<{ glob: number; one: number }> {
    const client = wsClient(`${router.ws}/graphql`);
    const all = collect(client, `subscription { ${field} { id } }`);
    const one = collect(client, SUB, { id: "12" });
    try {
      // Both live: from here on, count what each one gets.
      const both = () => Math.min(all.values.length, one.values.length);
      await publishUntil("employeeUpdatedMyRedis.12", { id: "12" }, both);
      const [a0, o0] = [all.values.length, one.values.length];
      for (const id of ["m1", "m2", "last"])
        await cliPublish(redis.port, "employeeUpdatedMyRedis.12", { id });
      const last = { data: { employeeUpdatedMyRedis: { __typename: "Employee", id: "last" } } };
      await vi.waitFor(() => expect(one.values.at(-1)).toEqual(last));
      await vi.waitFor(() => expect(all.values.at(-1)).toEqual({ data: { [field]: { id: "last" } } }));
      // Anything duplicated would have been sent before the last copy of "last".
      await new Promise((r) => setTimeout(r, 100));
      return { glob: all.values.length - a0, one: one.values.length - o0 };
    } finally {
      all.unsubscribe();
      one.unsubscribe();
      await client.dispose();
    }
  }

  it("follows a schema-author glob next to a subscriber of one channel", async () => {
    expect(await globAndOne("anyEmployeeUpdatedMyRedis")).toEqual({ glob: 3, one: 3 });
  });

  // The trigger subscribes overlapping patterns of one field as one broker subscription.
  it("delivers a message matching two patterns of one field once", async () => {
    expect(await globAndOne("overlappingEmployeeUpdatedMyRedis")).toEqual({ glob: 3, one: 3 });
  });

  it("refuses argument values that would inject glob characters", async () => {
    for (const id of ["*", "1*", "a?", "[ab]"]) {
      const client = wsClient(`${router.ws}/graphql`);
      const sub = collect(client, SUB, { id });
      await vi.waitFor(() => expect(sub.errors.length).toBe(1));
      expect(JSON.stringify(sub.errors[0])).toContain("SG_ERR_SUBJECT_INVALID");
      await client.dispose();
    }
    const res = await postGraphql(router.http, {
      query: 'mutation { updateEmployeeMyRedis(id: "*", update: {}) { success } }',
    });
    expect(JSON.stringify(res.body)).toContain("SG_ERR_SUBJECT_INVALID");
  });

  it("is ready, and holds one subscriber connection at the broker", async () => {
    const ready = await fetch(`${router.http}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", providers_down: [] });
    const { stdout } = await run(cli, ["-p", String(redis.port), "CLIENT", "LIST"]);
    expect(stdout.split("\n").filter((l) => l.includes("name=streamgate:my-redis:sub "))).toHaveLength(1);
  });
});

describe("router with Redis down at start", () => {
  it("starts with skip_unavailable_providers, reports not ready, then recovers", {
    timeout: 60_000,
  }, async () => {
    const port = await freePort();
    const dir = await tempFiles({
      "events.graphql": EVENTS_SDL,
      "config.yaml": config(`redis://127.0.0.1:${port}`, "  skip_unavailable_providers: true\n"),
    });
    const late = await startRouterProcess(["--config", `${dir}/config.yaml`]);
    let server: RedisServer | undefined;
    try {
      const res = await fetch(`${late.http}/health/ready`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ providers_down: [{ id: "my-redis", kind: "redis" }] });
      const client = wsClient(`${late.ws}/graphql`);
      const sub = collect(client, SUB, { id: "late" });
      server = await startRedis({ port });
      await vi.waitFor(async () => expect((await fetch(`${late.http}/health/ready`)).status).toBe(200), {
        timeout: 30_000,
        interval: 100,
      });
      await publishUntil("employeeUpdatedMyRedis.late", { id: "late" }, () => sub.values.length, 1, port);
      expect(sub.values[0]).toEqual({
        data: { employeeUpdatedMyRedis: { __typename: "Employee", id: "late" } },
      });
      await client.dispose();
    } finally {
      expect(await late.stop()).toBe(0);
      await server?.stop();
    }
  });
});
