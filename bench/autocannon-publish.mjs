#!/usr/bin/env node
/**
 * Publish-mutation throughput over HTTP with autocannon against Streamgate: the bench schema's
 * `publishEmployee` mutation on the embedded broker (memory://, no network broker) or on NATS
 * (`--broker nats` starts a nats-server). Streamgate is pinned to the last core, autocannon to the
 * others. `success` is true only once the broker confirmed, so each request is a full publish.
 *
 *   node bench/autocannon-publish.mjs [--connections 50] [--duration 10] [--broker memory|nats] [--out dir]
 *
 * Writes <out>/publish-<timestamp>.json and latest-publish.json and re-renders the results README.
 */
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { median } from "./lib/harness.mjs";
import { startNats } from "./lib/proc.mjs";
import { renderAll, writeResult } from "./lib/report.mjs";
import { STACKS } from "./lib/stacks.mjs";
import { coreLayout, cpuWindow, loadavg, machine, pin, REPO_ROOT, treeRss, versions } from "./lib/sys.mjs";

const { values } = parseArgs({
  options: {
    connections: { type: "string", default: "50" },
    duration: { type: "string", default: "10" },
    broker: { type: "string", default: "memory" },
    repeat: { type: "string", default: "2" },
    out: { type: "string", default: `${REPO_ROOT}/bench/results` },
    "no-pin": { type: "boolean" },
  },
});
const layout = coreLayout(values["no-pin"]);
if (layout) pin(process.pid, layout.load);
const loadBefore = loadavg();
const nats = values.broker === "nats" ? await startNats({ cpus: layout?.load }) : undefined;
const runs = [];
for (let rep = 1; rep <= Number(values.repeat); rep++) {
  const started = await STACKS.streamgate.start({
    brokerUrl: nats?.url ?? "memory://",
    cpus: layout?.router,
  });
  const url = `http://127.0.0.1:${started.port}/graphql`;
  let seq = 0;
  const cpu = cpuWindow(started.pids);
  const result = await autocannon({
    url,
    method: "POST",
    connections: Number(values.connections),
    duration: Number(values.duration),
    headers: { "content-type": "application/json" },
    requests: [
      {
        setupRequest: (req) => ({
          ...req,
          body: JSON.stringify({
            query: "mutation($t: ID!, $id: ID!) { publishEmployee(topic: $t, id: $id) { success } }",
            variables: { t: "1", id: `${seq++}:${performance.timeOrigin + performance.now()}` },
          }),
        }),
      },
    ],
  });
  const c = cpu.stop();
  const rss = treeRss(started.pids);
  await started.child.stop();
  const failures = [];
  if (result.errors || result.non2xx || result.timeouts)
    failures.push(`${result.errors} errors, ${result.non2xx} non-2xx, ${result.timeouts} timeouts`);
  runs.push({
    stack: "streamgate",
    rep,
    status: failures.length ? "FAILED" : "PASSED",
    failures,
    figures: {
      requestsPerSec: Math.round(result.requests.average),
      latencyP50Ms: result.latency.p50,
      latencyP99Ms: result.latency.p99,
      requests: result.requests.total,
      errors: result.errors + result.non2xx + result.timeouts,
      routerCpuPct: Math.round(c.percent * 10) / 10,
      rssMB: Math.round((rss / 2 ** 20) * 10) / 10,
    },
  });
  process.stderr.write(
    `[publish] #${rep}: ${Math.round(result.requests.average)} req/s, p99 ${result.latency.p99} ms\n`,
  );
}
await nats?.stop();
const keys = Object.keys(runs[0]?.figures ?? {});
const med = Object.fromEntries(keys.map((k) => [k, median(runs.map((r) => r.figures[k]))]));
const failed = runs.some((r) => r.status === "FAILED");
const file = await writeResult(values.out, {
  scenario: "publish",
  number: 90,
  timestamp: new Date().toISOString(),
  command: `node bench/autocannon-publish.mjs ${process.argv.slice(2).join(" ")}`,
  status: failed ? "FAILED" : "PASSED",
  machine: machine(),
  versions: { ...versions(), autocannon: "8" },
  layout: {
    pinned: Boolean(layout),
    router: layout?.router ?? null,
    load: layout?.load ?? null,
    generatorWorkers: 1,
  },
  broker: values.broker,
  options: { connections: Number(values.connections), duration: Number(values.duration), clients: 0 },
  loadBefore,
  loadAfter: loadavg(),
  machineBusy: loadBefore[0] > 0.7,
  summary: {
    streamgate: { runs: runs.length, passed: runs.filter((r) => !r.failures.length).length, median: med },
  },
  ratios: {},
  targets: [],
  notes: ["HTTP publish mutation throughput; no subscribers attached"],
  runs,
});
await renderAll(values.out);
process.stdout.write(`${JSON.stringify({ file, median: med }, null, 2)}\n`);
process.exit(failed ? 1 : 0);
