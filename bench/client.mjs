// The client SDK's benchmark (issue 12): one client process holding N subscriptions (default
// 1,000) on one WebSocket to the built router (embedded broker). It reports
//  - memory above an idle client: heap used and RSS after a full GC, with one subscription
//    (connection open, modules loaded) and then with N; target ≤ 5 MB for 1,000;
//  - events/s received and decoded: publishes through the router's mutation for --duration
//    seconds; every event reaches all N subscriptions, so the client sees N results per event;
//    target ≥ 50,000/s.
// Writes bench/results/client-<timestamp>.json. Usage (after `npm run build`):
//   node --expose-gc bench/client.mjs [--subscriptions 1000] [--duration 10] [--publishers 4]
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import WebSocket from "ws";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: {
    subscriptions: { type: "string", default: "1000" },
    duration: { type: "string", default: "10" },
    publishers: { type: "string", default: "4" },
  },
});
const SUBS = Number(args.subscriptions);
const DURATION_S = Number(args.duration);
const PUBLISHERS = Number(args.publishers);
if (typeof global.gc !== "function") {
  // Memory figures need a full GC: re-run with --expose-gc.
  const child = spawn(process.execPath, ["--expose-gc", ...process.argv.slice(1)], { stdio: "inherit" });
  child.on("exit", (code) => process.exit(code ?? 1));
} else await main();

function freePort() {
  return new Promise((done) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => done(port));
    });
  });
}

async function startRouter() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "streamgate-client-bench-"));
  writeFileSync(
    join(dir, "events.graphql"),
    `type Mutation { updateEmployee(id: ID!, update: EmployeeUpdate!): edfs__PublishResult! @edfs__natsPublish(subject: "employeeUpdated.{{ args.id }}") }
type Subscription { anyEmployeeUpdated: Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.*"]) }
input EmployeeUpdate { name: String }
type Employee @key(fields: "id", resolvable: false) { id: ID! @external }
`,
  );
  writeFileSync(
    join(dir, "config.yaml"),
    `listen_addr: 127.0.0.1:${port}
subgraphs: [{ name: events, schema_file: ./events.graphql }]
events: { providers: { nats: [{ id: default, url: "memory://" }] } }
limits: { max_subscriptions_per_connection: ${SUBS + 10}, max_backpressure: 268435456, max_total_backpressure: 536870912 }
`,
  );
  const proc = spawn(process.execPath, [join(ROOT, "dist/bin/streamgate.js"), "--config", join(dir, "config.yaml")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise((done) => proc.stdout.on("data", (d) => String(d).includes("listening") && done()));
  return { port, proc };
}

async function settle() {
  for (let i = 0; i < 3; i++) {
    global.gc();
    await new Promise((r) => setTimeout(r, 100));
  }
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers };
}

async function main() {
  const { createClient } = await import(join(ROOT, "dist/client/index.js"));
  const router = await startRouter();
  const http = `http://127.0.0.1:${router.port}/graphql`;
  const publish = (id) =>
    fetch(http, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `mutation { updateEmployee(id: "${id}", update: {}) { success } }` }),
    }).then((r) => r.arrayBuffer());
  const client = createClient({ url: `ws://127.0.0.1:${router.port}/graphql`, webSocketImpl: WebSocket, keepAlive: 0 });
  let received = 0;
  let decodedBytes = 0;
  const sink = {
    next: (r) => {
      received++;
      decodedBytes += r.data.anyEmployeeUpdated.id.length; // the result is a decoded object
    },
    error: (e) => {
      console.error("subscription error", e);
      process.exitCode = 1;
    },
    complete: () => {},
  };
  const query = "subscription { anyEmployeeUpdated { id } }";
  const waitFor = async (count, what) => {
    for (let i = 0; received < count; i++) {
      if (i > 200) throw new Error(`${what}: only ${received} of ${count} results`);
      await publish("probe");
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  // Idle client: connected, one subscription live.
  client.subscribe({ query }, sink);
  await waitFor(1, "first subscription");
  const idle = await settle();

  for (let i = 1; i < SUBS; i++) client.subscribe({ query }, sink);
  // All live once one event reaches every subscription.
  received = 0;
  for (let tries = 0; ; tries++) {
    const before = received;
    await publish("probe");
    await new Promise((r) => setTimeout(r, 200));
    if (received - before === SUBS) break;
    if (tries > 100) throw new Error(`only ${received - before} of ${SUBS} subscriptions live`);
  }
  const held = await settle();

  // Throughput: publishers loop for the duration; count results decoded per second.
  received = 0;
  let published = 0;
  const started = performance.now();
  const deadline = started + DURATION_S * 1000;
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: PUBLISHERS }, async () => {
      while (performance.now() < deadline) {
        await publish(String(published++));
      }
    }),
  );
  // The router buffers what the client has not read yet (a large max_backpressure above, so it
  // never drops this one client): the window ends when the last result was decoded.
  let last = performance.now();
  for (let seen = -1; received < published * SUBS && received !== seen; ) {
    seen = received;
    await new Promise((r) => setTimeout(r, 1000));
    if (received !== seen) last = performance.now();
  }
  const seconds = (last - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const eventsPerSecond = Math.round(received / seconds);
  const afterLoad = await settle();
  const stats = client.stats();
  await client.dispose();
  router.proc.kill("SIGTERM");

  const mb = (b) => Math.round((b / 1048576) * 100) / 100;
  const result = {
    scenario: "client",
    when: new Date().toISOString(),
    note: "measured on a busy shared 2-core machine (other developers' tests running); the lead re-runs",
    node: process.version,
    subscriptions: SUBS,
    memoryAboveIdle: {
      heapUsedMB: mb(held.heapUsed - idle.heapUsed),
      rssMB: mb(held.rss - idle.rss),
      externalMB: mb(held.external - idle.external),
      perSubscriptionBytes: Math.round((held.heapUsed - idle.heapUsed) / (SUBS - 1)),
      afterLoadHeapUsedMB: mb(afterLoad.heapUsed - idle.heapUsed),
      target: "≤ 5 MB for 1,000 subscriptions",
    },
    throughput: {
      seconds: Math.round(seconds * 100) / 100,
      eventsPublished: published,
      resultsReceivedAndDecoded: received,
      expected: published * SUBS,
      resultsPerSecond: eventsPerSecond,
      clientCpuPercent: Math.round(((cpu.user + cpu.system) / 1e6 / seconds) * 1000) / 10,
      target: "≥ 50,000/s",
    },
    clientStats: stats,
    decodedBytes,
  };
  const out = join(ROOT, "bench/results", `client-${result.when.replace(/[:.]/g, "-")}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
  console.log(`written ${out}`);
}
