/** The command-line contract: help, config checking, the embedded default, signals. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { startNats } from "../helpers/brokers/nats.js";
import { freePort } from "../helpers/brokers/net.js";
import { collect, postGraphql, rawSocket, wsClient } from "../helpers/clients.js";
import { REPO_ROOT, runCli, startRouterProcess, tempFiles } from "../helpers/router.js";

const EVENTS = `type Subscription { employeeUpdated(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"]) }
type Employee @key(fields: "id", resolvable: false) { id: ID! @external }`;

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe("streamgate CLI", () => {
  it("prints help", async () => {
    const r = await runCli(["--help"]);
    expect(r.code).toBe(0);
    for (const opt of ["--config", "--check-config", "--log-level"]) expect(r.stdout).toContain(opt);
    // It points to the configuration reference, which must exist.
    expect(r.stdout).toContain("docs/configuration.md");
    expect(existsSync(join(REPO_ROOT, "docs/configuration.md"))).toBe(true);
  });

  it("rejects unknown options", async () => {
    const r = await runCli(["--bogus"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("bogus");
  });

  it("--check-config accepts a valid config and schema", async () => {
    const dir = await tempFiles({
      "events.graphql": EVENTS,
      "c.yaml":
        "subgraphs: [{ name: events, schema_file: events.graphql }]\nevents: { providers: { nats: [{ id: default, url: 'memory://' }] } }\n",
    });
    const r = await runCli(["--check-config", "--config", `${dir}/c.yaml`]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("--check-config lists every config error with file and path, exit 1", async () => {
    const dir = await tempFiles({
      "c.yaml": "listen_addr: nope\nworkers: -3\nbogus: 1\nlimits: { slow_client_policy: maybe }\n",
    });
    const r = await runCli(["--check-config"], { STREAMGATE_CONFIG: `${dir}/c.yaml` });
    expect(r.code).toBe(1);
    for (const path of ["listen_addr", "workers", "bogus", "limits.slow_client_policy"]) {
      expect(r.stderr).toContain(path);
    }
    expect(r.stderr).toContain(`${dir}/c.yaml`);
  });

  it("--check-config lists every schema problem, exit 1", async () => {
    const dir = await tempFiles({
      "events.graphql": `type Subscription { a: Employee @edfs__natsSubscribe(subjects: ["x.{{ args.id }}"]) b: Employee! }
type Employee @key(fields: "id") { id: ID! name: String }`,
      "c.yaml": "subgraphs: [{ name: events, schema_file: events.graphql }]\n",
    });
    const r = await runCli(["--check-config", "--config", `${dir}/c.yaml`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("resolvable: false");
    expect(r.stderr).toContain("Employee.name");
    expect(r.stderr).toContain("Subscription.b");
    expect(r.stderr).toContain('names argument "id"');
  });

  it("--check-config loads the hook modules: a bad one is named with its file, exit 1", async () => {
    const base =
      "subgraphs: [{ name: events, schema_file: events.graphql }]\nevents: { providers: { nats: [{ id: default, url: 'memory://' }] } }\n";
    const dir = await tempFiles({
      "events.graphql": EVENTS,
      "good.mjs": "export default { onPublish() {} };",
      "typo.mjs": "export default { onSubscriptionCreat() {} };",
      "ok.yaml": `${base}modules: [./good.mjs]\n`,
      "bad.yaml": `${base}modules: [./good.mjs, ./typo.mjs, ./missing.mjs]\n`,
    });
    const ok = await runCli(["--check-config", "--config", `${dir}/ok.yaml`]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    const bad = await runCli(["--check-config", "--config", `${dir}/bad.yaml`]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${dir}/typo.mjs: unknown hook "onSubscriptionCreat"`);
    expect(bad.stderr).toContain(`${dir}/missing.mjs: cannot load the module`);
    expect(bad.stderr).not.toContain("good.mjs");
    // The router itself refuses to start on it, with the same message.
    const start = await runCli(["--config", `${dir}/bad.yaml`]);
    expect(start.code).toBe(1);
    expect(start.stderr).toContain(`${dir}/typo.mjs: unknown hook "onSubscriptionCreat"`);
  });

  it("fails clearly on a missing config file", async () => {
    const r = await runCli(["--config", "/nonexistent/streamgate.yaml"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("/nonexistent/streamgate.yaml");
  });

  it("serves the embedded demo: playground, subscription, publish mutation, request query", async () => {
    const router = await startRouterProcess(["--listen-addr", "127.0.0.1:0"]);
    cleanups.push(() => router.stop());
    const page = await (await fetch(`${router.http}/`)).text();
    expect(page).toContain('"graphqlPath":"/graphql"');
    expect(page).toContain("updateEmployee");
    const client = wsClient(`${router.ws}/graphql`);
    const sub = collect(client, 'subscription { employeeUpdated(id: "1") { __typename id } }');
    await vi.waitFor(
      async () => {
        const res = await postGraphql(router.http, {
          query: 'mutation { updateEmployee(id: "1", update: { name: "Ada" }) { success } }',
        });
        expect(res.body).toEqual({ data: { updateEmployee: { success: true } } });
        expect(sub.values.length).toBeGreaterThan(0);
      },
      { timeout: 5000, interval: 100 },
    );
    expect(sub.values[0]).toEqual({ data: { employeeUpdated: { __typename: "Employee", id: "1" } } });
    const q = await postGraphql(router.http, { query: '{ employeeFromEvent(id: "9") { id } }' });
    expect(q.body).toEqual({ data: { employeeFromEvent: { id: "9" } } });
    await client.dispose();
  });

  it("on SIGTERM completes operations, closes 1001 and exits 0", async () => {
    const router = await startRouterProcess(["--listen-addr", "127.0.0.1:0"]);
    const s = await rawSocket(`${router.ws}/graphql`);
    s.send({ type: "connection_init" });
    s.send({ id: "s1", type: "subscribe", payload: { query: "subscription { anyEmployeeUpdated { id } }" } });
    await vi.waitFor(() => expect(s.frames[0]).toEqual({ type: "connection_ack" }));
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    const code = await router.stop("SIGTERM");
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    await vi.waitFor(() => expect(s.closed?.code).toBe(1001));
    expect(s.frames).toContainEqual({ id: "s1", type: "complete" });
    expect(router.logs.some((l) => l.msg === "shutting down")).toBe(true);
  });

  it("exits on SIGTERM when nobody reads its stdout any more (a supervisor that died)", async () => {
    const router = await startRouterProcess(["--listen-addr", "127.0.0.1:0"]);
    // The reading end goes away: every log line from now on fails with EPIPE.
    router.process.stdout?.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    expect(await router.stop("SIGTERM")).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("refuses to start when a provider is down, naming it", async () => {
    const port = await freePort();
    const dir = await tempFiles({
      "events.graphql": EVENTS,
      "c.yaml": `listen_addr: 127.0.0.1:0\nsubgraphs: [{ name: events, schema_file: events.graphql }]\nevents: { providers: { nats: [{ id: default, url: "nats://127.0.0.1:${port}" }] } }\n`,
    });
    const r = await runCli(["--config", `${dir}/c.yaml`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("provider default");
  });

  it("with skip_unavailable_providers starts, reports not ready, then connects and serves", async () => {
    const port = await freePort();
    const dir = await tempFiles({
      "events.graphql": EVENTS,
      "c.yaml": `listen_addr: 127.0.0.1:0\nsubgraphs: [{ name: events, schema_file: events.graphql }]
events:
  skip_unavailable_providers: true
  providers: { nats: [{ id: default, url: "nats://127.0.0.1:${port}" }] }\n`,
    });
    const router = await startRouterProcess(["--config", `${dir}/c.yaml`]);
    cleanups.push(() => router.stop());
    const notReady = await fetch(`${router.http}/health/ready`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ providers_down: [{ id: "default", kind: "nats" }] });
    // Asked again, still not ready (each request reads the providers afresh).
    const again = await fetch(`${router.http}/health/ready`);
    expect([
      again.status,
      ((await again.json()) as { providers_down: unknown[] }).providers_down.length,
    ]).toEqual([503, 1]);
    const client = wsClient(`${router.ws}/graphql`);
    const sub = collect(client, 'subscription { employeeUpdated(id: "3") { id } }');
    const nats = await startNats({ port });
    cleanups.push(() => nats.stop());
    await vi.waitFor(async () => expect((await fetch(`${router.http}/health/ready`)).status).toBe(200), {
      timeout: 10_000,
    });
    const { connect } = await import("@nats-io/transport-node");
    const nc = await connect({ servers: nats.url });
    await vi.waitFor(
      () => {
        nc.publish("employeeUpdated.3", JSON.stringify({ id: "3" }));
        expect(sub.values.length).toBeGreaterThan(0);
      },
      { timeout: 10_000, interval: 200 },
    );
    expect(sub.values[0]).toEqual({ data: { employeeUpdated: { id: "3" } } });
    await nc.close();
    await client.dispose();
  });
});
