/**
 * The demo's employees subgraph as its own process (the compose file's `employees` service):
 * hostile requests get a 4xx and leave it serving; with NATS_URL it keeps the names published on
 * employeeUpdated.* and answers getEmployee.<id> (a real nats-server); SIGTERM stops it.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startNats, type NatsServer } from "../helpers/brokers/nats.js";
import { freePort, waitForPort } from "../helpers/brokers/net.js";
import { REPO_ROOT } from "../helpers/router.js";

let nats: NatsServer;
let nc: NatsConnection;
let url: string;
let proc: ReturnType<typeof spawn>;
beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  const port = await freePort();
  proc = spawn(process.execPath, [join(REPO_ROOT, "dist/demo/subgraph-main.js")], {
    env: { ...process.env, LISTEN_ADDR: `127.0.0.1:${port}`, NATS_URL: nats.url },
    stdio: ["ignore", "pipe", "pipe"],
  });
  await waitForPort(port, 15_000);
  url = `http://127.0.0.1:${port}/graphql`;
});
afterAll(async () => {
  if (proc?.exitCode === null) proc.kill("SIGKILL");
  await nc?.close();
  await nats?.stop();
});

const post = (body: string) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
const nameOf = async (id: string) => {
  const res = await post(
    JSON.stringify({
      query: "query($r: [_Any!]!) { _entities(representations: $r) { ... on Employee { name } } }",
      variables: { r: [{ __typename: "Employee", id }] },
    }),
  );
  return ((await res.json()) as { data: { _entities: { name: string }[] } }).data._entities[0]?.name;
};

describe("the demo employees subgraph process", () => {
  it("answers hostile requests with a 4xx and goes on serving", async () => {
    for (const [body, status] of [
      ["{", 400],
      ["null", 400],
      ["[1]", 400],
      ['{"query":5}', 400],
      ['{"query":"{ employees { name } }","variables":[1]}', 400],
      [JSON.stringify({ query: "x".repeat(2 * 1024 * 1024) }), 413],
    ] as const) {
      const res = await post(body);
      expect([body.slice(0, 40), res.status]).toEqual([body.slice(0, 40), status]);
    }
    const syntax = await post('{"query":"{"}');
    expect(JSON.stringify(await syntax.json())).toContain("Syntax Error");
    expect(await nameOf("2")).toBe("Alan Turing (#2)");
  });

  it("keeps a name published on employeeUpdated.<id> over NATS", async () => {
    await vi.waitFor(
      async () => {
        nc.publish("employeeUpdated.3", JSON.stringify({ id: "3", update: { name: "Zed" } }));
        expect(await nameOf("3")).toBe("Zed");
      },
      { timeout: 8000, interval: 200 },
    );
  });

  it("answers getEmployee.<id> requests over NATS", async () => {
    const reply = await nc.request("getEmployee.42", "{}", { timeout: 5000 });
    expect(JSON.parse(reply.string())).toEqual({ __typename: "Employee", id: "42" });
  });

  it("exits 0 on SIGTERM", async () => {
    const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
    proc.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});
