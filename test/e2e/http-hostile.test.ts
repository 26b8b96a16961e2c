/**
 * Hostile HTTP against the built router on a real nats-server: requests a stranger can send
 * without any credentials. Each case checks the answer, then that the process still lives and
 * left nothing behind (subscriptions, triggers).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";
import {
  natsRouterConfig,
  readMetric,
  type RunningRouter,
  startRouterProcess,
  tempFiles,
} from "../helpers/router.js";

const EVENTS_SDL = `
type Query { employeeFromEvent(id: ID!): Employee! @edfs__natsRequest(subject: "getEmployee.{{ args.id }}") }
type Mutation {
  updateEmployee(id: ID!, update: EmployeeUpdate!): edfs__PublishResult! @edfs__natsPublish(subject: "employeeUpdated.{{ args.id }}")
}
type Subscription {
  employeeUpdated(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"])
}
input EmployeeUpdate { name: String }
type Employee @key(fields: "id", resolvable: false) { id: ID! @external }
`;

let nats: NatsServer;
let router: RunningRouter;

beforeAll(async () => {
  nats = await startNats();
  const dir = await tempFiles({
    "events.graphql": EVENTS_SDL,
    "config.yaml": natsRouterConfig(nats.url),
  });
  router = await startRouterProcess(["--config", `${dir}/config.yaml`]);
});

afterAll(async () => {
  const code = await router?.stop();
  await nats?.stop();
  expect(code).toBe(0);
});

async function alive(): Promise<void> {
  const res = await fetch(`${router.http}/health/live`);
  expect(res.status).toBe(200);
  expect(router.process.exitCode).toBeNull();
}

describe("subscriptions over plain HTTP (no streaming Accept)", () => {
  it("answers 406 and does not crash on an invalid argument (GET)", async () => {
    const q = encodeURIComponent('subscription{employeeUpdated(id:"a.b"){id}}');
    const res = await fetch(`${router.http}/graphql?query=${q}`);
    expect(res.status).toBe(406);
    const body = (await res.json()) as { errors: { message: string }[] };
    expect(body.errors[0]!.message).toMatch(/WebSocket|event-stream/);
    // The process used to exit here (a write to the finished uWS response).
    await new Promise((r) => setTimeout(r, 200));
    await alive();
  });

  it("answers 406 and does not crash on an invalid argument (POST)", async () => {
    const res = await fetch(`${router.http}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ query: 'subscription{employeeUpdated(id:"a.b"){id}}' }),
    });
    expect(res.status).toBe(406);
    await new Promise((r) => setTimeout(r, 200));
    await alive();
  });

  it("leaves no subscription or trigger behind", async () => {
    const q = encodeURIComponent('subscription{employeeUpdated(id:"7"){id}}');
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => fetch(`${router.http}/graphql?query=${q}`).then((r) => r.status)),
    );
    expect(new Set(answers)).toEqual(new Set([406]));
    await alive();
    expect(await readMetric(router.http, "streamgate_subscriptions")).toBe(0);
    expect(await readMetric(router.http, "streamgate_triggers")).toBe(0);
  });
});

describe("cross-site requests", () => {
  const mutation = 'mutation { updateEmployee(id: "9", update: {name: "x"}) { success } }';
  it.each([
    ["text/plain", JSON.stringify({ query: mutation })],
    ["application/x-www-form-urlencoded", `query=${encodeURIComponent(mutation)}`],
    [
      "multipart/form-data; boundary=x",
      `--x\r\ncontent-disposition: form-data; name="query"\r\n\r\n${mutation}\r\n--x--`,
    ],
    ["", JSON.stringify({ query: mutation })],
  ])("refuses a %j POST with 415 and runs nothing", async (type, body) => {
    const { connect } = await import("@nats-io/transport-node");
    const nc = await connect({ servers: nats.url });
    const seen: string[] = [];
    nc.subscribe("employeeUpdated.9", {
      callback: (_e, m) => {
        seen.push(m.string());
      },
    });
    await nc.flush();
    const headers: Record<string, string> = type ? { "content-type": type } : {};
    const res = await fetch(`${router.http}/graphql`, { method: "POST", headers, body });
    expect(res.status).toBe(415);
    expect(((await res.json()) as { errors: unknown[] }).errors).toHaveLength(1);
    await nc.flush();
    await new Promise((r) => setTimeout(r, 100));
    await nc.close();
    expect(seen).toEqual([]);
  });

  it("still runs an application/json POST (control: the refusals above are about the type)", async () => {
    const res = await fetch(`${router.http}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8" },
      body: JSON.stringify({ query: mutation }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { updateEmployee: { success: true } } });
  });
});
